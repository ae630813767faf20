/**
 * Reconnect delays as a pure strategy object: exponential growth, full jitter, a cap and an
 * injected random source — so 60,000 devices that lose the broker at once do not come back at once.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { optionsObject } from './options.js';

/** Produces the delay before each reconnect attempt. */
export interface BackoffStrategy {
  /** The delay (ms) before the next attempt; each call counts one more failed attempt. */
  next(): number;
  /** Forgets past failures (call it once connected). */
  reset(): void;
  /** Failed attempts counted since the last reset. */
  readonly attempt: number;
}

/** Options of {@link exponentialBackoff}. */
export interface ExponentialBackoffOptions {
  /**
   * The ceiling of the first delay (ms).
   * @defaultValue 500
   */
  readonly initialMs?: number;
  /**
   * The cap on any delay (ms).
   * @defaultValue 30000
   */
  readonly maxMs?: number;
  /**
   * Growth of the ceiling per failed attempt.
   * @defaultValue 2
   */
  readonly factor?: number;
  /**
   * `full`: a uniformly random delay in [0, ceiling) ("full jitter", which spreads a herd best);
   * `none`: exactly the ceiling.
   * @defaultValue 'full'
   */
  readonly jitter?: 'full' | 'none';
  /**
   * A random source returning numbers in [0, 1) (inject a seeded one for reproducible runs).
   * @defaultValue Math.random
   */
  readonly random?: () => number;
}

function positive(name: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) {
    throw new FleetError('INVALID_ARGUMENT', `exponentialBackoff: ${name} must be a finite number ≥ ${min}, got ${describeValue(value)}`, { status: 400 });
  }
  return value;
}

/**
 * An exponential backoff with full jitter: attempt n (from 0) waits a random time in
 * [0, min(maxMs, initialMs × factorⁿ)).
 *
 * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
 * @example
 * ```ts
 * const backoff = exponentialBackoff({ initialMs: 100, maxMs: 10_000, random: seededRandom(42) });
 * backoff.next(); // somewhere in [0, 100)
 * backoff.next(); // somewhere in [0, 200)
 * backoff.reset();
 * ```
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): BackoffStrategy {
  const o = optionsObject<ExponentialBackoffOptions>('exponentialBackoff(options)', options, "{ initialMs: 500, maxMs: 30000, factor: 2, jitter: 'full' }");
  const initialMs = positive('initialMs', o.initialMs ?? 500, 0);
  const maxMs = positive('maxMs', o.maxMs ?? 30_000, 0);
  const factor = positive('factor', o.factor ?? 2, 1);
  const jitter = o.jitter ?? 'full';
  if (jitter !== 'full' && jitter !== 'none') {
    throw new FleetError('INVALID_ARGUMENT', `exponentialBackoff: jitter must be "full" or "none", got ${describeValue(jitter)}`, { status: 400 });
  }
  const random = o.random ?? Math.random;
  if (typeof random !== 'function') {
    throw new FleetError('INVALID_ARGUMENT', `exponentialBackoff: random must be a function returning numbers in [0, 1) (e.g. seededRandom(42)), got ${describeValue(random)}`, { status: 400 });
  }
  let attempt = 0;
  return {
    next(): number {
      // Clamp the exponent so the ceiling never overflows to Infinity on long outages.
      const ceiling = Math.min(maxMs, initialMs * factor ** Math.min(attempt, 1024));
      attempt++;
      if (jitter === 'none') return ceiling;
      const r = random();
      const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
      return Math.floor(unit * ceiling);
    },
    reset(): void {
      attempt = 0;
    },
    get attempt(): number {
      return attempt;
    },
  };
}

/**
 * A small, fast, seeded pseudo-random source (mulberry32) returning numbers in [0, 1). Same
 * seed, same sequence: use it for fault injection and jitter in reproducible tests.
 *
 * @param seed - any integer; only its low 32 bits count (so `Date.now()` is a fine seed)
 * @throws FleetError `INVALID_ARGUMENT` when `seed` is not an integer (a fraction, NaN or a
 *   non-number would otherwise be coerced silently).
 */
export function seededRandom(seed: number): () => number {
  if (!Number.isInteger(seed)) {
    throw new FleetError('INVALID_ARGUMENT', `seededRandom(seed): seed must be an integer (only its low 32 bits count), got ${describeValue(seed)}`, { status: 400 });
  }
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
