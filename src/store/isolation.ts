/**
 * How the memory stores keep stored state isolated from callers: what they store and return is
 * deeply frozen, so no caller can change stored state through an object it passed in or got back.
 */
import { FleetError } from '../errors.js';
import { FORBIDDEN_KEYS } from '../json.js';

/**
 * @internal Checks that `value` holds only JSON data (plain objects, arrays, strings, finite
 * numbers, booleans, null), skipping subtrees that are identical (`===`) to the subtree at the same
 * path in `previous` (already checked when it was stored).
 *
 * @throws FleetError `INVALID_ARGUMENT` naming the path of the first offending value.
 */
export function checkData(api: string, value: unknown, previous: unknown, path: string): void {
  const bad = dataWalk(value, previous, 0, false);
  if (bad !== undefined) throw notData(api, path + bad.steps.reverse().join(''), bad.what);
}

function notData(api: string, path: string, what: string): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${api}: ${path} is ${what}; stores hold JSON data only (objects, arrays, strings, finite numbers, booleans, null)`, {
    status: 400,
    details: { path },
  });
}

/**
 * @internal {@link checkData} and a deep freeze in one pass (post-order: a node is frozen
 * once its children passed). On bad data it throws after freezing the subtrees it already checked;
 * nothing is stored, but pass data you do not mean to change afterwards.
 */
export function checkAndFreeze(api: string, value: unknown, previous: unknown, path: string): void {
  const bad = dataWalk(value, previous, 0, true);
  if (bad !== undefined) throw notData(api, path + bad.steps.reverse().join(''), bad.what);
}

/** What {@link dataWalk} found wrong; the steps to it are collected on the way back up (no path strings for good data). */
interface NotData {
  readonly what: string;
  readonly steps: string[];
}

function dataWalk(value: unknown, previous: unknown, depth: number, freeze: boolean): NotData | undefined {
  if (value === previous && value !== undefined) return undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { what: String(value), steps: [] };
  if (typeof value !== 'object') return { what: typeof value, steps: [] };
  if (depth > 64) return { what: 'nesting deeper than 64 levels (or a cycle)', steps: [] };
  if (Array.isArray(value)) {
    const prev = Array.isArray(previous) ? previous : undefined;
    for (let i = 0; i < value.length; i++) {
      const bad = dataWalk(value[i], prev?.[i], depth + 1, freeze);
      if (bad !== undefined) {
        bad.steps.push(`[${i}]`);
        return bad;
      }
    }
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return { what: `an instance of ${(value as object).constructor?.name ?? 'a class'}`, steps: [] };
    const prev = typeof previous === 'object' && previous !== null && !Array.isArray(previous) ? (previous as Record<string, unknown>) : undefined;
    for (const key in value) {
      if (FORBIDDEN_KEYS.has(key)) return { what: 'a forbidden key', steps: [`.${key}`] };
      const bad = dataWalk((value as Record<string, unknown>)[key], prev?.[key], depth + 1, freeze);
      if (bad !== undefined) {
        bad.steps.push(`.${key}`);
        return bad;
      }
    }
  }
  if (freeze && !Object.isFrozen(value)) Object.freeze(value);
  return undefined;
}

/**
 * @internal A deep, frozen copy of JSON data (the caller's object stays as it was and is not
 * frozen). `undefined` properties are dropped, as JSON would.
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return Object.freeze(value.map((v: unknown) => frozenCopy(v))) as T;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = frozenCopy(v);
  }
  return Object.freeze(out) as T;
}
