import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError, hostileValues } from '../support/hostile.js';
import { COHORT_COUNT, cohortLimit, cohortOf, inStage, isFleetError, murmur3x86_32 } from './imports.js';

const seedArb = fc.string({ minLength: 1, maxLength: 24 });
const idArb = fc.string({ minLength: 1, maxLength: 40 });

/** Pearson's chi-square statistic of `counts` against a uniform expectation. */
function chiSquare(counts: Int32Array | number[], total: number): number {
  const expected = total / counts.length;
  let chi = 0;
  for (const c of counts) chi += (c - expected) ** 2 / expected;
  return chi;
}

describe('cohortOf', () => {
  it('is murmur3_x86_32(utf8(seed + ":" + deviceId), 0) % 10000', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (seed, id) => {
        const expected = murmur3x86_32(new TextEncoder().encode(`${seed}:${id}`), 0) % 10_000;
        expect(cohortOf(seed, id)).toBe(expected);
      }),
    );
  });

  it('keeps the documented values (stable across versions)', () => {
    expect(cohortOf('fw-2.0.0', 'dev-0001')).toBe(7767);
    expect(cohortOf('canary-ring', 'sensor-42')).toBe(9619);
    expect(cohortOf('', '')).toBe(7430);
    expect(cohortOf('r1/2.4.0', 'thermostat-α')).toBe(6777);
  });

  it('is an integer in [0, 9999] and the same on every call', () => {
    fc.assert(
      fc.property(seedArb, idArb, (seed, id) => {
        const c = cohortOf(seed, id);
        expect(Number.isInteger(c) && c >= 0 && c < COHORT_COUNT).toBe(true);
        expect(cohortOf(seed, id)).toBe(c);
      }),
    );
  });

  // Statistical checks run on a fixed corpus of seeds and ids: the hash is a fixed contract, so
  // they give the same answer on every run (a random draw would fail now and then by design).
  it('is roughly uniform: chi-square over 100,000 ids passes at p = 0.001 for each seed of a fixed corpus', () => {
    const corpus: [string, string][] = [['fw-2.0.0/2.0.0', 'dev-'], ['canary-ring', 'sensor/'], ['r1/2.4.0', 'AA:BB:CC:'], ['x', ''], ['thermostat-α/1.2', 'dev-']];
    for (const [seed, prefix] of corpus) {
      const bins = new Int32Array(100); // 100 bins of 100 cohorts: expected 1,000 per bin
      const cohorts = new Int32Array(COHORT_COUNT);
      for (let i = 0; i < 100_000; i++) {
        const c = cohortOf(seed, `${prefix}${i}`);
        bins[Math.floor(c / 100)]!++;
        cohorts[c]!++;
      }
      // 99 degrees of freedom: the 0.999 quantile is 148.23.
      expect(chiSquare(bins, 100_000), seed).toBeLessThan(148.23);
      // 9,999 degrees of freedom: mean 9,999, sd 141.4; allow 4.5 sd.
      expect(chiSquare(cohorts, 100_000), seed).toBeLessThan(9_999 + 4.5 * Math.sqrt(2 * 9_999));
    }
  });

  it('stage inclusion is monotone: a device in a p % stage is in every larger stage', () => {
    const pct = fc.integer({ min: 1, max: 10_000 }).map((x) => x / 100);
    fc.assert(
      fc.property(seedArb, idArb, pct, pct, (seed, id, a, b) => {
        const [small, large] = a <= b ? [a, b] : [b, a];
        const c = cohortOf(seed, id);
        if (inStage(c, small)) expect(inStage(c, large)).toBe(true);
        expect(inStage(c, small)).toBe(c < cohortLimit(small));
      }),
    );
  });

  it('a new seed reshuffles: two seeds pick nearly independent 10 % stages (a fixed corpus of seed pairs)', () => {
    const pairs: [string, string][] = [['fw-2.4.0/2.4.0', 'fw-2.4.1/2.4.1'], ['a', 'b'], ['canary-ring', 'canary-ring2'], ['r1/1.0.0', 'r2/1.0.0'], ['x', 'X']];
    const ids = Array.from({ length: 10_000 }, (_, i) => `dev-${i}`);
    for (const [s1, s2] of pairs) {
      const first = new Set(ids.filter((id) => inStage(cohortOf(s1, id), 10)));
      const second = ids.filter((id) => inStage(cohortOf(s2, id), 10));
      const overlap = second.filter((id) => first.has(id)).length;
      // Independent 10 % draws overlap on about 1 % of the fleet (100 of 10,000): far from 1,000.
      expect(overlap, `${s1} / ${s2}`).toBeLessThan(200);
      expect(first.size).toBeGreaterThan(800);
    }
  });

  it('a stage of p % holds cohorts below p × 100: the limit itself is outside', () => {
    expect(inStage(99, 1)).toBe(true);
    expect(inStage(100, 1)).toBe(false);
    expect(inStage(0, 0.01)).toBe(true);
    expect(inStage(1, 0.01)).toBe(false);
    expect(inStage(0, 0)).toBe(false);
    expect(inStage(9_998, 99.99)).toBe(true);
    expect(inStage(9_999, 99.99)).toBe(false);
  });

  it('cohortLimit maps percent to cohorts without float drift', () => {
    expect(cohortLimit(1)).toBe(100);
    expect(cohortLimit(0.07)).toBe(7);
    expect(cohortLimit(0.29)).toBe(29);
    expect(cohortLimit(100)).toBe(10_000);
  });

  it('rejects non-string arguments with INVALID_ARGUMENT', () => {
    for (const [seed, id] of [[1, 'x'], ['s', undefined], [null, null]] as const) {
      let thrown: unknown;
      try {
        cohortOf(seed as unknown as string, id as unknown as string);
      } catch (e) {
        thrown = e;
      }
      expect(isFleetError(thrown, 'INVALID_ARGUMENT')).toBe(true);
      expect(thrown).toMatchObject({ status: 400, details: { seed: typeof seed, deviceId: typeof id } });
    }
    expect(() => cohortOf(1 as unknown as string, 'x')).toThrow('cohortOf(seed, deviceId) needs two strings, got number and string; pass the rollout seed and the device id as strings');
  });

  it('cohortLimit and inStage refuse values outside their ranges with INVALID_ARGUMENT', () => {
    const thrownBy = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    for (const bad of [Number.NaN, -1, 100.5, Number.POSITIVE_INFINITY, '10' as unknown as number]) {
      expect(isFleetError(thrownBy(() => cohortLimit(bad)), 'INVALID_ARGUMENT')).toBe(true);
      expect(isFleetError(thrownBy(() => inStage(5, bad)), 'INVALID_ARGUMENT')).toBe(true);
    }
    for (const bad of [-1, 10_000, 1.5, Number.NaN]) expect(isFleetError(thrownBy(() => inStage(bad, 10)), 'INVALID_ARGUMENT')).toBe(true);
    expect(thrownBy(() => cohortLimit(-1))).toMatchObject({ status: 400, details: { percent: -1 }, message: 'cohortLimit(percent): percent must be a number from 0 to 100, got -1' });
    expect(thrownBy(() => cohortLimit('10' as unknown as number))).toMatchObject({ details: { percent: 'string' } });
    expect(thrownBy(() => inStage(10_000, 10))).toMatchObject({ status: 400, message: 'inStage(cohort, percent): cohort must be an integer from 0 to 9999 (a value of cohortOf), got 10000' });
    expect(cohortLimit(0)).toBe(0);
    expect(inStage(9_999, 100)).toBe(true);
  });

  it('cohortLimit and inStage describe a BigInt, Symbol or object argument without calling its conversion hooks', () => {
    for (const { value } of hostileValues()) {
      expectFleetError(() => cohortLimit(value as number), 'INVALID_ARGUMENT', 'cohortLimit(percent)', 'got ');
      expectFleetError(() => inStage(value as number, 10), 'INVALID_ARGUMENT', 'inStage(cohort, percent)', 'got ');
      expectFleetError(() => inStage(5, value as number), 'INVALID_ARGUMENT', 'cohortLimit(percent)', 'got ');
    }
  });
});
