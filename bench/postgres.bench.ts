/**
 * fleetkit/postgres benchmarks, beside the memory store as the baseline, in one run:
 * - Shadow compare-and-set updates/s (each a read-modify-write chain: version N → N+1 with a
 *   20-leaf document) with THINGS things updated in parallel: memory store, PGlite (in memory,
 *   in-process; it runs one transaction at a time), and a PostgreSQL server started here
 *   (Debian's postgresql, fsync and synchronous_commit ON: every commit is durable) through a
 *   pool of 16 connections.
 * - Shadow updates end to end through ShadowService (devices on a MemoryBroker publishing update
 *   requests, answered on update/accepted): memory stores, the PostgreSQL server stores one
 *   transaction per call, and with `batch: true`; with the CPU the benchmark process and the
 *   server used, to say where the time goes.
 * - One vs three service instances in separate processes (test/support/scale-instance.ts) on one
 *   MQTT socket broker and one PostgreSQL server: updates/s and p99 latency.
 * - Loading a 60,000-device registry into PGlite with `createMany` (batches of 1,000 rows per
 *   statement, one transaction), and the same count into the memory store.
 * The server part is skipped (with a notice) when the PostgreSQL binaries are not installed.
 */
import { PGlite } from '@electric-sql/pglite';
import { createDeviceSnapshot } from '../src/lifecycle/index.js';
import { MemoryDeviceStore, MemoryShadowStore } from '../src/store/index.js';
import { PostgresDeviceStore, PostgresShadowStore, migrate, pgliteDriver } from '../src/postgres/index.js';
import type { ShadowStore } from '../src/store/shadow-store.js';
import type { DeviceStore } from '../src/store/device-store.js';
import { ShadowService } from '../src/cloud/shadow-service.js';
import { MemoryBroker, MemoryTransport } from '../src/memory.js';
import type { ShadowDocument } from '../src/shadow/types.js';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MqttTransport } from '../src/mqtt.js';
import { startMemoryBrokerServer } from '../test/support/memory-broker-server.js';
import { fmt, printTable, time, verdict } from './lib.js';
import { withBenchPostgres } from './postgres-server.js';

const THINGS = 64;
const CAS_MS = 3000;
const REGISTRY = 60_000;
const ACME = { tenantId: 'acme' };

function document(version: number): ShadowDocument {
  const reported: Record<string, number> = {};
  const meta: Record<string, { timestamp: number }> = {};
  for (let i = 0; i < 20; i++) {
    reported[`sensor${i}`] = version * 20 + i;
    meta[`sensor${i}`] = { timestamp: version };
  }
  return { state: { reported }, metadata: { reported: meta }, version };
}

// THINGS chains in parallel for `ms`: get → compareAndSet(version, version + 1); returns updates/s.
async function casRate(store: ShadowStore, ms: number, prefix: string): Promise<{ rate: number; conflicts: number }> {
  for (let i = 0; i < THINGS; i++) await store.compareAndSet(ACME, `${prefix}-${i}`, undefined, 0, document(1));
  let done = 0;
  let conflicts = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: THINGS }, async (_, i) => {
      const thing = `${prefix}-${i}`;
      let version = 1;
      while (performance.now() < end) {
        const r = await store.compareAndSet(ACME, thing, undefined, version, document(version + 1));
        if (r.ok) {
          version++;
          done++;
        } else {
          conflicts++;
          version = r.current?.version ?? version;
        }
      }
    }),
  );
  return { rate: done / ((performance.now() - start) / 1000), conflicts };
}

const E2E_THINGS = 256;
const E2E_IN_FLIGHT = 4;
const E2E_MS = 4000;

/**
 * Shadow updates end to end: E2E_THINGS devices on a MemoryBroker each keep E2E_IN_FLIGHT update
 * requests (a 20-leaf reported section) in flight to one ShadowService; a request counts when its
 * update/accepted arrives. Returns updates/s and the p50/p99 request-to-accepted latency.
 */
// CPU seconds used so far by a PostgreSQL server: the postmaster and its backends (Linux /proc).
function serverCpuS(pid: number | undefined): number {
  if (pid === undefined) return 0;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(entry) === pid || Number(fields[1]) === pid) ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // the process ended meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

