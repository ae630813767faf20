/**
 * Anomaly detectors for one sensor stream, with bounded state (23 numbers per sensor, no
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
 *   a level shift (a setpoint step, a fan start, a battery swap): no finding. A sample equal to
 *   the median (within `stuck.tolerance`) leaves the scale as it is, so a flat stretch does not
 *   shrink it and the noise after it is not read as spikes;
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
import { FleetError } from '../errors.js';
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
  if (RESOLVED.has(input as object)) return input as SensorConfig;
  const c = parseWith('defineSensor', 'config', sensorConfigSchema, input, 'INVALID_INPUT');
  const span = c.range.max - c.range.min;
  const detectors = [...new Set(c.detectors)].filter((d) => !(d === 'stuck' && c.flatIsNormal));
  const config: SensorConfig = Object.freeze({
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
  RESOLVED.add(config);
  return config;
}

// Configurations defineSensor made (frozen, so still valid): states of sensors of one type share one.
const RESOLVED = new WeakSet<object>();

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

// The state of one sensor is STRIDE numbers in a Float64Array, at an offset: a SensorState owns
// one such slice; a SensorBank keeps many sensors in one array (no per-sensor object at all), which
// is what keeps a building's worth of sensors at ~200 bytes each.
const N = 0; // samples seen (in range)
const LAST_AT = 1; // latest sample time, −1 before the first
const FLAGS = 2; // detector switches and excursion flags
const W = 3; // 3..7: the last five accepted samples (a ring)
const WI = 8; // next ring slot
const MAD = 9; // EWMA of |x − median|
const CAND = 10; // pending spike candidate: value,
const CAND_AT = 11; // time,
const CAND_MED = 12; // median
const CAND_SCALE = 13; // and scale when seen
const LEVEL = 14; // EWMA level of the accepted samples
const BASE = 15; // drift baseline
const ANCHOR_N = 16; // sample count at the last baseline anchor
const SETTLE = 17; // samples left before the level is re-measured after a level shift
const CARRIED = 18; // drift carried over a level shift
const RUN_MIN = 19; // current flat run: smallest value,
const RUN_MAX = 20; // largest value,
const RUN_COUNT = 21; // samples
const RUN_START = 22; // and start time
/** Numbers of state per sensor (8 bytes each). */
export const SENSOR_STATE_NUMBERS = 23;
const STRIDE = SENSOR_STATE_NUMBERS;

function initSlot(v: Float64Array, o: number, c: SensorConfig): void {
  v.fill(0, o, o + STRIDE);
  v[o + LAST_AT] = -1;
  let f = 0;
  for (const d of c.detectors) f |= d === 'range' ? F_RANGE : d === 'stuck' ? F_STUCK : d === 'spike' ? F_SPIKE : d === 'drift' ? F_DRIFT : F_GAP;
  v[o + FLAGS] = f;
}

const numbersSchema = z.array(finite).length(STRIDE);

function restoreSlot(fn: string, v: Float64Array, o: number, c: SensorConfig, numbers: unknown): void {
  const ns = parseWith(fn, 'numbers', numbersSchema, numbers, 'INVALID_INPUT');
  initSlot(v, o, c);
  const detectorBits = (v[o + FLAGS] as number) & 31;
  v.set(ns, o);
  v[o + FLAGS] = ((ns[FLAGS] as number) & ~31) | detectorBits;
}

function configJson(c: SensorConfig): SensorConfigInput {
  return { ...c, range: { ...c.range }, detectors: [...c.detectors], stuck: { ...c.stuck }, spike: { ...c.spike }, drift: { ...c.drift }, gap: { ...c.gap } };
}

/**
 * The detector state of one sensor: {@link SENSOR_STATE_NUMBERS} numbers, created by
 * {@link createSensorState} and advanced in place by {@link observeSensor} and {@link tickSensor}.
 * {@link SensorState.toJSON} gives a plain JSON copy; {@link restoreSensorState} reads it back.
 * For many sensors, a {@link SensorBank} holds the same state without an object per sensor.
 */
