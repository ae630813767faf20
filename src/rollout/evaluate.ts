/**
 * The evaluator: reads a plan and its tracker at a given time and decides what happens next.
 * It never mutates; its cost is O(stages) plus the devices it names in effects.
 */
import { FleetError } from '../errors.js';
import { checkAbortRules, percent } from './abort-rules.js';
import type { AbortVerdict } from './abort-rules.js';
import type { PlannedStage, RolloutPlan } from './plan.js';
import { HAS_NEW, NO_EFFECTS, ROLLBACK_SCHEDULED, RolloutProgress, WITHDRAWN, countsOf } from './progress.js';
import type { ApplicableDecision, DeadlineQueue, RolloutDeviceRef, ExpiredDevice, RollbackRef, RolloutEffects, RolloutState } from './progress.js';
import { DISPATCHED, PENDING } from './status.js';
import type { DeviceStatus } from './status.js';
import { isInWindow, nextWindowOpening } from './windows.js';
import { plural } from './words.js';
import { describeValue } from '../describe-value.js';

/** What the rollout should do now. */
export type RolloutDecisionKind = 'wait' | 'advance' | 'complete' | 'pause' | 'abort';

/** Statistics of one stage at evaluation time (deadline expirations included). */
export interface StageStats {
  readonly stage: number;
  readonly name: string;
  /** Devices in the stage: its planned size minus {@link StageStats.withdrawn}. */
  readonly total: number;
  /**
   * Devices withdrawn from the stage before they had an outcome (decommissioned): they are
   * `cancelled` in `byStatus` and count nowhere else — not in `total`, the rates or the
   * success requirement.
   */
  readonly withdrawn: number;
  /** Devices not dispatched yet. */
  readonly pending: number;
  /** Devices dispatched so far (ever). */
  readonly dispatched: number;
  /** Devices dispatched or in progress now. */
  readonly inFlight: number;
  /** Devices boot-confirmed on the new image. */
  readonly succeeded: number;
  /** Devices whose outcome counts as a failure. */
  readonly failed: number;
  /** `succeeded + failed`. */
  readonly decided: number;
  readonly byStatus: Readonly<Record<DeviceStatus, number>>;
  /** `failed / total` (0 for a stage whose devices were all withdrawn). */
  readonly failureRate: number;
  /** `failed / decided` (0 before any outcome). */
  readonly observedFailureRate: number;
  /** `succeeded / total` (0 for a stage whose devices were all withdrawn). */
  readonly successRate: number;
  /**
   * Successes needed to pass the stage's success threshold: the smallest s with
   * s / total ≥ successThreshold (the plan's `requiredSuccesses` until a device is withdrawn).
   */
  readonly requiredSuccesses: number;
  readonly minSoakMs: number;
  /** Time since the stage reached its success threshold (0 before). */
  readonly soakElapsedMs: number;
  /** First dispatch of the stage (epoch ms). */
  readonly startedAt?: number;
  /** When the stage reached its success threshold (epoch ms); the soak counts from here. */
  readonly thresholdReachedAt?: number;
}

/** The evaluator's answer. Apply it with `progress.apply(decision)` (or use `stepRollout`). */
export interface RolloutDecision extends ApplicableDecision {
  readonly decision: RolloutDecisionKind;
  /** The rollout's state once the decision is applied. */
  readonly state: RolloutState;
  /** The stage concerned: the current one, the one advanced to, or the one that aborted. */
  readonly stage: number;
  /** A sentence with the numbers behind the decision. */
  readonly reason: string;
  readonly stats: readonly StageStats[];
  readonly effects: RolloutEffects;
  /** The next time something can change without a report (a deadline, a soak end, a window opening). */
  readonly nextCheckAt?: number;
}

/** Options of {@link evaluateRollout}. */
export interface EvaluateOptions {
  /** The current time, epoch ms. */
  readonly now: number;
}

interface Expirations {
  readonly list: ExpiredDevice[];
  readonly unreachable: Int32Array;
  readonly timedOut: Int32Array;
  next: number | undefined;
}

interface Context {
  readonly plan: RolloutPlan;
  readonly progress: RolloutProgress;
  readonly t: number;
  readonly exp: Expirations;
  readonly stats: readonly StageStats[];
}

