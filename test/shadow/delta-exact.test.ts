// The delta of src/shadow/delta.ts against a plain reference implementation of SHADOW.md "Delta"
// (desired leaves missing from reported or differing from it, arrays and type mismatches whole,
// numbers by value; the metadata is the desired metadata of the delta's leaves), and the
// incremental patchDelta against the full walk, called directly over random documents, metadata,
// acknowledgement envelopes and merge patches on both sides.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../../src/json.js';
import { ackProperty, unwrapAck } from '../../src/shadow/acknowledgement.js';
import { computeDelta, computeDeltaWithMetadata, deltaOf, patchDelta, type ReportedUnwrapper } from '../../src/shadow/delta.js';
import type { MetadataNode, MetadataObject } from '../../src/shadow/types.js';
import { runs } from './runs.js';

/** The reference delta: written from the spec, independent of the engine. */
function refDelta(d: JsonObject, m: MetadataObject | undefined, r: JsonObject | undefined, unwrap?: ReportedUnwrapper): { state: JsonObject; metadata: MetadataObject } | undefined {
  const state: JsonObject = {};
  const metadata: MetadataObject = {};
  for (const k of Object.keys(d)) {
    const dv = d[k] as JsonValue;
    const raw = r !== undefined && Object.prototype.hasOwnProperty.call(r, k) ? r[k] : undefined;
    const rv = raw === undefined || unwrap === undefined ? raw : unwrap(raw);
    const mv = m !== undefined && Object.prototype.hasOwnProperty.call(m, k) ? m[k] : undefined;
    if (isJsonObject(dv) && (rv === undefined || isJsonObject(rv))) {
      const sub = refDelta(dv, isJsonObject(mv) ? (mv as MetadataObject) : undefined, rv, unwrap);
      if (sub === undefined) continue;
      state[k] = sub.state;
      if (m !== undefined) metadata[k] = sub.metadata;
    } else if (rv === undefined || !jsonEqual(dv, rv)) {
      state[k] = dv;
      if (mv !== undefined) metadata[k] = mv;
    }
  }
  return Object.keys(state).length === 0 ? undefined : { state, metadata };
}

// Documents: few keys so that desired and reported overlap; leaves of every type, envelopes included.
// ('value' and 'ac' so that patches write into envelopes and turn objects into envelopes and back)
const key = fc.constantFrom('a', 'b', 'c', 'value', 'ac');
const scalar: fc.Arbitrary<JsonValue> = fc.oneof(fc.integer({ min: -2, max: 2 }), fc.constantFrom('x', 'y', true, false, 1.5), fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 2 }));
const enveloped = fc.oneof(scalar, fc.dictionary(key, scalar, { minKeys: 1, maxKeys: 2, noNullPrototype: true }));
const leaf: fc.Arbitrary<JsonValue> = fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 2, arbitrary: enveloped.map((v) => ackProperty(v, { version: 1 }) as JsonValue) });
const objectOf = (depth: number): fc.Arbitrary<JsonObject> =>
  fc.dictionary(key, depth <= 1 ? leaf : fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 2, arbitrary: objectOf(depth - 1) }), { minKeys: 1, maxKeys: 4, noNullPrototype: true });
const patchOf = (depth: number): fc.Arbitrary<JsonObject> =>
  fc.dictionary(key, depth <= 1 ? fc.oneof(leaf, fc.constant(null)) : fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: patchOf(depth - 1) }), { maxKeys: 3, noNullPrototype: true });

/** Metadata mirroring `v`, every leaf written at `ts`. */
function metaOf(v: JsonValue, ts: number): MetadataNode {
  if (!isJsonObject(v)) return { timestamp: ts };
  const m: MetadataObject = {};
  for (const k of Object.keys(v)) m[k] = metaOf(v[k] as JsonValue, ts);
  return m;
}

/** The engine's merge: null deletes, an object merges below the key, empty objects are removed; metadata follows, untouched parts shared. */
function merge(old: JsonObject | undefined, oldMeta: MetadataObject | undefined, patch: JsonObject, ts: number): { value: JsonObject; meta: MetadataObject } | undefined {
  const value: JsonObject = { ...old };
  const meta: MetadataObject = { ...oldMeta };
  for (const k of Object.keys(patch)) {
    const p = patch[k] as JsonValue;
    if (p === null) {
      delete value[k];
      delete meta[k];
    } else if (isJsonObject(p)) {
      const o = value[k];
      const om = meta[k];
      const sub = merge(isJsonObject(o) ? o : undefined, isJsonObject(o) && isJsonObject(om) ? (om as MetadataObject) : undefined, p, ts);
      if (sub === undefined) {
        delete value[k];
        delete meta[k];
      } else {
        value[k] = sub.value;
        meta[k] = sub.meta;
      }
    } else {
      value[k] = p;
      meta[k] = metaOf(p, ts);
    }
  }
  return Object.keys(value).length === 0 ? undefined : { value, meta };
}

