/**
 * Time as an injected dependency: {@link systemClock} for production, {@link SimulatedClock}
 * for tests and simulations.
 *
 * @module
 */
import { FleetError } from './errors.js';
import { describeValue } from './describe-value.js';

/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = number | object;

/**
 * The source of time and timers every fleetkit component takes. Pure core functions take
 * `now` as an argument instead; the rim (services, transports, devices) takes a `Clock`.
 */
export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or already-fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock: `Date.now()` and the host's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle as Parameters<typeof globalThis.clearTimeout>[0]);
  },
};

interface SimTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A virtual clock. Time moves only when you call {@link SimulatedClock.advance},
 * {@link SimulatedClock.set} or {@link SimulatedClock.runAll}; due timers fire in time order
 * (ties in creation order), each seeing `now()` equal to its own due time. It refuses to go
 * backwards.
 *
 * @example
 * ```ts
 * const clock = new SimulatedClock(0);
 * clock.setTimeout(() => console.log('tick', clock.now()), 1000);
 * clock.advance(1500); // prints "tick 1000"; now() is 1500 afterwards
 * ```
 */
export class SimulatedClock implements Clock {
  #now: number;
  #nextId = 1;
  // A binary min-heap ordered by (at, id): O(log n) per timer, enough for 60,000 devices.
  readonly #heap: SimTimer[] = [];
  // ids of timers that are scheduled and not cancelled; cancelled ones are dropped lazily.
  readonly #live = new Set<number>();

  /** @param start - the initial time in epoch milliseconds (default 0) */
  constructor(start = 0) {
    if (typeof start !== 'number' || !Number.isFinite(start)) {
      throw new FleetError('INVALID_ARGUMENT', `SimulatedClock: start must be a finite number of epoch milliseconds, got ${describeValue(start)}`);
    }
    this.#now = start;
  }

  /** Current virtual time in epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /** Number of timers waiting to fire. */
  get pending(): number {
    return this.#live.size;
  }

  /** Schedules `fn` at `now() + ms` (negative or non-finite delays count as 0). */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    const timer: SimTimer = { id: this.#nextId++, at: this.#now + delay, fn };
    this.#push(timer);
    this.#live.add(timer.id);
    return timer.id;
  }

  /** Cancels a timer created by this clock. */
  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#live.delete(handle);
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way.
   *
   * @throws FleetError `INVALID_ARGUMENT` when `ms` is negative or not finite.
   */
  advance(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new FleetError('INVALID_ARGUMENT', `SimulatedClock.advance: ms must be a finite number ≥ 0, got ${describeValue(ms)}; time never goes backwards`);
    }
    this.#runUntil(this.#now + ms);
  }

  /**
   * Sets the time to `ms` (epoch milliseconds), firing every timer due up to it.
   *
   * @throws FleetError `INVALID_ARGUMENT` when `ms` is earlier than `now()`.
   */
  set(ms: number): void {
    if (!Number.isFinite(ms) || ms < this.#now) {
      throw new FleetError('INVALID_ARGUMENT', `SimulatedClock.set: cannot move time from ${this.#now} back to ${describeValue(ms)}; pass a time ≥ now()`, {
        details: { now: this.#now, requested: ms },
      });
    }
    this.#runUntil(ms);
  }

  /**
   * Fires every timer, including ones scheduled by the timers themselves, advancing time to each.
   *
   * @param maxTimers - a guard against timers that reschedule forever (default 1,000,000)
   * @returns the number of timers fired
   * @throws FleetError `INVALID_OPERATION` when more than `maxTimers` fire.
   */
  runAll(maxTimers = 1_000_000): number {
    let fired = 0;
    for (;;) {
      const next = this.#popLive();
      if (next === undefined) return fired;
      if (++fired > maxTimers) {
        throw new FleetError('INVALID_OPERATION', `SimulatedClock.runAll: more than ${maxTimers} timers fired; a timer probably reschedules itself forever`);
      }
      if (next.at > this.#now) this.#now = next.at;
      next.fn();
    }
  }

  #runUntil(target: number): void {
    for (;;) {
      const top = this.#peekLive();
      if (top === undefined || top.at > target) break;
      this.#pop();
      this.#live.delete(top.id);
      if (top.at > this.#now) this.#now = top.at;
      top.fn();
    }
    this.#now = target;
  }

  #peekLive(): SimTimer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined) return undefined;
      if (this.#live.has(top.id)) return top;
      this.#pop();
    }
  }

  #popLive(): SimTimer | undefined {
    const top = this.#peekLive();
    if (top !== undefined) {
      this.#pop();
      this.#live.delete(top.id);
    }
    return top;
  }

  #less(a: SimTimer, b: SimTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.id < b.id);
  }

  #push(t: SimTimer): void {
    const h = this.#heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as SimTimer;
      if (!this.#less(t, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = t;
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop();
    if (last === undefined || h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      let best = last;
      const left = h[l];
      if (left !== undefined && this.#less(left, best)) {
        m = l;
        best = left;
      }
      const right = h[r];
      if (right !== undefined && this.#less(right, best)) {
        m = r;
        best = right;
      }
      if (m === i) break;
      h[i] = best;
      i = m;
    }
    h[i] = last;
  }
}
