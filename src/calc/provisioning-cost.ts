/**
 * Manual vs zero-touch provisioning: labour, calendar time, cost and the break-even fleet size.
 */
import { z } from 'zod';
import { fixed, num, pct, usd } from './format.js';
import { assertFinite, parseCalcInput } from './validate.js';
import { countField, fractionField, MAX_SECONDS, nonNegativeField, rangeField, usdField } from './fields.js';

/**
 * Input schema of {@link provisioningCost}. Labour is paid per hour of work: crew size changes
 * how many days the work takes, never how many hours are paid.
 */
export const provisioningCostInputSchema = z.strictObject({
  devices: countField('devices to provision'),
  manualSecondsPerDevice: nonNegativeField('hands-on seconds per device, manual (flash, keys, register, label)', MAX_SECONDS).default(120),
  zeroTouchSecondsPerDevice: nonNegativeField('hands-on seconds per device, zero-touch (unbox, power on, check)', MAX_SECONDS).default(15),
  technicians: countField('technicians on the crew', 1, 100_000).default(2),
  hoursPerDay: rangeField('working hours per technician per day', 0.1, 24).default(8),
  availableDays: rangeField('calendar days available for the job', 0.01, 36_500).default(1),
  laborRateUsdPerHour: usdField('loaded labour rate, USD per hour', 100_000).default(50),
  manualPerDeviceUsd: usdField('manual consumables per device, USD', 1_000_000).default(0),
  manualOneTimeUsd: usdField('manual one-time cost (provisioning stations, jigs, adapters), USD').default(300),
  zeroTouchPerDeviceUsd: usdField('zero-touch cost per device (device certificate), USD', 1_000_000).default(0.36),
  zeroTouchOneTimeUsd: usdField('zero-touch one-time cost (CA registration, JITP/fleet-provisioning template, claim certificates), USD').default(500),
  manualReworkFraction: fractionField('fraction of devices done twice after a manual error').default(0),
  zeroTouchReworkFraction: fractionField('fraction of devices done twice after a zero-touch failure').default(0),
});

/** Input of {@link provisioningCost} (fields with defaults may be omitted). */
export type ProvisioningCostInput = z.input<typeof provisioningCostInputSchema>;

/** The figures for one provisioning method. */
export interface ProvisioningMethodCost {
  /** Hands-on seconds per device. */
  readonly secondsPerDevice: number;
  /** Devices worked twice (rework). */
  readonly reworkDevices: number;
  /** Hours of work: devices × (1 + rework) × seconds ÷ 3600. */
  readonly laborHours: number;
  /** Crew hours available: technicians × hours per day × available days. */
  readonly availableHours: number;
  /** Calendar days the work needs with the whole crew: labour hours ÷ (technicians × hours per day). */
  readonly daysNeeded: number;
  /** True when the labour hours fit the available hours. */
  readonly fitsAvailableHours: boolean;
  /** Labour hours beyond the available hours (0 when it fits). */
  readonly shortfallHours: number;
  /** Labour hours × labour rate. */
  readonly laborCostUsd: number;
  /** Devices × per-device cost: a total for the fleet, not a cost per device (that is {@link ProvisioningMethodCost.costPerDeviceUsd}). */
  readonly perDeviceCostTotalUsd: number;
  /** One-time cost. */
  readonly oneTimeCostUsd: number;
  /** Labour + per-device + one-time cost. */
  readonly totalCostUsd: number;
  /** Total cost ÷ devices. */
  readonly costPerDeviceUsd: number;
}

/** Result of {@link provisioningCost}. */
export interface ProvisioningCostResult {
  /** The manual method. */
  readonly manual: ProvisioningMethodCost;
  /** The zero-touch method. */
  readonly zeroTouch: ProvisioningMethodCost;
  /** Manual total − zero-touch total (negative when zero-touch costs more). */
  readonly savingsUsd: number;
  /** Savings as a percentage (0–100) of the manual total; 0 when the manual total is 0. */
  readonly savingsPercent: number;
  /**
   * The smallest fleet from which zero-touch costs no more than manual, for that fleet and every
   * larger one; `null` when zero-touch costs more per device, so it never pays off.
   */
  readonly breakEvenDevices: number | null;
  /** The arithmetic, step by step. */
  readonly working: readonly string[];
}

type Input = z.output<typeof provisioningCostInputSchema>;

interface Method {
  readonly label: string;
  readonly seconds: number;
  readonly rework: number;
  readonly perDevice: number;
  readonly oneTime: number;
}

function methods(i: Input): readonly [Method, Method] {
  return [
    { label: 'manual', seconds: i.manualSecondsPerDevice, rework: i.manualReworkFraction, perDevice: i.manualPerDeviceUsd, oneTime: i.manualOneTimeUsd },
    { label: 'zero-touch', seconds: i.zeroTouchSecondsPerDevice, rework: i.zeroTouchReworkFraction, perDevice: i.zeroTouchPerDeviceUsd, oneTime: i.zeroTouchOneTimeUsd },
  ];
}

/** Cost of one extra device with method `m`: its labour plus its per-device charge. */
function variableUsd(m: Method, rate: number): number {
  return ((m.seconds * (1 + m.rework)) / 3600) * rate + m.perDevice;
}

/**
 * The cost of `devices` devices with method `m`, step by step. The reported totals and the
 * break-even search both use this one computation, so that the break-even fleet agrees with the
 * totals to the last bit rather than to within rounding.
 */
function costOf(m: Method, rate: number, devices: number) {
  const reworkDevices = devices * m.rework;
  const seconds = (devices + reworkDevices) * m.seconds;
  const laborHours = seconds / 3600;
  const laborCostUsd = laborHours * rate;
  const perDeviceCostTotalUsd = devices * m.perDevice;
  return { reworkDevices, seconds, laborHours, laborCostUsd, perDeviceCostTotalUsd, totalCostUsd: laborCostUsd + perDeviceCostTotalUsd + m.oneTime };
}

