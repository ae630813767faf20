import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { applyShadowUpdate, assertShadowName, assertThingName, clientTokenSchema, shadowGetRequestSchema, shadowNameSchema, shadowUpdateRequestSchema, thingNameSchema } from '../../src/shadow/index.js';
import { shadowPatch } from '../../src/testing/shadow-arbitraries.js';
import { runs } from './runs.js';

// Requests near the boundary of validity: mostly well-formed, with one thing wrong at a time.
const section = fc.oneof(shadowPatch(), fc.constant(null), fc.integer(), fc.string({ maxLength: 3 }), fc.array(fc.integer(), { maxLength: 2 }), fc.constant({ a: [1, null] }));
const request = fc.oneof(
  fc.record({ state: fc.record({ desired: section, reported: section, delta: fc.jsonValue({ maxDepth: 1 }), other: fc.integer() }, { requiredKeys: [] }) }),
  fc.record(
    {
      state: fc.oneof(fc.constant(null), fc.record({ reported: shadowPatch() })),
      clientToken: fc.oneof(fc.string({ maxLength: 70 }), fc.integer()),
      version: fc.oneof(fc.nat(5), fc.constant(-1), fc.constant(1.5), fc.constant('2')),
      timestamp: fc.oneof(fc.double(), fc.constantFrom(0, 8.64e12, 8.64e12 + 1, '5')),
    },
    { requiredKeys: [] },
  ),
);

describe('zod schemas agree with the engine', () => {
  it('the update schema accepts exactly the requests the engine accepts (size and depth aside)', () => {
    fc.assert(
      fc.property(request, (req) => {
        // stored at the request's version when that is a valid one, so that no 409 hides the answer
        const v = (req as { version?: unknown }).version;
        const engine = applyShadowUpdate({ state: {}, metadata: {}, version: typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0 }, req, { now: 0 });
        const schema = shadowUpdateRequestSchema.safeParse(req);
        expect(schema.success, JSON.stringify(req)).toBe(engine.ok || !['INVALID_JSON', 'INVALID_REQUEST', 'INVALID_VERSION', 'INVALID_CLIENT_TOKEN', 'FORBIDDEN_KEY'].includes(engine.error.code));
      }),
      { numRuns: runs(2000) },
    );
  });

  it('clientTokenSchema takes up to 64 UTF-8 bytes, as the engine does', () => {
    expect(clientTokenSchema.safeParse('é'.repeat(32)).success).toBe(true);
    expect(clientTokenSchema.safeParse(`${'é'.repeat(32)}a`).success).toBe(false);
    expect(clientTokenSchema.safeParse('x'.repeat(64)).success).toBe(true);
    expect(clientTokenSchema.safeParse('x'.repeat(65)).success).toBe(false);
  });

  it('names follow AWS IoT: 1–128 (thing) and 1–64 (shadow) characters of [a-zA-Z0-9:_-]', () => {
    expect(assertThingName('lamp-1:a_b')).toBe('lamp-1:a_b');
    expect(assertThingName('t'.repeat(128))).toBe('t'.repeat(128));
    expect(assertShadowName('s'.repeat(64))).toBe('s'.repeat(64));
    for (const [assert, bad, kind] of [
      [assertThingName, 't'.repeat(129), 'thing name'],
      [assertThingName, 'a/b', 'thing name'],
      [assertThingName, '', 'thing name'],
      [assertShadowName, 's'.repeat(65), 'shadow name'],
      [assertShadowName, 10n, 'shadow name'],
    ] as const) {
      let caught: unknown;
      try {
        assert(bad);
      } catch (e) {
        caught = e;
      }
      expect(isFleetError(caught, 'INVALID_NAME'), String(bad)).toBe(true);
      expect((caught as Error).message).toContain(`Invalid ${kind}`);
    }
    expect(thingNameSchema.safeParse('t'.repeat(128)).success).toBe(true);
    expect(shadowNameSchema.safeParse('s'.repeat(65)).success).toBe(false);
  });

  it('the get schema accepts tokens and versions', () => {
    expect(shadowGetRequestSchema.safeParse({ clientToken: 'x', version: 3 }).success).toBe(true);
    expect(shadowGetRequestSchema.safeParse({ clientToken: 'x'.repeat(65) }).success).toBe(false);
  });
});
