/**
 * `fleetkit/cbor`: a CBOR (RFC 8949) codec built on cbor-x, for links where every byte counts.
 * Values are restricted to the JSON data model so that `jsonCodec` and `cborCodec` are
 * interchangeable: byte strings, tags (dates, bigints…) and `undefined` are rejected on decode.
 *
 * @module
 */
import { Encoder } from 'cbor-x';
import { FleetError } from './errors.js';
import { checkJson } from './json.js';
import { invalidPayload, jsonModelProblem, resolveCodecOptions, tooLarge, type Codec, type CodecOptions } from './protocol/codec.js';

export type { Codec, CodecOptions } from './protocol/codec.js';

// "__proto__" in ASCII: cbor-x silently renames that key to "__proto_", so it cannot be seen
// after decoding; CBOR text strings are raw UTF-8 (cbor-x refuses chunked ones), so a byte
// search finds every occurrence. Only payloads that contain it take the slow path that tells a
// key from an ordinary string value.
const PROTO = new TextEncoder().encode('__proto__');

function containsProto(bytes: Uint8Array): boolean {
  const first = PROTO[0] as number;
  const last = bytes.length - PROTO.length;
  outer: for (let i = bytes.indexOf(first); i !== -1 && i <= last; i = bytes.indexOf(first, i + 1)) {
    for (let k = 1; k < PROTO.length; k++) if (bytes[i + k] !== PROTO[k]) continue outer;
    return true;
  }
  return false;
}

function decodeWith(decoder: Encoder, bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes) as unknown;
  } catch (cause) {
    throw invalidPayload('cborCodec', cause instanceof Error ? cause.message : String(cause), cause);
  }
}

function hasProtoKey(value: unknown, depth = 0): boolean {
  if (depth > 256 || typeof value !== 'object' || value === null) return false;
  if (value instanceof Map) {
    for (const [k, v] of value) if (k === '__proto__' || hasProtoKey(v, depth + 1)) return true;
    return false;
  }
  if (Array.isArray(value)) return value.some((v) => hasProtoKey(v, depth + 1));
  return false;
}

/** A copy of a JSON-model value with every object a plain one (the value was checked). */
function plain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(plain);
  const out: Record<string, unknown> = {};
  for (const key in value) out[key] = plain((value as Record<string, unknown>)[key]);
  return out;
}

/**
 * Creates a CBOR codec with its own size and depth caps. Maps are encoded with string keys and
 * without cbor-x's record extension, so any standard CBOR decoder (tinycbor, QCBOR, cbor2) reads
 * the output.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a bad option.
 * @example
 * ```ts
 * import { createCborCodec } from 'fleetkit/cbor';
 * const codec = createCborCodec({ maxBytes: 51 }); // one LoRa DR0 frame
 * ```
 */
export function createCborCodec(options: CodecOptions = {}): Codec {
  const { maxBytes, maxDepth } = resolveCodecOptions('cborCodec', options);
  const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
  // Decodes maps as Map objects, whose keys cbor-x leaves untouched.
  const exact = new Encoder({ useRecords: false, mapsAsObjects: false, tagUint8Array: false });
  return {
    name: 'cbor',
    contentType: 'application/cbor',
    maxBytes,
    encode(value: unknown): Uint8Array {
      // cbor-x would write NaN, undefined, dates, maps, byte strings and bigints that decode refuses:
      // accept exactly the JSON data model, as jsonCodec does.
      const problem = jsonModelProblem('cborCodec', value, maxDepth);
      if (problem !== undefined) throw problem;
      let bytes: Uint8Array;
      try {
        bytes = cbor.encode(value);
      } catch {
        // cbor-x cannot write objects without a prototype: write plain copies of them.
        bytes = cbor.encode(plain(value));
      }
      if (bytes.byteLength > maxBytes) throw tooLarge('cborCodec', bytes.byteLength, maxBytes, 'encode');
      return bytes;
    },
    decode(bytes: Uint8Array): unknown {
      if (!(bytes instanceof Uint8Array)) throw invalidPayload('cborCodec', `expected a Uint8Array, got ${typeof bytes}`);
      if (bytes.byteLength > maxBytes) throw tooLarge('cborCodec', bytes.byteLength, maxBytes, 'decode');
      if (bytes.byteLength === 0) throw invalidPayload('cborCodec', 'the payload is empty');
      if (containsProto(bytes) && hasProtoKey(decodeWith(exact, bytes))) {
        throw invalidPayload('cborCodec', 'key "__proto__" is not allowed (it could reach an object prototype); rename the key');
      }
      const value = decodeWith(cbor, bytes);
      const problem = checkJson(value, { maxDepth });
      if (problem !== undefined) throw invalidPayload('cborCodec', problem.message, problem);
      return value;
    },
  };
}

/**
 * The default CBOR codec: 256 KiB cap, depth 64, JSON data model only.
 *
 * @example
 * ```ts
 * import { cborCodec } from 'fleetkit/cbor';
 * const bytes = cborCodec.encode({ ts: 1, values: { temp: 21.5 } }); // smaller than JSON
 * cborCodec.decode(bytes);
 * ```
 */
export const cborCodec: Codec = createCborCodec();