const withMeta = (d: JsonObject, ts = 1): MetadataObject => metaOf(d, ts) as MetadataObject;

/** A reported side close to `d`: each key (by `choices`) kept, wrapped in an envelope, changed or left out; the deltas are then small and envelopes stand for objects. */
function nearby(d: JsonObject, choices: number[]): JsonObject | undefined {
  let i = 0;
  const walk = (o: JsonObject): JsonObject | undefined => {
    const out: JsonObject = {};
    for (const k of Object.keys(o)) {
      const v = o[k] as JsonValue;
      const c = choices[i++ % choices.length] as number;
      const near = isJsonObject(v) && c !== 3 ? walk(v) : v;
      if (near === undefined) continue;
      if (c === 0 || c === 3) out[k] = near;
      else if (c === 1) out[k] = ackProperty(near, { version: 1 }) as JsonValue;
      else if (c === 2) out[k] = 'changed';
    }
    return Object.keys(out).length === 0 ? undefined : out;
  };
  return walk(d);
}
const pair = fc.tuple(objectOf(3), fc.option(objectOf(3), { nil: undefined }), fc.array(fc.nat(4), { minLength: 1, maxLength: 16 }), fc.boolean()).map(([d, r, choices, near]) => [d, near ? nearby(d, choices) : r] as const);

describe('computeDelta examples (SHADOW.md "Delta")', () => {
  it('keeps the path to each differing desired leaf, and nothing else', () => {
    const d = { lights: { color: 'red', on: true, level: { min: 1, max: 9 } }, fan: 1, mode: 'eco' };
    const r = { lights: { color: 'blue', on: true, level: { min: 1, max: 8 } }, fan: 1.0, extra: 5 };
    expect(computeDelta(d, r)).toStrictEqual({ lights: { color: 'red', level: { max: 9 } }, mode: 'eco' });
  });

  it('drops a nested object whose leaves all agree, and is undefined when every leaf agrees', () => {
    expect(computeDelta({ a: { b: { c: 1 } }, d: 2 }, { a: { b: { c: 1 } }, d: 3 })).toStrictEqual({ d: 2 });
    expect(computeDelta({ a: { b: { c: 1 } } }, { a: { b: { c: 1, x: 2 } }, y: 0 })).toBeUndefined();
    expect(computeDelta(undefined, { a: 1 })).toBeUndefined();
    expect(computeDelta(undefined, undefined)).toBeUndefined();
  });

  it('with nothing reported, the delta is all of desired', () => {
    const d = { a: { b: [1, { c: null }], e: 'x' }, f: false };
    expect(computeDelta(d, undefined)).toStrictEqual(d);
    expect(computeDelta(d, {})).toStrictEqual(d);
  });

  it('compares arrays whole and type mismatches whole, in both directions', () => {
    expect(computeDelta({ a: [1, 2] }, { a: [1, 2] })).toBeUndefined();
    expect(computeDelta({ a: [1, 2] }, { a: [2, 1] })).toStrictEqual({ a: [1, 2] });
    expect(computeDelta({ a: [1, 2] }, { a: [1, 2, 3] })).toStrictEqual({ a: [1, 2] });
    expect(computeDelta({ a: [{ x: 1 }] }, { a: [{ x: 1 }] })).toBeUndefined();
    expect(computeDelta({ a: { b: 1, c: 2 } }, { a: 5 })).toStrictEqual({ a: { b: 1, c: 2 } });
    expect(computeDelta({ a: { b: 1 } }, { a: [1] })).toStrictEqual({ a: { b: 1 } });
    expect(computeDelta({ a: 5 }, { a: { b: 5 } })).toStrictEqual({ a: 5 });
    expect(computeDelta({ a: [] }, { a: {} })).toStrictEqual({ a: [] });
    expect(computeDelta({ a: '1' }, { a: 1 })).toStrictEqual({ a: '1' });
    expect(computeDelta({ a: true }, { a: 1 })).toStrictEqual({ a: true });
  });

  it('compares a desired object with a reported array whole, even where the array has the object\'s keys', () => {
    expect(computeDelta({ a: { '0': 1 } }, { a: [1] })).toStrictEqual({ a: { '0': 1 } });
  });

  it('compares a desired leaf with a reported null as different', () => {
    expect(computeDelta({ a: 1 }, { a: null } as unknown as JsonObject)).toStrictEqual({ a: 1 });
  });

  it('does not look at inherited keys of reported', () => {
    const r = Object.create({ a: 1 }) as JsonObject;
    expect(computeDelta({ a: 1 }, r)).toStrictEqual({ a: 1 });
  });
});

