// Wide sections (64 keys or more) are written as persistent maps instead of being copied, and the
// document shows them as plain objects built on first read. These tests pin that path to the
// plain-object merge the engine uses for every other object (the reference: the same engine with
// wide sections switched off), byte for byte: documents, metadata, every payload, the accept/reject
// decision near the size limit, key order, and every earlier version after later updates.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type JsonObject, type JsonValue } from '../../src/json.js';
import { ackProperty, applyShadowUpdate, getShadow, type ConflictPolicy, type ShadowDocument, type ShadowUpdateOptions, type StoredShadow } from '../../src/shadow/index.js';
import { isWide, plainOf, tuneWide, WIDE_KEYS, writeWide } from '../../src/shadow/wide.js';
import { runs } from './runs.js';

const T = 1_700_000_000_000;
const DEFAULT = { keys: WIDE_KEYS, fold: WIDE_KEYS };
afterEach(() => {
  tuneWide(DEFAULT);
});

const scalar: fc.Arbitrary<JsonValue> = fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('"\\', '😀', '\ud800'), fc.integer({ min: -3, max: 12 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
const leaf: fc.Arbitrary<JsonValue> = fc.oneof({ weight: 6, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.constant(ackProperty(1, { version: 1 }) as JsonValue) });
// index-like keys ('0', '7', '10') are ordered first by every plain object: the order must survive too
const keys = fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'value', 'ac', '0', '7', '10');
const patch = (depth: number): fc.Arbitrary<JsonObject> =>
  fc.dictionary(
    keys,
    depth <= 1
      ? fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 2, arbitrary: fc.constant(null) })
      : fc.oneof({ weight: 5, arbitrary: leaf }, { weight: 2, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: patch(depth - 1) }),
    { maxKeys: 6 },
  );
const section = fc.oneof({ weight: 10, arbitrary: patch(3) }, { weight: 1, arbitrary: fc.constant(null) });
type Step =
  | { readonly kind: 'update'; readonly from: number; readonly request: unknown }
  | { readonly kind: 'reload' | 'freeze' | 'read' };
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 14,
    arbitrary: fc.record({
      kind: fc.constant('update' as const),
      // mostly the newest version; sometimes an earlier one (a stale read, a retry)
      from: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(4) }),
      request: fc.oneof(
        { weight: 12, arbitrary: fc.record({ state: fc.record({ desired: section, reported: section }, { requiredKeys: [] }), timestamp: fc.integer({ min: 0, max: 2 * (T / 1000) }) }, { requiredKeys: ['state'] }) },
        { weight: 1, arbitrary: fc.constant({ state: null }) },
        { weight: 1, arbitrary: fc.record({ state: fc.record({ reported: patch(2) }), version: fc.nat(3) }) },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constantFrom({ kind: 'reload' as const }, { kind: 'freeze' as const }, { kind: 'read' as const }) },
);
const policies: Array<ConflictPolicy | undefined> = [undefined, 'device-wins', 'newest-wins', 'clear-when-met', (c) => (assertPlain(c) as typeof c).equal ? 'clear' : 'take-reported'];

/** Throws when the engine's internal view of a wide object shows anywhere in `v`. */
function assertPlain(v: unknown, seen = new Set<unknown>()): unknown {
  if (typeof v !== 'object' || v === null || seen.has(v)) return v;
  seen.add(v);
  if (isWide(v)) throw new Error('an internal wide object leaked');
  for (const k of Object.keys(v)) assertPlain((v as Record<string, unknown>)[k], seen);
  return v;
}
const setup = fc.record({
  policy: fc.nat(policies.length - 1),
  acknowledgements: fc.boolean(),
  skipIfEqual: fc.boolean(),
  maxDocumentBytes: fc.oneof(fc.integer({ min: 40, max: 400 }), fc.constant(8192)),
  keys: fc.integer({ min: 1, max: 4 }),
  fold: fc.integer({ min: 1, max: 6 }),
});

function deepFreeze(v: unknown): void {
  if (typeof v !== 'object' || v === null) return;
  for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
  Object.freeze(v);
}

/**
 * Runs the steps and records everything observable, as JSON text (key order included). Documents
 * and payloads are read only at `read`/`freeze` steps and at the end: reading builds a version's
 * plain objects, which the next update would start from, and the paths that build nothing must be
 * exercised too.
 */
