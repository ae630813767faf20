// Shared presence: three createFleet instances on one MemoryBroker split the heartbeats through a
// shared subscription; heartbeat state lives in one PresenceStore (memory, and PGlite with every
// store and a LeaderElection on it); the leader sweeps. A device silent for 10 minutes is flagged
// exactly once fleet-wide, a device heard only by a non-leader is never flagged, and when the
// leader dies the survivor flags what became silent since — nothing twice.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock, type Clock } from '../../src/clock.js';
import { createFleet, HealthMonitor, type Fleet, type HealthAlert, type LeaderSignal } from '../../src/cloud/index.js';
import { isFleetError, FleetError } from '../../src/errors.js';
import { MemoryBroker, MemoryPresenceStore, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import { LeaderElection, createPostgresStores, migrate, pgliteDriver } from '../../src/postgres/index.js';
import type { FleetStores } from '../../src/store/stores.js';
import type { PresenceStore } from '../../src/store/presence-store.js';
import { fleetRig, settle, T0, TEMPLATE } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
const MIN = 60_000;
const STEP = 5_000;
const closers: { close(): Promise<void> }[] = [];
const dbs: PGlite[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close();
});
afterAll(async () => {
  for (const db of dbs) if (!db.closed) await db.close();
});

interface Backend {
  readonly stores: FleetStores;
  readonly presence: PresenceStore;
  /** The leader signal of instance `i`, on `clock` (its timers stop when the instance dies). */
  leader(i: number, clock: Clock): LeaderSignal;
  /** Instance `i` died: its lease is not given up, it runs out. */
  kill(i: number): void;
  /** Lets elections make their attempts (on the simulated clock) finish. */
  settle(): Promise<void>;
  /** The longest time from a leader's death until a survivor leads. */
  readonly takeoverWithinMs: number;
}

async function memoryBackend(clock: SimulatedClock): Promise<Backend> {
  // A lease held by the last instance; it passes to the highest live instance 20 s after the holder dies.
  let holder = 2;
  const dead = new Set<number>();
  return {
    stores: createMemoryStores(),
    presence: new MemoryPresenceStore(),
    leader: (i) => ({
      get isLeader() {
        return holder === i;
      },
    }),
    kill(i) {
      dead.add(i);
      clock.setTimeout(() => {
        holder = [2, 1, 0].find((j) => !dead.has(j)) ?? -1;
      }, 20_000);
    },
    settle: async () => undefined,
    takeoverWithinMs: 20_000,
  };
}

async function pgliteBackend(clock: SimulatedClock): Promise<Backend> {
  const db = new PGlite();
  dbs.push(db);
  await migrate(pgliteDriver(db));
  const app = pgliteDriver(db, { role: 'fleetkit_app' });
  const stores = createPostgresStores(app);
  const dead = new Set<number>();
  const elections: LeaderElection[] = [];
  const leaseMs = 15_000;
  return {
    stores,
    presence: stores.presence,
    leader(i) {
      // A dead instance's timers never fire again.
      const own: Clock = { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(() => (dead.has(i) ? undefined : fn()), ms), clearTimeout: (h) => clock.clearTimeout(h) };
      const e = new LeaderElection(app, { clock: own, holder: `instance-${i}`, leaseMs, renewEveryMs: 5_000 });
      elections[i] = e;
      closers.push({ close: () => (dead.has(i) ? Promise.resolve() : e.stop()) });
      return e;
    },
    kill(i) {
      dead.add(i);
    },
    async settle() {
      // The last instance starts first (it leads), and tries first after a death.
      for (const [i, e] of [...elections.entries()].reverse()) {
        if (dead.has(i)) continue;
        await e.start(); // idempotent: the first call is the instance's first attempt
        await e.tick();
      }
    },
    takeoverWithinMs: leaseMs + 5_000,
  };
}

