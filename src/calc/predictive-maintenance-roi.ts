/**
 * Predictive maintenance: reactive vs predictive annual cost, payback, NPV and ROI.
 */
import { z } from 'zod';
import { fixed, num, pct, usd } from './format.js';
import { countField, fractionField, MAX_USD, nonNegativeField, usdField } from './fields.js';
import { assertFinite, parseCalcInput } from './validate.js';

/** Input schema of {@link predictiveMaintenanceRoi}. */
export const predictiveMaintenanceRoiInputSchema = z.strictObject({
  assets: countField('monitored assets (machines, compressors, pumps)', 1, 10_000_000),
  failuresPerAssetYear: nonNegativeField('unplanned failures per asset per year, run-to-failure', 1_000),
  repairCostPerFailureUsd: usdField('repair cost of one unplanned failure, USD', 1_000_000_000),
  downtimeHoursPerFailure: nonNegativeField('hours of downtime per unplanned failure', 8_760).default(0),
  downtimeCostPerHourUsd: usdField('downtime penalty per hour, USD', 1_000_000_000).default(0),
  reactiveOverheadPerAssetYearUsd: usdField('reactive-regime overhead per asset per year (calendar overhauls, spares), USD', 1_000_000_000).default(0),
  failureReductionFraction: fractionField('fraction of failures the predictive programme catches before they happen').default(0.7),
  plannedRepairCostPerFailureUsd: usdField('planned repair cost of one caught failure, USD', 1_000_000_000),
  predictiveOverheadPerAssetYearUsd: usdField('predictive-regime overhead per asset per year, USD', 1_000_000_000).default(0),
  platformCostPerYearUsd: usdField('monitoring platform cost per year, USD'),
  sensorsPerAsset: countField('sensors per asset', 0, 100_000).default(0),
  capexUsd: usdField('up-front investment (sensors, gateways, integration), USD', MAX_USD),
  discountRatePerYear: fractionField('discount rate per year').default(0.08),
  horizonYears: countField('years of savings counted in the NPV and ROI', 1, 100).default(5),
});

/** Input of {@link predictiveMaintenanceRoi} (fields with defaults may be omitted). */
export type PredictiveMaintenanceRoiInput = z.input<typeof predictiveMaintenanceRoiInputSchema>;

/** Result of {@link predictiveMaintenanceRoi}. */
export interface PredictiveMaintenanceRoiResult {
  /** Sensors installed: assets × sensors per asset. */
  readonly sensors: number;
  /** Cost of one unplanned failure: repair + downtime hours × penalty per hour. */
  readonly costPerFailureUsd: number;
  /** Unplanned failures per year when running to failure. */
  readonly failuresPerYear: number;
  /** Failures caught in time per year (turned into planned repairs). */
  readonly failuresAvoidedPerYear: number;
  /** Failures still unplanned per year under the predictive programme. */
  readonly residualFailuresPerYear: number;
  /** Reactive regime: failures × cost per failure. */
  readonly reactiveFailureCostAnnualUsd: number;
  /** Reactive regime: assets × overhead per asset. */
  readonly reactiveOverheadAnnualUsd: number;
  /** Reactive regime, total per year. */
  readonly reactiveAnnualCostUsd: number;
  /** Predictive regime: residual failures × cost per failure. */
  readonly residualFailureCostAnnualUsd: number;
  /** Predictive regime: caught failures × planned repair cost. */
  readonly plannedRepairCostAnnualUsd: number;
  /** Predictive regime: assets × overhead per asset. */
  readonly predictiveOverheadAnnualUsd: number;
  /** Predictive regime: the platform. */
  readonly platformCostAnnualUsd: number;
  /** Predictive regime, total per year. */
  readonly predictiveAnnualCostUsd: number;
  /** Reactive − predictive, per year. */
  readonly annualSavingsUsd: number;
  /** Capex ÷ annual savings × 365; `null` when there are no savings to pay it back. */
  readonly paybackDays: number | null;
  /** Present value of one dollar a year over the horizon: (1 − (1 + r)^−n) ÷ r, or n when r = 0. */
  readonly annuityFactor: number;
  /** −capex + annual savings × annuity factor. */
  readonly npvUsd: number;
  /** Undiscounted: (annual savings × horizon − capex) ÷ capex × 100; `null` when capex is 0. */
  readonly roiPercent: number | null;
  /** Capex ÷ sensors; `null` without sensors. */
  readonly capexPerSensorUsd: number | null;
  /** The arithmetic, step by step. */
  readonly working: readonly string[];
}

