/**
 * The steps of the shadow request pipeline, one concern each: route (topic → thing and
 * operation), decode (bytes → request), authorize (thing → tenant), and the refusals they produce.
 * The protocol rules themselves (validation, merge, versions, delta) live in the shadow core.
 */
import { FleetError, isFleetError } from '../errors.js';
import { isJsonObject, parseJson, utf8ByteLength } from '../json.js';
import { safeParseTopic, type ShadowOperation } from '../protocol/topics.js';
import type { ResolvedShadowLimits } from '../shadow/limits.js';
import { AWS_MESSAGES, rejectedPayload } from '../shadow/rejections.js';
import type { RejectedPayload } from '../shadow/types.js';
import type { DeviceStore } from '../store/device-store.js';
import type { ShadowRequestSource } from './shadow-events.js';

/** @internal One request on its way through the pipeline. */
export interface ShadowCall {
  readonly source: ShadowRequestSource;
  readonly operation: ShadowOperation;
  readonly thingName: string;
  readonly shadowName: string | undefined;
  /** The decoded request object, or the raw bytes when they are not JSON (the core then refuses them with AWS's exact message). */
  readonly request: unknown;
  /** The request's valid `clientToken`, echoed on every reply. */
  readonly clientToken: string | undefined;
  /** The application's tenant; absent for a device's request (its tenant comes from the registry). */
  readonly tenantId: string | undefined;
}

/** @internal A refusal: the error and the `/rejected` payload. */
export interface Refusal {
  readonly ok: false;
  readonly error: FleetError;
  readonly rejected: RejectedPayload;
  readonly tenantId: string | undefined;
}

/** @internal Where a request topic points. */
export interface ShadowRoute {
  readonly thingName: string;
  readonly shadowName: string | undefined;
  readonly operation: ShadowOperation;
}

/**
 * Route: a request topic → thing, shadow and operation. Response topics (`…/accepted` etc.) and
 * anything outside the shadow tree are errors (nobody can be answered: the topic names no valid thing).
 */
export function routeRequest(topic: string): ShadowRoute | FleetError {
  const parsed = safeParseTopic(topic);
  if (!parsed.ok) return parsed.error;
  const t = parsed.value;
  if (t.kind !== 'shadow' || t.response !== undefined) {
    return new FleetError('INVALID_TOPIC', `Topic "${topic}" is not a shadow request topic ($aws/things/{thing}/shadow[/name/{shadow}]/{get|update|delete})`, { status: 400 });
  }
  return { thingName: t.thingName, shadowName: t.shadowName, operation: t.operation };
}

/**
 * Decode: the payload bytes → the request object and its valid `clientToken`. An empty payload is
 * `{}` (AWS allows empty get and delete requests). Bytes that are not acceptable JSON are passed on
 * as they are, so that the shadow core refuses them with AWS's exact message.
 */
export function decodeRequest(payload: Uint8Array, limits: ResolvedShadowLimits): { request: unknown; clientToken: string | undefined } {
  if (payload.byteLength === 0) return { request: {}, clientToken: undefined };
  let request: unknown;
  try {
    request = parseJson(payload, { maxBytes: limits.maxRequestBytes, maxDepth: limits.maxDepth + 3 });
  } catch {
    return { request: payload, clientToken: undefined };
  }
  return { request, clientToken: clientTokenOf(request, limits) };
}

/** The request's `clientToken` when it is valid (a string of at most the limit's bytes). */
export function clientTokenOf(request: unknown, limits: ResolvedShadowLimits): string | undefined {
  if (!isJsonObject(request)) return undefined;
  const token = request['clientToken'];
  return typeof token === 'string' && token.length <= limits.maxClientTokenBytes && utf8ByteLength(token) <= limits.maxClientTokenBytes ? token : undefined;
}

function refusalError(code: 'DEVICE_NOT_FOUND' | 'FORBIDDEN' | 'TENANT_MISMATCH' | 'TOO_MANY_REQUESTS' | 'INTERNAL', status: number, awsMessage: string, message: string): FleetError {
  return new FleetError(code, message, { status, details: { awsMessage }, captureStack: false });
}

/**
 * Authorize: the thing must belong to a registered device, and to the caller's tenant when the
 * caller is an application. Returns the owning tenant.
 *
 * - not registered → 404 `No shadow exists with name: '…'` (unless open shadows are on: then the thing belongs to `openTenant`);
 * - registered but decommissioned → 403 `Forbidden`;
 * - an application of another tenant → `TENANT_MISMATCH` (403 `Forbidden` on the wire).
 */
export async function authorizeThing(devices: DeviceStore, call: ShadowCall, openTenant: string | undefined): Promise<string> {
  const location = await devices.locate(call.thingName);
  let owner: string;
  if (location === undefined) {
    if (openTenant === undefined) {
      throw refusalError(
        'DEVICE_NOT_FOUND',
        404,
        `No shadow exists with name: '${call.shadowName ?? call.thingName}'`,
        `Thing "${call.thingName}" is not a registered device; register it (or enable open shadows) before using its shadow`,
      );
    }
    owner = openTenant;
  } else {
    if (location.state === 'decommissioned') {
      throw refusalError('FORBIDDEN', 403, AWS_MESSAGES.forbidden, `Thing "${call.thingName}" is decommissioned; its shadow is closed`);
    }
    owner = location.tenantId;
  }
  if (call.tenantId !== undefined && call.tenantId !== owner) {
    throw refusalError('TENANT_MISMATCH', 403, AWS_MESSAGES.forbidden, `Thing "${call.thingName}" belongs to another tenant than "${call.tenantId}"; use that tenant's context`);
  }
  return owner;
}

/** The 429 for a thing with too many requests in flight. */
export function tooManyRequests(call: ShadowCall, limit: number): FleetError {
  return refusalError('TOO_MANY_REQUESTS', 429, AWS_MESSAGES.tooManyRequests, `Thing "${call.thingName}" has ${limit} requests in flight; wait for their responses before sending more`);
}

/**
 * A refusal for any error: the core's rejections and the authorize step's keep their AWS status
 * and message; a store that names another tenant is 403 `Forbidden`; anything else is a failure of
 * the service: 500 `Internal service failure` (and `internal` is true, for the `error` event).
 */
export function refusalFor(e: unknown, call: ShadowCall, now: number, tenantId: string | undefined): Refusal & { readonly internal: boolean } {
  let error: FleetError;
  let internal = false;
  if (isFleetError(e) && typeof e.details?.['awsMessage'] === 'string') error = e;
  else if (isFleetError(e, 'TENANT_MISMATCH')) error = new FleetError('TENANT_MISMATCH', e.message, { status: 403, details: { awsMessage: AWS_MESSAGES.forbidden }, cause: e });
  else {
    internal = true;
    const why = e instanceof Error ? e.message : String(e);
    error = new FleetError('INTERNAL', `Shadow service failure on "${call.thingName}": ${why}`, { status: 500, details: { awsMessage: AWS_MESSAGES.internal }, cause: e });
  }
  return { ok: false, error, rejected: rejectedPayload(error, { now, clientToken: call.clientToken }), tenantId, internal };
}

/** The topic of a response to `call`, built from its (already validated) names. */
export function responseTopic(call: { readonly thingName: string; readonly shadowName: string | undefined }, operation: ShadowOperation, response: 'accepted' | 'rejected' | 'delta' | 'documents'): string {
  const base = call.shadowName === undefined ? `$aws/things/${call.thingName}/shadow/` : `$aws/things/${call.thingName}/shadow/name/${call.shadowName}/`;
  return `${base}${operation}/${response}`;
}
