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
