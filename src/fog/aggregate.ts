/**
 * Tumbling-window aggregation: count, min, max, mean, variance (Welford's running moments,
 * merged with Chan et al.'s pairwise formula, so summaries of parts combine into the summary of
 * the whole) and the last value; plus the data-reduction figure a fog gateway achieves by
 * forwarding one summary per window and the raw samples that leave a deadband.
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { invalidArgument, MAX_TIME_MS, numberArgument, parseWith } from '../tenancy/parse.js';

/** A summary of samples: a plain value (the empty summary holds ±Infinity, so serialise non-empty ones). */
export interface Aggregate {
  /** Samples. */
  readonly count: number;
  /** Smallest value (+Infinity when empty). */
  readonly min: number;
  /** Largest value (−Infinity when empty). */
  readonly max: number;
  /** Mean (0 when empty). */
  readonly mean: number;
  /** Sum of squared deviations from the mean (Welford's M2); variance = m2 ÷ count. */
  readonly m2: number;
  /** The value with the latest time (on a tie, the larger value, so merging is commutative). */
  readonly last: number;
  /** Time of `last`, epoch ms (−Infinity when empty). */
  readonly lastAt: number;
}

/** The summary of no samples: the identity of {@link mergeAggregates}. */
export const EMPTY_AGGREGATE: Aggregate = Object.freeze({ count: 0, min: Infinity, max: -Infinity, mean: 0, m2: 0, last: 0, lastAt: -Infinity });

function checkSample(fn: string, value: unknown, at: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalidArgument(fn, `value must be a finite number, got ${describeValue(value)}`);
  numberArgument(fn, 'at', at, 0, MAX_TIME_MS);
}

function checkAggregate(fn: string, name: string, a: unknown): Aggregate {
  if (typeof a !== 'object' || a === null) throw invalidArgument(fn, `${name} must be an aggregate, got ${describeValue(a)}`);
  const x = a as Record<string, unknown>;
  for (const k of ['count', 'min', 'max', 'mean', 'm2', 'last', 'lastAt']) {
    if (typeof x[k] !== 'number' || Number.isNaN(x[k])) throw invalidArgument(fn, `${name}.${k} must be a number (an aggregate from addSample or mergeAggregates)`);
  }
  return a as Aggregate;
}

/**
 * The summary with one more sample (the given one is not modified).
 *
 * @param agg - a summary ({@link EMPTY_AGGREGATE} to start)
 * @param value - the sample, a finite number
 * @param at - its time, epoch ms
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed summary or sample
 */
export function addSample(agg: Aggregate, value: number, at: number): Aggregate {
  const a = checkAggregate('addSample', 'agg', agg);
  checkSample('addSample', value, at);
  value += 0; // −0 becomes +0, so that summaries compare equal however they were merged
  const count = a.count + 1;
  const delta = value - a.mean;
  const mean = a.mean + delta / count;
  const later = at > a.lastAt || (at === a.lastAt && value > a.last);
  return { count, min: value < a.min ? value : a.min, max: value > a.max ? value : a.max, mean, m2: a.m2 + delta * (value - mean), last: later ? value : a.last, lastAt: later ? at : a.lastAt };
}

/**
 * Merges two summaries (Chan et al.): count, min, max and last are exact; mean and variance are
 * equal to those of the whole up to floating-point rounding. Commutative, with
 * {@link EMPTY_AGGREGATE} as identity.
 *
 * @param a - a summary
 * @param b - another summary
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed summary
 */
export function mergeAggregates(a: Aggregate, b: Aggregate): Aggregate {
  const x = checkAggregate('mergeAggregates', 'a', a);
  const y = checkAggregate('mergeAggregates', 'b', b);
  if (x.count === 0) return y;
  if (y.count === 0) return x;
  const count = x.count + y.count;
  const delta = y.mean - x.mean;
  // Weighted mean written symmetrically so that merge(a, b) and merge(b, a) round identically.
  const mean = (x.mean * x.count + y.mean * y.count) / count;
  const m2 = x.m2 + y.m2 + (delta * delta * (x.count * y.count)) / count;
  const later = y.lastAt > x.lastAt || (y.lastAt === x.lastAt && y.last > x.last);
  return { count, min: Math.min(x.min, y.min), max: Math.max(x.max, y.max), mean, m2, last: later ? y.last : x.last, lastAt: later ? y.lastAt : x.lastAt };
}

/**
 * Population variance (m2 ÷ count; 0 for fewer than two samples).
 *
 * @param agg - a summary
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed summary
 */
export function aggregateVariance(agg: Aggregate): number {
  const a = checkAggregate('variance', 'agg', agg);
  return a.count < 2 ? 0 : Math.max(0, a.m2 / a.count);
}

