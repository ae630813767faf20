/**
 * fast-check arbitraries for valid calculator inputs (inside every schema bound).
 */
import fc from 'fast-check';
import type {
  FailuresAtScaleInput,
  FleetCostPerMonthInput,
  FogDataReductionInput,
  PredictiveMaintenanceRoiInput,
  ProvisioningCostInput,
  RecommendArchitectureInput,
  SisResponseBudgetInput,
} from '../../src/calc/index.js';

/** 0, or a double from 1e-9 to `max` (the non-negative field rule). */
export const amount = (max: number): fc.Arbitrary<number> => fc.oneof(fc.constant(0), fc.double({ min: 1e-9, max, noNaN: true }));
/** A double in [min, max]. */
export const range = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true });
/** A fraction 0–1. */
export const fraction = (): fc.Arbitrary<number> => fc.double({ min: 0, max: 1, noNaN: true });
/** A whole count. */
export const count = (min: number, max: number): fc.Arbitrary<number> => fc.integer({ min, max });

export const provisioningInput: fc.Arbitrary<ProvisioningCostInput> = fc.record({
  devices: count(1, 1_000_000_000),
  manualSecondsPerDevice: amount(31_536_000),
  zeroTouchSecondsPerDevice: amount(31_536_000),
  technicians: count(1, 100_000),
  hoursPerDay: range(0.1, 24),
  availableDays: range(0.01, 36_500),
  laborRateUsdPerHour: amount(100_000),
  manualPerDeviceUsd: amount(1_000_000),
  manualOneTimeUsd: amount(1e12),
  zeroTouchPerDeviceUsd: amount(1_000_000),
  zeroTouchOneTimeUsd: amount(1e12),
  manualReworkFraction: fraction(),
  zeroTouchReworkFraction: fraction(),
});

export const roiInput: fc.Arbitrary<PredictiveMaintenanceRoiInput> = fc.record({
  assets: count(1, 10_000_000),
  failuresPerAssetYear: amount(1_000),
  repairCostPerFailureUsd: amount(1e9),
  downtimeHoursPerFailure: amount(8_760),
  downtimeCostPerHourUsd: amount(1e9),
  reactiveOverheadPerAssetYearUsd: amount(1e9),
  failureReductionFraction: fraction(),
  plannedRepairCostPerFailureUsd: amount(1e9),
  predictiveOverheadPerAssetYearUsd: amount(1e9),
  platformCostPerYearUsd: amount(1e12),
  sensorsPerAsset: count(0, 100_000),
  capexUsd: amount(1e12),
  discountRatePerYear: fraction(),
  horizonYears: count(1, 100),
});

export const sisComponents = fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 80 }), responseTimeSeconds: amount(31_536_000) }), { minLength: 1, maxLength: 20 });

export const sisInput: fc.Arbitrary<SisResponseBudgetInput> = fc
  .record(
    {
      processSafetyTimeSeconds: range(0.001, 31_536_000),
      budgetFraction: range(0.01, 1),
      components: sisComponents,
      pfdAvg: range(1e-9, 1),
    },
    { requiredKeys: ['processSafetyTimeSeconds', 'components'] },
  )
  .filter((i) => i.components.some((c) => c.responseTimeSeconds > 0));

export const failuresInput: fc.Arbitrary<FailuresAtScaleInput> = fc.record({
  devices: count(1, 1_000_000_000),
  failuresPerDeviceYear: amount(100_000),
  messageIntervalSeconds: range(0.001, 31_536_000),
  messagesPerInterval: count(1, 1_000_000),
});

export const architectureInput: fc.Arbitrary<RecommendArchitectureInput> = fc.record(
  {
    devices: count(1, 1_000_000_000),
    latencyCriticalMs: range(0.001, 86_400_000),
    processing: fc.constantFrom('simple' as const, 'ml' as const),
    regions: fc.constantFrom('single' as const, 'multi' as const),
    manualOpsCostPerYearUsd: amount(1e12),
    platformCostUsd: amount(1e12),
  },
  { requiredKeys: ['devices'] },
);

export const fleetCostInput: fc.Arbitrary<FleetCostPerMonthInput> = fc.record(
  {
    devices: count(1, 1_000_000_000),
    computeUsdPerDeviceMonth: amount(1_000_000),
    storageUsdPerDeviceMonth: amount(1_000_000),
    transferUsdPerDeviceMonth: amount(1_000_000),
    monitoringUsdPerDeviceMonth: amount(1_000_000),
    operationsUsdPerDeviceMonth: amount(1_000_000),
    platformOverheadUsdPerMonth: amount(1e12),
  },
  { requiredKeys: ['devices'] },
);

export const fogInput: fc.Arbitrary<FogDataReductionInput> = fc
  .record({
    devices: count(1, 1_000_000_000),
    sampleIntervalSeconds: range(0.001, 31_536_000),
    bytesPerMessage: range(1, 10_000_000),
    windowSeconds: range(0.001, 31_536_000),
    aggregateBytesPerMessage: range(1, 10_000_000),
    exceptionFraction: fraction(),
    ingestCostUsdPerMillionMessages: amount(1_000_000),
    ingestCostUsdPerGb: amount(1_000_000),
  })
  .filter((i) => i.windowSeconds >= i.sampleIntervalSeconds);

/** Every number in `value`, with its path. */
export function numbersIn(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => numbersIn(v, path === '' ? k : `${path}.${k}`));
}
