// Status reports sent while no controller drives a rollout (the leader died, the next one has not
// taken over yet) reach no one: every instance's controller refuses a report of a rollout it does
// not drive. The controller that recovers the rollout sends every open job's document again, and
// a device answers a document it already finished with its final status — so those reports arrive
// again and the rollout completes. Also covered: a device whose job document was never published
// (the leader died between the execution's write and the publish) gets it at the recovery.
//
// On a PostgreSQL job store (PGlite), with a simulated clock and scripted devices whose status
// reports can be held back and released while no controller listens.
import { PGlite } from '@electric-sql/pglite';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JobDispatchedEvent, RolloutController } from '../../src/cloud/index.js';
import { MemoryTransport, type Transport } from '../../src/memory.js';
import { PostgresJobStore, migrate, pgliteDriver } from '../../src/postgres/index.js';
import { attachJobResponder, type JobResponder } from '../cloud/job-responder.js';
import { ctx, rolloutRig, settle, TENANT, type RolloutRig } from '../cloud/rollout-rig.js';

const MIN = 60_000;

/**
 * What happens to a device's job while the leader dies:
 * - `before`: it finishes while the first controller drives the rollout;
 * - `gap`: its status reports are sent while no controller drives it (they are lost);
 * - `after`: its status reports are held until the next controller drives it;
 * - `unsent`: its job document never reaches it from the first controller (as if the publish never left the dead leader).
 */
type Fate = 'before' | 'gap' | 'after' | 'unsent';

let db: PGlite | undefined;
let jobs: PostgresJobStore | undefined;
beforeAll(async () => {
  db = new PGlite();
  await migrate(pgliteDriver(db));
  jobs = new PostgresJobStore(pgliteDriver(db, { role: 'fleetkit_app' }));
});
afterAll(async () => {
  if (db !== undefined && !db.closed) await db.close();
});

