/**
 * Checks of the arguments your code passes (stored documents, options): a wrong one is a
 * `FleetError` `INVALID_ARGUMENT` that names the function and says what to pass, never a
 * `TypeError` from deep inside. Shape checks only, O(1): stored documents are trusted to be what
 * the engine produced.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { isJsonObject } from '../json.js';
import { DEFAULT_SHADOW_LIMITS, type ResolvedShadowLimits, type ShadowLimits } from './limits.js';
import type { ShadowDocument, StoredShadow } from './types.js';
import { isEngineSections } from './wide.js';

export { describeValue };

/**
 * The error for a bad argument. `status` 500 for the result APIs (the device that sent the request
 * is not at fault: its `/rejected` says `Internal service failure`), 400 for the functions that throw.
 */
export function argumentError(fn: string, message: string, status: 400 | 500): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${fn}: ${message}`, { status, details: { function: fn } });
}

const isObject = (v: unknown): v is Record<string, unknown> => isJsonObject(v);
// Number.isSafeInteger and Number.isFinite are false for anything that is not a number.
const isVersion = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** `document` when it has the shape of a stored {@link ShadowDocument}; throws otherwise. */
export function checkDocument(fn: string, document: unknown, status: 400 | 500): ShadowDocument {
  const problem = documentProblem(document);
  if (problem !== undefined) throw argumentError(fn, `the document must be a stored shadow { state, metadata, version }: ${problem}`, status);
  return document as ShadowDocument;
}

function documentProblem(document: unknown): string | undefined {
  if (!isObject(document)) return `got ${describeValue(document)}`;
  const { state, metadata, version } = document;
  if (!isObject(state)) return `state is ${describeValue(state)}`;
  if (!isObject(metadata)) return `metadata is ${describeValue(metadata)}`;
  if (!isVersion(version)) return `version is ${describeValue(version)}, not a whole number ≥ 0`;
  if (isEngineSections(state, metadata)) return undefined;
  for (const key of ['desired', 'reported'] as const) {
    if (state[key] !== undefined && !isObject(state[key])) return `state.${key} is ${describeValue(state[key])}`;
    if (metadata[key] !== undefined && !isObject(metadata[key])) return `metadata.${key} is ${describeValue(metadata[key])}`;
  }
  return undefined;
}

/** `stored` when it is `undefined`, a tombstone or a stored document; throws otherwise. */
export function checkStored(fn: string, stored: unknown, status: 400 | 500): StoredShadow | undefined {
  if (stored === undefined) return undefined;
  if (isObject(stored) && stored['deleted'] === true) {
    if (isVersion(stored['version'])) return stored as unknown as StoredShadow;
    throw argumentError(fn, `a tombstone must be { deleted: true, version } with a whole-number version, got version ${describeValue(stored['version'])}`, status);
  }
  const problem = documentProblem(stored);
  if (problem === undefined) return stored as unknown as ShadowDocument;
  throw argumentError(fn, `the stored shadow must be undefined, a document { state, metadata, version } or a tombstone { deleted: true, version }: ${problem}`, status);
}

/** `options` when it is an object with a finite `now` (epoch milliseconds); throws otherwise. */
export function checkOptions<T extends { readonly now: number }>(fn: string, options: unknown, status: 400 | 500): T {
  if (!isObject(options)) throw argumentError(fn, `pass options { now: <epoch milliseconds>, … }, got ${describeValue(options)}`, status);
  const now = options['now'];
  if (!Number.isFinite(now)) throw argumentError(fn, `options.now must be epoch milliseconds, got ${describeValue(now)}`, status);
  return options as T;
}

/** The limits with defaults filled in; throws for a limit that is not a whole number ≥ 1. */
export function checkLimits(fn: string, limits: unknown, status: 400 | 500): ResolvedShadowLimits {
  if (limits === undefined) return DEFAULT_SHADOW_LIMITS;
  if (!isObject(limits)) throw argumentError(fn, `options.limits must be an object of limits, got ${describeValue(limits)}`, status);
  const { maxDocumentBytes, maxDepth, maxClientTokenBytes, maxRequestBytes } = limits as ShadowLimits;
  return {
    maxDocumentBytes: limit(fn, 'maxDocumentBytes', maxDocumentBytes, status),
    maxDepth: limit(fn, 'maxDepth', maxDepth, status),
    maxClientTokenBytes: limit(fn, 'maxClientTokenBytes', maxClientTokenBytes, status),
    maxRequestBytes: limit(fn, 'maxRequestBytes', maxRequestBytes, status),
  };
}

function limit(fn: string, key: keyof ShadowLimits, v: unknown, status: 400 | 500): number {
  if (v === undefined) return DEFAULT_SHADOW_LIMITS[key];
  if (Number.isSafeInteger(v) && (v as number) >= 1) return v as number;
  throw argumentError(fn, `options.limits.${key} must be a whole number ≥ 1, got ${describeValue(v)}`, status);
}

/** Throws unless `value` is `undefined` or of the given type. */
export function checkOptional(fn: string, name: string, value: unknown, type: 'string' | 'boolean' | 'number', status: 400 | 500): void {
  if (value !== undefined && typeof value !== type) throw argumentError(fn, `${name} must be a ${type}, got ${describeValue(value)}`, status);
}
