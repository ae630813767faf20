import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { fogDataReduction } from '../../src/calc/index.js';
import { addSample, EMPTY_AGGREGATE, measureReduction, mergeAggregates, tumblingWindows, aggregateVariance, type Aggregate, type TimedSample } from '../../src/fog/index.js';
import { series } from './series.js';

const sampleArb: fc.Arbitrary<TimedSample> = fc.record({ value: fc.double({ min: -1e6, max: 1e6, noNaN: true }), at: fc.integer({ min: 0, max: 10_000_000 }) });
const samplesArb = fc.array(sampleArb, { maxLength: 60 });
const agg = (xs: readonly TimedSample[]): Aggregate => xs.reduce((a, s) => addSample(a, s.value, s.at), EMPTY_AGGREGATE);

function close(a: Aggregate, b: Aggregate): void {
  expect(a.count).toBe(b.count);
  expect(a.min).toBe(b.min);
  expect(a.max).toBe(b.max);
  expect(a.last).toBe(b.last);
  expect(a.lastAt).toBe(b.lastAt);
  const scale = Math.max(1, Math.abs(a.min), Math.abs(a.max));
  expect(Math.abs(a.mean - b.mean)).toBeLessThanOrEqual(1e-9 * scale);
  expect(Math.abs(a.m2 - b.m2)).toBeLessThanOrEqual(1e-9 * scale * scale * Math.max(1, a.count));
}

describe('window aggregates', () => {
  it('merge(agg(a), agg(b)) = agg(a ++ b): count, min, max and last exactly, mean and variance to rounding', () => {
    fc.assert(fc.property(samplesArb, samplesArb, (a, b) => close(mergeAggregates(agg(a), agg(b)), agg([...a, ...b]))));
  });

  it('merge is commutative (exactly) and associative (to rounding), with the empty aggregate as identity', () => {
    fc.assert(fc.property(samplesArb, samplesArb, samplesArb, (a, b, c) => {
      const [x, y, z] = [agg(a), agg(b), agg(c)];
      expect(mergeAggregates(x, y)).toEqual(mergeAggregates(y, x));
      close(mergeAggregates(mergeAggregates(x, y), z), mergeAggregates(x, mergeAggregates(y, z)));
      expect(mergeAggregates(x, EMPTY_AGGREGATE)).toEqual(x);
    }));
  });

  it('is numerically stable: variance of 1e9 + small noise is exact where the naive Σx² − n·mean² formula is not', () => {
    const xs = [4, 7, 13, 16].map((v, i) => ({ value: 1e9 + v, at: i }));
    expect(aggregateVariance(agg(xs))).toBeCloseTo(22.5, 9);
    const naive = xs.reduce((s, x) => s + x.value * x.value, 0) / 4 - (xs.reduce((s, x) => s + x.value, 0) / 4) ** 2;
    expect(Math.abs(naive - 22.5)).toBeGreaterThan(1);
  });

  it('tumbling windows partition the samples and merge back to the whole', () => {
    fc.assert(fc.property(samplesArb, fc.integer({ min: 1, max: 5_000_000 }), (xs, w) => {
      const windows = tumblingWindows(xs, w);
      expect(windows.reduce((n, x) => n + x.count, 0)).toBe(xs.length);
      for (const x of windows) expect(x.start % w === 0 && x.end === x.start + w && x.lastAt >= x.start && x.lastAt < x.end).toBe(true);
      if (xs.length > 0) close(windows.reduce<Aggregate>((a, x) => mergeAggregates(a, x), EMPTY_AGGREGATE), agg(xs));
    }));
  });

  it('refuses malformed samples', () => {
    expectFleetError(() => addSample(EMPTY_AGGREGATE, Number.NaN, 0), 'INVALID_ARGUMENT', 'value');
    expectFleetError(() => tumblingWindows([{ value: 1, at: -1 }], 10), 'INVALID_ARGUMENT', 'samples.0.at');
    expectFleetError(() => mergeAggregates({} as never, EMPTY_AGGREGATE), 'INVALID_ARGUMENT', 'a.count');
  });
});

describe('data reduction', () => {
  it('agrees with `fleetkit calc fog-data-reduction` given the measured exception fraction', () => {
    for (const seed of [1, 2, 3]) {
      const pts = series(seed, 36_000, { level: 21, sigma: 0.05, intervalMs: 1_000, start: 1_699_999_980_000, shape: (i, v) => v + Math.sin(i / 3_000) * 2 });
      const r = measureReduction(pts, { windowMs: 60_000, deadband: 0.15 });
      expect(r.summaries).toBe(600);
      const calc = fogDataReduction({ devices: 1, sampleIntervalSeconds: 1, windowSeconds: 60, exceptionFraction: r.exceptionFraction });
      expect(r.reductionFraction).toBeCloseTo(calc.reductionFraction, 9);
    }
  });

  it('summaries alone: 1 − summaryBytes ÷ (samples per window × rawBytes)', () => {
    const pts = Array.from({ length: 600 }, (_, i) => ({ at: i * 1_000, value: 1 }));
    expect(measureReduction(pts).reductionFraction).toBeCloseTo(1 - 400 / (60 * 200), 12);
  });
});
