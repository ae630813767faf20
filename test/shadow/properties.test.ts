import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../../src/json.js';
import { mergeObject } from '../../src/shadow/merge.js';
import {
  applyShadowUpdate,
  computeDelta,
  type MetadataNode,
  type ShadowDocument,
  type StoredShadow,
} from '../../src/shadow/index.js';
import { shadowPatch, shadowStateObject, shadowUpdateRequest } from '../../src/testing/shadow-arbitraries.js';

const NOW = 1_700_000_000_000;

/** Applies a list of requests, one second apart; returns the final document. */
function build(requests: unknown[], start: StoredShadow | undefined = undefined): ShadowDocument | undefined {
  let doc: StoredShadow | undefined = start;
  requests.forEach((req, i) => {
    const r = applyShadowUpdate(doc, req, { now: NOW + i * 1000 });
    if (r.ok) doc = r.document;
  });
  return doc as ShadowDocument | undefined;
}

const docArb = fc.array(shadowUpdateRequest(), { maxLength: 6 }).map((reqs) => build(reqs));

function hasNull(v: JsonValue | undefined): boolean {
  if (v === null) return true;
  if (typeof v !== 'object' || v === undefined) return false;
  return (Array.isArray(v) ? v : Object.values(v)).some(hasNull);
}

/** True when `meta` mirrors `value` exactly: a leaf per scalar, an entry per array element, a key per key. */
function mirrors(value: JsonValue, meta: MetadataNode | undefined): boolean {
  if (meta === undefined) return false;
  if (Array.isArray(value)) return Array.isArray(meta) && meta.length === value.length && value.every((v, i) => mirrors(v, meta[i]));
  if (isJsonObject(value)) {
    if (Array.isArray(meta)) return false;
    const mk = Object.keys(meta);
    return mk.length === Object.keys(value).length && mk.every((k) => k in value && mirrors(value[k] as JsonValue, (meta as Record<string, MetadataNode>)[k]));
  }
  return !Array.isArray(meta) && Object.keys(meta).length === 1 && typeof (meta as { timestamp?: unknown }).timestamp === 'number';
}

/** Every leaf path of an object (arrays are leaves). */
function leaves(o: JsonObject, prefix: string[] = []): Array<[string[], JsonValue]> {
  return Object.entries(o).flatMap(([k, v]) => (isJsonObject(v) ? leaves(v, [...prefix, k]) : [[[...prefix, k], v] as [string[], JsonValue]]));
}
const at = (o: JsonValue | undefined, path: readonly string[]): JsonValue | undefined =>
  path.reduce<JsonValue | undefined>((cur, k) => (isJsonObject(cur) ? cur[k] : undefined), o);
const metaAt = (o: MetadataNode | undefined, path: readonly string[]): MetadataNode | undefined =>
  path.reduce<MetadataNode | undefined>((cur, k) => (cur !== undefined && !Array.isArray(cur) ? (cur as Record<string, MetadataNode>)[k] : undefined), o);

/** True when the request touched `path` of `section` (or an ancestor of it). */
function touched(req: { state: Record<string, JsonObject | null | undefined> }, section: string, path: string[]): boolean {
  let cur: JsonValue | undefined = req.state[section];
  if (cur === null) return true;
  for (const k of path) {
    if (!isJsonObject(cur)) return cur !== undefined;
    if (!(k in cur)) return false;
    cur = cur[k];
    if (!isJsonObject(cur)) return true;
  }
  return true;
}