/** Walks a deadline queue from its head and lists live entries that are due at `t`. */
function walkQueue(progress: RolloutProgress, queue: DeadlineQueue, t: number, status: 'unreachable' | 'timed_out', exp: Expirations): void {
  for (let k = queue.head; k < queue.length; k++) {
    const i = queue.ids[k]!;
    if (progress.status[i] !== queue.live) continue;
    const due = queue.due[k]!;
    if (due > t) {
      if (exp.next === undefined || due < exp.next) exp.next = due;
      return;
    }
    const ref = progress.ref(i);
    exp.list.push({ ...ref, status });
    (status === 'unreachable' ? exp.unreachable : exp.timedOut)[ref.stage]!++;
  }
}

function collectExpirations(plan: RolloutPlan, progress: RolloutProgress, t: number): Expirations {
  const n = plan.stages.length;
  const exp: Expirations = { list: [], unreachable: new Int32Array(n), timedOut: new Int32Array(n), next: undefined };
  walkQueue(progress, progress.pickupQueue, t, 'unreachable', exp);
  walkQueue(progress, progress.runQueue, t, 'timed_out', exp);
  walkQueue(progress, progress.bootQueue, t, 'timed_out', exp);
  return exp;
}

function stageStats(plan: RolloutPlan, progress: RolloutProgress, stage: PlannedStage, exp: Expirations, t: number): StageStats {
  const s = stage.index;
  const counts = countsOf(progress.counts, s);
  const unreachable = exp.unreachable[s]!;
  const timedOut = exp.timedOut[s]!;
  const byStatus: Record<DeviceStatus, number> = {
    ...counts,
    dispatched: counts.dispatched - unreachable,
    in_progress: counts.in_progress - timedOut,
    unreachable: counts.unreachable + unreachable,
    timed_out: counts.timed_out + timedOut,
  };
  const failed = progress.failures[s]! + (plan.abort.countUnreachable ? unreachable : 0) + (plan.abort.countTimeouts ? timedOut : 0);
  const decided = byStatus.succeeded + failed;
  const started = progress.startedAt[s]!;
  const reached = progress.thresholdAt[s]!;
  const total = progress.remaining(s);
  return {
    stage: s,
    name: stage.name,
    total,
    withdrawn: progress.withdrawn[s]!,
    pending: byStatus.pending,
    dispatched: progress.dispatched[s]!,
    inFlight: byStatus.dispatched + byStatus.in_progress,
    succeeded: byStatus.succeeded,
    failed,
    decided,
    byStatus,
    failureRate: total === 0 ? 0 : failed / total,
    observedFailureRate: decided === 0 ? 0 : failed / decided,
    successRate: total === 0 ? 0 : byStatus.succeeded / total,
    requiredSuccesses: progress.required[s]!,
    minSoakMs: stage.minSoakMs,
    soakElapsedMs: Number.isNaN(reached) ? 0 : t - reached,
    ...(Number.isNaN(started) ? {} : { startedAt: started }),
    ...(Number.isNaN(reached) ? {} : { thresholdReachedAt: reached }),
  };
}

