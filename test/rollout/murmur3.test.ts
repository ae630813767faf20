import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError, murmur3Utf8, murmur3x86_32 } from '../../src/rollout/index.js';
import { expectFleetError, hostileValues } from '../support/hostile.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

// Published test vectors for MurmurHash3_x86_32 (SMHasher reference implementation).
const BYTE_VECTORS: [number[], number, number][] = [
  [[], 0, 0x00000000],
  [[], 1, 0x514e28b7],
  [[], 0xffffffff, 0x81f16f39],
  [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
  [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
  [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
  [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
  [[0x21, 0x43], 0, 0xa0f7b07a],
  [[0x21], 0, 0x72661cf4],
  [[0, 0, 0, 0], 0, 0x2362f9de],
  [[0, 0, 0], 0, 0x85f0b427],
  [[0, 0], 0, 0x30f4c306],
  [[0], 0, 0x514e28b7],
];
const STRING_VECTORS: [string, number, number][] = [
  ['', 0, 0],
  ['hello', 0, 0x248bfa47],
  ['abc', 0, 0xb3dd93fa],
  ['a', 0x9747b28c, 0x7fa09ea6],
  ['ab', 0x9747b28c, 0x74875592],
  ['abc', 0x9747b28c, 0xc84a62dd],
  ['abcd', 0x9747b28c, 0xf0478627],
  ['aaaa', 0x9747b28c, 0x5a97808a],
  ['Hello, world!', 0x9747b28c, 0x24884cba],
  ['ππππππππ', 0x9747b28c, 0xd58063c1],
  ['The quick brown fox jumps over the lazy dog', 0x9747b28c, 0x2fa826cd],
];

describe('murmur3x86_32', () => {
  it.each(BYTE_VECTORS)('bytes %j with seed %i match the reference', (bytes, seed, expected) => {
    expect(murmur3x86_32(new Uint8Array(bytes), seed)).toBe(expected);
  });

  it.each(STRING_VECTORS)('%j with seed %i matches the reference (bytes and string forms)', (text, seed, expected) => {
    expect(murmur3x86_32(utf8(text), seed)).toBe(expected);
    expect(murmur3Utf8(text, seed)).toBe(expected);
  });

  it('hashing a string equals hashing its TextEncoder bytes, lone surrogates included', () => {
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: anyUnit, maxLength: 40 }));
    fc.assert(
      fc.property(text, fc.integer({ min: 0, max: 0xffffffff }), (s, seed) => {
        expect(murmur3Utf8(s, seed)).toBe(murmur3x86_32(utf8(s), seed));
      }),
      { numRuns: 500 },
    );
  });

  it('returns an unsigned 32-bit integer', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 0xffffffff }), (bytes, seed) => {
        const h = murmur3x86_32(bytes, seed);
        expect(Number.isInteger(h) && h >= 0 && h <= 0xffffffff).toBe(true);
      }),
    );
  });

  it('refuses non-byte input and seeds outside [0, 2^32) with INVALID_ARGUMENT instead of hashing garbage', () => {
    const cases: (() => number)[] = [
      () => murmur3x86_32('abc' as unknown as Uint8Array),
      () => murmur3x86_32(new Uint8Array(1), -1),
      () => murmur3x86_32(new Uint8Array(1), 0.5),
      () => murmur3x86_32(new Uint8Array(1), 2 ** 32),
      () => murmur3Utf8(42 as unknown as string),
      () => murmur3Utf8('a', Number.NaN),
    ];
    for (const fn of cases) {
      let thrown: unknown;
      try {
        fn();
      } catch (e) {
        thrown = e;
      }
      expect(isFleetError(thrown, 'INVALID_ARGUMENT')).toBe(true);
      expect(thrown).toMatchObject({ status: 400 });
    }
    expect(() => murmur3x86_32(new Uint8Array(1), 0.5)).toThrow('murmur3x86_32: seed must be an integer from 0 to 2^32 - 1, got 0.5');
    expect(() => murmur3Utf8(42 as unknown as string)).toThrow('murmur3Utf8(text, seed): text must be a string; got number');
    expect(() => murmur3x86_32(null as unknown as Uint8Array)).toThrow(/bytes must be a Uint8Array .*; got null$/);
  });

  it('describes a BigInt, Symbol or object seed or input without calling its conversion hooks', () => {
    for (const { value } of hostileValues()) {
      expectFleetError(() => murmur3Utf8('a', value as number), 'INVALID_ARGUMENT', 'murmur3Utf8: seed', 'got ');
      expectFleetError(() => murmur3x86_32(new Uint8Array(1), value as number), 'INVALID_ARGUMENT', 'murmur3x86_32: seed', 'got ');
      expectFleetError(() => murmur3Utf8(value as string), 'INVALID_ARGUMENT', 'text must be a string');
      expectFleetError(() => murmur3x86_32(value as Uint8Array), 'INVALID_ARGUMENT', 'bytes must be a Uint8Array');
    }
  });
});

describe('murmur3Utf8: UTF-8 at every encoding boundary (a fixed corpus)', () => {
  // The last and first code unit of each UTF-8 length, both ends of the surrogate ranges, pairs
  // at the ends of the string and lone surrogates next to other text.
  const UNITS = [0x00, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xe000, 0xfffd, 0xffff];
  const corpus: string[] = [
    ...UNITS.map((c) => String.fromCharCode(c)),
    ...UNITS.map((c) => `a${String.fromCharCode(c)}b`),
    '\ud800\udc00',
    '\udbff\udfff',
    'x\ud800\udc00',
    '\ud800\udc00x',
    '\ud800',
    'x\ud800',
    '\udbffx',
    '\udc00\ud800',
  ];

  it.each(corpus.map((s) => [JSON.stringify(s), s]))('%s hashes as its TextEncoder bytes', (_, s) => {
    expect(murmur3Utf8(s, 7)).toBe(murmur3x86_32(utf8(s), 7));
  });

  it('strings longer than the scratch buffer (ASCII, 2-, 3- and 4-byte text), in either order of size', () => {
    const long = ['a'.repeat(300), 'é'.repeat(500), '€'.repeat(1_000), '\ud83d\ude00'.repeat(700), `${'€'.repeat(2_000)}x`];
    for (const s of [...long, 'short', ...long.reverse()]) expect(murmur3Utf8(s, 1)).toBe(murmur3x86_32(utf8(s), 1));
  });
});

describe('cohortOf hashes seed + ":" + id without joining them', () => {
  it('equals the hash of the joined string when a part outgrows the scratch buffer mid-way', async () => {
    const { cohortOf } = await import('../../src/rollout/index.js');
    for (const [seed, id] of [
      ['fw', '€'.repeat(900)],
      ['€'.repeat(900), 'dev-1'],
      ['é'.repeat(100), 'x'.repeat(3_000)],
    ] as const) {
      expect(cohortOf(seed, id)).toBe(murmur3Utf8(`${seed}:${id}`, 0) % 10_000);
    }
  });
});
