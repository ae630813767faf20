/**
 * The rollout tracker: the one mutable object of the rollout core, owned by its caller.
 *
 * Why mutable: a rollout of a million devices receives millions of reports; copying state per
 * report would make each one O(fleet). The tracker instead keeps compact per-device arrays and
 * per-stage counters that every report updates in O(1), and deadline queues ordered by due
 * time. `evaluateRollout` only reads it; `apply` records a decision; every mutation bumps
 * `revision` so a decision computed on an older state is refused instead of half-applied.
 */
import { FleetError } from '../errors.js';
import { checkAbortRules } from './abort-rules.js';
import type { AbortVerdict } from './abort-rules.js';
import type { RolloutPlan } from './plan.js';
import { requiredSuccesses } from './plan.js';
import { checkPlan } from './plan-schema.js';
import { decisionProblem } from './decision-check.js';
import { deviceReportSchema } from './report.js';
import type { DeviceReport } from './report.js';
import {
  BOOTING,
  CANCELLED,
  CODE_COUNT,
  DISPATCHED,
  DUPLICATE,
  FAILED,
  INSTALLING,
  INVALID,
  LATE,
  PENDING,
  REJECTED,
  REPORT_INDEX,
  ROLLED_BACK,
  SUCCEEDED,
  TIMED_OUT,
  UNREACHABLE,
  nextCode,
  statusName,
} from './status.js';
import type { DeviceStatus, InProgressPhase } from './status.js';
import { describeValue as describe } from '../describe-value.js';

/** The state of a rollout as a whole. */
export type RolloutState = 'running' | 'paused' | 'aborted' | 'cancelled' | 'rolled_back' | 'completed';

/** A device named in an effect. */
export interface RolloutDeviceRef {
  readonly deviceId: string;
  readonly tenantId: string;
  /** Index of the device's stage. */
  readonly stage: number;
}

/** A device that must be sent its previous firmware. */
export interface RollbackRef extends RolloutDeviceRef {
  /** The version to restore (the one it ran before the rollout). */
  readonly toVersion: string;
}

/** A device whose deadline passed. */
export interface ExpiredDevice extends RolloutDeviceRef {
  /** `unreachable` (never picked its job up) or `timed_out` (started but never finished). */
  readonly status: 'unreachable' | 'timed_out';
}

/** What the caller must do, as data. */
export interface RolloutEffects {
  /** Send these devices the rollout's firmware job. */
  readonly dispatch: readonly RolloutDeviceRef[];
  /** Cancel these devices' jobs (queued jobs on an abort, jobs of expired devices, the job of a withdrawn device). */
  readonly cancel: readonly RolloutDeviceRef[];
  /** Schedule the previous firmware on these devices. */
  readonly rollBack: readonly RollbackRef[];
  /** Devices whose deadline passed (already included in `cancel`). */
  readonly expire: readonly ExpiredDevice[];
}

/** A device's progress in the rollout. */
export interface DeviceProgress {
  readonly deviceId: string;
  readonly tenantId: string;
  readonly stage: number;
  readonly status: DeviceStatus;
  /** Set while `status` is `in_progress`. */
  readonly phase?: InProgressPhase;
  /** The version the device runs as far as this rollout knows (the old one again after `rolled_back`). */
  readonly installedVersion: string;
  /** True once a rollback of this device was scheduled. */
  readonly rollbackScheduled: boolean;
  /**
   * True once the device was withdrawn from the rollout (`{ type: 'withdraw' }`, e.g. it was
   * decommissioned). A device withdrawn before it had an outcome is `cancelled` and no longer
   * counts in its stage; one withdrawn after its outcome keeps it.
   */
  readonly withdrawn: boolean;
}

/** The result of {@link RolloutProgress.report}. */
export type ReportOutcome =
  | {
      readonly ok: true;
      /** False for a duplicate or for a late report about a device that is already terminal. */
      readonly applied: boolean;
      readonly deviceId: string;
      readonly stage: number;
      readonly from: DeviceStatus;
      readonly to: DeviceStatus;
      /** True when this report made the rollout abort: evaluate now. */
      readonly aborted: boolean;
      /** Rollbacks to schedule now (a device of a rolled-back stage just reported the new image). */
      readonly rollBack: readonly RollbackRef[];
    }
  | { readonly ok: false; readonly error: FleetError };

/** An operator action (see {@link RolloutProgress.operate}). */
export type OperatorAction =
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'cancel' }
  | { readonly type: 'rollback'; readonly stages?: readonly number[] }
  | {
      readonly type: 'withdraw';
      /** The device that leaves the rollout (decommissioned, removed from the fleet). */
      readonly deviceId: string;
    };

/** The result of {@link RolloutProgress.operate} and {@link RolloutProgress.apply}. */
export type ProgressResult =
  | { readonly ok: true; readonly state: RolloutState; readonly effects: RolloutEffects }
  | { readonly ok: false; readonly error: FleetError };

