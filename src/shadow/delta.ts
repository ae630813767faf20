/**
 * The delta between desired and reported state (SHADOW.md, "Delta").
 */
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';
import { argumentError, describeValue } from './arguments.js';
import type { MetadataNode, MetadataObject } from './types.js';
import { ownValue, plainOf, plainValue } from './wide.js';

/**
 * The desired leaves that are missing from `reported` or differ from it, keeping their paths.
 * Keys only in `reported` never appear; arrays and type mismatches compare as whole values;
 * numbers compare by value.
 *
 * @returns the delta, or `undefined` when desired and reported agree
 * @throws FleetError `INVALID_ARGUMENT` (status 400) when a section is neither an object nor `undefined`.
 *
 * @example
 * ```ts
 * computeDelta({ lights: { color: 'red', on: true } }, { lights: { color: 'blue', on: true } });
 * // → { lights: { color: 'red' } }
 * ```
 */
export function computeDelta(desired: JsonObject | undefined, reported: JsonObject | undefined): JsonObject | undefined {
  checkSection('computeDelta', 'desired', desired);
  checkSection('computeDelta', 'reported', reported);
  if (desired === undefined) return undefined;
  return deltaOf(desired, undefined, reported, undefined)?.state;
}

/** A delta and its metadata (the desired metadata of the delta's leaves). */
export interface DeltaWithMetadata {
  /** The delta. */
  readonly state: JsonObject;
  /** The desired metadata of its leaves. */
  readonly metadata: MetadataObject;
}

/**
 * {@link computeDelta} together with the delta's metadata taken from `desiredMeta`.
 *
 * @throws FleetError `INVALID_ARGUMENT` (status 400) when an argument is neither an object nor `undefined`.
 */
export function computeDeltaWithMetadata(
  desired: JsonObject | undefined,
  desiredMeta: MetadataObject | undefined,
  reported: JsonObject | undefined,
): DeltaWithMetadata | undefined {
  checkSection('computeDeltaWithMetadata', 'desired', desired);
  checkSection('computeDeltaWithMetadata', 'desiredMeta', desiredMeta);
  checkSection('computeDeltaWithMetadata', 'reported', reported);
  if (desired === undefined) return undefined;
  return deltaOf(desired, desiredMeta ?? {}, reported, undefined);
}

function checkSection(fn: string, name: string, value: unknown): void {
  if (value !== undefined && !isJsonObject(value)) throw argumentError(fn, `${name} must be an object or undefined, got ${describeValue(value)}`, 400);
}

/**
 * Maps a reported value to the value it stands for before comparison; used for per-property
 * acknowledgements, where the device reports `{ value, ac, av }` envelopes.
 */
export type ReportedUnwrapper = (reported: JsonValue) => JsonValue;

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * @internal The full delta walk: O(desired). With `share` (for documents the engine produced,
 * whose objects are never empty and whose metadata mirrors them exactly) a desired subtree that
 * is wholly in the delta is the delta's part as it is, not a copy.
 */
export function deltaOf(
  desired: JsonObject,
  desiredMeta: MetadataObject | undefined,
  reported: JsonObject | undefined,
  unwrap: ReportedUnwrapper | undefined,
  share = false,
): DeltaWithMetadata | undefined {
  if (share && reported === undefined && desiredMeta !== undefined) return { state: plainOf(desired), metadata: plainOf(desiredMeta) };
  let state: JsonObject | undefined;
  let metadata: MetadataObject | undefined;
  for (const key in desired) {
    const d = desired[key] as JsonValue;
    const raw = reported !== undefined ? ownValue(reported, key) : undefined;
    const r = raw !== undefined && unwrap !== undefined ? unwrap(raw) : raw;
    const dm = desiredMeta !== undefined ? ownValue(desiredMeta, key) : undefined;
    let part: JsonValue | undefined;
    let partMeta: MetadataNode | undefined;
    if (isJsonObject(d) && (r === undefined || isJsonObject(r))) {
      // Objects recurse: against the reported object, or against nothing (every leaf is then in the delta).
      const sub = deltaOf(d, isJsonObject(dm) ? (dm as MetadataObject) : undefined, r, unwrap, share);
      if (sub === undefined) continue;
      part = sub.state;
      partMeta = sub.metadata;
    } else if (r === undefined || !jsonEqual(d, r)) {
      // Scalars, arrays and type mismatches compare as whole values.
      part = plainValue(d);
      partMeta = plainValue(dm);
    } else continue;
    (state ??= {})[key] = part;
    if (desiredMeta !== undefined && partMeta !== undefined) (metadata ??= {})[key] = partMeta;
  }
  return state === undefined ? undefined : { state, metadata: metadata ?? {} };
}

