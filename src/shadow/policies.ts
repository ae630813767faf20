/**
 * Conflict policies: what happens when a device's report contradicts a pending desired value.
 */
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';
import { mergeObject, type Merged } from './merge.js';
import type { MetadataLeaf, MetadataNode, MetadataObject } from './types.js';

/** One desired leaf that an update touched (on either side) while a reported value exists at the same path. */
export interface ShadowConflict {
  /** Path of the leaf below `desired`/`reported`. */
  readonly path: readonly string[];
  /** The desired value after the update. */
  readonly desired: JsonValue;
  /** The reported value after the update. */
  readonly reported: JsonValue;
  /** Whether desired and reported already agree. */
  readonly equal: boolean;
  /** Epoch seconds of the desired leaf's last write. */
  readonly desiredTimestamp: number;
  /** Epoch seconds the reported value was observed: the request's `timestamp` when the device sent one, else its metadata time. */
  readonly reportedTimestamp: number;
  /** Which side(s) of this update touched the leaf. */
  readonly touched: 'desired' | 'reported' | 'both';
}

/**
 * What to do with a conflict: `keep` desired (the delta persists), `take-reported` (desired
 * becomes the reported value) or `clear` (remove the desired leaf).
 */
export type ConflictResolution = 'keep' | 'take-reported' | 'clear';

/** A custom conflict policy. */
export type ConflictResolver = (conflict: ShadowConflict) => ConflictResolution;

/**
 * A conflict policy:
 * - `cloud-wins` (default; AWS's behaviour): desired stays and the delta persists until the device converges;
 * - `device-wins`: a reported value that contradicts desired replaces it;
 * - `newest-wins`: the side written (or observed) later wins; ties keep desired;
 * - `clear-when-met`: a desired leaf is removed once reported equals it;
 * - or a {@link ConflictResolver}.
 */
export type ConflictPolicy = 'cloud-wins' | 'device-wins' | 'newest-wins' | 'clear-when-met' | ConflictResolver;

/** The built-in policies as resolvers. */
export const CONFLICT_RESOLVERS: Readonly<Record<Exclude<ConflictPolicy, ConflictResolver>, ConflictResolver>> = Object.freeze({
  'cloud-wins': (): ConflictResolution => 'keep',
  'device-wins': (c: ShadowConflict): ConflictResolution => (!c.equal && c.touched !== 'desired' ? 'take-reported' : 'keep'),
  'newest-wins': (c: ShadowConflict): ConflictResolution => (!c.equal && c.reportedTimestamp > c.desiredTimestamp ? 'take-reported' : 'keep'),
  'clear-when-met': (c: ShadowConflict): ConflictResolution => (c.equal ? 'clear' : 'keep'),
});

/** Which parts of a section an update touched: everything below (`true`), or some keys. */
type Touch = true | JsonObject | undefined;

interface Walk {
  readonly resolver: ConflictResolver;
  readonly observedAt: number | undefined;
  readonly patch: JsonObject;
  changed: boolean;
}

/**
 * Applies a policy to the desired leaves an update touched; returns the new desired section
 * (or `undefined` when nothing changed).
 */
export function applyConflictPolicy(
  policy: ConflictPolicy,
  desired: Merged | undefined,
  reported: Merged | undefined,
  touchedDesired: JsonObject | undefined,
  touchedReported: JsonObject | undefined,
  observedAt: number | undefined,
  leaf: MetadataLeaf,
): Merged | undefined {
  if (policy === 'cloud-wins' || desired === undefined || reported === undefined) return undefined;
  const resolver = typeof policy === 'function' ? policy : CONFLICT_RESOLVERS[policy];
  const walk: Walk = { resolver, observedAt, patch: {}, changed: false };
  visit(walk, desired.value, desired.meta, reported.value, reported.meta, touchedDesired, touchedReported, [], walk.patch);
  return walk.changed ? mergeObject(desired.value, desired.meta, walk.patch, leaf) : undefined;
}

function timestampOf(meta: MetadataNode | undefined): number {
  if (meta === undefined) return 0;
  if (Array.isArray(meta)) return meta.reduce<number>((t, m) => Math.max(t, timestampOf(m)), 0);
  const ts = (meta as { timestamp?: unknown }).timestamp;
  if (typeof ts === 'number') return ts;
  let t = 0;
  for (const key in meta) t = Math.max(t, timestampOf((meta as MetadataObject)[key]));
  return t;
}

function sub(t: Touch, key: string): Touch {
  if (t === true || t === undefined) return t;
  const v = t[key];
  if (v === undefined) return undefined;
  return isJsonObject(v) ? v : true;
}

function visit(
  walk: Walk,
  d: JsonObject,
  dm: MetadataObject,
  r: JsonObject,
  rm: MetadataObject,
  td: Touch,
  tr: Touch,
  path: string[],
  patch: JsonObject,
): void {
  for (const key in d) {
    const ktd = sub(td, key);
    const ktr = sub(tr, key);
    if (ktd === undefined && ktr === undefined) continue;
    const dv = d[key] as JsonValue;
    const rv = r[key];
    if (rv === undefined) continue;
    const here = [...path, key];
    if (isJsonObject(dv) && isJsonObject(rv)) {
      const child: JsonObject = {};
      visit(walk, dv, dm[key] as MetadataObject, rv, rm[key] as MetadataObject, ktd, ktr, here, child);
      for (const _ in child) {
        patch[key] = child;
        break;
      }
      continue;
    }
    if (isJsonObject(dv)) continue; // desired object over a reported scalar: no leaf-level counterpart
    const touchedReported = ktr !== undefined;
    const conflict: ShadowConflict = {
      path: here,
      desired: dv,
      reported: rv,
      equal: jsonEqual(dv, rv),
      desiredTimestamp: timestampOf(dm[key]),
      reportedTimestamp: touchedReported && walk.observedAt !== undefined ? walk.observedAt : timestampOf(rm[key]),
      touched: ktd !== undefined && touchedReported ? 'both' : touchedReported ? 'reported' : 'desired',
    };
    const resolution = walk.resolver(conflict);
    if (resolution === 'take-reported' && !conflict.equal) {
      patch[key] = rv;
      walk.changed = true;
    } else if (resolution === 'clear') {
      patch[key] = null;
      walk.changed = true;
    }
  }
}
