// The engine keeps the delta and the document size up to date per update instead of recomputing
// them over the whole document. These laws pin the incremental results to the full computations,
// over random update sequences with every policy, acknowledgements, skip-if-equal, section and
// state deletions, and documents re-read from a store (no remembered delta or size).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type JsonObject, type JsonValue } from '../../src/json.js';
import { unwrapAck } from '../../src/shadow/acknowledgement.js';
import { deltaOf } from '../../src/shadow/delta.js';
import { ackProperty, applyShadowUpdate, getShadow, type ConflictPolicy, type ShadowDocument, type StoredShadow } from '../../src/shadow/index.js';
import { jsonBytes } from '../../src/shadow/size.js';
import { REMEMBER_DELTA_BYTES } from '../../src/shadow/update.js';
import { runs } from './runs.js';

const T = 1_700_000_000_000;
const text = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
  fc.constantFrom('"\\', '\u0001\b\f\n\r\t', '\ud800', '\udc00x', '😀', '€', '\u007f', '\u2028'),
);
const scalar: fc.Arbitrary<JsonValue> = fc.oneof(text, fc.integer({ min: -3, max: 3 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(-0));
const leaf: fc.Arbitrary<JsonValue> = fc.oneof({ weight: 5, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant(ackProperty(1, { version: 1 }) as JsonValue) });
const keys = fc.constantFrom('a', 'b', 'c', 'value', 'ac');
const patch = (depth: number): fc.Arbitrary<JsonObject> =>
  fc.dictionary(keys, depth <= 1 ? fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: fc.constant(null) }) : fc.oneof({ weight: 4, arbitrary: leaf }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: patch(depth - 1) }), { maxKeys: 4 });
const section = fc.oneof({ weight: 8, arbitrary: patch(3) }, { weight: 1, arbitrary: fc.constant(null) });
const request = fc.oneof(
  { weight: 12, arbitrary: fc.record({ state: fc.record({ desired: section, reported: section }, { requiredKeys: [] }), timestamp: fc.integer({ min: 0, max: 2 * (T / 1000) }) }, { requiredKeys: ['state'] }) },
  { weight: 1, arbitrary: fc.constant({ state: null }) },
  { weight: 1, arbitrary: fc.constant('reload') }, // the document is re-read from a store: nothing remembered
);
const policies: Array<ConflictPolicy | undefined> = [undefined, 'device-wins', 'newest-wins', 'clear-when-met', (c) => (c.equal ? 'clear' : 'take-reported')];
// padded: the document starts above REMEMBER_DELTA_BYTES, so that its delta is remembered and patched
// acknowledgements on, off, or switching per request (a delta remembered in one mode must not serve the other)
const options = fc.record({ policy: fc.nat(policies.length - 1), acknowledgements: fc.constantFrom('off', 'on', 'alternate'), skipIfEqual: fc.boolean(), padded: fc.boolean() });
const padding = { state: { desired: { pad: 'y'.repeat(REMEMBER_DELTA_BYTES / 2) }, reported: { pad: 'x'.repeat(REMEMBER_DELTA_BYTES / 2) } } };

function fullDelta(doc: ShadowDocument, acknowledgements: boolean): { state: JsonObject; metadata: JsonObject } | undefined {
  const d = doc.state.desired;
  return d === undefined ? undefined : (deltaOf(d, doc.metadata.desired ?? {}, doc.state.reported, acknowledgements ? unwrapAck : undefined) as { state: JsonObject; metadata: JsonObject } | undefined);
}

describe('incremental delta and size', () => {
  it('jsonBytes is the UTF-8 length of JSON.stringify for every JSON value', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, scalar, fc.maxSafeInteger(), fc.integer(), fc.double(), fc.constant(null), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.oneof(text, fc.string()), tie('v'), { maxKeys: 4 })),
    })).v as fc.Arbitrary<JsonValue>;
    fc.assert(
      fc.property(value, (v) => {
        expect(jsonBytes(v)).toBe(Buffer.byteLength(JSON.stringify(v), 'utf8'));
      }),
      { numRuns: runs(2000) },
    );
  });

  it('property: after any sequence of updates, the published delta, the get delta and the size are those of a full computation', () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 12 }), options, (requests, o) => {
        const policy = policies[o.policy];
        let doc: StoredShadow | undefined;
        (o.padded ? [padding, ...requests] : requests).forEach((req, i) => {
          if (req === 'reload') {
            doc = doc === undefined ? undefined : (JSON.parse(JSON.stringify(doc)) as StoredShadow);
            return;
          }
          const acknowledgements = o.acknowledgements === 'on' || (o.acknowledgements === 'alternate' && i % 2 === 1);
          const r = applyShadowUpdate(doc, req, { now: T + i * 1000, acknowledgements, skipIfEqual: o.skipIfEqual, ...(policy === undefined ? {} : { policy }) });
          if (!r.ok) return;
          doc = r.document;
          const expected = fullDelta(r.document, acknowledgements);
          expect(r.delta === undefined ? undefined : { state: r.delta.state, metadata: r.delta.metadata }).toEqual(expected);
          for (const mode of [acknowledgements, !acknowledgements]) {
            const full = fullDelta(r.document, mode);
            const get = getShadow(r.document, { now: T, acknowledgements: mode });
            expect(get.ok && get.response.state.delta).toEqual(full === undefined ? undefined : full.state);
          }
          // the size the engine keeps is exact: a no-op update fits a limit of exactly that size, not one byte less
          const exact = Buffer.byteLength(JSON.stringify(r.document.state), 'utf8');
          expect(applyShadowUpdate(r.document, { state: {} }, { now: T, limits: { maxDocumentBytes: exact } }).ok).toBe(true);
          const over = applyShadowUpdate(r.document, { state: {} }, { now: T, limits: { maxDocumentBytes: Math.max(1, exact - 1) } });
          expect(over.ok).toBe(false);
          expect(!over.ok && over.error.details?.['bytes']).toBe(exact);
        });
      }),
      { numRuns: runs(400) },
    );
  });
});