describe('shadow laws', () => {
  it('merge is idempotent on state', () => {
    fc.assert(
      fc.property(docArb, shadowUpdateRequest(), (doc, req) => {
        const once = applyShadowUpdate(doc, req, { now: NOW + 100_000 });
        if (!once.ok) return;
        const twice = applyShadowUpdate(once.document, req, { now: NOW + 200_000 });
        expect(twice.ok).toBe(true);
        if (twice.ok) expect(twice.document.state).toEqual(once.document.state);
      }),
    );
  });

  it('version +1 per accepted update; unchanged (and document identical) on rejection', () => {
    const maybeBad = fc.oneof(shadowUpdateRequest(), fc.record({ state: fc.constant(5) }), fc.record({ state: shadowUpdateRequest().map((r) => r.state), version: fc.integer({ min: 0, max: 3 }) }));
    fc.assert(
      fc.property(docArb, maybeBad, (doc, req) => {
        const before = JSON.stringify(doc);
        const r = applyShadowUpdate(doc, req, { now: NOW + 100_000 });
        if (r.ok) expect(r.document.version).toBe((doc?.version ?? 0) + 1);
        else expect(JSON.stringify(doc)).toBe(before);
        expect(JSON.stringify(doc)).toBe(before); // accepted updates never mutate the input either
      }),
    );
  });

  it('stores no null and keeps metadata exactly the shape of state', () => {
    fc.assert(
      fc.property(docArb, (doc) => {
        if (doc === undefined) return;
        for (const key of ['desired', 'reported'] as const) {
          const section = doc.state[key];
          expect(hasNull(section)).toBe(false);
          expect(section === undefined).toBe(doc.metadata[key] === undefined);
          if (section !== undefined) {
            expect(mirrors(section, doc.metadata[key])).toBe(true);
            expect(Object.keys(section).length).toBeGreaterThan(0);
          }
        }
      }),
    );
  });

  it('untouched leaves keep their timestamps; touched leaves get the update time', () => {
    fc.assert(
      fc.property(docArb, shadowUpdateRequest(), (doc, req) => {
        const now = NOW + 500_000;
        const r = applyShadowUpdate(doc, req, { now });
        if (!r.ok || doc === undefined) return;
        for (const key of ['desired', 'reported'] as const) {
          const after = r.document.state[key];
          if (after === undefined) continue;
          for (const [path] of leaves(after)) {
            const m = metaAt(r.document.metadata[key], path);
            // an empty array has no elements and so no timestamps (metadata `[]`)
            if (touched(req, key, path)) {
              if (!(Array.isArray(m) && m.length === 0)) expect(JSON.stringify(m)).toContain(String(now / 1000));
            }
            else expect(m).toEqual(metaAt(doc.metadata[key], path));
          }
        }
      }),
    );
  });

  it('arrays are atomic: the stored array is exactly the written one', () => {
    fc.assert(
      fc.property(docArb, fc.array(fc.integer(), { maxLength: 4 }), fc.array(fc.integer(), { maxLength: 4 }), (doc, first, second) => {
        const a = applyShadowUpdate(doc, { state: { reported: { arr: first } } }, { now: NOW + 1e6 });
        if (!a.ok) return;
        const b = applyShadowUpdate(a.document, { state: { reported: { arr: second } } }, { now: NOW + 2e6 });
        expect(b.ok && b.document.state.reported?.['arr']).toEqual(second);
      }),
    );
  });
});

describe('delta laws', () => {
  const pair = fc.tuple(shadowStateObject(), shadowStateObject());

  it('delta paths are desired paths with desired values', () => {
    fc.assert(
      fc.property(pair, ([d, r]) => {
        const delta = computeDelta(d, r);
        if (delta === undefined) return;
        for (const [path, v] of leaves(delta)) expect(at(d, path)).toEqual(v);
      }),
    );
  });

  it('delta is empty exactly when every desired leaf equals reported', () => {
    fc.assert(
      fc.property(pair, fc.boolean(), ([d, r0], copy) => {
        const r = copy ? { ...r0, ...d } : r0;
        const agree = leaves(d).every(([path, v]) => {
          const rv = at(r, path);
          return rv !== undefined && jsonEqual(v, rv);
        });
        expect(computeDelta(d, r) === undefined).toBe(agree);
      }),
    );
  });

  it('converges: merging the delta into reported leaves no delta', () => {
    fc.assert(
      fc.property(pair, ([d, r]) => {
        const delta = computeDelta(d, r);
        const merged = delta === undefined ? r : (mergeObject(r, undefined, delta, { timestamp: 0 })?.value ?? {});
        expect(computeDelta(d, merged)).toBeUndefined();
      }),
    );
  });

  it('the published delta equals computeDelta of the stored document', () => {
    fc.assert(
      fc.property(docArb, shadowUpdateRequest(), (doc, req) => {
        const r = applyShadowUpdate(doc, req, { now: NOW + 1e6 });
        if (!r.ok) return;
        expect(r.delta?.state).toEqual(computeDelta(r.document.state.desired, r.document.state.reported));
        if (r.delta) {
          expect(r.delta.version).toBe(r.document.version);
          expect(r.accepted.version).toBe(r.document.version);
          expect(r.documents.current.version).toBe(r.document.version);
        }
      }),
    );
  });
});

describe('patches', () => {
  it('a patch with only nulls never creates keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('x', 'y'), fc.constant(null)), (patch) => {
        const r = applyShadowUpdate(undefined, { state: { desired: { fresh: patch } } }, { now: NOW });
        expect(r.ok && r.document.state.desired).toBeFalsy();
      }),
    );
  });

  it('shadowPatch arbitrary drives accepted updates', () => {
    fc.assert(
      fc.property(shadowPatch(), (p) => {
        expect(applyShadowUpdate(undefined, { state: { reported: p } }, { now: NOW }).ok).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
