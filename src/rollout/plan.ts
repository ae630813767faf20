/**
 * The planner: from a spec and a fleet to an ordered, staged list of devices.
 */
import type { z } from 'zod';
import { FleetError } from '../errors.js';
import { COHORT_COUNT, cohortLimit, cohortOf } from './cohort.js';
import { checkPlan } from './plan-schema.js';
import { plural } from './words.js';
import {
  DEFAULT_STAGES,
  DEFAULT_SUCCESS_THRESHOLD,
  SKIPPED_STATES,
  defaultSoakMs,
  resolveAbortCriteria,
  resolveDeadlines,
  rolloutDeviceSchema,
  rolloutSpecSchema,
} from './spec.js';
import type {
  Firmware,
  MaintenanceWindow,
  RateLimit,
  ResolvedAbortCriteria,
  ResolvedDeadlines,
  RolloutDevice,
  RolloutSpec,
  RolloutSpecInput,
  StageSpec,
  TargetFilter,
} from './spec.js';

/** Why the planner left a device out. */
export type SkipReason = 'decommissioned' | 'maintenance' | 'not-targeted' | 'already-on-target';

/** A device the planner left out, and why. */
export interface SkippedDevice {
  readonly id: string;
  readonly tenantId: string;
  readonly reason: SkipReason;
}

/** How many devices were skipped, by reason, and which. */
export interface SkipSummary {
  readonly total: number;
  readonly byReason: Readonly<Record<SkipReason, number>>;
  /** The skipped devices in (cohort, id) order, so the order of the input fleet does not matter. */
  readonly devices: readonly SkippedDevice[];
}

/** One device in the plan, in dispatch order. */
export interface PlannedDevice {
  readonly id: string;
  readonly tenantId: string;
  /** The device's cohort under the plan's seed. */
  readonly cohort: number;
  /** Index of the stage the device belongs to. */
  readonly stage: number;
  /** The version it runs now; a rollback restores it. */
  readonly fromVersion: string;
}

/** One stage of the plan. Stage `i` holds `plan.devices.slice(start, end)`. */
export interface PlannedStage {
  readonly index: number;
  readonly name: string;
  /** Cumulative percent requested (percent stages). */
  readonly percent?: number | undefined;
  /** Cumulative count requested (count stages). */
  readonly count?: number | undefined;
  /**
   * Cumulative number of devices the request asked for, before the one-device minimum (and, when
   * re-planning with `previous`, before the room kept for the stage's previous devices).
   */
  readonly requested: number;
  /** First device index (inclusive) in `plan.devices`. */
  readonly start: number;
  /** Last device index (exclusive) in `plan.devices`; `end` is the cumulative size. */
  readonly end: number;
  /** Devices new in this stage (`end - start`, at least 1). */
  readonly size: number;
  /** True when the request would have added no device and the stage was given one. */
  readonly raisedToOne: boolean;
  readonly minSoakMs: number;
  readonly successThreshold: number;
  /** Smallest number of successes s with s / size ≥ successThreshold. */
  readonly requiredSuccesses: number;
}

/** The output of {@link planRollout}: plain JSON-serialisable data. */
export interface RolloutPlan {
  readonly rolloutId: string;
  readonly firmware: Firmware;
  readonly seed: string;
  /** Every device that will be updated, ordered by (stage, cohort, id). */
  readonly devices: readonly PlannedDevice[];
  /** Non-empty stages only; see `notes` for stages that were dropped or raised. */
  readonly stages: readonly PlannedStage[];
  readonly skipped: SkipSummary;
  readonly abort: ResolvedAbortCriteria;
  readonly deadlines: ResolvedDeadlines;
  readonly rateLimit?: RateLimit | undefined;
  readonly maintenanceWindows: readonly MaintenanceWindow[];
  /** Human-readable remarks about adjustments the planner made. */
  readonly notes: readonly string[];
}

const specWithoutDevices = rolloutSpecSchema.omit({ devices: true });

