/**
 * Latency percentiles from a mergeable sketch: an HDR histogram (the `hdr-histogram-js` port of
 * Gil Tene's HdrHistogram) kept with 3 significant digits, so any percentile is within 0.1 % of the
 * exact value, in a few kilobytes whatever the number of samples. Unlike a sorted array, two
 * sketches merge exactly (bucket counts add), so per-instance sketches give fleet-wide
 * percentiles; the state is serialisable to a compact string and back.
 */
import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { invalidArgument, parseWith } from '../tenancy/parse.js';

/** The largest latency a sketch records, ms (about 31 years; beyond is a bug upstream). */
export const MAX_LATENCY_MS = 1e12;
const SIGNIFICANT_DIGITS = 3;

/** The serialised form of a {@link LatencySketch} (a JSON value). */
export interface LatencySketchJson {
  /** Format version. */
  readonly v: 1;
  /** HdrHistogram's compressed V2 encoding, base64; values are integer microseconds. */
  readonly hdr: string;
}

/** Schema of {@link LatencySketchJson}. */
export const latencySketchJsonSchema = z.strictObject({ v: z.literal(1), hdr: z.string().min(1).max(10_000_000) });

function fresh(): Histogram {
  return build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: SIGNIFICANT_DIGITS, useWebAssembly: false });
}

/**
 * A mergeable latency sketch (values in milliseconds, resolved to the microsecond, 3 significant
 * digits). Record samples, merge other sketches in, read percentiles, serialise with
 * {@link LatencySketch.toJSON} and read back with {@link LatencySketch.fromJSON}.
 *
 * @example
 * ```ts
 * const a = new LatencySketch(); a.record(12.5);
 * const b = LatencySketch.fromJSON(json);
 * a.merge(b).percentile(99);
 * ```
 */
export class LatencySketch {
  readonly #h: Histogram;

  /** An empty sketch. */
  constructor() {
    this.#h = fresh();
  }

  /**
   * Records one latency (or `count` equal ones).
   *
   * @param ms - latency in ms, from 0 to {@link MAX_LATENCY_MS}
   * @param count - how many samples of this value @defaultValue 1
   * @returns this sketch
   * @throws FleetError `INVALID_ARGUMENT` (400) for a latency out of range or a count that is not a positive integer
   */
  record(ms: number, count = 1): this {
    if (typeof ms !== 'number' || !(ms >= 0 && ms <= MAX_LATENCY_MS)) throw invalidArgument('LatencySketch.record', `latency must be a number of ms from 0 to ${MAX_LATENCY_MS}, got ${describeValue(ms)}`);
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw invalidArgument('LatencySketch.record', `count must be a positive integer, got ${describeValue(count)}`);
    this.#h.recordValueWithCount(Math.round(ms * 1000), count);
    return this;
  }

  /**
   * Adds every sample of `other` to this sketch (bucket counts add: the merge is exact,
   * associative and commutative).
   *
   * @param other - another sketch
   * @returns this sketch
   * @throws FleetError `INVALID_ARGUMENT` (400) when `other` is not a LatencySketch
   */
  merge(other: LatencySketch): this {
    if (!(other instanceof LatencySketch)) throw invalidArgument('LatencySketch.merge', `other must be a LatencySketch, got ${describeValue(other)}`);
    this.#h.add(other.#h);
    return this;
  }

  /** Samples recorded. */
  get count(): number {
    return this.#h.totalCount;
  }

  /**
   * The latency at percentile `p` (0–100), ms; within 0.1 % of the exact value (it is the highest
   * value equivalent to the sample's bucket). 0 for an empty sketch.
   *
   * @param p - percentile, 0 to 100
   * @throws FleetError `INVALID_ARGUMENT` (400) for `p` out of range
   */
  percentile(p: number): number {
    if (typeof p !== 'number' || !(p >= 0 && p <= 100)) throw invalidArgument('LatencySketch.percentile', `p must be a percentile from 0 to 100, got ${describeValue(p)}`);
    if (this.#h.totalCount === 0) return 0;
    return this.#h.getValueAtPercentile(p) / 1000;
  }

  /** A copy of this sketch. */
  clone(): LatencySketch {
    return new LatencySketch().merge(this);
  }

  /** The serialised form (compressed HdrHistogram V2, base64). */
  toJSON(): LatencySketchJson {
    return { v: 1, hdr: encodeIntoCompressedBase64(this.#h) };
  }

  /**
   * Reads a sketch back from {@link LatencySketch.toJSON}.
   *
   * @param json - the serialised sketch
   * @throws FleetError `INVALID_ARGUMENT` (400) when it is not a serialised sketch or does not decode
   */
  static fromJSON(json: LatencySketchJson): LatencySketch {
    const j = parseWith('LatencySketch.fromJSON', 'json', latencySketchJsonSchema, json);
    const sketch = new LatencySketch();
    let decoded: Histogram;
    try {
      decoded = decodeFromCompressedBase64(j.hdr, 64, false);
    } catch (cause) {
      throw new FleetError('INVALID_ARGUMENT', 'LatencySketch.fromJSON: json.hdr is not a compressed HdrHistogram (use LatencySketch.toJSON)', { status: 400, cause });
    }
    sketch.#h.add(decoded);
    return sketch;
  }

  /**
   * A new sketch holding the samples of all `sketches` (none is modified).
   *
   * @param sketches - sketches to merge
   * @throws FleetError `INVALID_ARGUMENT` (400) when an entry is not a LatencySketch
   */
  static merged(sketches: readonly LatencySketch[]): LatencySketch {
    if (!Array.isArray(sketches)) throw invalidArgument('LatencySketch.merged', `sketches must be an array of LatencySketch, got ${describeValue(sketches)}`);
    const out = new LatencySketch();
    for (const s of sketches as unknown[]) out.merge(s as LatencySketch);
    return out;
  }
}

/** p50, p95 and p99 of a sketch, ms. */
export interface LatencyPercentiles {
  /** Median. */
  readonly p50: number;
  /** 95th percentile. */
  readonly p95: number;
  /** 99th percentile. */
  readonly p99: number;
}

/**
 * The p50, p95 and p99 of a sketch (0 for an empty one).
 *
 * @param sketch - a sketch
 * @throws FleetError `INVALID_ARGUMENT` (400) when `sketch` is not a LatencySketch
 */
export function latencyPercentiles(sketch: LatencySketch): LatencyPercentiles {
  if (!(sketch instanceof LatencySketch)) throw invalidArgument('latencyPercentiles', `sketch must be a LatencySketch, got ${describeValue(sketch)}`);
  return { p50: sketch.percentile(50), p95: sketch.percentile(95), p99: sketch.percentile(99) };
}
