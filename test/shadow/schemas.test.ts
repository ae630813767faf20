import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyShadowUpdate, shadowGetRequestSchema, shadowUpdateRequestSchema } from '../../src/shadow/index.js';
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

  it('the get schema accepts tokens and versions', () => {
    expect(shadowGetRequestSchema.safeParse({ clientToken: 'x', version: 3 }).success).toBe(true);
    expect(shadowGetRequestSchema.safeParse({ clientToken: 'x'.repeat(65) }).success).toBe(false);
  });
});
