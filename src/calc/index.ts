/**
 * Planning calculators for IoT fleets: provisioning cost, predictive-maintenance ROI, SIS
 * response budget, failures at scale, the architecture decision tree, monthly fleet cost and fog
 * data reduction.
 *
 * Every calculator is a pure function of a zod-validated input (units in the field names,
 * defaults where a sensible one exists). It returns the figures **and the working** — the
 * arithmetic as text a person can check — and never NaN or Infinity. Bad input throws a
 * `FleetError` with code `INVALID_INPUT` (status 400) naming the field and the form it expects.
 * Fractions are 0–1; fields ending in `Percent` are 0–100.
 *
 * @example
 * ```ts
 * import { provisioningCost } from 'fleetkit/calc';
 * const r = provisioningCost({ devices: 1000 });
 * console.log(r.manual.laborHours, r.zeroTouch.laborHours); // 33.3… 4.16…
 * console.log(r.working.join('\n'));
 * ```
 *
 * @module
 */
export { provisioningCost, provisioningCostInputSchema } from './provisioning-cost.js';
export type { ProvisioningCostInput, ProvisioningCostResult, ProvisioningMethodCost } from './provisioning-cost.js';
export { annuityFactor, predictiveMaintenanceRoi, predictiveMaintenanceRoiInputSchema } from './predictive-maintenance-roi.js';
export type { PredictiveMaintenanceRoiInput, PredictiveMaintenanceRoiResult } from './predictive-maintenance-roi.js';
export { silLevelForPfd, sisComponentSchema, sisResponseBudget, sisResponseBudgetInputSchema } from './sis-response-budget.js';
export type { SilLevel, SisComponent, SisResponseBudgetInput, SisResponseBudgetResult } from './sis-response-budget.js';
export { failuresAtScale, failuresAtScaleInputSchema } from './failures-at-scale.js';
export type { FailuresAtScaleInput, FailuresAtScaleResult } from './failures-at-scale.js';
export { ARCHITECTURE_TIERS, DEPLOYMENT_SCALES, recommendArchitecture, recommendArchitectureInputSchema } from './recommend-architecture.js';
export type { ArchitectureTier, ArchitectureTierInfo, AutomationTest, DeploymentScale, RecommendArchitectureInput, RecommendArchitectureResult } from './recommend-architecture.js';
export {
  DEFAULT_OPERATIONS_USD_PER_DEVICE_MONTH,
  DEFAULT_PLATFORM_OVERHEAD_USD_PER_MONTH,
  fleetCostPerMonth,
  fleetCostPerMonthInputSchema,
} from './fleet-cost-per-month.js';
export type { FleetCostComponent, FleetCostPerMonthInput, FleetCostPerMonthResult } from './fleet-cost-per-month.js';
export { PUBLISHED_FOG_REDUCTION_RANGE, fogDataReduction, fogDataReductionInputSchema } from './fog-data-reduction.js';
export type { FogDataReductionInput, FogDataReductionResult } from './fog-data-reduction.js';
export { calculators, findCalculator, runCalculator } from './registry.js';
export type { Calculator, CalculatorName, CalculatorResult } from './registry.js';
// The error type calculators throw, so that `fleetkit/calc` stands alone.
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions, Result } from '../errors.js';
