/**
 * `QuotaEnforcer`: the tenancy core's limiters and meters kept per tenant and per device, for a
 * service that admits requests one at a time. Still no clock and no I/O: every call takes the
 * time as an argument, so a cloud service passes its (system or simulated) clock's `now()`.
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { tenantIdSchema } from '../ids.js';
import { createLimiter, decide, MAX_LIMITER_BURST, MAX_LIMITER_RATE_PER_SECOND, type LimiterState } from './limiter.js';
import { EMPTY_METER, type Meter, type TenantUsage, type UsageKind } from './meter.js';
import { invalidArgument, MAX_TIME_MS, numberArgument, parseWith } from './parse.js';
import { defineTenantQuota, type TenantQuota, type TenantQuotaInput } from './quota.js';

/** A rate quota the enforcer checks. */
export type QuotaResource = 'messages' | 'shadowUpdates' | 'apiCalls';

/** Whether a limit was the tenant's or the single device's. */
export type QuotaScope = 'tenant' | 'device';

const rate = z.number().positive().max(MAX_LIMITER_RATE_PER_SECOND);
const burst = z.number().int().min(1).max(MAX_LIMITER_BURST);

/** Schema of {@link DeviceRateLimits}. */
export const deviceRateLimitsSchema = z.strictObject({
  messagesPerSecond: rate.optional(),
  messageBurst: burst.optional(),
  shadowUpdatesPerSecond: rate.optional(),
  shadowUpdateBurst: burst.optional(),
});

/**
 * Limits every single device gets on top of its tenant's (so one device cannot use its whole
 * tenant's quota). A rate left out is not limited per device; a burst left out is one second's
 * worth (at least 1).
 */
export interface DeviceRateLimits {
  /** Telemetry and heartbeat messages per second per device. */
  readonly messagesPerSecond?: number;
  /** Messages at once per device. */
  readonly messageBurst?: number;
  /** Shadow updates per second per device (thing). */
  readonly shadowUpdatesPerSecond?: number;
  /** Shadow updates at once per device. */
  readonly shadowUpdateBurst?: number;
}

/** Options of {@link QuotaEnforcer}. */
export interface QuotaEnforcerOptions {
  /**
   * The tenants' quotas: a list, or a function answering a tenant's quota (or `undefined` for the
   * defaults). Asked once per tenant, the first time the tenant is seen.
   * @defaultValue every tenant gets {@link QuotaEnforcerOptions.defaults}
   */
  readonly tenants?: readonly TenantQuotaInput[] | ((tenantId: string) => TenantQuotaInput | undefined);
  /** The quota of a tenant that is not listed (every field optional). @defaultValue `DEFAULT_TENANT_QUOTA` */
  readonly defaults?: Omit<TenantQuotaInput, 'tenantId'>;
  /** Per-device limits on top of the tenant's. @defaultValue none */
  readonly perDevice?: DeviceRateLimits;
  /**
   * Idle device limiters kept before the full ones are dropped (a full limiter is the same as a
   * fresh one, so dropping it changes no decision). @defaultValue 100,000
   */
  readonly maxTrackedDevices?: number;
}

/** What {@link QuotaEnforcer.admit} answers. */
export interface Admission {
  /** True when the request fits both the tenant's and the device's limit (both are charged). */
  readonly allowed: boolean;
  /** 0 when allowed; else the whole ms after which the same request fits (the larger of the two limits' waits). */
  readonly retryAfterMs: number;
  /** The quota checked. */
  readonly resource: QuotaResource;
  /** When refused: which limit refused it (the tenant's when both did). */
  readonly scope?: QuotaScope;
}

interface TenantSlot {
  readonly quota: TenantQuota;
  messages: LimiterState;
  shadowUpdates: LimiterState;
  apiCalls: LimiterState;
  readonly usage: { messages: number; bytes: number; shadowUpdates: number; apiCalls: number; throttled: number; events: number; firstAt: number; lastAt: number };
  storedBytes: number;
  storedSince: number;
  byteHours: number;
}

