/**
 * Metering: usage counters per tenant that merge associatively and commutatively, so meters kept
 * by many gateway instances add up exactly to the meter of all their events:
 * `mergeMeters(meterOf(a), meterOf(b))` equals `meterOf([...a, ...b])`, and the empty meter is
 * the identity. Counts are integers and stay exact (a sum past 2^53 − 1 is refused).
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { tenantIdSchema } from '../ids.js';
import { invalidArgument, MAX_TIME_MS, parseWith } from './parse.js';

/** What a meter counts per tenant. */
export const USAGE_KINDS = ['messages', 'bytes', 'shadowUpdates', 'apiCalls', 'storageByteHours', 'throttled'] as const;

/**
 * One kind of usage: telemetry `messages` ingested and their `bytes`, `shadowUpdates`,
 * `apiCalls`, `storageByteHours` (bytes stored × hours, for storage billing) and `throttled`
 * (requests refused by a limiter).
 */
export type UsageKind = (typeof USAGE_KINDS)[number];

/** Schema of {@link UsageEvent}. */
export const usageEventSchema = z.strictObject({
  tenantId: tenantIdSchema,
  kind: z.enum(USAGE_KINDS),
  amount: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  at: z.number().min(0).max(MAX_TIME_MS),
});

/** One metered use. */
export interface UsageEvent {
  /** The tenant it is billed to. */
  readonly tenantId: string;
  /** What was used. */
  readonly kind: UsageKind;
  /** How much: a non-negative integer (messages, bytes, calls, byte-hours). */
  readonly amount: number;
  /** When, epoch ms. */
  readonly at: number;
}

/** One tenant's totals in a {@link Meter}. */
export interface TenantUsage {
  /** The tenant. */
  readonly tenantId: string;
  /** Telemetry messages ingested. */
  readonly messages: number;
  /** Telemetry bytes ingested. */
  readonly bytes: number;
  /** Shadow updates. */
  readonly shadowUpdates: number;
  /** API calls. */
  readonly apiCalls: number;
  /** Bytes stored × hours. */
  readonly storageByteHours: number;
  /** Requests refused by a limiter. */
  readonly throttled: number;
  /** Events metered. */
  readonly events: number;
  /** Earliest event time, epoch ms. */
  readonly firstAt: number;
  /** Latest event time, epoch ms. */
  readonly lastAt: number;
}

/** Usage totals per tenant: a plain JSON value, tenants sorted by id. */
export interface Meter {
  /** One entry per tenant with at least one event, sorted by `tenantId`. */
  readonly tenants: readonly TenantUsage[];
}

/** The meter with no usage: the identity of {@link mergeMeters}. */
export const EMPTY_METER: Meter = Object.freeze({ tenants: Object.freeze([]) as readonly TenantUsage[] });

function add(fn: string, a: number, b: number): number {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new FleetError('INVALID_ARGUMENT', `${fn}: a usage total passed 2^53 − 1 and would lose precision; split the meter by period`, { status: 400 });
  return s;
}

function single(e: UsageEvent): TenantUsage {
  return {
    tenantId: e.tenantId,
    messages: e.kind === 'messages' ? e.amount : 0,
    bytes: e.kind === 'bytes' ? e.amount : 0,
    shadowUpdates: e.kind === 'shadowUpdates' ? e.amount : 0,
    apiCalls: e.kind === 'apiCalls' ? e.amount : 0,
    storageByteHours: e.kind === 'storageByteHours' ? e.amount : 0,
    throttled: e.kind === 'throttled' ? e.amount : 0,
    events: 1,
    firstAt: e.at,
    lastAt: e.at,
  };
}

function mergeUsage(fn: string, a: TenantUsage, b: TenantUsage): TenantUsage {
  return {
    tenantId: a.tenantId,
    messages: add(fn, a.messages, b.messages),
    bytes: add(fn, a.bytes, b.bytes),
    shadowUpdates: add(fn, a.shadowUpdates, b.shadowUpdates),
    apiCalls: add(fn, a.apiCalls, b.apiCalls),
    storageByteHours: add(fn, a.storageByteHours, b.storageByteHours),
    throttled: add(fn, a.throttled, b.throttled),
    events: add(fn, a.events, b.events),
    firstAt: Math.min(a.firstAt, b.firstAt),
    lastAt: Math.max(a.lastAt, b.lastAt),
  };
}

function mergeSorted(fn: string, a: readonly TenantUsage[], b: readonly TenantUsage[]): TenantUsage[] {
  const out: TenantUsage[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.tenantId < y.tenantId)) {
      out.push(x as TenantUsage);
      i++;
    } else if (x === undefined || y.tenantId < x.tenantId) {
      out.push(y);
      j++;
    } else {
      out.push(mergeUsage(fn, x, y));
      i++;
      j++;
    }
  }
  return out;
}

const usageNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const tenantUsageSchema = z.strictObject({
  tenantId: tenantIdSchema,
  messages: usageNumber,
  bytes: usageNumber,
  shadowUpdates: usageNumber,
  apiCalls: usageNumber,
  storageByteHours: usageNumber,
  throttled: usageNumber,
  events: usageNumber.min(1),
  firstAt: z.number().min(0).max(MAX_TIME_MS),
  lastAt: z.number().min(0).max(MAX_TIME_MS),
});
/** Schema of a {@link Meter} (for meters read back from storage or the wire). */
export const meterSchema = z.strictObject({ tenants: z.array(tenantUsageSchema) }).refine(
  (m) => m.tenants.every((t, i) => i === 0 || (m.tenants[i - 1] as TenantUsage).tenantId < t.tenantId) && m.tenants.every((t) => t.firstAt <= t.lastAt),
  { message: 'tenants must be sorted by tenantId without duplicates, with firstAt ≤ lastAt' },
);

function checkMeter(fn: string, name: string, meter: unknown): Meter {
  if (meter === EMPTY_METER) return EMPTY_METER;
  return parseWith(fn, name, meterSchema, meter);
}

/**
 * Adds one event to a meter and returns the new meter (the given one is not modified).
 *
 * @param meter - a meter ({@link EMPTY_METER} to start)
 * @param event - the usage
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed meter or event, or a total past 2^53 − 1
 */
export function recordUsage(meter: Meter, event: UsageEvent): Meter {
  const m = checkMeter('recordUsage', 'meter', meter);
  const e = parseWith('recordUsage', 'event', usageEventSchema, event);
  return { tenants: mergeSorted('recordUsage', m.tenants, [single(e)]) };
}

/**
 * The meter of a list of events.
 *
 * @param events - usage events, in any order
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed event (naming its index) or a total past 2^53 − 1
 */
export function meterOf(events: readonly UsageEvent[]): Meter {
  if (!Array.isArray(events)) throw invalidArgument('meterOf', `events must be an array of usage events, got ${describeValue(events)}`);
  const byTenant = new Map<string, TenantUsage>();
  events.forEach((raw: unknown, i) => {
    const e = parseWith('meterOf', `events[${i}]`, usageEventSchema, raw);
    const prev = byTenant.get(e.tenantId);
    byTenant.set(e.tenantId, prev === undefined ? single(e) : mergeUsage('meterOf', prev, single(e)));
  });
  return { tenants: [...byTenant.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1)) };
}

/**
 * Merges two meters (per-instance meters into one): associative, commutative, with
 * {@link EMPTY_METER} as identity; the result is exactly the meter of both event streams.
 *
 * @param a - a meter
 * @param b - another meter
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed meter or a total past 2^53 − 1
 */
export function mergeMeters(a: Meter, b: Meter): Meter {
  const x = checkMeter('mergeMeters', 'a', a);
  const y = checkMeter('mergeMeters', 'b', b);
  return { tenants: mergeSorted('mergeMeters', x.tenants, y.tenants) };
}

/** Unit prices for {@link priceUsage}, USD. */
export interface UsagePrices {
  /** Per million telemetry messages. @defaultValue 1 */
  readonly usdPerMillionMessages?: number;
  /** Per GB (10^9 bytes) ingested. @defaultValue 0 */
  readonly usdPerGb?: number;
  /** Per million shadow updates. @defaultValue 1.25 */
  readonly usdPerMillionShadowUpdates?: number;
  /** Per million API calls. @defaultValue 3.5 */
  readonly usdPerMillionApiCalls?: number;
  /** Per GB-month of storage (730 hours). @defaultValue 0.1 */
  readonly usdPerGbMonth?: number;
}

const price = z.number().min(0).max(1e9);
const pricesSchema = z.strictObject({
  usdPerMillionMessages: price.default(1),
  usdPerGb: price.default(0),
  usdPerMillionShadowUpdates: price.default(1.25),
  usdPerMillionApiCalls: price.default(3.5),
  usdPerGbMonth: price.default(0.1),
});

/** One tenant's bill from {@link priceUsage}. */
export interface UsageBill {
  /** The tenant. */
  readonly tenantId: string;
  /** Cost per usage kind, USD. */
  readonly lines: { readonly messages: number; readonly bytes: number; readonly shadowUpdates: number; readonly apiCalls: number; readonly storage: number };
  /** Sum of the lines, USD. */
  readonly totalUsd: number;
}

/**
 * Bills a meter: each tenant's usage times the unit prices (throttled requests are free).
 *
 * @param meter - the usage
 * @param prices - unit prices; see {@link UsagePrices} for the defaults
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed meter or price
 */
export function priceUsage(meter: Meter, prices: UsagePrices = {}): readonly UsageBill[] {
  const m = checkMeter('priceUsage', 'meter', meter);
  const p = parseWith('priceUsage', 'prices', pricesSchema, prices);
  return m.tenants.map((t) => {
    const lines = {
      messages: (t.messages / 1e6) * p.usdPerMillionMessages,
      bytes: (t.bytes / 1e9) * p.usdPerGb,
      shadowUpdates: (t.shadowUpdates / 1e6) * p.usdPerMillionShadowUpdates,
      apiCalls: (t.apiCalls / 1e6) * p.usdPerMillionApiCalls,
      storage: (t.storageByteHours / 1e9 / 730) * p.usdPerGbMonth,
    };
    return { tenantId: t.tenantId, lines, totalUsd: lines.messages + lines.bytes + lines.shadowUpdates + lines.apiCalls + lines.storage };
  });
}
