/**
 * Saving and restoring the rollout tracker: a JSON snapshot of everything a
 * {@link RolloutProgress} holds, so a service can keep it in a store and rebuild the tracker
 * after a restart — with the same revision, so a decision computed before the save still applies
 * after the restore, and one computed on another revision is still refused.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { describeValue as describe } from '../describe-value.js';
import type { AbortVerdict } from './abort-rules.js';
import { murmur3Utf8 } from './murmur3.js';
import type { RolloutPlan } from './plan.js';
import { requiredSuccesses } from './plan.js';
import { createRolloutProgress, HAS_NEW, restoreCore, ROLLBACK_SCHEDULED, WAS_DISPATCHED, WITHDRAWN, type DeadlineQueue, type RolloutProgress, type RolloutState } from './progress.js';
import { BOOTING, CANCELLED, CODE_COUNT, DISPATCHED, INSTALLING, PENDING } from './status.js';

/** The `format` of a tracker snapshot. */
export const ROLLOUT_PROGRESS_SNAPSHOT_FORMAT = 'fleetkit.rollout-progress';
/** The snapshot format version this fleetkit writes and reads. */
export const ROLLOUT_PROGRESS_SNAPSHOT_VERSION = 1;

/** Entries of one deadline queue: device indices and due times (epoch ms), in queue order. */
export interface SnapshotQueue {
  readonly ids: readonly number[];
  readonly due: readonly number[];
}

/**
 * A tracker as JSON (every field a JSON value; `JSON.parse(JSON.stringify(s))` is the same
 * snapshot). Per-device state is two strings with one character per device, in plan order.
 */
export interface RolloutProgressSnapshot {
  readonly format: typeof ROLLOUT_PROGRESS_SNAPSHOT_FORMAT;
  readonly version: typeof ROLLOUT_PROGRESS_SNAPSHOT_VERSION;
  /** The plan's rollout id. */
  readonly rolloutId: string;
  /** Fingerprint of the plan (devices, stages, firmware): a snapshot restores onto its own plan only. */
  readonly planHash: string;
  /** Number of devices in the plan. */
  readonly devices: number;
  /** The tracker's revision at the save. */
  readonly revision: number;
  readonly state: RolloutState;
  readonly stage: number;
  readonly abort: AbortVerdict | null;
  /** The latest time the tracker had seen, or `null` before any. */
  readonly now: number | null;
  readonly pausedAt: number | null;
  readonly haltedAt: number | null;
  readonly haltApplied: boolean;
  /** One character per device: its internal status code in base 36. */
  readonly status: string;
  /**
   * One character per device: its flag bits (1 dispatched, 2 runs the new image, 4 rollback
   * scheduled, 8 withdrawn) in base 16. Snapshots written before withdrawal existed hold only
   * 0–7 and restore unchanged; a snapshot with a withdrawn device (8–f) is refused by a fleetkit
   * that predates withdrawal.
   */
  readonly flags: string;
  /** Per stage: the next possibly-pending device index. */
  readonly cursor: readonly number[];
  /** Per stage: the first dispatch, or `null`. */
  readonly startedAt: readonly (number | null)[];
  /** Per stage: when it reached its success threshold, or `null`. */
  readonly thresholdAt: readonly (number | null)[];
  /** Per stage: 1 when under rollback. */
  readonly rollbackStages: readonly (0 | 1)[];
  readonly queues: { readonly pickup: SnapshotQueue; readonly run: SnapshotQueue; readonly boot: SnapshotQueue };
  /** Dispatch batches still inside the rate-limit window. */
  readonly rate: { readonly times: readonly number[]; readonly counts: readonly number[] };
}

const finite = z.number().finite();
const nat = z.number().int().nonnegative();
const queueSchema = z.strictObject({ ids: z.array(nat), due: z.array(finite) });
const abortSchema = z.strictObject({
  stage: nat,
  rule: z.enum(['failure-rate', 'min-sample', 'max-failures']),
  failures: nat,
  total: nat,
  decided: nat,
  at: finite,
  reason: z.string(),
});