function invalid(message: string, issues?: readonly z.core.$ZodIssue[], path = 'spec'): FleetError {
  const first = issues?.[0];
  const where = first === undefined ? path : [path, ...first.path.map(String)].join('.');
  return new FleetError('INVALID_PLAN', first === undefined ? message : `${message}: ${where}: ${first.message}`, {
    status: 400,
    details: { issues: issues?.slice(0, 10).map((i) => ({ path: i.path.map(String), message: i.message })) ?? [] },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isText(value: unknown, max: number): value is string {
  return typeof value === 'string' && value.length >= 1 && value.length <= max;
}

/**
 * A fast check that accepts only what {@link rolloutDeviceSchema} accepts (never more), so a
 * million devices validate in milliseconds; anything it refuses goes through the schema, which
 * either accepts it or produces the error message.
 */
function quickDevice(value: unknown): value is RolloutDevice {
  if (!isRecord(value)) return false;
  if (!isText(value['id'], 256) || !isText(value['tenantId'], 256)) return false;
  if (!isText(value['firmware'], 128) || !isText(value['state'], 64)) return false;
  const tags = value['tags'];
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((t) => typeof t === 'string'))) return false;
  const attributes = value['attributes'];
  if (attributes === undefined) return true;
  if (!isRecord(attributes) || Object.getPrototypeOf(attributes) !== Object.prototype) return false;
  for (const key of Object.keys(attributes)) {
    const v = attributes[key];
    if (typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) return false;
  }
  return true;
}

/** @internal Validates the devices array, quickly for well-formed devices. */
export function parseDevices(value: unknown): RolloutDevice[] {
  if (!Array.isArray(value)) throw invalid('spec.devices must be an array of devices');
  const out: RolloutDevice[] = new Array<RolloutDevice>(value.length);
  for (let i = 0; i < value.length; i++) {
    const d: unknown = value[i];
    if (quickDevice(d)) {
      out[i] = d;
      continue;
    }
    const parsed = rolloutDeviceSchema.safeParse(d);
    if (!parsed.success) throw invalid('Invalid device in the rollout spec', parsed.error.issues, `spec.devices.${i}`);
    out[i] = parsed.data;
  }
  return out;
}

function hasOwn(record: Readonly<Record<string, unknown>> | undefined, key: string): boolean {
  return record !== undefined && Object.prototype.hasOwnProperty.call(record, key);
}

function matchesTarget(device: RolloutDevice, target: TargetFilter | undefined): boolean {
  if (target === undefined) return true;
  if (target.tenantIds !== undefined && !target.tenantIds.includes(device.tenantId)) return false;
  if (target.fromVersions !== undefined && !target.fromVersions.includes(device.firmware)) return false;
  const tags = device.tags ?? [];
  if (target.tags !== undefined && !target.tags.every((t) => tags.includes(t))) return false;
  if (target.anyTags !== undefined && !target.anyTags.some((t) => tags.includes(t))) return false;
  if (target.attributes !== undefined) {
    for (const [key, want] of Object.entries(target.attributes)) {
      if (!hasOwn(device.attributes, key) || device.attributes?.[key] !== want) return false;
    }
  }
  return true;
}

/** Why a device is skipped, or undefined when it is eligible. States take precedence, then the filter, then the version. */
function skipReason(device: RolloutDevice, spec: RolloutSpec): SkipReason | undefined {
  if (SKIPPED_STATES.includes(device.state)) return device.state as SkipReason;
  if (!matchesTarget(device, spec.target)) return 'not-targeted';
  if (device.firmware === spec.firmware.version) return 'already-on-target';
  return undefined;
}


function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Orders every device by (cohort, id) — never in creation order — and rejects duplicate ids,
 * which that order makes adjacent. Large fleets use a counting sort on the cohort (O(n) plus a
 * pass over the 10,000 cohorts); small ones a comparison sort, cheaper below about 1,000 devices.
 *
 * @param where - names the list in the duplicate-id error
 * @returns device indices in order
 */
function orderByCohort(devices: readonly { readonly id: string }[], cohorts: Int32Array, where: string): Int32Array {
  const n = cohorts.length;
  const byId = (a: number, b: number): number => compareIds(devices[a]!.id, devices[b]!.id);
  // Duplicates are adjacent in the order; checked right after sorting, while the ids are in cache.
  const checkUnique = (from: number, to: number): void => {
    for (let k = from + 1; k < to; k++) {
      const id = devices[order[k]!]!.id;
      if (id === devices[order[k - 1]!]!.id) throw invalid(`Device id ${JSON.stringify(id)} appears more than once in ${where}; ids must be unique`);
    }
  };
  let order: Int32Array;
  if (n < COUNTING_SORT_FROM) {
    order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => cohorts[a]! - cohorts[b]! || byId(a, b));
    checkUnique(0, n);
    return order;
  }
  const below = new Int32Array(COHORT_COUNT + 1);
  for (let i = 0; i < n; i++) below[cohorts[i]! + 1]!++;
  for (let c = 1; c <= COHORT_COUNT; c++) below[c]! += below[c - 1]!;
  const next = below.slice();
  order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[next[cohorts[i]!]!++] = i;
  for (let c = 0; c < COHORT_COUNT; c++) {
    const from = below[c]!;
    const to = below[c + 1]!;
    if (to - from < 2) continue;
    order.subarray(from, to).sort(byId);
    checkUnique(from, to);
  }
  return order;
}

