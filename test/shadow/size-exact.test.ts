// The exact serialized sizes of src/shadow/size.ts, pinned to JSON.stringify one function at a time:
// every UTF-16 code unit and the surrogate boundaries for strings, the digit boundaries for
// numbers, the empty and one-element containers, which states are measurable, and objectDiff
// (the size change along the written keys) over random objects and merge patches.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonObject, type JsonObject, type JsonValue } from '../../src/json.js';
import { applyShadowUpdate, type ShadowState, type StoredShadow } from '../../src/shadow/index.js';
import { jsonBytes, numberBytes, objectDiff, stateBytes, stringBytes } from '../../src/shadow/size.js';
import { runs } from './runs.js';

const bytes = (v: unknown): number => Buffer.byteLength(JSON.stringify(v), 'utf8');

describe('stringBytes', () => {
  it('is the UTF-8 length of JSON.stringify for every single UTF-16 code unit', () => {
    for (let c = 0; c <= 0xffff; c++) {
      const s = String.fromCharCode(c);
      if (stringBytes(s) !== bytes(s)) expect({ c, got: stringBytes(s) }).toEqual({ c, got: bytes(s) });
    }
  });

  it('counts surrogate pairs as one 4-byte character and lone surrogates as 6-byte escapes, wherever they stand', () => {
    const units = [0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xffff, 0x00, 0x0b, 0x22, 0x5c];
    for (const a of units) {
      for (const b of units) {
        for (const s of [String.fromCharCode(a, b), String.fromCharCode(a, b, 0x41), String.fromCharCode(0x41, a, b)]) expect(stringBytes(s)).toBe(bytes(s));
      }
    }
    expect(stringBytes('\ud83d\ude00')).toBe(6); // "😀": quotes + 4
    expect(stringBytes('\ud83d')).toBe(8); // "\ud83d"
    expect(stringBytes('\ude00\ud83d')).toBe(14); // reversed pair: two escapes
    expect(stringBytes('')).toBe(2);
  });

  it('property: equals the UTF-8 length of JSON.stringify for any string', () => {
    const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 8 }), fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 }));
    fc.assert(
      fc.property(str, (s) => {
        expect(stringBytes(s)).toBe(bytes(s));
      }),
      { numRuns: runs(2000) },
    );
  });
});

describe('numberBytes', () => {
  it('counts the digits and the sign at every power of ten, and the non-safe and non-finite forms', () => {
    const ns: number[] = [0, -0, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 2 ** 53, -(2 ** 53), 1e21, -1e21, 1.5, -0.001, 5e-324, Number.MAX_VALUE, Number.EPSILON];
    for (let p = 1; p <= 1e15; p *= 10) ns.push(p - 1, p, p + 1, -(p - 1), -p, -(p + 1));
    for (const n of ns) expect([n, numberBytes(n)]).toEqual([n, JSON.stringify(n).length]);
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) expect(numberBytes(n)).toBe(4); // null
  });

  it('property: equals the length of JSON.stringify for any number', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.double(), fc.integer({ min: -1000, max: 1000 })), (n) => {
        expect(numberBytes(n)).toBe(JSON.stringify(n).length);
      }),
      { numRuns: runs(2000) },
    );
  });
});

describe('jsonBytes', () => {
  it('counts brackets, commas, colons and quoted keys exactly', () => {
    const values: JsonValue[] = [[], [1], [1, 22], [[]], [{}], {}, { a: 1 }, { a: 1, bb: [] }, { '"\\': { '\n': null } }, true, false, null, '', 'x', [null, true, false, 'é']];
    for (const v of values) expect([v, jsonBytes(v)]).toEqual([v, bytes(v)]);
  });

  it('counts a non-finite number as null and a value JSON cannot write as nothing', () => {
    expect(jsonBytes(Number.NaN)).toBe(4);
    expect(jsonBytes(undefined as unknown as JsonValue)).toBe(0);
    expect(jsonBytes((() => 1) as unknown as JsonValue)).toBe(0);
  });
});

