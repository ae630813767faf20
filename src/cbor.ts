/**
 * `fleetkit/cbor`: a CBOR (RFC 8949) codec for links where every byte counts; it encodes with
 * cbor-x and decodes with a one-pass decoder for the JSON subset of CBOR. Values are restricted
 * to the JSON data model so that `jsonCodec` and `cborCodec` are interchangeable: byte strings,
 * tags (dates, bigints…), `undefined`, NaN and ±Infinity are refused either way.
 *
 * @module
 */
import { Encoder } from 'cbor-x';
import { FleetError } from './errors.js';
import { invalidPayload, jsonModelProblem, resolveCodecOptions, tooLarge, type Codec, type CodecOptions } from './protocol/codec.js';

export type { Codec, CodecOptions } from './protocol/codec.js';

// ---- Decoding -------------------------------------------------------------------------------
// A decoder for exactly the CBOR that encodes a JSON value, in one pass: validation happens while
// decoding, so no second walk over the result and no second decode to find "__proto__" keys
// (cbor-x silently renames them). It reads every well-formed encoding of such a value — any
// argument width, half, single and double floats, definite and indefinite arrays, maps and text
// strings, a leading self-describe tag 55799 — and refuses everything else.

/** A failure while decoding; `reason` is the FleetError code of a value outside the JSON model. */
class Refusal {
  constructor(
    readonly why: string,
    readonly reason: 'INVALID_JSON' | 'FORBIDDEN_KEY' | 'TOO_DEEP' | undefined,
  ) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);
const BREAK = Symbol('break');
const TWO_32 = 0x1_0000_0000;

// The decoder's state for one call (decode is synchronous and never calls out).
let src: Uint8Array = new Uint8Array(0);
let pos = 0;
let depthLimit = 0;
// path[d] is the key or index being decoded at container depth d, and `at` the depth being
// decoded (left where a refusal happened): for error messages only.
let path: (string | number)[] = [];
let at = 0;

function need(n: number): void {
  if (pos + n > src.length) throw new Refusal('the payload ends in the middle of an item', undefined);
}

// Big-endian integers and floats are read through a scratch buffer: cheaper than a DataView per call.
const scratch = new Uint8Array(8);
const scratchF64 = new Float64Array(scratch.buffer);
const scratchF32 = new Float32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function load(n: number): void {
  if (LITTLE_ENDIAN) for (let i = 0; i < n; i++) scratch[i] = src[pos + n - 1 - i] as number;
  else for (let i = 0; i < n; i++) scratch[i] = src[pos + i] as number;
  pos += n;
}

function uint32(): number {
  const v = (src[pos] as number) * 0x100_0000 + (((src[pos + 1] as number) << 16) | ((src[pos + 2] as number) << 8) | (src[pos + 3] as number));
  pos += 4;
  return v;
}

/** Reads the argument of a head whose additional information is `ai` (< 28); integers over 2^53 - 1 are refused. */
function argument(ai: number): number {
  if (ai < 24) return ai;
  if (ai === 24) {
    need(1);
    return src[pos++] as number;
  }
  if (ai === 25) {
    need(2);
    const v = ((src[pos] as number) << 8) | (src[pos + 1] as number);
    pos += 2;
    return v;
  }
  if (ai === 26) {
    need(4);
    return uint32();
  }
  if (ai === 27) {
    need(8);
    const hi = uint32();
    const lo = uint32();
    if (hi > 0x1f_ffff) throw new Refusal('an integer beyond 2^53 - 1 has no exact JSON number', 'INVALID_JSON');
    return hi * TWO_32 + lo;
  }
  throw new Refusal(`additional information ${ai} is reserved`, undefined);
}

// Short ASCII strings (keys, units, versions) are the common case: build them from their code
// units in one call. Map keys repeat from message to message: a direct-mapped cache indexed by
// length, first, middle and last byte returns the same string without building it again.
const charCodes: number[] = [];
const SHORT = 24;
const CACHE_SLOTS = 4096;
const cacheBytes: (Uint8Array | undefined)[] = new Array<Uint8Array | undefined>(CACHE_SLOTS);
const cacheText: string[] = new Array<string>(CACHE_SLOTS);

