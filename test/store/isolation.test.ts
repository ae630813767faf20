// The stores' data check: the first offending value is named by its exact path, the same for the
// checking and the check-and-freeze walks, and good data is frozen all the way down.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { checkAndFreeze, checkData } from '../../src/store/isolation.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
const key = fc.string({ minLength: 1, maxLength: 6 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k));
const json = fc.letrec<{ v: Json }>((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 4 }), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(key, tie('v'), { maxKeys: 3 })),
})).v;
const badLeaf = fc.constantFrom<[unknown, string]>([Number.NaN, 'NaN'], [Infinity, 'Infinity'], [undefined, 'undefined'], [() => 1, 'function'], [new Date(0), 'an instance of Date'], [10n, 'bigint']);

/** Puts `bad` somewhere in a copy of `value` along `choices`; returns the copy and the path to it. */
function plant(value: Json, bad: unknown, choices: number[]): { data: unknown; path: string } {
  const pick = choices.shift() ?? 0;
  if (Array.isArray(value) && value.length > 0 && pick % 3 !== 0) {
    const i = pick % value.length;
    const inner = plant(value[i] as Json, bad, choices);
    const copy: unknown[] = [...value];
    copy[i] = inner.data;
    return { data: copy, path: `[${i}]${inner.path}` };
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0 && pick % 3 !== 0) {
    const keys = Object.keys(value);
    const k = keys[pick % keys.length] as string;
    const inner = plant(value[k] as Json, bad, choices);
    return { data: { ...value, [k]: inner.data }, path: `.${k}${inner.path}` };
  }
  return { data: bad, path: '' };
}

function errorOf(run: () => void): { path: unknown; message: string } | undefined {
  try {
    run();
    return undefined;
  } catch (e) {
    if (!isFleetError(e, 'INVALID_ARGUMENT')) throw e;
    return { path: (e.details as { path?: unknown }).path, message: e.message };
  }
}

function deepFrozen(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return true;
  return Object.isFrozen(v) && Object.values(v).every(deepFrozen);
}

describe('store data checks', () => {
  it('name the exact path of the one bad value, the same way with and without freezing', () => {
    fc.assert(
      fc.property(json, badLeaf, fc.array(fc.nat(), { maxLength: 8 }), (value, [bad, what], choices) => {
        const { data, path } = plant(value, bad, choices);
        const checked = errorOf(() => checkData('api', data, undefined, 'next'));
        const frozen = errorOf(() => checkAndFreeze('api', structuredCloneable(data), undefined, 'next'));
        expect(checked?.path).toBe(`next${path}`);
        expect(frozen?.path).toBe(`next${path}`);
        expect(checked?.message).toContain(what);
      }),
    );
  });

  it('accept JSON data and freeze all of it (checkAndFreeze), leaving it unfrozen (checkData)', () => {
    fc.assert(
      fc.property(json, (value) => {
        const a = JSON.parse(JSON.stringify(value)) as unknown;
        checkData('api', a, undefined, 'next');
        if (typeof a === 'object' && a !== null) expect(Object.isFrozen(a)).toBe(false);
        const b = JSON.parse(JSON.stringify(value)) as unknown;
        checkAndFreeze('api', b, undefined, 'next');
        expect(deepFrozen(b)).toBe(true);
      }),
    );
  });

  it('refuse a forbidden key by its path, and skip subtrees shared with the previous value', () => {
    const evil = JSON.parse('{"a":{"__proto__":{"x":1}}}') as unknown;
    expect(errorOf(() => checkData('api', evil, undefined, 'next'))?.path).toBe('next.a.__proto__');
    expect(errorOf(() => checkAndFreeze('api', evil, undefined, 'next'))?.path).toBe('next.a.__proto__');
    const shared = { bad: Number.NaN };
    expect(errorOf(() => checkData('api', { s: shared }, { s: shared }, 'next'))).toBeUndefined();
  });
});

/** The same data (the planted functions, dates and bigints are kept as they are). */
function structuredCloneable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(structuredCloneable);
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, structuredCloneable(x)]));
  return v;
}