/** The subset of a decision that {@link RolloutProgress.apply} records. */
export interface ApplicableDecision {
  readonly rolloutId: string;
  readonly revision: number;
  readonly now: number;
  readonly decision: 'wait' | 'advance' | 'complete' | 'pause' | 'abort';
  readonly stage: number;
  readonly abort?: AbortVerdict;
  readonly effects: RolloutEffects;
}

/** @internal The tracker's private scalars, for snapshots. */
export interface TrackerCore {
  readonly state: RolloutState;
  readonly stage: number;
  readonly revision: number;
  readonly abort: AbortVerdict | undefined;
}

/** @internal Sets a tracker's private scalars from a checked snapshot (tracker-snapshot.ts only). */
export let restoreCore: (progress: RolloutProgress, core: TrackerCore) => void;

/** @internal Per-device flag bits. */
export const WAS_DISPATCHED = 1;
/** @internal */ export const HAS_NEW = 2;
/** @internal */ export const ROLLBACK_SCHEDULED = 4;
/** @internal The device was withdrawn from the rollout. */ export const WITHDRAWN = 8;

/**
 * @internal Devices ordered by due time (pushes come at non-decreasing times); stale entries are
 * skipped lazily. A device enters each queue at most once (statuses only move forward), so the
 * arrays are allocated once at fleet size and never grow.
 */
export class DeadlineQueue {
  /** Device indices. */
  readonly ids: Int32Array;
  /** Due times, parallel to `ids`. */
  readonly due: Float64Array;
  /** Entries before `head` are stale. */
  head = 0;
  /** Number of entries pushed. */
  length = 0;

  /**
   * @param live - the status code an entry must still have to count
   * @param capacity - the number of devices
   */
  constructor(
    readonly live: number,
    capacity: number,
  ) {
    this.ids = new Int32Array(capacity);
    this.due = new Float64Array(capacity);
  }

  push(device: number, due: number): void {
    this.ids[this.length] = device;
    this.due[this.length++] = due;
  }

  /** Drops stale entries at the head; amortised O(1) because each entry is dropped once. */
  trim(status: Uint8Array): void {
    while (this.head < this.length && status[this.ids[this.head]!] !== this.live) this.head++;
  }
}

const EMPTY: readonly never[] = Object.freeze([]);
/** @internal Effects with nothing to do. */
export const NO_EFFECTS: RolloutEffects = Object.freeze({ dispatch: EMPTY, cancel: EMPTY, rollBack: EMPTY, expire: EMPTY });

function fail(code: 'INVALID_ARGUMENT' | 'INVALID_OPERATION' | 'INVALID_TRANSITION' | 'DEVICE_NOT_FOUND', status: number, message: string, details?: Record<string, unknown>): { ok: false; error: FleetError } {
  return { ok: false, error: new FleetError(code, message, { status, ...(details === undefined ? {} : { details }) }) };
}

const VALID_REPORT_TYPES: readonly string[] = Object.keys(REPORT_INDEX);

/** The compact index of a report type, or -1 (a switch: faster than a Set on the hot path). */
function reportIndex(type: unknown): number {
  switch (type) {
    case 'picked_up':
      return 0;
    case 'installed':
      return 1;
    case 'boot_confirmed':
      return 2;
    case 'failed':
      return 3;
    case 'rejected':
      return 4;
    case 'rolled_back':
      return 5;
    default:
      return -1;
  }
}

/**
 * Tracks one rollout's devices and counters. Create it with {@link createRolloutProgress},
 * feed it device reports with {@link RolloutProgress.report} (O(1) each), ask
 * `evaluateRollout(plan, progress, { now })` what to do, and record the decision with
 * {@link RolloutProgress.apply} (or do both with `stepRollout`).
 *
 * Time only moves forward inside a tracker: a `now` earlier than one already seen is treated as
 * that later time (deadlines are then computed from it, which can only give a device more time).
 */
