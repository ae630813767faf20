/**
 * `applyShadowUpdate`: the pure shadow update (SHADOW.md).
 */
import { FleetError, isFleetError } from '../errors.js';
import { jsonEqual, parseJson, utf8ByteLength, type JsonObject } from '../json.js';
import { unwrapAck } from './acknowledgement.js';
import { deltaOf } from './delta.js';
import { argumentError, checkLimits, checkOptional, checkOptions, checkStored, describeValue } from './arguments.js';
import type { ResolvedShadowLimits, ShadowLimits } from './limits.js';
import { mergeObject, metadataFor, type Merged } from './merge.js';
import { conflictPatch, type ConflictPolicy } from './policies.js';
import { AWS_MESSAGES, rejectedPayload, shadowError } from './rejections.js';
import type {
  DeltaPayload,
  DocumentsPayload,
  MetadataLeaf,
  MetadataNode,
  RejectedPayload,
  ShadowDocument,
  ShadowMetadata,
  ShadowState,
  StoredShadow,
  UpdateAcceptedPayload,
} from './types.js';
import { readClientToken, validateUpdate, type ValidatedUpdate } from './validate.js';

/** Options of {@link applyShadowUpdate}. */
export interface ShadowUpdateOptions {
  /** The time of the update in epoch milliseconds (payload timestamps are epoch seconds). */
  readonly now: number;
  /** Size, depth and token limits. @defaultValue AWS IoT's ({@link DEFAULT_SHADOW_LIMITS}) */
  readonly limits?: ShadowLimits;
  /** What a contradicting report does to desired. @defaultValue `'cloud-wins'` (AWS behaviour) */
  readonly policy?: ConflictPolicy;
  /**
   * When the update changes no value, accept it without bumping the version or touching metadata
   * (`changed: false`). AWS always bumps; this saves writes for devices that re-report unchanged state.
   * @defaultValue false
   */
  readonly skipIfEqual?: boolean;
  /**
   * Compare desired with the `value` of `{ value, ac, av, ad }` acknowledgement envelopes when
   * computing the delta (per-property acknowledgement).
   * @defaultValue false
   */
  readonly acknowledgements?: boolean;
}

/** An accepted update. */
export interface ShadowUpdateAccepted {
  /** Accepted. */
  readonly ok: true;
  /** The new stored document (the input document is never modified). */
  readonly document: ShadowDocument;
  /** The `/update/accepted` payload. */
  readonly accepted: UpdateAcceptedPayload;
  /** The `/update/delta` payload, present when the resulting delta is non-empty. */
  readonly delta?: DeltaPayload;
  /** The `/update/documents` payload. */
  readonly documents: DocumentsPayload;
  /** False only for a `skipIfEqual` update that changed nothing (then `document` is the input). */
  readonly changed: boolean;
}

/** A rejected update: nothing changed. */
export interface ShadowUpdateRejected {
  /** Rejected. */
  readonly ok: false;
  /** Why, with AWS's status in `error.status`. */
  readonly error: FleetError;
  /** The `/update/rejected` payload. */
  readonly rejected: RejectedPayload;
}

/** The outcome of {@link applyShadowUpdate}. */
export type ShadowUpdateResult = ShadowUpdateAccepted | ShadowUpdateRejected;

/** True for the tombstone of a deleted shadow (false for anything else, never throws). */
export function isTombstone(stored: StoredShadow | undefined): stored is { readonly deleted: true; readonly version: number } {
  return typeof stored === 'object' && stored !== null && (stored as { deleted?: unknown }).deleted === true;
}

/**
 * Applies an update request to a shadow, the way AWS IoT Device Shadow does: partial merge,
 * `null` deletes, arrays replace whole, per-leaf metadata, `version` + 1, optimistic locking,
 * limits. Pure: returns the new document and the payloads to publish; never throws. Bad arguments
 * from your code (missing options, `now` not finite, a malformed stored document, an unknown
 * policy or limit) are returned too: `error.code` `INVALID_ARGUMENT`, `/rejected` 500.
 *
 * @param current - the stored shadow, its tombstone, or `undefined` when it never existed
 * @param request - the request object, or its raw JSON text/bytes
 * @param options - `now` (epoch ms), limits, conflict policy, skip-if-equal, acknowledgements
 *
 * @example
 * ```ts
 * const r = applyShadowUpdate(undefined, { state: { desired: { color: 'green' } } }, { now: clock.now() });
 * if (r.ok) { store(r.document); publish('update/accepted', r.accepted); if (r.delta) publish('update/delta', r.delta); }
 * else publish('update/rejected', r.rejected);
 * ```
 */
