/**
 * Device health from one telemetry sample: battery, radio, memory and data quality.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { describeIssues } from './issues.js';
import type { LifecycleState } from './states.js';

/** One health sample as a device reports it (every metric optional). */
export interface HealthSample {
  /** When the sample was taken (epoch ms). */
  readonly at: number;
  /** Battery charge, 0–100 %. */
  readonly batteryPct?: number;
  /** Received signal strength (dBm, negative). */
  readonly rssiDbm?: number;
  /** Free heap / RAM in bytes. */
  readonly freeHeapBytes?: number;
  /** Recent sensor readings, oldest first. */
  readonly readings?: readonly number[];
  /** When the newest reading was taken (epoch ms). */
  readonly lastReadingAt?: number;
}

/** zod schema of a {@link HealthSample} (for samples arriving over the wire). */
export const healthSampleSchema: z.ZodType<HealthSample> = z.strictObject({
  at: z.number().finite(),
  batteryPct: z.number().min(0).max(100).exactOptional(),
  rssiDbm: z.number().min(-200).max(50).exactOptional(),
  freeHeapBytes: z.number().int().nonnegative().exactOptional(),
  readings: z.array(z.number().finite()).max(10_000).exactOptional(),
  lastReadingAt: z.number().finite().exactOptional(),
});

/** A "lower is worse" limit pair: below `warning` warns, below `critical` is critical. */
export interface LowerLimits {
  /** Values below this are a warning. */
  readonly warning: number;
  /** Values below this are critical (must be ≤ `warning`). */
  readonly critical: number;
}

/** Health thresholds; every field is optional and falls back to {@link DEFAULT_HEALTH_THRESHOLDS}. */
export interface HealthThresholds {
  /** @defaultValue `{ warning: 20, critical: 10 }` (%) */
  readonly batteryPct?: LowerLimits;
  /** @defaultValue `{ warning: -80, critical: -90 }` (dBm) */
  readonly rssiDbm?: LowerLimits;
  /** @defaultValue `{ warning: 32768, critical: 16384 }` (bytes) */
  readonly freeHeapBytes?: LowerLimits;
  /** A reading older than this (relative to the sample's `at`) is stale. @defaultValue 900000 (15 min) */
  readonly staleAfterMs?: number;
  /** This many identical consecutive readings mean a stuck sensor. @defaultValue 10 */
  readonly stuckAfter?: number;
  /** The plausible range of readings; outside it a reading is out of range. @defaultValue no range check */
  readonly readingRange?: { readonly min: number; readonly max: number };
}

/** The defaults of {@link HealthThresholds}. */
export const DEFAULT_HEALTH_THRESHOLDS: Readonly<{
  batteryPct: LowerLimits;
  rssiDbm: LowerLimits;
  freeHeapBytes: LowerLimits;
  staleAfterMs: number;
  stuckAfter: number;
}> = Object.freeze({
  batteryPct: Object.freeze({ warning: 20, critical: 10 }),
  rssiDbm: Object.freeze({ warning: -80, critical: -90 }),
  freeHeapBytes: Object.freeze({ warning: 32_768, critical: 16_384 }),
  staleAfterMs: 900_000,
  stuckAfter: 10,
});

/** Overall health. */
export type HealthStatus = 'good' | 'warning' | 'critical';

/** Why a sample is not `good`. */
export interface HealthReason {
  /** Stable code: `battery-low`, `rssi-weak`, `heap-low`, `data-stale`, `data-stuck`, `data-out-of-range`, `sample-invalid`. */
  readonly code: 'battery-low' | 'rssi-weak' | 'heap-low' | 'data-stale' | 'data-stuck' | 'data-out-of-range' | 'sample-invalid';
  /** How bad. */
  readonly severity: 'warning' | 'critical';
  /** The measured value. */
  readonly value: number;
  /** The threshold it crossed. */
  readonly threshold: number;
  /** In words. */
  readonly message: string;
}

/** What {@link evaluateHealth} returns. */
export interface HealthEvaluation {
  /** The worst severity among the reasons, `good` when there are none. */
  readonly status: HealthStatus;
  /** Every problem found. */
  readonly reasons: readonly HealthReason[];
  /** True when the device is decommissioned: nothing is evaluated and no alert may be raised. */
  readonly suppressed: boolean;
}

const limitsSchema = z.strictObject({ warning: z.number().finite(), critical: z.number().finite() }).refine((l) => l.critical <= l.warning, 'critical must be ≤ warning');

/** zod schema of {@link HealthThresholds}. */
export const healthThresholdsSchema: z.ZodType<HealthThresholds> = z.strictObject({
  batteryPct: limitsSchema.exactOptional(),
  rssiDbm: limitsSchema.exactOptional(),
  freeHeapBytes: limitsSchema.exactOptional(),
  staleAfterMs: z.number().positive().exactOptional(),
  stuckAfter: z.number().int().min(2).exactOptional(),
  readingRange: z.strictObject({ min: z.number().finite(), max: z.number().finite() }).refine((r) => r.min <= r.max, 'min must be ≤ max').exactOptional(),
});

function resolve(thresholds: HealthThresholds): Required<Omit<HealthThresholds, 'readingRange'>> & Pick<HealthThresholds, 'readingRange'> {
  const r = healthThresholdsSchema.safeParse(thresholds);
  if (!r.success) {
    throw new FleetError('INVALID_ARGUMENT', `evaluateHealth: invalid thresholds: ${describeIssues(r.error, 'thresholds')}`, { status: 400 });
  }
  return { ...DEFAULT_HEALTH_THRESHOLDS, ...r.data };
}

