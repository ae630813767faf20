/**
 * Maintenance windows: recurring times of day in which a rollout may dispatch.
 */
import type { MaintenanceWindow } from './spec.js';

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

/**
 * The opening time of the window occurrence that contains `now`, or `undefined` when `now` is
 * outside every occurrence of `window`.
 */
function occurrenceContaining(window: MaintenanceWindow, now: number): number | undefined {
  const offset = (window.utcOffsetMinutes ?? 0) * MINUTE;
  const local = now + offset;
  const today = Math.floor(local / DAY);
  // An occurrence lasts under 24 h, so it started today or yesterday (local time).
  for (const day of [today, today - 1]) {
    const opens = day * DAY + minutesOf(window.start) * MINUTE;
    if (startsOn(window, day) && local >= opens && local < opens + lengthMs(window)) return opens - offset;
  }
  return undefined;
}

/**
 * True when dispatching is allowed at `now`: there are no windows, or `now` falls in one.
 *
 * @param windows - the rollout's maintenance windows
 * @param now - epoch ms
 */
export function inMaintenanceWindow(windows: readonly MaintenanceWindow[], now: number): boolean {
  return windows.length === 0 || windows.some((w) => occurrenceContaining(w, now) !== undefined);
}

/**
 * The first time at or after `now` at which dispatching is allowed (`now` itself when inside a
 * window or when there are no windows).
 *
 * @param windows - the rollout's maintenance windows
 * @param now - epoch ms
 * @returns epoch ms, or `undefined` if no window ever opens (cannot happen for valid windows)
 */
export function nextMaintenanceWindow(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  if (inMaintenanceWindow(windows, now)) return now;
  let best: number | undefined;
  for (const w of windows) {
    const offset = (w.utcOffsetMinutes ?? 0) * MINUTE;
    const today = Math.floor((now + offset) / DAY);
    for (let day = today; day <= today + 7; day++) {
      const opens = day * DAY + minutesOf(w.start) * MINUTE - offset;
      if (opens >= now && startsOn(w, day)) {
        if (best === undefined || opens < best) best = opens;
        break;
      }
    }
  }
  return best;
}
