/**
 * A GCRA (generic cell rate algorithm) limiter whose whole state is one small value: the
 * theoretical arrival time. It is a token bucket of `burst` tokens refilled at `ratePerSecond`,
 * without a timer or a refill loop: `decide` compares the time with the state and returns the
 * next state.
 *
 * All arithmetic is on integer microseconds, so the laws hold exactly (not within a rounding
 * error) whenever `now` is an integer number of milliseconds:
 * - in any window of length `t` ms, the allowed cost is at most `burst + effectiveRatePerSecond × t / 1000`;
 * - a refusal's `retryAfterMs` is exact: the same request is allowed at `now + retryAfterMs` and
 *   refused at `now + retryAfterMs − 1` (with no other request in between).
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { MAX_TIME_MS, invalidArgument, numberArgument, parseWith } from './parse.js';

/** The highest rate a limiter accepts: one unit per microsecond. */
export const MAX_LIMITER_RATE_PER_SECOND = 1_000_000;
/** The largest burst a limiter accepts. */
export const MAX_LIMITER_BURST = 1_000_000_000;

/** Schema of {@link LimiterConfig}. */
export const limiterConfigSchema = z.strictObject({
  ratePerSecond: z.number().positive().max(MAX_LIMITER_RATE_PER_SECOND),
  burst: z.number().int().min(1).max(MAX_LIMITER_BURST),
});

/** How fast a limiter refills and how much it holds. */
export interface LimiterConfig {
  /** Units (messages, bytes, calls) refilled per second; > 0 and ≤ 1,000,000. */
  readonly ratePerSecond: number;
  /** The bucket size: the most units allowed at once after a quiet period; an integer ≥ 1. */
  readonly burst: number;
}

/**
 * The state of one limiter: a plain JSON value. Keep it wherever the caller keeps state (a Map per
 * tenant, a store row) and replace it with `next` after each {@link decide}.
 */
export interface LimiterState {
  /** Theoretical arrival time in integer epoch microseconds: when the bucket is full again. */
  readonly tatUs: number;
  /** Microseconds to refill one unit: `round(1e6 / ratePerSecond)`, at least 1. */
  readonly intervalUs: number;
  /** The bucket size in units. */
  readonly burst: number;
}

/** What {@link decide} answers. */
export interface LimiterDecision {
  /** True when the request fits; then `next` holds its cost. */
  readonly allowed: boolean;
  /** 0 when allowed; otherwise the whole milliseconds to wait before the same request is allowed. */
  readonly retryAfterMs: number;
  /** The state to keep: the charged state when allowed, the given state (unchanged) when not. */
  readonly next: LimiterState;
}

/**
 * A full limiter: `burst` units available at once, refilled at `ratePerSecond`.
 *
 * The rate is realised as one unit per `round(1e6 / ratePerSecond)` microseconds (see
 * {@link effectiveRatePerSecond}); for rates that divide a million (1, 2, 5, 10, 100, 1000 …/s) it
 * is exact.
 *
 * @param config - the rate and burst
 * @throws FleetError `INVALID_ARGUMENT` (400) when the config is not a {@link LimiterConfig}
 * @example
 * ```ts
 * let state = createLimiter({ ratePerSecond: 100, burst: 20 });
 * const d = decide(state, 1, clock.now());
 * state = d.next;
 * ```
 */
export function createLimiter(config: LimiterConfig): LimiterState {
  const c = parseWith('createLimiter', 'config', limiterConfigSchema, config);
  return { tatUs: 0, intervalUs: Math.max(1, Math.round(1e6 / c.ratePerSecond)), burst: c.burst };
}

/**
 * The refill rate a limiter state really applies (units per second): `1e6 / intervalUs`.
 *
 * @param state - a limiter state
 * @throws FleetError `INVALID_ARGUMENT` (400) when `state` is not a limiter state
 */
export function effectiveRatePerSecond(state: LimiterState): number {
  checkState('effectiveRatePerSecond', state);
  return 1e6 / state.intervalUs;
}

function checkState(fn: string, state: unknown): asserts state is LimiterState {
  if (typeof state !== 'object' || state === null) throw invalidArgument(fn, `state must be a limiter state from createLimiter, got ${describeValue(state)}`);
  const s = state as Record<string, unknown>;
  const tat = s['tatUs'];
  const interval = s['intervalUs'];
  const burst = s['burst'];
  if (
    typeof tat !== 'number' || !Number.isSafeInteger(tat) || tat < 0 ||
    typeof interval !== 'number' || !Number.isSafeInteger(interval) || interval < 1 ||
    typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst < 1 || burst > MAX_LIMITER_BURST
  ) {
    throw invalidArgument(fn, 'state must be a limiter state from createLimiter: { tatUs, intervalUs, burst } as non-negative safe integers');
  }
}

/**
 * Decides one request of `cost` units at time `now`: data in, decision out. The given state is
 * never modified.
 *
 * Times are epoch milliseconds; a fractional `now` is floored to the microsecond. Time may go
 * backwards (a late event): the state never moves back, so nothing extra is allowed.
 *
 * @param state - the limiter state (from {@link createLimiter} or a previous `next`)
 * @param cost - units this request uses: an integer from 0 to the burst (0 is always allowed)
 * @param now - the current time, epoch ms, from 0 to {@link MAX_TIME_MS}
 * @returns whether it is allowed, how long to wait if not, and the next state
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed state, a cost that is not an integer
 * or exceeds the burst (it could never be allowed: split the request or raise the burst), or a
 * time out of range
 */
export function decide(state: LimiterState, cost: number, now: number): LimiterDecision {
  checkState('decide', state);
  if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 0 || cost > state.burst) {
    throw invalidArgument('decide', `cost must be an integer from 0 to the burst (${state.burst}), got ${describeValue(cost)}; a larger request can never be allowed: split it or raise the burst`);
  }
  numberArgument('decide', 'now', now, 0, MAX_TIME_MS);
  const nowUs = Math.floor(now * 1000);
  if (cost === 0) return { allowed: true, retryAfterMs: 0, next: state };
  const base = state.tatUs > nowUs ? state.tatUs : nowUs;
  const tat = base + cost * state.intervalUs;
  const limit = nowUs + state.burst * state.intervalUs;
  if (tat <= limit) return { allowed: true, retryAfterMs: 0, next: { tatUs: tat, intervalUs: state.intervalUs, burst: state.burst } };
  return { allowed: false, retryAfterMs: Math.ceil((tat - limit) / 1000), next: state };
}

/**
 * Units available right now (the tokens in the bucket), a whole number from 0 to the burst.
 *
 * @param state - a limiter state
 * @param now - the current time, epoch ms
 * @throws FleetError `INVALID_ARGUMENT` (400) for a malformed state or time
 */
export function limiterAvailable(state: LimiterState, now: number): number {
  checkState('available', state);
  numberArgument('available', 'now', now, 0, MAX_TIME_MS);
  const nowUs = Math.floor(now * 1000);
  const debt = state.tatUs > nowUs ? state.tatUs - nowUs : 0;
  return Math.max(0, state.burst - Math.ceil(debt / state.intervalUs));
}
