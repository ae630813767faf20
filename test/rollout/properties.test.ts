/**
 * Model-checked properties of the rollout engine: random fleets, stages, abort criteria and
 * random interleavings of device reports, clock ticks, evaluations and operator actions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { abortArb } from './arbitraries.js';
import { fleet, spec } from './helpers.js';
import { DEVICE_REPORT_TYPES, createRolloutProgress, isTerminalStatus, planRollout, stepRollout } from './imports.js';
import type { AbortCriteria, DeviceReportType, OperatorAction, RolloutDecision, RolloutEffects, StageSpec } from './imports.js';

type Op =
  | { readonly kind: 'report'; readonly pick: number; readonly type: DeviceReportType }
  | { readonly kind: 'finish'; readonly pick: number; readonly count: number; readonly ok: boolean }
  | { readonly kind: 'tick'; readonly dt: number }
  | { readonly kind: 'step' }
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
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('report' as const), pick: fc.nat(1000), type: fc.constantFrom(...DEVICE_REPORT_TYPES, 'boot_confirmed', 'installed') }) },
  // A run of devices going through the whole happy path (or failing), so stages can pass.
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('finish' as const), pick: fc.nat(1000), count: fc.integer({ min: 1, max: 30 }), ok: fc.nat(9).map((x) => x > 0) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('tick' as const), dt: fc.integer({ min: 0, max: 60 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tick' as const, dt: 100_000_000 }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'step' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('op' as const),
      action: fc.oneof(
        fc.constant<OperatorAction>({ type: 'pause' }),
        fc.constant<OperatorAction>({ type: 'resume' }),
        fc.constant<OperatorAction>({ type: 'cancel' }),
        fc.constant<OperatorAction>({ type: 'rollback' }),
      ),
    }),
  },
);

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  n: fc.integer({ min: 1, max: 60 }),
  stages: fc.constantFrom(...STAGE_SETS),
  abort: abortArb,
  rate: fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
  ops: fc.array(opArb, { maxLength: 200 }),
});

const DEADLINES = { pickupMs: 300, runMs: 200, bootHealthMs: 100 };
const FAR = 1e9; // beyond every deadline and soak in these scenarios

/** Runs a scenario, checking invariants along the way; returns every decision for determinism checks. */
function run(s: Scenario): RolloutDecision[] {
  const plan = planRollout(
    spec(fleet(s.n), {
      ...(s.stages === undefined ? {} : { stages: s.stages }),
      abort: s.abort,
      deadlines: DEADLINES,
      ...(s.rate === undefined ? {} : { rateLimit: { devicesPerMinute: s.rate } }),
    }),
  );
  const progress = createRolloutProgress(plan);
  const decisions: RolloutDecision[] = [];
  const dispatched: string[] = [];
  const dispatchedSet = new Set<string>();
  const hasNew = new Map<string, boolean>(); // the model: which devices run the new image
  const scheduled = new Set<string>();
  const rolledBackStages = new Set<number>();
  let halted = false;
  let now = 1_000_000;

  const noteRollbacks = (refs: RolloutEffects['rollBack']): void => {
    for (const r of refs) {
      expect(scheduled.has(r.deviceId)).toBe(false); // never scheduled twice
      expect(hasNew.get(r.deviceId)).toBe(true); // only devices that got the image
      expect(rolledBackStages.has(r.stage)).toBe(true); // only in the stages being rolled back
      scheduled.add(r.deviceId);
    }
  };
  const checkRollbackCoverage = (): void => {
    for (const d of plan.devices) if (rolledBackStages.has(d.stage) && hasNew.get(d.id) === true) expect(scheduled.has(d.id)).toBe(true);
  };
  const checkCounters = (): void => {
    for (const stage of plan.stages) {
      const counts = progress.stageCounts(stage.index);
      const byModel: Record<string, number> = {};
      for (const d of plan.devices.slice(stage.start, stage.end)) byModel[progress.statusOf(d.id)!] = (byModel[progress.statusOf(d.id)!] ?? 0) + 1;
      for (const [status, n] of Object.entries(counts)) expect(n).toBe(byModel[status] ?? 0);
    }
  };
  const step = (): RolloutDecision => {
    const { decision, effects } = stepRollout(plan, progress, { now });
    decisions.push(decision);
    if (halted) expect(decision.decision).toBe('abort'); // abort (and cancel/rollback) is sticky
    if (decision.decision === 'abort') {
      halted = true;
      // Nothing brings a stopped rollout back: resume and pause are refused and change nothing.
      const revision = progress.revision;
      expect(progress.operate({ type: 'resume' }, now).ok).toBe(false);
      expect(progress.operate({ type: 'pause' }, now).ok).toBe(false);
      expect(progress.revision).toBe(revision);
    }
    if (decision.decision === 'advance' || decision.decision === 'complete') {
      // Never past a stage over its failure threshold, nor before its gates.
      const gate = decision.decision === 'advance' ? decision.stage - 1 : decision.stage;
      for (const st of decision.stats.slice(0, gate + 1)) {
        expect(st.failed / st.total <= plan.abort.failureRate).toBe(true);
        if (plan.abort.maxFailures !== undefined) expect(st.failed).toBeLessThan(plan.abort.maxFailures);
        if (plan.abort.minSample !== undefined && st.decided >= plan.abort.minSample && st.failed > 0) expect(st.failed / st.decided < plan.abort.failureRate).toBe(true);
      }
      const g = decision.stats[gate];
      if (g !== undefined) {
        expect(g.succeeded).toBeGreaterThanOrEqual(g.requiredSuccesses);
        expect(g.soakElapsedMs).toBeGreaterThanOrEqual(g.minSoakMs);
      }
    }
    for (const d of effects.dispatch) {
      expect(dispatchedSet.has(d.deviceId)).toBe(false); // no device is dispatched twice
      dispatchedSet.add(d.deviceId);
      dispatched.push(d.deviceId);
    }
    // An abort with onAbort "rollback" rolls back every started stage, whether or not any device has the image yet.
    const rollsBack = effects.rollBack.length > 0 || (decision.decision === 'abort' && decision.state === 'aborted' && plan.abort.onAbort === 'rollback');
    if (rollsBack) for (let k = 0; k <= Math.min(progress.currentStage, plan.stages.length - 1); k++) rolledBackStages.add(k);
    noteRollbacks(effects.rollBack);
    return decision;
  };

  const report = (deviceId: string, type: DeviceReportType): void => {
    const out = progress.report({ deviceId, type }, now);
    if (!out.ok) return;
    if (type === 'installed' || type === 'boot_confirmed') hasNew.set(deviceId, true);
    if (type === 'rolled_back') hasNew.set(deviceId, false);
    noteRollbacks(out.rollBack);
  };

  for (const op of s.ops) {
    if (op.kind === 'tick') now += op.dt;
    else if (op.kind === 'finish') {
      for (let k = 0; k < op.count && dispatched.length > 0; k++) {
        const deviceId = dispatched[(op.pick + k) % dispatched.length]!;
        for (const type of op.ok ? (['picked_up', 'installed', 'boot_confirmed'] as const) : (['picked_up', 'failed'] as const)) report(deviceId, type);
      }
    }
    else if (op.kind === 'step') step();
    else if (op.kind === 'report') {
      if (dispatched.length > 0) report(dispatched[op.pick % dispatched.length]!, op.type);
    } else {
      const before = progress.currentStage;
      // A rollback rolls back every started stage: mark them before its effects are checked.
      if (op.action.type === 'rollback') for (let k = 0; k <= Math.min(before, plan.stages.length - 1); k++) rolledBackStages.add(k);
      const out = progress.operate(op.action, now);
      if (halted && (op.action.type === 'resume' || op.action.type === 'pause')) expect(out.ok).toBe(false);
      if (!out.ok) continue;
      if (op.action.type === 'cancel' || op.action.type === 'rollback') halted = true;
      if (op.action.type === 'rollback') {
        noteRollbacks(out.effects.rollBack);
        checkRollbackCoverage(); // rollback covers exactly the devices that got the image
      }
    }
  }
  checkCounters();
  checkRollbackCoverage();

  // Let every deadline and soak pass with no more reports; then stop whatever is left.
  for (let k = 0; k < 200; k++) {
    now += FAR;
    const d = step();
    if (d.decision === 'complete' || d.decision === 'abort' || d.decision === 'pause') break;
  }
  const dispatchedIds = plan.devices.filter((d) => dispatchedSet.has(d.id));
  for (const d of dispatchedIds) {
    const status = progress.statusOf(d.id)!;
    // Every dispatched device is terminal once its deadlines passed (cancelled ones count as terminal).
    expect(isTerminalStatus(status)).toBe(true);
  }
  if (progress.state === 'running' || progress.state === 'paused') progress.operate({ type: 'cancel' }, now);
  now += FAR;
  step();
  for (const d of plan.devices) expect(isTerminalStatus(progress.statusOf(d.id)!)).toBe(true);
  checkCounters();
  return decisions;
}

