import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCborCodec, cborCodec } from '../../src/cbor.js';
import { isFleetError } from '../../src/errors.js';
import { checkJson, type JsonValue } from '../../src/json.js';
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
