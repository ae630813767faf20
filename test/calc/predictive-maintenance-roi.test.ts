import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { annuityFactor, predictiveMaintenanceRoi, type PredictiveMaintenanceRoiInput } from '../../src/calc/index.js';
import { errorOf } from './error-of.js';
import { numbersIn, roiInput } from './arbitraries.js';

/** The compressor-fleet case, reconstructed so that it reproduces the published totals. */
const compressors: PredictiveMaintenanceRoiInput = {
  assets: 24,
  sensorsPerAsset: 29,
  failuresPerAssetYear: 2,
  repairCostPerFailureUsd: 125_000,
  downtimeHoursPerFailure: 24,
  downtimeCostPerHourUsd: 18_000,
  reactiveOverheadPerAssetYearUsd: 410_000,
  failureReductionFraction: 0.85,
  plannedRepairCostPerFailureUsd: 15_000,
  platformCostPerYearUsd: 520_000,
  capexUsd: 2_070_000,
  discountRatePerYear: 0.08,
  horizonYears: 5,
};

describe('predictiveMaintenanceRoi — the compressor fleet', () => {
  const r = predictiveMaintenanceRoi(compressors);

  it('24 compressors × 29 sensors = 696 sensors; 48 failures a year at $557,000 each', () => {
    expect(r.sensors).toBe(696);
    expect(r.failuresPerYear).toBe(48);
    expect(r.costPerFailureUsd).toBe(557_000);
    expect(r.failuresAvoidedPerYear).toBeCloseTo(40.8, 9);
  });

  it('reactive $36.58M, predictive $5.14M a year', () => {
    expect(r.reactiveAnnualCostUsd).toBeCloseTo(36_576_000, 2);
    expect(Math.round(r.reactiveAnnualCostUsd / 10_000) / 100).toBe(36.58);
    expect(Math.round(r.predictiveAnnualCostUsd / 10_000) / 100).toBe(5.14);
    expect(r.predictiveAnnualCostUsd).toBeCloseTo(5_142_400, 2);
  });

  it('payback 24.0 days, NPV $123.4M at 8 % over 5 years', () => {
    expect(r.paybackDays?.toFixed(1)).toBe('24.0');
    expect(Math.round(r.npvUsd / 100_000) / 10).toBe(123.4);
    expect(r.annualSavingsUsd).toBeCloseTo(31_433_600, 2);
    expect(r.roiPercent).toBeCloseTo(((31_433_600 * 5 - 2_070_000) / 2_070_000) * 100, 6);
  });

  it('shows its working', () => {
    const w = r.working.join('\n');
    expect(w).toContain('$36,576,000');
    expect(w).toContain('$5,142,400');
    expect(w).toContain('24.0 days');
  });

  it('has no payback or ROI to report when there is nothing to recover', () => {
    const none = predictiveMaintenanceRoi({ ...compressors, platformCostPerYearUsd: 1e11 });
    expect(none.annualSavingsUsd).toBeLessThan(0);
    expect(none.paybackDays).toBeNull();
    expect(predictiveMaintenanceRoi({ ...compressors, capexUsd: 0 }).roiPercent).toBeNull();
  });
});

describe('annuityFactor', () => {
  it('is n at a zero rate and agrees with the closed form elsewhere', () => {
    expect(annuityFactor(0, 5)).toBe(5);
    expect(annuityFactor(0.08, 5)).toBeCloseTo((1 - 1.08 ** -5) / 0.08, 12);
    expect(annuityFactor(1e-300, 7)).toBeCloseTo(7, 12);
  });

  it.each([
    [-1, 5, 'rate'],
    [Number.NaN, 5, 'rate'],
    [0.08, 2.5, 'years'],
    [0.08, 0, 'years'],
  ])('refuses rate %d over %d years with a FleetError naming %s', (rate, years, field) => {
    const e = errorOf(() => annuityFactor(rate, years));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.['field']).toBe(field);
  });
});

