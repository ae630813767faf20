/**
 * The parent side of the multi-process tests (test/postgres/*.mqtt.test.ts): a MemoryBroker socket
 * front, one PostgreSQL server with a migrated database and the test login role, and service
 * instances forked from test/support/scale-instance.ts that report over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrate, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { createAppRole } from '../postgres/server-roles.js';
import { mosquittoShadowBridge } from '../../src/cloud/index.js';
import { startMemoryBrokerServer } from './memory-broker-server.js';
import { findMosquitto, startMosquitto } from './mosquitto.js';
import { startPostgres, type TestPostgres } from './postgres.js';
import type { InstanceConfig, InstanceMessage } from './scale-instance.js';

const INSTANCE_SCRIPT = fileURLToPath(new URL('./scale-instance.ts', import.meta.url));

/** A message an instance sent, with the parent's receive time. */
export type InstanceEvent = InstanceMessage & { readonly at: number };

/** A forked service instance and everything it reported so far. */
export interface Instance {
  readonly id: string;
  readonly child: ChildProcess;
  readonly events: InstanceEvent[];
}

/** The prefix under which the mosquitto backend's bridge republishes the shadow requests. */
export const BRIDGED_PREFIX = 'fleetkit/aws/';

/** The MQTT broker of a multi-process test. */
export interface ScaleBroker {
  readonly url: string;
  /** `mosquitto`: instances must pass `requestPrefix: BRIDGED_PREFIX` to receive shadow requests. */
  readonly kind: 'mosquitto' | 'memory';
  close(): Promise<void>;
}

/**
 * Debian's mosquitto when installed, with the shadow bridge (mosquitto 2.0 never delivers `$aws/…`
 * to a `$share/…` subscription; the bridge republishes the requests under BRIDGED_PREFIX); else
 * fleetkit's MemoryBroker behind an MQTT socket listener.
 */
async function startScaleBroker(): Promise<ScaleBroker> {
  if (findMosquitto() !== undefined && process.env.FLEETKIT_SCALE_BROKER !== 'memory') {
    const m = await startMosquitto({ extraConfig: ({ port }) => mosquittoShadowBridge({ port, prefix: BRIDGED_PREFIX }).config });
    return { url: m.url, kind: 'mosquitto', close: () => m.dispose() };
  }
  const b = await startMemoryBrokerServer();
  return { url: b.url, kind: 'memory', close: () => b.close() };
}

/** The broker, the database server and a migrated database shared by the instances of one test. */
export interface ScaleBackend {
  readonly broker: ScaleBroker;
  readonly server: TestPostgres;
  /** The database owner (the superuser): migrations, test-only tables and triggers. */
  readonly owner: SqlDriver;
  /** The connection string of the application login role (fleetkit_test_app) for the database. */
  readonly appUrl: string;
  /** Another migrated database on the same server, with the application login role: its owner (closed by `close`) and the role's connection string. */
  database(name: string): Promise<{ readonly owner: SqlDriver; readonly appUrl: string }>;
  /** Stops everything started here (not the instances). */
  close(): Promise<void>;
}

async function migratedDatabase(server: TestPostgres, name: string): Promise<SqlDriver> {
  await server.createDatabase(name);
  const owner = await openPgPool({ url: server.url(name), max: 2 });
  try {
    await migrate(owner);
    await createAppRole(owner);
  } catch (e) {
    await owner.close().catch(() => undefined);
    throw e;
  }
  return owner;
}

/** Starts the broker and a PostgreSQL server with database `name`, migrated, with the application login role. */
export async function startScaleBackend(name: string): Promise<ScaleBackend> {
  const broker = await startScaleBroker();
  let server: TestPostgres | undefined;
  let owner: SqlDriver | undefined;
  try {
    server = await startPostgres();
    owner = await migratedDatabase(server, name);
  } catch (e) {
    await owner?.close().catch(() => undefined);
    await server?.dispose().catch(() => undefined);
    await broker.close();
    throw e;
  }
  const s = server;
  const owners = [owner];
  const appUrl = (db: string): string => `postgres://fleetkit_test_app@127.0.0.1:${s.port}/${db}`;
  return {
    broker,
    server: s,
    owner,
    appUrl: appUrl(name),
    database: async (db) => {
      const o = await migratedDatabase(s, db);
      owners.push(o);
      return { owner: o, appUrl: appUrl(db) };
    },
    close: async () => {
      for (const o of owners) await o.close().catch(() => undefined);
      await s.dispose();
      await broker.close();
    },
  };
}

