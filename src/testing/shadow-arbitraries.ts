/**
 * fast-check arbitraries for shadow documents and requests, for property tests of code built on
 * fleetkit's shadow engine.
 */
import fc from 'fast-check';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { JsonObject, JsonValue } from '../json.js';

/** Options of the shadow arbitraries. */
export interface ShadowArbitraryOptions {
  /**
   * Property names to draw from; a small set makes updates collide with existing keys.
   * @defaultValue `['a', 'b', 'c', 'd', 'e']`
   */
  readonly keys?: readonly string[];
  /**
   * Deepest object nesting inside a section.
   * @defaultValue 3
   */
  readonly maxDepth?: number;
}

const DEFAULT_KEYS = ['a', 'b', 'c', 'd', 'e'];

function invalid(fn: string, message: string): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${fn}: ${message}`, { status: 400 });
}

/** The options with their defaults, or `INVALID_ARGUMENT` naming the bad one. */
function resolve(fn: string, options: unknown): { keys: readonly string[]; maxDepth: number; withNulls: boolean } {
  if (options === undefined) return { keys: DEFAULT_KEYS, maxDepth: 3, withNulls: true };
  if (typeof options !== 'object' || options === null) throw invalid(fn, `options must be an object such as { keys: ['a', 'b'], maxDepth: 3 }, got ${describeValue(options)}`);
  const { keys = DEFAULT_KEYS, maxDepth = 3, withNulls = true } = options as { keys?: unknown; maxDepth?: unknown; withNulls?: unknown };
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === 'string')) {
    throw invalid(fn, `keys must be a non-empty array of strings, got ${describeValue(keys)}`);
  }
  if (typeof maxDepth !== 'number' || !Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > 64) throw invalid(fn, `maxDepth must be a whole number from 1 to 64, got ${describeValue(maxDepth)}`);
  if (typeof withNulls !== 'boolean') throw invalid(fn, `withNulls must be a boolean, got ${describeValue(withNulls)}`);
  return { keys: keys as string[], maxDepth, withNulls };
}

/** A JSON scalar as shadows hold them (strings, integers, doubles, booleans; never null). */
export function shadowScalar(): fc.Arbitrary<JsonValue> {
  return fc.oneof(fc.string({ maxLength: 6 }), fc.integer({ min: -5, max: 5 }), fc.double({ noNaN: true, noDefaultInfinity: true, min: -10, max: 10 }), fc.boolean());
}

/** A leaf value: a scalar or an array of scalars (arrays never hold null). */
export function shadowLeaf(): fc.Arbitrary<JsonValue> {
  return fc.oneof({ weight: 4, arbitrary: shadowScalar() }, { weight: 1, arbitrary: fc.array(shadowScalar(), { maxLength: 3 }) });
}

/**
 * A `desired` or `reported` patch: nested objects of leaves, where `null` deletes (when
 * `withNulls` is true).
 *
 * @throws FleetError `INVALID_ARGUMENT` for empty or non-string `keys`, a `maxDepth` outside 1–64
 *   or a non-boolean `withNulls`.
 */
export function shadowPatch(options: ShadowArbitraryOptions & { readonly withNulls?: boolean } = {}): fc.Arbitrary<JsonObject> {
  return patch(resolve('shadowPatch', options));
}

function patch({ keys, maxDepth, withNulls }: { keys: readonly string[]; maxDepth: number; withNulls: boolean }): fc.Arbitrary<JsonObject> {
  const build = (depth: number): fc.Arbitrary<JsonObject> => {
    const values: Array<fc.WeightedArbitrary<JsonValue>> = [{ weight: 5, arbitrary: shadowLeaf() }];
    if (withNulls) values.push({ weight: 1, arbitrary: fc.constant(null) });
    if (depth > 1) values.push({ weight: 2, arbitrary: build(depth - 1) });
    return fc.dictionary(fc.constantFrom(...keys), fc.oneof(...values), { maxKeys: keys.length });
  };
  return build(maxDepth);
}

/**
 * A plain state object (no nulls, no empty objects): what a stored section can hold.
 *
 * @throws FleetError `INVALID_ARGUMENT` for bad options (see {@link shadowPatch}).
 */
export function shadowStateObject(options: ShadowArbitraryOptions = {}): fc.Arbitrary<JsonObject> {
  return patch({ ...resolve('shadowStateObject', options), withNulls: false }).map(prune);
}

function prune(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const p = prune(v);
      if (Object.keys(p).length > 0) out[k] = p;
    } else if (v !== null) out[k] = v;
  }
  return out;
}

/**
 * An update request `{ state: { desired?, reported? } }` (sections may be null).
 *
 * @throws FleetError `INVALID_ARGUMENT` for bad options (see {@link shadowPatch}).
 */
export function shadowUpdateRequest(options: ShadowArbitraryOptions = {}): fc.Arbitrary<{ state: { desired?: JsonObject | null; reported?: JsonObject | null } }> {
  const section = fc.oneof({ weight: 6, arbitrary: patch(resolve('shadowUpdateRequest', options)) }, { weight: 1, arbitrary: fc.constant(null) });
  return fc.record({ desired: section, reported: section }, { requiredKeys: [] }).map((state) => ({ state }));
}