interface DeviceSlot {
  messages: LimiterState | undefined;
  shadowUpdates: LimiterState | undefined;
}

const ALLOWED: Readonly<Record<QuotaResource, Admission>> = Object.freeze({
  messages: Object.freeze({ allowed: true, retryAfterMs: 0, resource: 'messages' as const }),
  shadowUpdates: Object.freeze({ allowed: true, retryAfterMs: 0, resource: 'shadowUpdates' as const }),
  apiCalls: Object.freeze({ allowed: true, retryAfterMs: 0, resource: 'apiCalls' as const }),
});

const HOUR = 3_600_000;
const RESOURCES: readonly QuotaResource[] = ['messages', 'shadowUpdates', 'apiCalls'];
const METERED: readonly UsageKind[] = ['messages', 'bytes', 'shadowUpdates', 'apiCalls'];

const secondsWorth = (r: number): number => Math.max(1, Math.ceil(r));

/**
 * Quotas enforced and usage metered per tenant and per device, for the cloud tier's services
 * (pass one to `createFleet({ quotas })`, or call it from your own API handlers).
 *
 * - {@link admit} decides one request against the tenant's limiter (and the device's, if
 *   per-device limits are set) and charges both only when both allow it, so a refused request
 *   costs the tenant nothing; a refusal is counted as `throttled` in the meter.
 * - {@link record} meters what was carried (messages and their bytes, shadow updates, API
 *   calls); {@link storedBytesChanged} keeps the bytes a tenant stores, integrated into
 *   byte-hours for storage billing.
 * - {@link meter} is the usage so far as a tenancy `Meter` (mergeable with other instances').
 *
 * @example
 * ```ts
 * const quotas = new QuotaEnforcer({ tenants: [{ tenantId: 'acme', messagesPerSecond: 50 }] });
 * const a = quotas.admit('messages', 'acme', 'pump-7', 1, clock.now());
 * if (a.allowed) quotas.record('acme', 'messages', 1, clock.now());
 * ```
 */
export class QuotaEnforcer {
  readonly #listed = new Map<string, TenantQuotaInput>();
  readonly #resolve: ((tenantId: string) => TenantQuotaInput | undefined) | undefined;
  readonly #defaults: Omit<TenantQuotaInput, 'tenantId'>;
  readonly #perDevice: { readonly messages: LimiterState | undefined; readonly shadowUpdates: LimiterState | undefined };
  readonly #maxDevices: number;
  readonly #tenants = new Map<string, TenantSlot>();
  readonly #devices = new Map<string, DeviceSlot>();

