/**
 * Input checks shared by the operations core (tenancy, monitor, fog): zod parses at the public
 * boundary, and the first problem becomes one `FleetError` that names the function, the field
 * and what it expects — never a ZodError or a TypeError.
 *
 * @internal
 */
import type { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError, type FleetErrorCode } from '../errors.js';

/** @internal The `INVALID_ARGUMENT` (400) error of `fn`. */
export function invalidArgument(fn: string, message: string, details?: Readonly<Record<string, unknown>>): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${fn}: ${message}`, { status: 400, captureStack: false, ...(details === undefined ? {} : { details }) });
}

/**
 * @internal Parses `value` with `schema`; on failure throws a FleetError (`code`, 400) naming the
 * path of the first issue and zod's description of what it expects.
 */
export function parseWith<S extends z.ZodType>(fn: string, name: string, schema: S, value: unknown, code: FleetErrorCode = 'INVALID_ARGUMENT'): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue === undefined || issue.path.length === 0 ? name : `${name}.${issue.path.map((p) => (typeof p === 'symbol' ? '[symbol]' : String(p))).join('.')}`;
  const message = issue === undefined ? 'is invalid' : issue.message;
  throw new FleetError(code, `${fn}: ${path}: ${message}`, { status: 400, captureStack: false, details: { path, issues: result.error.issues.length } });
}

/** @internal `value` when it is a finite number in [min, max]; else throws naming `name`. */
export function numberArgument(fn: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value === 'number' && value >= min && value <= max) return value;
  throw invalidArgument(fn, `${name} must be a number from ${min} to ${max}, got ${describeValue(value)}`);
}

/** @internal `value` when it is an integer in [min, max]; else throws naming `name`. */
export function integerArgument(fn: string, name: string, value: unknown, min: number, max: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw invalidArgument(fn, `${name} must be an integer from ${min} to ${max}, got ${describeValue(value)}`);
}

/** @internal `value` when it is an object (not null, not an array); else throws naming `name`. */
export function objectArgument(fn: string, name: string, value: unknown, what: string): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  throw invalidArgument(fn, `${name} must be ${what}, got ${describeValue(value)}`);
}

/**
 * The latest time any operations-core function accepts, in epoch ms (about the year 2255): times
 * are held in integer microseconds, which stay exact below 2^53.
 */
export const MAX_TIME_MS = 9_000_000_000_000;