/** Fleets from this size are ordered with a counting sort on the cohort. */
const COUNTING_SORT_FROM = 1_024;

/** How many of the first `length` values of the non-decreasing `sorted` are below `limit` (binary search). */
function countBelow(sorted: Int32Array, length: number, limit: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function checkStagesGrow(stages: readonly StageSpec[]): void {
  let lastPercent = 0;
  let lastCount = 0;
  stages.forEach((s, i) => {
    if (s.percent !== undefined) {
      if (s.percent <= lastPercent) throw invalid(`Stage ${i + 1} (${s.percent} %) must be larger than the stage before it (${lastPercent} %): stages are cumulative`);
      lastPercent = s.percent;
    }
    if (s.count !== undefined) {
      if (s.count <= lastCount) throw invalid(`Stage ${i + 1} (${plural(s.count, 'device')}) must be larger than the stage before it (${plural(lastCount, 'device')}): stages are cumulative`);
      lastCount = s.count;
    }
  });
}

function stageLabel(s: StageSpec): string {
  return s.percent !== undefined ? `${s.percent} %` : plural(s.count ?? 0, 'device');
}

/**
 * @internal Smallest s with s / size ≥ threshold (computed with the same division the evaluator
 * uses); 0 for an empty stage. The tracker applies it again to a stage's remaining devices when
 * devices are withdrawn.
 */
export function requiredSuccesses(size: number, threshold: number): number {
  let s = Math.max(0, Math.floor(threshold * size) - 1);
  while (s < size && s / size < threshold) s++;
  return s;
}

function summariseSkips(skipped: SkippedDevice[], version: string, notes: string[]): SkipSummary {
  const byReason: Record<SkipReason, number> = { decommissioned: 0, maintenance: 0, 'not-targeted': 0, 'already-on-target': 0 };
  for (const s of skipped) byReason[s.reason]++;
  if (skipped.length > 0) {
    const parts = [
      byReason['already-on-target'] > 0 ? `${byReason['already-on-target']} already on ${version}` : '',
      byReason['not-targeted'] > 0 ? `${byReason['not-targeted']} outside the target filter` : '',
      byReason.maintenance > 0 ? `${byReason.maintenance} in maintenance` : '',
      byReason.decommissioned > 0 ? `${byReason.decommissioned} decommissioned` : '',
    ].filter((p) => p !== '');
    notes.push(`skipped ${plural(skipped.length, 'device')}: ${parts.join(', ')}`);
  }
  return { total: skipped.length, byReason, devices: skipped };
}

function parseSpec(input: unknown): RolloutSpec {
  if (!isRecord(input)) throw invalid('planRollout(spec) needs a spec object');
  const { devices, ...rest } = input;
  const parsed = specWithoutDevices.safeParse(rest);
  if (!parsed.success) throw invalid('Invalid rollout spec', parsed.error.issues);
  return { ...parsed.data, devices: parseDevices(devices) };
}

const SKIP_CODES: readonly SkipReason[] = ['decommissioned', 'maintenance', 'not-targeted', 'already-on-target'];

/** The skip reason as a code: 0 = eligible, else 1 + its index in SKIP_CODES. */
function skipCode(device: RolloutDevice, spec: RolloutSpec): number {
  const reason = skipReason(device, spec);
  return reason === undefined ? 0 : 1 + SKIP_CODES.indexOf(reason);
}

/**
 * The device as the planner judges it: a device of the previous plan that runs the target
 * already was (most likely) updated by this rollout, so it is planned as if it still ran the
 * version a rollback restores.
 */
function effectiveDevice(device: RolloutDevice, i: number, previous: RolloutPlan | undefined, match: Int32Array | undefined, target: string): RolloutDevice {
  if (match === undefined || match[i]! < 0 || device.firmware !== target) return device;
  return { ...device, firmware: previous!.devices[match[i]!]!.fromVersion };
}

/** Options of {@link planRollout}. */
export interface PlanRolloutOptions {
  /**
   * The plan of the running rollout this plan replaces (re-planning after the fleet changed),
   * made with the same `rolloutId` and seed. Every device of it that is still eligible keeps its
   * stage or moves to an earlier one — raised canaries and count stages included — and keeps its
   * `fromVersion` when it already runs the target version; new devices are placed by cohort.
   */
  readonly previous?: RolloutPlan | undefined;
}

const PREVIOUS = 'planRollout(spec, { previous })';

/** The previous plan, after checking that `options` holds a plan of this rollout, or undefined. */
function previousPlan(options: unknown, rolloutId: string, seed: string): RolloutPlan | undefined {
  if (options === undefined) return undefined;
  if (!isRecord(options)) {
    throw new FleetError('INVALID_ARGUMENT', `planRollout(spec, options): options must be an object like { previous: plan }, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`, {
      status: 400,
    });
  }
  const unknown = Object.keys(options).filter((k) => k !== 'previous');
  if (unknown.length > 0) {
    throw new FleetError('INVALID_ARGUMENT', `planRollout(spec, options): unknown option ${JSON.stringify(unknown[0])}; the only option is previous`, { status: 400, details: { option: unknown[0] } });
  }
  const previous: unknown = options['previous'];
  if (previous === undefined) return undefined;
  checkPlan(previous, PREVIOUS);
  if (previous.rolloutId !== rolloutId) {
    throw invalid(`${PREVIOUS}: the previous plan is for rollout ${JSON.stringify(previous.rolloutId)}, not ${JSON.stringify(rolloutId)}; pass the plan of the rollout being re-planned`);
  }
  if (previous.seed !== seed) {
    throw invalid(`${PREVIOUS}: the previous plan was made with seed ${JSON.stringify(previous.seed)}, this spec gives ${JSON.stringify(seed)}; keep the seed of a running rollout (cohorts depend on it)`);
  }
  return previous;
}

/**
 * For each device of the fleet, the index of the same device in `previous.devices`, or -1.
 * Both lists are walked in (cohort, id) order, so matching is a linear merge (no map of a
 * million ids). Every cohort of the previous plan is recomputed: an edited one is refused.
 */
function matchPrevious(previous: RolloutPlan, seed: string, all: readonly RolloutDevice[], cohorts: Int32Array, order: Int32Array): Int32Array {
  const before = previous.devices;
  const prevCohorts = new Int32Array(before.length);
  for (let j = 0; j < before.length; j++) {
    const d = before[j]!;
    const c = cohortOf(seed, d.id);
    if (c !== d.cohort) throw invalid(`${PREVIOUS}: plan.devices.${j}.cohort is ${d.cohort}, but ${JSON.stringify(d.id)} has cohort ${c} under the plan's seed; pass the plan returned by planRollout, unchanged`);
    prevCohorts[j] = c;
  }
  const prevOrder = orderByCohort(before, prevCohorts, 'the previous plan');
  const match = new Int32Array(all.length).fill(-1);
  let j = 0;
  for (let k = 0; k < order.length && j < prevOrder.length; k++) {
    const i = order[k]!;
    const c = cohorts[i]!;
    const id = all[i]!.id;
    // Skip previous devices that sort before this one (they left the fleet).
    while (j < prevOrder.length && (prevCohorts[prevOrder[j]!]! < c || (prevCohorts[prevOrder[j]!] === c && before[prevOrder[j]!]!.id < id))) j++;
    if (j < prevOrder.length && prevCohorts[prevOrder[j]!] === c && before[prevOrder[j]!]!.id === id) match[i] = prevOrder[j++]!;
  }
  return match;
}

/**
 * Plans a staged rollout: validates the spec, skips devices that must not or need not be
 * updated (saying how many and why), assigns every other device its sticky cohort and splits
 * them into cumulative stages in (cohort, id) order.
 *
 * A percent stage holds the devices whose cohort is below `percent × 100`; a count stage holds
 * the first `count` devices in that order. A stage that would add no device gets one (and
 * `notes` says so); stages left with no device at all are dropped (and `notes` says so). The
 * plan depends on the fleet as a set: any order of `spec.devices` gives the same plan.
 *
 * Re-planning a running rollout (devices joined or left): pass its plan as `previous`. Every
 * device of it that is still eligible stays in its stage or an earlier one; a device that already
 * runs the target version stays too (it is planned with its previous `fromVersion`, the version a
 * rollback restores); new devices are placed by cohort. Without `previous` only percent stages
 * are sticky (see the guide, docs/rollout.md).
 *
 * @param spec - the rollout spec ({@link RolloutSpecInput}; validated here at run time)
 * @param options - `{ previous }` when re-planning a running rollout ({@link PlanRolloutOptions})
 * @returns the plan: plain data, safe to store as JSON
 * @throws FleetError `INVALID_PLAN` (400) for a malformed spec, duplicate device ids, stages
 *   that do not grow, or a `previous` plan that is corrupt or belongs to another rollout or seed;
 *   `INVALID_ARGUMENT` (400) for options that are not `{ previous }`.
 * @example
 * ```ts
 * const plan = planRollout({
 *   rolloutId: 'fw-2.4.0',
 *   firmware: { version: '2.4.0', url: 'https://updates.example.com/2.4.0.bin', sha256: 'ab'.repeat(32), size: 1_048_576 },
 *   devices: fleet, // [{ id, tenantId, firmware, state, tags }]
 * });
 * plan.stages.map((s) => s.size); // e.g. [100, 900, 4000, 5000] for 10,000 devices
 * // Later, after devices joined the fleet:
 * const next = planRollout({ ...spec, devices: fleetNow }, { previous: plan });
 * ```
 */
export function planRollout(spec: RolloutSpecInput, options?: PlanRolloutOptions): RolloutPlan {
  const parsed = parseSpec(spec);
  const stageSpecs = parsed.stages ?? DEFAULT_STAGES;
  checkStagesGrow(stageSpecs);
  const seed = parsed.seed ?? `${parsed.rolloutId}/${parsed.firmware.version}`;
  const previous = previousPlan(options, parsed.rolloutId, seed);
  const all = parsed.devices;
  const n = all.length;
  const target = parsed.firmware.version;
  // Every device gets a cohort (skipped ones too), so one ordering also finds duplicate ids, and
  // the reason it is skipped (0 = eligible, else 1 + index in SKIP_CODES). Without `previous`
  // both come from one pass over the fleet; with it, the reasons wait for the matching.
  const cohorts = new Int32Array(n);
  const reasons = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const device = all[i]!;
    cohorts[i] = cohortOf(seed, device.id);
    if (previous === undefined) reasons[i] = skipCode(device, parsed);
  }
  const order = orderByCohort(all, cohorts, 'spec.devices');
  const match = previous === undefined ? undefined : matchPrevious(previous, seed, all, cohorts, order);
  if (match !== undefined) for (let i = 0; i < n; i++) reasons[i] = skipCode(effectiveDevice(all[i]!, i, previous, match, target), parsed);
  const lastStage = stageSpecs.length - 1;

  // In (cohort, id) order: list the skipped devices, and sort the eligible ones into those of
  // the previous plan (by the stage they keep) and new ones.
  const eligibleOrder = new Int32Array(n);
  const eligibleCohorts = new Int32Array(n); // the cohorts of eligibleOrder: non-decreasing
  // The devices new to the plan (all of them without `previous`), in cohort order, and how many have a cohort below c.
  const newOrder = match === undefined ? eligibleOrder : new Int32Array(n);
  const newCohorts = match === undefined ? eligibleCohorts : new Int32Array(n);
  const held: number[][] = stageSpecs.map(() => []); // devices of the previous plan, by the stage they keep
  const isNew = match === undefined ? undefined : new Uint8Array(n); // without `previous` every device is new
  const skipped: SkippedDevice[] = [];
  let eligible = 0;
  let fresh = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const r = reasons[i]!;
    if (r !== 0) {
      skipped.push({ id: all[i]!.id, tenantId: all[i]!.tenantId, reason: SKIP_CODES[r - 1]! });
      continue;
    }
    eligibleCohorts[eligible] = cohorts[i]!;
    eligibleOrder[eligible++] = i;
    if (match === undefined) continue;
    const prior = match[i]!;
    if (prior >= 0) held[Math.min(previous!.devices[prior]!.stage, lastStage)]!.push(i);
    else {
      isNew![i] = 1;
      newCohorts[fresh] = cohorts[i]!;
      newOrder[fresh++] = i;
    }
  }

  // Fill the stages. A stage holds at least what it requested, every device of the previous plan
  // that keeps it and every new device whose cohort is below its limit; it is raised to one
  // device when that is nobody.
  const notes: string[] = [];
  const stages: PlannedStage[] = [];
  // With `previous`, the stage of each device placed so far (-1 before). Without it, the placed
  // devices are always the first ones of eligibleOrder, so nothing needs tracking.
  const stageOf = match === undefined ? undefined : new Int32Array(n).fill(-1);
  let placed = 0;
  let newPlaced = 0; // new devices are always placed in cohort order: a prefix of newOrder
  let cursor = 0; // into eligibleOrder: every device before it is placed
  for (let i = 0; i < stageSpecs.length; i++) {
    const s = stageSpecs[i]!;
    const name = s.name ?? `stage ${i + 1} (${stageLabel(s)})`;
    const limit = s.percent !== undefined ? cohortLimit(s.percent) : -1;
    const requested = limit >= 0 ? countBelow(eligibleCohorts, eligible, limit) : Math.min(s.count ?? 0, eligible);
    const end = placed;
    if (end >= eligible) {
      notes.push(`${name} was dropped: all ${eligible} eligible devices are in earlier stages`);
      continue;
    }
    const index = stages.length;
    const keep = stageOf === undefined ? [] : held[i]!.filter((k) => stageOf[k]! < 0);
    const due = limit >= 0 ? Math.max(0, countBelow(newCohorts, fresh, limit) - newPlaced) : 0;
    let next = Math.max(requested, end + keep.length + due);
    const raisedToOne = next <= end;
    if (raisedToOne) {
      next = end + 1;
      notes.push(`${name} would hold 0 new devices of ${eligible} eligible; it holds 1`);
    } else if (next > requested && keep.length > 0) {
      notes.push(`${name} holds ${plural(next - end, 'device')} where ${Math.max(0, requested - end)} were requested, to keep the ${plural(keep.length, 'device')} it had in the previous plan`);
    }
    if (stageOf === undefined) {
      placed = newPlaced = next; // the next devices in cohort order
    } else {
      for (const k of keep) stageOf[k] = index;
      for (let k = newPlaced; k < newPlaced + due; k++) stageOf[newOrder[k]!] = index;
      placed += keep.length + due;
      newPlaced += due;
    }
    while (placed < next) {
      while (stageOf![eligibleOrder[cursor]!]! >= 0) cursor++;
      const k = eligibleOrder[cursor]!;
      stageOf![k] = index;
      placed++;
      newPlaced += isNew![k]!;
    }
    const size = next - end;
    const successThreshold = s.successThreshold ?? DEFAULT_SUCCESS_THRESHOLD;
    stages.push({
      index,
      name,
      ...(s.percent !== undefined ? { percent: s.percent } : { count: s.count ?? 0 }),
      requested,
      start: end,
      end: next,
      size,
      raisedToOne,
      minSoakMs: s.minSoakMs ?? defaultSoakMs(i, stageSpecs.length),
      successThreshold,
      requiredSuccesses: requiredSuccesses(size, successThreshold),
    });
  }

  // Lay the devices out by (stage, cohort, id). Without `previous` the stages took the eligible
  // devices in cohort order; with it, one pass in cohort order puts each into its stage's slice.
  let layout = eligibleOrder.subarray(0, placed);
  if (stageOf !== undefined) {
    layout = new Int32Array(placed);
    const slot = Int32Array.from(stages, (st) => st.start);
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      const stage = stageOf[i]!;
      if (stage >= 0) layout[slot[stage]!++] = i;
    }
  }
  const devices = new Array<PlannedDevice>(placed);
  let kept = 0;
  for (const { index: stage, start, end } of stages) {
    for (let k = start; k < end; k++) {
      const i = layout[k]!;
      const device = match === undefined ? all[i]! : effectiveDevice(all[i]!, i, previous, match, target);
      devices[k] = { id: device.id, tenantId: device.tenantId, cohort: cohorts[i]!, stage, fromVersion: device.firmware };
      if (match !== undefined && match[i]! >= 0 && previous!.devices[match[i]!]!.stage === stage) kept++;
    }
  }
  if (eligible > placed) notes.push(`${eligible - placed} eligible devices are beyond the last stage and will not be updated`);
  if (previous !== undefined) {
    const carried = placed - newPlaced;
    notes.push(`re-planned from the previous plan: ${kept} kept their stage, ${carried - kept} moved to an earlier stage, ${newPlaced} new, ${previous.devices.length - carried} left the plan`);
  }
  const skippedSummary = summariseSkips(skipped, target, notes);
  return {
    rolloutId: parsed.rolloutId,
    firmware: parsed.firmware,
    seed,
    devices,
    stages,
    skipped: skippedSummary,
    abort: resolveAbortCriteria(parsed.abort),
    deadlines: resolveDeadlines(parsed.deadlines),
    ...(parsed.rateLimit === undefined ? {} : { rateLimit: parsed.rateLimit }),
    maintenanceWindows: parsed.maintenanceWindows ?? [],
    notes,
  };
}
