/**
 * Saving and restoring the tracker: a restored tracker is indistinguishable from the original for
 * every later sequence of reports, evaluations, decisions and operator actions (model-based: the
 * original runs alongside a copy restored from JSON, possibly several times), and anything that is
 * not a snapshot of this plan is refused with INVALID_SNAPSHOT.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleet, spec } from './helpers.js';
import {
  createRolloutProgress,
  DEVICE_REPORT_TYPES,
  FleetError,
  isFleetError,
  planRollout,
  restoreRolloutProgress,
  ROLLOUT_PROGRESS_SNAPSHOT_VERSION,
  saveRolloutProgress,
  stepRollout,
  evaluateRollout,
} from './imports.js';
import type { AbortCriteria, DeviceReportType, OperatorAction, RolloutPlan, RolloutProgress, RolloutProgressSnapshot, StageSpec } from './imports.js';

type Op =
  | { readonly kind: 'report'; readonly pick: number; readonly type: DeviceReportType }
  | { readonly kind: 'finish'; readonly pick: number; readonly count: number; readonly ok: boolean }
  | { readonly kind: 'tick'; readonly dt: number }
  | { readonly kind: 'step' }
  | { readonly kind: 'stale' }
  | { readonly kind: 'restore' }
  | { readonly kind: 'op'; readonly action: OperatorAction };

interface Scenario {
  readonly n: number;
  readonly stages: StageSpec[] | undefined;
  readonly abort: AbortCriteria;
  readonly rate: number | undefined;
  readonly ops: Op[];
}

const STAGE_SETS: (StageSpec[] | undefined)[] = [
  undefined,
  [{ percent: 100 }],
  [{ percent: 20, minSoakMs: 10 }, { percent: 100 }],
  [{ count: 3, minSoakMs: 0 }, { percent: 50, minSoakMs: 5, successThreshold: 0.5 }, { percent: 100, successThreshold: 0.8 }],
];

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('report' as const), pick: fc.nat(1000), type: fc.constantFrom(...DEVICE_REPORT_TYPES) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(1000), count: fc.integer({ min: 1, max: 20 }), ok: fc.nat(9).map((x) => x > 0) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.constant(100_000_000)) }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'step' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'stale' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'restore' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('op' as const),
      action: fc.constantFrom<OperatorAction>({ type: 'pause' }, { type: 'resume' }, { type: 'cancel' }, { type: 'rollback' }, { type: 'rollback', stages: [0] }),
    }),
  },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  n: fc.integer({ min: 1, max: 40 }),
  stages: fc.constantFrom(...STAGE_SETS),
  abort: fc.record(
    {
      failureRate: fc.constantFrom(0, 0.1, 0.3, 0.6),
      minSample: fc.integer({ min: 1, max: 10 }),
      maxFailures: fc.integer({ min: 1, max: 6 }),
      countTimeouts: fc.boolean(),
      countUnreachable: fc.boolean(),
      onAbort: fc.constantFrom('halt' as const, 'rollback' as const),
    },
    { requiredKeys: ['failureRate'] },
  ),
  rate: fc.option(fc.integer({ min: 1, max: 10 }), { nil: undefined }),
  ops: fc.array(opArb, { maxLength: 120 }),
});

const DEADLINES = { pickupMs: 300, runMs: 200, bootHealthMs: 100 };

function planOf(s: Pick<Scenario, 'n' | 'stages' | 'abort' | 'rate'>): RolloutPlan {
  return planRollout(
    spec(fleet(s.n), {
      ...(s.stages === undefined ? {} : { stages: s.stages }),
      abort: s.abort,
      deadlines: DEADLINES,
      ...(s.rate === undefined ? {} : { rateLimit: { devicesPerMinute: s.rate } }),
    }),
  );
}

/** A result with errors reduced to their code and message (FleetError instances differ by identity). */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (isFleetError(v) ? { code: v.code, message: v.message } : v))) as unknown;
}

/** A JSON round trip, as a store would do. */
const viaJson = (s: RolloutProgressSnapshot): unknown => JSON.parse(JSON.stringify(s)) as unknown;

/** Everything observable about a tracker. */
function observe(plan: RolloutPlan, p: RolloutProgress, now: number): unknown {
  return plain({
    state: p.state,
    stage: p.currentStage,
    revision: p.revision,
    abort: p.abortVerdict,
    now: p.now,
    devices: plan.devices.map((d) => p.device(d.id)),
    counts: plan.stages.map((s) => p.stageCounts(s.index)),
    evaluation: evaluateRollout(plan, p, { now }),
  });
}

