/**
 * Maps driver errors to FleetErrors: a database that cannot be reached (down, restarting, out of
 * connections, closed) is `STORE_UNAVAILABLE` (503, retryable); anything else the database
 * refused is `INTERNAL` with the SQLSTATE, never a raw driver error.
 */
import { FleetError, isFleetError } from '../errors.js';

const UNAVAILABLE_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT']);
// SQLSTATE: 08 connection exceptions; 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot
// connect now (starting up); 53300 too many connections.
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);
const UNAVAILABLE_MESSAGES = [/connection terminated/i, /timeout exceeded when trying to connect/i, /not queryable/i, /pglite is closed/i, /connection (was )?closed/i, /the database system is (starting up|shutting down)/i];

/** @internal The SQLSTATE of a database error, if it has one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** @internal True when `error` means the database could not be reached or went away. */
export function isUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_NODE_CODES.has(code) || UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  const message = (error as { message?: unknown }).message;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => m.test(message))) return true;
  const errors = (error as { errors?: unknown }).errors; // AggregateError of a multi-address connect
  return Array.isArray(errors) && errors.some(isUnavailable);
}

/** @internal The FleetError for a driver error (FleetErrors pass through unchanged). */
export function toStoreError(error: unknown): FleetError {
  if (isFleetError(error)) return error;
  if (isUnavailable(error)) {
    return new FleetError('STORE_UNAVAILABLE', `the database is unavailable (${describe(error)}); nothing was written, retry when it is back`, {
      status: 503,
      details: { retryable: true },
      cause: error,
    });
  }
  const state = sqlState(error);
  return new FleetError('INTERNAL', `the database refused the operation (${describe(error)})`, {
    status: 500,
    ...(state === undefined ? {} : { details: { sqlState: state } }),
    cause: error,
  });
}

function describe(error: unknown): string {
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  return state === undefined ? message.slice(0, 300) : `SQLSTATE ${state}: ${message.slice(0, 300)}`;
}