/**
 * @internal The delta after an update, from the delta before it: only the keys the update wrote
 * (`touched`: the desired side, policy changes included; `touchedReported`: the reported side)
 * are looked at again; every other key keeps its part of the old delta, which is shared. Costs
 * O(what the update touched + the width of the delta objects it changes), where the full walk
 * costs O(desired). Equal to {@link deltaOf} of the new document (a property test checks it).
 */
export function patchDelta(
  old: DeltaWithMetadata | undefined,
  desired: JsonObject,
  desiredMeta: MetadataObject,
  reported: JsonObject | undefined,
  touched: JsonObject | undefined,
  touchedReported: JsonObject | undefined,
  unwrap: ReportedUnwrapper | undefined,
): DeltaWithMetadata | undefined {
  const changes: Change[] = [];
  if (touched !== undefined) {
    for (const key in touched) {
      const tr = touchedReported !== undefined && hasOwn(touchedReported, key) ? touchedReported[key] : undefined;
      patchKey(old, desired, desiredMeta, reported, key, touched[key], tr, unwrap, changes);
    }
  }
  if (touchedReported !== undefined) {
    for (const key in touchedReported) {
      if (touched === undefined || !hasOwn(touched, key)) patchKey(old, desired, desiredMeta, reported, key, undefined, touchedReported[key], unwrap, changes);
    }
  }
  return changes.length === 0 ? old : applyChanges(old, changes);
}

/** A key whose part of the delta changed: its new part (`state` undefined: it left the delta). */
interface Change {
  readonly key: string;
  readonly state: JsonValue | undefined;
  readonly meta: MetadataNode | undefined;
}

function patchKey(
  old: DeltaWithMetadata | undefined,
  desired: JsonObject,
  desiredMeta: MetadataObject,
  reported: JsonObject | undefined,
  key: string,
  td: JsonValue | undefined,
  tr: JsonValue | undefined,
  unwrap: ReportedUnwrapper | undefined,
  changes: Change[],
): void {
  const oldState = old !== undefined && hasOwn(old.state, key) ? old.state[key] : undefined;
  const oldMeta = old !== undefined && hasOwn(old.metadata, key) ? old.metadata[key] : undefined;
  let state: JsonValue | undefined;
  let meta: MetadataNode | undefined;
  const d = ownValue(desired, key);
  if (d !== undefined) {
    const dm = ownValue(desiredMeta, key);
    const raw = reported !== undefined ? ownValue(reported, key) : undefined;
    const r = raw !== undefined && unwrap !== undefined ? unwrap(raw) : raw;
    if (isJsonObject(d) && (r === undefined || isJsonObject(r))) {
      // Below this key only some keys were written (and, with acknowledgements, no envelope may
      // have been rewritten): patch the old part of the delta, when it was kept per key (an object).
      const nested = isJsonObject(dm) && (td === undefined || isJsonObject(td)) && (tr === undefined || (isJsonObject(tr) && unwrap === undefined));
      const sub = nested
        ? patchDelta(isJsonObject(oldState) ? { state: oldState, metadata: (isJsonObject(oldMeta) ? oldMeta : {}) as MetadataObject } : undefined, d, dm as MetadataObject, r, td as JsonObject | undefined, tr as JsonObject | undefined, unwrap)
        : deltaOf(d, isJsonObject(dm) ? (dm as MetadataObject) : undefined, r, unwrap, true);
      if (sub !== undefined) {
        state = sub.state;
        meta = sub.metadata;
      }
    } else if (r === undefined || !jsonEqual(d, r)) {
      state = plainValue(d);
      meta = plainValue(dm);
    }
  }
  if (state === oldState && meta === oldMeta) return;
  changes.push({ key, state, meta });
}

// The old delta objects with the changes applied: a spread when keys are only set (V8 copies that
// fast), a rebuild when one goes (`delete` would leave a slow dictionary-mode object).
function applyChanges(old: DeltaWithMetadata | undefined, changes: Change[]): DeltaWithMetadata | undefined {
  let removal = false;
  for (const c of changes) if (c.state === undefined || (c.meta === undefined && old !== undefined && hasOwn(old.metadata, c.key))) removal = true;
  let state: JsonObject;
  let metadata: MetadataObject;
  let count = 0;
  if (old === undefined) {
    state = {};
    metadata = {};
  } else if (!removal) {
    state = { ...old.state };
    metadata = { ...old.metadata };
    count = 1; // the old delta was not empty
  } else {
    state = {};
    metadata = {};
    for (const key in old.state) {
      let changed = false;
      for (const c of changes) if (c.key === key) changed = true;
      if (changed) continue;
      state[key] = old.state[key] as JsonValue;
      if (hasOwn(old.metadata, key)) metadata[key] = old.metadata[key] as MetadataNode;
      count++;
    }
  }
  for (const c of changes) {
    if (c.state === undefined) continue;
    state[c.key] = c.state;
    if (c.meta !== undefined) metadata[c.key] = c.meta;
    count++;
  }
  return count === 0 ? undefined : { state, metadata };
}
