/**
 * `applyShadowUpdate`: the pure shadow update (SHADOW.md).
 */
import { FleetError, isFleetError } from '../errors.js';
import { isJsonObject, jsonEqual, parseJson, utf8ByteLength, type JsonObject, type JsonValue } from '../json.js';
import { unwrapAck } from './acknowledgement.js';
import { deltaOf, patchDelta, type DeltaWithMetadata, type ReportedUnwrapper } from './delta.js';
import { argumentError, checkLimits, checkOptional, checkOptions, checkStored, describeValue } from './arguments.js';
import type { ResolvedShadowLimits, ShadowLimits } from './limits.js';
import { mergeObject as mergeTop, metadataFor, type Merged } from './merge.js';
import { jsonBytes, objectDiff, stateBytes } from './size.js';
import { conflictPatch, type ConflictPolicy } from './policies.js';
import { AWS_MESSAGES, rejectedPayload, shadowError } from './rejections.js';
import type {
  DeltaPayload,
  DocumentsPayload,
  MetadataLeaf,
  MetadataNode,
  MetadataObject,
  RejectedPayload,
  ShadowDocument,
  ShadowMetadata,
  ShadowState,
  StoredShadow,
  UpdateAcceptedPayload,
} from './types.js';
import { readClientToken, validateUpdate, type ValidatedUpdate } from './validate.js';
import { exposeSections, internalsOf, ownValue } from './wide.js';

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
  const inner = live === undefined ? undefined : internalOf(live);
  const prev = inner?.state ?? {};
  const prevMeta = inner?.metadata ?? {};
  const patchDesired = req.state === null ? null : req.state.desired;
  const patchReported = req.state === null ? null : req.state.reported;

  let desired = mergeSection(prev.desired, prevMeta.desired, patchDesired, leaf);
  const reported = mergeSection(prev.reported, prevMeta.reported, patchReported, leaf);
  // What the update wrote below each section: the request, and on the desired side what a policy changed.
  let touchedDesired = objectOrUndefined(patchDesired);
  const touchedReported = objectOrUndefined(patchReported);
  const unwrap = options.acknowledgements === true ? unwrapAck : undefined;
  if (options.policy !== undefined && desired !== undefined && reported !== undefined && touchedReported !== undefined) {
    const patch = conflictPatch(options.policy, desired, reported, touchedDesired, touchedReported, req.observedAt ?? timestamp, unwrap);
    if (patch !== undefined) {
      desired = mergeTop(desired.value, desired.meta, patch, leaf);
      touchedDesired = touchedDesired === undefined ? patch : unionTouched(touchedDesired, patch);
    }
  }

  // What the engine works on (`inState`, `inMetadata`: wide sections as persistent maps) and what
  // the document shows (the same objects, with wide sections built as plain objects on first read).
  const inState: ShadowState = {};
  const inMetadata: ShadowMetadata = {};
  if (desired !== undefined) {
    inState.desired = desired.value;
    inMetadata.desired = desired.meta;
  }
  if (reported !== undefined) {
    inState.reported = reported.value;
    inMetadata.reported = reported.meta;
  }
  const { state, metadata } = exposeSections(inState, inMetadata);
  // Exact size: from the previous state's size and what changed along the written keys, or, for a
  // state the engine has not seen (read from a store), measured once.
  const before = live === undefined ? undefined : derived.get(live.state);
  const known = live === undefined ? 2 : typeof before === 'number' ? before : before?.bytes;
  let bytes = known === undefined ? stateBytes(inState) : sizeAfter(known, inner?.state, inState, touchedDesired, touchedReported);
  const measurable = bytes !== undefined;
  if (bytes === undefined) bytes = utf8ByteLength(JSON.stringify(inState)); // not canonical JSON: only JSON.stringify can say
  if (bytes > limits.maxDocumentBytes) {
    throw shadowError('PAYLOAD_TOO_LARGE', 413, AWS_MESSAGES.tooLarge, `desired + reported would be ${bytes} bytes after the update, over the ${limits.maxDocumentBytes}-byte limit; remove properties or keep large data elsewhere`, {
      bytes,
      maxDocumentBytes: limits.maxDocumentBytes,
    });
  }

  if (options.skipIfEqual === true && live !== undefined && unchanged(prev, inState, patchDesired, patchReported, touchedDesired)) {
    return respond(live, live, req, timestamp, false, deltaOfDocument(live, unwrap));
  }
  const document: ShadowDocument = { state, metadata, version: currentVersion + 1 };
  // The delta: patched along the written keys from the previous one, unless a whole section was
  // written as null or no delta is known for the previous state (then the full walk; for a new
  // shadow that is as large as the request).
  const acknowledgements = unwrap !== undefined;
  let delta: DeltaWithMetadata | undefined;
  if (desired !== undefined) {
    delta =
      typeof before === 'object' && before.acknowledgements === acknowledgements && patchDesired !== null && patchReported !== null
        ? patchDelta(before.state === undefined ? undefined : (before as DeltaWithMetadata), desired.value, desired.meta, inState.reported, touchedDesired, touchedReported, unwrap)
        : deltaOf(desired.value, desired.meta, inState.reported, unwrap, measurable);
  }
  if (measurable) derived.set(state, bytes < REMEMBER_DELTA_BYTES ? bytes : { bytes, acknowledgements, state: delta?.state, metadata: delta?.metadata });
  return respond(live, document, req, timestamp, true, delta);
}