describe('stateBytes', () => {
  it('is the size of JSON.stringify(state) for canonical states', () => {
    const states: ShadowState[] = [
      {},
      { desired: { a: 1 } },
      { reported: { a: 1 } },
      { desired: { a: 1, t: true, f: false }, reported: { b: [{}] } },
      { desired: { 'k"\\\u0001é😀': { x: 'v\ud800' } }, reported: { z: [null, [], {}] } },
    ];
    for (const s of states) expect([s, stateBytes(s)]).toEqual([s, bytes(s)]);
  });

  it('is undefined (not measurable) for a state holding an empty object, null, a non-finite number or a non-JSON value outside what arrays allow', () => {
    const notCanonical: unknown[] = [
      { desired: {} },
      { reported: {} },
      { desired: { a: 1 }, reported: {} },
      { desired: { a: {} } },
      { desired: { a: { b: {} } } },
      { desired: { a: 1, b: { c: { d: {} } } } },
      { desired: { a: null } },
      { desired: { a: Number.NaN } },
      { reported: { a: Number.POSITIVE_INFINITY } },
      { desired: { a: undefined } },
      { desired: { a: () => 1 } },
      { desired: { a: [undefined] } },
      { desired: { a: [Number.NaN] } },
      { desired: { a: [{ b: undefined }] } },
      { desired: { a: [[() => 1]] } },
      { desired: { a: [1, { b: [{ c: Symbol('s') }] }] } },
    ];
    for (const s of notCanonical) expect([s, stateBytes(s as ShadowState)]).toEqual([s, undefined]);
  });

  it('accepts anything JSON inside arrays: empty objects, null, nested arrays', () => {
    for (const s of [{ desired: { a: [{}, null, [[]], { b: null, c: {} }] } }, { reported: { a: [] } }]) expect(stateBytes(s as ShadowState)).toBe(bytes(s));
  });
});

// Random canonical objects and merge patches (null deletes; an object merges below the key).
const key = fc.constantFrom('a', 'b', 'c', '"', '\\', '\n', 'é', '😀', '\ud800', '\u0001');
const leaf: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 5 }),
  fc.constantFrom('"\\', '\u0001\b', '\udc00', '€😀'),
  fc.integer({ min: -1100, max: 1100 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.array(fc.oneof(fc.integer(), fc.constant(null), fc.constant({})), { maxLength: 3 }),
);
const objectOf = (depth: number): fc.Arbitrary<JsonObject> =>
  fc.dictionary(key, depth <= 1 ? leaf : fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 2, arbitrary: objectOf(depth - 1) }), { minKeys: 1, maxKeys: 4 });
const patchOf = (depth: number): fc.Arbitrary<JsonObject> =>
  fc.dictionary(key, depth <= 1 ? fc.oneof(leaf, fc.constant(null)) : fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: patchOf(depth - 1) }), { maxKeys: 4 });

