/**
 * Anomaly detectors for one sensor stream, with bounded state (about 200 bytes per sensor, no
 * arrays that grow) and a per-sample cost of a few dozen nanoseconds:
 *
 * - **range**: a value outside the plausible range (or not a number); once per excursion;
 * - **stuck**: `stuck.samples` consecutive values within `stuck.tolerance` of each other
 *   (max − min); once per run; off when `flatIsNormal` (a closed valve);
 * - **spike**: a one-sample excursion: robust z-score `|x − median| ÷ scale` above `spike.z`, where
 *   the median is of the last 5 accepted samples and the scale is an exponentially weighted mean
 *   absolute deviation from that median (× 1.25 ≈ σ for Gaussian noise, floored at
 *   `spike.minDeviation`), confirmed when the next sample is back within `spike.z` scales of the
 *   median; reported at that next sample. When the next sample stays away too, the excursion was
 *   a level shift (a setpoint step, a fan start, a battery swap): no finding;
 * - **drift**: an EWMA of the accepted samples (α = `drift.alpha`) moves more than
 *   `drift.threshold` from the baseline. Level shifts are taken out: after one, the baseline moves
 *   by the shift (measured by the median of the 5 samples after it), so only slow change counts;
 *   after a finding the baseline is re-anchored (it reports again after another threshold);
 * - **gap**: no sample for more than `intervalMs × (1 + gap.jitter)` since the last one; reported
 *   by {@link tickSensor} (call it at least every half interval: a gap is then reported within two
 *   intervals of the missing sample) or by the next sample, once per gap. Samples may arrive up to
 *   `gap.jitter` of an interval late (LoRa duty cycles) without a finding.
 *
 * Out-of-range samples feed only the range and gap detectors. The first 16 samples are a
 * warm-up for spike and drift.
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { invalidArgument, MAX_TIME_MS, parseWith } from '../tenancy/parse.js';

/** The detectors a sensor can run. */
export const DETECTOR_KINDS = ['range', 'stuck', 'spike', 'drift', 'gap'] as const;
/** One detector. */
export type DetectorKind = (typeof DETECTOR_KINDS)[number];

/** Samples before spike and drift detection starts. */
export const DETECTOR_WARMUP_SAMPLES = 16;

const finite = z.number().refine(Number.isFinite, 'a finite number');

/** Schema of {@link SensorConfigInput}. */
export const sensorConfigSchema = z
  .strictObject({
    id: z.string().min(1).max(256),
    range: z.strictObject({ min: finite, max: finite }).refine((r) => r.min < r.max, { message: 'min must be below max' }),
    intervalMs: z.number().positive().max(MAX_TIME_MS),
    detectors: z.array(z.enum(DETECTOR_KINDS)).max(5).default([...DETECTOR_KINDS]),
    flatIsNormal: z.boolean().default(false),
    stuck: z.strictObject({ samples: z.number().int().min(2).max(1_000_000).default(30), tolerance: z.number().min(0).default(0) }).default({ samples: 30, tolerance: 0 }),
    spike: z.strictObject({ z: z.number().min(2).max(1000).default(6), minDeviation: z.number().positive().optional() }).default({ z: 6 }),
    drift: z.strictObject({ threshold: z.number().positive().optional(), alpha: z.number().gt(0).max(1).default(1 / 32) }).default({ alpha: 1 / 32 }),
    gap: z.strictObject({ jitter: z.number().min(0).max(1).default(0.5) }).default({ jitter: 0.5 }),
  });

/** A sensor's detector configuration as written. */
export type SensorConfigInput = z.input<typeof sensorConfigSchema>;

/** A sensor's resolved detector configuration (from {@link defineSensor}). */
export interface SensorConfig {
  /** The sensor's id, carried in its findings. */
  readonly id: string;
  /** Plausible values, inclusive. */
  readonly range: { readonly min: number; readonly max: number };
  /** Nominal time between samples, ms. */
  readonly intervalMs: number;
  /** The detectors that run (stuck is dropped when `flatIsNormal`). */
  readonly detectors: readonly DetectorKind[];
  /** True when a flat signal is normal (a closed valve, an idle actuator). */
  readonly flatIsNormal: boolean;
  /** Stuck-at: run length and tolerance (max − min within the run). Defaults 30 samples, 0. */
  readonly stuck: { readonly samples: number; readonly tolerance: number };
  /** Spike: z-score threshold (default 6) and the smallest scale (default 0.01 % of the range span). */
  readonly spike: { readonly z: number; readonly minDeviation: number };
  /** Drift: threshold in the sensor's units (default 2 % of the range span) and EWMA weight (default 1/32). */
  readonly drift: { readonly threshold: number; readonly alpha: number };
  /** Gap: lateness tolerated, as a fraction of the interval (default 0.5). */
  readonly gap: { readonly jitter: number };
}

