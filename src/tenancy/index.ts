/**
 * Multi-tenant operations as a pure core: per-tenant quotas, a GCRA limiter whose state is a
 * value, mergeable usage meters and SLA evaluation. Time comes in as an argument; nothing here
 * reads a clock, draws a random number or does I/O.
 *
 * @module
 */
// The error type every tenancy function throws, so this subpath is usable alone.
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
export { MAX_TIME_MS } from './parse.js';
export { limiterAvailable, createLimiter, decide, effectiveRatePerSecond, limiterConfigSchema, MAX_LIMITER_BURST, MAX_LIMITER_RATE_PER_SECOND } from './limiter.js';
export type { LimiterConfig, LimiterDecision, LimiterState } from './limiter.js';
export { checkQuota, DEFAULT_TENANT_QUOTA, defineTenantQuota, tenantLimiters, tenantQuotaSchema } from './quota.js';
export type { QuotaUsage, QuotaViolation, TenantLimiters, TenantQuota, TenantQuotaInput } from './quota.js';
export { EMPTY_METER, mergeMeters, meterOf, meterSchema, priceUsage, recordUsage, USAGE_KINDS, usageEventSchema } from './meter.js';
export type { Meter, TenantUsage, UsageBill, UsageEvent, UsageKind, UsagePrices } from './meter.js';
export { coveredMs, DEFAULT_CREDIT_TIERS, evaluateSla, slaObjectiveSchema } from './sla.js';
export type { CreditTier, SlaBreach, SlaInput, SlaObjective, SlaReport, TimeInterval } from './sla.js';
export { deviceRateLimitsSchema, QuotaEnforcer } from './enforcer.js';
export type { Admission, DeviceRateLimits, QuotaEnforcerOptions, QuotaResource, QuotaScope } from './enforcer.js';
