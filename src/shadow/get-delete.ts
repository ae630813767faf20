/**
 * Shadow get and delete (SHADOW.md, "Topics" and "Versions").
 */
import { FleetError, isFleetError } from '../errors.js';
import { isJsonObject } from '../json.js';
import { unwrapAck } from './acknowledgement.js';
import { checkDocument, checkLimits, checkOptional, checkOptions, checkStored, describeValue } from './arguments.js';
import type { ShadowLimits } from './limits.js';
import { AWS_MESSAGES, notFound, rejectedPayload, shadowError } from './rejections.js';
import type { DeleteAcceptedPayload, GetAcceptedPayload, RejectedPayload, ShadowDocument, ShadowTombstone, StoredShadow } from './types.js';
import { decodeRequest, deltaOfDocument, isTombstone } from './update.js';
import { readClientToken, validateCommon } from './validate.js';

/** Options of {@link getShadowResponse}. */
export interface GetShadowResponseOptions {
  /** Epoch milliseconds of the response. */
  readonly now: number;
  /** Token to echo. */
  readonly clientToken?: string;
  /** Unwrap `{ value, ac, av, ad }` envelopes when computing the delta. @defaultValue false */
  readonly acknowledgements?: boolean;
}

/**
 * The `/get/accepted` payload of a live document: desired, reported, the delta (when non-empty),
 * metadata, version, `timestamp` in epoch seconds and the echoed `clientToken`.
 *
 * @throws FleetError `INVALID_ARGUMENT` (status 400) when `document` is not a stored document
 *   `{ state, metadata, version }` or `options` is not `{ now, clientToken?, acknowledgements? }`.
 */
export function getShadowResponse(document: ShadowDocument, options: GetShadowResponseOptions): GetAcceptedPayload {
  const fn = 'getShadowResponse';
  checkDocument(fn, document, 400);
  checkOptions(fn, options, 400);
  checkOptional(fn, 'options.clientToken', options.clientToken, 'string', 400);
  checkOptional(fn, 'options.acknowledgements', options.acknowledgements, 'boolean', 400);
  return getResponse(document, options.now, options.clientToken, options.acknowledgements === true);
}

function getResponse(document: ShadowDocument, now: number, clientToken: string | undefined, acknowledgements: boolean): GetAcceptedPayload {
  const { desired, reported } = document.state;
  const state: { desired?: typeof desired; reported?: typeof reported; delta?: NonNullable<typeof desired> } = {};
  if (desired !== undefined) state.desired = desired;
  if (reported !== undefined) state.reported = reported;
  // remembered from the update that produced the document, else computed
  const delta = deltaOfDocument(document, acknowledgements ? unwrapAck : undefined);
  if (delta !== undefined) state.delta = delta.state;
  const payload: { state: typeof state; metadata: ShadowDocument['metadata']; version: number; timestamp: number; clientToken?: string } = {
    state,
    metadata: document.metadata,
    version: document.version,
    timestamp: Math.floor(now / 1000),
  };
  if (clientToken !== undefined) payload.clientToken = clientToken;
  return payload;
}

/** Options of {@link getShadow} and {@link deleteShadow}. */
export interface ShadowRequestOptions {
  /** Epoch milliseconds. */
  readonly now: number;
  /** The shadow's name for the 404 message (the thing name for a classic shadow). @defaultValue `'shadow'` */
  readonly name?: string;
  /** The request payload: empty, or `{ clientToken?, version? }` (object, JSON text or bytes). `version` is ignored, as AWS does. */
  readonly request?: unknown;
  /** Limits (for the client token and raw request size). */
  readonly limits?: ShadowLimits;
  /** Unwrap acknowledgement envelopes when computing the delta (get only). @defaultValue false */
  readonly acknowledgements?: boolean;
}

