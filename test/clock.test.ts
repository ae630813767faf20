import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock, systemClock } from '../src/clock.js';
import { isFleetError } from '../src/errors.js';

describe('SimulatedClock', () => {
  it('fires due timers in time order, each seeing its own due time', () => {
    const clock = new SimulatedClock(1000);
    const seen: Array<[string, number]> = [];
    clock.setTimeout(() => seen.push(['b', clock.now()]), 200);
    clock.setTimeout(() => seen.push(['a', clock.now()]), 100);
    clock.setTimeout(() => seen.push(['c', clock.now()]), 300);
    clock.advance(250);
    expect(seen).toEqual([['a', 1100], ['b', 1200]]);
    expect(clock.now()).toBe(1250);
    expect(clock.pending).toBe(1);
    clock.advance(50);
    expect(seen.at(-1)).toEqual(['c', 1300]);
  });

  it('fires timers scheduled by timers when they fall due in the same advance', () => {
    const clock = new SimulatedClock(0);
    const seen: number[] = [];
    clock.setTimeout(() => {
      seen.push(clock.now());
      clock.setTimeout(() => seen.push(clock.now()), 10);
    }, 10);
    clock.advance(25);
    expect(seen).toEqual([10, 20]);
  });

  it('cancels timers', () => {
    const clock = new SimulatedClock();
    let fired = false;
    const h = clock.setTimeout(() => (fired = true), 5);
    clock.clearTimeout(h);
    clock.advance(10);
    expect(fired).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('refuses to go backwards', () => {
    const clock = new SimulatedClock(100);
    expect(() => clock.set(50)).toThrowError(/back to 50/);
    expect(() => clock.advance(-1)).toThrow();
    try {
      clock.set(99);
    } catch (e) {
      expect(isFleetError(e, 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(clock.now()).toBe(100);
  });

  it('runAll fires everything and guards against endless rescheduling', () => {
    const clock = new SimulatedClock(0);
    clock.setTimeout(() => undefined, 50);
    clock.setTimeout(() => undefined, 5);
    expect(clock.runAll()).toBe(2);
    expect(clock.now()).toBe(50);
    const loop = (): void => void clock.setTimeout(loop, 1);
    loop();
    expect(() => clock.runAll(100)).toThrowError(/reschedules itself/);
  });

  it('property: any schedule fires in (time, creation) order and time never decreases', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 60 }), fc.array(fc.integer({ min: 0, max: 400 }), { maxLength: 8 }), (delays, steps) => {
        const clock = new SimulatedClock(0);
        const fired: Array<{ at: number; idx: number; now: number }> = [];
        delays.forEach((d, idx) => clock.setTimeout(() => fired.push({ at: d, idx, now: clock.now() }), d));
        for (const s of steps) clock.advance(s);
        clock.runAll();
        expect(fired).toHaveLength(delays.length);
        for (let i = 0; i < fired.length; i++) {
          const f = fired[i]!;
          expect(f.now).toBe(f.at);
          const prev = fired[i - 1];
          if (prev) expect(prev.at < f.at || (prev.at === f.at && prev.idx < f.idx)).toBe(true);
        }
      }),
    );
  });
});

describe('systemClock', () => {
  it('tells real time and runs real timers', async () => {
    const before = Date.now();
    expect(Math.abs(systemClock.now() - before)).toBeLessThan(1000);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
    const h = systemClock.setTimeout(() => {
      throw new Error('must not fire');
    }, 5);
    systemClock.clearTimeout(h);
    await new Promise((r) => setTimeout(r, 10));
  });
});
