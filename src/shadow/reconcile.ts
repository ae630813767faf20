/**
 * Three-way reconcile for offline sync (SHADOW.md, "What fleetkit adds").
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { checkJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';

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
 * unchanged on the other → deleted. Arrays are atomic. Objects left empty are removed. Keys are
 * data whatever they are named, except `__proto__`, `constructor` and `prototype`, which are
 * refused as {@link applyShadowUpdate} refuses them.
 *
 * @throws FleetError `INVALID_ARGUMENT` when the input is not `{ base, local, remote }` of JSON
 *   objects (or `undefined`), when neither `owner` (`'local'` or `'remote'`) nor a `resolve`
 *   function is given, when `owner` is anything else, or when `resolve` returns a value that is
 *   not JSON; `FORBIDDEN_KEY` (status 400) for a forbidden key anywhere in the input;
 *   `INVALID_JSON` or `TOO_DEEP` (status 400) for a side that is not plain JSON.
 *
 * @example
 * ```ts
 * reconcileShadow({ base: { a: 1, b: 1 }, local: { a: 2, b: 1 }, remote: { a: 1, b: 3 }, owner: 'remote' });
 * // → { merged: { a: 2, b: 3 }, conflicts: [] }
 * ```
 */
export function reconcileShadow(input: ReconcileInput): ReconcileResult {
  if (typeof input !== 'object' || input === null) {
    throw invalid(`pass { base, local, remote, owner | resolve }, got ${describeValue(input)}`);
  }
  const { owner, resolve } = input;
  if (resolve !== undefined && typeof resolve !== 'function') throw invalid(`resolve must be a function, got ${describeValue(resolve)}`);
  if (owner !== undefined && owner !== 'local' && owner !== 'remote') throw invalid(`owner must be 'local' or 'remote', got ${describeValue(owner)}`);
  if (owner === undefined && resolve === undefined) throw invalid("pass owner ('local' or 'remote') or a resolve function to decide conflicts");
  const base = side(input.base, 'base');
  const local = side(input.local, 'local');
  const remote = side(input.remote, 'remote');
  const conflicts: ReconcileConflict[] = [];
  const decide: ReconcileResolver =
    resolve === undefined
      ? owner === 'local'
        ? (c) => c.local
        : (c) => c.remote
      : (c) => {
          const v = resolve(c);
          if (v !== undefined && checkJson(v) !== undefined) {
            throw invalid(`resolve returned ${describeValue(v)} for ${c.path.join('.')}; return a JSON value, or undefined to delete the key`);
          }
          return v;
        };
  const merged = mergeValue(base, local, remote, [], decide, conflicts);
  return { merged: isJsonObject(merged) ? merged : {}, conflicts };
}

function invalid(message: string): FleetError {
  return new FleetError('INVALID_ARGUMENT', `reconcileShadow: ${message}`, { status: 400 });
}

function side(value: unknown, name: string): JsonObject {
  if (value === undefined) return {};
  if (!isJsonObject(value)) throw invalid(`${name} must be a JSON object or undefined, got ${describeValue(value)}`);
  const problem = checkJson(value);
  if (problem === undefined) return value;
  throw new FleetError(problem.code, `reconcileShadow: ${name}: ${problem.message}`, { status: 400, details: { ...problem.details, side: name } });
}

const hasOwn = (o: JsonObject, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** The own value at `key`: never an inherited member such as `toString`. */
function own(o: JsonValue | undefined, key: string): JsonValue | undefined {
  return isJsonObject(o) && hasOwn(o, key) ? o[key] : undefined;
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
    const out: JsonObject = {};
    const keys = new Set([...Object.keys(local), ...Object.keys(remote), ...(isJsonObject(base) ? Object.keys(base) : [])]);
    for (const key of keys) {
      const v = mergeValue(own(base, key), own(local, key), own(remote, key), [...path, key], decide, conflicts);
      if (v !== undefined && !(isJsonObject(v) && Object.keys(v).length === 0)) out[key] = v;
    }
    return out;
  }
  const conflict = { path, base, local, remote };
  const resolved = decide(conflict);
  conflicts.push({ ...conflict, resolved });
  return resolved;
}
