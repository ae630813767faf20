/**
 * Shadow get and delete (SHADOW.md, "Topics" and "Versions").
 */
import { FleetError, isFleetError } from '../errors.js';
import { isJsonObject } from '../json.js';
import { unwrapAck } from './acknowledgement.js';
import { deltaOf } from './delta.js';
import { resolveLimits, type ShadowLimits } from './limits.js';
import { AWS_MESSAGES, notFound, rejectedPayload, shadowError } from './rejections.js';
import type { DeleteAcceptedPayload, GetAcceptedPayload, RejectedPayload, ShadowDocument, ShadowTombstone, StoredShadow } from './types.js';
import { decodeRequest, isTombstone } from './update.js';
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
 */
export function getShadowResponse(document: ShadowDocument, options: GetShadowResponseOptions): GetAcceptedPayload {
  const { desired, reported } = document.state;
  const state: { desired?: typeof desired; reported?: typeof reported; delta?: NonNullable<typeof desired> } = {};
  if (desired !== undefined) state.desired = desired;
  if (reported !== undefined) state.reported = reported;
  const delta = desired === undefined ? undefined : deltaOf(desired, undefined, reported, options.acknowledgements === true ? unwrapAck : undefined);
  if (delta !== undefined) state.delta = delta.state;
  const payload: { state: typeof state; metadata: ShadowDocument['metadata']; version: number; timestamp: number; clientToken?: string } = {
    state,
    metadata: document.metadata,
    version: document.version,
    timestamp: Math.floor(options.now / 1000),
  };
  if (options.clientToken !== undefined) payload.clientToken = options.clientToken;
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

function readRequest(options: ShadowRequestOptions): { clientToken: string | undefined } {
  const limits = resolveLimits(options.limits);
  const raw = options.request === undefined ? {} : decodeRequest(options.request, limits);
  if (!isJsonObject(raw)) {
    throw shadowError('INVALID_JSON', 400, AWS_MESSAGES.invalidJson, 'the payload must be empty or a JSON object such as {"clientToken":"…"}');
  }
  return { clientToken: validateCommon(raw, limits).clientToken };
}

function reject(e: unknown, options: ShadowRequestOptions): ShadowRequestRejected {
  const error = isFleetError(e) ? e : new FleetError('INTERNAL', `Internal service failure: ${String(e)}`, { status: 500, cause: e });
  let clientToken: string | undefined;
  try {
    const raw = options.request === undefined ? undefined : decodeRequest(options.request, resolveLimits(options.limits));
    clientToken = readClientToken(raw, resolveLimits(options.limits));
  } catch {
    clientToken = undefined;
  }
  return { ok: false, error, rejected: rejectedPayload(error, { now: Number.isFinite(options.now) ? options.now : 0, clientToken }) };
}

/**
 * A get request: the `/get/accepted` payload, or 404 `No shadow exists with name: …` for a shadow
 * that does not exist or was deleted.
 */
export function getShadow(stored: StoredShadow | undefined, options: ShadowRequestOptions): GetShadowResult {
  try {
    const { clientToken } = readRequest(options);
    if (stored === undefined || isTombstone(stored)) throw notFound(options.name ?? 'shadow');
    const opts: { now: number; clientToken?: string; acknowledgements?: boolean } = { now: options.now };
    if (clientToken !== undefined) opts.clientToken = clientToken;
    if (options.acknowledgements !== undefined) opts.acknowledgements = options.acknowledgements;
    return { ok: true, response: getShadowResponse(stored, opts) };
  } catch (e) {
    return reject(e, options);
  }
}

/**
 * A delete request: the `/delete/accepted` payload (with the deleted document's version) and the
 * tombstone to store in its place, so the version continues when the shadow is re-created.
 * Deleting a missing or already deleted shadow is a 404.
 */
export function deleteShadow(stored: StoredShadow | undefined, options: ShadowRequestOptions): DeleteShadowResult {
  try {
    const { clientToken } = readRequest(options);
    if (stored === undefined || isTombstone(stored)) throw notFound(options.name ?? 'shadow');
    const accepted: { version: number; timestamp: number; clientToken?: string } = { version: stored.version, timestamp: Math.floor(options.now / 1000) };
    if (clientToken !== undefined) accepted.clientToken = clientToken;
    return { ok: true, accepted, tombstone: { deleted: true, version: stored.version } };
  } catch (e) {
    return reject(e, options);
  }
}
