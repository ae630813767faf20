// QuotaEnforcer: the limiters kept per tenant and per device, charged together or not at all, and
// the usage meter it keeps (equal to the tenancy core's meter of the same events).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { meterOf, QuotaEnforcer, type UsageEvent } from '../../src/tenancy/index.js';

const T0 = 1_700_000_000_000;

describe('QuotaEnforcer', () => {
  it('throttles a tenant over its quota and not another; retry-after is the limiter’s', () => {
    const q = new QuotaEnforcer({ tenants: [{ tenantId: 'noisy', messagesPerSecond: 10 }], defaults: { messagesPerSecond: 100 } });
    let noisy = 0;
    let quiet = 0;
    for (let i = 0; i < 100; i++) {
      if (q.admit('messages', 'noisy', 'n1', 1, T0).allowed) noisy++;
      if (q.admit('messages', 'quiet', 'q1', 1, T0).allowed) quiet++;
    }
    expect(noisy).toBe(10); // the burst: one second's worth
    expect(quiet).toBe(100);
    const refused = q.admit('messages', 'noisy', 'n1', 1, T0);
    expect(refused).toEqual({ allowed: false, retryAfterMs: 100, resource: 'messages', scope: 'tenant' });
    expect(q.admit('messages', 'noisy', 'n1', 1, T0 + 99).allowed).toBe(false);
    expect(q.admit('messages', 'noisy', 'n1', 1, T0 + 100).allowed).toBe(true);
    expect(q.meter().tenants.find((t) => t.tenantId === 'noisy')?.throttled).toBe(92);
    expect(q.quotaOf('quiet').messagesPerSecond).toBe(100);
  });

  it('a per-device limit refuses one device without charging its tenant', () => {
    const q = new QuotaEnforcer({ defaults: { messagesPerSecond: 100 }, perDevice: { messagesPerSecond: 2 } });
    const a = [1, 2, 3].map(() => q.admit('messages', 'acme', 'd1', 1, T0));
    expect(a.map((x) => x.allowed)).toEqual([true, true, false]);
    expect(a[2]).toMatchObject({ scope: 'device', retryAfterMs: 500 });
    // The tenant was charged for two messages only: 98 more fit from other devices.
    let other = 0;
    for (let i = 0; i < 200; i++) if (q.admit('messages', 'acme', `d${2 + (i % 100)}`, 1, T0).allowed) other++;
    expect(other).toBe(98);
  });

  it('law: tenant and device limiters are charged together or not at all — each stays within burst + rate × t', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 300 }), device: fc.integer({ min: 0, max: 3 }) }), { maxLength: 200 }),
        (tenantRate, deviceRate, steps) => {
          const q = new QuotaEnforcer({ defaults: { messagesPerSecond: tenantRate, messageBurst: tenantRate }, perDevice: { messagesPerSecond: deviceRate, messageBurst: deviceRate } });
          let now = T0;
          const perDevice = [0, 0, 0, 0];
          let total = 0;
          let refused = 0;
          for (const s of steps) {
            now += s.dt;
            if (q.admit('messages', 'acme', `d${s.device}`, 1, now).allowed) {
              total++;
              perDevice[s.device] = (perDevice[s.device] as number) + 1;
            } else refused++;
          }
          const t = now - T0;
          const within = (count: number, rate: number): boolean => count * Math.round(1e6 / rate) <= rate * Math.round(1e6 / rate) + 1000 * t;
          expect(within(total, tenantRate)).toBe(true);
          for (const c of perDevice) expect(within(c, deviceRate)).toBe(true);
          expect(q.meter().tenants[0]?.throttled ?? 0).toBe(refused);
        },
      ),
    );
  });

  it('law: its meter equals the tenancy meter of the same usage events', () => {
    const kinds = ['messages', 'bytes', 'shadowUpdates', 'apiCalls'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.record({ tenant: fc.constantFrom('a', 'b', 'c'), kind: fc.constantFrom(...kinds), amount: fc.integer({ min: 0, max: 10_000 }), dt: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 100 }),
        (steps) => {
          const q = new QuotaEnforcer();
          const events: UsageEvent[] = [];
          let now = T0;
          for (const s of steps) {
            now += s.dt;
            q.record(s.tenant, s.kind, s.amount, now);
            events.push({ tenantId: s.tenant, kind: s.kind, amount: s.amount, at: now });
          }
          expect(q.meter()).toEqual(meterOf(events));
        },
      ),
    );
  });

  it('integrates stored bytes into byte-hours, never below zero', () => {
    const q = new QuotaEnforcer();
    q.storedBytesChanged('acme', 1000, T0);
    q.storedBytesChanged('acme', 500, T0 + 3_600_000); // 1000 B for an hour
    expect(q.storedBytes('acme')).toBe(1500);
    expect(q.meter(T0 + 7_200_000).tenants[0]?.storageByteHours).toBe(2500);
    q.storedBytesChanged('acme', -5000, T0 + 7_200_000);
    expect(q.storedBytes('acme')).toBe(0);
  });

  it('refuses bad input with a typed error and no change', () => {
    expectFleetError(() => new QuotaEnforcer({ tenants: [{ tenantId: 'a', messagesPerSecond: -1 }] }), 'INVALID_INPUT', 'messagesPerSecond');
    expectFleetError(() => new QuotaEnforcer({ tenants: [{ tenantId: 'a' }, { tenantId: 'a' }] }), 'INVALID_INPUT', 'twice');
    expectFleetError(() => new QuotaEnforcer({ perDevice: { messagesPerSecond: 0 } }), 'INVALID_INPUT', 'perDevice');
    const q = new QuotaEnforcer();
    expectFleetError(() => q.admit('bogus' as 'messages', 'a', undefined, 1, T0), 'INVALID_ARGUMENT', 'resource');
    expectFleetError(() => q.admit('messages', 'a', undefined, 1e9, T0), 'INVALID_ARGUMENT', 'burst');
    expectFleetError(() => q.record('a', 'messages', -1, T0), 'INVALID_ARGUMENT', 'amount');
    expectFleetError(() => q.admit('messages', '', undefined, 1, T0), 'INVALID_ARGUMENT', 'tenantId');
    expect(q.meter().tenants).toEqual([]);
  });
});
