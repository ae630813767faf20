/**
 * Laws of withdrawal (`operate({ type: 'withdraw', deviceId })`), over random fleets, stages,
 * abort criteria, rate limits and interleavings of reports, clock ticks, evaluations and
 * operator actions:
 *
 * (a) devices withdrawn before the first evaluation are as if never planned: the tracker's
 *     decisions — kind, state, stage, effects, next check, abort verdict, per-stage statistics
 *     and reasons — equal those of a tracker whose plan holds only the remaining devices, with
 *     each stage's size and `requiredSuccesses` those of its remaining devices (the same device
 *     order, the same stage parameters), as long as no stage loses all its devices (a planner
 *     never makes an empty stage; (d) covers those). Differences allowed: the revision, the
 *     `withdrawn` count and the withdrawn devices in `byStatus.cancelled`, and the
 *     "N withdrawn" notes in reasons.
 * (b) a tracker saved and restored at any point, withdrawals included, behaves as the original.
 * (c) withdrawal is idempotent and never changes another device's status; the device itself
 *     becomes `cancelled` unless it had an outcome, which it keeps.
 * (d) a stage whose remaining devices all succeeded passes: withdrawn at any moment (before
 *     dispatch, queued, installing, after success), a rollout whose other devices all succeed
 *     completes, and never holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abortArb } from './arbitraries.js';
import { fleet, spec } from './helpers.js';
import { DEVICE_REPORT_TYPES, createRolloutProgress, evaluateRollout, planRollout, restoreRolloutProgress, saveRolloutProgress, stepRollout } from './imports.js';
import type { AbortCriteria, DeviceReportType, DeviceStatus, OperatorAction, ProgressResult, ReportOutcome, RolloutDecision, RolloutPlan, RolloutProgress, StageSpec } from './imports.js';

type Op =
  | { readonly kind: 'report'; readonly pick: number; readonly type: DeviceReportType }
  | { readonly kind: 'finish'; readonly pick: number; readonly count: number; readonly ok: boolean }
  | { readonly kind: 'tick'; readonly dt: number }
  | { readonly kind: 'step' }
  | { readonly kind: 'op'; readonly action: OperatorAction }
  | { readonly kind: 'withdraw'; readonly pick: number }
  | { readonly kind: 'restore' };

const STAGE_SETS: (StageSpec[] | undefined)[] = [
  undefined,
  [{ percent: 100 }],
  [{ percent: 20, minSoakMs: 10 }, { percent: 100, successThreshold: 0.9 }],
  [{ count: 3, minSoakMs: 0 }, { percent: 50, minSoakMs: 5, successThreshold: 0.5 }, { percent: 100, successThreshold: 0.8 }],
  [{ count: 5, minSoakMs: 20, successThreshold: 0.6 }, { count: 12, successThreshold: 0.75 }, { percent: 100, minSoakMs: 7, successThreshold: 0.34 }],
];

const DEADLINES = { pickupMs: 300, runMs: 200, bootHealthMs: 100 };
const T0 = 1_000_000;


const baseOps: fc.Arbitrary<Op>[] = [
  fc.record({ kind: fc.constant('report' as const), pick: fc.nat(1000), type: fc.constantFrom(...DEVICE_REPORT_TYPES, 'boot_confirmed', 'installed') }),
  fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(1000), count: fc.integer({ min: 1, max: 30 }), ok: fc.nat(9).map((x) => x > 0) }),
  fc.oneof(fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 400 }) }), fc.constant({ kind: 'tick' as const, dt: 100_000_000 })),
  fc.constant({ kind: 'step' as const }),
  fc.record({
    kind: fc.constant('op' as const),
    action: fc.constantFrom<OperatorAction>({ type: 'pause' }, { type: 'resume' }, { type: 'cancel' }, { type: 'rollback' }, { type: 'rollback', stages: [0] }),
  }),
];
const weights = [4, 6, 3, 3, 1];
const lawOpArb = fc.oneof(...baseOps.map((arbitrary, i) => ({ weight: weights[i]!, arbitrary })));
const mixedOpArb = fc.oneof(
  ...baseOps.map((arbitrary, i) => ({ weight: weights[i]!, arbitrary })),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), pick: fc.nat(1000) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restore' as const }) },
);

interface Setup {
  readonly n: number;
  readonly stages: StageSpec[] | undefined;
  readonly abort: AbortCriteria;
  readonly rate: number | undefined;
}
const setupArb: fc.Arbitrary<Setup> = fc.record({
  n: fc.integer({ min: 1, max: 40 }),
  stages: fc.constantFrom(...STAGE_SETS),
  abort: abortArb,
  rate: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
});

function planOf(s: Setup): RolloutPlan {
  return planRollout(spec(fleet(s.n), { ...(s.stages === undefined ? {} : { stages: s.stages }), abort: s.abort, deadlines: DEADLINES, ...(s.rate === undefined ? {} : { rateLimit: { devicesPerMinute: s.rate } }) }));
}

/** Smallest s with s / size ≥ threshold: the definition of a stage's success requirement. */
function required(size: number, threshold: number): number {
  let s = 0;
  while (s < size && s / size < threshold) s++;
  return s;
}