/** The shape of a {@link RolloutProgressSnapshot} (the fields' meaning is checked against the plan by {@link restoreRolloutProgress}). */
export const rolloutProgressSnapshotSchema = z.strictObject({
  format: z.literal(ROLLOUT_PROGRESS_SNAPSHOT_FORMAT),
  version: z.literal(ROLLOUT_PROGRESS_SNAPSHOT_VERSION),
  rolloutId: z.string(),
  planHash: z.string(),
  devices: nat,
  revision: nat,
  state: z.enum(['running', 'paused', 'aborted', 'cancelled', 'rolled_back', 'completed']),
  stage: nat,
  abort: abortSchema.nullable(),
  now: finite.nullable(),
  pausedAt: finite.nullable(),
  haltedAt: finite.nullable(),
  haltApplied: z.boolean(),
  status: z.string().regex(/^[0-9a]*$/, 'one status code (0-9, a) per device'),
  flags: z.string().regex(/^[0-9a-f]*$/, 'one flag digit (0-9, a-f) per device'),
  cursor: z.array(nat),
  startedAt: z.array(finite.nullable()),
  thresholdAt: z.array(finite.nullable()),
  rollbackStages: z.array(z.union([z.literal(0), z.literal(1)])),
  queues: z.strictObject({ pickup: queueSchema, run: queueSchema, boot: queueSchema }),
  rate: z.strictObject({ times: z.array(finite), counts: z.array(z.number().int().positive()) }),
});

// Plans never change (a tracker holds its plan): their fingerprint is computed once.
const hashes = new WeakMap<RolloutPlan, string>();

/** @internal A fingerprint of what a tracker's arrays are indexed by. */
export function planHash(plan: RolloutPlan): string {
  let h = hashes.get(plan);
  if (h === undefined) {
    h = computePlanHash(plan);
    hashes.set(plan, h);
  }
  return h;
}

function computePlanHash(plan: RolloutPlan): string {
  const parts: string[] = [plan.rolloutId, plan.firmware.version, String(plan.devices.length)];
  for (const s of plan.stages) parts.push(`${s.start}-${s.end}`);
  for (const d of plan.devices) parts.push(`${d.id}\u0001${d.tenantId}\u0001${d.stage}\u0001${d.fromVersion}`);
  const text = parts.join('\u0000');
  return `${murmur3Utf8(text, 0).toString(16).padStart(8, '0')}${murmur3Utf8(text, 0x9e3779b9).toString(16).padStart(8, '0')}`;
}

const nullable = (v: number): number | null => (Number.isNaN(v) ? null : v);
/** Character codes of the base-36 digits 0–9, a–z (status codes are below 11, flag bits below 16). */
const DIGITS = Uint8Array.from('0123456789abcdefghijklmnopqrstuvwxyz', (c) => c.charCodeAt(0));

function queueOf(q: DeadlineQueue): SnapshotQueue {
  return { ids: Array.from(q.ids.subarray(q.head, q.length)), due: Array.from(q.due.subarray(q.head, q.length)) };
}

/**
 * Saves a tracker as a JSON snapshot: O(devices). Pure; the tracker is not changed.
 *
 * @param progress - a tracker from `createRolloutProgress` (or a restored one)
 * @returns the snapshot, a JSON value; store it with the plan (the snapshot does not contain the plan)
 * @throws FleetError `INVALID_ARGUMENT` when `progress` is not a tracker.
 * @example
 * ```ts
 * await store.save(rolloutId, JSON.stringify(saveRolloutProgress(progress)));
 * // later, in another process:
 * const progress = restoreRolloutProgress(plan, JSON.parse(await store.load(rolloutId)));
 * ```
 */
export function saveRolloutProgress(progress: RolloutProgress): RolloutProgressSnapshot {
  const p = progress as Partial<RolloutProgress> | null;
  if (typeof p !== 'object' || p === null || !(p.status instanceof Uint8Array) || typeof p.plan !== 'object') {
    throw new FleetError('INVALID_ARGUMENT', 'saveRolloutProgress(progress): expected a tracker from createRolloutProgress', { status: 400 });
  }
  const core = progress.core;
  // One ASCII digit per device, built as bytes and decoded once (string concatenation is far slower at fleet size).
  const n = progress.status.length;
  const statusBytes = new Uint8Array(n);
  const flagBytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    statusBytes[i] = DIGITS[progress.status[i]!]!;
    flagBytes[i] = DIGITS[progress.flags[i]!]!;
  }
  const ascii = new TextDecoder();
  const status = ascii.decode(statusBytes);
  const flags = ascii.decode(flagBytes);
  return {
    format: ROLLOUT_PROGRESS_SNAPSHOT_FORMAT,
    version: ROLLOUT_PROGRESS_SNAPSHOT_VERSION,
    rolloutId: progress.plan.rolloutId,
    planHash: planHash(progress.plan),
    devices: progress.plan.devices.length,
    revision: core.revision,
    state: core.state,
    stage: core.stage,
    abort: core.abort === undefined ? null : { ...core.abort },
    now: progress.lastNow === -Infinity ? null : progress.lastNow,
    pausedAt: progress.pausedAt ?? null,
    haltedAt: progress.haltedAt ?? null,
    haltApplied: progress.haltApplied,
    status,
    flags,
    cursor: Array.from(progress.cursor),
    startedAt: Array.from(progress.startedAt, nullable),
    thresholdAt: Array.from(progress.thresholdAt, nullable),
    rollbackStages: Array.from(progress.rollbackStages, (v) => (v === 1 ? 1 : 0)),
    queues: { pickup: queueOf(progress.pickupQueue), run: queueOf(progress.runQueue), boot: queueOf(progress.bootQueue) },
    rate: { times: progress.rateTimes.slice(progress.rateHead), counts: progress.rateCounts.slice(progress.rateHead) },
  };
}

