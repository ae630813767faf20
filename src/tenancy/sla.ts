/**
 * SLA evaluation over a window: uptime from outage intervals, latency percentiles from a
 * mergeable sketch, the delivery rate, the breached objectives and the service credit.
 *
 * Laws: outages are clipped to the window and overlaps count once, so the uptime does not depend
 * on their order or on how they are split; adding an outage never raises the uptime; the credit
 * never falls as the uptime falls.
 */
import { z } from 'zod';
import { LatencySketch, latencyPercentiles, type LatencyPercentiles } from '../monitor/sketch.js';
import { describeValue } from '../describe-value.js';
import { invalidArgument, MAX_TIME_MS, parseWith } from './parse.js';

const time = z.number().min(0).max(MAX_TIME_MS);
const pct = z.number().min(0).max(100);
const intervalSchema = z.strictObject({ startMs: time, endMs: time }).refine((i) => i.startMs <= i.endMs, { message: 'startMs must not be after endMs' });

/** One credit tier: below `belowUptimePct`, the credit is `creditPct` of the fee. */
export interface CreditTier {
  /** The tier applies when the uptime is strictly below this, %. */
  readonly belowUptimePct: number;
  /** Credit, % of the period's fee. */
  readonly creditPct: number;
}

/** The AWS-IoT-style credit schedule: 10 % below 99.9 %, 25 % below 99 %, 100 % below 95 %. */
export const DEFAULT_CREDIT_TIERS: readonly CreditTier[] = Object.freeze([
  { belowUptimePct: 99.9, creditPct: 10 },
  { belowUptimePct: 99, creditPct: 25 },
  { belowUptimePct: 95, creditPct: 100 },
]);

/** Schema of {@link SlaObjective}. */
export const slaObjectiveSchema = z.strictObject({
  uptimePct: pct.default(99.9),
  p99LatencyMs: z.number().positive().optional(),
  p95LatencyMs: z.number().positive().optional(),
  deliveryRate: z.number().min(0).max(1).default(0.999),
  creditTiers: z.array(z.strictObject({ belowUptimePct: pct, creditPct: pct })).max(100).default([...DEFAULT_CREDIT_TIERS]),
});

/** What a tenant is promised. */
export interface SlaObjective {
  /** Minimum uptime, %. @defaultValue 99.9 */
  readonly uptimePct?: number;
  /** Maximum p99 latency, ms (not checked when absent). */
  readonly p99LatencyMs?: number;
  /** Maximum p95 latency, ms (not checked when absent). */
  readonly p95LatencyMs?: number;
  /** Minimum delivered ÷ sent, 0–1. @defaultValue 0.999 */
  readonly deliveryRate?: number;
  /** Credit schedule on the uptime. @defaultValue {@link DEFAULT_CREDIT_TIERS} */
  readonly creditTiers?: readonly CreditTier[];
}

/** A time interval, epoch ms, start inclusive, end exclusive. */
export interface TimeInterval {
  /** Start, epoch ms. */
  readonly startMs: number;
  /** End, epoch ms (≥ start). */
  readonly endMs: number;
}

/** What happened in the window. */
export interface SlaInput {
  /** The evaluation window. */
  readonly window: TimeInterval;
  /** Outages (any order, may overlap or reach outside the window). */
  readonly outages: readonly TimeInterval[];
  /** Latencies seen in the window (a merge of every instance's sketch), if measured. */
  readonly latency?: LatencySketch;
  /** Messages sent and delivered in the window. */
  readonly delivery?: { readonly sent: number; readonly delivered: number };
  /** The period's fee, for the credit amount. @defaultValue 0 */
  readonly feeUsd?: number;
}

/** One missed objective. */
export interface SlaBreach {
  /** Which objective. */
  readonly objective: 'uptime' | 'p99Latency' | 'p95Latency' | 'delivery';
  /** The promise. */
  readonly target: number;
  /** What was measured. */
  readonly actual: number;
}

/** The verdict of {@link evaluateSla}. */
export interface SlaReport {
  /** Window length, ms. */
  readonly windowMs: number;
  /** Time inside the window covered by at least one outage, ms. */
  readonly downtimeMs: number;
  /** 100 × (1 − downtime ÷ window); 100 for an empty window. */
  readonly uptimePct: number;
  /** Latency percentiles, when a sketch was given. */
  readonly latency: LatencyPercentiles | undefined;
  /** delivered ÷ sent (1 when nothing was sent or no delivery figures were given). */
  readonly deliveryRate: number;
  /** Objectives missed. */
  readonly breaches: readonly SlaBreach[];
  /** Credit owed, % of the fee: the largest tier whose threshold is above the uptime. */
  readonly creditPct: number;
  /** Credit owed, USD. */
  readonly creditUsd: number;
}

