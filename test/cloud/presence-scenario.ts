/**
 * The shared-presence scenario (test/cloud/health-presence.test.ts, test/postgres/presence.server.test.ts):
 * three createFleet instances on one MemoryBroker split the heartbeats through a shared
 * subscription; heartbeat state lives in one PresenceStore; the leader sweeps; the leader dies and
 * a survivor takes over. Run with a backend: the memory stores, or every store on a SQL driver with
 * a LeaderElection on it.
 */
import { expect } from 'vitest';
import { SimulatedClock, type Clock } from '../../src/clock.js';
import { createFleet, type Fleet, type HealthAlert, type LeaderSignal } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryPresenceStore, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import { LeaderElection, createPostgresStores, type SqlDriver } from '../../src/postgres/index.js';
import type { FleetStores } from '../../src/store/stores.js';
import type { PresenceStore } from '../../src/store/presence-store.js';
import { settle, T0, TEMPLATE, waitFor } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
const MIN = 60_000;
const STEP = 5_000;

/** Something to close after the test. */
export type Track = (c: { close(): Promise<void> }) => void;

/** The stores and the leader signals of one scenario run. */
export interface Backend {
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

/** The memory stores and a lease that passes to the highest live instance 20 s after its holder dies. */
export async function memoryBackend(clock: SimulatedClock): Promise<Backend> {
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

/** Every store on `app` (migrated) and a LeaderElection per instance on it, with a 15 s lease. */
export function sqlBackend(app: SqlDriver, track: Track): (clock: SimulatedClock) => Promise<Backend> {
  return async (clock) => sqlBackendOn(app, track, clock);
}

async function sqlBackendOn(app: SqlDriver, track: Track, clock: SimulatedClock): Promise<Backend> {
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
      track({ close: () => (dead.has(i) ? Promise.resolve() : e.stop()) });
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

/**
 * Runs the scenario: a device silent for 10 minutes is flagged exactly once fleet-wide, by the
 * leader; a device heard only by a non-leader is never flagged; a device that comes back to
 * another instance gets its silence ended once; the leader dies and the survivor flags what went
 * silent since — nothing twice.
 */
export async function presenceScenario(open: (clock: SimulatedClock) => Promise<Backend>, track: Track): Promise<void> {
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
      track(fleet);
    }
    await backend.settle();
    // The leader is the instance created last (its timers fire after the others'): a sweep by a
    // non-leader would come first and show.
    expect(signals.map((l) => l.isLeader)).toEqual([false, false, true]);

    const device = new MemoryTransport({ broker, clientId: 'devices' });
    await device.connect();
    track(device);
    // The broker hands the k-th heartbeat of the group to live instance k mod n (sorted by client
    // id): a heartbeat is routed to an instance by publishing the filler's first.
    const live = [0, 1, 2];
    let turn = 0;
    let seq = 0;
    const processed = [0, 0, 0];
    const publish = async (deviceId: string): Promise<void> => {
      const to = live[turn % live.length] as number;
      await device.publish(`dt/acme/${deviceId}/heartbeat`, JSON.stringify({ ts: clock.now(), seq: ++seq }), { qos: 1 });
      turn++;
      // Processed by its instance (a first heartbeat waits for a registry look-up) before the clock moves.
      processed[to]!++;
      await waitFor(() => fleets[to]!.health.network(ctx).heartbeats === processed[to], `heartbeat ${seq} at instance ${to}`, 1_000_000);
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
    // One survivor leads after the leader's death (with the memory lease: instance 1).
    const next = signals.findIndex((l) => l.isLeader);
    expect([0, 1]).toContain(next);
    expect(signals.filter((l) => l.isLeader)).toHaveLength(1);

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
    expect(silent.find((x) => x.a.deviceId === 'late')?.i).toBe(next);
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

    // Every flag was raised by the leader of the time: instance 2 before it died, the survivor that leads after.
    const flags = [...offline.map((o) => ({ i: o.i, at: o.at })), ...alerts.filter((x) => x.a.type === 'device-silent' || x.a.type === 'device-degraded').map((x) => ({ i: x.i, at: x.a.at }))];
    expect(new Set(flags.filter((f) => f.at <= killedAt).map((f) => f.i))).toEqual(new Set([2]));
    expect(new Set(flags.filter((f) => f.at > killedAt).map((f) => f.i))).toEqual(new Set([next]));
    // Statistics from the store, the same on every survivor.
    for (const f of fleets.slice(0, 2)) {
      const stats = await f.health.stats(ctx);
      expect(stats).toMatchObject({ monitored: 6, online: 4, silent: 2 });
      expect(await f.health.status(ctx, 'quiet')).toMatchObject({ online: false, silent: true, lastSeen: lastBeat('quiet') });
      expect(await f.health.status(ctx, 'only-b')).toMatchObject({ online: true, silent: false });
      expect(f.health.isOnline('acme', 'only-b')).toBe(true);
    }
    // The survivor that leads knows the device it flagged is offline (the others: online unless known offline).
    expect(fleets.slice(0, 2).map((f) => f.health.isOnline('acme', 'late'))).toEqual([next !== 0, next !== 1]);
    expect(silent.find((x) => x.a.deviceId === 'late')!.a.at - killedAt).toBeLessThanOrEqual(backend.takeoverWithinMs + 11 * MIN);
}