function text(len: number, key: boolean): string {
  need(len);
  const start = pos;
  pos += len;
  if (!key || len > SHORT || len === 0) return len < 64 ? ascii(start, len) : slowText(start, len);
  const slot = ((len << 7) ^ ((src[start] as number) << 4) ^ ((src[start + (len >> 1)] as number) << 2) ^ (src[start + len - 1] as number)) & (CACHE_SLOTS - 1);
  const cached = cacheBytes[slot];
  if (cached !== undefined && cached.length === len) {
    let i = 0;
    while (i < len && cached[i] === src[start + i]) i++;
    if (i === len) return cacheText[slot] as string;
  }
  const s = ascii(start, len);
  // Only keys that passed this check are cached: a cached key needs no check.
  if (FORBIDDEN.has(s)) forbidden(s);
  cacheBytes[slot] = src.slice(start, start + len);
  cacheText[slot] = s;
  return s;
}

function ascii(start: number, len: number): string {
  charCodes.length = len;
  for (let i = 0; i < len; i++) {
    const b = src[start + i] as number;
    if (b >= 0x80) return slowText(start, len);
    charCodes[i] = b;
  }
  return String.fromCharCode.apply(null, charCodes);
}

function slowText(start: number, len: number): string {
  try {
    return utf8.decode(src.subarray(start, start + len));
  } catch {
    throw new Refusal('a text string is not valid UTF-8', undefined);
  }
}

/** Reads a text string whose head byte was already read. */
function forbidden(key: string): never {
  path[at] = key;
  throw new Refusal(`key "${key}" is not allowed (it could reach an object prototype); rename the key`, 'FORBIDDEN_KEY');
}

function textItem(ai: number, key: boolean): string {
  if (ai !== 31) return text(argument(ai), key);
  const s = chunkedText();
  if (key && FORBIDDEN.has(s)) forbidden(s);
  return s;
}

function chunkedText(): string {
  // Indefinite length: definite-length text chunks up to a break.
  let s = '';
  for (;;) {
    need(1);
    const ib = src[pos++] as number;
    if (ib === 0xff) return s;
    if (ib >> 5 !== 3 || (ib & 31) === 31) throw new Refusal('an indefinite-length text string holds something other than text chunks', undefined);
    s += text(argument(ib & 31), false);
  }
}

function halfFloat(): number {
  need(2);
  const h = ((src[pos] as number) << 8) | (src[pos + 1] as number);
  pos += 2;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  const v = exp === 0 ? mant * 2 ** -24 : exp === 31 ? (mant === 0 ? Infinity : NaN) : (mant + 1024) * 2 ** (exp - 25);
  return h & 0x8000 ? -v : v;
}

function finite(v: number): number {
  if (!Number.isFinite(v)) throw new Refusal(`${String(v)} is not a JSON number`, 'INVALID_JSON');
  return v;
}

function item(depth: number): unknown {
  need(1);
  const ib = src[pos++] as number;
  const ai = ib & 31;
  switch (ib >> 5) {
    case 0:
      return argument(ai);
    case 1:
      return -1 - argument(ai);
    case 2:
      throw new Refusal('a byte string is not a JSON value; send text, or encode the bytes (e.g. base64)', 'INVALID_JSON');
    case 3:
      return textItem(ai, false);
    case 4:
      return array(ai, depth + 1);
    case 5:
      return map(ai, depth + 1);
    case 6:
      throw new Refusal(`a CBOR tag (${argument(ai)}) is not a JSON value (dates, bigints, byte strings…)`, 'INVALID_JSON');
    default:
      return simple(ai);
  }
}

