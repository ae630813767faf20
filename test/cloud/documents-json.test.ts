// The documents serialiser splices the remembered JSON of the previous document into the next
// `/update/documents` payload: its text must be exactly JSON.stringify's, whatever the sequence.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DocumentsJson } from '../../src/cloud/documents-json.js';
import type { DocumentsPayload, ShadowSnapshot } from '../../src/shadow/types.js';

const leaf = fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }));
const states = fc.array(fc.dictionary(fc.string(), leaf, { maxKeys: 4 }), { minLength: 1, maxLength: 4 });

describe('DocumentsJson', () => {
  it('writes exactly what JSON.stringify writes, for any sequence of documents (previous sections reused, changed or unknown)', () => {
    fc.assert(
      fc.property(
        states,
        fc.array(fc.record({ state: fc.nat(3), metadata: fc.nat(3), version: fc.nat(4), previous: fc.option(fc.nat(7), { nil: null }), token: fc.option(fc.string(), { nil: undefined }), timestamp: fc.nat() }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 4 }),
        (pool, steps, capacity) => {
          const stateObjects = pool.map((reported) => Object.freeze({ reported }));
          const metadataObjects = pool.map(() => Object.freeze({ reported: {} }));
          const serializer = new DocumentsJson(capacity);
          const sections: ShadowSnapshot[] = [];
          for (const step of steps) {
            const current = { state: stateObjects[step.state % stateObjects.length], metadata: metadataObjects[step.metadata % metadataObjects.length], version: step.version } as unknown as ShadowSnapshot;
            const previous = step.previous === null ? null : (sections[step.previous % Math.max(1, sections.length)] ?? null);
            const documents: DocumentsPayload = { previous, current, timestamp: step.timestamp, ...(step.token === undefined ? {} : { clientToken: step.token }) };
            expect(serializer.stringify(documents)).toBe(JSON.stringify(documents));
            sections.push(current);
          }
        },
      ),
    );
  });

  it('reuses the JSON of the last current section as the next previous one, once', () => {
    const serializer = new DocumentsJson();
    const state = Object.freeze({ reported: { t: 1 } });
    const metadata = Object.freeze({ reported: { t: { timestamp: 5 } } });
    const v1 = { state, metadata, version: 1 } as unknown as ShadowSnapshot;
    serializer.stringify({ previous: null, current: v1, timestamp: 5 });
    // A section whose JSON was remembered is not serialised again: make it unserialisable to prove it.
    const toJSON = (): never => {
      throw new Error('serialised again');
    };
    const throwing = { ...v1, toJSON } as unknown as ShadowSnapshot;
    const spliced = serializer.stringify({ previous: throwing, current: { state: Object.freeze({ reported: { t: 2 } }), metadata, version: 2 } as unknown as ShadowSnapshot, timestamp: 6 });
    expect(JSON.parse(spliced).previous).toEqual({ state: { reported: { t: 1 } }, metadata: { reported: { t: { timestamp: 5 } } }, version: 1 });
    // Used once: the same previous again is serialised (and here it throws).
    expect(() => serializer.stringify({ previous: throwing, current: v1, timestamp: 7 })).toThrow('serialised again');
  });
});
