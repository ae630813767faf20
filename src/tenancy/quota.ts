/**
 * Per-tenant quotas: what one tenant may hold (devices, storage) and how fast it may use the
 * shared gateway (messages, shadow updates and API calls per second, bytes per day).
 */
import { z } from 'zod';
import { tenantIdSchema } from '../ids.js';
import { createLimiter, MAX_LIMITER_BURST, MAX_LIMITER_RATE_PER_SECOND, type LimiterState } from './limiter.js';
import { objectArgument, parseWith } from './parse.js';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const rate = z.number().positive().max(MAX_LIMITER_RATE_PER_SECOND);
const burst = z.number().int().min(1).max(MAX_LIMITER_BURST);

/** Schema of {@link TenantQuotaInput}; every field but `tenantId` has a default ({@link DEFAULT_TENANT_QUOTA}). */
export const tenantQuotaSchema = z.strictObject({
  tenantId: tenantIdSchema,
  devices: count.default(1_000),
  messagesPerSecond: rate.default(100),
  messageBurst: burst.optional(),
  bytesPerDay: count.default(1_000_000_000),
  shadowUpdatesPerSecond: rate.default(20),
  shadowUpdateBurst: burst.optional(),
  apiCallsPerSecond: rate.default(50),
  apiCallBurst: burst.optional(),
  storageBytes: count.default(10_000_000_000),
});

/** A tenant's quota as written (every field but `tenantId` may be left out). */
export type TenantQuotaInput = z.input<typeof tenantQuotaSchema>;

/** A tenant's quota with every default filled in. */
export interface TenantQuota {
  /** The tenant it applies to. */
  readonly tenantId: string;
  /** Devices the tenant may register. */
  readonly devices: number;
  /** Telemetry messages per second (sustained). */
  readonly messagesPerSecond: number;
  /** Telemetry messages at once after a quiet period (defaults to one second's worth, at least 1). */
  readonly messageBurst: number;
  /** Telemetry bytes per UTC day. */
  readonly bytesPerDay: number;
  /** Shadow updates per second (sustained). */
  readonly shadowUpdatesPerSecond: number;
  /** Shadow updates at once (defaults to one second's worth, at least 1). */
  readonly shadowUpdateBurst: number;
  /** API calls per second (sustained). */
  readonly apiCallsPerSecond: number;
  /** API calls at once (defaults to one second's worth, at least 1). */
  readonly apiCallBurst: number;
  /** Bytes of storage (shadows, records, retained telemetry) the tenant may hold. */
  readonly storageBytes: number;
}

/** The defaults {@link defineTenantQuota} fills in. */
export const DEFAULT_TENANT_QUOTA: Omit<TenantQuota, 'tenantId'> = Object.freeze({
  devices: 1_000,
  messagesPerSecond: 100,
  messageBurst: 100,
  bytesPerDay: 1_000_000_000,
  shadowUpdatesPerSecond: 20,
  shadowUpdateBurst: 20,
  apiCallsPerSecond: 50,
  apiCallBurst: 50,
  storageBytes: 10_000_000_000,
});

const secondsWorth = (r: number): number => Math.max(1, Math.ceil(r));

/**
 * Validates a quota and fills in the defaults.
 *
 * @param input - see {@link tenantQuotaSchema}
 * @throws FleetError `INVALID_INPUT` (400) naming the field and what it expects
 */
export function defineTenantQuota(input: TenantQuotaInput): TenantQuota {
  const q = parseWith('defineTenantQuota', 'quota', tenantQuotaSchema, input, 'INVALID_INPUT');
  return Object.freeze({
    tenantId: q.tenantId,
    devices: q.devices,
    messagesPerSecond: q.messagesPerSecond,
    messageBurst: q.messageBurst ?? secondsWorth(q.messagesPerSecond),
    bytesPerDay: q.bytesPerDay,
    shadowUpdatesPerSecond: q.shadowUpdatesPerSecond,
    shadowUpdateBurst: q.shadowUpdateBurst ?? secondsWorth(q.shadowUpdatesPerSecond),
    apiCallsPerSecond: q.apiCallsPerSecond,
    apiCallBurst: q.apiCallBurst ?? secondsWorth(q.apiCallsPerSecond),
    storageBytes: q.storageBytes,
  });
}

/** The rate limiters of one tenant, one per rate quota; each a {@link LimiterState} value. */
export interface TenantLimiters {
  /** Telemetry messages. */
  readonly messages: LimiterState;
  /** Shadow updates. */
  readonly shadowUpdates: LimiterState;
  /** API calls. */
  readonly apiCalls: LimiterState;
}

/**
 * Full limiters for a quota's rates (messages, shadow updates, API calls).
 *
 * @param quota - a quota from {@link defineTenantQuota} (or its input form)
 * @throws FleetError `INVALID_INPUT` (400) when the quota is invalid
 */
export function tenantLimiters(quota: TenantQuotaInput): TenantLimiters {
  const q = defineTenantQuota(quota);
  return {
    messages: createLimiter({ ratePerSecond: q.messagesPerSecond, burst: q.messageBurst }),
    shadowUpdates: createLimiter({ ratePerSecond: q.shadowUpdatesPerSecond, burst: q.shadowUpdateBurst }),
    apiCalls: createLimiter({ ratePerSecond: q.apiCallsPerSecond, burst: q.apiCallBurst }),
  };
}

/** What a tenant holds and has used today, for {@link checkQuota}. */
export interface QuotaUsage {
  /** Devices registered. */
  readonly devices: number;
  /** Bytes ingested in the current UTC day. */
  readonly bytesToday: number;
  /** Bytes stored. */
  readonly storageBytes: number;
}

/** One quota a tenant is over (or would be over). */
export interface QuotaViolation {
  /** Which quota. */
  readonly resource: 'devices' | 'bytesPerDay' | 'storageBytes';
  /** The quota. */
  readonly limit: number;
  /** The usage it is checked against. */
  readonly used: number;
}

const usageSchema = z.strictObject({ devices: count, bytesToday: count, storageBytes: count });

/**
 * The absolute quotas (devices, bytes per day, storage) that `usage` exceeds; empty when within.
 * A usage equal to the quota is within it. The rate quotas are the limiters' job.
 *
 * @param quota - a quota from {@link defineTenantQuota}
 * @param usage - what the tenant holds, and its bytes today (as after the request being checked)
 * @throws FleetError `INVALID_INPUT` (400) for a malformed quota or usage
 */
export function checkQuota(quota: TenantQuota, usage: QuotaUsage): readonly QuotaViolation[] {
  objectArgument('checkQuota', 'quota', quota, 'a tenant quota');
  const q = defineTenantQuota(quota);
  const u = parseWith('checkQuota', 'usage', usageSchema, usage, 'INVALID_INPUT');
  const out: QuotaViolation[] = [];
  if (u.devices > q.devices) out.push({ resource: 'devices', limit: q.devices, used: u.devices });
  if (u.bytesToday > q.bytesPerDay) out.push({ resource: 'bytesPerDay', limit: q.bytesPerDay, used: u.bytesToday });
  if (u.storageBytes > q.storageBytes) out.push({ resource: 'storageBytes', limit: q.storageBytes, used: u.storageBytes });
  return out;
}
