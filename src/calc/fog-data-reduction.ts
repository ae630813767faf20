/**
 * What a fog gateway saves by aggregating in windows and reporting by exception (deadband).
 */
import { z } from 'zod';
import { num, pct, usd } from './format.js';
import { countField, fractionField, MAX_SECONDS, rangeField, usdField } from './fields.js';
import { assertFinite, parseCalcInput } from './validate.js';

/** The reduction range the production-architecture material claims for fog gateways. */
export const PUBLISHED_FOG_REDUCTION_RANGE: readonly [number, number] = [0.8, 0.92];

const BYTES_PER_GB = 1e9;
/** Average days in a month (365 ÷ 12). */
const DAYS_PER_MONTH = 365 / 12;

/** Input schema of {@link fogDataReduction}. */
export const fogDataReductionInputSchema = z
  .strictObject({
    devices: countField('devices behind fog gateways'),
    sampleIntervalSeconds: rangeField('seconds between raw readings from one device', 0.001, MAX_SECONDS).default(1),
    bytesPerMessage: rangeField('bytes in one raw reading on the wire', 1, 10_000_000).default(200),
    windowSeconds: rangeField('aggregation window: one summary per device per window, seconds', 0.001, MAX_SECONDS).default(60),
    aggregateBytesPerMessage: rangeField('bytes in one window summary (min/max/mean/count)', 1, 10_000_000).default(400),
    exceptionFraction: fractionField('fraction of raw readings that leave the deadband and are forwarded at once').default(0.1),
    ingestCostUsdPerMillionMessages: usdField('cloud ingest price per million messages, USD', 1_000_000).default(1),
    ingestCostUsdPerGb: usdField('cloud ingest/transfer price per GB, USD', 1_000_000).default(0),
  })
  .refine((i) => i.windowSeconds >= i.sampleIntervalSeconds, {
    message: 'a window no shorter than the sample interval (each window must hold a reading)',
    path: ['windowSeconds'],
  });

/** Input of {@link fogDataReduction}. */
export type FogDataReductionInput = z.input<typeof fogDataReductionInputSchema>;

/** Result of {@link fogDataReduction}. */
export interface FogDataReductionResult {
  /** Raw readings per day across the fleet. */
  readonly rawMessagesPerDay: number;
  /** Window summaries per day across the fleet. */
  readonly aggregateMessagesPerDay: number;
  /** Readings forwarded by exception per day across the fleet. */
  readonly exceptionMessagesPerDay: number;
  /** Summaries + exceptions. */
  readonly forwardedMessagesPerDay: number;
  /** Raw bytes per day. */
  readonly rawBytesPerDay: number;
  /** Forwarded bytes per day. */
  readonly forwardedBytesPerDay: number;
  /** Raw − forwarded bytes per day. */
  readonly bytesSavedPerDay: number;
  /** 1 − forwarded ÷ raw bytes (0–1; negative if the gateway adds traffic). */
  readonly reductionFraction: number;
  /** 1 − forwarded ÷ raw messages. */
  readonly messageReductionFraction: number;
  /** Ingest cost avoided per day, USD. */
  readonly ingestCostSavedUsdPerDay: number;
  /** Ingest cost avoided per month (365 ÷ 12 days), USD. */
  readonly ingestCostSavedUsdPerMonth: number;
  /** True when the byte reduction falls in the published 80–92 % range. */
  readonly withinPublishedRange: boolean;
  /** The arithmetic, step by step. */
  readonly working: readonly string[];
}

/**
 * Compares the raw telemetry of a fleet with what fog gateways forward: one summary per device
 * per window plus the readings that leave the deadband (report by exception).
 *
 * @param input - see {@link fogDataReductionInputSchema}; only `devices` is required
 * @returns messages and bytes per day, the reduction and the ingest cost saved, with the working
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * const r = fogDataReduction({ devices: 1_000 });
 * r.reductionFraction; // 0.867 (1 s readings, 60 s windows, 10 % exceptions)
 * ```
 */
