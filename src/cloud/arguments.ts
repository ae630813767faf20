/**
 * Argument checks shared by the cloud services: untyped callers get a FleetError, never a TypeError.
 */
import { FleetError } from '../errors.js';

/**
 * @internal An options argument: `{}` for `undefined` or `null`, the object itself otherwise.
 * @throws FleetError `INVALID_ARGUMENT` for anything that is not an object.
 */
export function optionsOf<T extends object>(api: string, value: T | null | undefined): Partial<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') throw new FleetError('INVALID_ARGUMENT', `${api}: options must be an object, got ${typeof value}`, { status: 400 });
  return value;
}

/**
 * @internal The subscription filter for `filter` under an optional `shareGroup` option: the
 * filter itself without one, `$share/{group}/{filter}` with one.
 * @throws FleetError `INVALID_ARGUMENT` for a group that is not a non-empty string of at most 64
 *   characters without `/`, `+`, `#` or NUL.
 */
export function shareGroupFilter(api: string, group: unknown): (filter: string) => string {
  if (group === undefined) return (filter) => filter;
  if (typeof group !== 'string' || group.length === 0 || group.length > 64 || /[/+#\u0000]/.test(group)) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: shareGroup must be a name of 1–64 characters without "/", "+", "#" (for example "shadow-service"), got ${typeof group === 'string' ? JSON.stringify(group) : typeof group}`, { status: 400 });
  }
  return (filter) => `$share/${group}/${filter}`;
}
