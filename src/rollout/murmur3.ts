/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's reference `MurmurHash3_x86_32`), written
 * for byte arrays and for JavaScript strings hashed as their UTF-8 bytes.
 */
import { FleetError } from '../errors.js';
import { describeValue } from '../describe-value.js';

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/** Mixes one 32-bit block before it is folded into the hash. */
function mixBlock(k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  return Math.imul(k, C2);
}

/** Folds a mixed block into the running hash (the body step). */
function foldBlock(h: number, k: number): number {
  h ^= mixBlock(k);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The final avalanche (`fmix32`), including the length fold. */
function finish(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3 x86 32-bit of `bytes` with `seed`, as an unsigned 32-bit integer.
 *
 * @param bytes - the input bytes
 * @param seed - the hash seed (an unsigned 32-bit integer)
 * @defaultValue seed 0
 * @returns the hash in [0, 2^32)
 * @throws FleetError `INVALID_ARGUMENT` when `bytes` is not a Uint8Array or `seed` is not an integer in [0, 2^32).
 * @example
 * ```ts
 * murmur3x86_32(new TextEncoder().encode('hello'), 0); // 0x248bfa47
 * ```
 */
export function murmur3x86_32(bytes: Uint8Array, seed = 0): number {
  if (!(bytes instanceof Uint8Array)) throw badArgument('murmur3x86_32(bytes, seed): bytes must be a Uint8Array (encode strings with TextEncoder, or use murmur3Utf8)', bytes);
  checkSeed('murmur3x86_32', seed);
  return hashBytes(bytes, bytes.length, seed);
}

function badArgument(message: string, value: unknown): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${message}; got ${value === null ? 'null' : typeof value}`, { status: 400 });
}

function checkSeed(fn: string, seed: unknown): void {
  // A fractional or out-of-range seed would be silently truncated by `| 0`: refuse it instead.
  if (!Number.isInteger(seed) || (seed as number) < 0 || (seed as number) > 0xffffffff) {
    throw new FleetError('INVALID_ARGUMENT', `${fn}: seed must be an integer from 0 to 2^32 - 1, got ${describeValue(seed)}`, { status: 400 });
  }
}

/** The hash of the first `n` bytes of `bytes`. */
function hashBytes(bytes: Uint8Array, n: number, seed: number): number {
  const blocks = n & ~3;
  let h = seed | 0;
  for (let i = 0; i < blocks; i += 4) {
    // Blocks are read little-endian, as the reference does on x86.
    const k = (bytes[i] ?? 0) | ((bytes[i + 1] ?? 0) << 8) | ((bytes[i + 2] ?? 0) << 16) | ((bytes[i + 3] ?? 0) << 24);
    h = foldBlock(h, k);
  }
  const rest = n & 3;
  if (rest > 0) {
    let tail = bytes[blocks] ?? 0;
    if (rest > 1) tail |= (bytes[blocks + 1] ?? 0) << 8;
    if (rest > 2) tail |= (bytes[blocks + 2] ?? 0) << 16;
    h ^= mixBlock(tail);
  }
  return finish(h, n);
}

let scratch = new Uint8Array(256);

/**
 * Writes the UTF-8 encoding of `text` into the shared scratch buffer and returns its length.
 * Lone surrogates become U+FFFD, as `TextEncoder` does.
 */
function encodeUtf8(text: string, offset = 0): number {
  // Every UTF-16 code unit needs at most 3 bytes; grow once, then reuse (no allocation per call).
  if (scratch.length < offset + text.length * 3) {
    const grown = new Uint8Array((offset + text.length * 3) * 2);
    grown.set(scratch.subarray(0, offset));
    scratch = grown;
  }
  const out = scratch;
  let n = offset;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 0x3f);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

/**
 * MurmurHash3 x86 32-bit of the UTF-8 encoding of `text`. Equal to
 * `murmur3x86_32(new TextEncoder().encode(text), seed)`, including for lone surrogates (encoded
 * as U+FFFD), but without allocating: the bytes go through one reused scratch buffer.
 *
 * @param text - any string
 * @param seed - the hash seed
 * @defaultValue seed 0
 * @returns the hash in [0, 2^32)
 * @throws FleetError `INVALID_ARGUMENT` when `text` is not a string or `seed` is not an integer in [0, 2^32).
 */
export function murmur3Utf8(text: string, seed = 0): number {
  if (typeof text !== 'string') throw badArgument('murmur3Utf8(text, seed): text must be a string', text);
  checkSeed('murmur3Utf8', seed);
  const length = encodeUtf8(text);
  return hashBytes(scratch, length, seed);
}

/**
 * @internal The hash of the UTF-8 bytes of `a + ":" + b`, without building the joined string.
 * Equal to `murmur3Utf8(a + ":" + b, seed)`: a surrogate pair split by the join cannot occur
 * because ":" sits between the parts, and lone surrogates encode the same either way.
 */
export function murmur3JoinedUtf8(a: string, b: string, seed = 0): number {
  let n = encodeUtf8(a, 0);
  n = encodeUtf8(':', n);
  n = encodeUtf8(b, n);
  return hashBytes(scratch, n, seed);
}
