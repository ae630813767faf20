/**
 * What "rare" means at fleet scale: failures per day and message rates.
 */
import { z } from 'zod';
import { fixed, num } from './format.js';
import { countField, MAX_SECONDS, nonNegativeField, rangeField } from './fields.js';
import { assertFinite, parseCalcInput } from './validate.js';

/** Days in the year the calculators use (a calendar year; leap days are noise at this precision). */
export const DAYS_PER_YEAR = 365;

/** Input schema of {@link failuresAtScale}. */
export const failuresAtScaleInputSchema = z.strictObject({
  devices: countField('devices in the fleet'),
  failuresPerDeviceYear: nonNegativeField('failures per device per year (1 = once a year)', 100_000),
  messageIntervalSeconds: rangeField('seconds between messages (heartbeats, telemetry) from one device', 0.001, MAX_SECONDS),
  messagesPerInterval: countField('messages each device sends per interval', 1, 1_000_000).default(1),
});

/** Input of {@link failuresAtScale}. */
export type FailuresAtScaleInput = z.input<typeof failuresAtScaleInputSchema>;

/** Result of {@link failuresAtScale}. */
export interface FailuresAtScaleResult {
  /** Devices × failures per device per year. */
  readonly failuresPerYear: number;
  /** Failures per year ÷ 365. */
  readonly failuresPerDay: number;
  /** Failures per day ÷ 24. */
  readonly failuresPerHour: number;
  /** Minutes between two failures somewhere in the fleet, on average; `null` when nothing fails. */
  readonly minutesBetweenFailures: number | null;
  /** Devices × messages per interval ÷ interval. */
  readonly messagesPerSecond: number;
  /** Messages per second × 60. */
  readonly messagesPerMinute: number;
  /** Messages per second × 86,400. */
  readonly messagesPerDay: number;
  /** The arithmetic, step by step. */
  readonly working: readonly string[];
}

/**
 * Turns per-device rates into fleet rates: a failure a device-year is 27 a day across 10,000
 * devices, and a 10-second heartbeat is 60,000 messages a minute.
 *
 * @param input - see {@link failuresAtScaleInputSchema}
 * @returns failures per year/day/hour and messages per second/minute/day, with the working
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * const r = failuresAtScale({ devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 });
 * r.failuresPerDay;    // 27.4
 * r.messagesPerMinute; // 60,000
 * ```
 */
export function failuresAtScale(input: FailuresAtScaleInput): FailuresAtScaleResult {
  const i = parseCalcInput('failuresAtScale', failuresAtScaleInputSchema, input);
  const failuresPerYear = i.devices * i.failuresPerDeviceYear;
  const failuresPerDay = failuresPerYear / DAYS_PER_YEAR;
  const failuresPerHour = failuresPerDay / 24;
  const messagesPerSecond = (i.devices * i.messagesPerInterval) / i.messageIntervalSeconds;
  const minutesBetweenFailures = failuresPerYear === 0 ? null : (DAYS_PER_YEAR * 24 * 60) / failuresPerYear;
  const working = [
    `failures: ${num(i.devices)} devices × ${num(i.failuresPerDeviceYear)}/device-year = ${num(failuresPerYear)}/yr ÷ ${DAYS_PER_YEAR} = ${fixed(failuresPerDay, 1)}/day`,
    minutesBetweenFailures === null ? 'between failures: nothing fails' : `between failures: 525,600 min ÷ ${num(failuresPerYear)} = ${num(minutesBetweenFailures, 1)} min`,
    `messages: ${num(i.devices)} × ${num(i.messagesPerInterval)} ÷ ${num(i.messageIntervalSeconds)} s = ${num(messagesPerSecond)}/s × 60 = ${num(messagesPerSecond * 60)}/min`,
  ];
  return assertFinite('failuresAtScale', {
    failuresPerYear,
    failuresPerDay,
    failuresPerHour,
    minutesBetweenFailures,
    messagesPerSecond,
    messagesPerMinute: messagesPerSecond * 60,
    messagesPerDay: messagesPerSecond * 86_400,
    working,
  });
}