/** Forks an instance and resolves once it reported `ready` (rejects on an early error or exit, or after 60 s). */
export function startInstance(id: string, config: Omit<InstanceConfig, 'id'>): Promise<Instance> {
  const child = fork(INSTANCE_SCRIPT, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, FLEETKIT_INSTANCE: JSON.stringify({ ...config, id }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const instance: Instance = { id, child, events: [] };
  child.on('message', (m: InstanceMessage) => instance.events.push({ ...m, at: Date.now() }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${id} did not start within 60 s`)), 60_000);
    child.on('message', (m: InstanceMessage) => {
      if (m.type === 'ready') {
        clearTimeout(timer);
        resolve(instance);
      } else if (m.type === 'error' && instance.events.every((e) => e.type !== 'ready')) {
        clearTimeout(timer);
        reject(new Error(`instance ${id} failed: ${m.message}`));
      }
    });
    child.once('exit', (code) => reject(new Error(`instance ${id} exited with ${String(code)} before it was ready`)));
  });
}

/** Sends `request` to the instance and resolves with its first message of type `answer` sent after it. */
export function ask<T extends InstanceMessage['type']>(i: Instance, request: Parameters<NonNullable<ChildProcess['send']>>[0], answer: T): Promise<Extract<InstanceMessage, { type: T }>> {
  return new Promise((resolve) => {
    const on = (m: InstanceMessage): void => {
      if (m.type !== answer) return;
      i.child.off('message', on);
      resolve(m as Extract<InstanceMessage, { type: T }>);
    };
    i.child.on('message', on);
    i.child.send(request);
  });
}

/** Whether the instance's process still runs. */
export function isAlive(i: Instance): boolean {
  return i.child.exitCode === null && i.child.signalCode === null;
}

/**
 * The instance that leads according to the events received so far: the latest `elected` unless a
 * later `demoted` of the same instance followed it; the first instance when none was elected.
 */
export function currentLeader(instances: readonly Instance[]): Instance {
  const last = instances
    .flatMap((i) => i.events.filter((e) => e.type === 'elected' || e.type === 'demoted').map((e) => ({ i, e })))
    .sort((a, b) => a.e.at - b.e.at)
    .filter(({ e }) => e.type === 'elected')
    .pop();
  return last?.i ?? instances[0]!;
}

/**
 * The instance named in the lease row now (`instance-<id>`, see scale-instance.ts), read as the
 * database owner: the leader as the database sees it, without the lag of the instances' reports.
 */
export async function leaseHolder(owner: SqlDriver, instances: readonly Instance[], name = 'fleetkit'): Promise<Instance | undefined> {
  const row = (await owner.query<{ holder: string }>('SELECT holder FROM fleetkit_leases WHERE name = $1', [name])).rows[0];
  return instances.find((i) => `instance-${i.id}` === row?.holder);
}

/** The `elected` events of `instances` received at or after `since`. */
export function electedSince(instances: readonly Instance[], since: number): { readonly instance: Instance; readonly at: number; readonly term: number }[] {
  return instances.flatMap((instance) => instance.events.flatMap((e) => (e.type === 'elected' && e.at >= since ? [{ instance, at: e.at, term: e.term }] : [])));
}

/** The terms of every election the instances reported. */
export function electionTerms(instances: readonly Instance[]): number[] {
  return instances.flatMap((i) => i.events.flatMap((e) => (e.type === 'elected' ? [e.term] : [])));
}

/** Polls `cond` every 20 ms until it holds; throws naming `what` after `ms`. */
export async function waitUntil(cond: () => boolean, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Asks the running instances to stop (election, fleet, pool) and waits for their exits. */
export async function stopInstances(instances: readonly Instance[]): Promise<void> {
  const alive = instances.filter(isAlive);
  const exits = alive.map((i) => new Promise((r) => i.child.once('exit', r)));
  for (const i of alive) i.child.send({ type: 'stop' });
  await Promise.all(exits);
}

/** SIGKILLs the instances still running (cleanup after a failure). */
export function killInstances(instances: readonly Instance[]): void {
  for (const i of instances) if (isAlive(i)) i.child.kill('SIGKILL');
}

/** A small seeded generator: the same workload on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