function objectOrUndefined(v: JsonObject | null | undefined): JsonObject | undefined {
  return v === null ? undefined : v;
}

function mergeSection(prev: JsonObject | undefined, prevMeta: MetadataObject | undefined, patch: JsonObject | null | undefined, leaf: MetadataLeaf): Merged | undefined {
  if (patch === null) return undefined; // the section (or all state) is deleted
  if (patch === undefined) return prev === undefined ? undefined : { value: prev, meta: prevMeta ?? {} };
  return mergeTop(prev, prevMeta, patch, leaf);
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** Both sets of written keys in one: a key written whole on either side is written whole. */
function unionTouched(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const key in b) {
    const x = hasOwn(a, key) ? a[key] : undefined;
    const y = b[key] as JsonValue;
    out[key] = x === undefined ? y : isJsonObject(x) && isJsonObject(y) ? unionTouched(x, y) : true;
  }
  return out;
}

/**
 * What the engine knows about each state it produced, so that the next update works along the
 * keys it writes instead of over the whole document: the exact serialized size (UTF-8 bytes of
 * desired + reported, as JSON.stringify writes them) and, for documents of at least
 * {@link REMEMBER_DELTA_BYTES}, the delta. Smaller documents keep only their size (a number, no
 * extra object): recomputing their delta costs less than remembering it. A state seen for the
 * first time (read from a store) or not canonical JSON is measured in full. Payloads share the
 * remembered delta objects (treat them as immutable).
 */
const derived = new WeakMap<ShadowState, number | Derived>();

/** @internal Documents from this size on remember their delta. */
export const REMEMBER_DELTA_BYTES = 1024;

interface Derived {
  readonly bytes: number;
  readonly acknowledgements: boolean;
  /** The delta (`undefined`: desired and reported agree). */
  readonly state: JsonObject | undefined;
  /** The delta's metadata. */
  readonly metadata: MetadataObject | undefined;
}

const SECTION_KEY_BYTES = { desired: 11, reported: 12 } as const; // "desired": and a comma

function sizeAfter(before: number, previous: ShadowState | undefined, state: ShadowState, touchedDesired: JsonObject | undefined, touchedReported: JsonObject | undefined): number {
  if (state.desired === undefined && state.reported === undefined) return 2;
  // {"desired":{…},"reported":{…}}: 1 + each section's key, value and comma (the last comma is the closing brace)
  let bytes = before === 2 ? 1 : before;
  bytes += sectionDiff('desired', previous?.desired, state.desired, touchedDesired);
  bytes += sectionDiff('reported', previous?.reported, state.reported, touchedReported);
  return bytes;
}

function sectionDiff(key: 'desired' | 'reported', old: JsonObject | undefined, next: JsonObject | undefined, touched: JsonObject | undefined): number {
  if (old === next) return 0;
  if (old === undefined) return SECTION_KEY_BYTES[key] + jsonBytes(next as JsonObject);
  if (next === undefined) return -(SECTION_KEY_BYTES[key] + jsonBytes(old));
  return touched === undefined ? jsonBytes(next) - jsonBytes(old) : objectDiff(old, next, touched);
}

/** For skip-if-equal: true when no value changed, checked along the keys the update wrote only. */
function unchanged(prev: ShadowState, next: ShadowState, patchDesired: JsonObject | null | undefined, patchReported: JsonObject | null | undefined, touchedDesired: JsonObject | undefined): boolean {
  return (
    (patchDesired === null ? prev.desired === undefined : sameAlong(prev.desired, next.desired, touchedDesired)) &&
    (patchReported === null ? prev.reported === undefined : sameAlong(prev.reported, next.reported, objectOrUndefined(patchReported)))
  );
}

function sameAlong(old: JsonValue | undefined, next: JsonValue | undefined, touched: JsonObject | undefined): boolean {
  if (old === next || touched === undefined) return old === next || jsonEqual(old, next);
  if (!isJsonObject(old) || !isJsonObject(next)) return jsonEqual(old, next);
  for (const key in touched) {
    const t = touched[key] as JsonValue;
    const o = ownValue(old, key);
    const n = ownValue(next, key);
    if (!(isJsonObject(t) ? sameAlong(o, n, t) : jsonEqual(o, n))) return false;
  }
  return true;
}

/** @internal The delta of a stored document: remembered from the update that produced it, else computed. */
export function deltaOfDocument(document: ShadowDocument, unwrap: ReportedUnwrapper | undefined): DeltaWithMetadata | undefined {
  const known = derived.get(document.state);
  if (typeof known === 'object' && known.acknowledgements === (unwrap !== undefined)) return known.state === undefined ? undefined : (known as DeltaWithMetadata);
  const { state, metadata } = internalOf(document);
  if (state.desired === undefined) return undefined;
  return deltaOf(state.desired, metadata.desired ?? {}, state.reported, unwrap);
}

/** @internal The state and metadata the engine works on for `document` (its own when it has no wide section). */
export function internalOf(document: ShadowDocument): { readonly state: ShadowState; readonly metadata: ShadowMetadata } {
  return internalsOf(document.state, document.metadata);
}

function respond(previous: ShadowDocument | undefined, document: ShadowDocument, req: ValidatedUpdate, timestamp: number, changed: boolean, delta: DeltaWithMetadata | undefined): ShadowUpdateAccepted {
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