/**
 * Validates a sensor's configuration and fills in the defaults.
 *
 * @param input - see {@link sensorConfigSchema}
 * @throws FleetError `INVALID_INPUT` (400) naming the malformed field
 */
export function defineSensor(input: SensorConfigInput): SensorConfig {
  const c = parseWith('defineSensor', 'config', sensorConfigSchema, input, 'INVALID_INPUT');
  const span = c.range.max - c.range.min;
  const detectors = [...new Set(c.detectors)].filter((d) => !(d === 'stuck' && c.flatIsNormal));
  return Object.freeze({
    id: c.id,
    range: Object.freeze({ min: c.range.min, max: c.range.max }),
    intervalMs: c.intervalMs,
    detectors: Object.freeze(detectors),
    flatIsNormal: c.flatIsNormal,
    stuck: Object.freeze({ samples: c.stuck.samples, tolerance: c.stuck.tolerance }),
    spike: Object.freeze({ z: c.spike.z, minDeviation: c.spike.minDeviation ?? span * 0.0001 }),
    drift: Object.freeze({ threshold: c.drift.threshold ?? span * 0.02, alpha: c.drift.alpha }),
    gap: Object.freeze({ jitter: c.gap.jitter }),
  });
}

/** A value outside the plausible range. */
export interface OutOfRangeFinding {
  /** Kind. */
  readonly kind: 'out_of_range';
  /** Sensor id. */
  readonly sensorId: string;
  /** Sample time. */
  readonly at: number;
  /** Evidence. */
  readonly evidence: { readonly value: number; readonly min: number; readonly max: number };
}
/** A value that has not changed (within tolerance) for N samples. */
export interface StuckFinding {
  /** Kind. */
  readonly kind: 'stuck';
  /** Sensor id. */
  readonly sensorId: string;
  /** Time of the Nth flat sample. */
  readonly at: number;
  /** Evidence: the run's range, length, tolerance and start. */
  readonly evidence: { readonly min: number; readonly max: number; readonly samples: number; readonly tolerance: number; readonly since: number };
}
/** A one-sample excursion. */
export interface SpikeFinding {
  /** Kind. */
  readonly kind: 'spike';
  /** Sensor id. */
  readonly sensorId: string;
  /** Time of the spike sample. */
  readonly at: number;
  /** Evidence: the value, the window median, the scale, the z-score and the next value. */
  readonly evidence: { readonly value: number; readonly median: number; readonly scale: number; readonly z: number; readonly next: number };
}
/** A slow move away from the baseline. */
export interface DriftFinding {
  /** Kind. */
  readonly kind: 'drift';
  /** Sensor id. */
  readonly sensorId: string;
  /** Sample time. */
  readonly at: number;
  /** Evidence: the smoothed level, the baseline, the change, the threshold, samples since the baseline and the mean slope. */
  readonly evidence: { readonly level: number; readonly baseline: number; readonly change: number; readonly threshold: number; readonly samples: number; readonly slopePerSample: number };
}
/** Missing samples. */
export interface GapFinding {
  /** Kind. */
  readonly kind: 'gap';
  /** Sensor id. */
  readonly sensorId: string;
  /** When the gap was noticed (the tick or the late sample). */
  readonly at: number;
  /** Evidence: the last sample time, when the next was due, the interval and the samples missed so far. */
  readonly evidence: { readonly lastAt: number; readonly expectedAt: number; readonly intervalMs: number; readonly missed: number };
}
/** Any finding, with its evidence. */
export type Finding = OutOfRangeFinding | StuckFinding | SpikeFinding | DriftFinding | GapFinding;

const F_RANGE = 1;
const F_STUCK = 2;
const F_SPIKE = 4;
const F_DRIFT = 8;
const F_GAP = 16;
const S_OUT = 32; // in an out-of-range excursion
const S_GAP = 64; // gap reported, no sample since
const S_STUCK = 128; // stuck reported for this run
const S_CAND = 256; // a spike candidate is pending

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);

