import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError, hostileValues } from '../support/hostile.js';
import { inMaintenanceWindow, isFleetError, nextMaintenanceWindow } from './imports.js';
import type { MaintenanceWindow } from './imports.js';

const at = (d: number, h: number, m = 0): number => Date.UTC(2026, 0, d, h, m); // 2026-01-05 is a Monday

describe('maintenance windows', () => {
  it('allows everything when there are no windows', () => {
    expect(inMaintenanceWindow([], at(5, 12))).toBe(true);
    expect(nextMaintenanceWindow([], at(5, 12))).toBe(at(5, 12));
  });

  it('handles windows that wrap past midnight, by the day they start on', () => {
    const w: MaintenanceWindow[] = [{ start: '22:00', end: '02:00', days: [1] }]; // Monday nights
    expect(inMaintenanceWindow(w, at(5, 21, 59))).toBe(false);
    expect(inMaintenanceWindow(w, at(5, 22))).toBe(true);
    expect(inMaintenanceWindow(w, at(6, 1, 59))).toBe(true); // Tuesday 01:59 belongs to Monday's window
    expect(inMaintenanceWindow(w, at(6, 2))).toBe(false);
    expect(inMaintenanceWindow(w, at(6, 22))).toBe(false); // Tuesday night: no window
    expect(nextMaintenanceWindow(w, at(6, 3))).toBe(at(12, 22));
  });

  it('honours a UTC offset', () => {
    const w: MaintenanceWindow[] = [{ start: '02:00', end: '04:00', utcOffsetMinutes: 120 }]; // 00:00–02:00 UTC
    expect(inMaintenanceWindow(w, at(5, 0, 30))).toBe(true);
    expect(inMaintenanceWindow(w, at(5, 2, 30))).toBe(false);
    expect(nextMaintenanceWindow(w, at(5, 12))).toBe(at(6, 0));
  });

  it('the next opening is inside a window and no earlier time from now is', () => {
    const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
    const windowArb = fc.record(
      { start: hhmm, end: hhmm, days: fc.uniqueArray(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 7 }), utcOffsetMinutes: fc.integer({ min: -600, max: 600 }) },
      { requiredKeys: ['start', 'end'] },
    );
    fc.assert(
      fc.property(fc.array(windowArb, { minLength: 1, maxLength: 3 }), fc.integer({ min: at(1, 0), max: at(28, 0) }), (windows, now) => {
        const next = nextMaintenanceWindow(windows, now);
        expect(next).toBeDefined();
        expect(inMaintenanceWindow(windows, next!)).toBe(true);
        // Sample minutes before the opening: none of them is inside a window.
        for (let t = now; t < next!; t += Math.max(60_000, Math.floor((next! - now) / 50))) expect(inMaintenanceWindow(windows, t)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses malformed windows and times with INVALID_ARGUMENT', () => {
    const bad: [unknown, unknown][] = [
      [[{ start: '25:00', end: '02:00' }], at(5, 12)],
      [[{ start: '22:00', end: '02:00', days: [] }], at(5, 12)],
      [[{ start: '22:00' }], at(5, 12)],
      ['always', at(5, 12)],
      [[], Number.NaN],
      // Beyond the Date range a day number + 1 equals itself: such a time is refused, not looped on.
      [[{ start: '22:00', end: '02:00', days: [1] }], 1e300],
      [[], -8.64e15 - 1],
    ];
    for (const [windows, now] of bad) {
      for (const fn of [inMaintenanceWindow, nextMaintenanceWindow]) {
        let thrown: unknown;
        try {
          fn(windows as MaintenanceWindow[], now as number);
        } catch (e) {
          thrown = e;
        }
        expect(isFleetError(thrown, 'INVALID_ARGUMENT')).toBe(true);
        expect(thrown).toMatchObject({ status: 400 });
      }
    }
    expect(nextMaintenanceWindow([], 8.64e15)).toBe(8.64e15);
  });

  it('describes a BigInt, Symbol or object `now` without calling its conversion hooks', () => {
    for (const { value } of hostileValues()) {
      expectFleetError(() => inMaintenanceWindow([], value as number), 'INVALID_ARGUMENT', 'inMaintenanceWindow(windows, now): now', 'got ');
      expectFleetError(() => nextMaintenanceWindow([], value as number), 'INVALID_ARGUMENT', 'nextMaintenanceWindow(windows, now): now', 'got ');
    }
  });
});
