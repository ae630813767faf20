import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { EMPTY_METER, mergeMeters, meterOf, priceUsage, recordUsage, USAGE_KINDS, type UsageEvent } from '../../src/tenancy/index.js';

const eventArb: fc.Arbitrary<UsageEvent> = fc.record({
  tenantId: fc.constantFrom('acme', 'globex', 'initech', '__proto__', 'a:b'),
  kind: fc.constantFrom(...USAGE_KINDS),
  amount: fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 1_000_000_000 })),
  at: fc.integer({ min: 0, max: 2_000_000_000_000 }),
});
const eventsArb = fc.array(eventArb, { maxLength: 40 });

describe('usage meters', () => {
  it('merge(meter(a), meter(b)) = meter(a ++ b)', () => {
    fc.assert(fc.property(eventsArb, eventsArb, (a, b) => {
      expect(mergeMeters(meterOf(a), meterOf(b))).toEqual(meterOf([...a, ...b]));
    }));
  });

  it('merge is associative and commutative, with the empty meter as identity', () => {
    fc.assert(fc.property(eventsArb, eventsArb, eventsArb, (a, b, c) => {
      const [x, y, z] = [meterOf(a), meterOf(b), meterOf(c)];
      expect(mergeMeters(mergeMeters(x, y), z)).toEqual(mergeMeters(x, mergeMeters(y, z)));
      expect(mergeMeters(x, y)).toEqual(mergeMeters(y, x));
      expect(mergeMeters(x, EMPTY_METER)).toEqual(x);
      expect(mergeMeters(EMPTY_METER, x)).toEqual(x);
    }));
  });

  it('recording events one by one equals the meter of the list, in any order', () => {
    fc.assert(fc.property(eventsArb, (events) => {
      const byOne = events.reduce((m, e) => recordUsage(m, e), EMPTY_METER);
      expect(byOne).toEqual(meterOf(events));
      expect(meterOf([...events].reverse())).toEqual(meterOf(events));
    }));
  });

  it('totals equal the sum of amounts per tenant and kind', () => {
    fc.assert(fc.property(eventsArb, (events) => {
      const m = meterOf(events);
      for (const t of m.tenants) {
        for (const kind of USAGE_KINDS) {
          const sum = events.filter((e) => e.tenantId === t.tenantId && e.kind === kind).reduce((s, e) => s + e.amount, 0);
          expect(t[kind]).toBe(sum);
        }
        expect(t.events).toBe(events.filter((e) => e.tenantId === t.tenantId).length);
      }
    }));
  });

  it('prices usage', () => {
    const m = meterOf([{ tenantId: 'acme', kind: 'messages', amount: 2_000_000, at: 0 }, { tenantId: 'acme', kind: 'apiCalls', amount: 1_000_000, at: 1 }]);
    const [bill] = priceUsage(m);
    expect(bill?.lines.messages).toBe(2);
    expect(bill?.totalUsd).toBeCloseTo(5.5, 10);
  });

  it('refuses a total past 2^53 − 1, malformed events and meters', () => {
    const big = meterOf([{ tenantId: 'acme', kind: 'bytes', amount: Number.MAX_SAFE_INTEGER, at: 0 }]);
    expectFleetError(() => mergeMeters(big, big), 'INVALID_ARGUMENT', '2^53');
    expectFleetError(() => meterOf([{ tenantId: 'acme', kind: 'bytes', amount: -1, at: 0 }]), 'INVALID_ARGUMENT', 'events[0].amount');
    expectFleetError(() => recordUsage(EMPTY_METER, { tenantId: 'a b', kind: 'bytes', amount: 1, at: 0 }), 'INVALID_ARGUMENT', 'tenantId');
    expectFleetError(() => mergeMeters({ tenants: [{ ...big.tenants[0]!, tenantId: 'z' }, big.tenants[0]!] }, EMPTY_METER), 'INVALID_ARGUMENT', 'sorted');
  });
});