function median5(a: number, b: number, c: number, d: number, e: number): number {
  let t: number;
  if (b < a) { t = a; a = b; b = t; }
  if (d < c) { t = c; c = d; d = t; }
  // The smaller of the two pair minima has three values above it: it cannot be the median.
  if (a < c) { a = e; if (b < a) { t = a; a = b; b = t; } } else { c = e; if (d < c) { t = c; c = d; d = t; } }
  // Of the remaining four, drop the smallest; the median is the next one.
  return a < c ? (b < c ? b : c) : (a < d ? a : d);
}

/** @internal Median of five values with six comparisons (exported for tests). */
export const medianOfFive = median5;

/**
 * The detector state of one sensor: a fixed set of numbers (no arrays), created by
 * {@link createSensorState} and advanced in place by {@link observeSensor} and {@link tickSensor}.
 * {@link SensorState.toJSON} gives a plain JSON copy; {@link restoreSensorState} reads it back.
 */
export class SensorState {
  /** The sensor's resolved configuration. */
  readonly config: SensorConfig;
  /** Samples seen. */
  n = 0;
  /** Latest sample time (epoch ms), −1 before the first. */
  lastAt = -1;
  /** Detector switches and excursion flags. */
  flags = 0;
  /** The last five accepted samples (a ring). */
  w0 = 0;
  /** Ring slot 1. */
  w1 = 0;
  /** Ring slot 2. */
  w2 = 0;
  /** Ring slot 3. */
  w3 = 0;
  /** Ring slot 4. */
  w4 = 0;
  /** Next ring slot. */
  wi = 0;
  /** EWMA of |x − median|. */
  mad = 0;
  /** Pending spike candidate: value, time, median and scale when seen. */
  cand = 0;
  /** Candidate time. */
  candAt = 0;
  /** Median when the candidate was seen. */
  candMed = 0;
  /** Scale when the candidate was seen. */
  candScale = 0;
  /** EWMA level of the accepted samples. */
  level = 0;
  /** Drift baseline. */
  base = 0;
  /** Sample count at the last baseline anchor. */
  anchorN = 0;
  /** Samples left before the level is re-measured after a level shift (0: none pending). */
  settle = 0;
  /** Drift (level − baseline) carried over a level shift. */
  carried = 0;
  /** Current flat run: smallest value. */
  runMin = 0;
  /** Current flat run: largest value. */
  runMax = 0;
  /** Current flat run: samples. */
  runCount = 0;
  /** Current flat run: start time. */
  runStart = 0;

  /**
   * A fresh state for a sensor.
   *
   * @param config - the sensor's configuration (validated and defaulted by {@link defineSensor})
   * @throws FleetError `INVALID_INPUT` (400) for a malformed configuration
   */
  constructor(config: SensorConfigInput | SensorConfig) {
    this.config = defineSensor(config as SensorConfigInput);
    let f = 0;
    for (const d of this.config.detectors) f |= d === 'range' ? F_RANGE : d === 'stuck' ? F_STUCK : d === 'spike' ? F_SPIKE : d === 'drift' ? F_DRIFT : F_GAP;
    this.flags = f;
  }

  /** A plain JSON copy of the state (configuration included). */
  toJSON(): SensorStateJson {
    const config = this.config;
    const numbers: Record<string, number> = {};
    for (const k of STATE_FIELDS) numbers[k] = this[k];
    return { config: { ...config, range: { ...config.range }, detectors: [...config.detectors], stuck: { ...config.stuck }, spike: { ...config.spike }, drift: { ...config.drift }, gap: { ...config.gap } }, numbers };
  }
}

/** The JSON form of a {@link SensorState}. */
export interface SensorStateJson {
  /** The resolved configuration. */
  readonly config: SensorConfigInput;
  /** The state's numbers. */
  readonly numbers: Readonly<Record<string, number>>;
}

const STATE_FIELDS = ['n', 'lastAt', 'flags', 'w0', 'w1', 'w2', 'w3', 'w4', 'wi', 'mad', 'cand', 'candAt', 'candMed', 'candScale', 'level', 'base', 'anchorN', 'settle', 'carried', 'runMin', 'runMax', 'runCount', 'runStart'] as const;
const stateJsonSchema = z.strictObject({ config: z.unknown(), numbers: z.strictObject(Object.fromEntries(STATE_FIELDS.map((k) => [k, finite])) as Record<(typeof STATE_FIELDS)[number], typeof finite>) });

/**
 * A fresh detector state for a sensor.
 *
 * @param config - the sensor's configuration
 * @throws FleetError `INVALID_INPUT` (400) for a malformed configuration
 */
