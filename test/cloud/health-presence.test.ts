// Shared presence: three createFleet instances on one MemoryBroker split the heartbeats through a
// shared subscription; heartbeat state lives in one PresenceStore (memory, and PGlite with every
// store and a LeaderElection on it); the leader sweeps. A device silent for 10 minutes is flagged
// exactly once fleet-wide, a device heard only by a non-leader is never flagged, and when the
// leader dies the survivor flags what became silent since — nothing twice.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SimulatedClock } from '../../src/clock.js';
import { HealthMonitor, type HealthAlert, type SharedPresenceOptions } from '../../src/cloud/index.js';
import { isFleetError, FleetError } from '../../src/errors.js';
import { MemoryPresenceStore } from '../../src/memory.js';
import { migrate, pgliteDriver } from '../../src/postgres/index.js';
import type { PresenceStore } from '../../src/store/presence-store.js';
import { fleetRig, settle, T0 } from './fleet-rig.js';
import { memoryBackend, presenceScenario, sqlBackend, type Backend, type Track } from './presence-scenario.js';

const ctx = { tenantId: 'acme' };
const MIN = 60_000;
const closers: { close(): Promise<void> }[] = [];
const track: Track = (c) => void closers.push(c);
const dbs: PGlite[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close();
});
afterAll(async () => {
  for (const db of dbs) if (!db.closed) await db.close();
});

async function pgliteBackend(clock: SimulatedClock): Promise<Backend> {
  const db = new PGlite();
  dbs.push(db);
  await migrate(pgliteDriver(db));
  return sqlBackend(pgliteDriver(db, { role: 'fleetkit_app' }), track)(clock);
}

describe.each([
  ['memory', memoryBackend],
  ['PGlite', pgliteBackend],
] as const)('shared presence (%s): three instances, one store, the sweep on the leader', (_label, open) => {
  it('flags each silence once fleet-wide, never a device heard only by a non-leader; the survivor of the leader takes over the sweep', { timeout: 240_000 }, async () => {
    await presenceScenario(open, track);
  });
});

/** One registered pump, one HealthMonitor with shared presence over a memory store (these options), a first heartbeat heard. */
async function onePump(options: Omit<SharedPresenceOptions, 'store'>) {
  const r = await fleetRig();
  closers.push(r);
  const store = new MemoryPresenceStore();
  await r.stores.devices.create(ctx, { deviceId: 'pump-1', tenantId: 'acme', state: 'active', since: T0 });
  const m = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false, presence: { store, ...options } });
  closers.push(m);
  const alerts: HealthAlert[] = [];
  m.on('alert', (a) => alerts.push(a));
  await m.start();
  const d = await r.device('pump-1', []);
  await d.publish('dt/acme/pump-1/heartbeat', { ts: r.clock.now(), seq: 1 });
  await settle();
  return { r, m, alerts, d, store };
}

