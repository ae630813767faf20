/**
 * Maintenance windows: recurring times of day in which a rollout may dispatch.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { maintenanceWindowSchema } from './spec.js';
import type { MaintenanceWindow } from './spec.js';
import { describeValue } from '../describe-value.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** 1970-01-01 was a Thursday (day 4 with Sunday = 0). */
function weekday(dayNumber: number): number {
  return (((dayNumber + 4) % 7) + 7) % 7;
}

function startsOn(window: MaintenanceWindow, dayNumber: number): boolean {
  return window.days === undefined || window.days.includes(weekday(dayNumber));
}

/** The window's duration in ms; an end at or before the start wraps to the next day. */
function lengthMs(window: MaintenanceWindow): number {
  const start = minutesOf(window.start);
  let end = minutesOf(window.end);
  if (end <= start) end += 24 * 60;
  return (end - start) * MINUTE;
}

/** True when `now` falls in an occurrence of `window`. */
function inOccurrence(window: MaintenanceWindow, now: number): boolean {
  const offset = (window.utcOffsetMinutes ?? 0) * MINUTE;
  const local = now + offset;
  const today = Math.floor(local / DAY);
  // An occurrence lasts under 24 h, so it started today or yesterday (local time).
  for (const day of [today, today - 1]) {
    const opens = day * DAY + minutesOf(window.start) * MINUTE;
    if (startsOn(window, day) && local >= opens && local < opens + lengthMs(window)) return true;
  }
  return false;
}

const windowsSchema = z.array(maintenanceWindowSchema);
/** The largest epoch-ms time a Date can hold. */
const MAX_TIME = 8.64e15;

/** Validates the arguments of the public window functions (the evaluator uses plan windows, already validated). */
function checkArgs(fn: string, windows: unknown, now: unknown): void {
  if (typeof now !== 'number' || !(Math.abs(now) <= MAX_TIME)) {
    throw new FleetError('INVALID_ARGUMENT', `${fn}(windows, now): now must be an epoch-ms time within the Date range (±8.64e15), got ${describeValue(now)}`, { status: 400 });
  }
  const parsed = windowsSchema.safeParse(windows);
  if (!parsed.success) {
    // A failed parse always carries at least one issue.
    const issue = parsed.error.issues[0]!;
    const where = ['windows', ...issue.path.map(String)].join('.');
    throw new FleetError('INVALID_ARGUMENT', `${fn}(windows, now): ${where}: ${issue.message}; a window is { start: 'HH:MM', end: 'HH:MM', days?: [0–6], utcOffsetMinutes? }`, {
      status: 400,
    });
  }
}

/** @internal {@link inMaintenanceWindow} without argument checks. */
export function isInWindow(windows: readonly MaintenanceWindow[], now: number): boolean {
  return windows.length === 0 || windows.some((w) => inOccurrence(w, now));
}

/** @internal {@link nextMaintenanceWindow} without argument checks. */
export function nextWindowOpening(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  if (isInWindow(windows, now)) return now;
  let best: number | undefined;
  for (const w of windows) {
    const offset = (w.utcOffsetMinutes ?? 0) * MINUTE;
    const today = Math.floor((now + offset) / DAY);
    // Count the eight days by k, not by day++: past 2^53 ms, day + 1 === day and the loop would never end.
    for (let k = 0; k <= 7; k++) {
      const day = today + k;
      const opens = day * DAY + minutesOf(w.start) * MINUTE - offset;
      if (opens >= now && startsOn(w, day)) {
        if (best === undefined || opens < best) best = opens;
        break;
      }
    }
  }
  return best;
}

/**
 * True when dispatching is allowed at `now`: there are no windows, or `now` falls in one.
 *
 * @param windows - maintenance windows ({@link MaintenanceWindow})
 * @param now - epoch ms
 * @throws FleetError `INVALID_ARGUMENT` for a malformed window or a `now` outside the Date range (±8.64e15 ms).
 * @example
 * ```ts
 * inMaintenanceWindow([{ start: '22:00', end: '02:00', days: [1, 2, 3, 4, 5] }], Date.UTC(2026, 0, 5, 23, 0)); // true
 * ```
 */
export function inMaintenanceWindow(windows: readonly MaintenanceWindow[], now: number): boolean {
  checkArgs('inMaintenanceWindow', windows, now);
  return isInWindow(windows, now);
}

/**
 * The first time at or after `now` at which dispatching is allowed (`now` itself when inside a
 * window or when there are no windows).
 *
 * @param windows - maintenance windows ({@link MaintenanceWindow})
 * @param now - epoch ms
 * @returns epoch ms, or `undefined` if no window ever opens (cannot happen for valid windows)
 * @throws FleetError `INVALID_ARGUMENT` for a malformed window or a `now` outside the Date range (±8.64e15 ms).
 */
export function nextMaintenanceWindow(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  checkArgs('nextMaintenanceWindow', windows, now);
  return nextWindowOpening(windows, now);
}
