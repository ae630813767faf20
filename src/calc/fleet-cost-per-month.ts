/**
 * Monthly running cost of a fleet: per-device components plus a platform overhead.
 */
import { z } from 'zod';
import { num, pct, usd } from './format.js';
import { countField, usdField } from './fields.js';
import { assertFinite, parseCalcInput } from './validate.js';

/**
 * The default operations cost per device per month. With the other defaults it makes the model
 * reproduce both published totals exactly: v × 10,000 + F = $4,300 and v × 100,000 + F = $31,500
 * give v = $27,200 ÷ 90,000 = $0.30222… per device and F = $11,500 ÷ 9 = $1,277.78. The other
 * four components sum to the published $0.21; operations is the rest of v.
 */
export const DEFAULT_OPERATIONS_USD_PER_DEVICE_MONTH = 27_200 / 90_000 - 0.21;
/** The default platform overhead per month (see {@link DEFAULT_OPERATIONS_USD_PER_DEVICE_MONTH}). */
export const DEFAULT_PLATFORM_OVERHEAD_USD_PER_MONTH = 11_500 / 9;

/** Input schema of {@link fleetCostPerMonth}. Every cost is USD per month. */
export const fleetCostPerMonthInputSchema = z.strictObject({
  devices: countField('devices in the fleet'),
  computeUsdPerDeviceMonth: usdField('compute per device per month, USD', 1_000_000).default(0.1),
  storageUsdPerDeviceMonth: usdField('storage per device per month, USD', 1_000_000).default(0.04),
  transferUsdPerDeviceMonth: usdField('data transfer and messaging per device per month, USD', 1_000_000).default(0.05),
  monitoringUsdPerDeviceMonth: usdField('monitoring and logging per device per month, USD', 1_000_000).default(0.02),
  operationsUsdPerDeviceMonth: usdField('operations (support, on-call, fleet upkeep) per device per month, USD; the default makes 10K devices cost $4,300 and 100K $31,500', 1_000_000).default(DEFAULT_OPERATIONS_USD_PER_DEVICE_MONTH),
  platformOverheadUsdPerMonth: usdField('fixed platform overhead per month (control plane, tooling, base staff), USD; default calibrated like operations').default(DEFAULT_PLATFORM_OVERHEAD_USD_PER_MONTH),
});

/** Input of {@link fleetCostPerMonth}. */
export type FleetCostPerMonthInput = z.input<typeof fleetCostPerMonthInputSchema>;

/** One line of the monthly bill. */
export interface FleetCostComponent {
  /** compute, storage, transfer, monitoring, operations or platform overhead. */
  readonly name: string;
  /** Its cost per month, USD. */
  readonly usdPerMonth: number;
  /** Its share of the total (0–1; the shares sum to 1 when the total is above 0). */
  readonly fraction: number;
}

/** Result of {@link fleetCostPerMonth}. */
export interface FleetCostPerMonthResult {
  /** Sum of the per-device components. */
  readonly variableUsdPerDeviceMonth: number;
  /** Devices × variable cost per device. */
  readonly variableUsdPerMonth: number;
  /** The fixed overhead. */
  readonly platformOverheadUsdPerMonth: number;
  /** Variable + overhead. */
  readonly totalUsdPerMonth: number;
  /** Total ÷ devices: what one device really costs. */
  readonly allInUsdPerDeviceMonth: number;
  /** Total × 12. */
  readonly totalUsdPerYear: number;
  /** The bill, line by line. */
  readonly components: readonly FleetCostComponent[];
  /** The arithmetic, step by step. */
  readonly working: readonly string[];
}

/**
 * The monthly cost of running `devices` devices: per-device compute, storage, transfer,
 * monitoring and operations, plus a fixed platform overhead. The all-in cost per device falls
 * as the fleet grows because the overhead is shared.
 *
 * @param input - see {@link fleetCostPerMonthInputSchema}; only `devices` is required
 * @returns the total, the all-in cost per device and the bill by component, with the working
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * fleetCostPerMonth({ devices: 10_000 }).totalUsdPerMonth;  // 4,300
 * fleetCostPerMonth({ devices: 100_000 }).totalUsdPerMonth; // 31,500
 * ```
 */
export function fleetCostPerMonth(input: FleetCostPerMonthInput): FleetCostPerMonthResult {
  const i = parseCalcInput('fleetCostPerMonth', fleetCostPerMonthInputSchema, input);
  const perDevice: readonly (readonly [string, number])[] = [
    ['compute', i.computeUsdPerDeviceMonth],
    ['storage', i.storageUsdPerDeviceMonth],
    ['transfer', i.transferUsdPerDeviceMonth],
    ['monitoring', i.monitoringUsdPerDeviceMonth],
    ['operations', i.operationsUsdPerDeviceMonth],
  ];
  const variableUsdPerDeviceMonth = perDevice.reduce((sum, [, v]) => sum + v, 0);
  const variableUsdPerMonth = variableUsdPerDeviceMonth * i.devices;
  const totalUsdPerMonth = variableUsdPerMonth + i.platformOverheadUsdPerMonth;
  const lines: readonly (readonly [string, number])[] = [...perDevice.map(([n, v]) => [n, v * i.devices] as const), ['platform overhead', i.platformOverheadUsdPerMonth]];
  const components = lines.map(([name, usdPerMonth]) => ({ name, usdPerMonth, fraction: totalUsdPerMonth === 0 ? 0 : usdPerMonth / totalUsdPerMonth }));
  const allInUsdPerDeviceMonth = totalUsdPerMonth / i.devices;
  const working = [
    `variable per device: ${perDevice.map(([n, v]) => `${usd(v)} ${n}`).join(' + ')} = ${usd(variableUsdPerDeviceMonth)}`,
    `variable: ${num(i.devices)} × ${usd(variableUsdPerDeviceMonth)} = ${usd(variableUsdPerMonth)}/month`,
    `total: ${usd(variableUsdPerMonth)} + ${usd(i.platformOverheadUsdPerMonth)} overhead = ${usd(totalUsdPerMonth)}/month`,
    `all-in: ${usd(totalUsdPerMonth)} ÷ ${num(i.devices)} = ${usd(allInUsdPerDeviceMonth)} per device-month`,
    `largest line: ${components.reduce((a, b) => (b.usdPerMonth > a.usdPerMonth ? b : a)).name} (${pct(Math.max(...components.map((c) => c.fraction)))})`,
  ];
  return assertFinite('fleetCostPerMonth', {
    variableUsdPerDeviceMonth,
    variableUsdPerMonth,
    platformOverheadUsdPerMonth: i.platformOverheadUsdPerMonth,
    totalUsdPerMonth,
    allInUsdPerDeviceMonth,
    totalUsdPerYear: totalUsdPerMonth * 12,
    components,
    working,
  });
}