/** Formats a duration for reasons: `36 s`, `12 min`, `3.5 h`. */
function duration(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function iso(t: number): string {
  // Any finite `now` is accepted, but Date only spans ±8.64e15 ms; toISOString would throw beyond it.
  return Math.abs(t) <= 8.64e15 ? new Date(t).toISOString() : `${t} ms`;
}

function effects(partial: Partial<RolloutEffects>): RolloutEffects {
  return { ...NO_EFFECTS, ...partial };
}

/** Cancels the jobs of expired devices; nothing else. */
function expiryEffects(exp: Expirations): RolloutEffects {
  return exp.list.length === 0 ? NO_EFFECTS : effects({ expire: exp.list, cancel: exp.list.map(({ deviceId, tenantId, stage }) => ({ deviceId, tenantId, stage })) });
}

/** The effects of stopping for good after an abort: cancel queued jobs (and roll back, when configured). */
function haltEffects(ctx: Context): RolloutEffects {
  const { progress, plan, exp } = ctx;
  const base = expiryEffects(ctx.exp);
  if (progress.haltApplied) return base;
  const expiring = new Set(exp.list.map((e) => e.deviceId));
  const cancel: RolloutDeviceRef[] = [...base.cancel];
  const q = progress.pickupQueue;
  for (let k = q.head; k < q.length; k++) {
    const i = q.ids[k]!;
    if (progress.status[i] === DISPATCHED && !expiring.has(plan.devices[i]!.id)) cancel.push(progress.ref(i));
  }
  const rollBack: RollbackRef[] = [];
  if (plan.abort.onAbort === 'rollback') {
    const last = Math.min(progress.currentStage, plan.stages.length - 1);
    for (let i = 0; i < (plan.stages[last]?.end ?? 0); i++) {
      const f = progress.flags[i]!;
      if ((f & HAS_NEW) !== 0 && (f & (ROLLBACK_SCHEDULED | WITHDRAWN)) === 0) rollBack.push({ ...progress.ref(i), toVersion: plan.devices[i]!.fromVersion });
    }
  }
  return effects({ expire: base.expire, cancel, rollBack });
}

function inFlight(stats: readonly StageStats[]): number {
  return stats.reduce((n, s) => n + s.inFlight, 0);
}

function make(ctx: Context, decision: RolloutDecisionKind, state: RolloutState, stage: number, reason: string, fx: RolloutEffects, extra: { abort?: AbortVerdict; nextCheckAt?: number | undefined } = {}): RolloutDecision {
  const next = extra.nextCheckAt;
  return {
    rolloutId: ctx.plan.rolloutId,
    revision: ctx.progress.revision,
    now: ctx.t,
    decision,
    state,
    stage,
    reason,
    stats: ctx.stats,
    effects: fx,
    ...(extra.abort === undefined ? {} : { abort: extra.abort }),
    ...(next === undefined ? {} : { nextCheckAt: next }),
  };
}

/** A decision for a rollout that stopped for good (aborted, cancelled, rolled back). */
function halted(ctx: Context): RolloutDecision {
  const { progress } = ctx;
  const flying = inFlight(ctx.stats);
  const tail = flying > 0 ? `; ${plural(flying, 'device')} still in flight` : '';
  const at = progress.haltedAt === undefined ? '' : ` at ${iso(progress.haltedAt)}`;
  const verdict = progress.abortVerdict;
  const state = progress.state;
  const reason =
    state === 'aborted' && verdict !== undefined
      ? `aborted${at}: ${verdict.reason}${tail}`
      : state === 'cancelled'
        ? `cancelled by the operator${at}${tail}`
        : `rolled back by the operator${at}${tail}`;
  const stage = verdict?.stage ?? progress.currentStage;
  return make(ctx, 'abort', state, stage, reason, haltEffects(ctx), { ...(verdict === undefined ? {} : { abort: verdict }), nextCheckAt: ctx.exp.next });
}

/** The first stage up to the current one whose numbers fire an abort rule. */
function findAbort(ctx: Context): AbortVerdict | undefined {
  const last = Math.min(ctx.progress.currentStage, ctx.stats.length - 1);
  for (let s = 0; s <= last; s++) {
    const st = ctx.stats[s]!;
    const verdict = checkAbortRules(s, st.name, st.failed, st.total, st.decided, ctx.plan.abort, ctx.t);
    if (verdict !== undefined) return verdict;
  }
  return undefined;
}

interface Budget {
  readonly budget: number;
  readonly blockedBy?: string;
  readonly nextAt?: number;
}

/** How many devices may be dispatched at `t` (maintenance windows, then the rate limit). */
function dispatchBudget(ctx: Context): Budget {
  const { plan, progress, t } = ctx;
  if (!isInWindow(plan.maintenanceWindows, t)) {
    const opens = nextWindowOpening(plan.maintenanceWindows, t);
    return { budget: 0, blockedBy: `outside the maintenance windows${opens === undefined ? '' : ` (next opens ${iso(opens)})`}`, ...(opens === undefined ? {} : { nextAt: opens }) };
  }
  const limit = plan.rateLimit?.devicesPerMinute;
  if (limit === undefined) return { budget: Number.POSITIVE_INFINITY };
  let used = 0;
  let oldest: number | undefined;
  for (let k = progress.rateHead; k < progress.rateTimes.length; k++) {
    const at = progress.rateTimes[k]!;
    if (at <= t - 60_000) continue;
    oldest ??= at;
    used += progress.rateCounts[k]!;
  }
  const budget = Math.max(0, limit - used);
  if (budget > 0) return { budget };
  return { budget: 0, blockedBy: `rate limit of ${limit} devices per minute reached`, ...(oldest === undefined ? {} : { nextAt: oldest + 60_000 }) };
}

/** The next `budget` pending devices of stages 0…`upTo`, earliest stage first, in plan order. */
function takeDispatch(ctx: Context, upTo: number, budget: number): RolloutDeviceRef[] {
  const { plan, progress } = ctx;
  const out: RolloutDeviceRef[] = [];
  for (let s = 0; s <= upTo && out.length < budget; s++) {
    const end = plan.stages[s]!.end;
    for (let i = progress.cursor[s]!; i < end && out.length < budget; i++) if (progress.status[i] === PENDING) out.push(progress.ref(i));
  }
  return out;
}

function pendingUpTo(ctx: Context, upTo: number): number {
  let n = 0;
  for (let s = 0; s <= upTo; s++) n += ctx.stats[s]!.pending;
  return n;
}

/** Dispatches what the budget allows and says why not more. */
function dispatchFor(ctx: Context, upTo: number): { fx: RolloutEffects; note: string; nextAt: number | undefined } {
  const waiting = pendingUpTo(ctx, upTo);
  const base = expiryEffects(ctx.exp);
  if (waiting === 0) return { fx: base, note: '', nextAt: undefined };
  const b = dispatchBudget(ctx);
  const dispatch = takeDispatch(ctx, upTo, b.budget);
  const held = waiting - dispatch.length;
  const note = `; dispatching ${dispatch.length}${held > 0 && b.blockedBy !== undefined ? `, ${held} held: ${b.blockedBy}` : ''}`;
  // Devices dispatched now are due for pick-up later: that is the next time to look at least.
  const pickupDue = dispatch.length > 0 ? ctx.t + ctx.plan.deadlines.pickupMs : undefined;
  return { fx: dispatch.length === 0 ? base : { ...base, dispatch }, note, nextAt: earliest(held > 0 ? b.nextAt : undefined, pickupDue) };
}

function earliest(...times: (number | undefined)[]): number | undefined {
  let best: number | undefined;
  for (const t of times) if (t !== undefined && (best === undefined || t < best)) best = t;
  return best;
}

function progressLine(st: StageStats, stage: PlannedStage): string {
  const withdrawn = st.withdrawn > 0 ? `, ${st.withdrawn} withdrawn` : '';
  return `${st.name}: ${st.succeeded} of ${st.total} succeeded (${percent(st.successRate)}; ${st.requiredSuccesses} needed for ${percent(stage.successThreshold)}), ${st.failed} failed, ${st.inFlight} in flight${withdrawn}`;
}

/** The stage gates: success threshold, then soak; advance, complete, wait or hold. */
function gates(ctx: Context): RolloutDecision {
  const { plan, progress, stats, t } = ctx;
  const k = progress.currentStage;
  const stage = plan.stages[k]!;
  const st = stats[k]!;
  const last = k === plan.stages.length - 1;
  const reached = st.succeeded >= st.requiredSuccesses;
  // A stage whose devices were all withdrawn has nothing to soak: it passes at once.
  const soaked = reached && (st.total === 0 || st.soakElapsedMs >= stage.minSoakMs);
  if (reached && soaked && !last) {
    const { fx, note, nextAt } = dispatchFor(ctx, k + 1);
    const nextStage = plan.stages[k + 1]!;
    const reason = `${progressLine(st, stage)}, soaked ${duration(st.soakElapsedMs)} of ${duration(stage.minSoakMs)}: starting ${nextStage.name} with ${stats[k + 1]!.total} devices${note}`;
    return make(ctx, 'advance', 'running', k + 1, reason, fx, { nextCheckAt: earliest(ctx.exp.next, nextAt) });
  }
  if (reached && soaked) {
    const open = stats.reduce((n, s) => n + s.pending + s.inFlight, 0);
    if (open === 0) {
      const ok = stats.reduce((n, s) => n + s.succeeded, 0);
      const gone = stats.reduce((n, s) => n + s.withdrawn, 0);
      const of = gone > 0 ? `${plan.devices.length - gone} devices (${gone} withdrawn)` : `${plan.devices.length} devices`;
      return make(ctx, 'complete', 'completed', k, `completed: ${ok} of ${of} run ${plan.firmware.version}; ${progressLine(st, stage)}`, expiryEffects(ctx.exp));
    }
    const { fx, note, nextAt } = dispatchFor(ctx, k);
    return make(ctx, 'wait', 'running', k, `${progressLine(st, stage)}: the last stage passed its gates; waiting for ${plural(open, 'device')} to finish${note}`, fx, { nextCheckAt: earliest(ctx.exp.next, nextAt) });
  }
  if (st.succeeded + st.pending + st.inFlight < st.requiredSuccesses) {
    // Outcomes are final, so this stage can never pass: hold for an operator instead of spinning.
    const reason = `holding: ${progressLine(st, stage)}; at most ${st.succeeded + st.pending + st.inFlight} can succeed, so the stage can no longer reach its success threshold — cancel or roll back`;
    return make(ctx, 'pause', 'running', k, reason, expiryEffects(ctx.exp), { nextCheckAt: ctx.exp.next });
  }
  const { fx, note, nextAt } = dispatchFor(ctx, k);
  const soakEnd = reached && st.total > 0 ? t - st.soakElapsedMs + stage.minSoakMs : undefined;
  const soakNote = reached ? `; soaking ${duration(st.soakElapsedMs)} of ${duration(stage.minSoakMs)}` : '';
  return make(ctx, 'wait', 'running', k, `${progressLine(st, stage)}${soakNote}${note}`, fx, { nextCheckAt: earliest(ctx.exp.next, soakEnd, nextAt) });
}

function decide(ctx: Context): RolloutDecision {
  const { plan, progress } = ctx;
  const state = progress.state;
  if (state === 'completed') {
    const gone = ctx.stats.reduce((n, s) => n + s.withdrawn, 0);
    const targeted = gone > 0 ? `${plan.devices.length - gone} devices targeted (${gone} withdrawn)` : `${plan.devices.length} devices targeted`;
    return make(ctx, 'complete', state, progress.currentStage, `completed: ${targeted}`, NO_EFFECTS);
  }
  if (state === 'aborted' || state === 'cancelled' || state === 'rolled_back') return halted(ctx);
  if (plan.stages.length === 0) {
    return make(ctx, 'complete', 'completed', 0, `nothing to update: no eligible device (${plan.skipped.total} skipped)`, NO_EFFECTS);
  }
  const verdict = findAbort(ctx);
  if (verdict !== undefined) {
    const flying = inFlight(ctx.stats);
    const reason = `aborting: ${verdict.reason}${flying > 0 ? `; ${plural(flying, 'device')} still in flight` : ''}`;
    return make(ctx, 'abort', 'aborted', verdict.stage, reason, haltEffects(ctx), { abort: verdict, nextCheckAt: ctx.exp.next });
  }
  if (state === 'paused') {
    const at = progress.pausedAt === undefined ? '' : ` at ${iso(progress.pausedAt)}`;
    return make(ctx, 'pause', state, progress.currentStage, `paused by the operator${at}; ${plural(inFlight(ctx.stats), 'device')} in flight`, expiryEffects(ctx.exp), { nextCheckAt: ctx.exp.next });
  }
  return gates(ctx);
}

function assertPair(plan: RolloutPlan, progress: RolloutProgress, now: number): void {
  if (!(progress instanceof RolloutProgress)) {
    throw new FleetError('INVALID_ARGUMENT', `evaluateRollout: progress must be the tracker from createRolloutProgress(plan), got ${progress === null ? 'null' : typeof progress}`, { status: 400 });
  }
  if (typeof plan !== 'object' || plan === null || typeof plan.rolloutId !== 'string' || !Array.isArray(plan.devices)) {
    throw new FleetError('INVALID_ARGUMENT', 'evaluateRollout: plan must be the plan the tracker was created from (a RolloutPlan from planRollout)', { status: 400 });
  }
  if (progress.plan !== plan && (progress.rolloutId !== plan.rolloutId || progress.plan.devices.length !== plan.devices.length)) {
    throw new FleetError('INVALID_ARGUMENT', `evaluateRollout: the progress tracks rollout ${progress.rolloutId}, not ${plan.rolloutId}; create it with createRolloutProgress(plan)`, { status: 400 });
  }
  if (!Number.isFinite(now)) throw new FleetError('INVALID_ARGUMENT', `evaluateRollout: options.now must be a finite epoch-ms number, got ${describeValue(now)}`, { status: 400 });
}

/**
 * Decides what a rollout does next: `wait`, `advance` to the next stage, `complete`, `pause`
 * (operator pause, or a stage that can no longer pass), or `abort`. Pure: it reads the tracker
 * and returns data; apply the decision with `progress.apply(decision)` and execute its effects.
 *
 * In order: deadlines turn silent devices `unreachable`/`timed_out` (as effects); every stage up
 * to the current one is checked against the abort rules; a paused rollout waits; the current
 * stage advances only when `succeeded ≥ requiredSuccesses`, its soak (counted from the moment
 * it reached that threshold) has elapsed and nothing aborts. A stage's size and
 * `requiredSuccesses` are those of its remaining devices: devices withdrawn before they had an
 * outcome (`operate({ type: 'withdraw', deviceId })`) no longer count, and a stage whose devices
 * were all withdrawn passes at once (nothing to soak). Pending devices are dispatched
 * within the maintenance windows and the rate limit, earliest stage first.
 *
 * @param plan - the plan the tracker was created from, or a copy of it (restored from JSON): the
 *   tracker's own plan, checked when it was built, is what is read
 * @param progress - the tracker (read only)
 * @param options - `{ now }`, epoch ms
 * @returns the decision, its reason, per-stage statistics and the effects
 * @throws FleetError `INVALID_ARGUMENT` when `progress` is not a tracker, the tracker belongs to
 *   another plan, or `now` is not finite.
 * @example
 * ```ts
 * const decision = evaluateRollout(plan, progress, { now: clock.now() });
 * console.log(decision.decision, decision.reason);
 * const applied = progress.apply(decision);
 * if (applied.ok) execute(applied.effects);
 * ```
 */
export function evaluateRollout(plan: RolloutPlan, progress: RolloutProgress, options: EvaluateOptions): RolloutDecision {
  const now = (options as EvaluateOptions | undefined)?.now as number;
  assertPair(plan, progress, now);
  // The tracker's own plan, checked when the tracker was built, is the one read: `plan` (perhaps a
  // copy restored from JSON) only has to name the same rollout.
  plan = progress.plan;
  const t = Math.max(now, progress.now);
  const exp = collectExpirations(plan, progress, t);
  const stats = plan.stages.map((s) => stageStats(plan, progress, s, exp, t));
  return decide({ plan, progress, t, exp, stats });
}

/** The result of {@link stepRollout}. */
export interface RolloutStep {
  readonly decision: RolloutDecision;
  /** The effects to execute (the decision's effects, now recorded in the tracker). */
  readonly effects: RolloutEffects;
}

/**
 * Evaluates and applies in one call, so no report can slip in between: the usual way to drive
 * a rollout from a timer or after a report.
 *
 * @param plan - the plan
 * @param progress - its tracker (updated)
 * @param options - `{ now }`, epoch ms
 * @returns the decision and the effects to execute
 * @throws FleetError `INVALID_ARGUMENT` as {@link evaluateRollout} does.
 * @example
 * ```ts
 * const { decision, effects } = stepRollout(plan, progress, { now: clock.now() });
 * for (const d of effects.dispatch) sendJob(d.deviceId, plan.firmware);
 * ```
 */
export function stepRollout(plan: RolloutPlan, progress: RolloutProgress, options: EvaluateOptions): RolloutStep {
  const decision = evaluateRollout(plan, progress, options);
  const applied = progress.apply(decision);
  if (!applied.ok) throw applied.error;
  return { decision, effects: applied.effects };
}