export function applyShadowUpdate(current: StoredShadow | undefined, request: unknown, options: ShadowUpdateOptions): ShadowUpdateResult {
  let now = 0;
  let token: string | undefined;
  try {
    const opts = checkOptions<ShadowUpdateOptions>(FN, options, 500);
    now = opts.now;
    const limits = checkLimits(FN, opts.limits, 500);
    checkPolicy(opts.policy);
    checkOptional(FN, 'options.skipIfEqual', opts.skipIfEqual, 'boolean', 500);
    checkOptional(FN, 'options.acknowledgements', opts.acknowledgements, 'boolean', 500);
    const req = decodeRequest(request, limits);
    token = readClientToken(req, limits);
    const stored = checkStored(FN, current, 500);
    const valid = validateUpdate(req, limits);
    return update(stored, valid, opts, limits);
  } catch (e) {
    const error = isFleetError(e) ? e : new FleetError('INTERNAL', `Internal service failure: ${e instanceof Error ? e.message : describeValue(e)}`, { status: 500, cause: e });
    return { ok: false, error, rejected: rejectedPayload(error, { now, clientToken: token }) };
  }
}

const FN = 'applyShadowUpdate';
const POLICIES: ReadonlySet<unknown> = new Set(['cloud-wins', 'device-wins', 'newest-wins', 'clear-when-met']);

