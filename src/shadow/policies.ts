/**
 * Conflict policies: what happens when a device's report contradicts a pending desired value.
 */
import { FleetError } from '../errors.js';
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';
import { isPropertyAck } from './acknowledgement.js';
import type { ReportedUnwrapper } from './delta.js';
import type { Merged } from './merge.js';
import type { MetadataNode, MetadataObject } from './types.js';
import { ownValue, plainValue } from './wide.js';

/**
 * A desired leaf whose reported counterpart the update wrote, while the update left the desired
 * leaf itself alone: a policy never sees (and so never overwrites or clears) a desired value
 * written in the same request.
 */
export interface ShadowConflict {
  /** Path of the leaf below `desired`/`reported`. */
  readonly path: readonly string[];
  /** The desired value. */
  readonly desired: JsonValue;
  /** The reported value after the update (the `value` of an acknowledgement envelope when `acknowledgements` is on). */
  readonly reported: JsonValue;
  /** Whether desired and reported already agree. */
  readonly equal: boolean;
  /** Epoch seconds of the desired leaf's last write. */
  readonly desiredTimestamp: number;
  /** Epoch seconds the reported value was observed: the request's `timestamp` when the device sent one, else the update time. */
  readonly reportedTimestamp: number;
  /** The side this update wrote: always `reported` (a leaf the update wrote on the desired side is never a conflict). */
  readonly touched: 'reported';
}

/**
 * What to do with a conflict: `keep` desired (the delta persists), `take-reported` (desired
 * becomes the reported value) or `clear` (remove the desired leaf).
 */
export type ConflictResolution = 'keep' | 'take-reported' | 'clear';

/** A custom conflict policy. */
export type ConflictResolver = (conflict: ShadowConflict) => ConflictResolution;

/**
 * A conflict policy, consulted for each desired leaf whose reported counterpart an update wrote
 * (never for a desired leaf the same update wrote):
 * - `cloud-wins` (default; AWS's behaviour): desired stays and the delta persists until the device converges;
 * - `device-wins`: a reported value that contradicts desired replaces it;
 * - `newest-wins`: the reported value replaces desired when it was observed strictly later than the desired write; ties keep desired;
 * - `clear-when-met`: a desired leaf is removed once a report equals it;
 * - or a {@link ConflictResolver}.
 */
export type ConflictPolicy = 'cloud-wins' | 'device-wins' | 'newest-wins' | 'clear-when-met' | ConflictResolver;

/**
 * The built-in policies as resolvers.
 *
 * @throws FleetError `INVALID_ARGUMENT` when called with something that is not a {@link ShadowConflict}.
 */
export const CONFLICT_RESOLVERS: Readonly<Record<Exclude<ConflictPolicy, ConflictResolver>, ConflictResolver>> = Object.freeze({
  'cloud-wins': (c: ShadowConflict): ConflictResolution => (checkConflict(c), 'keep'),
  'device-wins': (c: ShadowConflict): ConflictResolution => (checkConflict(c).equal ? 'keep' : 'take-reported'),
  'newest-wins': (c: ShadowConflict): ConflictResolution => (!checkConflict(c).equal && c.reportedTimestamp > c.desiredTimestamp ? 'take-reported' : 'keep'),
  'clear-when-met': (c: ShadowConflict): ConflictResolution => (checkConflict(c).equal ? 'clear' : 'keep'),
});

function checkConflict(c: ShadowConflict): ShadowConflict {
  if (typeof c !== 'object' || c === null || typeof c.equal !== 'boolean' || typeof c.desiredTimestamp !== 'number' || typeof c.reportedTimestamp !== 'number') {
    throw new FleetError('INVALID_ARGUMENT', 'a conflict resolver takes a ShadowConflict { path, desired, reported, equal, desiredTimestamp, reportedTimestamp, touched }', { status: 400 });
  }
  return c;
}

/** Which parts of a section an update wrote: everything below (`true`), or some keys. */
type Touch = true | JsonObject | undefined;

