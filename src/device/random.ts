/**
 * A small seeded random source for simulations: every draw of a virtual device comes from one,
 * so a run is reproduced exactly by its seed.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** A random source: each call returns a number in [0, 1). */
export type RandomSource = () => number;

/**
 * A deterministic random source (mulberry32) from a 32-bit integer seed: the same seed always
 * yields the same sequence.
 *
 * @param seed - any safe integer (only its low 32 bits are used)
 * @throws FleetError `INVALID_ARGUMENT` when `seed` is not a safe integer.
 * @example
 * ```ts
 * const random = seededRandom(42);
 * random(); // always the same first draw for seed 42
 * ```
 */
export function seededRandom(seed: number): RandomSource {
  if (!Number.isSafeInteger(seed)) {
    throw new FleetError('INVALID_ARGUMENT', `seededRandom: seed must be a safe integer, got ${describeValue(seed)}`, { status: 400 });
  }
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