export function createSensorState(config: SensorConfigInput | SensorConfig): SensorState {
  return new SensorState(config);
}

/**
 * Reads a state back from {@link SensorState.toJSON}.
 *
 * @param json - the JSON form
 * @throws FleetError `INVALID_INPUT` (400) when it is malformed
 */
export function restoreSensorState(json: SensorStateJson): SensorState {
  const j = parseWith('restoreSensorState', 'json', stateJsonSchema, json, 'INVALID_INPUT');
  const s = new SensorState(j.config as SensorConfigInput);
  const detectorBits = s.flags & 31;
  Object.assign(s, j.numbers);
  s.flags = (s.flags & ~31) | detectorBits;
  return s;
}

function checkState(fn: string, state: unknown): asserts state is SensorState {
  if (!(state instanceof SensorState)) throw invalidArgument(fn, `state must be a SensorState from createSensorState, got ${describeValue(state)}`);
}
function checkTime(fn: string, name: string, at: unknown): asserts at is number {
  if (typeof at !== 'number' || !(at >= 0 && at <= MAX_TIME_MS)) throw invalidArgument(fn, `${name} must be an epoch-ms time from 0 to ${MAX_TIME_MS}, got ${describeValue(at)}`);
}

function push(out: Finding[] | undefined, f: Finding): Finding[] {
  if (out === undefined) return [f];
  out.push(f);
  return out;
}

function gapFinding(s: SensorState, at: number): GapFinding {
  const i = s.config.intervalMs;
  return { kind: 'gap', sensorId: s.config.id, at, evidence: { lastAt: s.lastAt, expectedAt: s.lastAt + i, intervalMs: i, missed: Math.max(1, Math.floor((at - s.lastAt) / i - s.config.gap.jitter)) } };
}

/**
 * Reports a gap when no sample has come for more than `intervalMs × (1 + gap.jitter)`; call it
 * from a clock tick at least every half interval. Updates `state` in place.
 *
 * @param state - the sensor's state
 * @param now - the tick time, epoch ms
 * @returns the findings (an empty frozen array when none)
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed state or time
 */
export function tickSensor(state: SensorState, now: number): readonly Finding[] {
  checkState('tick', state);
  checkTime('tick', 'now', now);
  const s = state;
  if ((s.flags & F_GAP) === 0 || (s.flags & S_GAP) !== 0 || s.n === 0) return NO_FINDINGS;
  if (now - s.lastAt <= s.config.intervalMs * (1 + s.config.gap.jitter)) return NO_FINDINGS;
  s.flags |= S_GAP;
  return [gapFinding(s, now)];
}

/**
 * Feeds one sample through the sensor's detectors. Updates `state` in place (it is the caller's:
 * copy it with `toJSON` to keep a snapshot) and returns the findings this sample completes.
 *
 * @param state - the sensor's state
 * @param value - the sample (NaN or ±Infinity count as out of range)
 * @param at - its time, epoch ms; an out-of-order time does not move the gap clock back
 * @returns the findings (an empty frozen array when none)
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed state, value or time
 */
export function observeSensor(state: SensorState, value: number, at: number): readonly Finding[] {
  checkState('observe', state);
  if (typeof value !== 'number') throw invalidArgument('observe', `value must be a number, got ${describeValue(value)}`);
  checkTime('observe', 'at', at);
  const s = state;
  const c = s.config;
  let out: Finding[] | undefined;
  let flags = s.flags;

  // gap: a late sample reports the gap no tick reported
  if (s.n > 0 && at > s.lastAt) {
    if ((flags & (F_GAP | S_GAP)) === F_GAP && at - s.lastAt > c.intervalMs * (1 + c.gap.jitter)) out = push(out, gapFinding(s, at));
    flags &= ~S_GAP;
    s.lastAt = at;
  } else if (s.n === 0) s.lastAt = at;

  // range
  if (!(value >= c.range.min && value <= c.range.max)) {
    if ((flags & (F_RANGE | S_OUT)) === F_RANGE) out = push(out, { kind: 'out_of_range', sensorId: c.id, at, evidence: { value, min: c.range.min, max: c.range.max } });
    s.flags = flags | S_OUT;
    return out ?? NO_FINDINGS;
  }
  flags &= ~S_OUT;

  // stuck
  if ((flags & F_STUCK) !== 0) {
    const lo = value < s.runMin ? value : s.runMin;
    const hi = value > s.runMax ? value : s.runMax;
    if (s.runCount > 0 && hi - lo <= c.stuck.tolerance) {
      s.runMin = lo;
      s.runMax = hi;
      s.runCount++;
      if (s.runCount >= c.stuck.samples && (flags & S_STUCK) === 0) {
        flags |= S_STUCK;
        out = push(out, { kind: 'stuck', sensorId: c.id, at, evidence: { min: lo, max: hi, samples: s.runCount, tolerance: c.stuck.tolerance, since: s.runStart } });
      }
    } else {
      s.runMin = value;
      s.runMax = value;
      s.runCount = 1;
      s.runStart = at;
      flags &= ~S_STUCK;
    }
  }

  s.n++;
  if ((flags & (F_SPIKE | F_DRIFT)) !== 0) out = robust(s, value, at, flags, out);
  else s.flags = flags;
  return out ?? NO_FINDINGS;
}