const inputSchema = z.strictObject({
  window: intervalSchema,
  outages: z.array(intervalSchema).max(1_000_000),
  latency: z.instanceof(LatencySketch).optional(),
  delivery: z
    .strictObject({ sent: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), delivered: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) })
    .refine((d) => d.delivered <= d.sent, { message: 'delivered must not exceed sent' })
    .optional(),
  feeUsd: z.number().min(0).max(1e12).default(0),
});

/**
 * Total length of the union of `intervals` clipped to `window`, ms.
 *
 * @param window - the window
 * @param intervals - intervals in any order, possibly overlapping
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed interval
 */
export function coveredMs(window: TimeInterval, intervals: readonly TimeInterval[]): number {
  const w = parseWith('coveredMs', 'window', intervalSchema, window);
  if (!Array.isArray(intervals)) throw invalidArgument('coveredMs', `intervals must be an array, got ${describeValue(intervals)}`);
  const list = parseWith('coveredMs', 'intervals', z.array(intervalSchema), intervals);
  return union(w, list);
}

function union(w: TimeInterval, list: readonly TimeInterval[]): number {
  const clipped = list
    .map((i) => ({ s: Math.max(i.startMs, w.startMs), e: Math.min(i.endMs, w.endMs) }))
    .filter((i) => i.e > i.s)
    .sort((a, b) => a.s - b.s);
  let total = 0;
  let curS = -1;
  let curE = -1;
  for (const i of clipped) {
    if (i.s > curE) {
      total += curE - curS;
      curS = i.s;
      curE = i.e;
    } else if (i.e > curE) curE = i.e;
  }
  return total + (curE - curS);
}

/**
 * Evaluates a tenant's SLA over one window.
 *
 * @param input - the window, outages, latency sketch, delivery figures and fee
 * @param objective - the promise; see {@link SlaObjective} for the defaults
 * @returns uptime, percentiles, delivery rate, breaches and credit
 * @throws FleetError `INVALID_INPUT` (400) naming the malformed field
 * @example
 * ```ts
 * evaluateSla({ window: { startMs: 0, endMs: 30 * 86_400_000 }, outages: [{ startMs: 0, endMs: 3_600_000 }] }, {});
 * // uptimePct 99.86…, creditPct 10
 * ```
 */
export function evaluateSla(input: SlaInput, objective: SlaObjective = {}): SlaReport {
  const i = parseWith('evaluateSla', 'input', inputSchema, input, 'INVALID_INPUT');
  const o = parseWith('evaluateSla', 'objective', slaObjectiveSchema, objective, 'INVALID_INPUT');
  const windowMs = i.window.endMs - i.window.startMs;
  const downtimeMs = union(i.window, i.outages);
  const uptimePct = windowMs === 0 ? 100 : 100 * (1 - downtimeMs / windowMs);
  const latency = i.latency === undefined ? undefined : latencyPercentiles(i.latency);
  const deliveryRate = i.delivery === undefined || i.delivery.sent === 0 ? 1 : i.delivery.delivered / i.delivery.sent;
  const breaches: SlaBreach[] = [];
  if (uptimePct < o.uptimePct) breaches.push({ objective: 'uptime', target: o.uptimePct, actual: uptimePct });
  if (latency !== undefined && o.p99LatencyMs !== undefined && latency.p99 > o.p99LatencyMs) breaches.push({ objective: 'p99Latency', target: o.p99LatencyMs, actual: latency.p99 });
  if (latency !== undefined && o.p95LatencyMs !== undefined && latency.p95 > o.p95LatencyMs) breaches.push({ objective: 'p95Latency', target: o.p95LatencyMs, actual: latency.p95 });
  if (deliveryRate < o.deliveryRate) breaches.push({ objective: 'delivery', target: o.deliveryRate, actual: deliveryRate });
  const creditPct = creditFor(uptimePct, o.creditTiers);
  return { windowMs, downtimeMs, uptimePct, latency, deliveryRate, breaches, creditPct, creditUsd: (i.feeUsd * creditPct) / 100 };
}

function creditFor(uptimePct: number, tiers: readonly CreditTier[]): number {
  let credit = 0;
  for (const t of tiers) if (uptimePct < t.belowUptimePct && t.creditPct > credit) credit = t.creditPct;
  return credit;
}