/** Runs the scenario on the original and on a copy restored at every `restore` op; returns how many ops compared. */
function run(s: Scenario): number {
  const plan = planOf(s);
  const original = createRolloutProgress(plan);
  let copy = restoreRolloutProgress(plan, viaJson(saveRolloutProgress(original)));
  let now = 1_000_000;
  const dispatched: string[] = [];
  let compared = 0;
  const both = <T>(f: (p: RolloutProgress) => T): T => {
    const a = f(original);
    const b = f(copy);
    expect(plain(b)).toEqual(plain(a));
    compared++;
    return a;
  };
  for (const op of s.ops) {
    switch (op.kind) {
      case 'tick':
        now += op.dt;
        break;
      case 'restore':
        copy = restoreRolloutProgress(plan, viaJson(saveRolloutProgress(copy)));
        break;
      case 'step': {
        const { effects } = both((p) => stepRollout(plan, p, { now }));
        dispatched.push(...effects.dispatch.map((d) => d.deviceId));
        break;
      }
      case 'stale': {
        // A decision computed on the original before a restore applies to the copy too (same revision).
        const decision = evaluateRollout(plan, original, { now });
        const a = original.apply(decision);
        const b = copy.apply(decision);
        expect(plain(b)).toEqual(plain(a));
        if (a.ok) dispatched.push(...a.effects.dispatch.map((d) => d.deviceId));
        // And applying it again is refused by both.
        expect(plain(copy.apply(decision))).toEqual(plain(original.apply(decision)));
        break;
      }
      case 'report':
        if (dispatched.length > 0) both((p) => p.report({ deviceId: dispatched[op.pick % dispatched.length]!, type: op.type }, now));
        break;
      case 'finish':
        for (let k = 0; k < op.count && dispatched.length > 0; k++) {
          const deviceId = dispatched[(op.pick + k) % dispatched.length]!;
          for (const type of op.ok ? (['picked_up', 'installed', 'boot_confirmed'] as const) : (['picked_up', 'failed'] as const)) both((p) => p.report({ deviceId, type }, now));
        }
        break;
      case 'op':
        both((p) => p.operate(op.action, now));
        break;
    }
    expect(saveRolloutProgress(copy)).toEqual(saveRolloutProgress(original));
  }
  // Let every deadline pass on both, then compare everything once more.
  for (let k = 0; k < 5; k++) {
    now += 1e9;
    both((p) => stepRollout(plan, p, { now }));
  }
  expect(observe(plan, copy, now)).toEqual(observe(plan, original, now));
  return compared;
}

const CORPUS_SEED = 20_261_125;

describe('tracker snapshots: restore(save(t)) behaves as t', () => {
  it('for random fleets, criteria and interleavings of reports, time, steps, stale decisions, actions and restores (property)', () => {
    fc.assert(fc.property(scenarioArb, (s) => void run(s)), { numRuns: 150 });
  });

  it('on a fixed seeded corpus that reaches every rollout state and compares thousands of operations', () => {
    const corpus = fc.sample(scenarioArb, { seed: CORPUS_SEED, numRuns: 120 });
    let compared = 0;
    const states = new Set<string>();
    for (const s of corpus) {
      compared += run(s);
      // Replay to see where the scenario ends (for the coverage assertion only).
      const plan = planOf(s);
      const p = createRolloutProgress(plan);
      let now = 1_000_000;
      const dispatched: string[] = [];
      for (const op of s.ops) {
        if (op.kind === 'tick') now += op.dt;
        else if (op.kind === 'step' || op.kind === 'stale') dispatched.push(...stepRollout(plan, p, { now }).effects.dispatch.map((d) => d.deviceId));
        else if (op.kind === 'op') p.operate(op.action, now);
        else if (op.kind === 'finish') for (let k = 0; k < op.count && dispatched.length > 0; k++) for (const type of op.ok ? (['picked_up', 'installed', 'boot_confirmed'] as const) : (['picked_up', 'failed'] as const)) p.report({ deviceId: dispatched[(op.pick + k) % dispatched.length]!, type }, now);
        else if (op.kind === 'report' && dispatched.length > 0) p.report({ deviceId: dispatched[op.pick % dispatched.length]!, type: op.type }, now);
        states.add(p.state);
      }
    }
    expect(compared).toBeGreaterThan(2_000);
    expect([...states].sort()).toEqual(['aborted', 'cancelled', 'completed', 'paused', 'rolled_back', 'running']);
  });

  it('keeps the revision: a decision from before the save applies once after the restore, and a stale one is refused', () => {
    const plan = planOf({ n: 10, stages: [{ percent: 100 }], abort: { failureRate: 0.5 }, rate: undefined });
    const p = createRolloutProgress(plan);
    const decision = evaluateRollout(plan, p, { now: 0 });
    const restored = restoreRolloutProgress(plan, viaJson(saveRolloutProgress(p)));
    expect(restored.revision).toBe(p.revision);
    const applied = restored.apply(decision);
    expect(applied.ok && applied.effects.dispatch.length).toBe(10);
    const again = restored.apply(decision);
    expect(again.ok).toBe(false);
    expect(!again.ok && again.error.code).toBe('INVALID_OPERATION');
  });

  it('is JSON: stringify/parse gives the same snapshot, and a snapshot is two characters per device plus per-stage data', () => {
    const plan = planOf({ n: 1000, stages: undefined, abort: { failureRate: 0.5 }, rate: undefined });
    const p = createRolloutProgress(plan);
    stepRollout(plan, p, { now: 0 });
    const snap = saveRolloutProgress(p);
    expect(viaJson(snap)).toEqual(snap);
    expect(snap.status).toHaveLength(1000);
    expect(JSON.stringify(snap).length).toBeLessThan(4_000);
  });
});