describe('shared presence: options and faults', () => {
  it('refuses a shareGroup without shared presence, and malformed presence options, with INVALID_ARGUMENT', async () => {
    const r = await fleetRig();
    closers.push(r);
    const base = { transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false as const };
    const store = new MemoryPresenceStore();
    for (const bad of [
      { shareGroup: 'fleet' },
      { presence: null },
      { presence: {} },
      { presence: { store: {} } },
      { presence: { store, leader: {} } },
      { presence: { store, flushEveryMs: 0 } },
      { presence: { store, sweepEveryMs: Number.NaN } },
      { presence: { store, toleranceMs: -1 } },
      { presence: { store }, shareGroup: 'a/b' },
    ]) {
      let error: unknown;
      try {
        new HealthMonitor({ ...base, ...(bad as object) });
      } catch (e) {
        error = e;
      }
      expect(isFleetError(error, 'INVALID_ARGUMENT'), JSON.stringify(bad)).toBe(true);
    }
  });

  it('a flush the store refuses keeps its devices for the next one: nothing heard is lost, and the device is never flagged', async () => {
    const r = await fleetRig();
    closers.push(r);
    const inner = new MemoryPresenceStore();
    let down = true;
    const store: PresenceStore = {
      touch: (c, b) => (down ? Promise.reject(new FleetError('STORE_UNAVAILABLE', 'down', { status: 503 })) : inner.touch(c, b)),
      sweep: (c, l) => inner.sweep(c, l),
      get: (c, i) => inner.get(c, i),
      countByLevel: (c) => inner.countByLevel(c),
      remove: (c, d) => inner.remove(c, d),
      tenants: () => inner.tenants(),
    };
    await r.stores.devices.create(ctx, { deviceId: 'pump-1', tenantId: 'acme', state: 'active', since: T0 });
    const m = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false, presence: { store } });
    closers.push(m);
    const errors: FleetError[] = [];
    const online: number[] = [];
    m.on('error', (e) => errors.push(e));
    m.on('device:online', (e) => online.push(e.at));
    await m.start();
    const d = await r.device('pump-1', []);
    await d.publish('dt/acme/pump-1/heartbeat', { ts: r.clock.now(), seq: 1 });
    await settle();
    const heardAt = r.clock.now();
    r.clock.advance(5_000);
    await m.flush();
    expect(errors.map((e) => e.code)).toContain('STORE_UNAVAILABLE');
    expect(await m.status(ctx, 'pump-1')).toMatchObject({ lastSeen: heardAt, online: true, silent: false });
    down = false;
    await m.flush();
    expect(await inner.get(ctx, ['pump-1'])).toEqual([{ deviceId: 'pump-1', lastSeen: heardAt, level: 0 }]);
    expect(online).toEqual([heardAt]);
    // Another tenant's device: TENANT_MISMATCH, as without shared presence.
    await expect(m.status({ tenantId: 'globex' }, 'pump-1')).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
  });

  it('without a leader signal the one instance sweeps; the device is flagged within the stated precision, and a later heartbeat ends it once', async () => {
    const { r, m, alerts, d } = await onePump({ flushEveryMs: 2_000, sweepEveryMs: 3_000, toleranceMs: 2_000 });
    const last = r.clock.now();
    for (let t = 0; t < 12 * MIN; t += 1_000) {
      r.clock.advance(1_000);
      await settle(() => m.busyDevices > 0 || r.registry.busyDevices > 0);
    }
    const flagged = alerts.filter((a) => a.type === 'device-silent');
    expect(flagged).toHaveLength(1);
    expect(flagged[0]!.at - last).toBeGreaterThanOrEqual(10 * MIN + 2_000);
    expect(flagged[0]!.at - last).toBeLessThanOrEqual(10 * MIN + 2_000 + 3_000);
    await d.publish('dt/acme/pump-1/heartbeat', { ts: r.clock.now(), seq: 2 });
    await settle();
    r.clock.advance(2_000);
    await m.flush();
    await settle();
    expect(alerts.filter((a) => a.type === 'device-silence-ended').map((a) => a.deviceId)).toEqual(['pump-1']);
    expect(await m.stats(ctx)).toMatchObject({ monitored: 1, online: 1, silent: 0 });
  });
});

describe('shared presence: decommissioning', () => {
  it('a decommissioned device leaves the shared presence too: not counted, never flagged', async () => {
    const { r, m, alerts, d, store } = await onePump({});
    await m.flush();
    expect(await m.stats(ctx)).toMatchObject({ monitored: 1, online: 1, silent: 0 });
    await r.registry.decommission(ctx, 'pump-1', { reason: 'RMA', actor: 'ops' });
    expect(await store.get(ctx, ['pump-1'])).toEqual([]);
    expect(await m.stats(ctx)).toMatchObject({ monitored: 0, online: 0, silent: 0 });
    // Another instance's flush of a heartbeat heard just before the decommissioning lands after it.
    await store.touch(ctx, [{ deviceId: 'pump-1', at: r.clock.now() }]);
    for (let t = 0; t < 12 * MIN; t += 5_000) {
      r.clock.advance(5_000);
      await m.sweep();
    }
    expect(alerts).toEqual([]);
    expect(await store.get(ctx, ['pump-1'])).toEqual([]); // dropped by the sweep
    expect(await m.status(ctx, 'pump-1')).toBeUndefined();
  });
});
