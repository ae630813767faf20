/**
 * Shared presence at fleet scale (`npm run bench presence`): 60,000 devices, one heartbeat a
 * minute each = 1,000 beats/s. Every instance flushes the devices it heard since its last flush
 * (every 5 s: 5,000 devices fleet-wide) as one `PresenceStore.touch` per tenant; the leader sweeps
 * every 5 s. Measured on the memory store, PGlite and a PostgreSQL server (durable commits):
 * - flush: beats/s the touch path absorbs (5,000-device batches, devices already present);
 * - sweep: one sweep over 60,000 rows when nothing is due (the steady state) and when every
 *   device passes a limit at once (a mass outage: 60,000 rows raised in one statement);
 * - the baseline: one device record revision per beat (`DeviceStore` get + compare-and-set
 *   update), what writing `lastSeen` to the registry on every heartbeat would cost.
 * The server part is skipped (with a notice) when the PostgreSQL binaries are not installed.
 */
import { PGlite } from '@electric-sql/pglite';
import { MemoryDeviceStore, MemoryPresenceStore } from '../src/store/index.js';
import { PostgresDeviceStore, PostgresPresenceStore, migrate, pgliteDriver } from '../src/postgres/index.js';
import type { DeviceStore } from '../src/store/device-store.js';
import type { PresenceStore } from '../src/store/presence-store.js';
import { fmt, printTable, time, verdict } from './lib.js';
import { withBenchPostgres } from './postgres-server.js';

const DEVICES = 60_000;
const FLUSH = 5_000; // devices heard in one 5 s flush interval at 1,000 beats/s
const FLUSHES = 8;
const BASELINE_BEATS = 1_000;
const T0 = 1_700_000_000_000;
const ACME = { tenantId: 'acme' };
const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(5, '0')}`);

interface Figures {
  readonly beatsPerSec: number;
  readonly flushMs: number;
  readonly idleSweepMs: number;
  readonly outageSweepMs: number;
}

async function presenceFigures(store: PresenceStore): Promise<Figures> {
  for (let i = 0; i < DEVICES; i += 10_000) await store.touch(ACME, ids.slice(i, i + 10_000).map((deviceId) => ({ deviceId, at: T0 })));
  let at = T0;
  const ms = await time(async () => {
    for (let f = 0; f < FLUSHES; f++) {
      at += 5_000;
      const start = (f * FLUSH) % DEVICES;
      const touched = await store.touch(ACME, ids.slice(start, start + FLUSH).map((deviceId) => ({ deviceId, at })));
      if (touched.length !== FLUSH) throw new Error(`a flush moved ${touched.length} devices, expected ${FLUSH}`);
    }
  });
  // Limits below every lastSeen: nothing is due.
  const idleSweepMs = await time(() => store.sweep(ACME, [T0 - 1]));
  const outageSweepMs = await time(async () => {
    const raised = await store.sweep(ACME, [at + 1]);
    if (raised.length !== DEVICES) throw new Error(`the outage sweep raised ${raised.length}, expected ${DEVICES}`);
  });
  return { beatsPerSec: (FLUSHES * FLUSH) / (ms / 1000), flushMs: ms / FLUSHES, idleSweepMs, outageSweepMs };
}

// One device record revision per beat: read the record, write it back with lastSeen (compare-and-set).
async function recordPerBeat(devices: DeviceStore, prefix: string): Promise<number> {
  const list = Array.from({ length: BASELINE_BEATS }, (_, i) => `${prefix}-${i}`);
  for (const deviceId of list) await devices.create(ACME, { deviceId, tenantId: 'acme', state: 'active', since: T0 });
  const ms = await time(async () => {
    await Promise.all(
      list.map(async (deviceId, i) => {
        const d = await devices.get(ACME, deviceId);
        if (d === undefined) throw new Error('missing');
        await devices.update(ACME, { ...d, lastSeen: T0 + i }, d.revision);
      }),
    );
  });
  return BASELINE_BEATS / (ms / 1000);
}

function row(store: string, f: Figures, baseline: number): Record<string, string> {
  return {
    store,
    'flush beats/s': fmt(f.beatsPerSec),
    'one 5,000-device flush': `${fmt(f.flushMs, 1)} ms`,
    'record per beat (baseline) beats/s': fmt(baseline),
    'vs baseline': `${(f.beatsPerSec / baseline).toFixed(1)}×`,
    'idle sweep (60,000 rows)': `${fmt(f.idleSweepMs, 1)} ms`,
    'outage sweep (60,000 raised)': `${fmt(f.outageSweepMs)} ms`,
    'fleet rate': verdict(f.beatsPerSec >= 1_000, '≥ 1,000 beats/s'),
  };
}

export async function run(): Promise<void> {
  const rows: Record<string, string>[] = [];
  rows.push(row('memory', await presenceFigures(new MemoryPresenceStore()), await recordPerBeat(new MemoryDeviceStore(), 'm')));

  const lite = new PGlite();
  await migrate(pgliteDriver(lite));
  const liteDriver = pgliteDriver(lite, { role: 'fleetkit_app' });
  rows.push(row('PGlite (in memory)', await presenceFigures(new PostgresPresenceStore(liteDriver)), await recordPerBeat(new PostgresDeviceStore(liteDriver), 'p')));
  await lite.close();

  await withBenchPostgres(async ({ app }) => {
    rows.push(row('PostgreSQL server (pool 16, durable)', await presenceFigures(new PostgresPresenceStore(app)), await recordPerBeat(new PostgresDeviceStore(app), 's')));
  });
  printTable(`Shared presence: ${fmt(DEVICES)} devices, ${fmt(FLUSH)}-device flushes (1,000 beats/s × 5 s)`, rows);
}