/**
 * A fixed corpus of scenarios (fixed seed): what the generator reaches is asserted on it, never
 * on a random draw, so the coverage check cannot fail at random. Change the seed only together
 * with the expected minimums.
 */
const CORPUS_SEED = 20_260_105;
const corpus = (): Scenario[] => fc.sample(scenarioArb, { seed: CORPUS_SEED, numRuns: 300 });

type Outcome = 'ok' | 'failed' | 'rejected' | 'rolled_back' | 'silent';
const OUTCOME_REPORTS: Record<Outcome, DeviceReportType[]> = {
  ok: ['picked_up', 'installed', 'boot_confirmed'],
  failed: ['picked_up', 'failed'],
  rejected: ['rejected'],
  rolled_back: ['picked_up', 'installed', 'rolled_back'],
  silent: [],
};

describe('the abort rules', () => {
  it('abort exactly when a rule fires, and otherwise advance only past the success threshold', () => {
    const criteria = fc.record(
      {
        failureRate: fc.constantFrom(0, 0.001, 0.02, 0.1, 0.25),
        minSample: fc.integer({ min: 1, max: 30 }),
        maxFailures: fc.integer({ min: 1, max: 8 }),
        countRejected: fc.boolean(),
      },
      { requiredKeys: ['failureRate'] },
    );
    const outcome = fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'failed', 'rejected', 'rolled_back', 'silent');
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 120 }), criteria, fc.array(outcome, { minLength: 120, maxLength: 120 }), fc.integer({ min: 1, max: 10 }), (n, abort, outcomes, t) => {
        const threshold = t / 10;
        const plan = planRollout(spec(fleet(n), { stages: [{ percent: 50, minSoakMs: 0, successThreshold: threshold }, { percent: 100 }], abort }));
        const progress = createRolloutProgress(plan);
        const ids = stepRollout(plan, progress, { now: 1 }).effects.dispatch.map((d) => d.deviceId);
        const tally = { ok: 0, failed: 0, rejected: 0, rolled_back: 0, silent: 0 };
        const r = plan.abort;
        const T = ids.length;
        let F = 0;
        let D = 0;
        let fires = false;
        ids.forEach((deviceId, k) => {
          const o = outcomes[k]!;
          tally[o]++;
          for (const type of OUTCOME_REPORTS[o]) progress.report({ deviceId, type }, 2);
          // The rules, recomputed here after every outcome: a rule that fires once aborts for good.
          const failure = o === 'failed' || o === 'rolled_back' || (o === 'rejected' && r.countRejected);
          if (failure) F++;
          if (failure || o === 'ok') D++;
          fires ||= F > 0 && (F / T > r.failureRate || (r.minSample !== undefined && D >= r.minSample && F / D >= r.failureRate) || (r.maxFailures !== undefined && F >= r.maxFailures));
        });
        const d = stepRollout(plan, progress, { now: 3 }).decision;
        const passes = tally.ok / T >= threshold;
        const reachable = (tally.ok + tally.silent) / T >= threshold; // silent devices are still in flight
        // A lone stage (the second one dropped for a tiny fleet) completes only once no device is in flight.
        const last = plan.stages.length === 1 ? (tally.silent === 0 ? 'complete' : 'wait') : 'advance';
        const expected = fires ? 'abort' : passes ? last : reachable ? 'wait' : 'pause';
        expect(d.decision).toBe(expected);
        expect(d.stats[0]).toMatchObject({ failed: F, succeeded: tally.ok, decided: D, total: T });
      }),
      { numRuns: 400 },
    );
  });
});

describe('rollout properties', () => {
  it('hold for random fleets, stages, criteria and interleavings of reports, time, evaluations and operator actions', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        run(s);
      }),
      { numRuns: 300 },
    );
  });

  it('hold on a fixed seeded corpus that reaches every decision kind several times', () => {
    const seen = new Map<string, number>();
    for (const s of corpus()) for (const d of run(s)) seen.set(d.decision, (seen.get(d.decision) ?? 0) + 1);
    // Deterministic: the same corpus always gives the same counts.
    for (const kind of ['wait', 'advance', 'complete', 'pause', 'abort']) expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(2);
  });

  it('decisions are deterministic: the same inputs give the same decisions', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        expect(JSON.stringify(run(s))).toBe(JSON.stringify(run(s)));
      }),
      { numRuns: 60 },
    );
  });
});
