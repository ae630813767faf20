// Withdrawal on the PostgreSQL JobStore (PGlite): the tracker snapshot with the withdrawal is saved
// with the revision check, the execution ends cancelled, and a controller restarted on the same
// database recovers the withdrawal and completes the stage with the remaining devices.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, afterEach, expect, it } from 'vitest';
import { PostgresJobStore, migrate, pgliteDriver } from '../../src/postgres/index.js';
import { restoreRolloutProgress } from '../../src/rollout/index.js';
import { ctx, rolloutRig, settle, type RolloutRig } from './rollout-rig.js';

const MIN = 60_000;
let rig: RolloutRig | undefined;
let db: PGlite | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});
afterAll(async () => {
  if (db !== undefined && !db.closed) await db.close();
});

it('a withdrawal is stored in PostgreSQL and survives a controller restart', { timeout: 120_000 }, async () => {
  db = new PGlite();
  await migrate(pgliteDriver(db));
  const jobs = new PostgresJobStore(pgliteDriver(db, { role: 'fleetkit_app' }));
  const r = (rig = await rolloutRig());
  await r.controller.close();
  r.addImage('2.1.0');
  const victim = 'dev-0002';
  await r.addDevices(5, (id) => (id === victim ? 'silent' : 'ok'));
  const c1 = await r.newController(jobs);
  await c1.create(ctx, { rolloutId: 'fw', firmwareVersion: '2.1.0', stages: [{ percent: 100, minSoakMs: 5 * MIN, successThreshold: 1 }], deadlines: { pickupMs: 60 * MIN } });
  await settle();
  const revision = (await jobs.getRollout(ctx, 'fw'))!.revision;
  expect(await c1.withdraw(ctx, victim, { reason: 'decommissioned' })).toEqual(['fw']);
  const stored = (await jobs.getRollout(ctx, 'fw'))!;
  expect(stored.revision).toBe(revision + 1);
  expect(restoreRolloutProgress(stored.plan, stored.tracker).device(victim)).toMatchObject({ status: 'cancelled', withdrawn: true });
  expect((await jobs.getExecution(ctx, 'fw', victim))?.status).toBe('cancelled');

  await c1.close();
  const c2 = await r.newController(jobs);
  expect(await c2.recover(ctx)).toBe(1);
  expect(await c2.get(ctx, 'fw')).toMatchObject({ withdrawn: 1 });
  await r.run(() => false, 10 * MIN);
  expect(await c2.get(ctx, 'fw')).toMatchObject({ state: 'completed', withdrawn: 1, counts: { succeeded: 4, cancelled: 1, unreachable: 0 } });
});