/** Spike and drift: the median/MAD core shared by both. Writes `s.flags`. */
function robust(s: SensorState, x: number, at: number, flags: number, out: Finding[] | undefined): Finding[] | undefined {
  const c = s.config;
  if (s.n <= DETECTOR_WARMUP_SAMPLES) {
    if (s.n === 1) s.w0 = s.w1 = s.w2 = s.w3 = s.w4 = x;
    const med = median5(s.w0, s.w1, s.w2, s.w3, s.w4);
    s.mad += (Math.abs(x - med) - s.mad) / s.n;
    insert(s, x);
    if (s.n === DETECTOR_WARMUP_SAMPLES) {
      s.level = median5(s.w0, s.w1, s.w2, s.w3, s.w4);
      s.base = s.level;
      s.anchorN = s.n;
    }
    s.flags = flags;
    return out;
  }
  const med = median5(s.w0, s.w1, s.w2, s.w3, s.w4);
  const madScale = 1.25 * s.mad;
  const scale = madScale > c.spike.minDeviation ? madScale : c.spike.minDeviation;
  const dev = x - med;
  const adev = dev < 0 ? -dev : dev;
  const zt = c.spike.z;
  if ((flags & S_CAND) !== 0) {
    flags &= ~S_CAND;
    const back = x - s.candMed;
    if ((back < 0 ? -back : back) <= zt * s.candScale) {
      // The excursion lasted one sample: a spike. The candidate never enters the window.
      if ((flags & F_SPIKE) !== 0) out = push(out, { kind: 'spike', sensorId: c.id, at: s.candAt, evidence: { value: s.cand, median: s.candMed, scale: s.candScale, z: Math.abs(s.cand - s.candMed) / s.candScale, next: x } });
    } else {
      // Still away: a level shift. Both samples are accepted; the level is re-measured after it.
      insert(s, s.cand);
      insert(s, x);
      if (s.settle === 0) s.carried = s.level - s.base;
      s.settle = 3;
      s.flags = flags;
      return out;
    }
  } else if (adev > zt * scale) {
    s.cand = x;
    s.candAt = at;
    s.candMed = med;
    s.candScale = scale;
    s.flags = flags | S_CAND;
    return out;
  }
  // An accepted sample.
  s.mad += ((adev < zt * scale ? adev : zt * scale) - s.mad) * (s.n < 32 ? 1 / s.n : 1 / 32);
  insert(s, x);
  if ((flags & F_DRIFT) !== 0) {
    if (s.settle > 0) {
      if (--s.settle === 0) {
        s.level = median5(s.w0, s.w1, s.w2, s.w3, s.w4);
        s.base = s.level - s.carried;
      }
    } else {
      s.level += c.drift.alpha * (x - s.level);
      const change = s.level - s.base;
      if ((change < 0 ? -change : change) > c.drift.threshold) {
        const samples = s.n - s.anchorN;
        out = push(out, { kind: 'drift', sensorId: c.id, at, evidence: { level: s.level, baseline: s.base, change, threshold: c.drift.threshold, samples, slopePerSample: change / samples } });
        s.base = s.level;
        s.anchorN = s.n;
      }
    }
  }
  s.flags = flags;
  return out;
}

function insert(s: SensorState, x: number): void {
  switch (s.wi) {
    case 0: s.w0 = x; break;
    case 1: s.w1 = x; break;
    case 2: s.w2 = x; break;
    case 3: s.w3 = x; break;
    default: s.w4 = x;
  }
  s.wi = s.wi === 4 ? 0 : s.wi + 1;
}
