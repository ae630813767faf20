import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCborCodec, cborCodec } from '../../src/cbor.js';
import { isFleetError } from '../../src/errors.js';
import { checkJson, jsonEqual, type JsonValue } from '../../src/json.js';
import { createJsonCodec, jsonCodec, type Codec } from '../../src/protocol/index.js';
import { expectFleetError, hostileValues } from '../support/hostile.js';

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

  it('turns arbitrary bytes into a JSON value or INVALID_PAYLOAD, nothing else (property)', () => {
    // Random bytes, and valid encodings with one byte changed (which reach deeper into the decoder).
    const mutated = fc.tuple(jsonArb, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([v, i, b]) => {
      const enc = codec.encode(v).slice();
      enc[i % enc.length] = b;
      return enc;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated), (b) => {
        let value: unknown;
        try {
          value = codec.decode(b);
        } catch (e) {
          expect(isFleetError(e, 'INVALID_PAYLOAD')).toBe(true);
          return;
        }
        expect(checkJson(value)).toBeUndefined();
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

  it('refuses options that are not an object, and describes bad limits without calling their conversion hooks', () => {
    for (const [name, create] of [['createJsonCodec', createJsonCodec], ['createCborCodec', createCborCodec]] as const) {
      for (const bad of [null, 5, 'big', [] as unknown]) {
        expectFleetError(() => create(bad as never), 'INVALID_ARGUMENT', `${name}(options): options must be an object such as { maxBytes`);
      }
      for (const { value, shown } of hostileValues()) {
        expectFleetError(() => create({ maxBytes: value as number }), 'INVALID_ARGUMENT', `${name}(options): maxBytes`, `got ${shown}`);
        expectFleetError(() => create({ maxDepth: value as number }), 'INVALID_ARGUMENT', `${name}(options): maxDepth`, `got ${shown}`);
      }
      expect(create(undefined).maxBytes).toBe(create({}).maxBytes);
    }
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

  it('jsonCodec.decode gives the same outcome as a full check of the parsed value, whatever its fast path skips (property)', () => {
    const numbers = ['1e400', '-1E+999', '2e308', '1.7976931348623157e308', '1e308', '0e999', '1e-400', '-0', '9'.repeat(309), '9'.repeat(308), '1'.repeat(400), '123'];
    const keys = ['__proto__', 'constructor', 'prototype', 'proto', 'a', 'ctor'];
    const text = fc
      .tuple(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom(...numbers),
        fc.constantFrom(...keys),
        fc.nat(700), // whitespace: moves the number across the sampled positions
        fc.nat(70), // extra nesting
        fc.boolean(),
      )
      .map(([v, num, key, pad, nest, escape]) => {
        const k = escape ? key.replace('_', '\\u005f') : key;
        const body = `{${JSON.stringify(k)}:${JSON.stringify(v)},"n":${' '.repeat(pad)}${num}}`;
        return '['.repeat(nest) + body + ']'.repeat(nest);
      });
    const codec = createJsonCodec();
    fc.assert(
      fc.property(text, (t) => {
        const parsed = JSON.parse(t) as unknown;
        const expected = checkJson(parsed, { maxDepth: 64 }) === undefined;
        let actual: boolean;
        try {
          expect(jsonEqual(codec.decode(bytes(t)) as JsonValue, parsed as JsonValue)).toBe(true);
          actual = true;
        } catch (e) {
          expect(isFleetError(e, 'INVALID_PAYLOAD')).toBe(true);
          actual = false;
        }
        expect(actual).toBe(expected);
      }),
      { numRuns: 1000 },
    );
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

/**
 * A reference CBOR writer with a device's freedom (RFC 8949): any argument width (not only the
 * shortest), integers as major types 0/1 up to 64 bits, floats as half, single or double when
 * exact, definite or indefinite arrays and maps, chunked text, an optional self-describe tag.
 */
function writeCbor(value: JsonValue, choose: () => number): number[] {
  const out: number[] = [];
  const head = (major: number, n: number): void => {
    const minimal = n < 24 ? 0 : n < 0x100 ? 1 : n < 0x10000 ? 2 : n < 0x1_0000_0000 ? 3 : 4;
    const width = Math.max(minimal, choose() % 5);
    if (width === 0) out.push((major << 5) | n);
    else {
      const bytes = [1, 2, 4, 8][width - 1]!;
      out.push((major << 5) | (23 + width));
      for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) % 256);
    }
  };
  const text = (s: string): void => {
    const b = [...new TextEncoder().encode(s)];
    if (b.length > 1 && choose() % 4 === 0) {
      out.push(0x7f);
      // Chunks split at code point boundaries (each chunk must be valid UTF-8 on its own).
      const cps = [...s];
      const cut = 1 + (choose() % (cps.length - 1 || 1));
      for (const part of [cps.slice(0, cut).join(''), cps.slice(cut).join('')]) {
        const pb = [...new TextEncoder().encode(part)];
        head(3, pb.length);
        out.push(...pb);
      }
      out.push(0xff);
      return;
    }
    head(3, b.length);
    out.push(...b);
  };
  const float = (x: number): void => {
    const f32 = Math.fround(x);
    const kind = choose() % 3;
    const dv = new DataView(new ArrayBuffer(8));
    if (kind === 0 && Number.isInteger(x) && Math.abs(x) <= 2048 && !Object.is(x, -0)) {
      // half float: integers up to 2048 are exact
      const sign = x < 0 ? 0x8000 : 0;
      const a = Math.abs(x);
      let h = sign;
      if (a !== 0) {
        const e = Math.floor(Math.log2(a));
        h |= ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
      }
      out.push(0xf9, h >> 8, h & 0xff);
    } else if (kind === 1 && f32 === x) {
      dv.setFloat32(0, x);
      out.push(0xfa, ...new Uint8Array(dv.buffer, 0, 4));
    } else {
      dv.setFloat64(0, x);
      out.push(0xfb, ...new Uint8Array(dv.buffer, 0, 8));
    }
  };
  const write = (v: JsonValue): void => {
    if (v === null) out.push(0xf6);
    else if (v === true) out.push(0xf5);
    else if (v === false) out.push(0xf4);
    else if (typeof v === 'number') {
      if (Number.isSafeInteger(v) && choose() % 2 === 0) head(v < 0 ? 1 : 0, v < 0 ? -1 - v : v);
      else float(v);
    } else if (typeof v === 'string') text(v);
    else if (Array.isArray(v)) {
      const indefinite = choose() % 3 === 0;
      if (indefinite) out.push(0x9f);
      else head(4, v.length);
      for (const x of v) write(x);
      if (indefinite) out.push(0xff);
    } else {
      const keys = Object.keys(v);
      const indefinite = choose() % 3 === 0;
      if (indefinite) out.push(0xbf);
      else head(5, keys.length);
      for (const k of keys) {
        text(k);
        write(v[k]!);
      }
      if (indefinite) out.push(0xff);
    }
  };
  if (choose() % 4 === 0) out.push(0xd9, 0xd9, 0xf7); // tag 55799, self-described CBOR
  write(value);
  return out;
}

describe('cborCodec.decode reads what other CBOR encoders write', () => {
  it('decodes every well-formed encoding of a JSON value to that value (property)', () => {
    fc.assert(
      fc.property(jsonArb, fc.infiniteStream(fc.nat()), (value, stream) => {
        const it = stream[Symbol.iterator]();
        const bytes = Uint8Array.from(writeCbor(value, () => it.next().value as number));
        expect(jsonEqual(cborCodec.decode(bytes) as JsonValue, value)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('decodes 64-bit integers up to 2^53 - 1 as numbers and refuses larger ones', () => {
    const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
    expect(cborCodec.decode(hex('1b001fffffffffffff'))).toBe(2 ** 53 - 1);
    expect(cborCodec.decode(hex('3b001ffffffffffffe'))).toBe(-(2 ** 53) + 1);
    expect(cborCodec.decode(hex('a26274731b0000018bcfe5680063736571190100'))).toEqual({ ts: 1_700_000_000_000, seq: 256 });
    expect(() => cborCodec.decode(hex('1b0020000000000000'))).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
  });

  it('says what and where in details, and which rule in details.reason', () => {
    const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
    const failure = (h: string): { reason?: unknown; path?: unknown } => {
      try {
        cborCodec.decode(hex(h));
      } catch (e) {
        if (isFleetError(e, 'INVALID_PAYLOAD')) return (e.details ?? {}) as { reason?: unknown; path?: unknown };
        throw e;
      }
      throw new Error(`${h} decoded`);
    };
    // {"a": [1, NaN]}
    expect(failure('a1616182 01 f97e00'.replace(/ /g, ''))).toEqual({ reason: 'INVALID_JSON', path: '$.a[1]' });
    // {"a": {"constructor": 1}}
    expect(failure('a16161a16b636f6e7374727563746f7201')).toEqual({ reason: 'FORBIDDEN_KEY', path: '$.a.constructor' });
    // {"__proto__": 1} with the key as an indefinite-length text string ("__pro" + "to__")
    expect(failure('a17f655f5f70726f64746f5f5fff01')).toEqual({ reason: 'FORBIDDEN_KEY', path: '$.__proto__' });
    // [[1]] with maxDepth 1
    expect(() => createCborCodec({ maxDepth: 1 }).decode(hex('818101'))).toThrow(expect.objectContaining({ details: expect.objectContaining({ reason: 'TOO_DEEP' }) }));
    // {1: 2}: a key that is not text
    expect(failure('a10102')).toEqual({ reason: 'INVALID_JSON', path: '$' });
    // malformed: truncated, trailing bytes, a reserved width, a stray break, invalid UTF-8, chunks of bytes in a text string
    for (const h of ['a161', '0101', '1c', 'ff', '8201ff', '62c328', '7f4161ff']) expect(failure(h).reason).toBeUndefined();
    // a self-describe tag is skipped at the start only; repeated or nested it is refused, never a stack overflow
    expect(cborCodec.decode(hex('d9d9f7a0'))).toEqual({});
    expect(failure('d9d9f7'.repeat(20_000) + '01').reason).toBe('INVALID_JSON');
    expect(failure('81d9d9f701')).toEqual({ reason: 'INVALID_JSON', path: '$[0]' });
  });
});