/** The arguments of {@link annuityFactor}, checked like the calculator's own fields. */
const annuityArgsSchema = z.strictObject({
  rate: predictiveMaintenanceRoiInputSchema.shape.discountRatePerYear.unwrap(),
  years: predictiveMaintenanceRoiInputSchema.shape.horizonYears.unwrap(),
});

/** The annuity factor of already-validated arguments. */
function presentValueOfOnePerYear(rate: number, years: number): number {
  // expm1/log1p keep full precision for tiny rates, where 1 − (1 + r)^−n would cancel to 0.
  return rate === 0 ? years : -Math.expm1(-years * Math.log1p(rate)) / rate;
}

/**
 * Present value of 1 per year for `years` years at `rate`, paid at each year's end:
 * (1 − (1 + rate)^−years) ÷ rate, or `years` when the rate is 0.
 *
 * @param rate - discount rate per year, a fraction from 0 to 1
 * @param years - whole years, 1 to 100
 * @throws FleetError `INVALID_INPUT` (400) naming `rate` or `years` when either is out of range
 *   (a negative rate or a fractional year would give a meaningless factor, NaN or Infinity)
 * @example
 * ```ts
 * annuityFactor(0.08, 5); // 3.9927
 * ```
 */
export function annuityFactor(rate: number, years: number): number {
  const args = parseCalcInput('annuityFactor', annuityArgsSchema, { rate, years });
  return presentValueOfOnePerYear(args.rate, args.years);
}

/**
 * Estimates what a predictive-maintenance programme saves: the reactive regime pays for every
 * unplanned failure plus its overhead; the predictive regime pays for the failures it misses,
 * a planned repair for each failure it catches, its overhead and the platform.
 *
 * @param input - see {@link predictiveMaintenanceRoiInputSchema}
 * @returns annual costs, savings, payback in days, NPV, ROI and the working
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * const r = predictiveMaintenanceRoi({
 *   assets: 24, sensorsPerAsset: 29, failuresPerAssetYear: 2,
 *   repairCostPerFailureUsd: 125_000, downtimeHoursPerFailure: 24, downtimeCostPerHourUsd: 18_000,
 *   reactiveOverheadPerAssetYearUsd: 410_000, failureReductionFraction: 0.85,
 *   plannedRepairCostPerFailureUsd: 15_000, platformCostPerYearUsd: 520_000, capexUsd: 2_070_000,
 * });
 * r.reactiveAnnualCostUsd;   // 36,576,000
 * r.predictiveAnnualCostUsd; // 5,142,400
 * r.paybackDays;             // 24.0
 * r.npvUsd;                  // 123.4M at 8% over 5 years
 * ```
 */
