import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { LatencySketch, latencyPercentiles } from '../../src/monitor/index.js';

const latencies = fc.array(fc.oneof(fc.integer({ min: 0, max: 100_000 }).map((us) => us / 1000), fc.double({ min: 0, max: 60_000, noNaN: true })), { maxLength: 200 });
const sketchOf = (xs: readonly number[]): LatencySketch => xs.reduce((s, x) => s.record(x), new LatencySketch());
const exactPercentile = (xs: readonly number[], p: number): number => {
  const sorted = xs.map((x) => Math.round(x * 1000) / 1000).sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

describe('LatencySketch', () => {
  it('merging sketches equals the sketch of the merged stream (same percentiles, same count)', () => {
    fc.assert(fc.property(latencies, latencies, fc.double({ min: 0, max: 100, noNaN: true }), (a, b, p) => {
      const merged = sketchOf(a).merge(sketchOf(b));
      const whole = sketchOf([...a, ...b]);
      expect(merged.count).toBe(a.length + b.length);
      expect(merged.percentile(p)).toBe(whole.percentile(p));
      expect(LatencySketch.merged([sketchOf(b), sketchOf(a)]).percentile(p)).toBe(whole.percentile(p));
    }));
  });

  it('every percentile is within 0.1 % (+1 µs) of the exact one', () => {
    fc.assert(fc.property(latencies.filter((xs) => xs.length > 0), fc.constantFrom(50, 90, 95, 99, 99.9, 100), (xs, p) => {
      const exact = exactPercentile(xs, p);
      expect(Math.abs(sketchOf(xs).percentile(p) - exact)).toBeLessThanOrEqual(exact * 0.001 + 0.001);
    }));
  });

  it('survives a JSON round trip', () => {
    fc.assert(fc.property(latencies, (xs) => {
      const s = sketchOf(xs);
      const back = LatencySketch.fromJSON(JSON.parse(JSON.stringify(s)) as never);
      expect(back.count).toBe(s.count);
      expect(latencyPercentiles(back)).toEqual(latencyPercentiles(s));
    }));
  });

  it('refuses bad input', () => {
    expectFleetError(() => new LatencySketch().record(-1), 'INVALID_ARGUMENT', 'latency');
    expectFleetError(() => new LatencySketch().percentile(101), 'INVALID_ARGUMENT', 'percentile');
    expectFleetError(() => LatencySketch.fromJSON({ v: 1, hdr: 'not base64!' }), 'INVALID_ARGUMENT', 'HdrHistogram');
    expectFleetError(() => new LatencySketch().merge({} as never), 'INVALID_ARGUMENT', 'LatencySketch');
    expect(new LatencySketch().percentile(99)).toBe(0);
  });
});
