/**
 * Seeded synthetic sensor series for the detector tests: Gaussian noise around a level, with
 * injected faults and legitimate changes at known samples. Deterministic for a given seed.
 */
import { seededRandom } from '../../src/transport/backoff.js';

/** mulberry32, seeded (the transports' `seededRandom`): every run sees the same stream. */
export const rng = seededRandom;

/** A standard normal draw source (Box–Muller) over a seeded PRNG. */
export function gaussian(seed: number): () => number {
  const u = rng(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const th = 2 * Math.PI * u();
    spare = r * Math.sin(th);
    return r * Math.cos(th);
  };
}

/** One sample. */
export interface Point {
  readonly at: number;
  readonly value: number;
}

/** `n` samples of `level + sigma × N(0,1)` every `intervalMs`, with an optional per-sample value transform. */
export function series(seed: number, n: number, opts: { level: number; sigma: number; intervalMs: number; start?: number; shape?: (i: number, v: number) => number }): Point[] {
  const g = gaussian(seed);
  const out: Point[] = [];
  const start = opts.start ?? 1_700_000_000_000;
  for (let i = 0; i < n; i++) {
    const v = opts.level + opts.sigma * g();
    out.push({ at: start + i * opts.intervalMs, value: opts.shape === undefined ? v : opts.shape(i, v) });
  }
  return out;
}