function corrupt(message: string, details?: Record<string, unknown>): FleetError {
  return new FleetError('INVALID_SNAPSHOT', `restoreRolloutProgress: ${message}`, { status: 400, ...(details === undefined ? {} : { details }) });
}

/** Checks one queue against the statuses and loads it. */
function loadQueue(name: string, q: SnapshotQueue, into: DeadlineQueue, status: Uint8Array): void {
  const n = status.length;
  if (q.ids.length !== q.due.length) throw corrupt(`queues.${name}: ids and due differ in length (${q.ids.length} vs ${q.due.length})`);
  if (q.ids.length > n) throw corrupt(`queues.${name}: ${q.ids.length} entries for ${n} devices`);
  const seen = new Uint8Array(n);
  let last = -Infinity;
  for (let k = 0; k < q.ids.length; k++) {
    const i = q.ids[k]!;
    const due = q.due[k]!;
    if (i >= n) throw corrupt(`queues.${name}.ids.${k}: device index ${i} is outside the plan's ${n} devices`);
    if (seen[i] === 1) throw corrupt(`queues.${name}.ids.${k}: device index ${i} is queued twice`);
    if (due < last) throw corrupt(`queues.${name}.due.${k}: due times must not decrease`);
    seen[i] = 1;
    last = due;
    into.push(i, due);
  }
  // Every device in the queue's status must be in the queue, or its deadline would never fire.
  for (let i = 0; i < n; i++) {
    if (status[i] === into.live && seen[i] !== 1) throw corrupt(`queues.${name}: device index ${i} has the queue's status but no deadline entry`);
  }
  into.trim(status);
}

/**
 * Rebuilds a tracker from {@link saveRolloutProgress}'s snapshot and the plan it was made for.
 * The restored tracker behaves exactly as the saved one did: the same statuses, counters,
 * deadlines, rate-limit window, state, stage, abort verdict and revision, so every later report,
 * evaluation, decision and operator action gives the same result on both. O(devices).
 *
 * @param plan - the tracker's plan (from `planRollout`, or restored with `rolloutPlanSchema`)
 * @param snapshot - a snapshot (a JSON value, e.g. after `JSON.parse`)
 * @returns a new tracker
 * @throws FleetError `INVALID_SNAPSHOT` (400) for a snapshot that is not one, of another format
 *   version, of another plan (rollout id, devices or stages differ), or whose fields contradict
 *   each other or the plan; `INVALID_PLAN` for a plan that is not one `planRollout` produced.
 */
