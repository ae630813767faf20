/**
 * The random source of simulations: every draw of a virtual device comes from one, so a run is
 * reproduced exactly by its seed. The generator is the transports' `seededRandom` (mulberry32).
 */
export { seededRandom } from '../transport/backoff.js';

/** A random source: each call returns a number in [0, 1). */
export type RandomSource = () => number;
