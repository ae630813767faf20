// The leader dies during a rollout: two rollout controllers share a PostgreSQL job store (PGlite)
// and a lease (LeaderElection + followLeader) on one simulated clock. The leader creates a staged
// rollout and dies mid-stage (its timers stop, its lease is not given up); the survivor takes the
// lease once it runs out, recovers the rollout from the store and completes it — every device
// dispatched exactly once.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, expect, it } from 'vitest';
import type { Clock } from '../../src/clock.js';
import type { JobDispatchedEvent, RolloutController } from '../../src/cloud/index.js';
import { LeaderElection, PostgresJobStore, followLeader, migrate, pgliteDriver } from '../../src/postgres/index.js';
import { ctx, rolloutRig, type RolloutRig } from '../cloud/rollout-rig.js';

const MIN = 60_000;
let rig: RolloutRig | undefined;
let db: PGlite | undefined;
const controllers: RolloutController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) await c.close();
  await rig?.close();
  rig = undefined;
});
afterAll(async () => {
  if (db !== undefined && !db.closed) await db.close();
});

it('the leader dies mid-rollout: the survivor is elected after the lease runs out, recovers the rollout and completes it with no device dispatched twice', { timeout: 180_000 }, async () => {
  db = new PGlite();
  await migrate(pgliteDriver(db));
  const app = pgliteDriver(db, { role: 'fleetkit_app' });
  const jobs = new PostgresJobStore(app);
  rig = await rolloutRig();
  const r = rig;
  await r.controller.close(); // the rig's own controller (memory jobs) is not used
  r.addImage('2.1.0');
  await r.addDevices(40, () => 'ok');
  const dispatched: JobDispatchedEvent[] = [];
  const a = await r.newController(jobs);
  const b = await r.newController(jobs);
  controllers.push(a, b);
  for (const c of [a, b]) c.on('job:dispatched', (e) => dispatched.push(e));

  // A's process dies at `dead`: its timers never fire again (its lease is not given up).
  let dead = false;
  const aClock: Clock = { now: () => r.clock.now(), setTimeout: (fn, ms) => r.clock.setTimeout(() => (dead ? undefined : fn()), ms), clearTimeout: (h) => r.clock.clearTimeout(h) };
  const leaseMs = 30_000;
  const ea = new LeaderElection(app, { clock: aClock, holder: 'a', leaseMs, renewEveryMs: 10_000 });
  const eb = new LeaderElection(app, { clock: r.clock, holder: 'b', leaseMs, renewEveryMs: 10_000 });
  const elected: { who: string; term: number; at: number }[] = [];
  ea.onElected(({ term }) => elected.push({ who: 'a', term, at: r.clock.now() }));
  eb.onElected(({ term }) => elected.push({ who: 'b', term, at: r.clock.now() }));
  const errors: unknown[] = [];
  followLeader(ea, { rollouts: a, tenants: ['acme'], onError: (e) => errors.push(e) });
  followLeader(eb, { rollouts: b, tenants: ['acme'], onError: (e) => errors.push(e) });
  await ea.start();
  await eb.start();
  expect([ea.isLeader, eb.isLeader]).toEqual([true, false]);

  // Created on the leader: 10% soak, then 100%, 10 devices a minute.
  await a.create(ctx, { rolloutId: 'fw', firmwareVersion: '2.1.0', stages: [{ percent: 10, minSoakMs: 5 * MIN }, { percent: 100 }], rateLimit: { devicesPerMinute: 10 } });
  const updates = (): JobDispatchedEvent[] => dispatched.filter((e) => e.rolloutId === 'fw' && e.intent === 'update');
  await r.run(() => updates().length >= 10, 60 * MIN, 10_000);
  expect(updates().length).toBeLessThan(40);

  // The leader dies mid-stage.
  const diedAt = r.clock.now();
  dead = true;
  await a.stop();
  await r.run(() => r.devices.every((d) => d.version === '2.1.0'), 120 * MIN, 10_000, async () => {
    // Let the survivor's attempts (started by its timers) finish on the database between steps.
    await eb.tick();
  });
  await r.run(() => false, 5 * MIN, 10_000);

  const takeover = elected.find((e) => e.who === 'b');
  expect(takeover?.term).toBe(2);
  expect(takeover!.at - diedAt).toBeLessThanOrEqual(eb.takeoverWithinMs);
  expect((await b.get(ctx, 'fw'))?.state).toBe('completed');
  const perDevice = new Map<string, number>();
  for (const e of updates()) perDevice.set(e.deviceId, (perDevice.get(e.deviceId) ?? 0) + 1);
  expect(perDevice.size).toBe(40);
  expect([...perDevice.values()].every((n) => n === 1)).toBe(true);
  for (const d of r.devices) expect(d.installs).toEqual(['update:2.1.0']);
  expect(errors).toEqual([]);
  await eb.stop();
});