describe.each([
  ['memory', memoryBackend],
  ['PGlite', pgliteBackend],
] as const)('shared presence (%s): three instances, one store, the sweep on the leader', (_label, open) => {
  it('flags each silence once fleet-wide, never a device heard only by a non-leader; the survivor of the leader takes over the sweep', { timeout: 240_000 }, async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const backend = await open(clock);
    const fleets: Fleet[] = [];
    const signals: LeaderSignal[] = [];
    const alerts: { i: number; a: HealthAlert }[] = [];
    const offline: { i: number; deviceId: string; at: number }[] = [];
    const online: { i: number; deviceId: string }[] = [];
    const errors: unknown[] = [];
    const ids = ['filler', 'only-b', 'rover', 'quiet', 'late', 'returner'];
    for (const deviceId of ids) await backend.stores.devices.create(ctx, { deviceId, tenantId: 'acme', state: 'active', since: T0 });
    for (let i = 0; i < 3; i++) {
      const fleet = await createFleet({
        transport: new MemoryTransport({ broker, clientId: `backend-${i}` }),
        stores: backend.stores,
        clock,
        template: TEMPLATE,
        shareGroup: 'fleet',
        closeTransport: true,
        health: { certificates: false, presence: { store: backend.presence, leader: (signals[i] = backend.leader(i, clock)), flushEveryMs: 5_000, sweepEveryMs: 5_000 } },
      });
      fleet.health.on('alert', (a) => alerts.push({ i, a }));
      fleet.health.on('device:offline', (e) => offline.push({ i, deviceId: e.deviceId, at: e.at }));
      fleet.health.on('device:online', (e) => online.push({ i, deviceId: e.deviceId }));
      fleet.health.on('error', (e) => errors.push(e));
      fleets.push(fleet);
      closers.push(fleet);
    }
    await backend.settle();
    // The leader is the instance created last (its timers fire after the others'): a sweep by a
    // non-leader would come first and show.
    expect(signals.map((l) => l.isLeader)).toEqual([false, false, true]);

    const device = new MemoryTransport({ broker, clientId: 'devices' });
    await device.connect();
    closers.push(device);
    // The broker hands the k-th heartbeat of the group to live instance k mod n (sorted by client
    // id): a heartbeat is routed to an instance by publishing the filler's first.
    const live = [0, 1, 2];
    let turn = 0;
    let seq = 0;
    const publish = async (deviceId: string): Promise<void> => {
      await device.publish(`dt/acme/${deviceId}/heartbeat`, JSON.stringify({ ts: clock.now(), seq: ++seq }), { qos: 1 });
      turn++;
      await settle();
    };
    const beatTo = async (deviceId: string, instance: number): Promise<void> => {
      while (live[turn % live.length] !== instance) await publish('filler');
      await publish(deviceId);
    };
    const beatsOf = new Map<string, number[]>();
    const lastBeat = (id: string, before = Infinity): number => Math.max(...(beatsOf.get(id) ?? []).filter((t) => t <= before));
    const idle = (): Promise<void> => settle(() => fleets.some((f) => f.health.busyDevices > 0 || f.registry.busyDevices > 0));
    const step = async (): Promise<void> => {
      clock.advance(STEP);
      await backend.settle();
      const running = fleets.filter((_, i) => live.includes(i));
      await Promise.all(running.map((f) => f.health.flush()));
      await Promise.all(running.map((f) => f.health.sweep()));
      await idle();
    };
    let killedAt = Infinity;
    for (let minute = 0; minute < 32; minute++) {
      const beats: [string, number][] = [['only-b', 1], ['rover', live[minute % live.length] as number], ['filler', live[0] as number]];
      if (minute < 5) beats.push(['quiet', 0]);
      if (minute < 12) beats.push(['late', 2]);
      if (minute < 1 || minute >= 13) beats.push(['returner', 1]); // instance 1 holds it as active when the leader degrades it
      for (const [id, to] of beats) {
        if (!live.includes(to)) continue;
        await beatTo(id, to);
        beatsOf.set(id, [...(beatsOf.get(id) ?? []), clock.now()]);
      }
      if (minute === 16) {
        // The leader dies: its process stops (its timers with it), its lease is not given up.
        backend.kill(2);
        live.splice(2, 1);
        await fleets[2]!.close();
        killedAt = clock.now();
      }
      for (let t = 0; t < MIN; t += STEP) await step();
    }

    expect(errors).toEqual([]);
    // The heartbeats were split: every instance processed some.
    for (const f of fleets) expect(f.health.network(ctx).heartbeats).toBeGreaterThan(10);
    // The leader never heard the device only instance 1 heard.
    expect(fleets[2]!.health.devices(ctx).map((d) => d.deviceId)).not.toContain('only-b');
    // Instance 1 leads after the leader's death.
    expect(signals.slice(0, 2).map((l) => l.isLeader)).toEqual([false, true]);

    const silent = alerts.filter((x) => x.a.type === 'device-silent');
    expect(silent.map((x) => x.a.deviceId).sort()).toEqual(['late', 'quiet', 'returner']);
    // Each within silentAfterMs + tolerance (flush interval + 2 s) + one sweep interval of its last beat.
    for (const x of silent) {
      const since = x.a.at - lastBeat(x.a.deviceId, x.a.at);
      expect((x.a as { lastSeen: number }).lastSeen).toBe(lastBeat(x.a.deviceId, x.a.at));
      expect(since, x.a.deviceId).toBeGreaterThanOrEqual(10 * MIN + 7_000);
      expect(since, x.a.deviceId).toBeLessThanOrEqual(10 * MIN + 7_000 + STEP);
    }
    // 'quiet' and 'returner' by the first leader; 'late' went silent after it died, flagged by a survivor.
    expect(silent.find((x) => x.a.deviceId === 'quiet')?.i).toBe(2);
    expect(silent.find((x) => x.a.deviceId === 'late')?.i).toBe(1);
    expect(silent.find((x) => x.a.deviceId === 'late')!.a.at).toBeGreaterThan(killedAt);
    // The silence of the device that came back ended once, raised by the instance that heard it.
    const ended = alerts.filter((x) => x.a.type === 'device-silence-ended');
    expect(ended.map((x) => [x.i, x.a.deviceId])).toEqual([[1, 'returner']]);
    // Offline once per episode, fleet-wide; never for the devices that kept beating.
    expect(offline.map((o) => o.deviceId).sort()).toEqual(['late', 'quiet', 'returner']);
    // Missed heartbeats degraded each silent active device once (by the leader of the time).
    const degraded = alerts.filter((x) => x.a.type === 'device-degraded').map((x) => x.a.deviceId);
    expect(degraded.sort()).toEqual(['late', 'quiet', 'returner']);
    // The device that came back recovered once, driven by the instance that heard it (which read
    // the degraded state the leader wrote).
    expect(alerts.filter((x) => x.a.type === 'device-recovered').map((x) => [x.i, x.a.deviceId])).toEqual([[1, 'returner']]);
    expect((await backend.stores.devices.get(ctx, 'returner'))?.state).toBe('active');
    expect((await backend.stores.devices.get(ctx, 'quiet'))?.state).toBe('degraded');
    // Every device came online once, and the returner once more.
    expect(online.map((o) => o.deviceId).sort()).toEqual([...ids, 'returner'].sort());

    // Every flag was raised by the leader of the time: instance 2 before it died, instance 1 after.
    const flags = [...offline.map((o) => ({ i: o.i, at: o.at })), ...alerts.filter((x) => x.a.type === 'device-silent' || x.a.type === 'device-degraded').map((x) => ({ i: x.i, at: x.a.at }))];
    expect(new Set(flags.filter((f) => f.at <= killedAt).map((f) => f.i))).toEqual(new Set([2]));
    expect(new Set(flags.filter((f) => f.at > killedAt).map((f) => f.i))).toEqual(new Set([1]));
    // Statistics from the store, the same on every survivor.
    for (const f of fleets.slice(0, 2)) {
      const stats = await f.health.stats(ctx);
      expect(stats).toMatchObject({ monitored: 6, online: 4, silent: 2 });
      expect(await f.health.status(ctx, 'quiet')).toMatchObject({ online: false, silent: true, lastSeen: lastBeat('quiet') });
      expect(await f.health.status(ctx, 'only-b')).toMatchObject({ online: true, silent: false });
      expect(f.health.isOnline('acme', 'only-b')).toBe(true);
    }
    // The survivor that leads knows the device it flagged is offline (the others: online unless known offline).
    expect(fleets.slice(0, 2).map((f) => f.health.isOnline('acme', 'late'))).toEqual([true, false]);
    expect(silent.find((x) => x.a.deviceId === 'late')!.a.at - killedAt).toBeLessThanOrEqual(backend.takeoverWithinMs + 11 * MIN);
  });
});

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
    const r = await fleetRig();
    closers.push(r);
    const store = new MemoryPresenceStore();
    await r.stores.devices.create(ctx, { deviceId: 'pump-1', tenantId: 'acme', state: 'active', since: T0 });
    const m = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false, presence: { store, flushEveryMs: 2_000, sweepEveryMs: 3_000, toleranceMs: 2_000 } });
    closers.push(m);
    const alerts: HealthAlert[] = [];
    m.on('alert', (a) => alerts.push(a));
    await m.start();
    const d = await r.device('pump-1', []);
    await d.publish('dt/acme/pump-1/heartbeat', { ts: r.clock.now(), seq: 1 });
    await settle();
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
    const r = await fleetRig();
    closers.push(r);
    const store = new MemoryPresenceStore();
    await r.stores.devices.create(ctx, { deviceId: 'pump-1', tenantId: 'acme', state: 'active', since: T0 });
    const m = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false, presence: { store } });
    closers.push(m);
    const alerts: HealthAlert[] = [];
    m.on('alert', (a) => alerts.push(a));
    await m.start();
    const d = await r.device('pump-1', []);
    await d.publish('dt/acme/pump-1/heartbeat', { ts: r.clock.now(), seq: 1 });
    await settle();
    await m.flush();
    expect(await m.stats(ctx)).toMatchObject({ monitored: 1, online: 1, silent: 0 });
    await r.registry.decommission(ctx, 'pump-1', { reason: 'RMA', actor: 'ops' });
    expect(await store.get(ctx, ['pump-1'])).toEqual([]);
    expect(await m.stats(ctx)).toMatchObject({ monitored: 0, online: 0, silent: 0 });
    for (let t = 0; t < 12 * MIN; t += 5_000) {
      r.clock.advance(5_000);
      await m.sweep();
    }
    expect(alerts).toEqual([]);
    expect(await m.status(ctx, 'pump-1')).toBeUndefined();
  });
});
