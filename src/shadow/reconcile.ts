/**
 * Three-way reconcile for offline sync (SHADOW.md, "What fleetkit adds").
 */
import { FleetError } from '../errors.js';
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';

/** A leaf (or subtree) changed differently on both sides. */
export interface ReconcileConflict {
  /** Path from the root. */
  readonly path: readonly string[];
  /** The common ancestor's value (`undefined`: absent). */
  readonly base: JsonValue | undefined;
  /** The local value (`undefined`: deleted or absent). */
  readonly local: JsonValue | undefined;
  /** The remote value (`undefined`: deleted or absent). */
  readonly remote: JsonValue | undefined;
  /** What the merge kept (`undefined`: the key is removed). */
  readonly resolved: JsonValue | undefined;
}

/** Decides a conflict; return `undefined` to delete the key. */
export type ReconcileResolver = (conflict: Omit<ReconcileConflict, 'resolved'>) => JsonValue | undefined;

/** Input of {@link reconcileShadow}: the common ancestor, both sides, and who wins a conflict. */
export interface ReconcileInput {
  /** The last state both sides agreed on. */
  readonly base: JsonObject | undefined;
  /** This side's state now (for example the device's offline copy). */
  readonly local: JsonObject | undefined;
  /** The other side's state now (for example the cloud's). */
  readonly remote: JsonObject | undefined;
  /** Which side wins a conflict when no `resolve` is given. */
  readonly owner?: 'local' | 'remote';
  /** Decides each conflict; takes precedence over `owner`. */
  readonly resolve?: ReconcileResolver;
}

/** The merged state and the conflicts that were decided. */
export interface ReconcileResult {
  /** The merged state (`{}` when nothing remains). */
  readonly merged: JsonObject;
  /** Every conflict, with what was kept. */
  readonly conflicts: ReconcileConflict[];
}

/**
 * Three-way merge of two states that diverged from a common `base`, per leaf: changed on one
 * side only → that side; changed on both → the `owner` or `resolve`; deleted on one side and
 * unchanged on the other → deleted. Arrays are atomic. Objects left empty are removed.
 *
 * @throws FleetError `INVALID_ARGUMENT` when neither `owner` nor `resolve` is given.
 *
 * @example
 * ```ts
 * reconcileShadow({ base: { a: 1, b: 1 }, local: { a: 2, b: 1 }, remote: { a: 1, b: 3 }, owner: 'remote' });
 * // → { merged: { a: 2, b: 3 }, conflicts: [] }
 * ```
 */
export function reconcileShadow(input: ReconcileInput): ReconcileResult {
  if (input.owner === undefined && input.resolve === undefined) {
    throw new FleetError('INVALID_ARGUMENT', "reconcileShadow: pass owner ('local' or 'remote') or a resolve function to decide conflicts");
  }
  const conflicts: ReconcileConflict[] = [];
  const decide: ReconcileResolver = input.resolve ?? (input.owner === 'local' ? (c) => c.local : (c) => c.remote);
  const merged = mergeValue(input.base ?? {}, input.local ?? {}, input.remote ?? {}, [], decide, conflicts);
  return { merged: isJsonObject(merged) ? merged : {}, conflicts };
}

function mergeValue(
  base: JsonValue | undefined,
  local: JsonValue | undefined,
  remote: JsonValue | undefined,
  path: string[],
  decide: ReconcileResolver,
  conflicts: ReconcileConflict[],
): JsonValue | undefined {
  if (jsonEqual(local, remote)) return local;
  if (jsonEqual(local, base)) return remote;
  if (jsonEqual(remote, base)) return local;
  if (isJsonObject(local) && isJsonObject(remote)) {
    const b = isJsonObject(base) ? base : undefined;
    const out: JsonObject = {};
    const keys = new Set([...Object.keys(local), ...Object.keys(remote), ...(b === undefined ? [] : Object.keys(b))]);
    for (const key of keys) {
      const v = mergeValue(b?.[key], local[key], remote[key], [...path, key], decide, conflicts);
      if (v !== undefined && !(isJsonObject(v) && Object.keys(v).length === 0)) out[key] = v;
    }
    return out;
  }
  const conflict = { path, base, local, remote };
  const resolved = decide(conflict);
  conflicts.push({ ...conflict, resolved });
  return resolved;
}