/** The plan with the `gone` devices removed and each stage's figures those of its remaining devices (no stage may be emptied). */
function remainingPlan(plan: RolloutPlan, gone: ReadonlySet<string>): RolloutPlan {
  const devices: RolloutPlan['devices'][number][] = [];
  const stages = plan.stages.map((st) => {
    const kept = plan.devices.slice(st.start, st.end).filter((d) => !gone.has(d.id));
    const start = devices.length;
    devices.push(...kept);
    return { ...st, start, end: start + kept.length, size: kept.length, requiredSuccesses: required(kept.length, st.successThreshold) };
  });
  return { ...plan, devices, stages };
}

/** Withdrawn picks, minus enough to leave every stage at least one device. */
function goneSet(plan: RolloutPlan, picks: readonly number[]): Set<string> {
  const gone = new Set(picks.map((p) => plan.devices[p % plan.devices.length]!.id));
  for (const st of plan.stages) if (plan.devices.slice(st.start, st.end).every((d) => gone.has(d.id))) gone.delete(plan.devices[st.start]!.id);
  return gone;
}

const strip = (reason: string): string => reason.replace(/ \(\d+ withdrawn\)/g, '').replace(/, \d+ withdrawn/g, '');

/** A decision without what withdrawal may change (see (a)). */
function comparable(d: RolloutDecision): unknown {
  return {
    decision: d.decision,
    state: d.state,
    stage: d.stage,
    now: d.now,
    reason: strip(d.reason),
    nextCheckAt: d.nextCheckAt,
    abort: d.abort,
    effects: d.effects,
    stats: d.stats.map(({ withdrawn, ...s }) => ({ ...s, byStatus: { ...s.byStatus, cancelled: s.byStatus.cancelled - withdrawn } })),
  };
}

function reportView(r: ReportOutcome): unknown {
  return r.ok ? { ...r } : { ok: false, code: r.error.code };
}
function resultView(r: ProgressResult): unknown {
  return r.ok ? { ...r } : { ok: false, code: r.error.code };
}

const REPORTS_OK: readonly DeviceReportType[] = ['picked_up', 'installed', 'boot_confirmed'];
const REPORTS_FAIL: readonly DeviceReportType[] = ['picked_up', 'failed'];

