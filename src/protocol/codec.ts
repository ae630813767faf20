/**
 * Codecs turn message values into bytes and back. `jsonCodec` lives here (no dependencies);
 * `cborCodec` lives in `fleetkit/cbor` so that only its users load cbor-x.
 */
import { FleetError, isFleetError } from '../errors.js';
import { checkJson, FORBIDDEN_KEYS } from '../json.js';

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

/** @internal Resolves and checks codec options. */
export function resolveCodecOptions(name: string, options: CodecOptions): { maxBytes: number; maxDepth: number } {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_MESSAGE_DEPTH;
  if (!Number.isInteger(maxBytes) || maxBytes < 1) {
    throw new FleetError('INVALID_ARGUMENT', `${name}: maxBytes must be a positive integer, got ${String(maxBytes)}`);
  }
  if (!Number.isInteger(maxDepth) || maxDepth < 1) {
    throw new FleetError('INVALID_ARGUMENT', `${name}: maxDepth must be a positive integer, got ${String(maxDepth)}`);
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

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
// On Node, Buffer.from is ~3× faster than TextEncoder for message-sized strings (and still a Uint8Array).
const NodeBuffer = (globalThis as { Buffer?: { from(text: string, encoding: 'utf8'): Uint8Array } }).Buffer;
const toUtf8: (text: string) => Uint8Array = NodeBuffer === undefined ? (text) => encoder.encode(text) : (text) => NodeBuffer.from(text, 'utf8');

/**
 * True when `text` may contain a forbidden key. A key reaches JSON.parse's output either
 * literally or spelled with escapes, so text with no backslash and none of the words is clean.
 */
function mayHaveForbiddenKey(text: string): boolean {
  if (text.indexOf('\\') !== -1) return true;
  for (const key of FORBIDDEN_KEYS) if (text.indexOf(key) !== -1) return true;
  return false;
}

/** Nesting depth is at most the number of `{` and `[` in the text; counts up to `limit + 1`. */
function openersAtMost(text: string, limit: number): boolean {
  let n = 0;
  for (const c of ['{', '[']) {
    for (let i = text.indexOf(c); i !== -1; i = text.indexOf(c, i + 1)) if (++n > limit) return false;
  }
  return true;
}

/**
 * Creates a JSON codec (UTF-8 JSON text) with its own size and depth caps.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a bad option.
 * @example
 * ```ts
 * const small = createJsonCodec({ maxBytes: 4096 });
 * const bytes = small.encode({ ts: Date.now(), values: { temp: 21.5 } });
 * ```
 */
export function createJsonCodec(options: CodecOptions = {}): Codec {
  const { maxBytes, maxDepth } = resolveCodecOptions('jsonCodec', options);
  return {
    name: 'json',
    contentType: 'application/json',
    maxBytes,
    encode(value: unknown): Uint8Array {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (cause) {
        throw new FleetError('INVALID_PAYLOAD', `jsonCodec: cannot encode the value: ${cause instanceof Error ? cause.message : String(cause)}`, { status: 400, cause });
      }
      if (text === undefined) throw new FleetError('INVALID_PAYLOAD', `jsonCodec: a ${typeof value} has no JSON form; encode an object, array or scalar`, { status: 400 });
      const bytes = toUtf8(text);
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
      // The full walk costs as much as JSON.parse itself; skip it when the text proves it unneeded.
      if (!mayHaveForbiddenKey(text) && openersAtMost(text, maxDepth)) return value;
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
