/**
 * The shadow merge: partial updates with per-leaf metadata and structural sharing.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { MetadataLeaf, MetadataNode, MetadataObject } from './types.js';
import { countKeys, isWide, isWideSize, ownValue, wideSize, writeWide } from './wide.js';

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** A merged object and its metadata. */
export interface Merged {
  /** The merged value (a new object; untouched children are shared with the input). */
  readonly value: JsonObject;
  /** Metadata mirroring `value`. */
  readonly meta: MetadataObject;
}

/**
 * Metadata for a freshly written value: `leaf` for every scalar, one entry per array element.
 * `null` (a deletion in an update request) gets `leaf` too, as AWS's `/update/accepted` shows.
 */
export function metadataFor(value: JsonValue, leaf: MetadataLeaf): MetadataNode {
  if (value === null || typeof value !== 'object') return leaf;
  if (Array.isArray(value)) return value.map((v) => metadataFor(v, leaf));
  const out: MetadataObject = {};
  for (const key in value) out[key] = metadataFor(value[key] as JsonValue, leaf);
  return out;
}

/** A deep copy of a stored value: only arrays and objects are copied, scalars are immutable. */
function copy(value: JsonValue): JsonValue {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(copy);
  const out: JsonObject = {};
  for (const key in value) out[key] = copy(value[key] as JsonValue);
  return out;
}

/**
 * Merges an update `patch` into `current` (SHADOW.md, "Merge"): objects merge recursively,
 * scalars and arrays replace whole, `null` deletes, a new key whose value holds only nulls (or
 * nothing) is not created, and an object left empty by deletions is removed. Every written leaf
 * gets `leaf` as its metadata; untouched leaves keep theirs. Inputs are never mutated.
 *
 * An object of `WIDE_KEYS` (64) keys or more, and any object above one, is not copied but written
 * as a persistent map (see `wide.ts`): the cost is O(what the patch writes + depth) however wide
 * the objects written into are. Smaller objects are copied (V8 clones them cheaply).
 *
 * @returns the merged object and its metadata, or `undefined` when nothing is left
 */
export function mergeObject(current: JsonObject | undefined, currentMeta: MetadataObject | undefined, patch: JsonObject, leaf: MetadataLeaf): Merged | undefined {
  const writes: Write[] = [];
  let deletes = false;
  let wideChild = false;
  for (const key in patch) {
    const next = patch[key] as JsonValue;
    const before = current === undefined ? undefined : ownValue(current, key);
    let value: JsonValue | undefined;
    let meta: MetadataNode | undefined;
    if (isJsonObject(next)) {
      // An object merges into an existing object; over anything else it replaces it (type change).
      const sameKind = isJsonObject(before);
      const sub = mergeObject(sameKind ? before : undefined, sameKind && currentMeta !== undefined ? (ownValue(currentMeta, key) as MetadataObject | undefined) : undefined, next, leaf);
      value = sub?.value;
      meta = sub?.meta;
      if (isWide(value)) wideChild = true;
    } else if (next !== null) {
      value = copy(next);
      meta = metadataFor(next, leaf);
    }
    if (value === undefined) {
      if (before === undefined) continue; // nothing to delete, nothing created
      deletes = true;
    }
    writes.push([key, value, meta]);
  }
  if (current === undefined) return writes.length === 0 ? undefined : assign({}, {}, writes);
  if (writes.length === 0) return isEmptyObject(current) ? undefined : { value: current, meta: currentMeta ?? {} }; // an empty patch changes nothing
  const size = wideSize(current) ?? countKeys(current);
  if (wideChild || isWide(current) || isWideSize(size)) {
    const value = writeWide(current, size, writes.map(([key, v]) => [key, v] as const));
    if (value === undefined) return undefined;
    const m = currentMeta ?? {};
    return { value, meta: writeWide(m, wideSize(m) ?? countKeys(m), writes.map(([key, , mv]) => [key, mv] as const)) ?? {} };
  }
  // A plain object: copied with a spread (V8 clones small objects cheaply) when no key goes, else
  // rebuilt (`delete` would leave a slow dictionary-mode object).
  return deletes ? rebuild(current, currentMeta, writes) : assign({ ...current }, { ...currentMeta }, writes);
}

/** A key the patch writes: its new value and metadata, or `undefined` for both when it goes. */
type Write = readonly [key: string, value: JsonValue | undefined, meta: MetadataNode | undefined];

function assign(value: JsonObject, meta: MetadataObject, writes: readonly Write[]): Merged {
  for (const [key, v, m] of writes) {
    value[key] = v as JsonValue;
    meta[key] = m as MetadataNode;
  }
  return { value, meta };
}

function rebuild(current: JsonObject, currentMeta: MetadataObject | undefined, writes: readonly Write[]): Merged | undefined {
  const written = new Map<string, Write>();
  for (const w of writes) written.set(w[0], w);
  const value: JsonObject = {};
  const meta: MetadataObject = {};
  let kept = 0;
  for (const key in current) {
    const w = written.get(key);
    if (w !== undefined) {
      written.delete(key);
      if (w[1] === undefined) continue; // deleted: neither value nor metadata is carried over
      value[key] = w[1];
      meta[key] = w[2] as MetadataNode;
    } else {
      value[key] = current[key] as JsonValue;
      const m = currentMeta !== undefined && hasOwn(currentMeta, key) ? currentMeta[key] : undefined;
      if (m !== undefined) meta[key] = m;
    }
    kept++;
  }
  for (const [key, v, m] of written.values()) {
    if (v === undefined) continue;
    value[key] = v;
    meta[key] = m as MetadataNode;
    kept++;
  }
  return kept === 0 ? undefined : { value, meta };
}

function isEmptyObject(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}
