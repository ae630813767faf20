/**
 * A RolloutController restarted from its store resumes without dispatching any device twice:
 * stopped mid-stage, crashed in the middle of a dispatch batch, and (property) for any
 * interleaving of restarts, crashes, device reports and time.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobDispatchedEvent, RolloutController } from '../../src/cloud/index.js';
import { FleetError } from '../../src/errors.js';
import type { JobStore } from '../../src/store/index.js';
import { ctx, rolloutRig, settle, type Behaviour, type RolloutRig } from './rollout-rig.js';

const MIN = 60_000;
let rig: RolloutRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

/** A JobStore whose putExecution fails (a crash mid-batch) once `budget` more writes succeeded. */
function crashing(inner: JobStore): { store: JobStore; failAfter(n: number): void } {
  let budget = Infinity;
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'putExecution') {
        return async (...args: Parameters<JobStore['putExecution']>) => {
          if (budget <= 0) throw new FleetError('INTERNAL', 'simulated crash: the process died here', { status: 500 });
          budget--;
          return target.putExecution(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, failAfter: (n) => void (budget = n) };
}

/** Collects `job:dispatched` over every controller of the rig. */
function dispatchLog(): { events: JobDispatchedEvent[]; watch(c: RolloutController): void; perDevice(rolloutId: string): Map<string, number> } {
  const events: JobDispatchedEvent[] = [];
  return {
    events,
    watch: (c) => void c.on('job:dispatched', (e) => events.push(e)),
    perDevice(rolloutId) {
      const m = new Map<string, number>();
      for (const e of events) if (e.rolloutId === rolloutId && e.intent === 'update') m.set(e.deviceId, (m.get(e.deviceId) ?? 0) + 1);
      return m;
    },
  };
}

describe('RolloutController restarts', () => {
  it('stopped mid-stage, a new controller on the same stores resumes and dispatches every device exactly once', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.1.0');
    await r.addDevices(200, () => 'ok');
    const log = dispatchLog();
    log.watch(r.controller);
    await r.controller.create(ctx, { rolloutId: 'fw', firmwareVersion: '2.1.0', stages: [{ percent: 10, minSoakMs: 10 * MIN }, { percent: 50, minSoakMs: 10 * MIN }, { percent: 100 }], rateLimit: { devicesPerMinute: 15 } });
    const plan = (await r.stores.jobs.getRollout(ctx, 'fw'))!.plan;
    const stageOf = new Map(plan.devices.map((d) => [d.id, d.stage]));
    // Run until stage 1 is partly dispatched.
    await r.run(() => log.events.filter((e) => stageOf.get(e.deviceId) === 1).length >= 20, 120 * MIN, MIN);
    const before = await r.controller.get(ctx, 'fw');
    expect(before?.stage).toBe(1);
    expect(before?.byStage[1]!.pending).toBeGreaterThan(0);
    await r.controller.close();
    const c2 = await r.newController();
    log.watch(c2);
    expect(await c2.recover(ctx)).toBe(1);
    expect(await c2.recover(ctx)).toBe(0); // idempotent
    await r.run(() => r.devices.every((d) => d.version === '2.1.0'), 600 * MIN, MIN);
    await r.run(() => false, 3 * MIN, MIN);
    expect((await c2.get(ctx, 'fw'))?.state).toBe('completed');
    const per = log.perDevice('fw');
    expect(per.size).toBe(200);
    expect([...per.values()].every((n) => n === 1)).toBe(true);
    for (const d of r.devices) expect(d.installs).toEqual(['update:2.1.0']);
  }, 60_000);

  it('crashed in the middle of a dispatch batch, the next controller sends the rest of the batch once', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.1.0');
    await r.addDevices(40, () => 'ok');
    const crash = crashing(r.stores.jobs);
    await r.controller.close();
    const c1 = await r.newController(crash.store);
    const log = dispatchLog();
    log.watch(c1);
    const errors: FleetError[] = [];
    c1.on('error', (e) => errors.push(e));
    crash.failAfter(5);
    await c1.create(ctx, { rolloutId: 'fw', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] }).catch((e: unknown) => errors.push(e as FleetError));
    await settle();
    expect(errors.length).toBeGreaterThan(0);
    expect(log.events).toHaveLength(5);
    // The snapshot says all 40 were dispatched; only 5 executions exist.
    expect((await r.stores.jobs.listExecutions(ctx, { jobId: 'fw' })).items).toHaveLength(5);
    await c1.close();
    const c2 = await r.newController();
    log.watch(c2);
    await c2.recover(ctx);
    // The 5 devices that finished while the store was down re-send their final status when they next ask.
    for (const d of r.devices) await d.wake();
    await r.run(() => r.devices.every((d) => d.version === '2.1.0'), 30 * MIN, MIN);
    await r.run(() => false, 2 * MIN, MIN);
    expect((await c2.get(ctx, 'fw'))?.counts).toMatchObject({ succeeded: 40 });
    expect((await c2.get(ctx, 'fw'))?.state).toBe('completed');
    expect([...log.perDevice('fw').values()]).toEqual(Array(40).fill(1));
    for (const d of r.devices) expect(d.installs).toEqual(['update:2.1.0']);
  });
});