function simple(ai: number): unknown {
  switch (ai) {
    case 20:
      return false;
    case 21:
      return true;
    case 22:
      return null;
    case 23:
      throw new Refusal('undefined is not a JSON value', 'INVALID_JSON');
    case 25:
      return finite(halfFloat());
    case 26:
      need(4);
      load(4);
      return finite(scratchF32[0] as number);
    case 27:
      need(8);
      load(8);
      return finite(scratchF64[0] as number);
    case 31:
      return BREAK;
    default:
      throw new Refusal(`the CBOR simple value ${ai < 24 ? ai : 'in the next byte'} is not a JSON value`, 'INVALID_JSON');
  }
}

function deeper(depth: number): void {
  if (depth > depthLimit) throw new Refusal(`the nesting is deeper than ${depthLimit} levels`, 'TOO_DEEP');
}

function array(ai: number, depth: number): unknown[] {
  deeper(depth);
  at = depth;
  if (ai === 31) {
    const out: unknown[] = [];
    for (;;) {
      path[depth] = out.length;
      const v = item(depth);
      if (v === BREAK) {
        at = depth - 1;
        return out;
      }
      at = depth;
      out.push(v);
    }
  }
  const len = argument(ai);
  // Each element takes at least one byte: refuse a length the payload cannot hold before allocating.
  need(len);
  const out: unknown[] = new Array<unknown>(len);
  for (let i = 0; i < len; i++) {
    path[depth] = i;
    const v = item(depth);
    if (v === BREAK) throw new Refusal('a break inside a definite-length array', undefined);
    at = depth;
    out[i] = v;
  }
  at = depth - 1;
  return out;
}

function map(ai: number, depth: number): Record<string, unknown> {
  deeper(depth);
  at = depth;
  const out: Record<string, unknown> = {};
  const len = ai === 31 ? -1 : argument(ai);
  if (len > 0) need(len * 2);
  for (let i = 0; i !== len; i++) {
    need(1);
    const kb = src[pos++] as number;
    if (kb === 0xff && len === -1) break;
    if (kb >> 5 !== 3) {
      at = depth - 1; // the map itself: the key has no name to show
      throw new Refusal('a map key that is not a text string has no JSON form', 'INVALID_JSON');
    }
    const key = textItem(kb & 31, true);
    path[depth] = key;
    const v = item(depth);
    if (v === BREAK) throw new Refusal('a break where a map value belongs', undefined);
    at = depth;
    out[key] = v;
  }
  at = depth - 1;
  return out;
}

function pathText(depth: number): string {
  let out = '$';
  for (let d = 1; d <= depth; d++) {
    const step = path[d] as string | number;
    out += typeof step === 'number' ? `[${step}]` : /^[A-Za-z_$][\w$]*$/.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`;
  }
  return out;
}

/** Decodes `bytes` (one CBOR item encoding a JSON value) or throws INVALID_PAYLOAD. */
function decodeJsonCbor(bytes: Uint8Array, maxDepth: number): unknown {
  src = bytes;
  pos = 0;
  depthLimit = maxDepth;
  path = [];
  at = 0;
  try {
    // The self-describe tag 55799 (d9 d9 f7) only marks the data as CBOR: skip it at the start.
    if (bytes[0] === 0xd9 && bytes[1] === 0xd9 && bytes[2] === 0xf7) pos = 3;
    const value = item(0);
    if (value === BREAK) throw new Refusal('a break outside an indefinite-length item', undefined);
    if (pos !== src.length) throw new Refusal(`${src.length - pos} bytes follow the CBOR item`, undefined);
    return value;
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const where = pathText(at);
    const reason = error.reason === undefined ? undefined : new FleetError(error.reason, `${error.why} at ${where}`, { status: 400, details: { path: where }, captureStack: false });
    throw invalidPayload('cborCodec', `${error.why} at ${where}`, reason);
  } finally {
    src = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

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
 * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
 * @example
 * ```ts
 * import { createCborCodec } from 'fleetkit/cbor';
 * const codec = createCborCodec({ maxBytes: 51 }); // one LoRa DR0 frame
 * ```
 */
export function createCborCodec(options: CodecOptions = {}): Codec {
  const { maxBytes, maxDepth } = resolveCodecOptions('createCborCodec', options);
  const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
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
      return decodeJsonCbor(bytes, maxDepth);
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
