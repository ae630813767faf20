/**
 * Codecs turn message values into bytes and back. `jsonCodec` lives here (no dependencies);
 * `cborCodec` lives in `fleetkit/cbor` so that only its users load cbor-x.
 */
import { describeValue } from '../describe-value.js';
import { FleetError, isFleetError } from '../errors.js';
import { checkJson, FORBIDDEN_KEYS } from '../json.js';
import { utf8Bytes } from '../utf8.js';

/**
 * Encodes values to bytes and decodes bytes to `unknown` (validate the result with a wire schema,
 * e.g. `parseMessage(telemetryMessageSchema, codec.decode(bytes))`).
 */
export interface Codec {
  /** Short name, e.g. `"json"` or `"cbor"`. */
  readonly name: string;
  /** MIME type of the encoding, e.g. `"application/json"`. */
  readonly contentType: string;
  /** The largest encoded message accepted either way, in bytes. */
  readonly maxBytes: number;
  /**
   * Encodes `value`.
   *
   * @throws FleetError `INVALID_PAYLOAD` when the value cannot be encoded,
   *   `PAYLOAD_TOO_LARGE` (413) when the result is larger than `maxBytes`.
   */
  encode(value: unknown): Uint8Array;
  /**
   * Decodes `bytes`. Never returns objects carrying `__proto__`, `constructor` or `prototype` keys.
   *
   * @throws FleetError `INVALID_PAYLOAD` (400) for malformed bytes or forbidden keys,
   *   `PAYLOAD_TOO_LARGE` (413) when `bytes` is larger than `maxBytes`.
   */
  decode(bytes: Uint8Array): unknown;
}

/** Options shared by the codec factories. */
export interface CodecOptions {
  /**
   * The largest encoded message, in bytes, either way.
   * @defaultValue 262,144 (256 KiB; pick lower for constrained links)
   */
  readonly maxBytes?: number;
  /**
   * The deepest nesting accepted on decode.
   * @defaultValue 64
   */
  readonly maxDepth?: number;
}

/** Default {@link CodecOptions.maxBytes}. */
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
/** Default {@link CodecOptions.maxDepth}. */
export const DEFAULT_MAX_MESSAGE_DEPTH = 64;

/** @internal Resolves and checks the options of the codec factory `fn` (e.g. `"createJsonCodec"`). */
export function resolveCodecOptions(fn: string, options: unknown): { maxBytes: number; maxDepth: number } {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FleetError('INVALID_ARGUMENT', `${fn}(options): options must be an object such as { maxBytes: 4096, maxDepth: 32 } (or omitted for the defaults), got ${describeValue(options)}`, { status: 400 });
  }
  const maxBytes = (options as CodecOptions).maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxDepth = (options as CodecOptions).maxDepth ?? DEFAULT_MAX_MESSAGE_DEPTH;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new FleetError('INVALID_ARGUMENT', `${fn}(options): maxBytes must be a positive integer, got ${describeValue(maxBytes)}`, { status: 400 });
  }
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new FleetError('INVALID_ARGUMENT', `${fn}(options): maxDepth must be a positive integer, got ${describeValue(maxDepth)}`, { status: 400 });
  }
  return { maxBytes, maxDepth };
}

/** @internal The error for a message over the size cap. */
export function tooLarge(codec: string, size: number, maxBytes: number, direction: 'encode' | 'decode'): FleetError {
  return new FleetError('PAYLOAD_TOO_LARGE', `${codec}: the ${direction === 'encode' ? 'encoded message' : 'received payload'} is ${size} bytes, over the ${maxBytes}-byte cap; send less per message or raise maxBytes`, {
    status: 413,
    details: { size, maxBytes, direction },
  });
}

/** @internal Wraps a decoding failure as `INVALID_PAYLOAD`, keeping the original code in `details.reason`. */
export function invalidPayload(codec: string, why: string, cause?: unknown): FleetError {
  const reason = isFleetError(cause) ? cause.code : undefined;
  return new FleetError('INVALID_PAYLOAD', `${codec}: malformed payload: ${why}`, {
    status: 400,
    details: reason === undefined ? {} : { reason, ...(cause as FleetError).details },
    cause,
  });
}