describe('tracker snapshots: refusals', () => {
  const plan = planOf({ n: 20, stages: [{ percent: 50 }, { percent: 100 }], abort: { failureRate: 0.5 }, rate: undefined });
  const p = createRolloutProgress(plan);
  const { effects } = stepRollout(plan, p, { now: 1000 });
  p.report({ deviceId: effects.dispatch[0]!.deviceId, type: 'picked_up' }, 1001);
  const good = saveRolloutProgress(p);

  const refused = (snapshot: unknown, onPlan: RolloutPlan = plan): FleetError => {
    const before = JSON.stringify(snapshot);
    let error: unknown;
    try {
      restoreRolloutProgress(onPlan, snapshot);
    } catch (e) {
      error = e;
    }
    expect(JSON.stringify(snapshot)).toBe(before); // the input is never changed
    expect(isFleetError(error, 'INVALID_SNAPSHOT')).toBe(true);
    return error as FleetError;
  };

  it('another format version, with a message naming both versions', () => {
    expect(refused({ ...good, version: 2 }).message).toContain(`version ${ROLLOUT_PROGRESS_SNAPSHOT_VERSION}`);
    expect(refused({ ...good, version: '1' }).message).toContain('"1"');
  });

  it('another rollout, or another plan of the same rollout', () => {
    expect(refused({ ...good, rolloutId: 'other' }).message).toContain('"other"');
    const other = planOf({ n: 21, stages: [{ percent: 50 }, { percent: 100 }], abort: { failureRate: 0.5 }, rate: undefined });
    expect(refused(good, other).message).toContain('another plan');
    const reordered = planOf({ n: 20, stages: [{ percent: 10 }, { percent: 100 }], abort: { failureRate: 0.5 }, rate: undefined });
    refused(good, reordered);
  });

  it('anything that is not a snapshot', () => {
    for (const junk of [null, undefined, 42, 'snapshot', [], {}, { format: 'fleetkit.rollout-progress' }]) refused(junk);
  });

  it('fields that contradict each other or the plan', () => {
    const dispatchedAt = good.status.indexOf('1');
    const cases: unknown[] = [
      { ...good, status: good.status.slice(1) },
      { ...good, status: 'b' + good.status.slice(1) },
      { ...good, flags: '8' + good.flags.slice(1) },
      { ...good, flags: good.flags.slice(0, dispatchedAt) + '0' + good.flags.slice(dispatchedAt + 1) },
      { ...good, queues: { ...good.queues, pickup: { ids: [], due: [] } } },
      { ...good, queues: { ...good.queues, pickup: { ids: [...good.queues.pickup.ids, 999], due: [...good.queues.pickup.due, 5] } } },
      { ...good, queues: { ...good.queues, run: { ids: [0], due: [] } } },
      { ...good, cursor: [99, ...good.cursor.slice(1)] },
      { ...good, cursor: good.cursor.slice(1) },
      { ...good, stage: 7 },
      { ...good, state: 'exploded' },
      { ...good, state: 'paused' },
      { ...good, state: 'aborted' },
      { ...good, revision: -1 },
      { ...good, now: 'yesterday' },
      { ...good, rate: { times: [1], counts: [] } },
      { ...good, extra: true },
    ];
    for (const c of cases) refused(c);
  });

  it('any random corruption is either restored or refused with INVALID_SNAPSHOT, never another error (property)', () => {
    const keys = Object.keys(good) as (keyof RolloutProgressSnapshot)[];
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
        const snapshot = { ...good, [key]: value };
        try {
          restoreRolloutProgress(plan, snapshot);
        } catch (e) {
          expect(isFleetError(e, 'INVALID_SNAPSHOT')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('saving something that is not a tracker is INVALID_ARGUMENT', () => {
    for (const junk of [null, {}, 'x']) expect(() => saveRolloutProgress(junk as unknown as RolloutProgress)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as Error);
  });
});