function trace(steps: readonly Step[], options: Omit<ShadowUpdateOptions, 'now'>, acknowledgements: boolean): string[] {
  const out: Array<string | (() => string)> = [];
  const versions: ShadowDocument[] = [];
  let doc: StoredShadow | undefined;
  steps.forEach((s, i) => {
    if (s.kind !== 'update') {
      if (s.kind === 'reload') doc = doc === undefined ? undefined : (JSON.parse(JSON.stringify(doc)) as StoredShadow);
      else {
        if (s.kind === 'freeze') deepFreeze(doc);
        out.push(`read ${JSON.stringify(doc)}`);
      }
      return;
    }
    const base = s.from === 0 || versions.length === 0 ? doc : versions[Math.max(0, versions.length - 1 - s.from)];
    const r = applyShadowUpdate(base, s.request, { ...options, now: T + i * 1000 });
    if (!r.ok) {
      out.push(`rejected ${r.error.code} ${JSON.stringify(r.error.details)} ${JSON.stringify(r.rejected)}`);
      return;
    }
    out.push(`accepted ${String(r.changed)} ${String(r.document.version)}`);
    // read at the end: every payload and version reads as it did when it was produced, whatever came after it
    out.push(() => {
      const get = getShadow(r.document, { now: T, acknowledgements });
      assertPlain([r.document, r.accepted, r.delta, r.documents, get]);
      return `payloads ${JSON.stringify([r.document, r.accepted, r.delta, r.documents, get])}`;
    });
    doc = r.document;
    versions.push(r.document);
  });
  return out.map((line) => (typeof line === 'string' ? line : line()));
}