async function e2eRate(shadows: ShadowStore, devicesStore: DeviceStore, prefix: string, ms: number, serverPid?: number): Promise<{ rate: number; p50: number; p99: number; rejected: number; nodeCpu: number; serverCpu: number }> {
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: `svc-${prefix}`, queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await backend.connect();
  const service = new ShadowService({ transport: backend, shadows, devices: devicesStore });
  let failures = 0;
  service.on('error', () => void failures++);
  await service.start();
  const things = Array.from({ length: E2E_THINGS }, (_, i) => `${prefix}-${i}`);
  for (const t of things) await devicesStore.create(ACME, createDeviceSnapshot({ deviceId: t, tenantId: 'acme', now: 1 }));
  const client = new MemoryTransport({ broker, clientId: `dev-${prefix}`, queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await client.connect();
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let done = 0;
  let rejected = 0;
  let running = true;
  let seq = 0;
  const send = (thing: string): void => {
    const token = `${thing}:${seq++}`;
    const reported: Record<string, number> = {};
    for (let i = 0; i < 20; i++) reported[`sensor${i}`] = seq + i;
    sentAt.set(token, performance.now());
    void client.publish(`$aws/things/${thing}/shadow/update`, JSON.stringify({ state: { reported }, clientToken: token }), { qos: 1 });
  };
  const answered = (payload: Uint8Array, ok: boolean): void => {
    const token = (JSON.parse(new TextDecoder().decode(payload)) as { clientToken: string }).clientToken;
    const t = sentAt.get(token);
    if (t === undefined) return;
    sentAt.delete(token);
    if (ok) {
      done++;
      latencies.push(performance.now() - t);
    } else rejected++;
    // The next request of this device on a later turn of the event loop: with the memory stores
    // everything else resolves in microtasks, and the measuring timer would never fire.
    const thing = token.slice(0, token.lastIndexOf(':'));
    if (running) setImmediate(() => running && send(thing));
  };
  await client.subscribe('$aws/things/+/shadow/update/accepted', (m) => answered(m.payload, true), { qos: 1 });
  await client.subscribe('$aws/things/+/shadow/update/rejected', (m) => answered(m.payload, false), { qos: 1 });
  // Warm-up: one update per thing (creates every shadow), then the measured window.
  for (const t of things) send(t);
  while (done + rejected < things.length) await new Promise((r) => setTimeout(r, 5));
  done = 0;
  latencies.length = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const server0 = serverCpuS(serverPid);
  for (let k = 1; k < E2E_IN_FLIGHT; k++) for (const t of things) send(t);
  for (const t of things) send(t);
  await new Promise((r) => setTimeout(r, ms));
  running = false;
  const wallS = (performance.now() - start) / 1000;
  const rate = done / wallS;
  const cpu = process.cpuUsage(cpu0);
  const nodeCpu = (cpu.user + cpu.system) / 1e6 / wallS;
  const serverCpu = (serverCpuS(serverPid) - server0) / wallS;
  while (sentAt.size > 0) await new Promise((r) => setTimeout(r, 5));
  await service.stop();
  await client.close();
  await backend.close();
  if (failures > 0) throw new Error(`${failures} service failures during the end-to-end run`);
  latencies.sort((a, b) => a - b);
  const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rate, p50: pct(0.5), p99: pct(0.99), rejected, nodeCpu, serverCpu };
}

const MP_DEVICES = 1000;
const MP_CONNECTIONS = 10;
const MP_IN_FLIGHT = 2;
const MP_MS = 6000;

/**
 * Service instances in separate processes (test/support/scale-instance.ts: createFleet on the
 * batched PostgreSQL stores with a share group) behind one MQTT socket broker, one PostgreSQL
 * server; MP_DEVICES devices over MP_CONNECTIONS connections keep MP_IN_FLIGHT updates each in
 * flight for MP_MS. Returns updates/s and p50/p99 request-to-accepted latency.
 */
async function instancesRate(count: number, appUrl: string, tag: string): Promise<{ rate: number; p50: number; p99: number }> {
  const broker = await startMemoryBrokerServer();
  const children: ChildProcess[] = [];
  const transports: MqttTransport[] = [];
  try {
    const script = fileURLToPath(new URL('../test/support/scale-instance.ts', import.meta.url));
    const config = { mqttUrl: broker.url, appUrl, shareGroup: 'fleet', tenants: ['acme'], leaseMs: 15_000, renewEveryMs: 5000 };
    await Promise.all(
      Array.from({ length: count }, (_, i) => {
        const child = fork(script, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, FLEETKIT_INSTANCE: JSON.stringify({ ...config, id: `${tag}-${i}` }) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          child.on('message', (m: { type: string; message?: string }) => (m.type === 'ready' ? resolve() : m.type === 'error' ? reject(new Error(m.message)) : undefined));
          child.once('exit', (code) => reject(new Error(`instance exited with ${String(code)}`)));
        });
      }),
    );
    const things = Array.from({ length: MP_DEVICES }, (_, i) => `${tag}-${String(i).padStart(4, '0')}`);
    const sentAt = new Map<string, number>();
    const latencies: number[] = [];
    let done = 0;
    let running = true;
    let seq = 0;
    const conns: MqttTransport[] = [];
    for (let c = 0; c < MP_CONNECTIONS; c++) {
      const t = new MqttTransport({ url: broker.url, clientId: `${tag}-devices-${c}`, maxInFlight: 1000, queue: { maxMessages: 100_000 } });
      await t.connect();
      transports.push(t);
      conns.push(t);
    }
    const send = (i: number): void => {
      const token = `${i}:${seq++}`;
      sentAt.set(token, performance.now());
      void conns[i % MP_CONNECTIONS]!.publish(`$aws/things/${things[i]}/shadow/update`, JSON.stringify({ state: { reported: { n: seq } }, clientToken: token }), { qos: 1 }).catch(() => undefined);
    };
    await Promise.all(
      things.map(async (thing, i) => {
        await conns[i % MP_CONNECTIONS]!.subscribe(
          `$aws/things/${thing}/shadow/update/accepted`,
          (m) => {
            const token = (JSON.parse(new TextDecoder().decode(m.payload)) as { clientToken: string }).clientToken;
            const t = sentAt.get(token);
            if (t === undefined) return;
            sentAt.delete(token);
            done++;
            latencies.push(performance.now() - t);
            if (running) send(i);
          },
          { qos: 1 },
        );
      }),
    );
    // Warm-up (creates the shadows), then the measured window.
    things.forEach((_, i) => send(i));
    while (done < things.length) await new Promise((r) => setTimeout(r, 10));
    done = 0;
    latencies.length = 0;
    const start = performance.now();
    for (let k = 0; k < MP_IN_FLIGHT; k++) things.forEach((_, i) => send(i));
    await new Promise((r) => setTimeout(r, MP_MS));
    running = false;
    const rate = done / ((performance.now() - start) / 1000);
    latencies.sort((a, b) => a - b);
    const pct = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { rate, p50: pct(0.5), p99: pct(0.99) };
  } finally {
    for (const t of transports) await t.close().catch(() => undefined);
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(undefined) : (c.once('exit', r), c.send({ type: 'stop' }))))));
    await broker.close();
  }
}