/** Why a value is outside the JSON data model; `path` is built on the way back up, from the leaf. */
interface ModelProblem {
  readonly reason: 'INVALID_JSON' | 'FORBIDDEN_KEY' | 'TOO_DEEP';
  readonly why: string;
  readonly path: (string | number)[];
}

// String.prototype.isWellFormed is ES2024 (Node 20 has it); the compile target's lib is older.
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function problem(reason: ModelProblem['reason'], why: string): ModelProblem {
  return { reason, why, path: [] };
}

function describe(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object with a prototype';
}

function scalarProblem(value: unknown): ModelProblem | undefined {
  switch (typeof value) {
    case 'string':
      return wellFormed(value) ? undefined : problem('INVALID_JSON', 'a string with a lone surrogate is not valid Unicode');
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : problem('INVALID_JSON', `${String(value)} is not a JSON number`);
    default:
      return problem('INVALID_JSON', `${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`} is not a JSON value`);
  }
}

function modelWalk(value: unknown, depth: number, maxDepth: number): ModelProblem | undefined {
  if (typeof value !== 'object') return scalarProblem(value);
  if (value === null) return undefined;
  if (depth > maxDepth) return problem('TOO_DEEP', `the nesting is deeper than ${maxDepth} levels (or the value contains a cycle)`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return { ...problem('INVALID_JSON', 'a sparse array is not JSON'), path: [i] };
      const child: unknown = value[i];
      const p = typeof child === 'object' ? modelWalk(child, depth + 1, maxDepth) : typeof child === 'number' && Number.isFinite(child) ? undefined : scalarProblem(child);
      if (p !== undefined) {
        p.path.push(i);
        return p;
      }
    }
    return undefined;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return problem('INVALID_JSON', `${describe(value)} is not a JSON value; convert it to plain objects, arrays, strings, finite numbers, booleans or null`);
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key)) return { ...problem('FORBIDDEN_KEY', `key "${key}" is not allowed (it could reach an object prototype); rename the key`), path: [key] };
    if (!wellFormed(key)) return { ...problem('INVALID_JSON', 'a key with a lone surrogate is not valid Unicode'), path: [key] };
    const child: unknown = (value as Record<string, unknown>)[key];
    const p = typeof child === 'object' ? modelWalk(child, depth + 1, maxDepth) : typeof child === 'number' && Number.isFinite(child) ? undefined : scalarProblem(child);
    if (p !== undefined) {
      p.path.push(key);
      return p;
    }
  }
  return undefined;
}

/**
 * @internal Checks that `value` is in the JSON data model both codecs share: null, booleans,
 * finite numbers, well-formed strings, dense arrays and plain objects (or objects without a
 * prototype) of those, no forbidden key, nesting within `maxDepth`. Symbol keys are ignored, as
 * `JSON.stringify` ignores them.
 *
 * @returns `undefined`, or the `INVALID_PAYLOAD` error to throw (the reason in `details.reason`,
 *   where in `details.path`).
 */
export function jsonModelProblem(codec: string, value: unknown, maxDepth: number): FleetError | undefined {
  const p = modelWalk(value, 1, maxDepth);
  if (p === undefined) return undefined;
  let path = '$';
  for (let i = p.path.length - 1; i >= 0; i--) {
    const step = p.path[i] as string | number;
    path += typeof step === 'number' ? `[${step}]` : /^[A-Za-z_$][\w$]*$/.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
  }
  return new FleetError('INVALID_PAYLOAD', `${codec}: cannot encode the value: at ${path}, ${p.why}`, { status: 400, details: { reason: p.reason, path } });
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * True when `text` may contain a forbidden key. A key reaches JSON.parse's output either
 * literally or spelled with escapes, so text with no backslash and neither "proto" (in
 * `__proto__` and `prototype`) nor "constructor" is clean.
 */
function mayHaveForbiddenKey(text: string): boolean {
  return text.indexOf('\\') !== -1 || text.indexOf('proto') !== -1 || text.indexOf('constructor') !== -1;
}

/**
 * True when `text` may hold a number that JSON.parse turns into ±Infinity. That takes an exponent
 * (always right after a digit) or an integer part of at least 309 digits — and such a run of
 * digits covers one of the positions 0, 308, 616, …, so only those need a look.
 */
function mayOverflow(text: string): boolean {
  for (let i = text.indexOf('e'); i !== -1; i = text.indexOf('e', i + 1)) if (isDigit(text.charCodeAt(i - 1))) return true;
  for (let i = text.indexOf('E'); i !== -1; i = text.indexOf('E', i + 1)) if (isDigit(text.charCodeAt(i - 1))) return true;
  for (let i = 0; i < text.length; i += 308) if (isDigit(text.charCodeAt(i)) && digitRun(text, i) >= 309) return true;
  return false;
}

/** The length of the run of digits around position `i`. */
function digitRun(text: string, i: number): number {
  let start = i;
  let end = i + 1;
  while (start > 0 && isDigit(text.charCodeAt(start - 1))) start--;
  while (end < text.length && isDigit(text.charCodeAt(end))) end++;
  return end - start;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/**
 * True when the nesting of `text` is at most `limit`: nesting d takes d openers and d closers, so
 * text shorter than 2 × (limit + 1) is always fine; otherwise count `{` and `[` up to `limit + 1`.
 */
function depthAtMost(text: string, limit: number): boolean {
  if (text.length < 2 * (limit + 1)) return true;
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > limit) return false;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > limit) return false;
  return true;
}

/**
 * Creates a JSON codec (UTF-8 JSON text) with its own size and depth caps.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
 * @example
 * ```ts
 * const small = createJsonCodec({ maxBytes: 4096 });
 * const bytes = small.encode({ ts: Date.now(), values: { temp: 21.5 } });
 * ```
 */
export function createJsonCodec(options: CodecOptions = {}): Codec {
  const { maxBytes, maxDepth } = resolveCodecOptions('createJsonCodec', options);
  return {
    name: 'json',
    contentType: 'application/json',
    maxBytes,
    encode(value: unknown): Uint8Array {
      // JSON.stringify would quietly turn NaN into null, drop undefined and call toJSON: refuse
      // everything outside the JSON data model instead, exactly as cborCodec does.
      const problem = jsonModelProblem('jsonCodec', value, maxDepth);
      if (problem !== undefined) throw problem;
      const bytes = utf8Bytes(JSON.stringify(value));
      if (bytes.byteLength > maxBytes) throw tooLarge('jsonCodec', bytes.byteLength, maxBytes, 'encode');
      return bytes;
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array)) throw invalidPayload('jsonCodec', `expected a Uint8Array, got ${typeof bytes}`);
      if (bytes.byteLength > maxBytes) throw tooLarge('jsonCodec', bytes.byteLength, maxBytes, 'decode');
      let text: string;
      let value: unknown;
      try {
        text = decoder.decode(bytes);
      } catch (cause) {
        throw invalidPayload('jsonCodec', 'the payload is not valid UTF-8 text', cause);
      }
      try {
        value = JSON.parse(text);
      } catch (cause) {
        throw invalidPayload('jsonCodec', cause instanceof Error ? cause.message : String(cause), new FleetError('INVALID_JSON', 'Invalid JSON', { status: 400, cause }));
      }
      // Skip the walk when the text proves it unneeded: no forbidden key, no deeper nesting, no
      // number that overflows to Infinity.
      if (!mayHaveForbiddenKey(text) && depthAtMost(text, maxDepth) && !mayOverflow(text)) return value;
      const problem = checkJson(value, { maxDepth });
      if (problem !== undefined) throw invalidPayload('jsonCodec', problem.message, problem);
      return value;
    },
  };
}

/**
 * The default JSON codec: UTF-8 JSON, 256 KiB cap, depth 64, forbidden keys rejected.
 *
 * @example
 * ```ts
 * const bytes = jsonCodec.encode({ ts: 1, values: { temp: 21.5 } });
 * jsonCodec.decode(bytes); // { ts: 1, values: { temp: 21.5 } }
 * ```
 */
export const jsonCodec: Codec = createJsonCodec();