/** One closed tumbling window. */
export interface WindowSummary extends Aggregate {
  /** Window start, epoch ms (inclusive): a multiple of the window length. */
  readonly start: number;
  /** Window end, epoch ms (exclusive). */
  readonly end: number;
}

/** A timed sample. */
export interface TimedSample {
  /** The value. */
  readonly value: number;
  /** Its time, epoch ms. */
  readonly at: number;
}

const samplesSchema = z.array(z.strictObject({ value: z.number().refine(Number.isFinite, 'a finite number'), at: z.number().min(0).max(MAX_TIME_MS) }));

/**
 * Summarises samples in tumbling windows `[k·windowMs, (k+1)·windowMs)`, in any order; windows
 * without samples are left out. The result is sorted by start.
 *
 * @param samples - timed samples
 * @param windowMs - window length, ms (≥ 1)
 * @throws FleetError `INVALID_ARGUMENT` (400) for malformed samples or window
 */
export function tumblingWindows(samples: readonly TimedSample[], windowMs: number): readonly WindowSummary[] {
  const list = parseWith('tumblingWindows', 'samples', samplesSchema, samples);
  numberArgument('tumblingWindows', 'windowMs', windowMs, 1, MAX_TIME_MS);
  const windows = new Map<number, Aggregate>();
  for (const s of list) {
    const start = Math.floor(s.at / windowMs) * windowMs;
    windows.set(start, addSample(windows.get(start) ?? EMPTY_AGGREGATE, s.value, s.at));
  }
  return [...windows.entries()].sort((a, b) => a[0] - b[0]).map(([start, agg]) => ({ start, end: start + windowMs, ...agg }));
}

/** Options of {@link measureReduction}; the byte sizes match `fogDataReduction`'s defaults. */
export interface ReductionOptions {
  /** Window length, ms. @defaultValue 60000 */
  readonly windowMs?: number;
  /** Report-by-exception band: a raw sample is forwarded when it differs from the last forwarded raw value by more than this. @defaultValue Infinity (summaries only) */
  readonly deadband?: number;
  /** Bytes of one raw sample on the wire. @defaultValue 200 */
  readonly rawBytesPerSample?: number;
  /** Bytes of one window summary. @defaultValue 400 */
  readonly summaryBytes?: number;
}

/** What a gateway forwarded for one stream, from {@link measureReduction}. */
export interface ReductionReport {
  /** Raw samples in. */
  readonly rawSamples: number;
  /** Window summaries out. */
  readonly summaries: number;
  /** Raw samples forwarded by exception. */
  readonly exceptions: number;
  /** Raw bytes in. */
  readonly rawBytes: number;
  /** Bytes out (summaries + exceptions). */
  readonly forwardedBytes: number;
  /** 1 − forwarded ÷ raw bytes (the figure `fogDataReduction` estimates). */
  readonly reductionFraction: number;
  /** exceptions ÷ raw samples (`fogDataReduction`'s `exceptionFraction`). */
  readonly exceptionFraction: number;
}

const reductionSchema = z.strictObject({
  windowMs: z.number().min(1).max(MAX_TIME_MS).default(60_000),
  deadband: z.number().min(0).default(Infinity),
  rawBytesPerSample: z.number().min(1).max(10_000_000).default(200),
  summaryBytes: z.number().min(1).max(10_000_000).default(400),
});

/**
 * Measures the data reduction of one stream through a fog gateway: one summary per non-empty
 * tumbling window, plus each raw sample that leaves the deadband around the last forwarded raw
 * value (the first sample is always forwarded). Samples are taken in time order.
 *
 * @param samples - the stream
 * @param options - window, deadband and byte sizes
 * @throws FleetError `INVALID_ARGUMENT` (400) for malformed samples or options
 */
export function measureReduction(samples: readonly TimedSample[], options: ReductionOptions = {}): ReductionReport {
  const list = parseWith('measureReduction', 'samples', samplesSchema, samples);
  const o = parseWith('measureReduction', 'options', reductionSchema, options);
  const sorted = [...list].sort((a, b) => a.at - b.at);
  const windows = new Set<number>();
  let exceptions = 0;
  let forwarded = NaN;
  for (const s of sorted) {
    windows.add(Math.floor(s.at / o.windowMs));
    if (o.deadband !== Infinity && !(Math.abs(s.value - forwarded) <= o.deadband)) {
      exceptions++;
      forwarded = s.value;
    }
  }
  const rawBytes = sorted.length * o.rawBytesPerSample;
  const forwardedBytes = windows.size * o.summaryBytes + exceptions * o.rawBytesPerSample;
  return {
    rawSamples: sorted.length,
    summaries: windows.size,
    exceptions,
    rawBytes,
    forwardedBytes,
    reductionFraction: rawBytes === 0 ? 0 : 1 - forwardedBytes / rawBytes,
    exceptionFraction: sorted.length === 0 ? 0 : exceptions / sorted.length,
  };
}
