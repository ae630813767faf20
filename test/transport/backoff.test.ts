import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exponentialBackoff, seededRandom } from '../../src/memory.js';
import { expectFleetError, hostileValues } from '../support/hostile.js';

describe('exponentialBackoff', () => {
  it('stays within [0, min(cap, initial × factorⁿ)) for any random source (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 600_000 }),
        fc.double({ min: 1, max: 4, noNaN: true }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), { minLength: 1, maxLength: 60 }),
        (initialMs, maxMs, factor, draws) => {
          let i = 0;
          const b = exponentialBackoff({ initialMs, maxMs, factor, random: () => draws[i++ % draws.length]! });
          for (let n = 0; n < draws.length; n++) {
            const d = b.next();
            const ceiling = Math.min(maxMs, initialMs * factor ** n);
            expect(d).toBeGreaterThanOrEqual(0);
            expect(d).toBeLessThanOrEqual(ceiling);
            expect(Number.isInteger(d)).toBe(true);
          }
          expect(b.attempt).toBe(draws.length);
        },
      ),
    );
  });

  it('grows monotonically without jitter up to the cap, and reset starts over', () => {
    const b = exponentialBackoff({ initialMs: 100, maxMs: 1000, jitter: 'none' });
    const seq = Array.from({ length: 8 }, () => b.next());
    expect(seq).toEqual([100, 200, 400, 800, 1000, 1000, 1000, 1000]);
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(100);
  });

  it('never overflows on very long outages', () => {
    const b = exponentialBackoff({ initialMs: 1000, maxMs: 60_000, jitter: 'none' });
    for (let i = 0; i < 5000; i++) expect(b.next()).toBeLessThanOrEqual(60_000);
  });

  it('is reproducible with a seeded random source, and spreads a herd', () => {
    const a = exponentialBackoff({ random: seededRandom(7) });
    const b = exponentialBackoff({ random: seededRandom(7) });
    expect(Array.from({ length: 10 }, () => a.next())).toEqual(Array.from({ length: 10 }, () => b.next()));
    const random = seededRandom(1);
    const firstDelays = Array.from({ length: 1000 }, () => exponentialBackoff({ initialMs: 1000, random }).next());
    expect(new Set(firstDelays).size).toBeGreaterThan(500);
  });

  it('rejects bad options', () => {
    expect(() => exponentialBackoff({ initialMs: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => exponentialBackoff({ factor: 0.5 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => exponentialBackoff({ jitter: 'half' as 'full' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('refuses options that are not an object, and a random source that is not a function', () => {
    for (const bad of [null, 5, 'fast', [] as unknown]) {
      expectFleetError(() => exponentialBackoff(bad as never), 'INVALID_ARGUMENT', 'exponentialBackoff(options): options must be an object such as { initialMs');
    }
    expectFleetError(() => exponentialBackoff({ random: 0.5 as never }), 'INVALID_ARGUMENT', 'exponentialBackoff: random must be a function', 'got 0.5');
    expect(exponentialBackoff(undefined).next()).toBeLessThan(500);
  });

  it('describes a BigInt, Symbol or object option without calling its conversion hooks', () => {
    for (const { value, shown } of hostileValues()) {
      for (const name of ['initialMs', 'maxMs', 'factor', 'jitter']) {
        expectFleetError(() => exponentialBackoff({ [name]: value }), 'INVALID_ARGUMENT', `exponentialBackoff: ${name}`, `got ${shown}`);
      }
    }
  });

  it('seededRandom refuses a seed that is not an integer, instead of coercing it', () => {
    for (const { value, shown } of hostileValues()) expectFleetError(() => seededRandom(value as number), 'INVALID_ARGUMENT', 'seededRandom(seed): seed must be an integer', `got ${shown}`);
    for (const bad of [Number.NaN, Infinity, 1.5, '7' as unknown as number, undefined as unknown as number]) expectFleetError(() => seededRandom(bad), 'INVALID_ARGUMENT', 'seededRandom(seed)');
  });

  it('seededRandom uses the low 32 bits of any integer seed (Date.now() is a fine seed)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: -2000, max: 2000 }), (low, high) => {
        const a = seededRandom(high * 2 ** 32 + low);
        const b = seededRandom(low);
        for (let i = 0; i < 5; i++) expect(a()).toBe(b());
      }),
      { numRuns: 200 },
    );
  });

  it('seededRandom stays in [0, 1)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const r = seededRandom(seed);
        for (let i = 0; i < 50; i++) {
          const x = r();
          expect(x >= 0 && x < 1).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });
});
