/**
 * The shadow merge: partial updates with per-leaf metadata and structural sharing.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { MetadataLeaf, MetadataNode, MetadataObject } from './types.js';
import { countKeys, isWide, isWideSize, ownValue, wideSize, writeWide, type WideWrite } from './wide.js';

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
 * @returns the merged object and its metadata, or `undefined` when nothing is left
 */
export function mergeObject(current: JsonObject | undefined, currentMeta: MetadataObject | undefined, patch: JsonObject, leaf: MetadataLeaf): Merged | undefined {
  if (current !== undefined && currentMeta !== undefined) {
    const fast = mergeBySpread(current, currentMeta, patch, leaf);
    if (fast !== REBUILD) return fast;
  }
  return mergeByRebuild(current, currentMeta, patch, leaf);
}

/**
 * {@link mergeObject} for the top-level object of a section (`desired`, `reported`): one of
 * `WIDE_KEYS` (64) keys or more is not copied but written as a persistent map (see `wide.ts`),
 * at a cost of O(what the patch writes) however wide the section is.
 */
export function mergeSection(current: JsonObject | undefined, currentMeta: MetadataObject | undefined, patch: JsonObject, leaf: MetadataLeaf): Merged | undefined {
  if (current !== undefined) {
    const size = wideSize(current) ?? countKeys(current);
    if (isWideSize(size) || isWide(current)) return mergeWide(current, size, currentMeta ?? {}, patch, leaf);
  }
  return mergeObject(current, currentMeta, patch, leaf);
}

function mergeWide(current: JsonObject, size: number, currentMeta: MetadataObject, patch: JsonObject, leaf: MetadataLeaf): Merged | undefined {
  const writes: Array<WideWrite<JsonValue>> = [];
  const metaWrites: Array<WideWrite<MetadataNode>> = [];
  for (const key in patch) {
    const next = patch[key] as JsonValue;
    const before = ownValue(current, key);
    let value: JsonValue | undefined;
    let meta: MetadataNode | undefined;
    if (isJsonObject(next)) {
      // An object merges into an existing object; over anything else it replaces it (type change).
      const sameKind = isJsonObject(before);
      const sub = mergeObject(sameKind ? before : undefined, sameKind ? (ownValue(currentMeta, key) as MetadataObject | undefined) : undefined, next, leaf);
      value = sub?.value;
      meta = sub?.meta;
    } else if (next !== null) {
      value = copy(next);
      meta = metadataFor(next, leaf);
    }
    if (value === undefined && before === undefined) continue; // nothing to delete, nothing created
    writes.push([key, value]);
    metaWrites.push([key, meta]);
  }
  if (writes.length === 0) return { value: current, meta: currentMeta }; // an empty patch changes nothing
  const value = writeWide(current, size, writes);
  if (value === undefined) return undefined;
  return { value, meta: writeWide(currentMeta, wideSize(currentMeta) ?? countKeys(currentMeta), metaWrites) ?? {} };
}

const REBUILD: unique symbol = Symbol('rebuild');

// The common case — no key is deleted — copies with a spread (V8 clones such objects cheaply)
// and assigns the patch over it. A deletion falls back to rebuilding: `delete` would turn the
// object into a slow dictionary-mode object for the rest of its life. Nothing here enumerates
// `current` (on a wide object that costs more than the whole update): emptiness is known from
// what was written.
function mergeBySpread(current: JsonObject, currentMeta: MetadataObject, patch: JsonObject, leaf: MetadataLeaf): Merged | undefined | typeof REBUILD {
  let value: JsonObject | undefined;
  let meta: MetadataObject | undefined;
  for (const key in patch) {
    const next = patch[key] as JsonValue;
    if (next === null) return REBUILD;
    value ??= { ...current };
    meta ??= { ...currentMeta };
    if (isJsonObject(next)) {
      const before = hasOwn(current, key) ? current[key] : undefined;
      const sameKind = isJsonObject(before);
      const beforeMeta = sameKind && hasOwn(currentMeta, key) ? (currentMeta[key] as MetadataObject) : undefined;
      const sub = mergeObject(sameKind ? before : undefined, beforeMeta, next, leaf);
      if (sub === undefined) return REBUILD; // left empty: the key goes, which only a rebuild does cleanly
      value[key] = sub.value;
      meta[key] = sub.meta;
    } else {
      value[key] = copy(next);
      meta[key] = metadataFor(next, leaf);
    }
  }
  if (value === undefined || meta === undefined) return isEmptyObject(current) ? undefined : { value: current, meta: currentMeta }; // an empty patch changes nothing
  return { value, meta };
}

function mergeByRebuild(current: JsonObject | undefined, currentMeta: MetadataObject | undefined, patch: JsonObject, leaf: MetadataLeaf): Merged | undefined {
  const value: JsonObject = {};
  const meta: MetadataObject = {};
  let kept = 0;
  if (current !== undefined) {
    for (const key in current) {
      if (hasOwn(patch, key)) {
        if (writeKey(value, meta, key, current[key], currentMeta !== undefined && hasOwn(currentMeta, key) ? currentMeta[key] : undefined, patch[key] as JsonValue, leaf)) kept++;
      } else {
        value[key] = current[key] as JsonValue;
        const m = currentMeta !== undefined && hasOwn(currentMeta, key) ? currentMeta[key] : undefined;
        if (m !== undefined) meta[key] = m;
        kept++;
      }
    }
  }
  for (const key in patch) {
    if ((current === undefined || !hasOwn(current, key)) && writeKey(value, meta, key, undefined, undefined, patch[key] as JsonValue, leaf)) kept++;
  }
  return kept === 0 ? undefined : { value, meta };
}

/** Writes `next` over `before` at `key`; false when the key is not kept (deleted, or left empty). */
function writeKey(
  value: JsonObject,
  meta: MetadataObject,
  key: string,
  before: JsonValue | undefined,
  beforeMeta: MetadataNode | undefined,
  next: JsonValue,
  leaf: MetadataLeaf,
): boolean {
  if (next === null) return false; // deleted: neither value nor metadata is carried over
  if (isJsonObject(next)) {
    // An object merges into an existing object; over anything else it replaces it (type change).
    const sameKind = isJsonObject(before);
    const sub = mergeObject(sameKind ? before : undefined, sameKind ? (beforeMeta as MetadataObject | undefined) : undefined, next, leaf);
    if (sub === undefined) return false; // empty after merge: the key is not kept
    value[key] = sub.value;
    meta[key] = sub.meta;
    return true;
  }
  value[key] = copy(next);
  meta[key] = metadataFor(next, leaf);
  return true;
}

function isEmptyObject(o: JsonObject): boolean {
  for (const _ in o) return false;
  return true;
}
