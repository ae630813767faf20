/**
 * The FleetError a call throws; fails the test when it returns or throws anything else.
 */
import { FleetError, isFleetError } from '../../src/errors.js';

export function errorOf(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    if (isFleetError(e)) return e;
    throw e;
  }
  throw new Error('expected a FleetError');
}