export class SensorState {
  /** The sensor's resolved configuration. */
  readonly config: SensorConfig;
  /** @internal The state's numbers. */
  readonly values: Float64Array;

  /**
   * A fresh state for a sensor.
   *
   * @param config - the sensor's configuration (validated and defaulted by {@link defineSensor}; a
   * configuration from `defineSensor` is shared, not copied, so sensors of one type can share one)
   * @throws FleetError `INVALID_INPUT` (400) for a malformed configuration
   */
  constructor(config: SensorConfigInput | SensorConfig) {
    this.config = defineSensor(config as SensorConfigInput);
    this.values = new Float64Array(STRIDE);
    initSlot(this.values, 0, this.config);
  }

  /** A plain JSON copy of the state (configuration included). */
  toJSON(): SensorStateJson {
    return { config: configJson(this.config), numbers: Array.from(this.values) };
  }
}

/** The JSON form of a {@link SensorState}. */
export interface SensorStateJson {
  /** The resolved configuration. */
  readonly config: SensorConfigInput;
  /** The state's {@link SENSOR_STATE_NUMBERS} numbers. */
  readonly numbers: readonly number[];
}

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
  const j = parseWith('restoreSensorState', 'json', z.strictObject({ config: z.unknown(), numbers: z.unknown() }), json, 'INVALID_INPUT');
  const s = new SensorState(j.config as SensorConfigInput);
  restoreSlot('restoreSensorState', s.values, 0, s.config, j.numbers);
  return s;
}

/** The JSON form of a {@link SensorBank}. */
export interface SensorBankJson {
  /** The distinct resolved configurations. */
  readonly configs: readonly SensorConfigInput[];
  /** Per sensor: the index of its configuration in `configs`. */
  readonly configIndex: readonly number[];
  /** All sensors' numbers, {@link SENSOR_STATE_NUMBERS} per sensor. */
  readonly numbers: readonly number[];
}

/** The most sensors one bank holds. */
export const MAX_BANK_SENSORS = 10_000_000;

/**
 * The detector states of many sensors (a gateway's building) in one array: sensor `i` is slot `i`.
 * Same detectors and findings as {@link SensorState}, at {@link SENSOR_STATE_NUMBERS} × 8 bytes
 * plus one configuration reference per sensor.
 *
 * @example
 * ```ts
 * const temp = defineSensor({ id: 'temp', range: { min: -40, max: 85 }, intervalMs: 60_000 });
 * const bank = new SensorBank(Array.from({ length: 500 }, () => temp));
 * bank.observe(17, 21.4, clock.now());
 * ```
 */
export class SensorBank {
  readonly #configs: SensorConfig[];
  readonly #v: Float64Array;

  /**
   * A bank of fresh sensor states, one per configuration.
   *
   * @param configs - one configuration per sensor (share one `defineSensor` result per sensor type)
   * @throws FleetError `INVALID_INPUT` (400) for a malformed configuration; `INVALID_ARGUMENT` (400) when `configs` is not an array
   */
  constructor(configs: readonly (SensorConfigInput | SensorConfig)[]) {
    if (!Array.isArray(configs) || configs.length > MAX_BANK_SENSORS) throw invalidArgument('SensorBank', `configs must be an array of at most ${MAX_BANK_SENSORS} sensor configurations, got ${describeValue(configs)}`);
    this.#configs = (configs as readonly unknown[]).map((c) => defineSensor(c as SensorConfigInput));
    this.#v = new Float64Array(this.#configs.length * STRIDE);
    this.#configs.forEach((c, i) => initSlot(this.#v, i * STRIDE, c));
  }

  /** Sensors in the bank. */
  get size(): number {
    return this.#configs.length;
  }

  /**
   * The configuration of sensor `index`.
   *
   * @param index - the sensor's slot
   * @throws FleetError `INVALID_ARGUMENT` (400) for an index out of range
   */
  configOf(index: number): SensorConfig {
    return this.#configs[this.#slot('configOf', index)] as SensorConfig;
  }