describe('computeDeltaWithMetadata', () => {
  it('carries the desired metadata of exactly the delta leaves', () => {
    const d = { a: { b: 1, c: 2 }, e: [1], f: 'x' };
    const m: MetadataObject = { a: { b: { timestamp: 10 }, c: { timestamp: 11 } }, e: { timestamp: 12 }, f: { timestamp: 13 } };
    expect(computeDeltaWithMetadata(d, m, { a: { b: 1, c: 3 }, f: 'x' })).toStrictEqual({
      state: { a: { c: 2 }, e: [1] },
      metadata: { a: { c: { timestamp: 11 } }, e: { timestamp: 12 } },
    });
    expect(computeDeltaWithMetadata(d, m, d)).toBeUndefined();
    expect(computeDeltaWithMetadata(undefined, m, d)).toBeUndefined();
  });

  it('leaves out metadata the desired metadata does not hold, and has empty metadata without any', () => {
    expect(computeDeltaWithMetadata({ a: 1, b: 2 }, { a: { timestamp: 5 } }, undefined)).toStrictEqual({ state: { a: 1, b: 2 }, metadata: { a: { timestamp: 5 } } });
    expect(computeDeltaWithMetadata({ a: 1, b: [2] }, undefined, undefined)).toStrictEqual({ state: { a: 1, b: [2] }, metadata: {} });
  });

  it('property: equals the reference delta and metadata', () => {
    fc.assert(
      fc.property(pair, fc.integer({ min: 0, max: 3 }), ([d, r], ts) => {
        expect(computeDeltaWithMetadata(d, withMeta(d, ts), r)).toStrictEqual(refDelta(d, withMeta(d, ts), r));
        expect(computeDelta(d, r)).toStrictEqual(refDelta(d, undefined, r)?.state);
      }),
      { numRuns: runs(1000) },
    );
  });
});

describe('deltaOf', () => {
  it('unwraps acknowledgement envelopes before comparing, at any depth', () => {
    const d = { a: 1, b: { c: 'x', e: [1] } };
    const r = { a: ackProperty(1, { version: 3 }) as JsonValue, b: { c: ackProperty('y', { version: 3 }) as JsonValue, e: [1] } };
    expect(deltaOf(d, withMeta(d), r, unwrapAck)).toStrictEqual({ state: { b: { c: 'x' } }, metadata: { b: { c: { timestamp: 1 } } } });
    expect(deltaOf(d, withMeta(d), r, undefined)?.state).toStrictEqual({ a: 1, b: { c: 'x' } });
  });

  it('applies the unwrapper only to reported values that exist', () => {
    const seen: unknown[] = [];
    const spy: ReportedUnwrapper = (v) => {
      seen.push(v);
      return v;
    };
    deltaOf({ a: 1, b: { c: 2, d: 3 }, e: 4 }, {}, { a: 1, b: { c: 2 } }, spy);
    expect(seen).toStrictEqual([1, { c: 2 }, 2]);
  });

  it('property: sharing the desired subtrees of an engine document gives the same delta as copying', () => {
    fc.assert(
      fc.property(pair, fc.boolean(), ([d, r], acks) => {
        const unwrap = acks ? unwrapAck : undefined;
        const expected = refDelta(d, withMeta(d), r, unwrap);
        expect(deltaOf(d, withMeta(d), r, unwrap, true)).toStrictEqual(expected);
        expect(deltaOf(d, withMeta(d), r, unwrap, false)).toStrictEqual(expected);
        // without metadata there is nothing to share from: the walk
        expect(deltaOf(d, undefined, r, unwrap, true)).toStrictEqual(refDelta(d, undefined, r, unwrap));
      }),
      { numRuns: runs(1000) },
    );
  });
});