function devices(n: number, prefix: string): ReturnType<typeof createDeviceSnapshot>[] {
  return Array.from({ length: n }, (_, i) => ({ ...createDeviceSnapshot({ deviceId: `${prefix}-${String(i).padStart(6, '0')}`, tenantId: 'acme', now: 1 }), firmwareVersion: '1.0.0', tags: ['fleet'] }));
}

interface E2eRow {
  readonly store: string;
  readonly r: { rate: number; p50: number; p99: number; rejected: number; nodeCpu: number; serverCpu: number };
}

export async function run(): Promise<void> {
  // FLEETKIT_BENCH_PART=e2e runs only the end-to-end ShadowService comparison, =instances that and
  // the one-vs-three-instances comparison.
  const only = process.env.FLEETKIT_BENCH_PART;
  const rows: Record<string, string>[] = [];
  const e2e: E2eRow[] = [];
  const memory = await casRate(new MemoryShadowStore(), CAS_MS, 'mem');
  rows.push({ store: 'memory (baseline)', 'CAS updates/s': fmt(memory.rate), 'vs memory': '1×', note: `${THINGS} things in parallel` });
  e2e.push({ store: 'memory stores (baseline)', r: await e2eRate(new MemoryShadowStore(), new MemoryDeviceStore(), 'mem', E2E_MS) });

  const lite = new PGlite();
  await migrate(pgliteDriver(lite));
  const liteDriver = pgliteDriver(lite, { role: 'fleetkit_app' });
  if (only === undefined) {
    const pglite = await casRate(new PostgresShadowStore(liteDriver), CAS_MS, 'lite');
    rows.push({ store: 'PGlite (in memory)', 'CAS updates/s': fmt(pglite.rate), 'vs memory': `${(pglite.rate / memory.rate).toFixed(4)}×`, note: 'one transaction at a time, in-process' });
  }

  await withBenchPostgres(async ({ app, appUrl, pid }) => {
    if (only === undefined) {
      const pg = await casRate(new PostgresShadowStore(app), CAS_MS, 'pg');
      rows.push({ store: 'PostgreSQL 15 server (pg, pool 16)', 'CAS updates/s': fmt(pg.rate), 'vs memory': `${(pg.rate / memory.rate).toFixed(4)}×`, note: 'durable commits (fsync on), loopback' });
    }
    e2e.push({ store: 'PostgreSQL server, pool 16, one transaction per call', r: await e2eRate(new PostgresShadowStore(app), new PostgresDeviceStore(app), 'pg1', E2E_MS, pid) });
    e2e.push({ store: 'PostgreSQL server, pool 16, batched (batch: true)', r: await e2eRate(new PostgresShadowStore(app, { batch: true }), new PostgresDeviceStore(app, { batch: true }), 'pgb', E2E_MS, pid) });
    if (only === undefined || only === 'instances') {
      const registry = new PostgresDeviceStore(app);
      for (const tag of ['one', 'three']) await registry.createMany(ACME, Array.from({ length: MP_DEVICES }, (_, i) => createDeviceSnapshot({ deviceId: `${tag}-${String(i).padStart(4, '0')}`, tenantId: 'acme', now: 1 })));
      const one = await instancesRate(1, appUrl, 'one');
      const three = await instancesRate(3, appUrl, 'three');
      printTable(`Service instances in separate processes, one MQTT socket broker, one PostgreSQL server (durable), ${MP_DEVICES} devices × ${MP_IN_FLIGHT} updates in flight, ${MP_MS / 1000} s`, [
        { instances: '1', 'updates/s': fmt(one.rate), ratio: '1×', 'p50 ms': fmt(one.p50, 1), 'p99 ms': fmt(one.p99, 1) },
        { instances: '3', 'updates/s': fmt(three.rate), ratio: `${(three.rate / one.rate).toFixed(2)}×`, 'p50 ms': fmt(three.p50, 1), 'p99 ms': fmt(three.p99, 1) },
      ]);
    }
  });
  if (only === undefined) printTable(`Shadow compare-and-set, ${THINGS} things updated in parallel for ${CAS_MS / 1000} s (20-leaf documents)`, rows);
  const base = e2e[0]!.r.rate;
  printTable(
    `Shadow updates end to end through ShadowService (MemoryBroker, ${E2E_THINGS} devices × ${E2E_IN_FLIGHT} requests in flight, ${E2E_MS / 1000} s; PostgreSQL with durable commits)`,
    e2e.map(({ store, r }) => ({ store, 'updates/s': fmt(r.rate), 'vs memory': `${(r.rate / base).toFixed(3)}×`, 'p50 ms': fmt(r.p50, 1), 'p99 ms': fmt(r.p99, 1), 'node CPU': `${fmt(r.nodeCpu * 100)}%`, 'server CPU': r.serverCpu === 0 ? '–' : `${fmt(r.serverCpu * 100)}%`, rejected: fmt(r.rejected), verdict: store.includes('batched') ? verdict(r.rate >= 3000, '≥ 3,000/s') : '' })),
  );
  if (only !== undefined) {
    await lite.close();
    return;
  }

  const memDevices = new MemoryDeviceStore();
  const memList = devices(REGISTRY, 'm');
  const memMs = await time(async () => {
    for (const d of memList) await memDevices.create(ACME, d);
  });
  const liteDevices = new PostgresDeviceStore(liteDriver);
  const liteList = devices(REGISTRY, 'p');
  const liteMs = await time(() => liteDevices.createMany(ACME, liteList));
  const check = await liteDevices.count(ACME);
  if (check !== REGISTRY) throw new Error(`registry load stored ${check} devices, expected ${REGISTRY}`);
  printTable(`Registry load: ${fmt(REGISTRY)} devices`, [
    { store: 'memory (baseline), create() each', 'load time': `${fmt(memMs)} ms`, 'devices/s': fmt(REGISTRY / (memMs / 1000)) },
    { store: 'PGlite, createMany() (one transaction)', 'load time': `${fmt(liteMs)} ms`, 'devices/s': fmt(REGISTRY / (liteMs / 1000)) },
  ]);
  await lite.close();
}
