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

describe('maintenance windows: boundaries', () => {
  it('a window whose end equals its start lasts 24 hours from its start', () => {
    const w: MaintenanceWindow[] = [{ start: '10:00', end: '10:00', days: [1] }]; // Monday 10:00 to Tuesday 10:00
    expect(inMaintenanceWindow(w, at(5, 9, 59))).toBe(false);
    expect(inMaintenanceWindow(w, at(5, 10))).toBe(true);
    expect(inMaintenanceWindow(w, at(6, 9, 59))).toBe(true);
    expect(inMaintenanceWindow(w, at(6, 10))).toBe(false);
  });

  it('a window that starts only on today’s weekday and has already closed opens again in seven days', () => {
    const w: MaintenanceWindow[] = [{ start: '02:00', end: '03:00', days: [1] }];
    expect(nextMaintenanceWindow(w, at(5, 12))).toBe(at(12, 2));
    // With an offset the local day is the one that counts: 23:30 UTC Sunday is Monday 01:30 at UTC+2.
    expect(nextMaintenanceWindow([{ ...w[0]!, utcOffsetMinutes: 120 }], at(4, 23, 30))).toBe(at(5, 0));
  });

  it('the earliest of several windows wins, whatever their order', () => {
    const a: MaintenanceWindow = { start: '04:00', end: '05:00' };
    const b: MaintenanceWindow = { start: '03:00', end: '05:00' };
    expect(nextMaintenanceWindow([a, b], at(5, 12))).toBe(at(6, 3));
    expect(nextMaintenanceWindow([b, a], at(5, 12))).toBe(at(6, 3));
  });

  it('a malformed window is named by its path, with the schema message and the expected shape', () => {
    const e = expectFleetError(() => inMaintenanceWindow([{ start: '02:00', end: '03:00' }, { start: '25:00', end: '03:00' }] as never, 0), 'INVALID_ARGUMENT');
    expect(e.message).toBe(
      "inMaintenanceWindow(windows, now): windows.1.start: expected HH:MM (24-hour); a window is { start: 'HH:MM', end: 'HH:MM', days?: [0–6], utcOffsetMinutes? }",
    );
    expect(e.status).toBe(400);
    expect(() => nextMaintenanceWindow('x' as never, 0)).toThrow(/^nextMaintenanceWindow\(windows, now\): windows: /);
  });
});
