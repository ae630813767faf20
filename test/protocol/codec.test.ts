import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCborCodec, cborCodec } from '../../src/cbor.js';
import { isFleetError } from '../../src/errors.js';
import { checkJson, jsonEqual, type JsonValue } from '../../src/json.js';
import { createJsonCodec, jsonCodec, type Codec } from '../../src/protocol/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
// JSON values without forbidden keys and with -0 normalised (JSON has no -0).
const jsonArb = fc
  .jsonValue({ maxDepth: 5 })
  .map((v) => JSON.parse(JSON.stringify(v)) as JsonValue)
  .filter((v) => checkJson(v) === undefined);

describe.each<[string, Codec]>([
  ['jsonCodec', jsonCodec],
  ['cborCodec', cborCodec],
])('%s', (_name, codec) => {
  it('round-trips every JSON value (property)', () => {
    fc.assert(
      fc.property(jsonArb, (value) => {
        expect(codec.decode(codec.encode(value))).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it('turns arbitrary bytes into a value or INVALID_PAYLOAD, nothing else (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          codec.decode(b);
        } catch (e) {
          expect(isFleetError(e, 'INVALID_PAYLOAD')).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects keys that could reach a prototype', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const encoded = codec.name === 'json' ? bytes(`{"a":{"${key}":{"polluted":1}}}`) : forgeCborMap(key);
      expect(() => codec.decode(encoded)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('enforces the per-message size cap both ways', () => {
    const small = codec.name === 'json' ? createJsonCodec({ maxBytes: 16 }) : createCborCodec({ maxBytes: 16 });
    const big = { text: 'x'.repeat(32) };
    expect(() => small.encode(big)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE', status: 413 }));
    expect(() => small.decode(codec.encode(big))).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(small.decode(small.encode({ a: 1 }))).toEqual({ a: 1 });
  });

  it('refuses values with no JSON form', () => {
    expect(() => codec.encode(undefined)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => codec.encode(cyclic)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
  });

  it('rejects bad options', () => {
    expect(() => createJsonCodec({ maxBytes: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => createCborCodec({ maxDepth: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('jsonCodec specifics', () => {
  it('rejects malformed text and non-UTF-8 bytes with INVALID_PAYLOAD and keeps the reason', () => {
    for (const b of [bytes('{"a":'), bytes(''), new Uint8Array([0xff, 0xfe]), bytes('{"a":1}}')]) {
      expect(() => jsonCodec.decode(b)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD', status: 400 }));
    }
    const forbidden = (() => {
      try {
        jsonCodec.decode(bytes('{"__proto__":1}'));
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(isFleetError(forbidden, 'INVALID_PAYLOAD') && forbidden.details?.reason).toBe('FORBIDDEN_KEY');
    // Escapes spell the same key: the fast path must not be fooled.
    expect(() => jsonCodec.decode(bytes('{"a":{"\\u005f_proto__":{"x":1}}}'))).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
    expect(jsonCodec.decode(bytes('{"a":"has [ { brackets and \\n escapes"}'))).toEqual({ a: 'has [ { brackets and \n escapes' });
    const deep = createJsonCodec({ maxDepth: 3 });
    expect(deep.decode(bytes('{"s":"[[[[[[["}'))).toEqual({ s: '[[[[[[[' });
    expect(() => deep.decode(bytes('[[[[1]]]]'))).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
  });
});

describe('cborCodec specifics', () => {
  it('is smaller than JSON on a telemetry document and readable by the JSON data model only', () => {
    const doc = { ts: 1_700_000_000_000, seq: 42, values: { temp: 21.5, hum: 40, ok: true, label: 'pump' } };
    expect(cborCodec.encode(doc).byteLength).toBeLessThan(jsonCodec.encode(doc).byteLength);
    // A CBOR byte string (0x43 …) and a date tag (0xc1 …) are not JSON: refused.
    expect(() => cborCodec.decode(new Uint8Array([0x43, 1, 2, 3]))).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
    expect(() => cborCodec.decode(new Uint8Array([0xc1, 0x01]))).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
  });

  it('never decodes to a value outside the JSON data model', () => {
    const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
    // undefined, NaN, +Infinity, -Infinity (half floats), 2^53 + 1 as uint64, a bignum tag, [undefined], {"a": NaN}
    for (const h of ['f7', 'f97e00', 'f97c00', 'f9fc00', '1b0020000000000001', 'c249010000000000000000', '81f7', 'a16161f97e00']) {
      expect(() => cborCodec.decode(hex(h)), h).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD', status: 400 }));
    }
  });
});

/** A CBOR map {"a": {key: {"polluted": 1}}} written by hand. */
function forgeCborMap(key: string): Uint8Array {
  const k = new TextEncoder().encode(key);
  return new Uint8Array([0xa1, 0x61, 0x61, 0xa1, 0x60 + k.length, ...k, 0xa1, 0x68, ...new TextEncoder().encode('polluted'), 0x01]);
}

describe('cborCodec and "__proto__"', () => {
  it('keeps "__proto__" as a string value but refuses it as a key', () => {
    expect(cborCodec.decode(cborCodec.encode(['__proto__', { a: '__proto__' }]))).toEqual(['__proto__', { a: '__proto__' }]);
    const withKey = JSON.parse('{"__proto__":{"polluted":true}}') as unknown;
    let code: string | undefined;
    try {
      cborCodec.decode(cborCodec.encode(withKey));
    } catch (e) {
      code = isFleetError(e) ? e.code : 'other';
    }
    expect(code).toBe('INVALID_PAYLOAD');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

/** Values outside the JSON data model (or that cannot round-trip through both codecs). */
class Point {
  constructor(
    readonly x: number,
    readonly y: number,
  ) {}
}
const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
const notJson: [string, unknown][] = [
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['a non-finite number in an object', { a: 1e308 * 10 }],
  ['undefined', undefined],
  ['undefined in an object', { a: undefined }],
  ['undefined in an array', [1, undefined]],
  ['a sparse array', [, 1]], // eslint-disable-line no-sparse-arrays
  ['a Date', new Date(0)],
  ['a Map', new Map([['a', 1]])],
  ['a Set', new Set([1])],
  ['a Uint8Array', new Uint8Array([1, 2])],
  ['a Buffer', Buffer.from('x')],
  ['a bigint', 1n],
  ['a bigint in an array', [1n]],
  ['a class instance', new Point(1, 2)],
  ['a boxed number', new Number(1)],
  ['a boxed string', new String('s')],
  ['a function', () => 1],
  ['a symbol', Symbol('s')],
  ['an object with toJSON', { toJSON: () => 1 }],
  ['a lone surrogate', '\ud800'],
  ['a lone surrogate in a key', { 'a\udc00': 1 }],
  ['a "constructor" key', { constructor: 1 }],
  ['a "prototype" key', { a: { prototype: 1 } }],
  ['a "__proto__" key', JSON.parse('{"__proto__":{"x":1}}')],
  ['a cycle', cyclic],
  ['nesting deeper than 64', deep(65)],
];
const json: [string, unknown][] = [
  ['null', null],
  ['-0 (equal to 0 as a JSON number)', -0],
  ['a large integer', 2 ** 60],
  ['the largest double', Number.MAX_VALUE],
  ['a paired surrogate', '😀'],
  ['an object without prototype', Object.assign(Object.create(null) as object, { a: 1, b: [true, 'x'] })],
  ['nesting of exactly 64', deep(64)],
  ['a symbol key (ignored, as JSON.stringify ignores it)', { a: 1, [Symbol('s')]: 2 }],
];

describe('jsonCodec and cborCodec accept exactly the JSON data model', () => {
  it.each(notJson)('both refuse %s with INVALID_PAYLOAD', (_what, value) => {
    for (const codec of [jsonCodec, cborCodec]) {
      let error: unknown;
      try {
        codec.encode(value);
      } catch (e) {
        error = e;
      }
      expect(isFleetError(error, 'INVALID_PAYLOAD'), `${codec.name} accepted it or threw ${String(error)}`).toBe(true);
      expect((error as { status?: number }).status).toBe(400);
    }
  });

  it.each(json)('both accept %s and give it back', (_what, value) => {
    for (const codec of [jsonCodec, cborCodec]) expect(jsonEqual(codec.decode(codec.encode(value)) as JsonValue, value as JsonValue)).toBe(true);
  });

  it('jsonCodec.decode refuses numbers that overflow to Infinity, also on its fast path', () => {
    for (const text of ['1e400', '-1e400', '[1E400]', '{"a":1e+400}', '{"a":-2.5E309}', '9'.repeat(400), `{"n":${'1'.repeat(320)}}`]) {
      expect(() => jsonCodec.decode(bytes(text)), text.slice(0, 20)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD', status: 400 }));
    }
    for (const text of ['1e308', '{"e":"1e400 in a string","temperature":1.5e3}', '9'.repeat(300)]) expect(() => jsonCodec.decode(bytes(text))).not.toThrow();
  });

  // fc.anything with every kind of value switched on, plus the special values above.
  const anything = fc.oneof(
    fc.anything({
      withBigInt: true,
      withBoxedValues: true,
      withDate: true,
      withMap: true,
      withNullPrototype: true,
      withObjectString: true,
      withSet: true,
      withSparseArray: true,
      withTypedArray: true,
      withUnicodeString: true,
      stringUnit: 'binary',
      maxDepth: 4,
    }),
    fc.constantFrom(...[...notJson, ...json].map(([, v]) => v)),
    fc.jsonValue({ maxDepth: 4 }),
  );
  const outcome = (codec: Codec, value: unknown): { ok: true; bytes: Uint8Array } | { ok: false; error: unknown } => {
    try {
      return { ok: true, bytes: codec.encode(value) };
    } catch (error) {
      return { ok: false, error };
    }
  };

  it('for any value both codecs accept the same set, refuse with INVALID_PAYLOAD, and decode(encode(v)) equals v (property)', () => {
    fc.assert(
      fc.property(anything, (value) => {
        const results = [jsonCodec, cborCodec].map((codec) => outcome(codec, value));
        expect(results[0]!.ok).toBe(results[1]!.ok);
        for (const [i, r] of results.entries()) {
          if (!r.ok) {
            expect(isFleetError(r.error, 'INVALID_PAYLOAD')).toBe(true);
            continue;
          }
          const codec = i === 0 ? jsonCodec : cborCodec;
          expect(jsonEqual(codec.decode(r.bytes) as JsonValue, value as JsonValue)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