  #slot(fn: string, index: unknown): number {
    if (typeof index === 'number' && index >= 0 && index < this.#configs.length && (index | 0) === index) return index;
    throw invalidArgument(`SensorBank.${fn}`, `index must be an integer from 0 to ${this.#configs.length - 1}, got ${describeValue(index)}`);
  }

  /**
   * Feeds one sample of sensor `index` through its detectors (see {@link observeSensor}).
   *
   * @param index - the sensor's slot
   * @param value - the sample
   * @param at - its time, epoch ms
   * @returns the findings (an empty frozen array when none)
   * @throws FleetError `INVALID_ARGUMENT` (400) for a bad index, value or time
   */
  observe(index: number, value: number, at: number): readonly Finding[] {
    const i = this.#slot('observe', index);
    if (typeof value !== 'number') throw invalidArgument('SensorBank.observe', `value must be a number, got ${describeValue(value)}`);
    checkTime('SensorBank.observe', 'at', at);
    return stepSample(this.#v, i * STRIDE, this.#configs[i] as SensorConfig, value, at) ?? NO_FINDINGS;
  }

  /**
   * A clock tick for every sensor (see {@link tickSensor}): the gaps noticed now.
   *
   * @param now - the tick time, epoch ms
   * @returns the findings (an empty frozen array when none)
   * @throws FleetError `INVALID_ARGUMENT` (400) for a bad time
   */
  tick(now: number): readonly Finding[] {
    checkTime('SensorBank.tick', 'now', now);
    let out: Finding[] | undefined;
    for (let i = 0; i < this.#configs.length; i++) {
      const f = stepTick(this.#v, i * STRIDE, this.#configs[i] as SensorConfig, now);
      if (f !== undefined) out = push(out, f);
    }
    return out ?? NO_FINDINGS;
  }

  /** A plain JSON copy of the bank. */
  toJSON(): SensorBankJson {
    const distinct = [...new Set(this.#configs)];
    const index = new Map(distinct.map((c, i) => [c, i]));
    return { configs: distinct.map(configJson), configIndex: this.#configs.map((c) => index.get(c) as number), numbers: Array.from(this.#v) };
  }

  /**
   * Reads a bank back from {@link SensorBank.toJSON}.
   *
   * @param json - the JSON form
   * @throws FleetError `INVALID_INPUT` (400) when it is malformed
   */
  static fromJSON(json: SensorBankJson): SensorBank {
    const j = parseWith(
      'SensorBank.fromJSON',
      'json',
      z.strictObject({ configs: z.array(z.unknown()).max(MAX_BANK_SENSORS), configIndex: z.array(z.number().int().min(0)).max(MAX_BANK_SENSORS), numbers: z.array(finite) }),
      json,
      'INVALID_INPUT',
    );
    const configs = j.configs.map((c) => defineSensor(c as SensorConfigInput));
    const per = j.configIndex.map((k) => {
      const c = configs[k];
      if (c === undefined) throw new FleetError('INVALID_INPUT', `SensorBank.fromJSON: configIndex ${k} is not an index of configs`, { status: 400 });
      return c;
    });
    if (j.numbers.length !== per.length * STRIDE) throw new FleetError('INVALID_INPUT', `SensorBank.fromJSON: numbers must hold ${STRIDE} per sensor (${per.length * STRIDE}), got ${j.numbers.length}`, { status: 400 });
    const bank = new SensorBank(per);
    per.forEach((c, i) => restoreSlot('SensorBank.fromJSON', bank.#v, i * STRIDE, c, j.numbers.slice(i * STRIDE, (i + 1) * STRIDE)));
    return bank;
  }
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

function gapFinding(v: Float64Array, o: number, c: SensorConfig, at: number): GapFinding {
  const i = c.intervalMs;
  const lastAt = v[o + LAST_AT] as number;
  return { kind: 'gap', sensorId: c.id, at, evidence: { lastAt, expectedAt: lastAt + i, intervalMs: i, missed: Math.max(1, Math.floor((at - lastAt) / i - c.gap.jitter)) } };
}

function stepTick(v: Float64Array, o: number, c: SensorConfig, now: number): GapFinding | undefined {
  const flags = v[o + FLAGS] as number;
  if ((flags & F_GAP) === 0 || (flags & S_GAP) !== 0 || v[o + LAST_AT] === -1) return undefined;
  if (now - (v[o + LAST_AT] as number) <= c.intervalMs * (1 + c.gap.jitter)) return undefined;
  v[o + FLAGS] = flags | S_GAP;
  return gapFinding(v, o, c, now);
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
  checkState('tickSensor', state);
  checkTime('tickSensor', 'now', now);
  const f = stepTick(state.values, 0, state.config, now);
  return f === undefined ? NO_FINDINGS : [f];
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
  checkState('observeSensor', state);
  if (typeof value !== 'number') throw invalidArgument('observeSensor', `value must be a number, got ${describeValue(value)}`);
  checkTime('observeSensor', 'at', at);
  return stepSample(state.values, 0, state.config, value, at) ?? NO_FINDINGS;
}

function stepSample(v: Float64Array, o: number, c: SensorConfig, value: number, at: number): Finding[] | undefined {
  let out: Finding[] | undefined;
  let flags = v[o + FLAGS] as number;
  const lastAt = v[o + LAST_AT] as number;

  // gap: a late sample reports the gap no tick reported
  if (lastAt === -1) v[o + LAST_AT] = at;
  else if (at > lastAt) {
    if ((flags & (F_GAP | S_GAP)) === F_GAP && at - lastAt > c.intervalMs * (1 + c.gap.jitter)) out = push(out, gapFinding(v, o, c, at));
    flags &= ~S_GAP;
    v[o + LAST_AT] = at;
  }

  // range
  if (!(value >= c.range.min && value <= c.range.max)) {
    if ((flags & (F_RANGE | S_OUT)) === F_RANGE) out = push(out, { kind: 'out_of_range', sensorId: c.id, at, evidence: { value, min: c.range.min, max: c.range.max } });
    v[o + FLAGS] = flags | S_OUT;
    return out;
  }
  flags &= ~S_OUT;

  // stuck
  if ((flags & F_STUCK) !== 0) {
    const runMin = v[o + RUN_MIN] as number;
    const runMax = v[o + RUN_MAX] as number;
    const lo = value < runMin ? value : runMin;
    const hi = value > runMax ? value : runMax;
    const count = v[o + RUN_COUNT] as number;
    if (count > 0 && hi - lo <= c.stuck.tolerance) {
      v[o + RUN_MIN] = lo;
      v[o + RUN_MAX] = hi;
      v[o + RUN_COUNT] = count + 1;
      if (count + 1 >= c.stuck.samples && (flags & S_STUCK) === 0) {
        flags |= S_STUCK;
        out = push(out, { kind: 'stuck', sensorId: c.id, at, evidence: { min: lo, max: hi, samples: count + 1, tolerance: c.stuck.tolerance, since: v[o + RUN_START] as number } });
      }
    } else {
      v[o + RUN_MIN] = value;
      v[o + RUN_MAX] = value;
      v[o + RUN_COUNT] = 1;
      v[o + RUN_START] = at;
      flags &= ~S_STUCK;
    }
  }

  v[o + N] = (v[o + N] as number) + 1;
  if ((flags & (F_SPIKE | F_DRIFT)) !== 0) return robust(v, o, c, value, at, flags, out);
  v[o + FLAGS] = flags;
  return out;
}

function median(v: Float64Array, o: number): number {
  return median5(v[o + W] as number, v[o + W + 1] as number, v[o + W + 2] as number, v[o + W + 3] as number, v[o + W + 4] as number);
}

function insert(v: Float64Array, o: number, x: number): void {
  const wi = v[o + WI] as number;
  v[o + W + wi] = x;
  v[o + WI] = wi === 4 ? 0 : wi + 1;
}

/** Spike and drift: the median/MAD core shared by both. Writes the flags. */
function robust(v: Float64Array, o: number, c: SensorConfig, x: number, at: number, flags: number, out: Finding[] | undefined): Finding[] | undefined {
  const n = v[o + N] as number;
  if (n <= DETECTOR_WARMUP_SAMPLES) {
    if (n === 1) v.fill(x, o + W, o + W + 5);
    v[o + MAD] = (v[o + MAD] as number) + (Math.abs(x - median(v, o)) - (v[o + MAD] as number)) / n;
    insert(v, o, x);
    if (n === DETECTOR_WARMUP_SAMPLES) {
      const level = median(v, o);
      v[o + LEVEL] = level;
      v[o + BASE] = level;
      v[o + ANCHOR_N] = n;
    }
    v[o + FLAGS] = flags;
    return out;
  }
  const med = median(v, o);
  const mad = v[o + MAD] as number;
  const madScale = 1.25 * mad;
  const scale = madScale > c.spike.minDeviation ? madScale : c.spike.minDeviation;
  const dev = x - med;
  const adev = dev < 0 ? -dev : dev;
  const zt = c.spike.z;
  if ((flags & S_CAND) !== 0) {
    flags &= ~S_CAND;
    const candMed = v[o + CAND_MED] as number;
    const candScale = v[o + CAND_SCALE] as number;
    const back = x - candMed;
    if ((back < 0 ? -back : back) <= zt * candScale) {
      // The excursion lasted one sample: a spike. The candidate never enters the window.
      if ((flags & F_SPIKE) !== 0) {
        const cand = v[o + CAND] as number;
        out = push(out, { kind: 'spike', sensorId: c.id, at: v[o + CAND_AT] as number, evidence: { value: cand, median: candMed, scale: candScale, z: Math.abs(cand - candMed) / candScale, next: x } });
      }
    } else {
      // Still away: a level shift. Both samples are accepted; the level is re-measured after it.
      insert(v, o, v[o + CAND] as number);
      insert(v, o, x);
      if (v[o + SETTLE] === 0) v[o + CARRIED] = (v[o + LEVEL] as number) - (v[o + BASE] as number);
      v[o + SETTLE] = 3;
      v[o + FLAGS] = flags;
      return out;
    }
  } else if (adev > zt * scale) {
    v[o + CAND] = x;
    v[o + CAND_AT] = at;
    v[o + CAND_MED] = med;
    v[o + CAND_SCALE] = scale;
    v[o + FLAGS] = flags | S_CAND;
    return out;
  }
  // An accepted sample. One equal to the median (within the stuck tolerance) does not pull the
  // scale down: a flat stretch (a stuck or held reading) would otherwise shrink it toward 0 and
  // the ordinary noise after it would read as spikes.
  if (adev > c.stuck.tolerance) v[o + MAD] = mad + ((adev < zt * scale ? adev : zt * scale) - mad) * (n < 32 ? 1 / n : 1 / 32);
  insert(v, o, x);
  if ((flags & F_DRIFT) !== 0) {
    const settle = v[o + SETTLE] as number;
    if (settle > 0) {
      v[o + SETTLE] = settle - 1;
      if (settle === 1) {
        const level = median(v, o);
        v[o + LEVEL] = level;
        v[o + BASE] = level - (v[o + CARRIED] as number);
      }
    } else {
      const level = (v[o + LEVEL] as number) + c.drift.alpha * (x - (v[o + LEVEL] as number));
      v[o + LEVEL] = level;
      const base = v[o + BASE] as number;
      const change = level - base;
      if ((change < 0 ? -change : change) > c.drift.threshold) {
        const samples = n - (v[o + ANCHOR_N] as number);
        out = push(out, { kind: 'drift', sensorId: c.id, at, evidence: { level, baseline: base, change, threshold: c.drift.threshold, samples, slopePerSample: change / samples } });
        v[o + BASE] = level;
        v[o + ANCHOR_N] = n;
      }
    }
  }
  v[o + FLAGS] = flags;
  return out;
}