export function restoreRolloutProgress(plan: RolloutPlan, snapshot: unknown): RolloutProgress {
  const version = (snapshot as { version?: unknown } | null)?.version;
  const format = (snapshot as { format?: unknown } | null)?.format;
  if (format === ROLLOUT_PROGRESS_SNAPSHOT_FORMAT && version !== ROLLOUT_PROGRESS_SNAPSHOT_VERSION) {
    throw corrupt(`the snapshot has format version ${describe(version)}; this fleetkit reads version ${ROLLOUT_PROGRESS_SNAPSHOT_VERSION}`, { version: typeof version === 'number' || typeof version === 'string' ? version : describe(version) });
  }
  const parsed = rolloutProgressSnapshotSchema.safeParse(snapshot);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw corrupt(`not a tracker snapshot: ${i === undefined ? 'invalid' : `${i.path.map(String).join('.') || '(root)'}: ${i.message}`}; pass what saveRolloutProgress returned`, {
      issues: parsed.error.issues.slice(0, 10).map((x) => ({ path: x.path.map(String).join('.'), message: x.message })),
    });
  }
  const s = parsed.data;
  const progress = createRolloutProgress(plan);
  const n = plan.devices.length;
  const k = plan.stages.length;
  if (s.rolloutId !== plan.rolloutId) throw corrupt(`the snapshot is of rollout ${JSON.stringify(s.rolloutId)}, not ${JSON.stringify(plan.rolloutId)}`);
  if (s.devices !== n || s.planHash !== planHash(progress.plan)) throw corrupt(`the snapshot was saved for another plan of rollout ${JSON.stringify(plan.rolloutId)} (devices or stages differ)`);
  if (s.status.length !== n || s.flags.length !== n) throw corrupt(`status and flags must have one character per device (${n})`);
  for (const [name, arr] of [['cursor', s.cursor], ['startedAt', s.startedAt], ['thresholdAt', s.thresholdAt], ['rollbackStages', s.rollbackStages]] as const) {
    if (arr.length !== k) throw corrupt(`${name} must have one entry per stage (${k}), got ${arr.length}`);
  }
  if (s.stage > Math.max(0, k - 1)) throw corrupt(`stage ${s.stage} is outside the plan's ${k} stages`);
  if (s.rate.times.length !== s.rate.counts.length) throw corrupt('rate.times and rate.counts differ in length');
  if (s.state === 'paused' && s.pausedAt === null) throw corrupt('a paused rollout needs pausedAt');
  if ((s.state === 'aborted') && s.abort === null) throw corrupt('an aborted rollout needs its abort verdict');

  const { status, flags, counts, failures, dispatched, stageOf, failureCode, withdrawn } = progress;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const sc = s.status.charCodeAt(i);
    const code = sc <= 57 ? sc - 48 : sc - 87; // '0'–'9', then 'a' = 10 (the schema allows nothing else)
    const fc = s.flags.charCodeAt(i);
    const f = fc <= 57 ? fc - 48 : fc - 87; // '0'–'9', then 'a'–'f' (the schema allows nothing else)
    const wasDispatched = (f & WAS_DISPATCHED) !== 0;
    if ((code === PENDING && f !== 0) || (code !== PENDING && code !== CANCELLED && !wasDispatched)) {
      throw corrupt(`device index ${i} (${plan.devices[i]!.id}): status ${s.status[i]} contradicts its flags ${f}`);
    }
    if ((f & (HAS_NEW | ROLLBACK_SCHEDULED)) !== 0 && !wasDispatched) throw corrupt(`device index ${i} (${plan.devices[i]!.id}) has image flags but was never dispatched`);
    const isWithdrawn = (f & WITHDRAWN) !== 0;
    if (isWithdrawn && (code === DISPATCHED || code === INSTALLING || code === BOOTING)) {
      throw corrupt(`device index ${i} (${plan.devices[i]!.id}) is withdrawn but its status ${s.status[i]} is still open (a withdrawn device is cancelled or keeps its outcome)`);
    }
    status[i] = code;
    flags[i] = f;
    const st = stageOf[i]!;
    counts[st * CODE_COUNT + code]!++;
    if (failureCode[code] === 1) failures[st]!++;
    if (wasDispatched) dispatched[st]!++;
    if (isWithdrawn && code === CANCELLED) withdrawn[st]!++;
  }
  for (const stage of plan.stages) {
    const c = s.cursor[stage.index]!;
    if (c < stage.start || c > stage.end) throw corrupt(`cursor.${stage.index} (${c}) is outside stage ${stage.index}'s devices ${stage.start}–${stage.end}`);
    for (let i = stage.start; i < c; i++) if (status[i] === PENDING) throw corrupt(`cursor.${stage.index} (${c}) skips pending device index ${i}`);
    progress.cursor[stage.index] = c;
    progress.startedAt[stage.index] = s.startedAt[stage.index] ?? Number.NaN;
    progress.thresholdAt[stage.index] = s.thresholdAt[stage.index] ?? Number.NaN;
    progress.rollbackStages[stage.index] = s.rollbackStages[stage.index]!;
    progress.required[stage.index] = requiredSuccesses(stage.size - withdrawn[stage.index]!, stage.successThreshold);
  }
  loadQueue('pickup', s.queues.pickup, progress.pickupQueue, status);
  loadQueue('run', s.queues.run, progress.runQueue, status);
  loadQueue('boot', s.queues.boot, progress.bootQueue, status);
  progress.rateTimes.push(...s.rate.times);
  progress.rateCounts.push(...s.rate.counts);
  progress.haltApplied = s.haltApplied;
  progress.pausedAt = s.pausedAt ?? undefined;
  progress.haltedAt = s.haltedAt ?? undefined;
  progress.lastNow = s.now ?? -Infinity;
  restoreCore(progress, { state: s.state, stage: s.stage, revision: s.revision, abort: s.abort ?? undefined });
  return progress;
}