export class RolloutProgress {
  /** @internal */ readonly plan: RolloutPlan;
  /** @internal */ readonly index: Map<string, number>;
  /** @internal Status code per device. */ readonly status: Uint8Array;
  /** @internal Stage per device. */ readonly stageOf: Uint16Array;
  /** @internal Flag bits per device. */ readonly flags: Uint8Array;
  /** @internal Scratch marks for checking decisions (always zero between calls). */ readonly marks: Uint8Array;
  /** @internal Status counters, `stage * CODE_COUNT + code`. */ readonly counts: Int32Array;
  /** @internal Counted failures per stage. */ readonly failures: Int32Array;
  /** @internal Devices ever dispatched per stage. */ readonly dispatched: Int32Array;
  /** @internal Next possibly-pending device index per stage. */ readonly cursor: Int32Array;
  /** @internal First dispatch per stage (NaN before). */ readonly startedAt: Float64Array;
  /** @internal When each stage reached its success threshold (NaN before). */ readonly thresholdAt: Float64Array;
  /** @internal Stages under rollback. */ readonly rollbackStages: Uint8Array;
  /** @internal 1 for codes that count as failures. */ readonly failureCode: Uint8Array;
  /** @internal */ readonly pickupQueue: DeadlineQueue;
  /** @internal */ readonly runQueue: DeadlineQueue;
  /** @internal */ readonly bootQueue: DeadlineQueue;
  /** @internal Successes each stage needs (the success threshold applied to its remaining devices). */ readonly required: Int32Array;
  /** @internal Devices per stage withdrawn before they had an outcome: they no longer count in the stage. */ readonly withdrawn: Int32Array;
  /** @internal */ readonly runMs: number;
  /** @internal */ readonly bootHealthMs: number;
  /** @internal Dispatch batches (time, count) still inside the rate-limit window. */ readonly rateTimes: number[] = [];
  /** @internal */ readonly rateCounts: number[] = [];
  /** @internal */ rateHead = 0;
  /** @internal */ haltApplied = false;
  /** @internal */ pausedAt: number | undefined;
  /** @internal */ haltedAt: number | undefined;
  /** @internal */ lastNow = -Infinity;
  #state: RolloutState = 'running';
  #stage = 0;
  #revision = 0;
  #abort: AbortVerdict | undefined;

  /**
   * @internal Use {@link createRolloutProgress}.
   * @throws FleetError `INVALID_PLAN` for a plan that is not one `planRollout` produced.
   */
  constructor(plan: RolloutPlan) {
    checkPlan(plan, 'createRolloutProgress');
    const n = plan.devices.length;
    const stages = plan.stages.length;
    this.plan = plan;
    this.index = new Map();
    this.stageOf = new Uint16Array(n);
    plan.devices.forEach((d, i) => {
      this.index.set(d.id, i);
      this.stageOf[i] = d.stage;
    });
    if (this.index.size !== n) {
      const i = plan.devices.findIndex((d, k) => this.index.get(d.id) !== k);
      throw new FleetError('INVALID_PLAN', `createRolloutProgress: plan.devices.${i}.id ${JSON.stringify(plan.devices[i]?.id)} appears more than once; pass a plan returned by planRollout, unchanged`, {
        status: 400,
      });
    }
    this.status = new Uint8Array(n);
    this.flags = new Uint8Array(n);
    this.marks = new Uint8Array(n);
    this.counts = new Int32Array(stages * CODE_COUNT);
    this.failures = new Int32Array(stages);
    this.dispatched = new Int32Array(stages);
    this.cursor = new Int32Array(stages);
    this.startedAt = new Float64Array(stages).fill(Number.NaN);
    this.thresholdAt = new Float64Array(stages).fill(Number.NaN);
    this.rollbackStages = new Uint8Array(stages);
    this.pickupQueue = new DeadlineQueue(DISPATCHED, n);
    this.runQueue = new DeadlineQueue(INSTALLING, n);
    this.bootQueue = new DeadlineQueue(BOOTING, n);
    this.required = Int32Array.from(plan.stages, (s) => s.requiredSuccesses);
    this.withdrawn = new Int32Array(stages);
    this.runMs = plan.deadlines.runMs;
    this.bootHealthMs = plan.deadlines.bootHealthMs;
    for (const s of plan.stages) {
      this.counts[s.index * CODE_COUNT + PENDING] = s.size;
      this.cursor[s.index] = s.start;
    }
    const a = plan.abort;
    this.failureCode = new Uint8Array(CODE_COUNT);
    this.failureCode[FAILED] = 1;
    this.failureCode[ROLLED_BACK] = 1;
    this.failureCode[REJECTED] = a.countRejected ? 1 : 0;
    this.failureCode[TIMED_OUT] = a.countTimeouts ? 1 : 0;
    this.failureCode[UNREACHABLE] = a.countUnreachable ? 1 : 0;
  }

  /** The rollout this tracker belongs to. */
  get rolloutId(): string {
    return this.plan.rolloutId;
  }

  /** The rollout's state. */
  get state(): RolloutState {
    return this.#state;
  }

  /** Index of the stage currently being rolled out (earlier stages stay under watch). */
  get currentStage(): number {
    return this.#stage;
  }

  /** Bumped by every change; a decision is only applied to the revision it was computed on. */
  get revision(): number {
    return this.#revision;
  }

  /** The abort that stopped the rollout, once one did. */
  get abortVerdict(): AbortVerdict | undefined {
    return this.#abort;
  }

