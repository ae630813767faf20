import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../src/errors.js';
import { checkJson, cloneJson, jsonEqual, parseJson, utf8ByteLength, type JsonValue } from '../src/json.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isFleetError(e) ? e.code : 'NOT_A_FLEET_ERROR';
  }
};

describe('parseJson', () => {
  it('parses text and UTF-8 bytes', () => {
    expect(parseJson('{"a":[1,2,{"b":null}]}')).toEqual({ a: [1, 2, { b: null }] });
    expect(parseJson(new TextEncoder().encode('{"ü":"€"}'))).toEqual({ 'ü': '€' });
  });

  it('rejects malformed input, bad UTF-8, forbidden keys, oversize and deep input with typed errors', () => {
    expect(code(() => parseJson('{"a":'))).toBe('INVALID_JSON');
    expect(code(() => parseJson(new Uint8Array([0x7b, 0xff, 0x7d])))).toBe('INVALID_JSON');
    expect(code(() => parseJson('{"__proto__":{"polluted":true}}'))).toBe('FORBIDDEN_KEY');
    expect(code(() => parseJson('{"a":{"constructor":{"prototype":{}}}}'))).toBe('FORBIDDEN_KEY');
    expect(code(() => parseJson('"' + 'x'.repeat(100) + '"', { maxBytes: 50 }))).toBe('PAYLOAD_TOO_LARGE');
    expect(code(() => parseJson('[[[[1]]]]', { maxDepth: 3 }))).toBe('TOO_DEEP');
    expect(code(() => parseJson('[[[1]]]', { maxDepth: 3 }))).toBeUndefined();
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('round-trips any JSON value, and refuses exactly those with a forbidden key', () => {
    const hasForbiddenKey = (v: unknown): boolean =>
      typeof v === 'object' && v !== null && (Array.isArray(v) ? v.some(hasForbiddenKey) : Object.keys(v).some((k) => ['__proto__', 'constructor', 'prototype'].includes(k) || hasForbiddenKey((v as Record<string, unknown>)[k])));
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = JSON.stringify(v);
        if (hasForbiddenKey(JSON.parse(text))) expect(code(() => parseJson(text))).toBe('FORBIDDEN_KEY');
        else expect(jsonEqual(parseJson(text), JSON.parse(text) as JsonValue)).toBe(true);
      }),
      { numRuns: 500 },
    );
    expect(code(() => parseJson('{"a":[{"__proto__":1}]}'))).toBe('FORBIDDEN_KEY');
  });
});

describe('checkJson', () => {
  it('accepts plain JSON and rejects everything else', () => {
    expect(checkJson({ a: [1, 'x', true, null, { b: 2 }] })).toBeUndefined();
    expect(checkJson(Object.create(null))).toBeUndefined();
    for (const bad of [NaN, Infinity, undefined, () => 1, 10n, Symbol('s'), new Date(0), new Map(), [1, , 3]]) {
      expect(checkJson(bad)?.code, String(bad)).toBe('INVALID_JSON');
    }
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(checkJson(cyclic)?.code).toBe('TOO_DEEP');
    const shared = { x: 1 };
    expect(checkJson({ a: shared, b: shared })).toBeUndefined();
    const proto = JSON.parse('{"__proto__":1}') as unknown;
    expect(checkJson(proto)?.code).toBe('FORBIDDEN_KEY');
    expect(checkJson({ a: { b: 1 } }, { maxDepth: 1 })?.details?.['path']).toBe('$.a');
  });
});

describe('jsonEqual', () => {
  it('compares numbers by value and ignores key order', () => {
    expect(jsonEqual({ n: 1, m: [1, { a: 2 }] }, { m: [1.0, { a: 2 }], n: 1.0 })).toBe(true);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], { 0: 1, 1: 2 })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });

  it('clones an own "__proto__" key as data, never as a prototype', () => {
    const parsed = JSON.parse('{"__proto__":{"x":1},"a":2}') as JsonValue;
    const copy = cloneJson(parsed);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(jsonEqual(parsed, copy)).toBe(true);
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('is reflexive on clones and agrees with canonical serialisation', () => {
    fc.assert(
      fc.property(fc.jsonValue() as fc.Arbitrary<JsonValue>, fc.jsonValue() as fc.Arbitrary<JsonValue>, (a, b) => {
        expect(jsonEqual(a, cloneJson(a))).toBe(true);
        const canon = (v: unknown): string =>
          JSON.stringify(v, (_k, x: unknown) =>
            x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1))) : Object.is(x, -0) ? 0 : x,
          );
        expect(jsonEqual(a, b)).toBe(canon(a) === canon(b));
      }),
    );
  });
});

describe('utf8ByteLength', () => {
  it('matches Buffer.byteLength for any string', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => {
      expect(utf8ByteLength(s)).toBe(Buffer.byteLength(s, 'utf8'));
    }));
  });
});