type Op = { readonly kind: 'advance'; readonly minutes: number } | { readonly kind: 'restart' } | { readonly kind: 'crash'; readonly after: number } | { readonly kind: 'wake'; readonly pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 20 }).map((minutes) => ({ kind: 'advance' as const, minutes })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'restart' as const }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 6 }).map((after) => ({ kind: 'crash' as const, after })) },
  { weight: 2, arbitrary: fc.nat(100).map((pick) => ({ kind: 'wake' as const, pick })) },
);
const behaviourArb = fc.array(fc.constantFrom<Behaviour>('ok', 'ok', 'ok', 'ok', 'silent', 'install-fail', 'boot-fail'), { minLength: 12, maxLength: 12 });

describe('RolloutController restarts (property)', () => {
  it('no device is dispatched twice for any interleaving of restarts, crashes, reports and time; the summary counts equal the store', async () => {
    await fc.assert(
      fc.asyncProperty(behaviourArb, fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), fc.array(opArb, { minLength: 1, maxLength: 12 }), async (behaviours, sleepy, ops) => {
        const r = await rolloutRig({ evaluateEveryMs: MIN });
        try {
          r.addImage('1.0.0');
          r.addImage('2.1.0');
          await r.addDevices(12, (id) => behaviours[Number(id.slice(4))]!);
          r.devices.forEach((d, i) => sleepy[i] && r.offline.add(d.id));
          const log = dispatchLog();
          log.watch(r.controller);
          const crash = crashing(r.stores.jobs);
          await r.controller.close();
          log.watch(await r.newController(crash.store));
          await r.controller.create(ctx, { rolloutId: 'fw', firmwareVersion: '2.1.0', stages: [{ count: 3, minSoakMs: 2 * MIN }, { percent: 100 }], rateLimit: { devicesPerMinute: 4 }, abort: { failureRate: 0.5, onAbort: 'rollback' }, deadlines: { pickupMs: 30 * MIN, runMs: 10 * MIN, bootHealthMs: 5 * MIN } });
          for (const op of ops) {
            if (op.kind === 'advance') await r.run(() => false, op.minutes * MIN, MIN);
            else if (op.kind === 'wake') await r.devices[op.pick % r.devices.length]!.wake();
            else {
              if (op.kind === 'crash') {
                crash.failAfter(op.after);
                await r.run(() => false, 2 * MIN, MIN);
              }
              await r.controller.close();
              crash.failAfter(Infinity);
              log.watch(await r.newController(crash.store));
              await r.controller.recover(ctx);
            }
            await settle();
            for (const n of log.perDevice('fw').values()) expect(n).toBe(1);
          }
          // Let everything finish: wake every sleeper now and then.
          for (let k = 0; k < 80; k++) {
            r.clock.advance(MIN);
            if (k % 5 === 0) for (const d of r.devices) await d.wake();
            await settle();
          }
          for (const n of log.perDevice('fw').values()) expect(n).toBe(1);
          for (const d of r.devices) expect(d.installs.filter((x) => x.startsWith('update:')).length).toBeLessThanOrEqual(1);
          const summary = (await r.controller.get(ctx, 'fw'))!;
          const execs = (await r.stores.jobs.listExecutions(ctx, { jobId: 'fw', limit: 1000 })).items;
          for (const status of ['dispatched', 'in_progress', 'succeeded', 'failed', 'rejected', 'rolled_back', 'timed_out', 'unreachable'] as const) {
            expect(execs.filter((x) => x.status === status).length, status).toBe(summary.counts[status]);
          }
          // Every execution is one dispatch event, and the other way round.
          expect(execs.length).toBe(log.perDevice('fw').size);
        } finally {
          await r.close();
        }
      }),
      { numRuns: 25 },
    );
  }, 240_000);
});

