import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { limiterAvailable, createLimiter, decide, effectiveRatePerSecond, type LimiterState } from '../../src/tenancy/index.js';

const configArb = fc.record({
  ratePerSecond: fc.oneof(fc.constantFrom(1, 3, 7, 10, 100, 333, 1000), fc.double({ min: 0.01, max: 5000, noNaN: true })),
  burst: fc.integer({ min: 1, max: 25 }),
});
const stepsArb = fc.array(fc.record({ dt: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 5000 })), cost: fc.nat() }), { maxLength: 120 });

interface Allowed { readonly at: number; readonly cost: number }

function run(state: LimiterState, start: number, steps: readonly { dt: number; cost: number }[]): { state: LimiterState; now: number; allowed: Allowed[] } {
  let now = start;
  const allowed: Allowed[] = [];
  for (const s of steps) {
    now += s.dt;
    const cost = s.cost % (state.burst + 1);
    const d = decide(state, cost, now);
    if (d.allowed) allowed.push({ at: now, cost });
    state = d.next;
  }
  return { state, now, allowed };
}

describe('GCRA limiter', () => {
  it('never allows more than burst + rate × t in any window of length t (exact, integer arithmetic)', () => {
    fc.assert(
      fc.property(configArb, fc.integer({ min: 0, max: 2_000_000_000_000 }), stepsArb, (config, start, steps) => {
        const s0 = createLimiter(config);
        const { allowed } = run(s0, start, steps);
        for (let i = 0; i < allowed.length; i++) {
          let sum = 0;
          for (let j = i; j < allowed.length; j++) {
            sum += (allowed[j] as Allowed).cost;
            const t = (allowed[j] as Allowed).at - (allowed[i] as Allowed).at;
            // sum ≤ burst + (1e6 / intervalUs) × t / 1000, multiplied through by intervalUs
            expect(sum * s0.intervalUs).toBeLessThanOrEqual(s0.burst * s0.intervalUs + 1000 * t);
          }
        }
      }),
    );
  });

  it('retry-after is exact: allowed at now + retryAfterMs, refused at now + retryAfterMs − 1', () => {
    fc.assert(
      fc.property(configArb, stepsArb, fc.nat(), (config, steps, rawCost) => {
        const { state, now } = run(createLimiter(config), 1_700_000_000_000, steps);
        const cost = 1 + (rawCost % state.burst);
        const d = decide(state, cost, now);
        if (d.allowed) {
          expect(d.retryAfterMs).toBe(0);
          return;
        }
        expect(d.next).toBe(state);
        expect(Number.isInteger(d.retryAfterMs) && d.retryAfterMs >= 1).toBe(true);
        expect(decide(state, cost, now + d.retryAfterMs).allowed).toBe(true);
        expect(decide(state, cost, now + d.retryAfterMs - 1).allowed).toBe(false);
      }),
    );
  });

  it('allows exactly when the cost fits what is available, and never modifies the given state', () => {
    fc.assert(
      fc.property(configArb, stepsArb, fc.nat(), fc.integer({ min: 0, max: 10_000 }), (config, steps, rawCost, later) => {
        const { state, now } = run(createLimiter(config), 0, steps);
        const frozen = Object.freeze({ ...state });
        const cost = rawCost % (state.burst + 1);
        const d = decide(frozen, cost, now + later);
        expect(d.allowed).toBe(cost <= limiterAvailable(frozen, now + later));
        expect(frozen).toEqual(state);
      }),
    );
  });

  it('does not under-allow: a stream at the rate is always allowed, and after a quiet burst × interval the whole burst is', () => {
    fc.assert(
      fc.property(fc.constantFrom(1, 2, 4, 5, 8, 10, 20, 25, 40, 50, 100, 125, 200, 250, 500, 1000), fc.integer({ min: 1, max: 30 }), stepsArb, (rate, burst, steps) => {
        let { state, now } = run(createLimiter({ ratePerSecond: rate, burst }), 0, steps);
        const periodMs = 1000 / rate;
        now += burst * periodMs;
        for (let i = 0; i < burst; i++) {
          const d = decide(state, 1, now);
          expect(d.allowed).toBe(true);
          state = d.next;
        }
        for (let i = 0; i < 50; i++) {
          now += periodMs;
          const d = decide(state, 1, now);
          expect(d.allowed).toBe(true);
          state = d.next;
        }
      }),
    );
  });

  it('a full bucket allows the burst at once, then one unit per interval', () => {
    let s = createLimiter({ ratePerSecond: 10, burst: 5 });
    expect(effectiveRatePerSecond(s)).toBe(10);
    for (let i = 0; i < 5; i++) {
      const d = decide(s, 1, 1000);
      expect(d.allowed).toBe(true);
      s = d.next;
    }
    const refused = decide(s, 1, 1000);
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 100 });
    expect(decide(s, 1, 1099).allowed).toBe(false);
    expect(decide(s, 1, 1100).allowed).toBe(true);
    expect(limiterAvailable(s, 1000)).toBe(0);
    expect(limiterAvailable(s, 1500)).toBe(5);
  });

  it('time going backwards allows nothing extra', () => {
    let s = createLimiter({ ratePerSecond: 1, burst: 2 });
    s = decide(s, 2, 10_000).next;
    expect(decide(s, 1, 5_000).allowed).toBe(false);
  });

  it('refuses malformed input with INVALID_ARGUMENT', () => {
    const s = createLimiter({ ratePerSecond: 10, burst: 5 });
    expectFleetError(() => createLimiter({ ratePerSecond: 0, burst: 5 }), 'INVALID_ARGUMENT', 'ratePerSecond');
    expectFleetError(() => createLimiter({ ratePerSecond: 1, burst: 0.5 }), 'INVALID_ARGUMENT', 'burst');
    expectFleetError(() => decide(s, 6, 0), 'INVALID_ARGUMENT', 'split it or raise the burst');
    expectFleetError(() => decide(s, 1.5, 0), 'INVALID_ARGUMENT', 'cost');
    expectFleetError(() => decide(s, 1, Number.NaN), 'INVALID_ARGUMENT', 'now');
    expectFleetError(() => decide({ tatUs: -1, intervalUs: 1, burst: 1 }, 1, 0), 'INVALID_ARGUMENT', 'limiter state');
    expectFleetError(() => decide(null as never, 1, 0), 'INVALID_ARGUMENT', 'limiter state');
  });
});
