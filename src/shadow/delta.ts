/**
 * The delta between desired and reported state (SHADOW.md, "Delta").
 */
import { isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';
import { argumentError, describeValue } from './arguments.js';
import type { MetadataNode, MetadataObject } from './types.js';

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

/** @internal */
export function deltaOf(
  desired: JsonObject,
  desiredMeta: MetadataObject | undefined,
  reported: JsonObject | undefined,
  unwrap: ReportedUnwrapper | undefined,
): DeltaWithMetadata | undefined {
  let state: JsonObject | undefined;
  let metadata: MetadataObject | undefined;
  for (const key in desired) {
    const d = desired[key] as JsonValue;
    const raw = reported?.[key];
    const r = raw !== undefined && unwrap !== undefined ? unwrap(raw) : raw;
    let part: JsonValue | undefined;
    let partMeta: MetadataNode | undefined;
    if (isJsonObject(d) && (r === undefined || isJsonObject(r))) {
      // Objects recurse: against the reported object, or against nothing (every leaf is then in the delta).
      const sub = deltaOf(d, desiredMeta?.[key] as MetadataObject | undefined, r, unwrap);
      part = sub?.state;
      partMeta = sub?.metadata;
    } else if (r === undefined || !jsonEqual(d, r)) {
      // Scalars, arrays and type mismatches compare as whole values.
      part = d;
      partMeta = desiredMeta?.[key];
    }
    if (part === undefined) continue;
    (state ??= {})[key] = part;
    if (desiredMeta !== undefined && partMeta !== undefined) (metadata ??= {})[key] = partMeta;
  }
  return state === undefined ? undefined : { state, metadata: metadata ?? {} };
}
