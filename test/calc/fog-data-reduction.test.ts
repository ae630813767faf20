import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fogDataReduction, PUBLISHED_FOG_REDUCTION_RANGE } from '../../src/calc/index.js';
import { fogInput, numbersIn } from './arbitraries.js';

describe('fogDataReduction', () => {
  const r = fogDataReduction({ devices: 1_000 });

  it('1 s readings summarised every 60 s with 10 % exceptions cut bytes by 86.7 %, inside the published 80–92 %', () => {
    expect(r.rawMessagesPerDay).toBe(86_400_000);
    expect(r.aggregateMessagesPerDay).toBe(1_440_000);
    expect(r.exceptionMessagesPerDay).toBeCloseTo(8_640_000, 3);
    expect(r.reductionFraction).toBeCloseTo(1 - (400 / 60 + 20) / 200, 12);
    expect(r.withinPublishedRange).toBe(true);
    expect(PUBLISHED_FOG_REDUCTION_RANGE).toEqual([0.8, 0.92]);
  });

  it('prices the messages not sent', () => {
    expect(r.ingestCostSavedUsdPerDay).toBeCloseTo((86_400_000 - 10_080_000) / 1e6, 9);
    expect(r.ingestCostSavedUsdPerMonth).toBeCloseTo(r.ingestCostSavedUsdPerDay * (365 / 12), 9);
    const perGb = fogDataReduction({ devices: 1_000, ingestCostUsdPerMillionMessages: 0, ingestCostUsdPerGb: 0.09 });
    expect(perGb.ingestCostSavedUsdPerDay).toBeCloseTo((r.bytesSavedPerDay / 1e9) * 0.09, 9);
  });

  it('falls outside the published range when nearly every reading is an exception', () => {
    expect(fogDataReduction({ devices: 10, exceptionFraction: 0.5 }).withinPublishedRange).toBe(false);
  });
});

describe('fogDataReduction — properties', () => {
  it('bytes saved = raw − forwarded, and the reduction never exceeds 100 %', () => {
    fc.assert(
      fc.property(fogInput, (input) => {
        const f = fogDataReduction(input);
        expect(f.bytesSavedPerDay).toBe(f.rawBytesPerDay - f.forwardedBytesPerDay);
        expect(f.reductionFraction).toBeLessThanOrEqual(1);
        for (const [path, v] of numbersIn(f)) expect(Number.isFinite(v), path).toBe(true);
      }),
    );
  });

  it('more devices move more bytes and save more, at the same reduction', () => {
    fc.assert(
      fc.property(fogInput, fc.integer({ min: 1, max: 1_000_000 }), (input, extra) => {
        const a = fogDataReduction(input);
        const b = fogDataReduction({ ...input, devices: Math.min(1_000_000_000, Number(input.devices) + extra) });
        expect(b.rawBytesPerDay).toBeGreaterThanOrEqual(a.rawBytesPerDay);
        expect(b.forwardedBytesPerDay).toBeGreaterThanOrEqual(a.forwardedBytesPerDay);
        // Saved bytes are a difference of two large totals: monotone up to their rounding.
        if (a.bytesSavedPerDay >= 0) expect(b.bytesSavedPerDay).toBeGreaterThanOrEqual(a.bytesSavedPerDay - 1e-12 * b.rawBytesPerDay);
        // The reduction is a ratio of per-device rates: the fleet size cancels (up to rounding).
        expect(Math.abs(b.reductionFraction - a.reductionFraction)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(a.reductionFraction)));
      }),
    );
  });

  it('a wider deadband (fewer exceptions) or a longer window never reduces less', () => {
    fc.assert(
      fc.property(fogInput, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 1, max: 100, noNaN: true }), (input, fewer, stretch) => {
        const base = fogDataReduction(input);
        const lessNoise = fogDataReduction({ ...input, exceptionFraction: Number(input.exceptionFraction) * fewer });
        const longer = fogDataReduction({ ...input, windowSeconds: Math.min(31_536_000, Number(input.windowSeconds) * stretch) });
        expect(lessNoise.reductionFraction).toBeGreaterThanOrEqual(base.reductionFraction - 1e-12);
        expect(longer.reductionFraction).toBeGreaterThanOrEqual(base.reductionFraction - 1e-12);
      }),
    );
  });
});
