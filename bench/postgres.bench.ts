/**
 * fleetkit/postgres benchmarks, beside the memory store as the baseline, in one run:
 * - Shadow compare-and-set updates/s (each a read-modify-write chain: version N → N+1 with a
 *   20-leaf document) with THINGS things updated in parallel: memory store, PGlite (in memory,
 *   in-process; it runs one transaction at a time), and a PostgreSQL server started here
 *   (Debian's postgresql, fsync and synchronous_commit ON: every commit is durable) through a
 *   pool of 16 connections.
 * - Loading a 60,000-device registry into PGlite with `createMany` (batches of 1,000 rows per
 *   statement, one transaction), and the same count into the memory store.
 * The server part is skipped (with a notice) when the PostgreSQL binaries are not installed.
 */
import { PGlite } from '@electric-sql/pglite';
import { createDeviceSnapshot } from '../src/lifecycle/index.js';
import { MemoryDeviceStore, MemoryShadowStore } from '../src/store/index.js';
import { PostgresDeviceStore, PostgresShadowStore, migrate, openPgPool, pgliteDriver, type SqlDriver } from '../src/postgres/index.js';
import type { ShadowStore } from '../src/store/shadow-store.js';
import type { ShadowDocument } from '../src/shadow/types.js';
import { findPostgresBin, startPostgres } from '../test/support/postgres.js';
import { fmt, printTable, time } from './lib.js';

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

function devices(n: number, prefix: string): ReturnType<typeof createDeviceSnapshot>[] {
  return Array.from({ length: n }, (_, i) => ({ ...createDeviceSnapshot({ deviceId: `${prefix}-${String(i).padStart(6, '0')}`, tenantId: 'acme', now: 1 }), firmwareVersion: '1.0.0', tags: ['fleet'] }));
}

export async function run(): Promise<void> {
  const rows: Record<string, string>[] = [];
  const memory = await casRate(new MemoryShadowStore(), CAS_MS, 'mem');
  rows.push({ store: 'memory (baseline)', 'CAS updates/s': fmt(memory.rate), 'vs memory': '1×', note: `${THINGS} things in parallel` });

  const lite = new PGlite();
  await migrate(pgliteDriver(lite));
  const liteDriver = pgliteDriver(lite, { role: 'fleetkit_app' });
  const pglite = await casRate(new PostgresShadowStore(liteDriver), CAS_MS, 'lite');
  rows.push({ store: 'PGlite (in memory)', 'CAS updates/s': fmt(pglite.rate), 'vs memory': `${(pglite.rate / memory.rate).toFixed(4)}×`, note: 'one transaction at a time, in-process' });

  if (findPostgresBin() === undefined) {
    console.warn('\n⚠ NOTICE: PostgreSQL server binaries not found: skipping the server figures (apt-get install -y postgresql)\n');
  } else {
    const server = await startPostgres({ durable: true });
    let owner: SqlDriver | undefined;
    let app: SqlDriver | undefined;
    try {
      await server.createDatabase('bench');
      owner = await openPgPool({ url: server.url('bench'), max: 2 });
      await migrate(owner);
      await owner.exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetkit_bench_app') THEN CREATE ROLE fleetkit_bench_app LOGIN IN ROLE fleetkit_app; END IF; END $$;");
      app = await openPgPool({ url: `postgres://fleetkit_bench_app@127.0.0.1:${server.port}/bench`, max: 16 });
      const pg = await casRate(new PostgresShadowStore(app), CAS_MS, 'pg');
      rows.push({ store: 'PostgreSQL 15 server (pg, pool 16)', 'CAS updates/s': fmt(pg.rate), 'vs memory': `${(pg.rate / memory.rate).toFixed(4)}×`, note: 'durable commits (fsync on), loopback' });
    } finally {
      await app?.close();
      await owner?.close();
      await server.dispose();
    }
  }
  printTable(`Shadow compare-and-set, ${THINGS} things updated in parallel for ${CAS_MS / 1000} s (20-leaf documents)`, rows);

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
