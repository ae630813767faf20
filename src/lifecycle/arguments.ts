/**
 * Argument checks shared by the lifecycle entry points: a wrong type from an untyped caller ends as
 * an `INVALID_ARGUMENT` FleetError naming the function and the argument, never as a TypeError.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** The `INVALID_ARGUMENT` (400) error of `fn`. */
export function invalidArgument(fn: string, message: string): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${fn}: ${message}`, { status: 400 });
}

/** `value` when it is an object (not null); else throws naming `what` it should be. */
export function objectArgument(fn: string, name: string, value: unknown, what: string): object {
  if (typeof value === 'object' && value !== null) return value;
  throw invalidArgument(fn, `${name} must be ${what}, got ${describeValue(value)}`);
}

/** `value` when it is a string; else throws. */
export function stringArgument(fn: string, name: string, value: unknown): string {
  if (typeof value === 'string') return value;
  throw invalidArgument(fn, `${name} must be a string, got ${describeValue(value)}`);
}

/** `value` when it is a finite number; else throws naming it an epoch-ms time. */
export function timeArgument(fn: string, name: string, value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  throw invalidArgument(fn, `${name} must be a finite epoch-ms time, got ${describeValue(value)}`);
}

/** `value` when it is a Map (a revocation list, a nonce ledger, the enrollment groups); else throws. */
export function mapArgument<K, V>(fn: string, name: string, value: unknown, from: string): ReadonlyMap<K, V> {
  if (value instanceof Map) return value as ReadonlyMap<K, V>;
  throw invalidArgument(fn, `${name} must be ${from}, got ${describeValue(value)}`);
}