export function fogDataReduction(input: FogDataReductionInput): FogDataReductionResult {
  const i = parseCalcInput('fogDataReduction', fogDataReductionInputSchema, input);
  const rawMessagesPerDay = (i.devices * 86_400) / i.sampleIntervalSeconds;
  const aggregateMessagesPerDay = (i.devices * 86_400) / i.windowSeconds;
  const exceptionMessagesPerDay = rawMessagesPerDay * i.exceptionFraction;
  const forwardedMessagesPerDay = aggregateMessagesPerDay + exceptionMessagesPerDay;
  const rawBytesPerDay = rawMessagesPerDay * i.bytesPerMessage;
  const forwardedBytesPerDay = aggregateMessagesPerDay * i.aggregateBytesPerMessage + exceptionMessagesPerDay * i.bytesPerMessage;
  const bytesSavedPerDay = rawBytesPerDay - forwardedBytesPerDay;
  const reductionFraction = bytesSavedPerDay / rawBytesPerDay;
  const messageReductionFraction = 1 - forwardedMessagesPerDay / rawMessagesPerDay;
  const messagesSaved = rawMessagesPerDay - forwardedMessagesPerDay;
  const ingestCostSavedUsdPerDay = (messagesSaved / 1e6) * i.ingestCostUsdPerMillionMessages + (bytesSavedPerDay / BYTES_PER_GB) * i.ingestCostUsdPerGb;
  const [lo, hi] = PUBLISHED_FOG_REDUCTION_RANGE;
  const withinPublishedRange = reductionFraction >= lo && reductionFraction <= hi;
  const working = [
    `raw: ${num(i.devices)} devices × 86,400 s ÷ ${num(i.sampleIntervalSeconds)} s = ${num(rawMessagesPerDay, 0)} msg/day × ${num(i.bytesPerMessage)} B = ${num(rawBytesPerDay / 1e6, 1)} MB/day`,
    `summaries: ${num(i.devices)} × 86,400 s ÷ ${num(i.windowSeconds)} s = ${num(aggregateMessagesPerDay, 0)} msg/day × ${num(i.aggregateBytesPerMessage)} B`,
    `exceptions: ${num(rawMessagesPerDay, 0)} × ${pct(i.exceptionFraction)} = ${num(exceptionMessagesPerDay, 0)} msg/day × ${num(i.bytesPerMessage)} B`,
    `forwarded: ${num(forwardedMessagesPerDay, 0)} msg/day, ${num(forwardedBytesPerDay / 1e6, 1)} MB/day`,
    `reduction: 1 − ${num(forwardedBytesPerDay / 1e6, 1)} ÷ ${num(rawBytesPerDay / 1e6, 1)} MB = ${pct(reductionFraction)} of bytes, ${pct(messageReductionFraction)} of messages (published range ${pct(lo, 0)}–${pct(hi, 0)}: ${withinPublishedRange ? 'within' : 'outside'})`,
    `ingest saved: ${num(messagesSaved / 1e6, 3)}M msg × ${usd(i.ingestCostUsdPerMillionMessages)} + ${num(bytesSavedPerDay / BYTES_PER_GB, 3)} GB × ${usd(i.ingestCostUsdPerGb)} = ${usd(ingestCostSavedUsdPerDay)}/day, ${usd(ingestCostSavedUsdPerDay * DAYS_PER_MONTH)}/month`,
  ];
  return assertFinite('fogDataReduction', {
    rawMessagesPerDay,
    aggregateMessagesPerDay,
    exceptionMessagesPerDay,
    forwardedMessagesPerDay,
    rawBytesPerDay,
    forwardedBytesPerDay,
    bytesSavedPerDay,
    reductionFraction,
    messageReductionFraction,
    ingestCostSavedUsdPerDay,
    ingestCostSavedUsdPerMonth: ingestCostSavedUsdPerDay * DAYS_PER_MONTH,
    withinPublishedRange,
    working,
  });
}