interface Walk {
  readonly resolver: ConflictResolver;
  readonly observedAt: number;
  readonly unwrap: ReportedUnwrapper | undefined;
  changed: boolean;
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/**
 * Applies a policy to the desired leaves whose reported counterpart the update wrote; returns the
 * patch to merge into desired (`undefined` when nothing changes). Costs O(size of the reported
 * patch): only the keys the request wrote are visited.
 */
export function conflictPatch(
  policy: ConflictPolicy,
  desired: Merged,
  reported: Merged,
  touchedDesired: JsonObject | undefined,
  touchedReported: JsonObject,
  observedAt: number,
  unwrap: ReportedUnwrapper | undefined,
): JsonObject | undefined {
  if (policy === 'cloud-wins') return undefined;
  const resolver = typeof policy === 'function' ? policy : CONFLICT_RESOLVERS[policy];
  if (typeof resolver !== 'function') {
    throw new FleetError('INVALID_ARGUMENT', `applyShadowUpdate: policy must be 'cloud-wins', 'device-wins', 'newest-wins', 'clear-when-met' or a function, got ${typeof policy === 'string' ? `'${policy.slice(0, 40)}'` : typeof policy}`, { status: 500 });
  }
  const walk: Walk = { resolver, observedAt, unwrap, changed: false };
  const patch: JsonObject = {};
  visit(walk, desired.value, desired.meta, reported.value, touchedDesired, touchedReported, [], patch);
  return walk.changed ? patch : undefined;
}

function timestampOf(meta: MetadataNode | undefined): number {
  if (typeof meta !== 'object' || meta === null) return 0;
  if (Array.isArray(meta)) return meta.reduce<number>((t, m) => Math.max(t, timestampOf(m)), 0);
  const ts = (meta as { timestamp?: unknown }).timestamp;
  if (typeof ts === 'number') return ts;
  let t = 0;
  for (const key in meta) t = Math.max(t, timestampOf((meta as MetadataObject)[key]));
  return t;
}

function sub(t: Touch, key: string): Touch {
  if (t === true || t === undefined) return t;
  if (!hasOwn(t, key)) return undefined;
  const v = t[key];
  return isJsonObject(v) ? v : true;
}

function visit(walk: Walk, d: JsonObject, dm: MetadataObject, r: JsonObject, td: Touch, tr: JsonObject, path: string[], patch: JsonObject): void {
  for (const key in tr) {
    const ktd = sub(td, key);
    const dv = ktd === true ? undefined : ownValue(d, key);
    const raw = dv === undefined ? undefined : ownValue(r, key);
    if (dv === undefined || raw === undefined) continue; // desired written here, or a side has no leaf
    const trv = tr[key] as JsonValue;
    const envelope = walk.unwrap !== undefined && isPropertyAck(raw);
    const rv = envelope ? raw.value : raw;
    if (isJsonObject(dv) && isJsonObject(rv) && !envelope && isJsonObject(trv)) {
      const child: JsonObject = {};
      visit(walk, dv, (ownValue(dm, key) ?? {}) as MetadataObject, rv, ktd, trv, [...path, key], child);
      for (const _ in child) {
        patch[key] = child;
        break;
      }
      continue;
    }
    if (isJsonObject(dv) && !isJsonObject(rv)) continue; // desired object over a reported scalar: no leaf-level counterpart
    const equal = jsonEqual(dv, rv);
    const conflict: ShadowConflict = {
      path: [...path, key],
      desired: plainValue(dv),
      reported: plainValue(rv),
      equal,
      desiredTimestamp: timestampOf(ownValue(dm, key)),
      reportedTimestamp: walk.observedAt,
      touched: 'reported',
    };
    const resolution = walk.resolver(conflict);
    if (resolution === 'take-reported' && !equal) {
      patch[key] = plainValue(rv);
      walk.changed = true;
    } else if (resolution === 'clear') {
      patch[key] = null;
      walk.changed = true;
    }
  }
}