/** A device transport whose status reports are held while `hold` is set, and whose first job document can be dropped. */
function deviceTransport(inner: Transport, state: { hold: boolean; dropFirstDocument: boolean; held: (() => Promise<void>)[] }): Transport {
  return new Proxy(inner, {
    get(target, prop) {
      if (prop === 'publish') {
        return (topic: string, payload: Uint8Array | string, options?: Parameters<Transport['publish']>[2]): Promise<void> => {
          if (!state.hold) return target.publish(topic, payload, options);
          state.held.push(() => target.publish(topic, payload, options));
          return Promise.resolve();
        };
      }
      if (prop === 'subscribe') {
        return (filter: string, handler: Parameters<Transport['subscribe']>[1], options?: Parameters<Transport['subscribe']>[2]) =>
          target.subscribe(
            filter,
            (m) => {
              if (state.dropFirstDocument && filter.endsWith('/job/+')) {
                state.dropFirstDocument = false;
                return;
              }
              handler(m);
            },
            options,
          );
      }
      const v: unknown = Reflect.get(target, prop);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

interface Run {
  readonly completed: boolean;
  readonly state: string | undefined;
  readonly statuses: readonly string[];
  readonly dispatchedPerDevice: readonly number[];
  readonly installs: readonly (readonly string[])[];
  readonly documentsIssued: readonly number[];
}

/** One rollout whose first controller dies with the devices' jobs in the given fates; the second recovers it. */
async function takeover(rolloutId: string, fates: readonly Fate[]): Promise<Run> {
  const store = jobs!;
  let rig: RolloutRig | undefined;
  const controllers: RolloutController[] = [];
  const transports: Transport[] = [];
  try {
    rig = await rolloutRig();
    const r = rig;
    await r.controller.close(); // the rig's own controller (memory jobs) is not used
    r.addImage('2.1.0');
    const devices: { fate: Fate; responder: JobResponder; state: { hold: boolean; dropFirstDocument: boolean; held: (() => Promise<void>)[] } }[] = [];
    for (const [i, fate] of fates.entries()) {
      const id = `${rolloutId}-dev-${i}`;
      await r.stores.devices.create(ctx, { deviceId: id, tenantId: TENANT, state: 'active', since: r.clock.now(), firmwareVersion: '1.0.0', hardware: 'board-a' });
      const t = new MemoryTransport({ broker: r.broker, clientId: id, queue: { maxMessages: 10_000 }, maxInFlight: 1_000 });
      transports.push(t);
      await t.connect();
      const state = { hold: fate === 'gap' || fate === 'after', dropFirstDocument: fate === 'unsent', held: [] as (() => Promise<void>)[] };
      const responder = await attachJobResponder({ transport: deviceTransport(t, state), tenantId: TENANT, deviceId: id, clock: r.clock, publicKey: r.keys.publicKey, behaviour: () => 'ok' });
      devices.push({ fate, responder, state });
    }
    const dispatched: JobDispatchedEvent[] = [];
    const a = await r.newController(store);
    controllers.push(a);
    a.on('job:dispatched', (e) => dispatched.push(e));
    await a.create(ctx, { rolloutId, firmwareVersion: '2.1.0', stages: [{ percent: 100 }] });
    await settle();
    // The first controller dies; the reports of `gap` devices are sent while no controller listens.
    await a.stop();
    const release = async (fate: Fate): Promise<void> => {
      for (const d of devices.filter((x) => x.fate === fate)) {
        d.state.hold = false;
        for (const send of d.state.held.splice(0)) await send();
      }
      await settle();
    };
    await release('gap');
    const b = await r.newController(store);
    controllers.push(b);
    b.on('job:dispatched', (e) => dispatched.push(e));
    await b.recover(ctx);
    await settle();
    await release('after');
    await r.run(() => false, 2 * MIN, 10_000);
    const summary = await b.get(ctx, rolloutId);
    const execs = (await store.listExecutions(ctx, { jobId: rolloutId, limit: 1000 })).items;
    return {
      completed: summary?.state === 'completed',
      state: summary?.state,
      statuses: devices.map((_, i) => execs.find((e) => e.deviceId === `${rolloutId}-dev-${i}`)?.status ?? 'none'),
      dispatchedPerDevice: devices.map((_, i) => dispatched.filter((e) => e.deviceId === `${rolloutId}-dev-${i}`).length),
      installs: devices.map((d) => d.responder.installs),
      documentsIssued: devices.map((d) => new Set(d.responder.received.map((doc) => `${doc.jobId}/${doc.issuedAt}/${doc.executionVersion}`)).size),
    };
  } finally {
    for (const c of controllers) await c.close();
    await Promise.allSettled(transports.map((t) => t.close()));
    await rig?.close();
  }
}

it('reports lost while no controller drove the rollout, and a job document that never left the dead leader: the recovering controller sends the open jobs again and the rollout completes', { timeout: 60_000 }, async () => {
  const fates: Fate[] = ['before', 'gap', 'gap', 'after', 'unsent', 'before', 'gap', 'unsent'];
  const run = await takeover('fw-example', fates);
  expect(run.statuses).toEqual(fates.map(() => 'succeeded'));
  expect(run.state).toBe('completed');
  expect(run.dispatchedPerDevice).toEqual(fates.map(() => 1));
  expect(run.installs).toEqual(fates.map(() => ['update:2.1.0']));
  expect(run.documentsIssued).toEqual(fates.map(() => 1)); // repeats of the one document only
});

it('law: whatever happened to each device job while the leader died, the recovered rollout completes with every device dispatched once and installing once', { timeout: 120_000 }, async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom<Fate>('before', 'gap', 'after', 'unsent'), { minLength: 1, maxLength: 10 }), async (fates) => {
      const run = await takeover(`fw-law-${++n}`, fates);
      expect(run.statuses).toEqual(fates.map(() => 'succeeded'));
      expect(run.completed).toBe(true);
      expect(run.dispatchedPerDevice).toEqual(fates.map(() => 1));
      expect(run.installs).toEqual(fates.map(() => ['update:2.1.0']));
      expect(run.documentsIssued).toEqual(fates.map(() => 1));
    }),
    { numRuns: 25 },
  );
});
