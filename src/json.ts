/**
 * JSON value types and safe helpers: a parser that never lets `__proto__`, `constructor` or
 * `prototype` reach an object prototype, a validator for values that arrive already decoded
 * (CBOR, in-process calls), and a deep-equal that compares numbers by value.
 *
 * @module
 */
import { describeValue } from './describe-value.js';
import { FleetError } from './errors.js';

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** Any JSON value. */
export type JsonValue = JsonPrimitive | JsonArray | JsonObject;
/** A JSON array. */
export type JsonArray = JsonValue[];
/** A JSON object (a plain record of JSON values). */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Keys that fleetkit refuses in any JSON object, because assigning them with `obj[key] = …`
 * would reach an object's prototype.
 */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Limits for {@link parseJson} and {@link checkJson}. */
export interface JsonLimits {
  /**
   * Largest accepted input in bytes (UTF-8).
   * @defaultValue 1 MiB
   */
  readonly maxBytes?: number;
  /**
   * Deepest accepted nesting of containers (the top-level value is depth 1).
   * @defaultValue 64
   */
  readonly maxDepth?: number;
}

const DEFAULT_MAX_BYTES = 1024 * 1024;
const DEFAULT_MAX_DEPTH = 64;
const decoder = new TextDecoder('utf-8', { fatal: true });

/** True for a JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses JSON text (or UTF-8 bytes) into a {@link JsonValue}, rejecting forbidden keys,
 * inputs over `maxBytes` and nesting deeper than `maxDepth`.
 *
 * @throws FleetError `INVALID_JSON` (malformed text or bytes that are not UTF-8, or neither a string nor bytes),
 *   `FORBIDDEN_KEY`, `PAYLOAD_TOO_LARGE` or `TOO_DEEP`; all with status 400/413.
 *   `INVALID_ARGUMENT` when a limit is not a number ≥ 1.
 */
export function parseJson(input: string | Uint8Array, limits: JsonLimits = {}): JsonValue {
  const maxBytes = limit('parseJson', 'maxBytes', limits, DEFAULT_MAX_BYTES);
  const maxDepth = limit('parseJson', 'maxDepth', limits, DEFAULT_MAX_DEPTH);
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new FleetError('INVALID_JSON', `Invalid JSON: expected text (a string) or UTF-8 bytes (a Uint8Array), got ${describeValue(input)}`, { status: 400 });
  }
  // A string of n UTF-16 code units is at most 3n UTF-8 bytes: count exactly only when it can matter.
  const size = typeof input === 'string' ? (input.length * 3 > maxBytes ? utf8ByteLength(input) : input.length) : input.byteLength;
  if (size > maxBytes) {
    throw new FleetError('PAYLOAD_TOO_LARGE', `JSON input is larger than ${maxBytes} bytes; send a smaller document or raise maxBytes`, {
      status: 413,
      details: { maxBytes },
    });
  }
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = decoder.decode(input);
    } catch (cause) {
      throw new FleetError('INVALID_JSON', 'Invalid JSON: the payload is not valid UTF-8 text', { status: 400, cause });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FleetError('INVALID_JSON', `Invalid JSON: ${reason}`, { status: 400, cause });
  }
  const problem = walk(value, 1, maxDepth, '$');
  if (problem !== undefined) throw problem;
  return value as JsonValue;
}

/**
 * The number of bytes `s` takes in UTF-8 (lone surrogates count as the 3-byte replacement).
 *
 * @throws FleetError `INVALID_ARGUMENT` when `s` is not a string.
 */