describe('predictiveMaintenanceRoi — properties', () => {
  it('savings are the difference of the totals; caught + missed = all failures', () => {
    fc.assert(
      fc.property(roiInput, (input) => {
        const r = predictiveMaintenanceRoi(input);
        expect(r.annualSavingsUsd).toBe(r.reactiveAnnualCostUsd - r.predictiveAnnualCostUsd);
        // Relative: fleets reach billions of failures a year, where six absolute decimals are below rounding.
        expect(Math.abs(r.failuresAvoidedPerYear + r.residualFailuresPerYear - r.failuresPerYear)).toBeLessThanOrEqual(1e-12 * Math.max(1, r.failuresPerYear));
        expect(r.paybackDays === null).toBe(!(r.annualSavingsUsd > 0));
      }),
    );
  });

  it('NPV decreases as the discount rate rises when there are savings (and rises when the programme loses money)', () => {
    // Every generated case asserts something: about a third of them save money, the rest lose it
    // or break even, and discounting shrinks a stream of losses just as it shrinks savings.
    fc.assert(
      fc.property(roiInput, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (input, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const low = predictiveMaintenanceRoi({ ...input, discountRatePerYear: lo });
        const high = predictiveMaintenanceRoi({ ...input, discountRatePerYear: hi });
        const tolerance = 1e-9 * Math.max(1, Math.abs(low.npvUsd));
        if (low.annualSavingsUsd > 0) expect(high.npvUsd).toBeLessThanOrEqual(low.npvUsd + tolerance);
        else if (low.annualSavingsUsd < 0) expect(high.npvUsd).toBeGreaterThanOrEqual(low.npvUsd - tolerance);
        else expect(high.npvUsd + Number(input.capexUsd)).toBe(0);
      }),
    );
  });

  it('NPV falls strictly across the worked example as the rate rises from 0 % to 20 %', () => {
    const npvs = [0, 0.04, 0.08, 0.12, 0.2].map((discountRatePerYear) => predictiveMaintenanceRoi({ ...compressors, discountRatePerYear }).npvUsd);
    for (let k = 1; k < npvs.length; k += 1) expect(npvs[k]).toBeLessThan(npvs[k - 1] ?? Number.NaN);
    expect(npvs[0]).toBeCloseTo(31_433_600 * 5 - 2_070_000, 4);
  });

  it('a longer horizon never lowers the NPV of positive savings', () => {
    fc.assert(
      fc.property(roiInput, fc.integer({ min: 1, max: 99 }), (input, years) => {
        const short = predictiveMaintenanceRoi({ ...input, horizonYears: years });
        if (short.annualSavingsUsd <= 0) return;
        const long = predictiveMaintenanceRoi({ ...input, horizonYears: years + 1 });
        expect(long.npvUsd).toBeGreaterThanOrEqual(short.npvUsd);
      }),
    );
  });

  it('catching more failures never lowers savings when a planned repair is cheaper than a failure', () => {
    fc.assert(
      fc.property(roiInput, fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), (input, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const base = { ...input, plannedRepairCostPerFailureUsd: Math.min(Number(input.plannedRepairCostPerFailureUsd), Number(input.repairCostPerFailureUsd)) };
        const less = predictiveMaintenanceRoi({ ...base, failureReductionFraction: lo });
        const more = predictiveMaintenanceRoi({ ...base, failureReductionFraction: hi });
        expect(more.annualSavingsUsd).toBeGreaterThanOrEqual(less.annualSavingsUsd - 1e-9 * Math.abs(less.reactiveAnnualCostUsd));
      }),
    );
  });

  it('more assets never cost less, under either regime', () => {
    fc.assert(
      fc.property(roiInput, fc.integer({ min: 1, max: 1_000_000 }), (input, extra) => {
        const a = predictiveMaintenanceRoi(input);
        const b = predictiveMaintenanceRoi({ ...input, assets: Math.min(10_000_000, Number(input.assets) + extra) });
        expect(b.reactiveAnnualCostUsd).toBeGreaterThanOrEqual(a.reactiveAnnualCostUsd);
        expect(b.predictiveAnnualCostUsd).toBeGreaterThanOrEqual(a.predictiveAnnualCostUsd);
        expect(b.failuresPerYear).toBeGreaterThanOrEqual(a.failuresPerYear);
      }),
    );
  });

  it('payback × savings ÷ 365 is the capex', () => {
    fc.assert(
      fc.property(roiInput, (input) => {
        const r = predictiveMaintenanceRoi(input);
        if (r.paybackDays === null) return;
        expect((r.paybackDays * r.annualSavingsUsd) / 365).toBeCloseTo(Number(input.capexUsd), 0);
      }),
    );
  });

  it('never returns NaN or Infinity for a valid input', () => {
    fc.assert(
      fc.property(roiInput, (input) => {
        for (const [path, v] of numbersIn(predictiveMaintenanceRoi(input))) expect(Number.isFinite(v), path).toBe(true);
      }),
    );
  });
});