/** A rejected get or delete. */
export interface ShadowRequestRejected {
  /** Rejected. */
  readonly ok: false;
  /** Why. */
  readonly error: FleetError;
  /** The `/rejected` payload. */
  readonly rejected: RejectedPayload;
}

/** The outcome of {@link getShadow}. */
export type GetShadowResult = { readonly ok: true; readonly response: GetAcceptedPayload } | ShadowRequestRejected;

/** The outcome of {@link deleteShadow}: the `/delete/accepted` payload and the tombstone to store. */
export type DeleteShadowResult = { readonly ok: true; readonly accepted: DeleteAcceptedPayload; readonly tombstone: ShadowTombstone } | ShadowRequestRejected;

function readRequest(fn: string, options: ShadowRequestOptions): { clientToken: string | undefined } {
  checkOptions(fn, options, 500);
  const limits = checkLimits(fn, options.limits, 500);
  checkOptional(fn, 'options.name', options.name, 'string', 500);
  checkOptional(fn, 'options.acknowledgements', options.acknowledgements, 'boolean', 500);
  const raw = options.request === undefined ? {} : decodeRequest(options.request, limits);
  if (!isJsonObject(raw)) {
    throw shadowError('INVALID_JSON', 400, AWS_MESSAGES.invalidJson, 'the payload must be empty or a JSON object such as {"clientToken":"…"}');
  }
  return { clientToken: validateCommon(raw, limits).clientToken };
}

function reject(fn: string, e: unknown, options: ShadowRequestOptions): ShadowRequestRejected {
  const error = isFleetError(e) ? e : new FleetError('INTERNAL', `Internal service failure: ${e instanceof Error ? e.message : describeValue(e)}`, { status: 500, cause: e });
  let clientToken: string | undefined;
  let now = 0;
  try {
    now = checkOptions(fn, options, 500).now;
    const limits = checkLimits(fn, options.limits, 500);
    clientToken = readClientToken(options.request === undefined ? undefined : decodeRequest(options.request, limits), limits);
  } catch {
    // the error being reported says what was wrong; the payload then has no token
  }
  return { ok: false, error, rejected: rejectedPayload(error, { now, clientToken }) };
}

/**
 * A get request: the `/get/accepted` payload, or 404 `No shadow exists with name: '…'` for a
 * shadow that does not exist or was deleted. Never throws: bad arguments from your code (missing
 * options, `now` not finite, a malformed stored document) are returned as `INVALID_ARGUMENT`
 * (`/rejected` 500).
 */
export function getShadow(stored: StoredShadow | undefined, options: ShadowRequestOptions): GetShadowResult {
  const fn = 'getShadow';
  try {
    const { clientToken } = readRequest(fn, options);
    const live = checkStored(fn, stored, 500);
    if (live === undefined || isTombstone(live)) throw notFound(options.name ?? 'shadow');
    return { ok: true, response: getResponse(live, options.now, clientToken, options.acknowledgements === true) };
  } catch (e) {
    return reject(fn, e, options);
  }
}

/**
 * A delete request: the `/delete/accepted` payload (with the deleted document's version) and the
 * tombstone to store in its place, so the version continues when the shadow is re-created.
 * Deleting a missing or already deleted shadow is a 404. Never throws (see {@link getShadow}).
 */
export function deleteShadow(stored: StoredShadow | undefined, options: ShadowRequestOptions): DeleteShadowResult {
  const fn = 'deleteShadow';
  try {
    const { clientToken } = readRequest(fn, options);
    const live = checkStored(fn, stored, 500);
    if (live === undefined || isTombstone(live)) throw notFound(options.name ?? 'shadow');
    const accepted: { version: number; timestamp: number; clientToken?: string } = { version: live.version, timestamp: Math.floor(options.now / 1000) };
    if (clientToken !== undefined) accepted.clientToken = clientToken;
    return { ok: true, accepted, tombstone: { deleted: true, version: live.version } };
  } catch (e) {
    return reject(fn, e, options);
  }
}