function lower(code: HealthReason['code'], what: string, value: number | undefined, limits: LowerLimits, unit: string, out: HealthReason[]): void {
  if (value === undefined) return;
  // Number.isFinite is false for anything but a finite number: it is the type check too.
  if (!Number.isFinite(value)) {
    out.push(invalid(`${what} is not a number`, typeof value === 'number' ? value : Number.NaN));
    return;
  }
  const severity = value < limits.critical ? 'critical' : value < limits.warning ? 'warning' : undefined;
  if (severity === undefined) return;
  const threshold = severity === 'critical' ? limits.critical : limits.warning;
  out.push({ code, severity, value, threshold, message: `${what} ${value}${unit} is below ${threshold}${unit}` });
}

function invalid(what: string, value: number): HealthReason {
  return { code: 'sample-invalid', severity: 'warning', value, threshold: 0, message: what };
}

// The readings to rate, or a sample-invalid reason: anything but a list of numbers cannot be rated.
function readingsOf(sample: HealthSample, out: HealthReason[]): readonly number[] {
  const readings: unknown = sample.readings;
  if (readings === undefined) return [];
  if (!Array.isArray(readings) || !readings.every((v) => typeof v === 'number')) {
    out.push(invalid('readings is not a list of numbers', Array.isArray(readings) ? readings.length : 0));
    return [];
  }
  return readings as readonly number[];
}

function dataQuality(sample: HealthSample, t: ReturnType<typeof resolve>, out: HealthReason[]): void {
  const { at, lastReadingAt } = sample as { readonly at: unknown; readonly lastReadingAt: unknown };
  if (lastReadingAt !== undefined) {
    // Only numbers are subtracted: "-" would coerce strings and call an object's valueOf/toString.
    const age = typeof at === 'number' && typeof lastReadingAt === 'number' ? at - lastReadingAt : Number.NaN;
    // NaN (a missing or non-numeric time) would fail the comparison and hide a stale sensor.
    if (!Number.isFinite(age)) out.push(invalid('at and lastReadingAt must both be finite epoch-ms times to rate staleness', age));
    else if (age > t.staleAfterMs) out.push({ code: 'data-stale', severity: 'warning', value: age, threshold: t.staleAfterMs, message: `the newest reading is ${Math.round(age / 1000)} s old` });
  }
  const readings = readingsOf(sample, out);
  if (readings.length >= t.stuckAfter) {
    const tail = readings.slice(-t.stuckAfter);
    if (tail.every((v) => v === tail[0])) {
      out.push({ code: 'data-stuck', severity: 'warning', value: tail[0] ?? 0, threshold: t.stuckAfter, message: `the last ${t.stuckAfter} readings are all ${String(tail[0])}` });
    }
  }
  const range = t.readingRange;
  if (range !== undefined) {
    const bad = readings.filter((v) => !(v >= range.min && v <= range.max));
    if (bad.length > 0) {
      out.push({ code: 'data-out-of-range', severity: 'warning', value: bad[bad.length - 1] ?? Number.NaN, threshold: bad.length, message: `${bad.length} reading(s) outside [${range.min}, ${range.max}]` });
    }
  }
}

/**
 * Rates one health sample: battery, RSSI, free heap and data quality (stale, stuck, out of range).
 * A decommissioned device is never rated (`suppressed: true`, no reasons): it raises no alerts.
 *
 * @param sample - the device's sample; missing metrics are not rated
 * @param thresholds - overrides of {@link DEFAULT_HEALTH_THRESHOLDS}
 * @param context - the device's lifecycle state, when known
 * @throws FleetError `INVALID_ARGUMENT` when the thresholds are inconsistent (critical above warning, …),
 *   `INVALID_INPUT` when the sample is not an object. Metrics of the wrong type are rated
 *   `sample-invalid` rather than thrown.
 *
 * @example
 * ```ts
 * evaluateHealth({ at: now, batteryPct: 8, rssiDbm: -71 });
 * // { status: 'critical', reasons: [{ code: 'battery-low', severity: 'critical', value: 8, threshold: 10, … }], suppressed: false }
 * ```
 */
export function evaluateHealth(sample: HealthSample, thresholds: HealthThresholds = {}, context: { readonly state?: LifecycleState } = {}): HealthEvaluation {
  const t = resolve(thresholds);
  if (typeof sample !== 'object' || sample === null || Array.isArray(sample)) {
    throw new FleetError('INVALID_INPUT', `evaluateHealth: the sample must be an object { at, batteryPct?, rssiDbm?, freeHeapBytes?, readings?, lastReadingAt? }; validate wire samples with healthSampleSchema`, {
      status: 400,
      details: { type: sample === null ? 'null' : typeof sample },
    });
  }
  if (context?.state === 'decommissioned') return { status: 'good', reasons: [], suppressed: true };
  const reasons: HealthReason[] = [];
  lower('battery-low', 'battery', sample.batteryPct, t.batteryPct, ' %', reasons);
  lower('rssi-weak', 'RSSI', sample.rssiDbm, t.rssiDbm, ' dBm', reasons);
  lower('heap-low', 'free heap', sample.freeHeapBytes, t.freeHeapBytes, ' B', reasons);
  dataQuality(sample, t, reasons);
  const status: HealthStatus = reasons.some((r) => r.severity === 'critical') ? 'critical' : reasons.length > 0 ? 'warning' : 'good';
  return { status, reasons, suppressed: false };
}
