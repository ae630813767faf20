// 100,000 arbitrary and hostile requests: the engine answers every one with a result, never
// throws anything but FleetError, leaves a rejected document byte-identical and never pollutes
// Object.prototype.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { applyShadowUpdate, deleteShadow, getShadow, type StoredShadow } from '../../src/shadow/index.js';

const nested = (depth: number, leaf: unknown): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? { k: v } : [v];
  return v;
};
const withThrowingGetter = (): unknown => {
  const o: Record<string, unknown> = {};
  Object.defineProperty(o, 'state', { enumerable: true, get: () => { throw new Error('boom'); } });
  return o;
};
const throwingProxy = (): unknown =>
  // symbol-keyed probes (fast-check's own clone check) are answered; string keys throw
  new Proxy({}, {
    ownKeys: () => { throw new Error('no keys'); },
    get: (_t, k) => { if (typeof k === 'symbol') return undefined; throw new Error('no get'); },
    has: (_t, k) => { if (typeof k === 'symbol') return false; throw new Error('no has'); },
  });

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true, withTypedArray: true, withSparseArray: true, maxDepth: 3, maxKeys: 4 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(NaN, Infinity, -Infinity, undefined, () => 1, Symbol('s'), 10n, new Date(0), -0),
  fc.oneof(fc.integer({ min: 1, max: 12 }), fc.constant(3000)).map((d) => nested(d, 1)),
  fc.integer({ min: 1, max: 200 }).map((n) => 'x'.repeat(n * 100)),
  fc.constantFrom('__proto__', 'constructor', 'prototype').map((k) => JSON.parse(`{"${k}":{"polluted":true}}`) as unknown),
  fc.constant(0).map(withThrowingGetter),
  fc.constant(0).map(throwingProxy),
);

const request: fc.Arbitrary<unknown> = fc.oneof(
  hostileValue,
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.record({ state: hostileValue }),
  fc.record({ state: fc.record({ desired: hostileValue, reported: hostileValue }, { requiredKeys: [] }), clientToken: hostileValue, version: hostileValue }, { requiredKeys: ['state'] }),
  fc.record({ state: fc.record({ reported: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'a'), hostileValue) }) }),
  hostileValue.map((v) => {
    try {
      return JSON.stringify({ state: { desired: { a: v } } }) ?? '';
    } catch {
      return '{"state":';
    }
  }),
);

const stored: StoredShadow[] = [
  { state: { desired: { a: 1, n: { m: [1, 2] } }, reported: { a: 2 } }, metadata: { desired: { a: { timestamp: 1 }, n: { m: [{ timestamp: 1 }, { timestamp: 1 }] } }, reported: { a: { timestamp: 2 } } }, version: 4 },
  { deleted: true, version: 9 },
];

const storedArb = fc.constantFrom<StoredShadow | undefined>(undefined, ...stored);

describe('hostile requests', () => {
  it('100,000 requests: only FleetErrors, rejected documents untouched, no prototype pollution', () => {
    fc.assert(
      fc.property(request, storedArb, (req, current) => {
        const before = JSON.stringify(current);
        let result: ReturnType<typeof applyShadowUpdate>;
        try {
          result = applyShadowUpdate(current, req, { now: 1_700_000_000_000 });
          for (const fn of [getShadow, deleteShadow]) {
            const r = fn(current, { now: 1_700_000_000_000, request: req });
            if (!r.ok) expect(isFleetError(r.error)).toBe(true);
          }
        } catch (e) {
          throw new Error(`engine threw instead of returning a result: ${String(e)}`);
        }
        if (!result.ok) {
          expect(isFleetError(result.error)).toBe(true);
          expect(typeof result.rejected.code).toBe('number');
          expect(typeof result.rejected.message).toBe('string');
        }
        expect(JSON.stringify(current)).toBe(before);
        expect(Object.keys(Object.prototype)).toEqual([]);
        expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
      }),
      { numRuns: 100_000 },
    );
  }, 300_000); // about 25 s on an idle 2-core machine; generous so that a loaded one cannot time out

  // The generator must exercise both outcomes and every kind of rejection, or the property above
  // proves little. Counted over a fixed seeded corpus, so the check cannot fail at random.
  it('the generator covers acceptance and every rejection kind (fixed seeded corpus)', () => {
    const corpus = fc.sample(fc.tuple(request, storedArb), { seed: 0x5eed, numRuns: 5_000 });
    const outcomes = new Map<string, number>();
    for (const [req, current] of corpus) {
      const r = applyShadowUpdate(current, req, { now: 1_700_000_000_000 });
      const key = r.ok ? 'accepted' : `${r.rejected.code} ${r.error.code}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    }
    expect(outcomes.get('accepted') ?? 0).toBeGreaterThan(100);
    for (const kind of ['400 INVALID_JSON', '400 INVALID_REQUEST', '400 INVALID_VERSION', '400 INVALID_CLIENT_TOKEN', '400 FORBIDDEN_KEY', '400 TOO_DEEP', '413 PAYLOAD_TOO_LARGE', '415 INVALID_JSON', '500 INTERNAL']) {
      expect(outcomes.get(kind) ?? 0, `${kind} in ${JSON.stringify([...outcomes])}`).toBeGreaterThan(0);
    }
  });
});