describe('withdrawal laws', () => {
  it('(a) devices withdrawn before the first evaluation: the same decisions as a plan of the remaining devices', () => {
    fc.assert(
      fc.property(setupArb, fc.array(fc.nat(1000), { maxLength: 25 }), fc.array(lawOpArb, { maxLength: 150 }), (setup, picks, ops) => {
        const plan = planOf(setup);
        const gone = goneSet(plan, picks);
        const a = createRolloutProgress(plan);
        for (const id of gone) expect(a.operate({ type: 'withdraw', deviceId: id }, T0).ok).toBe(true);
        const ref = remainingPlan(plan, gone);
        const b = createRolloutProgress(ref);
        const ids = ref.devices.map((d) => d.id);
        for (const st of plan.stages) expect(a.stageSize(st.index)).toBe(ref.stages[st.index]!.size);
        let now = T0;
        const report = (deviceId: string, type: DeviceReportType): void => {
          expect(reportView(a.report({ deviceId, type }, now))).toEqual(reportView(b.report({ deviceId, type }, now)));
        };
        for (const op of ops) {
          if (op.kind === 'report' && ids.length > 0) report(ids[op.pick % ids.length]!, op.type);
          else if (op.kind === 'finish') {
            for (let k = 0; k < op.count && k < ids.length; k++) for (const type of op.ok ? REPORTS_OK : REPORTS_FAIL) report(ids[(op.pick + k) % ids.length]!, type);
          } else if (op.kind === 'tick') now += op.dt;
          else if (op.kind === 'step') expect(comparable(stepRollout(plan, a, { now }).decision)).toEqual(comparable(stepRollout(ref, b, { now }).decision));
          else if (op.kind === 'op') expect(resultView(a.operate(op.action, now))).toEqual(resultView(b.operate(op.action, now)));
        }
        expect(comparable(evaluateRollout(plan, a, { now: now + 1e9 }))).toEqual(comparable(evaluateRollout(ref, b, { now: now + 1e9 })));
        for (const id of ids) expect(a.device(id)).toEqual(b.device(id));
      }),
      { numRuns: 300 },
    );
  });

  /**
   * Runs ops with withdrawals interleaved on a tracker and on a twin that is saved and restored
   * from JSON at every `restore` op; checks (c) at every withdrawal. Returns both.
   */
  function runMixed(setup: Setup, ops: readonly Op[]): { plan: RolloutPlan; x: RolloutProgress; y: RolloutProgress; now: number } {
    const plan = planOf(setup);
    const x = createRolloutProgress(plan);
    let y = createRolloutProgress(plan);
    const ids = plan.devices.map((d) => d.id);
    let now = T0;
    for (const op of ops) {
      if (op.kind === 'report' && ids.length > 0) {
        const deviceId = ids[op.pick % ids.length]!;
        expect(reportView(y.report({ deviceId, type: op.type }, now))).toEqual(reportView(x.report({ deviceId, type: op.type }, now)));
      } else if (op.kind === 'finish') {
        for (let k = 0; k < op.count && k < ids.length; k++) {
          for (const type of op.ok ? REPORTS_OK : REPORTS_FAIL) {
            const deviceId = ids[(op.pick + k) % ids.length]!;
            expect(reportView(y.report({ deviceId, type }, now))).toEqual(reportView(x.report({ deviceId, type }, now)));
          }
        }
      } else if (op.kind === 'tick') now += op.dt;
      else if (op.kind === 'step') expect(stepRollout(plan, y, { now })).toEqual(stepRollout(plan, x, { now }));
      else if (op.kind === 'op') expect(resultView(y.operate(op.action, now))).toEqual(resultView(x.operate(op.action, now)));
      else if (op.kind === 'restore') y = restoreRolloutProgress(plan, JSON.parse(JSON.stringify(saveRolloutProgress(y))));
      else if (op.kind === 'withdraw' && ids.length > 0) {
        const deviceId = ids[op.pick % ids.length]!;
        const before = new Map<string, DeviceStatus>(ids.map((id) => [id, x.statusOf(id)!]));
        const was = x.device(deviceId)!;
        const once = x.operate({ type: 'withdraw', deviceId }, now);
        expect(resultView(y.operate({ type: 'withdraw', deviceId }, now))).toEqual(resultView(once));
        expect(once.ok).toBe(true);
        // (c) the device: cancelled unless it had an outcome; its job cancelled when one was open.
        const hadOutcome = !['pending', 'dispatched', 'in_progress', 'cancelled'].includes(was.status);
        expect(x.statusOf(deviceId)).toBe(hadOutcome ? was.status : 'cancelled');
        expect(x.device(deviceId)!.withdrawn).toBe(true);
        const open = !was.withdrawn && (was.status === 'dispatched' || was.status === 'in_progress');
        expect(once.ok && once.effects.cancel.map((c) => c.deviceId)).toEqual(open ? [deviceId] : []);
        expect(once.ok && [once.effects.dispatch, once.effects.rollBack, once.effects.expire]).toEqual([[], [], []]);
        // (c) no other device changes.
        for (const id of ids) if (id !== deviceId) expect(x.statusOf(id)).toBe(before.get(id));
        // (c) idempotent: same revision, same snapshot, no effects.
        const snap = saveRolloutProgress(x);
        const twice = x.operate({ type: 'withdraw', deviceId }, now + 1);
        expect(twice).toEqual({ ok: true, state: x.state, effects: { dispatch: [], cancel: [], rollBack: [], expire: [] } });
        expect(saveRolloutProgress(x)).toEqual(snap);
      }
    }
    return { plan, x, y, now };
  }

  it('(b) and (c): a restored tracker behaves as the original, withdrawals included; withdrawal is idempotent and touches no other device', () => {
    fc.assert(
      fc.property(setupArb, fc.array(mixedOpArb, { maxLength: 150 }), (setup, ops) => {
        const { plan, x, y, now } = runMixed(setup, ops);
        expect(saveRolloutProgress(y)).toEqual(saveRolloutProgress(x));
        const restored = restoreRolloutProgress(plan, JSON.parse(JSON.stringify(saveRolloutProgress(x))));
        expect(evaluateRollout(plan, restored, { now: now + 1e9 })).toEqual(evaluateRollout(plan, x, { now: now + 1e9 }));
        for (const d of plan.devices) expect(restored.device(d.id)).toEqual(x.device(d.id));
        for (const st of plan.stages) expect(restored.stageSize(st.index)).toBe(x.stageSize(st.index));
      }),
      { numRuns: 300 },
    );
  });

  it('(d) withdrawn at any moment, a rollout whose other devices all succeed completes and never holds', () => {
    // When each chosen device leaves: 0 before the first evaluation, 1 once dispatched, 2 once installing, 3 after its success.
    const whenArb = fc.array(fc.record({ pick: fc.nat(1000), when: fc.integer({ min: 0, max: 3 }) }), { maxLength: 40 });
    fc.assert(
      fc.property(setupArb, whenArb, fc.integer({ min: 0, max: 50 }), (setup, picks, soakTick) => {
        const plan = planOf({ ...setup, abort: { failureRate: 0.01 } });
        const leaves = new Map<string, number>();
        for (const p of picks) if (plan.devices.length > 0) leaves.set(plan.devices[p.pick % plan.devices.length]!.id, p.when);
        const progress = createRolloutProgress(plan);
        let now = T0;
        const withdrawAt = (when: number, id: string): void => {
          if (leaves.get(id) === when) expect(progress.operate({ type: 'withdraw', deviceId: id }, now).ok).toBe(true);
        };
        for (const id of leaves.keys()) withdrawAt(0, id);
        let last: RolloutDecision | undefined;
        for (let round = 0; round < plan.devices.length + 4 * plan.stages.length + 8 && progress.state !== 'completed'; round++) {
          const { decision, effects } = stepRollout(plan, progress, { now });
          last = decision;
          expect(decision.decision, decision.reason).not.toBe('pause');
          expect(decision.decision, decision.reason).not.toBe('abort');
          for (const d of effects.dispatch) {
            withdrawAt(1, d.deviceId);
            progress.report({ deviceId: d.deviceId, type: 'picked_up' }, now);
            withdrawAt(2, d.deviceId);
            progress.report({ deviceId: d.deviceId, type: 'installed' }, now);
            progress.report({ deviceId: d.deviceId, type: 'boot_confirmed' }, now);
            withdrawAt(3, d.deviceId);
          }
          // Past any soak of these plans (the default stages soak up to a day) and the rate-limit minute.
          now += soakTick + 2 * 86_400_000;
        }
        expect(progress.state, last?.reason).toBe('completed');
        for (const st of plan.stages) {
          const c = progress.stageCounts(st.index);
          expect(c.succeeded + c.cancelled).toBe(st.size);
          expect(c.succeeded).toBe(progress.stageSize(st.index));
        }
      }),
      { numRuns: 300 },
    );
  });
});