export function predictiveMaintenanceRoi(input: PredictiveMaintenanceRoiInput): PredictiveMaintenanceRoiResult {
  const i = parseCalcInput('predictiveMaintenanceRoi', predictiveMaintenanceRoiInputSchema, input);
  const sensors = i.assets * i.sensorsPerAsset;
  const costPerFailureUsd = i.repairCostPerFailureUsd + i.downtimeHoursPerFailure * i.downtimeCostPerHourUsd;
  const failuresPerYear = i.assets * i.failuresPerAssetYear;
  const failuresAvoidedPerYear = failuresPerYear * i.failureReductionFraction;
  const residualFailuresPerYear = failuresPerYear - failuresAvoidedPerYear;
  const reactiveFailureCostAnnualUsd = failuresPerYear * costPerFailureUsd;
  const reactiveOverheadAnnualUsd = i.assets * i.reactiveOverheadPerAssetYearUsd;
  const reactiveAnnualCostUsd = reactiveFailureCostAnnualUsd + reactiveOverheadAnnualUsd;
  const residualFailureCostAnnualUsd = residualFailuresPerYear * costPerFailureUsd;
  const plannedRepairCostAnnualUsd = failuresAvoidedPerYear * i.plannedRepairCostPerFailureUsd;
  const predictiveOverheadAnnualUsd = i.assets * i.predictiveOverheadPerAssetYearUsd;
  const platformCostAnnualUsd = i.platformCostPerYearUsd;
  const predictiveAnnualCostUsd = residualFailureCostAnnualUsd + plannedRepairCostAnnualUsd + predictiveOverheadAnnualUsd + platformCostAnnualUsd;
  const annualSavingsUsd = reactiveAnnualCostUsd - predictiveAnnualCostUsd;
  const paybackDays = annualSavingsUsd > 0 ? (i.capexUsd / annualSavingsUsd) * 365 : null;
  const factor = presentValueOfOnePerYear(i.discountRatePerYear, i.horizonYears);
  const npvUsd = annualSavingsUsd * factor - i.capexUsd;
  const roiPercent = i.capexUsd === 0 ? null : ((annualSavingsUsd * i.horizonYears - i.capexUsd) / i.capexUsd) * 100;
  const working = [
    `cost per failure: ${usd(i.repairCostPerFailureUsd)} + ${num(i.downtimeHoursPerFailure)} h × ${usd(i.downtimeCostPerHourUsd)}/h = ${usd(costPerFailureUsd)}`,
    `failures: ${num(i.assets)} assets × ${num(i.failuresPerAssetYear)}/yr = ${num(failuresPerYear)}/yr; caught ${pct(i.failureReductionFraction)} = ${num(failuresAvoidedPerYear)}, missed ${num(residualFailuresPerYear)}`,
    `reactive: ${num(failuresPerYear)} × ${usd(costPerFailureUsd)} + ${num(i.assets)} × ${usd(i.reactiveOverheadPerAssetYearUsd)} = ${usd(reactiveAnnualCostUsd)}/yr`,
    `predictive: ${num(residualFailuresPerYear)} × ${usd(costPerFailureUsd)} + ${num(failuresAvoidedPerYear)} × ${usd(i.plannedRepairCostPerFailureUsd)} + ${num(i.assets)} × ${usd(i.predictiveOverheadPerAssetYearUsd)} + ${usd(platformCostAnnualUsd)} = ${usd(predictiveAnnualCostUsd)}/yr`,
    `savings: ${usd(reactiveAnnualCostUsd)} − ${usd(predictiveAnnualCostUsd)} = ${usd(annualSavingsUsd)}/yr`,
    paybackDays === null
      ? `payback: never (no annual savings)`
      : `payback: ${usd(i.capexUsd)} ÷ ${usd(annualSavingsUsd)} × 365 = ${fixed(paybackDays, 1)} days`,
    `NPV: ${usd(annualSavingsUsd)} × ${fixed(factor, 4)} (${pct(i.discountRatePerYear)}, ${num(i.horizonYears)} yr) − ${usd(i.capexUsd)} = ${usd(npvUsd)}`,
    roiPercent === null
      ? 'ROI: undefined without capex'
      : `ROI: (${usd(annualSavingsUsd)} × ${num(i.horizonYears)} − ${usd(i.capexUsd)}) ÷ ${usd(i.capexUsd)} = ${fixed(roiPercent, 1)}%`,
  ];
  return assertFinite('predictiveMaintenanceRoi', {
    sensors,
    costPerFailureUsd,
    failuresPerYear,
    failuresAvoidedPerYear,
    residualFailuresPerYear,
    reactiveFailureCostAnnualUsd,
    reactiveOverheadAnnualUsd,
    reactiveAnnualCostUsd,
    residualFailureCostAnnualUsd,
    plannedRepairCostAnnualUsd,
    predictiveOverheadAnnualUsd,
    platformCostAnnualUsd,
    predictiveAnnualCostUsd,
    annualSavingsUsd,
    paybackDays,
    annuityFactor: factor,
    npvUsd,
    roiPercent,
    capexPerSensorUsd: sensors === 0 ? null : i.capexUsd / sensors,
    working,
  });
}