function checkPolicy(policy: unknown): void {
  if (policy !== undefined && typeof policy !== 'function' && !POLICIES.has(policy)) {
    throw argumentError(FN, `options.policy must be 'cloud-wins', 'device-wins', 'newest-wins', 'clear-when-met' or a function, got ${describeValue(policy)}`, 500);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses raw text or bytes (a request that arrived off the wire) with the request limits. */
export function decodeRequest(request: unknown, limits: ResolvedShadowLimits): unknown {
  if (typeof request !== 'string' && !(request instanceof Uint8Array)) return request;
  if ((typeof request === 'string' ? request.length : request.byteLength) === 0) return {};
  let text: string | Uint8Array = request;
  if (typeof request !== 'string' && request.byteLength <= limits.maxRequestBytes) {
    try {
      text = utf8.decode(request);
    } catch {
      throw shadowError('INVALID_JSON', 415, AWS_MESSAGES.unsupportedEncoding, 'send the request as UTF-8 JSON text');
    }
  }
  try {
    return parseJson(text, { maxBytes: limits.maxRequestBytes, maxDepth: limits.maxDepth + 3 });
  } catch (e) {
    if (!isFleetError(e)) throw e;
    if (e.code === 'PAYLOAD_TOO_LARGE') throw shadowError('PAYLOAD_TOO_LARGE', 413, AWS_MESSAGES.tooLarge, `requests are limited to ${limits.maxRequestBytes} bytes`);
    if (e.code === 'TOO_DEEP') throw shadowError('TOO_DEEP', 400, `JSON contains too many levels of nesting; maximum is ${limits.maxDepth}`, 'flatten the document');
    if (e.code === 'FORBIDDEN_KEY') throw shadowError('FORBIDDEN_KEY', 400, e.message, '', { ...e.details });
    throw shadowError('INVALID_JSON', 400, AWS_MESSAGES.invalidJson, e.message);
  }
}

function update(current: StoredShadow | undefined, req: ValidatedUpdate, options: ShadowUpdateOptions, limits: ResolvedShadowLimits): ShadowUpdateResult {
  const live = current === undefined || isTombstone(current) ? undefined : current;
  const currentVersion = current?.version ?? 0;
  if (req.version !== undefined && req.version !== currentVersion) {
    throw shadowError('VERSION_CONFLICT', 409, AWS_MESSAGES.versionConflict, `the shadow is at version ${currentVersion}, the request expected ${req.version}; get the shadow and retry`, {
      expected: req.version,
      actual: currentVersion,
    });
  }
  const timestamp = Math.floor(options.now / 1000);
  // One frozen leaf object serves every leaf this update writes: less garbage, less memory.
  const leaf: MetadataLeaf = Object.freeze({ timestamp });
  const prev = live?.state ?? {};
  const prevMeta = live?.metadata ?? {};

  let desired = mergeSection(prev.desired, prevMeta.desired, req.state, 'desired', leaf);
  const reported = mergeSection(prev.reported, prevMeta.reported, req.state, 'reported', leaf);
  let resolvedByPolicy = false;
  const touchedReported = req.state === null ? undefined : objectOrUndefined(req.state.reported);
  if (options.policy !== undefined && desired !== undefined && reported !== undefined && touchedReported !== undefined && req.state !== null) {
    const observedAt = req.observedAt ?? timestamp;
    const unwrap = options.acknowledgements === true ? unwrapAck : undefined;
    const patch = conflictPatch(options.policy, desired, reported, objectOrUndefined(req.state.desired), touchedReported, observedAt, unwrap);
    if (patch !== undefined) {
      desired = nonEmpty(mergeObject(desired.value, desired.meta, patch, leaf));
      resolvedByPolicy = true; // values copied from reported: the size bound no longer holds
    }
  }

  const state: ShadowState = {};
  const metadata: ShadowMetadata = {};
  if (desired !== undefined) {
    state.desired = desired.value;
    metadata.desired = desired.meta;
  }
  if (reported !== undefined) {
    state.reported = reported.value;
    metadata.reported = reported.meta;
  }
  checkSize(live?.state, state, req.state, req.stateBytes, resolvedByPolicy, limits);

  if (options.skipIfEqual === true && live !== undefined && jsonEqual(live.state.desired, state.desired) && jsonEqual(live.state.reported, state.reported)) {
    return respond(live, live, req, options, timestamp, false);
  }
  const document: ShadowDocument = { state, metadata, version: currentVersion + 1 };
  return respond(live, document, req, options, timestamp, true);
}

function objectOrUndefined(v: JsonObject | null | undefined): JsonObject | undefined {
  return v === null ? undefined : v;
}

function nonEmpty(m: Merged): Merged | undefined {
  for (const _ in m.value) return m;
  return undefined;
}

function mergeSection(
  prev: JsonObject | undefined,
  prevMeta: ShadowMetadata['desired'],
  state: ValidatedUpdate['state'],
  key: 'desired' | 'reported',
  leaf: MetadataLeaf,
): Merged | undefined {
  if (state === null) return undefined; // "state": null clears everything
  const patch = state[key];
  if (patch === null) return undefined;
  if (patch === undefined) return prev === undefined ? undefined : { value: prev, meta: prevMeta ?? {} };
  return nonEmpty(mergeObject(prev, prevMeta, patch, leaf));
}

// Known upper bounds of each stored state's size in UTF-8 bytes. A merge can only add what the
// request carries (every key and value of the new state comes from the old state or from the
// request), so size(new) ≤ size(old) + size(request state) + a few bytes of section framing.
// Serialising the whole document happens only when that bound reaches the limit.
const sizeBounds = new WeakMap<ShadowState, number>();
const FRAMING_BYTES = 32;

function exactSize(state: ShadowState): number {
  if (state.desired === undefined && state.reported === undefined) return 2;
  return utf8ByteLength(JSON.stringify(state));
}

function checkSize(previous: ShadowState | undefined, state: ShadowState, requestState: ValidatedUpdate['state'], requestBytes: number, exact: boolean, limits: ResolvedShadowLimits): void {
  const prevBound = previous === undefined ? 2 : sizeBounds.get(previous);
  if (!exact && prevBound !== undefined && requestState !== null) {
    const bound = prevBound + requestBytes + FRAMING_BYTES;
    if (bound <= limits.maxDocumentBytes) {
      sizeBounds.set(state, bound);
      return;
    }
  }
  const bytes = exactSize(state);
  if (bytes > limits.maxDocumentBytes) {
    throw shadowError('PAYLOAD_TOO_LARGE', 413, AWS_MESSAGES.tooLarge, `desired + reported would be ${bytes} bytes after the update, over the ${limits.maxDocumentBytes}-byte limit; remove properties or keep large data elsewhere`, {
      bytes,
      maxDocumentBytes: limits.maxDocumentBytes,
    });
  }
  sizeBounds.set(state, bytes);
}

function respond(
  previous: ShadowDocument | undefined,
  document: ShadowDocument,
  req: ValidatedUpdate,
  options: ShadowUpdateOptions,
  timestamp: number,
  changed: boolean,
): ShadowUpdateAccepted {
  const token = req.clientToken;
  const accepted = withToken(acceptedPayload(req, document.version, timestamp), token);
  const documents: DocumentsPayload = withToken(
    {
      previous: previous === undefined ? null : { state: previous.state, metadata: previous.metadata, version: previous.version },
      current: { state: document.state, metadata: document.metadata, version: document.version },
      timestamp,
    },
    token,
  );
  const d = document.state.desired;
  const delta = d === undefined ? undefined : deltaOf(d, document.metadata.desired ?? {}, document.state.reported, options.acknowledgements === true ? unwrapAck : undefined);
  if (delta === undefined) return { ok: true, document, accepted, documents, changed };
  const deltaPayload: DeltaPayload = withToken({ state: delta.state, metadata: delta.metadata, version: document.version, timestamp }, token);
  return { ok: true, document, accepted, delta: deltaPayload, documents, changed };
}

function withToken<T extends object>(payload: T, token: string | undefined): T {
  if (token !== undefined) (payload as { clientToken?: string }).clientToken = token;
  return payload;
}

function acceptedPayload(req: ValidatedUpdate, version: number, timestamp: number): UpdateAcceptedPayload {
  const leaf: MetadataLeaf = { timestamp };
  if (req.state === null) return { state: null, metadata: leaf, version, timestamp };
  const state: { desired?: JsonObject | null; reported?: JsonObject | null } = {};
  const metadata: { desired?: MetadataNode; reported?: MetadataNode } = {};
  for (const key of ['desired', 'reported'] as const) {
    const section = req.state[key];
    if (section === undefined) continue;
    state[key] = section;
    metadata[key] = section === null ? leaf : metadataFor(section, leaf);
  }
  return { state, metadata, version, timestamp };
}