  /** @internal The private scalars a snapshot carries (see tracker-snapshot.ts). */
  get core(): TrackerCore {
    return { state: this.#state, stage: this.#stage, revision: this.#revision, abort: this.#abort };
  }

  static {
    restoreCore = (progress, core) => {
      progress.#state = core.state;
      progress.#stage = core.stage;
      progress.#revision = core.revision;
      progress.#abort = core.abort;
    };
  }

  /** The latest time the tracker has seen (epoch ms), or `-Infinity` before any. */
  get now(): number {
    return this.lastNow;
  }

  /**
   * A device's status, or `undefined` when the device is not in the plan.
   *
   * @param deviceId - the device id
   */
  statusOf(deviceId: string): DeviceStatus | undefined {
    const i = this.index.get(deviceId);
    return i === undefined ? undefined : statusName(this.status[i]!);
  }

  /**
   * Everything the tracker knows about one device, or `undefined` when it is not in the plan.
   *
   * @param deviceId - the device id
   */
  device(deviceId: string): DeviceProgress | undefined {
    const i = this.index.get(deviceId);
    if (i === undefined) return undefined;
    const d = this.plan.devices[i]!;
    const code = this.status[i]!;
    const f = this.flags[i]!;
    return {
      deviceId: d.id,
      tenantId: d.tenantId,
      stage: d.stage,
      status: statusName(code),
      ...(code === INSTALLING ? { phase: 'installing' as const } : code === BOOTING ? { phase: 'booting' as const } : {}),
      installedVersion: f & HAS_NEW ? this.plan.firmware.version : d.fromVersion,
      rollbackScheduled: (f & ROLLBACK_SCHEDULED) !== 0,
      withdrawn: (f & WITHDRAWN) !== 0,
    };
  }

  /**
   * How many devices of a stage have each status.
   *
   * @param stage - a stage index
   * @throws FleetError `INVALID_ARGUMENT` for a stage index outside the plan.
   */
  stageCounts(stage: number): Record<DeviceStatus, number> {
    if (!Number.isInteger(stage) || stage < 0 || stage >= this.plan.stages.length) {
      const range = this.plan.stages.length === 0 ? 'no stages (no eligible device)' : `stages 0–${this.plan.stages.length - 1}`;
      throw new FleetError('INVALID_ARGUMENT', `stageCounts(${describe(stage)}): the plan has ${range}; pass a stage index from plan.stages`, { status: 400 });
    }
    return countsOf(this.counts, stage);
  }

  /**
   * How many devices of a stage still count in it: its planned size minus the devices withdrawn
   * before they had an outcome. The stage's success requirement and abort rules apply to these.
   *
   * @param stage - a stage index
   * @throws FleetError `INVALID_ARGUMENT` for a stage index outside the plan.
   */
  stageSize(stage: number): number {
    this.stageCounts(stage);
    return this.remaining(stage);
  }

  /** @internal The devices of stage `s` that still count (planned size minus withdrawn). */
  remaining(s: number): number {
    return this.plan.stages[s]!.size - this.withdrawn[s]!;
  }

  /** @internal Recomputes stage `s`'s success requirement from its remaining devices. */
  resize(s: number, t: number): void {
    const stage = this.plan.stages[s]!;
    this.required[s] = requiredSuccesses(this.remaining(s), stage.successThreshold);
    // Fewer devices may mean the threshold is reached now: the soak counts from here.
    if (this.counts[s * CODE_COUNT + SUCCEEDED]! >= this.required[s]! && Number.isNaN(this.thresholdAt[s]!)) this.thresholdAt[s] = t;
    // Fewer devices may mean the failures already counted fire a rule.
    if (this.failures[s]! > 0) this.latchAbort(s, t);
  }

  /** @internal Advances the tracker's clock and returns the time to use. */
  clock(now: number): number {
    if (now > this.lastNow) this.lastNow = now;
    return this.lastNow;
  }

  /** @internal Moves device `i` from one code to another, keeping every counter and queue in step. O(1). */
  move(i: number, to: number, t: number): void {
    const from = this.status[i]!;
    const s = this.stageOf[i]!;
    const base = s * CODE_COUNT;
    this.counts[base + from]!--;
    this.counts[base + to]!++;
    this.status[i] = to;
    if (to === INSTALLING) this.runQueue.push(i, t + this.runMs);
    else if (to === BOOTING) this.bootQueue.push(i, t + this.bootHealthMs);
    if (from === DISPATCHED) this.pickupQueue.trim(this.status);
    else if (from === INSTALLING) this.runQueue.trim(this.status);
    else if (from === BOOTING) this.bootQueue.trim(this.status);
    if (this.failureCode[to] === 1) {
      this.failures[s]!++;
      this.latchAbort(s, t);
    } else if (to === SUCCEEDED) {
      if (this.counts[base + SUCCEEDED]! >= this.required[s]! && Number.isNaN(this.thresholdAt[s]!)) this.thresholdAt[s] = t;
      // A success can complete the minSample that makes earlier failures count.
      if (this.failures[s]! > 0) this.latchAbort(s, t);
    }
  }

  /** @internal Records an abort when a stage's counters fire a rule (sticky: only the first one counts). */
  latchAbort(s: number, t: number): void {
    if (this.#state !== 'running' && this.#state !== 'paused') return;
    const stage = this.plan.stages[s]!;
    const f = this.failures[s]!;
    const verdict = checkAbortRules(s, stage.name, f, this.remaining(s), this.counts[s * CODE_COUNT + SUCCEEDED]! + f, this.plan.abort, t);
    if (verdict !== undefined) this.recordAbort(verdict);
  }

  /** @internal */
  recordAbort(verdict: AbortVerdict): void {
    this.#state = 'aborted';
    this.#abort = verdict;
    this.haltApplied = false;
    this.haltedAt = verdict.at;
  }

  /**
   * Applies one device report in O(1): a Map lookup, a table transition and a few counter
   * updates. Never throws for bad input; an error result changes nothing.
   *
   * Reports about devices that are already terminal (a device that was declared unreachable and
   * then shows up) change no counter — outcomes are final — but are still used to know which
   * devices run the new image, so a rollback reaches them.
   *
   * @param report - `{ deviceId, type }` ({@link DeviceReport})
   * @param now - epoch ms at which the report was received
   * @returns the outcome; `aborted: true` when this report made the rollout abort
   * @example
   * ```ts
   * const r = progress.report({ deviceId: 'sensor-7', type: 'boot_confirmed' }, clock.now());
   * if (r.ok && r.aborted) handle(stepRollout(plan, progress, { now: clock.now() }));
   * ```
   */
  report(report: DeviceReport, now: number): ReportOutcome {
    const type = (report as { type?: unknown } | null)?.type;
    const deviceId = (report as { deviceId?: unknown } | null)?.deviceId;
    const r = reportIndex(type);
    if (typeof deviceId !== 'string' || r < 0) {
      const parsed = deviceReportSchema.safeParse(report);
      const detail = parsed.success ? '' : `: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
      return fail('INVALID_ARGUMENT', 400, `Invalid device report${detail}; expected { deviceId: string, type: ${VALID_REPORT_TYPES.join(' | ')} }`);
    }
    if (!Number.isFinite(now)) return fail('INVALID_ARGUMENT', 400, `report(…, now): now must be a finite epoch-ms number, got ${describe(now)}`);
    const i = this.index.get(deviceId);
    if (i === undefined) return fail('DEVICE_NOT_FOUND', 404, `Device ${JSON.stringify(deviceId)} is not part of rollout ${this.plan.rolloutId}`, { deviceId });
    const code = this.status[i]!;
    let to = nextCode(code, r);
    if (code === CANCELLED && (this.flags[i]! & WAS_DISPATCHED) === 0) to = INVALID;
    if (to === INVALID) {
      return fail('INVALID_TRANSITION', 409, `Device ${deviceId} is ${statusName(code)}${code === PENDING || code === CANCELLED ? ' and was never dispatched' : ''}; a "${type}" report is not valid now`, {
        deviceId,
        status: statusName(code),
        report: type,
      });
    }
    const t = this.clock(now);
    const stage = this.stageOf[i]!;
    const from = statusName(code);
    this.#revision++;
    if (to === DUPLICATE) {
      // A repeat changes no status, but an image report still says which slot the device runs.
      const rollBack = this.noteImage(i, type as DeviceReport['type']);
      return { ok: true, applied: false, deviceId, stage, from, to: from, aborted: false, rollBack };
    }
    const wasAborted = this.#state === 'aborted';
    if (to !== LATE) this.move(i, to, t);
    const rollBack = this.noteImage(i, type as DeviceReport['type']);
    const aborted = !wasAborted && this.#state === 'aborted';
    return { ok: true, applied: to !== LATE, deviceId, stage, from, to: statusName(this.status[i]!), aborted, rollBack };
  }

  /** Tracks whether the device runs the new image; schedules its rollback when its stage is rolled back. */
  private noteImage(i: number, type: DeviceReport['type']): readonly RollbackRef[] {
    // A withdrawn device is gone from the fleet: nothing is sent to it any more.
    if ((this.flags[i]! & WITHDRAWN) !== 0) return EMPTY;
    if (type === 'rolled_back') this.flags[i]! &= ~HAS_NEW;
    if (type !== 'installed' && type !== 'boot_confirmed') return EMPTY;
    this.flags[i]! |= HAS_NEW;
    if (this.rollbackStages[this.stageOf[i]!] !== 1 || (this.flags[i]! & ROLLBACK_SCHEDULED) !== 0) return EMPTY;
    return [this.scheduleRollback(i)];
  }

  /** @internal Marks device `i` for rollback and returns its effect. */
  scheduleRollback(i: number): RollbackRef {
    this.flags[i]! |= ROLLBACK_SCHEDULED;
    const d = this.plan.devices[i]!;
    return { deviceId: d.id, tenantId: d.tenantId, stage: d.stage, toVersion: d.fromVersion };
  }

  /** @internal A device reference for effects. */
  ref(i: number): RolloutDeviceRef {
    const d = this.plan.devices[i]!;
    return { deviceId: d.id, tenantId: d.tenantId, stage: d.stage };
  }

  /**
   * Records a decision from `evaluateRollout` computed on this tracker's current revision:
   * dispatches, expirations, cancellations, the stage advance, completion or abort.
   * Execute the effects it returns (the decision's effects).
   *
   * @param decision - the decision, unchanged
   * @returns the new state and the effects to execute, or an error (nothing changed) when the
   *   decision belongs to another rollout or to an older revision (evaluate again), or is not a
   *   decision this tracker could have produced (unknown devices, a device dispatched twice, …)
   */
  apply(decision: ApplicableDecision): ProgressResult {
    const d = decision as Partial<ApplicableDecision> | null;
    if (typeof d !== 'object' || d === null) return fail('INVALID_ARGUMENT', 400, 'apply(decision): expected the decision object returned by evaluateRollout');
    if (d.rolloutId !== this.plan.rolloutId) return fail('INVALID_ARGUMENT', 400, `The decision is for rollout ${describe(d.rolloutId)}, not ${this.plan.rolloutId}; apply it to that rollout's tracker`);
    if (d.revision !== this.#revision) {
      return fail('INVALID_OPERATION', 409, `Stale decision: computed on revision ${describe(d.revision)}, the tracker is at ${this.#revision}; evaluate again and apply at once`);
    }
    const problem = decisionProblem(
      { index: this.index, status: this.status, stageOf: this.stageOf, stageCount: this.plan.stages.length, currentStage: this.#stage, running: this.#state === 'running', marks: this.marks },
      decision,
    );
    if (problem !== undefined) return fail('INVALID_ARGUMENT', 400, `apply(decision): ${problem}; apply the decision evaluateRollout returned, unchanged`);
    const t = this.clock(decision.now);
    this.#revision++;
    for (const e of decision.effects.expire) {
      const i = this.index.get(e.deviceId)!;
      this.move(i, e.status === 'unreachable' ? UNREACHABLE : TIMED_OUT, t);
    }
    if (decision.abort !== undefined && (this.#state === 'running' || this.#state === 'paused')) this.recordAbort(decision.abort);
    if (decision.decision === 'abort' && !this.haltApplied) this.applyHalt(decision.effects, t);
    if (decision.decision === 'advance') this.#stage = decision.stage;
    if (decision.decision === 'complete') this.#state = 'completed';
    this.recordDispatch(decision.effects.dispatch, t);
    return { ok: true, state: this.#state, effects: decision.effects };
  }

  private recordDispatch(refs: readonly RolloutDeviceRef[], t: number): void {
    if (refs.length === 0) return;
    const pickupBy = t + this.plan.deadlines.pickupMs;
    for (const ref of refs) {
      const i = this.index.get(ref.deviceId)!;
      const s = this.stageOf[i]!;
      this.move(i, DISPATCHED, t);
      this.flags[i]! |= WAS_DISPATCHED;
      this.pickupQueue.push(i, pickupBy);
      this.dispatched[s]!++;
      if (Number.isNaN(this.startedAt[s]!)) this.startedAt[s] = t;
      while (this.cursor[s]! < this.plan.stages[s]!.end && this.status[this.cursor[s]!] !== PENDING) this.cursor[s]!++;
    }
    this.rateTimes.push(t);
    this.rateCounts.push(refs.length);
    // Batches older than the 60-second window never count again.
    while (this.rateHead < this.rateTimes.length && this.rateTimes[this.rateHead]! <= t - 60_000) this.rateHead++;
    if (this.rateHead > 1024) {
      this.rateTimes.splice(0, this.rateHead);
      this.rateCounts.splice(0, this.rateHead);
      this.rateHead = 0;
    }
  }

  /** Cancels every undispatched device (no job exists, nothing to send) and the queued jobs listed in `effects.cancel`. */
  private applyHalt(effects: RolloutEffects, t: number): void {
    this.cancelPending(t);
    for (const ref of effects.cancel) {
      const i = this.index.get(ref.deviceId)!;
      if (this.status[i] === DISPATCHED) this.move(i, CANCELLED, t);
    }
    for (const rb of effects.rollBack) {
      const i = this.index.get(rb.deviceId)!;
      this.flags[i]! |= ROLLBACK_SCHEDULED;
      this.rollbackStages[this.stageOf[i]!] = 1;
    }
    if (this.plan.abort.onAbort === 'rollback') this.rollbackStages.fill(1, 0, this.#stage + 1);
    this.haltApplied = true;
  }

  private cancelPending(t: number): void {
    for (const stage of this.plan.stages) {
      for (let i = this.cursor[stage.index]!; i < stage.end; i++) if (this.status[i] === PENDING) this.move(i, CANCELLED, t);
      this.cursor[stage.index] = stage.end;
    }
  }

  /** Devices with a queued (dispatched, not picked up) job. */
  private queuedJobs(): number[] {
    const q = this.pickupQueue;
    const out: number[] = [];
    for (let k = q.head; k < q.length; k++) if (this.status[q.ids[k]!] === DISPATCHED) out.push(q.ids[k]!);
    return out;
  }

  /**
   * Applies an operator action:
   * - `pause`: stop dispatching; devices in flight carry on and are still watched;
   * - `resume`: dispatching continues from a fresh evaluation — it cannot resume an aborted
   *   rollout, and the evaluator never advances past a stage that has not passed its gates;
   * - `cancel`: pause for good and cancel every undispatched device (in-flight jobs carry on);
   * - `rollback`: stop for good, cancel undispatched devices and queued jobs, and schedule the
   *   previous firmware on every device of the given stages (default: every started stage)
   *   that received the new image — including, later, in-flight devices that report it;
   * - `withdraw` (`{ type: 'withdraw', deviceId }`): the device leaves the rollout, as a
   *   decommissioned device does, in any rollout state. A device without an outcome yet
   *   (`pending`, `dispatched`, `in_progress`, or `cancelled` by a halt) becomes `cancelled`
   *   and no longer counts in its stage: the stage's size shrinks by one, its success
   *   requirement becomes the stage's `successThreshold` applied to the remaining devices (as
   *   the planner computes `requiredSuccesses`) and the abort rules use the remaining size; a
   *   dispatched or in-progress device's job is in `effects.cancel`. A device that already has
   *   an outcome (`succeeded`, `failed`, `rejected`, `timed_out`, `rolled_back`, `unreachable`)
   *   keeps it and still counts: what it did with the image happened. Either way the device is
   *   never dispatched, rolled back or sent anything again. Withdrawing a withdrawn device
   *   changes nothing (same revision, no effects); other devices' statuses never change.
   *
   * @param action - the action
   * @param now - epoch ms
   * @returns the new state and the effects to execute, or an error (nothing changed)
   * @example
   * ```ts
   * const r = progress.operate({ type: 'rollback' }, clock.now());
   * if (r.ok) for (const d of r.effects.rollBack) sendJob(d.deviceId, d.toVersion);
   * ```
   */
  operate(action: OperatorAction, now: number): ProgressResult {
    if (!Number.isFinite(now)) return fail('INVALID_ARGUMENT', 400, `operate(…, now): now must be a finite epoch-ms number, got ${describe(now)}`);
    const type = (action as { type?: unknown } | null)?.type;
    switch (type) {
      case 'pause':
        return this.pause(now);
      case 'resume':
        return this.resume(now);
      case 'cancel':
        return this.cancel(now);
      case 'rollback':
        return this.rollback((action as { stages?: unknown }).stages, now);
      case 'withdraw':
        return this.withdraw((action as { deviceId?: unknown }).deviceId, now);
      default:
        return fail('INVALID_ARGUMENT', 400, `Unknown operator action ${describe(type)}; use pause, resume, cancel, rollback or withdraw`);
    }
  }

  private refuse(action: string): ProgressResult {
    const why = this.#state === 'aborted' && this.#abort !== undefined ? ` (${this.#abort.reason})` : '';
    return fail('INVALID_OPERATION', 409, `Cannot ${action} rollout ${this.plan.rolloutId}: it is ${this.#state}${why}`, { state: this.#state });
  }

  private done(): ProgressResult {
    return { ok: true, state: this.#state, effects: NO_EFFECTS };
  }

  private pause(now: number): ProgressResult {
    if (this.#state === 'paused') return this.done();
    if (this.#state !== 'running') return this.refuse('pause');
    this.#revision++;
    this.#state = 'paused';
    this.pausedAt = this.clock(now);
    return this.done();
  }

  private resume(now: number): ProgressResult {
    if (this.#state === 'running') return this.done();
    if (this.#state !== 'paused') return this.refuse('resume');
    this.clock(now);
    this.#revision++;
    this.#state = 'running';
    this.pausedAt = undefined;
    return this.done();
  }

  private cancel(now: number): ProgressResult {
    if (this.#state === 'cancelled') return this.done();
    if (this.#state !== 'running' && this.#state !== 'paused') return this.refuse('cancel');
    const t = this.clock(now);
    this.#revision++;
    this.#state = 'cancelled';
    this.haltedAt = t;
    this.cancelPending(t);
    this.haltApplied = true;
    return this.done();
  }

  private withdraw(deviceId: unknown, now: number): ProgressResult {
    if (typeof deviceId !== 'string') return fail('INVALID_ARGUMENT', 400, `withdraw: deviceId must be the id of a device of the plan, got ${describe(deviceId)}`);
    const i = this.index.get(deviceId);
    if (i === undefined) return fail('DEVICE_NOT_FOUND', 404, `Device ${JSON.stringify(deviceId)} is not part of rollout ${this.plan.rolloutId}; nothing to withdraw`, { deviceId });
    if ((this.flags[i]! & WITHDRAWN) !== 0) return this.done();
    const t = this.clock(now);
    this.#revision++;
    this.flags[i]! |= WITHDRAWN;
    const code = this.status[i]!;
    const open = code === DISPATCHED || code === INSTALLING || code === BOOTING;
    if (!open && code !== PENDING && code !== CANCELLED) return this.done(); // an outcome stays
    if (code !== CANCELLED) this.move(i, CANCELLED, t);
    const s = this.stageOf[i]!;
    this.withdrawn[s]!++;
    this.resize(s, t);
    return { ok: true, state: this.#state, effects: open ? { ...NO_EFFECTS, cancel: [this.ref(i)] } : NO_EFFECTS };
  }

  private rollback(stages: unknown, now: number): ProgressResult {
    const last = this.plan.stages.length - 1;
    const started = Array.from({ length: Math.min(this.#stage, last) + 1 }, (_, i) => i);
    const chosen: unknown = stages ?? started;
    // Array.from turns holes into undefined: every() alone would skip them.
    if (!Array.isArray(chosen) || !Array.from(chosen).every((s) => Number.isInteger(s) && s >= 0 && s <= last)) {
      return fail('INVALID_ARGUMENT', 400, `rollback stages must be stage indices 0–${last}, got ${describe(stages)}`);
    }
    // An abort configured to roll back, latched but not applied yet, still rolls back every started stage.
    const owed = this.#state === 'aborted' && !this.haltApplied && this.plan.abort.onAbort === 'rollback';
    const stagesToRoll = owed ? [...new Set([...(chosen as number[]), ...started])] : (chosen as number[]);
    const t = this.clock(now);
    this.#revision++;
    // Queued jobs are withdrawn even after a cancel (which let them run): the image is being undone.
    const cancel = this.queuedJobs();
    for (const i of cancel) this.move(i, CANCELLED, t);
    if (!this.haltApplied) this.cancelPending(t);
    this.haltApplied = true;
    if (this.#state !== 'rolled_back') this.haltedAt = t;
    this.#state = 'rolled_back';
    const rollBack: RollbackRef[] = [];
    for (const s of stagesToRoll) {
      this.rollbackStages[s] = 1;
      const stage = this.plan.stages[s]!;
      for (let i = stage.start; i < stage.end; i++) {
        const f = this.flags[i]!;
        if ((f & HAS_NEW) !== 0 && (f & (ROLLBACK_SCHEDULED | WITHDRAWN)) === 0) rollBack.push(this.scheduleRollback(i));
      }
    }
    return { ok: true, state: this.#state, effects: { dispatch: EMPTY, cancel: cancel.map((i) => this.ref(i)), rollBack, expire: EMPTY } };
  }
}

/** @internal The per-status counts of one stage. */
export function countsOf(counts: Int32Array, stage: number): Record<DeviceStatus, number> {
  const c = (code: number): number => counts[stage * CODE_COUNT + code]!;
  return {
    pending: c(PENDING),
    dispatched: c(DISPATCHED),
    in_progress: c(INSTALLING) + c(BOOTING),
    succeeded: c(SUCCEEDED),
    failed: c(FAILED),
    rejected: c(REJECTED),
    timed_out: c(TIMED_OUT),
    rolled_back: c(ROLLED_BACK),
    unreachable: c(UNREACHABLE),
    cancelled: c(CANCELLED),
  };
}

/**
 * Creates the tracker for a plan: every device `pending`, stage 0 current, state `running`.
 * O(devices) once; every later report is O(1).
 *
 * @param plan - a plan from `planRollout` (or restored from its JSON; see `rolloutPlanSchema`)
 * @returns a new {@link RolloutProgress}, owned by the caller
 * @throws FleetError `INVALID_PLAN` (400) for a plan whose fields, stage ranges or device ids
 *   are not what `planRollout` produces; nothing is built on a corrupt plan.
 * @example
 * ```ts
 * const progress = createRolloutProgress(plan);
 * const { effects } = stepRollout(plan, progress, { now: clock.now() });
 * ```
 */
export function createRolloutProgress(plan: RolloutPlan): RolloutProgress {
  return new RolloutProgress(plan);
}
