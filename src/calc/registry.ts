/**
 * The calculators as data: name, command-line name, summary, schema and worked example, so that
 * tools (the `fleetkit calc` command, forms, docs) can list and run them without a switch.
 */
import type { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError, type Result, isFleetError } from '../errors.js';
import { failuresAtScale, failuresAtScaleInputSchema, type FailuresAtScaleInput } from './failures-at-scale.js';
import { fleetCostPerMonth, fleetCostPerMonthInputSchema, type FleetCostPerMonthInput } from './fleet-cost-per-month.js';
import { fogDataReduction, fogDataReductionInputSchema, type FogDataReductionInput } from './fog-data-reduction.js';
import { predictiveMaintenanceRoi, predictiveMaintenanceRoiInputSchema, type PredictiveMaintenanceRoiInput } from './predictive-maintenance-roi.js';
import { provisioningCost, provisioningCostInputSchema, type ProvisioningCostInput } from './provisioning-cost.js';
import { recommendArchitecture, recommendArchitectureInputSchema, type RecommendArchitectureInput } from './recommend-architecture.js';
import { sisResponseBudget, sisResponseBudgetInputSchema, type SisResponseBudgetInput } from './sis-response-budget.js';

/** The public names of the calculators. */
export type CalculatorName =
  | 'provisioningCost'
  | 'predictiveMaintenanceRoi'
  | 'sisResponseBudget'
  | 'failuresAtScale'
  | 'recommendArchitecture'
  | 'fleetCostPerMonth'
  | 'fogDataReduction';

/** What every calculator returns: its figures and the working. */
export interface CalculatorResult {
  /** The arithmetic, step by step, as text a person can check. */
  readonly working: readonly string[];
}

/** One calculator, described for tools. */
export interface Calculator {
  /** The function's name, e.g. `provisioningCost`. */
  readonly name: CalculatorName;
  /** The command-line name, e.g. `provisioning-cost`. */
  readonly command: string;
  /** One line on what it computes. */
  readonly summary: string;
  /** The zod schema its input must satisfy. */
  readonly schema: z.ZodType;
  /** The worked example from the documentation, as an input. */
  readonly example: Readonly<Record<string, unknown>>;
  /**
   * Runs it on an unvalidated input.
   *
   * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
   */
  readonly calculate: (input: unknown) => CalculatorResult;
}

/** The seven calculators, in documentation order. */
export const calculators: readonly Calculator[] = [
  {
    name: 'provisioningCost',
    command: 'provisioning-cost',
    summary: 'manual vs zero-touch provisioning: labour hours, fit, cost, savings, break-even',
    schema: provisioningCostInputSchema,
    example: { devices: 1_000 },
    // The calculator validates; the cast only lets the unknown input through the type checker.
    calculate: (input) => provisioningCost(input as ProvisioningCostInput),
  },
  {
    name: 'predictiveMaintenanceRoi',
    command: 'predictive-maintenance-roi',
    summary: 'reactive vs predictive maintenance: annual costs, payback, NPV, ROI',
    schema: predictiveMaintenanceRoiInputSchema,
    example: {
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
    },
    calculate: (input) => predictiveMaintenanceRoi(input as PredictiveMaintenanceRoiInput),
  },
  {
    name: 'sisResponseBudget',
    command: 'sis-response-budget',
    summary: 'safety instrumented function: response time vs process safety time, SIL band',
    schema: sisResponseBudgetInputSchema,
    example: {
      processSafetyTimeSeconds: 8,
      budgetFraction: 0.5,
      components: [
        { name: 'RTD sensor', responseTimeSeconds: 0.5 },
        { name: '4-20 mA transmission', responseTimeSeconds: 0.05 },
        { name: 'network', responseTimeSeconds: 0.01 },
        { name: 'PLC input scan', responseTimeSeconds: 0.05 },
        { name: 'logic solve', responseTimeSeconds: 0.001 },
        { name: 'PLC output scan', responseTimeSeconds: 0.05 },
        { name: 'network to actuator', responseTimeSeconds: 0.01 },
        { name: 'valve stroke', responseTimeSeconds: 1.2 },
      ],
      pfdAvg: 0.005,
    },
    calculate: (input) => sisResponseBudget(input as SisResponseBudgetInput),
  },
  {
    name: 'failuresAtScale',
    command: 'failures-at-scale',
    summary: 'fleet-wide failures per day and messages per minute',
    schema: failuresAtScaleInputSchema,
    example: { devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 },
    calculate: (input) => failuresAtScale(input as FailuresAtScaleInput),
  },
  {
    name: 'recommendArchitecture',
    command: 'recommend-architecture',
    summary: 'the deployment decision tree: tiers, monthly cost, scale, automation test',
    schema: recommendArchitectureInputSchema,
    example: { devices: 5_000, processing: 'ml', manualOpsCostPerYearUsd: 60_000, platformCostUsd: 100_000 },
    calculate: (input) => recommendArchitecture(input as RecommendArchitectureInput),
  },
  {
    name: 'fleetCostPerMonth',
    command: 'fleet-cost-per-month',
    summary: 'monthly fleet cost: per-device components plus platform overhead',
    schema: fleetCostPerMonthInputSchema,
    example: { devices: 10_000 },
    calculate: (input) => fleetCostPerMonth(input as FleetCostPerMonthInput),
  },
  {
    name: 'fogDataReduction',
    command: 'fog-data-reduction',
    summary: 'fog gateway: windowed aggregation + report by exception vs raw telemetry',
    schema: fogDataReductionInputSchema,
    example: { devices: 1_000 },
    calculate: (input) => fogDataReduction(input as FogDataReductionInput),
  },
];

/**
 * The calculator called `name` — its function name (`provisioningCost`) or its command-line name
 * (`provisioning-cost`) — or `undefined`.
 */
export function findCalculator(name: string): Calculator | undefined {
  return calculators.find((c) => c.name === name || c.command === name);
}

/**
 * Runs the calculator called `name` on `input` and returns the result or the error as data,
 * never throwing.
 *
 * @param name - function or command-line name of a calculator
 * @param input - its input, unvalidated
 * @returns `{ ok: true, value }`, or `{ ok: false, error }` with `INVALID_INPUT` (400) for an
 *   unknown calculator or bad input
 * @example
 * ```ts
 * const r = runCalculator('failures-at-scale', { devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 });
 * if (r.ok) console.log(r.value.working.join('\n'));
 * ```
 */
export function runCalculator(name: string, input: unknown): Result<CalculatorResult> {
  const calculator = findCalculator(name);
  if (calculator === undefined) {
    const known = calculators.map((c) => c.command).join(', ');
    return { ok: false, error: new FleetError('INVALID_INPUT', `Unknown calculator ${describeValue(name)}: use one of ${known}`, { status: 400, details: { field: 'calculator', expected: known } }) };
  }
  try {
    return { ok: true, value: calculator.calculate(input) };
  } catch (error) {
    if (isFleetError(error)) return { ok: false, error };
    throw error;
  }
}