export function utf8ByteLength(s: string): number {
  if (typeof s !== 'string') throw new FleetError('INVALID_ARGUMENT', `utf8ByteLength: expected a string, got ${describeValue(s)}`, { status: 400 });
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Checks that an already-decoded value is plain JSON: only null, booleans, finite numbers,
 * strings, arrays and plain objects; no forbidden keys; nesting within `maxDepth` (a cyclic
 * value is reported as too deep). Symbol keys are ignored, as `JSON.stringify` ignores them.
 *
 * @returns `undefined` when the value is valid, otherwise the {@link FleetError} describing
 *   the first problem found (`INVALID_JSON`, `FORBIDDEN_KEY` or `TOO_DEEP`, status 400), with
 *   its path in `details.path`.
 * @throws FleetError `INVALID_ARGUMENT` when `maxDepth` is not a number ≥ 1.
 */
export function checkJson(value: unknown, limits: Pick<JsonLimits, 'maxDepth'> = {}): FleetError | undefined {
  return walk(value, 1, limit('checkJson', 'maxDepth', limits, DEFAULT_MAX_DEPTH), '$');
}

/** Reads one limit: absent means the default; anything but a number ≥ 1 is the caller's mistake. */
function limit(fn: string, name: 'maxBytes' | 'maxDepth', limits: JsonLimits | undefined, fallback: number): number {
  if (typeof limits !== 'object' || limits === null) {
    if (limits === undefined) return fallback;
    throw new FleetError('INVALID_ARGUMENT', `${fn}: limits must be an object such as { ${name}: ${fallback} }, got ${describeValue(limits)}`, { status: 400 });
  }
  const value = limits[name];
  if (value === undefined) return fallback;
  if (typeof value === 'number' && value >= 1) return value;
  throw new FleetError('INVALID_ARGUMENT', `${fn}: ${name} must be a number ≥ 1, got ${describeValue(value)}`, { status: 400, details: { [name]: describeValue(value) } });
}

// Paths are built only when a problem is found (on the way back up), keeping the valid path cheap.
function walk(value: unknown, depth: number, maxDepth: number, path: string): FleetError | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : notJson(path, `${String(value)} is not a JSON number`);
    case 'object':
      break;
    default:
      return notJson(path, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) return undefined;
  if (depth > maxDepth) {
    return new FleetError('TOO_DEEP', `JSON nesting is deeper than ${maxDepth} levels at ${path} (or the value contains a cycle); flatten the document`, {
      status: 400,
      details: { path, maxDepth },
      captureStack: false,
    });
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return notJson(`${path}[${i}]`, 'sparse arrays are not JSON');
      const err = walk(value[i], depth + 1, maxDepth, `${path}[${i}]`);
      if (err !== undefined) return err;
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return notJson(path, 'only plain objects are JSON (got a class instance)');
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key)) return forbiddenKey(key, path);
    const child = (value as Record<string, unknown>)[key];
    // scalars are checked inline: no recursion, no path string for the common case
    if (typeof child === 'string' || typeof child === 'boolean' || child === null) continue;
    if (typeof child === 'number' && Number.isFinite(child)) continue;
    const err = walk(child, depth + 1, maxDepth, `${path}.${key}`);
    if (err !== undefined) return err;
  }
  return undefined;
}

function notJson(path: string, why: string): FleetError {
  return new FleetError('INVALID_JSON', `Invalid JSON at ${path}: ${why}`, { status: 400, details: { path }, captureStack: false });
}

/** The error for a forbidden key at `path` (shared with the shadow engine). */
/** @internal */
export function forbiddenKey(key: string, path: string): FleetError {
  return new FleetError('FORBIDDEN_KEY', `Key "${key}" at ${path} is not allowed (it could reach an object prototype); rename the key`, {
    status: 400,
    details: { key, path },
    captureStack: false,
  });
}

/**
 * Deep equality of two JSON values: numbers compare by value (`1` equals `1.0`), object key
 * order does not matter, arrays compare element by element.
 */
export function jsonEqual(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  let count = 0;
  for (const key in a) {
    if (!Object.prototype.hasOwnProperty.call(b, key)) return false;
    if (!jsonEqual(a[key], b[key])) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

/** A deep copy of a JSON value (plain objects and arrays only). */
export function cloneJson<T extends JsonValue>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => cloneJson(v)) as T;
  const out: JsonObject = {};
  for (const key in value) {
    const v = cloneJson(value[key] as JsonValue);
    // JSON.parse can produce an own "__proto__" key; plain assignment would set the prototype instead.
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out as T;
}