/** `old` with `patch` merged, empty objects removed (the stored form); untouched subtrees shared. */
function merge(old: JsonObject | undefined, patch: JsonObject): JsonObject | undefined {
  const out: JsonObject = { ...old };
  for (const k in patch) {
    const p = patch[k] as JsonValue;
    if (p === null) delete out[k];
    else if (isJsonObject(p)) {
      const o = out[k];
      const m = merge(isJsonObject(o) ? o : undefined, p);
      if (m === undefined) delete out[k];
      else out[k] = m;
    } else out[k] = p;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

// An object emptied by the update counts its opening brace only: the engine never stores an empty
// object (the caller drops an emptied section whole, sizeAfter in update.ts).
const sized = (o: JsonObject | undefined): number => (o === undefined ? 1 : bytes(o));

describe('objectDiff', () => {
  it('property: the size change along the written keys is the difference of the full sizes', () => {
    fc.assert(
      fc.property(objectOf(3), patchOf(3), (old, patch) => {
        const next = merge(old, patch);
        expect(objectDiff(old, next ?? {}, patch)).toBe(sized(next) - bytes(old));
      }),
      { numRuns: runs(1500) },
    );
  });

  it('property: with two sets of written keys (desired and reported policies), the change is that of both merges', () => {
    fc.assert(
      fc.property(objectOf(3), patchOf(3), patchOf(3), (old, p1, p2) => {
        const next = merge(merge(old, p1) ?? {}, p2);
        expect(objectDiff(old, next ?? {}, p1, p2)).toBe(sized(next) - bytes(old));
      }),
      { numRuns: runs(1500) },
    );
  });

  it('property: keys written whole on one side (touched `true`) are measured whole, whatever the other side merged below them', () => {
    const whole = fc.dictionary(key, fc.oneof(leaf, objectOf(2)), { maxKeys: 3 });
    const written = (o: JsonObject): JsonObject => Object.fromEntries(Object.keys(o).map((k) => [k, true]));
    fc.assert(
      fc.property(objectOf(3), patchOf(3), whole, fc.boolean(), (old, p, w, wholeFirst) => {
        const next = { ...merge(old, p), ...w };
        if (Object.keys(next).length === 0) return;
        const diff = wholeFirst ? objectDiff(old, next, written(w), p) : objectDiff(old, next, p, written(w));
        expect(diff).toBe(bytes(next) - bytes(old));
      }),
      { numRuns: runs(1500) },
    );
  });

  it('adds and removes whole entries, recurses into merged objects, and replaces type changes whole', () => {
    const old: JsonObject = { a: 1, b: { c: 'x', d: [1] }, e: 'é' };
    const cases: Array<[JsonObject, JsonObject]> = [
      [{ f: '😀' }, { ...old, f: '😀' }],
      [{ a: null }, { b: old['b'] as JsonObject, e: 'é' }],
      [{ b: { c: 'yy' } }, { ...old, b: { c: 'yy', d: [1] } }],
      [{ b: 5 }, { ...old, b: 5 }],
      [{ a: { z: true } }, { ...old, a: { z: true } }],
      [{ b: { c: null, d: null } }, { a: 1, e: 'é' }],
      [{ q: null }, old],
    ];
    for (const [t, next] of cases) expect([t, objectDiff(old, next, t)]).toEqual([t, bytes(next) - bytes(old)]);
    // a key written whole on one side and merged on the other is replaced whole
    const next = { ...old, b: { c: 'x', d: [1], g: 1 } };
    expect(objectDiff(old, next, { b: { g: 1 } }, { b: true })).toBe(bytes(next) - bytes(old));
    expect(objectDiff(old, next, { b: true }, { b: { g: 1 } })).toBe(bytes(next) - bytes(old));
    expect(objectDiff(old, next, { a: true }, { b: { g: 1 } })).toBe(bytes(next) - bytes(old));
    const replaced = { ...old, b: { c: 'zz', g: 1 } };
    expect(objectDiff(old, replaced, { b: { g: 1 } }, { b: true })).toBe(bytes(replaced) - bytes(old));
    expect(objectDiff(old, replaced, { b: true }, { b: { g: 1 } })).toBe(bytes(replaced) - bytes(old));
  });
});

describe('the 8 KB limit at its boundary, with escaped keys and values', () => {
  const T = 1_700_000_000_000;
  // A string value padded so that the state is exactly `target` bytes.
  const padded = (target: number, key: string): { desired: JsonObject } => {
    const base = { desired: { [key]: '' } };
    return { desired: { [key]: 'x'.repeat(target - bytes(base)) } };
  };

  it('accepts a new document of exactly maxDocumentBytes and refuses one byte more with 413 and the exact size', () => {
    for (const key of ['k', 'q"\\\n\u0001', 'é😀\ud800']) {
      const exact = padded(8192, key);
      expect(bytes(exact)).toBe(8192);
      expect(applyShadowUpdate(undefined, { state: exact }, { now: T }).ok).toBe(true);
      const over = applyShadowUpdate(undefined, { state: padded(8193, key) }, { now: T });
      expect(over.ok).toBe(false);
      if (!over.ok) {
        expect(over.error.code).toBe('PAYLOAD_TOO_LARGE');
        expect(over.error.status).toBe(413);
        expect(over.error.details?.['bytes']).toBe(8193);
      }
    }
  });

  it('after updates that add, grow, shrink and delete escaped keys, the limit is decided on the exact size', () => {
    let doc: StoredShadow | undefined;
    const steps: JsonObject[] = [
      { desired: { 'a"': { '\\b': 'é', c: [1, {}] } }, reported: { '\u0001': 1 } },
      { desired: { 'a"': { '\\b': '😀😀', d: true } } },
      { reported: { '\u0001': null, '\ud800': 'x\n' } },
      { desired: { 'a"': { c: null } } },
      { desired: { 'a"': null, e: -12.5 } },
    ];
    steps.forEach((state, i) => {
      const r = applyShadowUpdate(doc, { state }, { now: T + i });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      doc = r.document;
      const exact = bytes(r.document.state);
      expect(applyShadowUpdate(doc, { state: {} }, { now: T, limits: { maxDocumentBytes: exact } }).ok).toBe(true);
      const over = applyShadowUpdate(doc, { state: {} }, { now: T, limits: { maxDocumentBytes: exact - 1 } });
      expect(!over.ok && over.error.details?.['bytes']).toBe(exact);
    });
  });
});
