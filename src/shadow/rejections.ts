/**
 * AWS-compatible rejection errors and the `/rejected` payload.
 */
import { FleetError, isFleetError, type FleetErrorCode } from '../errors.js';
import { argumentError, checkOptional, checkOptions, describeValue } from './arguments.js';
import type { RejectedPayload } from './types.js';

/**
 * AWS's exact rejection messages, by name (the AWS IoT developer guide's "Device Shadow error
 * messages"; docs/shadow.md lists which request gets which). `thingNotFound`, `unauthorized`,
 * `forbidden` and `tooManyRequests` are never produced by the engine: they are the answers of the
 * service around it (registry, authorization, in-flight limit).
 */
export const AWS_MESSAGES = {
  invalidJson: 'Invalid JSON',
  missingState: 'Missing required node: state',
  stateNotObject: 'State node must be an object',
  desiredNotObject: 'Desired node must be an object',
  reportedNotObject: 'Reported node must be an object',
  invalidVersion: 'Invalid version',
  invalidClientToken: 'Invalid clientToken',
  tooDeep: 'JSON contains too many levels of nesting; maximum is 6',
  invalidStateNode: 'State contains an invalid node',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  thingNotFound: 'Thing not found',
  versionConflict: 'Version conflict',
  tooLarge: 'The payload exceeds the maximum size allowed',
  unsupportedEncoding: 'Unsupported documented encoding; supported encoding is UTF-8',
  tooManyRequests: 'Too Many Requests',
  internal: 'Internal service failure',
} as const;

/**
 * Builds a shadow rejection: a {@link FleetError} whose `message` is AWS's text followed by what
 * to fix, and whose `details.awsMessage` is AWS's text alone (what `/rejected` carries).
 */
export function shadowError(code: FleetErrorCode, status: number, awsMessage: string, hint: string, details: Record<string, unknown> = {}): FleetError {
  return new FleetError(code, hint === '' ? awsMessage : `${awsMessage}: ${hint}`, { status, details: { ...details, awsMessage }, captureStack: false });
}

/**
 * The 404 for a get or delete of a shadow that does not exist: `No shadow exists with name: 'lamp'`,
 * the name in single quotes, as the AWS IoT named-shadow walkthrough and the AWS IoT Device SDK v2
 * shadow sample show the service's answer (the error-message table of the developer guide writes
 * the placeholder without them).
 */
export function notFound(name: string): FleetError {
  return shadowError('SHADOW_NOT_FOUND', 404, `No shadow exists with name: '${name}'`, '', { name });
}

/**
 * The `/rejected` payload for an error: `{ code, message, timestamp, clientToken? }` with AWS's
 * message text. Errors that are not shadow rejections answer 500 `Internal service failure`
 * unless they carry their own status.
 *
 * @param error - the rejection
 * @param options - `now` in epoch milliseconds, and the request's valid `clientToken`
 * @throws FleetError `INVALID_ARGUMENT` (status 400) when `error` is not a FleetError or `options`
 *   is not `{ now, clientToken? }`.
 */
export function rejectedPayload(error: FleetError, options: { now: number; clientToken?: string | undefined }): RejectedPayload {
  const fn = 'rejectedPayload';
  if (!isFleetError(error)) throw argumentError(fn, `error must be a FleetError, got ${describeValue(error)}`, 400);
  checkOptions(fn, options, 400);
  checkOptional(fn, 'options.clientToken', options.clientToken, 'string', 400);
  const aws = error.details?.['awsMessage'];
  const message = typeof aws === 'string' ? aws : error.status === undefined || error.status >= 500 ? AWS_MESSAGES.internal : error.message;
  const payload: { code: number; message: string; timestamp: number; clientToken?: string } = {
    code: error.status ?? 500,
    message,
    timestamp: Math.floor(options.now / 1000),
  };
  if (options.clientToken !== undefined) payload.clientToken = options.clientToken;
  return payload;
}