describe('wide sections', () => {
  it('property: with wide sections (any width, any fold) every outcome equals that of the plain-object merge', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 14 }), setup, (steps, o) => {
        const policy = policies[o.policy];
        const options: Omit<ShadowUpdateOptions, 'now'> = {
          acknowledgements: o.acknowledgements,
          skipIfEqual: o.skipIfEqual,
          limits: { maxDocumentBytes: o.maxDocumentBytes },
          ...(policy === undefined ? {} : { policy }),
        };
        tuneWide({ keys: Number.POSITIVE_INFINITY, fold: DEFAULT.fold });
        const expected = trace(steps, options, o.acknowledgements);
        tuneWide({ keys: o.keys, fold: o.fold });
        const actual = trace(steps, options, o.acknowledgements);
        expect(actual).toEqual(expected);
      }),
      { numRuns: runs(500) },
    );
  });

  it('the property exercises wide sections, folds, earlier versions and size rejections (fixed seeded corpus)', () => {
    const seen = { wide: 0, earlier: 0, tooLarge: 0, fold: 0 };
    const samples = fc.sample(fc.tuple(fc.array(step, { minLength: 1, maxLength: 14 }), setup), { numRuns: 300, seed: 42 });
    for (const [steps, o] of samples) {
      tuneWide({ keys: o.keys, fold: o.fold });
      let doc: StoredShadow | undefined;
      const versions: StoredShadow[] = [];
      let writes = 0;
      steps.forEach((s, i) => {
        if (s.kind !== 'update') return;
        const base = s.from === 0 || versions.length === 0 ? doc : versions[Math.max(0, versions.length - 1 - s.from)];
        if (base !== doc) seen.earlier++;
        const r = applyShadowUpdate(base, s.request, { now: T + i * 1000, limits: { maxDocumentBytes: o.maxDocumentBytes } });
        if (!r.ok) {
          if (r.error.code === 'PAYLOAD_TOO_LARGE') seen.tooLarge++;
          return;
        }
        writes++;
        if (writes > 2 * Math.max(o.fold, 2)) seen.fold++;
        doc = r.document;
        versions.push(doc);
        const view = applyShadowUpdate(doc, { state: {} }, { now: T });
        if (view.ok && isWideDocument(view.document)) seen.wide++;
      });
    }
    tuneWide(DEFAULT);
    expect(seen.wide).toBeGreaterThan(100);
    expect(seen.earlier).toBeGreaterThan(20);
    expect(seen.tooLarge).toBeGreaterThan(20);
    expect(seen.fold).toBeGreaterThan(20);
  });

  it('a flat 350-leaf shadow at the default width: 500 updates, then every version, equal to the plain-object merge', () => {
    const leaves = 350;
    const desired: JsonObject = {};
    const reported: JsonObject = {};
    for (let i = 0; i < 40; i++) desired[`cfg_${i}`] = i;
    for (let i = 0; i < leaves - 40; i++) reported[`tel_${i}`] = i;
    const steps: Step[] = [{ kind: 'update', from: 0, request: { state: { desired, reported } } }];
    for (let k = 0; k < runs(500); k++) {
      const r: JsonObject = {};
      for (let j = 0; j < 3; j++) r[`tel_${(k * 7 + j * 13) % 330}`] = k % 5 === 0 && j === 0 ? null : k + j / 10;
      if (k % 50 === 0) r[`cfg_${k % 40}`] = k; // a reported config leaf: the delta changes
      const request = k % 97 === 0 ? { state: { desired: { [`cfg_${k % 40}`]: k, extra: { a: k } } } } : { state: { reported: r } };
      steps.push({ kind: 'update', from: k % 61 === 0 ? 2 : 0, request });
      if (k % 111 === 0) steps.push({ kind: 'read' });
    }
    tuneWide({ keys: Number.POSITIVE_INFINITY, fold: DEFAULT.fold });
    const expected = trace(steps, {}, false);
    tuneWide(DEFAULT);
    const actual = trace(steps, {}, false);
    expect(actual.length).toBe(expected.length);
    actual.forEach((line, i) => expect(line).toBe(expected[i]));
  });

  it('a wide section reads as a plain, JSON-only object: same object on every read, structuredClone-able, no symbol or proxy showing', () => {
    const reported: JsonObject = {};
    for (let i = 0; i < 100; i++) reported[`k${i}`] = i;
    const first = applyShadowUpdate(undefined, { state: { reported } }, { now: T });
    if (!first.ok) throw first.error;
    const r = applyShadowUpdate(first.document, { state: { reported: { k1: 'one', k200: true, k2: null } } }, { now: T + 1000 });
    if (!r.ok) throw r.error;
    const doc = r.document;
    expect(isWideDocument(doc)).toBe(true);
    const section = doc.state.reported as JsonObject;
    expect(doc.state.reported).toBe(section);
    expect(Object.getPrototypeOf(section)).toBe(Object.prototype);
    expect(isWide(section)).toBe(false);
    expect(Object.keys(section)).toHaveLength(100);
    expect(section['k1']).toBe('one');
    expect(section['k200']).toBe(true);
    expect('k2' in section).toBe(false);
    expect(Object.keys(section).slice(-1)).toEqual(['k200']);
    expect(Object.keys(doc.state)).toEqual(['reported']);
    expect(Object.getOwnPropertySymbols(doc.state).every((s) => Object.getOwnPropertyDescriptor(doc.state, s)?.enumerable === false)).toBe(true);
    expect(structuredClone(doc)).toEqual(JSON.parse(JSON.stringify(doc)));
    expect((doc.metadata.reported as Record<string, { timestamp: number }>)['k1']).toEqual({ timestamp: (T + 1000) / 1000 });
    // the earlier version is untouched
    expect((first.document.state.reported as JsonObject)['k1']).toBe(1);
    expect(Object.keys(first.document.state.reported as JsonObject)).toHaveLength(100);
  });

  it('a wide section left empty by deletions goes, as a plain one does', () => {
    const reported: JsonObject = {};
    const clear: JsonObject = {};
    for (let i = 0; i < 70; i++) {
      reported[`k${i}`] = i;
      clear[`k${i}`] = null;
    }
    let doc: StoredShadow | undefined;
    for (const state of [{ reported, desired: { on: true } }, { reported: { k0: 5 } }, { reported: clear }]) {
      const r = applyShadowUpdate(doc, { state }, { now: T });
      if (!r.ok) throw r.error;
      doc = r.document;
    }
    expect(doc).toEqual({ state: { desired: { on: true } }, metadata: { desired: { on: { timestamp: T / 1000 } } }, version: 3 });
    expect(Object.keys((doc as ShadowDocument).state)).toEqual(['desired']);
  });

  it('an object is kept wide from exactly WIDE_KEYS keys: 63 keys stay a plain data property, 64 become a getter', () => {
    for (const [n, wide] of [[WIDE_KEYS - 1, false], [WIDE_KEYS, true]] as const) {
      const reported: JsonObject = {};
      for (let i = 0; i < n; i++) reported[`k${i}`] = i;
      const first = applyShadowUpdate(undefined, { state: { reported, desired: { on: true } } }, { now: T });
      if (!first.ok) throw first.error;
      const r = applyShadowUpdate(first.document, { state: { reported: { k0: 'x' } } }, { now: T + 1000 });
      if (!r.ok) throw r.error;
      expect(isWideDocument(r.document)).toBe(wide);
      // the plain section beside it stays a data property, in state and metadata alike
      expect(Object.getOwnPropertyDescriptor(r.document.state, 'desired')).toEqual({ value: { on: true }, writable: true, enumerable: true, configurable: true });
      expect(typeof Object.getOwnPropertyDescriptor(r.document.metadata, 'reported')?.get).toBe(wide ? 'function' : 'undefined');
      expect('value' in (Object.getOwnPropertyDescriptor(r.document.metadata, 'desired') ?? {})).toBe(true);
    }
  });

  it('the section getters answer undefined for a receiver the engine did not build', () => {
    const reported: JsonObject = {};
    for (let i = 0; i < WIDE_KEYS; i++) reported[`k${i}`] = i;
    const first = applyShadowUpdate(undefined, { state: { reported } }, { now: T });
    if (!first.ok) throw first.error;
    const r = applyShadowUpdate(first.document, { state: { reported: { k0: 1 } } }, { now: T });
    if (!r.ok) throw r.error;
    for (const target of [r.document.state, r.document.metadata]) {
      const get = Object.getOwnPropertyDescriptor(target, 'reported')?.get as (this: unknown) => unknown;
      expect(get.call(undefined)).toBeUndefined();
      expect(get.call(null)).toBeUndefined();
      expect(get.call({})).toBeUndefined();
      expect(get.call(target)).toBe((target as { reported?: unknown }).reported);
    }
  });

  it('a wide state paired with other metadata is read as the pair shows it, not as the engine built it', () => {
    const reported: JsonObject = {};
    for (let i = 0; i < WIDE_KEYS; i++) reported[`k${i}`] = i;
    const v1 = applyShadowUpdate(undefined, { state: { reported } }, { now: T });
    if (!v1.ok) throw v1.error;
    const v2 = applyShadowUpdate(v1.document, { state: { reported: { k0: 'a' } } }, { now: T + 5000 });
    if (!v2.ok) throw v2.error;
    const oldMeta = JSON.parse(JSON.stringify(v1.document.metadata)) as ShadowDocument['metadata'];
    const v3 = applyShadowUpdate({ state: v2.document.state, metadata: oldMeta, version: 2 }, { state: { reported: { k1: 'b' } } }, { now: T + 9000 });
    if (!v3.ok) throw v3.error;
    const meta = v3.document.metadata.reported as Record<string, { timestamp: number }>;
    expect(meta['k0']).toEqual({ timestamp: T / 1000 }); // from the metadata passed, not v2's
    expect(meta['k1']).toEqual({ timestamp: (T + 9000) / 1000 });
    expect((v3.document.state.reported as JsonObject)['k0']).toBe('a');
  });

  it('the internal view of a wide object reads like the plain object and refuses every write', () => {
    const base: Record<string, number> = { a: 1, b: 2 };
    const view = writeWide(base, 2, [['c', 3], ['a', undefined]]) as Record<string, number>;
    expect(isWide(view)).toBe(true);
    expect(isWide(base)).toBe(false);
    expect('c' in view).toBe(true);
    expect('a' in view).toBe(false);
    expect('toString' in view).toBe(true); // inherited, as on a plain object
    expect(Symbol.iterator in view).toBe(false);
    expect(view['c']).toBe(3);
    expect(view['a']).toBeUndefined();
    expect(view['toString']).toBe(Object.prototype.toString);
    expect((view as Record<symbol, unknown>)[Symbol.toStringTag]).toBeUndefined();
    expect(Object.getPrototypeOf(view)).toBe(Object.prototype);
    expect(Object.keys(view)).toEqual(['b', 'c']);
    expect(Object.getOwnPropertyDescriptor(view, 'c')).toEqual({ value: 3, writable: true, enumerable: true, configurable: true });
    expect(Object.getOwnPropertyDescriptor(view, 'a')).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(view, Symbol.iterator)).toBeUndefined();
    expect(Reflect.set(view, 'c', 4)).toBe(false);
    expect(Reflect.defineProperty(view, 'd', { value: 1 })).toBe(false);
    expect(Reflect.deleteProperty(view, 'c')).toBe(false);
    expect(Reflect.setPrototypeOf(view, null)).toBe(false);
    expect(Reflect.preventExtensions(view)).toBe(false);
    expect(plainOf(view)).toEqual({ b: 2, c: 3 });
    expect(base).toEqual({ a: 1, b: 2 });
    expect(writeWide(view, 2, [['b', undefined], ['c', undefined]])).toBeUndefined();
  });

  it('a document without a wide object carries nothing of the engine: its state and metadata are the plain objects, no symbol', () => {
    const r = applyShadowUpdate(undefined, { state: { desired: { on: true }, reported: { on: false } } }, { now: T });
    if (!r.ok) throw r.error;
    const next = applyShadowUpdate(r.document, { state: { reported: { on: true } } }, { now: T });
    if (!next.ok) throw next.error;
    for (const o of [next.document.state, next.document.metadata]) {
      expect(Object.getOwnPropertySymbols(o)).toEqual([]);
      expect(Object.values(Object.getOwnPropertyDescriptors(o)).every((d) => 'value' in d)).toBe(true);
    }
  });

  it('a wide section alone: the other section is absent from state and metadata, not an undefined key', () => {
    const reported: JsonObject = {};
    for (let i = 0; i < WIDE_KEYS; i++) reported[`k${i}`] = i;
    const v1 = applyShadowUpdate(undefined, { state: { reported } }, { now: T });
    if (!v1.ok) throw v1.error;
    const v2 = applyShadowUpdate(v1.document, { state: { reported: { k0: 'a' } } }, { now: T });
    if (!v2.ok) throw v2.error;
    expect(Reflect.ownKeys(v2.document.state).filter((k) => typeof k === 'string')).toEqual(['reported']);
    expect(Reflect.ownKeys(v2.document.metadata).filter((k) => typeof k === 'string')).toEqual(['reported']);
  });

  it('two updates from the same wide version (a stale read) do not see each other', () => {
    const reported: JsonObject = {};
    for (let i = 0; i < WIDE_KEYS; i++) reported[`k${i}`] = i;
    const v1 = applyShadowUpdate(undefined, { state: { reported } }, { now: T });
    if (!v1.ok) throw v1.error;
    const v2 = applyShadowUpdate(v1.document, { state: { reported: { k0: 'a' } } }, { now: T });
    if (!v2.ok) throw v2.error;
    const v3 = applyShadowUpdate(v2.document, { state: { reported: { k1: 'b' } } }, { now: T });
    if (!v3.ok) throw v3.error;
    // from v2 again (not the newest), twice, then from the newest of that branch; nothing read in between
    const b1 = applyShadowUpdate(v2.document, { state: { reported: { k2: 'c' } } }, { now: T });
    if (!b1.ok) throw b1.error;
    const b2 = applyShadowUpdate(v2.document, { state: { reported: { k3: 'd' } } }, { now: T });
    if (!b2.ok) throw b2.error;
    const b3 = applyShadowUpdate(b1.document, { state: { reported: { k4: 'e' } } }, { now: T });
    if (!b3.ok) throw b3.error;
    const pick = (d: ShadowDocument): JsonValue[] => ['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => (d.state.reported as JsonObject)[k] as JsonValue);
    expect(pick(b3.document)).toEqual(['a', 1, 'c', 3, 'e']);
    expect(pick(b2.document)).toEqual(['a', 1, 2, 'd', 4]);
    expect(pick(b1.document)).toEqual(['a', 1, 'c', 3, 4]);
    expect(pick(v3.document)).toEqual(['a', 'b', 2, 3, 4]);
    expect(pick(v2.document)).toEqual(['a', 1, 2, 3, 4]);
    expect(pick(v1.document)).toEqual([0, 1, 2, 3, 4]);
  });
});

/** True when the document's reported or desired section is a getter (a wide section). */
function isWideDocument(doc: ShadowDocument): boolean {
  return (['desired', 'reported'] as const).some((k) => typeof Object.getOwnPropertyDescriptor(doc.state, k)?.get === 'function');
}