function costMethod(m: Method, i: Input, working: string[]): ProvisioningMethodCost {
  const { reworkDevices, seconds, laborHours, laborCostUsd, perDeviceCostTotalUsd, totalCostUsd } = costOf(m, i.laborRateUsdPerHour, i.devices);
  const crewHoursPerDay = i.technicians * i.hoursPerDay;
  const availableHours = crewHoursPerDay * i.availableDays;
  const shortfallHours = Math.max(0, laborHours - availableHours);
  const rework = m.rework > 0 ? ` × (1 + ${pct(m.rework)} rework)` : '';
  working.push(
    `${m.label} labour: ${num(i.devices)} devices${rework} × ${num(m.seconds)} s = ${num(seconds, 0)} s = ${fixed(laborHours, 1)} h`,
    `${m.label} fit: ${fixed(laborHours, 1)} h vs ${num(availableHours, 1)} h available → ` +
      (shortfallHours > 0 ? `shortfall ${fixed(shortfallHours, 1)} h` : 'fits') +
      `; ${fixed(laborHours, 1)} h ÷ ${num(crewHoursPerDay, 1)} h/day = ${fixed(laborHours / crewHoursPerDay, 2)} days`,
    `${m.label} cost: ${fixed(laborHours, 2)} h × ${usd(i.laborRateUsdPerHour)}/h + ${num(i.devices)} × ${usd(m.perDevice)} + ${usd(m.oneTime)} = ${usd(totalCostUsd)}`,
  );
  return {
    secondsPerDevice: m.seconds,
    reworkDevices,
    laborHours,
    availableHours,
    daysNeeded: laborHours / crewHoursPerDay,
    fitsAvailableHours: shortfallHours === 0,
    shortfallHours,
    laborCostUsd,
    perDeviceCostTotalUsd,
    oneTimeCostUsd: m.oneTime,
    totalCostUsd,
    costPerDeviceUsd: totalCostUsd / i.devices,
  };
}

/** Smallest n ≥ 1 from which zero-touch ≤ manual for good (see {@link ProvisioningCostResult}). */
function breakEven(manual: Method, zero: Method, rate: number): number | null {
  const dv = variableUsd(manual, rate) - variableUsd(zero, rate);
  const df = zero.oneTime - manual.oneTime;
  const cheaper = (n: number): boolean => costOf(zero, rate, n).totalCostUsd <= costOf(manual, rate, n).totalCostUsd;
  // A per-device difference within rounding noise of the costs themselves is no difference.
  const same = Math.abs(dv) <= 1e-12 * Math.max(variableUsd(manual, rate), variableUsd(zero, rate));
  if (same) return df > 0 ? null : 1;
  if (dv < 0) return null;
  let n = Math.max(1, Math.ceil(df / dv));
  // The division rounds; settle on the exact integer by comparing the totals themselves (a few
  // steps at most: beyond 2^53 devices there is no exact integer to find).
  for (let step = 0; step < 4 && !cheaper(n); step += 1) n += 1;
  for (let step = 0; step < 4 && n > 1 && cheaper(n - 1); step += 1) n -= 1;
  return n;
}

/**
 * Compares manual and zero-touch provisioning of `devices` devices: labour hours, whether the
 * crew can do it in the available time, total cost, savings and the break-even fleet size.
 *
 * One cost model for both methods: paid hours = hours of work (devices × seconds per device);
 * the crew size sets the calendar time, not the bill.
 *
 * @param input - see {@link provisioningCostInputSchema}; only `devices` is required
 * @returns the figures per method, savings and the working
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * const r = provisioningCost({ devices: 1000 });
 * r.manual.laborHours;     // 33.3
 * r.manual.shortfallHours; // 17.3 (2 technicians × 8 h = 16 h)
 * r.zeroTouch.laborHours;  // 4.2
 * ```
 */
export function provisioningCost(input: ProvisioningCostInput): ProvisioningCostResult {
  const i = parseCalcInput('provisioningCost', provisioningCostInputSchema, input);
  const [m, z0] = methods(i);
  const working: string[] = [`crew capacity: ${num(i.technicians)} technicians × ${num(i.hoursPerDay)} h/day × ${num(i.availableDays)} day(s) = ${num(i.technicians * i.hoursPerDay * i.availableDays, 1)} h`];
  const manual = costMethod(m, i, working);
  const zeroTouch = costMethod(z0, i, working);
  const savingsUsd = manual.totalCostUsd - zeroTouch.totalCostUsd;
  const savingsPercent = manual.totalCostUsd === 0 ? 0 : (savingsUsd / manual.totalCostUsd) * 100;
  working.push(`savings: ${usd(manual.totalCostUsd)} − ${usd(zeroTouch.totalCostUsd)} = ${usd(savingsUsd)} (${fixed(savingsPercent, 1)}% of manual)`);
  const breakEvenDevices = breakEven(m, z0, i.laborRateUsdPerHour);
  const vm = variableUsd(m, i.laborRateUsdPerHour);
  const vz = variableUsd(z0, i.laborRateUsdPerHour);
  working.push(
    breakEvenDevices === null
      ? `break-even: never — zero-touch costs ${usd(vz)} per device vs manual ${usd(vm)}`
      : `break-even: (${usd(z0.oneTime)} − ${usd(m.oneTime)}) ÷ (${usd(vm)} − ${usd(vz)} per device) → ${num(breakEvenDevices)} devices`,
  );
  return assertFinite('provisioningCost', { manual, zeroTouch, savingsUsd, savingsPercent, breakEvenDevices, working });
}