  /**
   * @param options - quotas per tenant, defaults, per-device limits
   * @throws FleetError `INVALID_INPUT` (400) for a malformed quota or limit
   */
  constructor(options: QuotaEnforcerOptions = {}) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('new QuotaEnforcer', `options must be an object, got ${describeValue(options)}`);
    const tenants = options.tenants;
    if (typeof tenants === 'function') this.#resolve = tenants;
    else if (tenants !== undefined) {
      if (!Array.isArray(tenants)) throw invalidArgument('new QuotaEnforcer', 'tenants must be an array of quotas or a function of the tenant id');
      for (const t of tenants) {
        const q = defineTenantQuota(t);
        if (this.#listed.has(q.tenantId)) throw new FleetError('INVALID_INPUT', `new QuotaEnforcer: tenant "${q.tenantId}" is listed twice`, { status: 400 });
        this.#listed.set(q.tenantId, q);
      }
    }
    this.#defaults = options.defaults ?? {};
    defineTenantQuota({ tenantId: 'defaults', ...this.#defaults }); // validates the defaults now
    const d = parseWith('new QuotaEnforcer', 'perDevice', deviceRateLimitsSchema, options.perDevice ?? {}, 'INVALID_INPUT');
    this.#perDevice = {
      messages: d.messagesPerSecond === undefined ? undefined : createLimiter({ ratePerSecond: d.messagesPerSecond, burst: d.messageBurst ?? secondsWorth(d.messagesPerSecond) }),
      shadowUpdates: d.shadowUpdatesPerSecond === undefined ? undefined : createLimiter({ ratePerSecond: d.shadowUpdatesPerSecond, burst: d.shadowUpdateBurst ?? secondsWorth(d.shadowUpdatesPerSecond) }),
    };
    const max = options.maxTrackedDevices ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw invalidArgument('new QuotaEnforcer', `maxTrackedDevices must be an integer ≥ 1, got ${describeValue(max)}`);
    this.#maxDevices = max;
  }

  /**
   * The quota applied to a tenant (its listed or resolved quota, else the defaults).
   *
   * @param tenantId - the tenant
   * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed tenant id; `INVALID_INPUT` when the resolver answers a malformed quota
   */
  quotaOf(tenantId: string): TenantQuota {
    return this.#slot(tenantId).quota;
  }

  /**
   * Decides one request of `cost` units of `resource` for a tenant (and its device), at `now`.
   * Allowed: both limiters are charged. Refused: nothing is charged and the tenant's `throttled`
   * count goes up by one.
   *
   * @param resource - which rate quota
   * @param tenantId - the tenant
   * @param deviceId - the device, for the per-device limit (`undefined`: tenant only, e.g. an API call)
   * @param cost - units (1 per message, update or call)
   * @param now - the time, epoch ms
   * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed argument or a cost above the burst
   */
  admit(resource: QuotaResource, tenantId: string, deviceId: string | undefined, cost: number, now: number): Admission {
    if (!RESOURCES.includes(resource)) throw invalidArgument('QuotaEnforcer.admit', `resource must be one of ${RESOURCES.join(', ')}, got ${describeValue(resource)}`);
    const slot = this.#slot(tenantId);
    const t = decide(slot[resource], cost, now);
    let device: DeviceSlot | undefined;
    let d: ReturnType<typeof decide> | undefined;
    const perDevice = resource === 'apiCalls' ? undefined : this.#perDevice[resource];
    if (deviceId !== undefined && perDevice !== undefined) {
      if (typeof deviceId !== 'string') throw invalidArgument('QuotaEnforcer.admit', `deviceId must be a string, got ${describeValue(deviceId)}`);
      const key = `${tenantId}\u0000${deviceId}`;
      device = this.#devices.get(key);
      if (device === undefined) {
        if (this.#devices.size >= this.#maxDevices) this.#sweep(now);
        device = { messages: undefined, shadowUpdates: undefined };
        this.#devices.set(key, device);
      }
      d = decide((device[resource as 'messages' | 'shadowUpdates'] ??= perDevice), cost, now);
    }
    if (t.allowed && (d === undefined || d.allowed)) {
      slot[resource] = t.next;
      if (device !== undefined && d !== undefined) device[resource as 'messages' | 'shadowUpdates'] = d.next;
      return ALLOWED[resource];
    }
    this.#count(slot, 'throttled', 1, now);
    const retryAfterMs = Math.max(t.retryAfterMs, d?.retryAfterMs ?? 0);
    return { allowed: false, retryAfterMs, resource, scope: t.allowed ? 'device' : 'tenant' };
  }

  /**
   * Meters usage that was carried: `messages`, `bytes`, `shadowUpdates` or `apiCalls`.
   *
   * @param tenantId - the tenant billed
   * @param kind - what was used
   * @param amount - how much, a non-negative integer
   * @param now - when, epoch ms
   * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed argument
   */
  record(tenantId: string, kind: 'messages' | 'bytes' | 'shadowUpdates' | 'apiCalls', amount: number, now: number): void {
    if (!METERED.includes(kind)) throw invalidArgument('QuotaEnforcer.record', `kind must be one of ${METERED.join(', ')}, got ${describeValue(kind)}`);
    if (!Number.isSafeInteger(amount) || amount < 0) throw invalidArgument('QuotaEnforcer.record', `amount must be a non-negative integer, got ${describeValue(amount)}`);
    numberArgument('QuotaEnforcer.record', 'now', now, 0, MAX_TIME_MS);
    this.#count(this.#slot(tenantId), kind, amount, now);
  }

  /**
   * Changes the bytes a tenant stores by `delta` (a shadow written larger or smaller, or deleted)
   * at `now`; the stored bytes are integrated over time into the meter's `storageByteHours`.
   * The total never goes below 0.
   *
   * @param tenantId - the tenant
   * @param delta - bytes added (negative: removed), an integer
   * @param now - when, epoch ms
   * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed argument
   */
  storedBytesChanged(tenantId: string, delta: number, now: number): void {
    if (!Number.isSafeInteger(delta)) throw invalidArgument('QuotaEnforcer.storedBytesChanged', `delta must be an integer number of bytes, got ${describeValue(delta)}`);
    numberArgument('QuotaEnforcer.storedBytesChanged', 'now', now, 0, MAX_TIME_MS);
    const slot = this.#slot(tenantId);
    this.#integrate(slot, now);
    slot.storedBytes = Math.max(0, slot.storedBytes + delta);
  }

  /**
   * Bytes the tenant stores now (as far as this instance wrote them).
   *
   * @param tenantId - the tenant
   */
  storedBytes(tenantId: string): number {
    return this.#tenants.get(tenantId)?.storedBytes ?? 0;
  }

  /** Tenants seen so far, sorted. */
  get tenants(): readonly string[] {
    return [...this.#tenants.keys()].sort();
  }

  /**
   * The usage metered so far, as a tenancy `Meter` (tenants with at least one metered event;
   * storage byte-hours integrated up to `now` and rounded down).
   *
   * @param now - the time the storage is integrated to, epoch ms @defaultValue the latest time seen per tenant
   */
  meter(now?: number): Meter {
    if (now !== undefined) numberArgument('QuotaEnforcer.meter', 'now', now, 0, MAX_TIME_MS);
    const out: TenantUsage[] = [];
    for (const tenantId of this.tenants) {
      const slot = this.#tenants.get(tenantId) as TenantSlot;
      const u = slot.usage;
      const until = Math.max(now ?? slot.storedSince, slot.storedSince);
      const byteHours = Math.floor(slot.byteHours + (slot.storedBytes * (until - slot.storedSince)) / HOUR);
      if (u.events === 0 && byteHours === 0) continue;
      out.push({
        tenantId,
        messages: u.messages,
        bytes: u.bytes,
        shadowUpdates: u.shadowUpdates,
        apiCalls: u.apiCalls,
        storageByteHours: byteHours,
        throttled: u.throttled,
        events: Math.max(1, u.events),
        firstAt: u.events === 0 ? slot.storedSince : u.firstAt,
        lastAt: u.events === 0 ? slot.storedSince : u.lastAt,
      });
    }
    return out.length === 0 ? EMPTY_METER : { tenants: out };
  }

  /**
   * The `TOO_MANY_REQUESTS` (429) error for a refused admission, naming the quota and the wait;
   * `details` carries `retryAfterMs`, `resource`, `scope` and `tenantId`.
   *
   * @param api - the refused API or operation, for the message
   * @param tenantId - the tenant
   * @param admission - a refused admission from {@link admit}
   */
  static throttled(api: string, tenantId: string, admission: Admission): FleetError {
    const fn = 'QuotaEnforcer.throttled';
    if (typeof api !== 'string') throw invalidArgument(fn, `api must be a string naming the refused call, got ${describeValue(api)}`);
    if (typeof tenantId !== 'string') throw invalidArgument(fn, `tenantId must be a string, got ${describeValue(tenantId)}`);
    const a: unknown = admission;
    if (typeof a !== 'object' || a === null) throw invalidArgument(fn, `admission must be a refused admission from QuotaEnforcer.admit, got ${describeValue(a)}`);
    const { allowed, retryAfterMs, resource, scope } = a as Record<string, unknown>;
    if (allowed !== false || typeof retryAfterMs !== 'number' || !(retryAfterMs >= 0) || !RESOURCES.includes(resource as QuotaResource) || (scope !== undefined && scope !== 'tenant' && scope !== 'device')) {
      throw invalidArgument(fn, 'admission must be a refused admission from QuotaEnforcer.admit: { allowed: false, retryAfterMs, resource, scope }');
    }
    const what = admission.scope === 'device' ? `the device's ${admission.resource} limit` : `tenant "${tenantId}"'s ${admission.resource} quota`;
    return new FleetError('TOO_MANY_REQUESTS', `${api}: throttled by ${what}; retry after ${admission.retryAfterMs} ms (or raise the quota)`, {
      status: 429,
      captureStack: false,
      details: { retryAfterMs: admission.retryAfterMs, resource: admission.resource, scope: admission.scope ?? 'tenant', tenantId },
    });
  }

  #slot(tenantId: string): TenantSlot {
    const known = this.#tenants.get(tenantId);
    if (known !== undefined) return known;
    const id = parseWith('QuotaEnforcer', 'tenantId', tenantIdSchema, tenantId);
    const input = this.#listed.get(id) ?? this.#resolve?.(id) ?? { ...this.#defaults, tenantId: id };
    const quota = defineTenantQuota({ ...input, tenantId: id });
    const slot: TenantSlot = {
      quota,
      messages: createLimiter({ ratePerSecond: quota.messagesPerSecond, burst: quota.messageBurst }),
      shadowUpdates: createLimiter({ ratePerSecond: quota.shadowUpdatesPerSecond, burst: quota.shadowUpdateBurst }),
      apiCalls: createLimiter({ ratePerSecond: quota.apiCallsPerSecond, burst: quota.apiCallBurst }),
      usage: { messages: 0, bytes: 0, shadowUpdates: 0, apiCalls: 0, throttled: 0, events: 0, firstAt: Infinity, lastAt: -Infinity },
      storedBytes: 0,
      storedSince: 0,
      byteHours: 0,
    };
    this.#tenants.set(id, slot);
    return slot;
  }

  #count(slot: TenantSlot, kind: 'messages' | 'bytes' | 'shadowUpdates' | 'apiCalls' | 'throttled', amount: number, now: number): void {
    const u = slot.usage;
    const total = u[kind] + amount;
    if (!Number.isSafeInteger(total)) throw new FleetError('INVALID_ARGUMENT', `QuotaEnforcer: the ${kind} total passed 2^53 − 1; take the meter and start a new enforcer per period`, { status: 400 });
    u[kind] = total;
    u.events++;
    if (now < u.firstAt) u.firstAt = now;
    if (now > u.lastAt) u.lastAt = now;
  }

  #integrate(slot: TenantSlot, now: number): void {
    if (now > slot.storedSince) {
      slot.byteHours += (slot.storedBytes * (now - slot.storedSince)) / HOUR;
      slot.storedSince = now;
    } else if (slot.storedSince === 0) slot.storedSince = now;
  }

  // Drops device limiters that are full again at `now`: a full limiter decides like a fresh one.
  #sweep(now: number): void {
    const nowUs = Math.floor(now * 1000);
    for (const [key, slot] of this.#devices) {
      if ((slot.messages === undefined || slot.messages.tatUs <= nowUs) && (slot.shadowUpdates === undefined || slot.shadowUpdates.tatUs <= nowUs)) this.#devices.delete(key);
    }
  }
}