describe('patchDelta', () => {
  it('property: the delta patched along the written keys equals the full walk of the new document', () => {
    fc.assert(
      fc.property(
        pair,
        fc.option(patchOf(3), { nil: undefined }),
        fc.option(patchOf(3), { nil: undefined }),
        fc.boolean(),
        ([d0, r0], pd, pr, acks) => {
          const unwrap = acks ? unwrapAck : undefined;
          const m0 = withMeta(d0, 1);
          const old = deltaOf(d0, m0, r0, unwrap);
          const dm = pd === undefined ? { value: d0, meta: m0 } : merge(d0, m0, pd, 2);
          if (dm === undefined) return; // desired emptied: the engine drops the section, no delta to patch
          const r = pr === undefined ? r0 : merge(r0, r0 === undefined ? undefined : withMeta(r0), pr, 2)?.value;
          const patched = patchDelta(old, dm.value, dm.meta, r, pd, pr, unwrap);
          expect(patched).toStrictEqual(refDelta(dm.value, dm.meta, r, unwrap));
        },
      ),
      { numRuns: runs(2000) },
    );
  });

  it('property: keys written whole (touched `true`: replaced by a policy or a whole write) are looked at whole', () => {
    const whole = fc.dictionary(key, fc.oneof(leaf, objectOf(2)), { maxKeys: 3, noNullPrototype: true });
    const written = (o: JsonObject): JsonObject => Object.fromEntries(Object.keys(o).map((k) => [k, true]));
    fc.assert(
      fc.property(pair, whole, whole, fc.boolean(), ([d0, r0], wd, wr, acks) => {
        const unwrap = acks ? unwrapAck : undefined;
        const m0 = withMeta(d0, 1);
        const old = deltaOf(d0, m0, r0, unwrap);
        const d = { ...d0, ...wd };
        const m: MetadataObject = { ...m0 };
        for (const k of Object.keys(wd)) m[k] = metaOf(wd[k] as JsonValue, 2);
        const r = { ...r0, ...wr };
        expect(patchDelta(old, d, m, r, written(wd), written(wr), unwrap)).toStrictEqual(refDelta(d, m, r, unwrap));
      }),
      { numRuns: runs(1000) },
    );
  });

  it('patches a key written below on both sides along both sets of written keys', () => {
    const d0 = { a: { x: 1, y: 1 } };
    const m0 = withMeta(d0);
    const old = deltaOf(d0, m0, { a: { x: 0, y: 0 } }, undefined);
    const m = { a: { x: { timestamp: 2 }, y: { timestamp: 1 } } };
    const next = patchDelta(old, d0, m, { a: { x: 0, y: 1 } }, { a: { x: 1 } }, { a: { y: 1 } }, undefined);
    expect(next).toStrictEqual({ state: { a: { x: 1 } }, metadata: { a: { x: { timestamp: 2 } } } });
    // a reported array in place of an object is compared whole
    const d = { a: { '0': 1 } };
    expect(patchDelta(undefined, d, withMeta(d), { a: [1] }, undefined, { a: true }, undefined)?.state).toStrictEqual({ a: { '0': 1 } });
  });

  it('applies the unwrapper only to reported values that exist', () => {
    const seen: unknown[] = [];
    const spy: ReportedUnwrapper = (v) => {
      seen.push(v);
      return v;
    };
    const d = { a: 1, b: 2 };
    const m = withMeta(d);
    patchDelta(deltaOf(d, m, { a: 0 }, spy), d, m, { a: 0 }, { a: true, b: true }, undefined, spy);
    expect(seen).toEqual([0, 0]);
  });

  it('with acknowledgements, a reported write inside an envelope standing for an object is looked at whole', () => {
    const d = { a: { x: 2 } };
    const m = withMeta(d);
    const r0 = { a: ackProperty({ x: 1 }, { version: 1 }) as JsonObject };
    const old = deltaOf(d, m, r0, unwrapAck);
    expect(old?.state).toStrictEqual({ a: { x: 2 } });
    const r = { a: { ...r0.a, value: { x: 2 } } };
    expect(patchDelta(old, d, m, r, undefined, { a: { value: { x: 2 } } }, unwrapAck)).toBeUndefined();
  });

  it('returns the old delta itself when nothing it holds changed', () => {
    const d = { a: 1, b: { c: 2 } };
    const m = withMeta(d);
    const old = deltaOf(d, m, { a: 0 }, undefined);
    expect(patchDelta(old, d, m, { a: 0, z: 1 }, undefined, { z: 1 }, undefined)).toBe(old);
    expect(patchDelta(old, d, m, { a: 0 }, undefined, undefined, undefined)).toBe(old);
  });

  it('removes a key that converged, keeps the others, and becomes undefined when the last one goes', () => {
    const d = { a: 1, b: { c: 2, e: 3 } };
    const m = withMeta(d);
    const old = deltaOf(d, m, undefined, undefined);
    const step1 = patchDelta(old, d, m, { b: { c: 2 } }, undefined, { b: { c: 2 } }, undefined);
    expect(step1).toStrictEqual({ state: { a: 1, b: { e: 3 } }, metadata: { a: { timestamp: 1 }, b: { e: { timestamp: 1 } } } });
    const step2 = patchDelta(step1, d, m, { a: 1, b: { c: 2, e: 3 } }, undefined, { a: 1, b: { e: 3 } }, undefined);
    expect(step2).toBeUndefined();
  });
});
