/**
 * `ShadowService`: the AWS IoT Device Shadow service over any `Transport`, on a `ShadowStore`
 * and a `DeviceStore`.
 */
import { shareGroupFilter } from './arguments.js';
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock } from '../clock.js';
import { FleetError } from '../errors.js';
import { describeValue } from '../describe-value.js';
import type { ShadowOperation } from '../protocol/topics.js';
import { deleteShadow, getShadow } from '../shadow/get-delete.js';
import { MAX_IN_FLIGHT_PER_THING, resolveLimits, type ResolvedShadowLimits, type ShadowLimits } from '../shadow/limits.js';
import { assertShadowName, assertThingName } from '../shadow/names.js';
import type { ConflictPolicy } from '../shadow/policies.js';
import { AWS_MESSAGES, rejectedPayload } from '../shadow/rejections.js';
import { jsonBytes } from '../shadow/size.js';
import type { DeleteAcceptedPayload, GetAcceptedPayload, ShadowDocument, StoredShadow } from '../shadow/types.js';
import type { JsonValue } from '../json.js';
import { QuotaEnforcer } from '../tenancy/enforcer.js';
import { applyShadowUpdate, isTombstone, type ShadowUpdateAccepted, type ShadowUpdateOptions } from '../shadow/update.js';
import type { DeviceStore } from '../store/device-store.js';
import type { Page } from '../store/page.js';
import type { CompareAndSetResult, DeleteShadowOutcome, ShadowListOptions, ShadowRecord, ShadowStore } from '../store/shadow-store.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import type { InboundMessage, QoS, Transport, Unsubscribe } from '../transport/types.js';
import type { ShadowRequestSource, ShadowServiceEvents } from './shadow-events.js';
import { authorizeThing, clientTokenOf, decodeRequest, refusalFor, responseTopic, routeRequest, tooManyRequests, type Refusal, type ShadowCall, type ShadowRoute } from './shadow-steps.js';
import { ThingLanes } from './thing-lanes.js';
import { DocumentsJson } from './documents-json.js';

/** Options of {@link ShadowService}. */
export interface ShadowServiceOptions {
  /** Where device requests arrive and responses go (connect it yourself). */
  readonly transport: Transport;
  /** Where documents live. */
  readonly shadows: ShadowStore;
  /** The registry: a thing's shadow is served only for a registered device, under its tenant. */
  readonly devices: DeviceStore;
  /** Time for payload timestamps. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /**
   * Serve shadows of things that are not in the registry, as this tenant's. Off by default:
   * such requests get 404 on `/rejected`.
   */
  readonly openShadows?: { readonly tenantId: string };
  /** Serve named shadows (`…/shadow/name/{name}/…`) too. @defaultValue true */
  readonly named?: boolean;
  /** Requests per thing queued or running at once; more get 429. @defaultValue 10 (AWS's limit) */
  readonly maxInFlightPerThing?: number;
  /** QoS of the request subscriptions and of the responses. @defaultValue 1 */
  readonly qos?: QoS;
  /** Shadow limits. @defaultValue AWS's */
  readonly limits?: ShadowLimits;
  /** Conflict policy for contradicting reports. @defaultValue `'cloud-wins'` (AWS) */
  readonly policy?: ConflictPolicy;
  /** Accept updates that change nothing without a new version. @defaultValue false (AWS always bumps) */
  readonly skipIfEqual?: boolean;
  /** Compare desired with acknowledgement envelopes' `value`. @defaultValue false */
  readonly acknowledgements?: boolean;
  /** Compare-and-set attempts per request when another writer got in between (several service instances). @defaultValue 8 */
  readonly maxAttempts?: number;
  /**
   * Subscribe through the MQTT shared subscription `$share/{shareGroup}/…`, so several service
   * instances on one broker split the requests (mosquitto ≥ 1.6, EMQX, HiveMQ). Correctness comes
   * from the store's compare-and-set; see docs/scaling.md for ordering across instances.
   */
  readonly shareGroup?: string;
  /**
   * Receive device requests under this prefix instead of `$aws/`: the service subscribes to
   * `{requestPrefix}things/+/shadow/…` and reads `{requestPrefix}things/t/shadow/update` as
   * `$aws/things/t/shadow/update`; answers are still published on the `$aws/things/…` topics.
   * For brokers that do not deliver `$`-topics to shared subscriptions — mosquitto 2.0 — where a
   * bridge of the broker to itself republishes the request topics under a plain prefix (see
   * {@link mosquittoShadowBridge} and docs/scaling.md). A name ending in `/`, without wildcards,
   * not starting with `$`. @defaultValue `'$aws/'` (devices' topics as they are)
   */
  readonly requestPrefix?: string;
  /**
   * Per-tenant (and per-device) quotas: each update (device or application) is admitted against
   * the `shadowUpdates` rate and each application call (get, update, delete, list) against
   * `apiCalls`. A throttled device request is answered on `/rejected` with code 429 and
   * `retryAfterMs`; a throttled application call throws `TOO_MANY_REQUESTS` (429) with
   * `details.retryAfterMs`. Neither changes the shadow. Accepted updates, API calls and the bytes
   * of the stored documents are metered on it. @defaultValue none (no quota, no metering)
   */
  readonly quotas?: QuotaEnforcer;
  /**
   * Send the answers of a state change (`update/accepted`, `update/delta`, `update/documents`,
   * `delete/accepted`) through the store's transactional outbox: they commit in the same
   * transaction as the new document and an `OutboxRelay` publishes them (at least once, in commit
   * order), so an instance that dies between the commit and the publish loses no answer. Needs a
   * store with `transactionalOutbox: true` (fleetkit/postgres) and a running relay. Answers that
   * change nothing (gets, refusals, an update that changes nothing) are published directly.
   * @defaultValue false
   */
  readonly outbox?: boolean;
}

/** A message committed with a store write (the shape fleetkit/postgres's outbox takes). */
interface OutboundMessage {
  readonly topic: string;
  readonly payload: string;
  readonly qos?: 0 | 1;
}

/** A shadow store that commits outbound messages with its writes (see {@link ShadowServiceOptions.outbox}). */
interface OutboxShadowStore extends ShadowStore {
  readonly transactionalOutbox: true;
  compareAndSet(ctx: TenantContext, thingName: string, shadowName: string | undefined, expectedVersion: number, next: StoredShadow, options?: { readonly outbox?: readonly OutboundMessage[] }): Promise<CompareAndSetResult>;
  delete(ctx: TenantContext, thingName: string, shadowName?: string, expectedVersion?: number, options?: { readonly outbox?: readonly OutboundMessage[] }): Promise<DeleteShadowOutcome>;
}

/** Options naming a named shadow in the application API. */
export interface ShadowTargetOptions {
  /** A named shadow; omit for the classic shadow. */
  readonly shadowName?: string;
}

type Served =
  | { readonly ok: true; readonly operation: 'update'; readonly result: ShadowUpdateAccepted; readonly previous: ShadowDocument | undefined; readonly tenantId: string; readonly committed?: boolean }
  | { readonly ok: true; readonly operation: 'get'; readonly response: GetAcceptedPayload; readonly tenantId: string }
  | { readonly ok: true; readonly operation: 'delete'; readonly accepted: DeleteAcceptedPayload; readonly tenantId: string; readonly committed?: boolean }
  | Refusal;

const ROUTE_CACHE_SIZE = 100_000;

const liveOf = (stored: StoredShadow | undefined): ShadowDocument | undefined => (stored === undefined || isTombstone(stored) ? undefined : stored);

/**
 * Serves the AWS IoT Device Shadow MQTT API — classic and named shadows, `get`, `update`,
 * `delete` with `accepted`/`rejected`, `update/delta` and `update/documents` — over any
 * {@link Transport}, so firmware and SDKs written for AWS work unchanged against it. Also an
 * application API (`get`, `update`, `delete`, `list`, each with a tenant context) and typed events.
 *
 * Each request goes through one pipeline: route → decode → admit (≤ 10 in flight per thing, else
 * 429) → authorize (the thing is a registered device; its tenant) → load → the shadow core
 * (validation, merge, versions, delta) → compare-and-set → publish. Requests of one thing run one at
 * a time in arrival order, so its responses go out in version order. A malformed request is
 * answered on `/rejected` of its own thing and touches nothing else.
 *
 * @example
 * ```ts
 * const stores = createMemoryStores();
 * await stores.devices.create({ tenantId: 'acme' }, { deviceId: 'pump-7', tenantId: 'acme', state: 'active', since: clock.now() });
 * const service = new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices, clock });
 * await service.start();
 * await service.update({ tenantId: 'acme' }, 'pump-7', { state: { desired: { rpm: 1200 } } });
 * ```
 */
export class ShadowService extends EventEmitter<ShadowServiceEvents> {
  readonly #transport: Transport;
  readonly #shadows: ShadowStore;
  readonly #devices: DeviceStore;
  readonly #clock: Clock;
  readonly #openTenant: string | undefined;
  readonly #named: boolean;
  readonly #qos: QoS;
  readonly #limits: ResolvedShadowLimits;
  readonly #engine: Omit<ShadowUpdateOptions, 'now'>;
  readonly #maxInFlight: number;
  readonly #maxAttempts: number;
  readonly #outbox: OutboxShadowStore | undefined;
  readonly #quotas: QuotaEnforcer | undefined;
  readonly #lanes: ThingLanes;
  readonly #publishOptions: { readonly qos: QoS };
  readonly #documentsJson = new DocumentsJson();
  readonly #share: (filter: string) => string;
  readonly #requestPrefix: string | undefined;
  // Devices send to the same few topics over and over: each topic is parsed once.
  #routes = new Map<string, ShadowRoute>();
  #subscriptions: Unsubscribe[] = [];

  /**
   * @param options - transport, stores, clock and shadow behaviour
   * @throws FleetError `INVALID_ARGUMENT` for a missing transport or store, or a bad limit.
   */
  constructor(options: ShadowServiceOptions) {
    super();
    const o = resolveOptions(options);
    this.#transport = o.transport;
    this.#shadows = o.shadows;
    this.#devices = o.devices;
    this.#clock = o.clock;
    this.#openTenant = o.openTenant;
    this.#named = o.named;
    this.#qos = o.qos;
    this.#limits = o.limits;
    this.#engine = o.engine;
    this.#maxInFlight = o.maxInFlight;
    this.#maxAttempts = o.maxAttempts;
    this.#quotas = o.quotas;
    this.#outbox = o.outbox;
    this.#lanes = new ThingLanes(o.maxInFlight, (e) => this.#failed(e));
    this.#publishOptions = { qos: o.qos };
    this.#share = shareGroupFilter('new ShadowService', (options as { shareGroup?: unknown }).shareGroup);
    this.#requestPrefix = o.requestPrefix;
  }

  /** Number of things with requests queued or running. */
  get busyThings(): number {
    return this.#lanes.active;
  }

  /** Subscribes to the shadow request topics (classic, and named unless `named: false`). Idempotent. */
  async start(): Promise<void> {
    if (this.#subscriptions.length > 0) return;
    const root = this.#requestPrefix ?? '$aws/';
    const filters = (this.#named ? [`${root}things/+/shadow/+`, `${root}things/+/shadow/name/+/+`] : [`${root}things/+/shadow/+`]).map(this.#share);
    for (const filter of filters) this.#subscriptions.push(await this.#transport.subscribe(filter, this.#onMessage, { qos: this.#qos }));
  }

  /** Unsubscribes and waits until every accepted request has been answered. */
  async stop(): Promise<void> {
    const subs = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.all(subs.map((off) => off()));
    await this.#lanes.idle();
  }

  /**
   * The current document as `/get/accepted` carries it (desired, reported, delta, metadata, version).
   *
   * @throws FleetError `SHADOW_NOT_FOUND` (404) when it does not exist, `DEVICE_NOT_FOUND` (404) for
   *   an unregistered thing, `TENANT_MISMATCH` for another tenant's thing, `TOO_MANY_REQUESTS` (429).
   */
  async get(ctx: TenantContext, thingName: string, options: ShadowTargetOptions = {}): Promise<GetAcceptedPayload> {
    const served = await this.#submit(this.#appCall(ctx, 'get', thingName, options, {}));
    if (!served.ok) throw served.error;
    return (served as Extract<Served, { operation: 'get' }>).response;
  }

  /**
   * Applies an update request (`{ state: { desired?, reported? } | null, clientToken?, version? }`)
   * as a device's would be, and publishes `update/accepted`, `update/delta` and `update/documents`
   * on the thing's topics.
   *
   * @returns the accepted update (new document and the published payloads)
   * @throws FleetError with AWS's status: 400 (invalid request), 409 `VERSION_CONFLICT`, 413, 429,
   *   404 `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`.
   */
  async update(ctx: TenantContext, thingName: string, request: unknown, options: ShadowTargetOptions = {}): Promise<ShadowUpdateAccepted> {
    const served = await this.#submit(this.#appCall(ctx, 'update', thingName, options, request));
    if (!served.ok) throw served.error;
    return (served as Extract<Served, { operation: 'update' }>).result;
  }

  /**
   * Deletes a shadow (the version counter continues when it is re-created) and publishes
   * `delete/accepted`.
   *
   * @throws FleetError `SHADOW_NOT_FOUND` (404), `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`, `TOO_MANY_REQUESTS`.
   */
  async delete(ctx: TenantContext, thingName: string, options: ShadowTargetOptions = {}): Promise<DeleteAcceptedPayload> {
    const served = await this.#submit(this.#appCall(ctx, 'delete', thingName, options, {}));
    if (!served.ok) throw served.error;
    return (served as Extract<Served, { operation: 'delete' }>).accepted;
  }

  /** The tenant's shadows in pages (see {@link ShadowStore.list}). */
  async list(ctx: TenantContext, options?: ShadowListOptions): Promise<Page<ShadowRecord>> {
    const quotas = this.#quotas;
    if (quotas !== undefined) {
      const tenantId = tenantOf(ctx, 'ShadowService.list');
      const now = this.#clock.now();
      const admission = quotas.admit('apiCalls', tenantId, undefined, 1, now);
      if (!admission.allowed) throw QuotaEnforcer.throttled('ShadowService.list', tenantId, admission);
      quotas.record(tenantId, 'apiCalls', 1, now);
    }
    return this.#shadows.list(ctx, options);
  }

  // ── inbound: route → decode → admit ─────────────────────────────────────────────────────────

  readonly #onMessage = (message: InboundMessage): void => {
    const route = this.#route(message.topic);
    if (route instanceof FleetError) {
      this.#emitRejected('device', route, undefined);
      return;
    }
    if (message.retain) {
      // A retained request is an old one the broker replays on every (re)subscribe: applying it
      // again would roll the shadow back. Nobody waits for its answer, so it is only reported.
      this.#emitRejected('device', retainedRequest(message.topic), { ...route, source: 'device', request: undefined, clientToken: undefined, tenantId: undefined });
      return;
    }
    const { request, clientToken } = decodeRequest(message.payload, this.#limits);
    const call: ShadowCall = { source: 'device', ...route, request, clientToken, tenantId: undefined };
    this.#admit(call, (served) => this.#respond(call, served));
  };

  #route(topic: string): ShadowRoute | FleetError {
    const known = this.#routes.get(topic);
    if (known !== undefined) return known;
    const prefix = this.#requestPrefix;
    const route = prefix === undefined ? routeRequest(topic) : topic.startsWith(prefix) ? routeRequest(`$aws/${topic.slice(prefix.length)}`) : routeRequest(topic);
    if (route instanceof FleetError) return route;
    if (this.#routes.size >= ROUTE_CACHE_SIZE) this.#routes = new Map();
    this.#routes.set(topic, route);
    return route;
  }

  #appCall(ctx: TenantContext, operation: ShadowOperation, thingName: string, options: ShadowTargetOptions, request: unknown): ShadowCall {
    const api = `ShadowService.${operation}`;
    const tenantId = tenantOf(ctx, api);
    assertThingName(thingName);
    const shadowName = (options as ShadowTargetOptions | null | undefined)?.shadowName;
    if (shadowName !== undefined) assertShadowName(shadowName);
    return { source: 'application', operation, thingName, shadowName, request, clientToken: clientTokenOf(request, this.#limits), tenantId };
  }

  #submit(call: ShadowCall): Promise<Served> {
    return new Promise((resolve) => {
      this.#admit(call, (served) => {
        try {
          this.#respond(call, served);
        } finally {
          resolve(served); // the caller gets its answer even if an event listener threw
        }
      });
    });
  }

  // At most maxInFlight requests per thing; the one over the limit is answered 429 at once.
  #admit(call: ShadowCall, done: (served: Served) => void): void {
    const admitted = this.#lanes.admit(call.thingName, async () => done(await this.#serve(call)));
    if (!admitted) done(refusalFor(tooManyRequests(call, this.#maxInFlight), call, this.#clock.now(), call.tenantId));
  }

  // ── one request: authorize → load → core → compare-and-set ──────────────────────────────────

  async #serve(call: ShadowCall): Promise<Served> {
    let tenantId: string | undefined;
    try {
      tenantId = await authorizeThing(this.#devices, call, this.#openTenant);
      if (this.#quotas !== undefined) {
        const throttled = this.#throttle(this.#quotas, call, tenantId);
        if (throttled !== undefined) return throttled;
      }
      const ctx: TenantContext = { tenantId };
      switch (call.operation) {
        case 'update':
          return await this.#update(ctx, call);
        case 'get':
          return await this.#get(ctx, call);
        case 'delete':
          return await this.#delete(ctx, call);
      }
    } catch (e) {
      const refusal = refusalFor(e, call, this.#clock.now(), tenantId);
      if (refusal.internal) this.emit('error', refusal.error);
      return refusal;
    }
  }

  // Quotas: an application call is an API call; an update (from either side) a shadow update.
  // An application update admitted as an API call stays charged and metered as one when its
  // shadow-update limit then refuses it (the call was made; the refusal counts as throttled).
  #throttle(quotas: QuotaEnforcer, call: ShadowCall, tenantId: string): Served | undefined {
    const now = this.#clock.now();
    if (call.source === 'application') {
      const a = quotas.admit('apiCalls', tenantId, undefined, 1, now);
      if (!a.allowed) return this.#throttled(call, tenantId, a, now);
      quotas.record(tenantId, 'apiCalls', 1, now);
    }
    if (call.operation === 'update') {
      const u = quotas.admit('shadowUpdates', tenantId, call.thingName, 1, now);
      if (!u.allowed) return this.#throttled(call, tenantId, u, now);
    }
    return undefined;
  }

  #throttled(call: ShadowCall, tenantId: string, admission: ReturnType<QuotaEnforcer['admit']>, now: number): Refusal {
    const base = QuotaEnforcer.throttled(`Shadow ${call.operation} of "${call.thingName}"`, tenantId, admission);
    const error = new FleetError('TOO_MANY_REQUESTS', base.message, { status: 429, captureStack: false, details: { ...base.details, awsMessage: AWS_MESSAGES.tooManyRequests } });
    return { ok: false, error, rejected: { ...rejectedPayload(error, { now, clientToken: call.clientToken }), retryAfterMs: admission.retryAfterMs } as RejectedWithRetry, tenantId };
  }

  // Metering of an accepted update: one shadow update, and the stored document's size change.
  #meterUpdate(tenantId: string, before: StoredShadow | undefined, after: ShadowDocument): void {
    const quotas = this.#quotas;
    if (quotas === undefined) return;
    const now = this.#clock.now();
    quotas.record(tenantId, 'shadowUpdates', 1, now);
    quotas.storedBytesChanged(tenantId, documentBytes(after) - documentBytes(liveOf(before)), now);
  }

  async #update(ctx: TenantContext, call: ShadowCall): Promise<Served> {
    let stored = await this.#shadows.get(ctx, call.thingName, call.shadowName);
    for (let attempt = 1; ; attempt++) {
      const result = applyShadowUpdate(stored, call.request, { ...this.#engine, now: this.#clock.now() });
      if (!result.ok) return { ok: false, error: result.error, rejected: result.rejected, tenantId: ctx.tenantId };
      const served: Served = { ok: true, operation: 'update', result, previous: liveOf(stored), tenantId: ctx.tenantId };
      if (!result.changed) {
        this.#meterUpdate(ctx.tenantId, stored, result.document);
        return served;
      }
      const outbox = this.#outbox;
      const cas =
        outbox === undefined
          ? await this.#shadows.compareAndSet(ctx, call.thingName, call.shadowName, stored?.version ?? 0, result.document)
          : await outbox.compareAndSet(ctx, call.thingName, call.shadowName, stored?.version ?? 0, result.document, { outbox: this.#updateAnswers(call, result) });
      if (cas.ok) {
        this.#meterUpdate(ctx.tenantId, stored, result.document);
        return outbox === undefined ? served : { ...served, committed: true };
      }
      if (attempt >= this.#maxAttempts) throw new Error(`the shadow kept changing under ${attempt} compare-and-set attempts`);
      stored = cas.current; // another writer got in between: apply the request to what it wrote
    }
  }

  async #get(ctx: TenantContext, call: ShadowCall): Promise<Served> {
    const stored = await this.#shadows.get(ctx, call.thingName, call.shadowName);
    const r = getShadow(stored, { now: this.#clock.now(), request: call.request, name: call.shadowName ?? call.thingName, limits: this.#limits, acknowledgements: this.#engine.acknowledgements === true });
    return r.ok ? { ok: true, operation: 'get', response: r.response, tenantId: ctx.tenantId } : { ok: false, error: r.error, rejected: r.rejected, tenantId: ctx.tenantId };
  }

  async #delete(ctx: TenantContext, call: ShadowCall): Promise<Served> {
    let stored = await this.#shadows.get(ctx, call.thingName, call.shadowName);
    for (let attempt = 1; ; attempt++) {
      const r = deleteShadow(stored, { now: this.#clock.now(), request: call.request, name: call.shadowName ?? call.thingName, limits: this.#limits });
      if (!r.ok) return { ok: false, error: r.error, rejected: r.rejected, tenantId: ctx.tenantId };
      const outbox = this.#outbox;
      const out =
        outbox === undefined
          ? await this.#shadows.delete(ctx, call.thingName, call.shadowName, r.accepted.version)
          : await outbox.delete(ctx, call.thingName, call.shadowName, r.accepted.version, { outbox: [this.#message(responseTopic(call, 'delete', 'accepted'), r.accepted)] });
      if (out.ok) {
        this.#quotas?.storedBytesChanged(ctx.tenantId, -documentBytes(liveOf(stored)), this.#clock.now());
        return { ok: true, operation: 'delete', accepted: r.accepted, tenantId: ctx.tenantId, ...(outbox === undefined ? {} : { committed: true }) };
      }
      if (attempt >= this.#maxAttempts) throw new Error(`the shadow kept changing under ${attempt} delete attempts`);
      stored = out.current;
    }
  }

  // ── outbound: publish → events ───────────────────────────────────────────────────────────────

  // Responses of one thing are published in the order its requests were served, so a lower
  // version never follows a higher one. A device's refusals go to its /rejected topic; an
  // application's only to the caller (the device did not ask). An application's get is not
  // published; its update and delete are, as AWS does for its HTTP API.
  #respond(call: ShadowCall, served: Served): void {
    if (!served.ok) {
      if (call.source === 'device') this.#publish(responseTopic(call, call.operation, 'rejected'), served.rejected);
      this.#emitRejected(call.source, served.error, call, served.tenantId);
      return;
    }
    switch (served.operation) {
      case 'update': {
        // Committed through the outbox: the relay publishes the answers.
        if (served.committed !== true) for (const m of this.#updateAnswers(call, served.result)) this.#publish(m.topic, m.payload);
        this.#emitUpdated(call, served);
        return;
      }
      case 'get':
        if (call.source === 'device') this.#publish(responseTopic(call, 'get', 'accepted'), served.response);
        return;
      case 'delete':
        if (served.committed !== true) this.#publish(responseTopic(call, 'delete', 'accepted'), served.accepted);
        if (this.listenerCount('shadow:deleted') > 0) this.emit('shadow:deleted', { ...target(call, served.tenantId), version: served.accepted.version });
    }
  }

  #publish(topic: string, payload: object | string): void {
    this.#transport.publish(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), this.#publishOptions).catch((e: unknown) => this.#failed(e));
  }

  #message(topic: string, payload: object): OutboundMessage {
    return { topic, payload: JSON.stringify(payload), qos: this.#qos };
  }

  /** The answers of an accepted update, in the order they are published: accepted, delta, documents. */
  #updateAnswers(call: ShadowCall, result: ShadowUpdateAccepted): OutboundMessage[] {
    const out = [this.#message(responseTopic(call, 'update', 'accepted'), result.accepted)];
    if (result.delta !== undefined) out.push(this.#message(responseTopic(call, 'update', 'delta'), result.delta));
    out.push({ topic: responseTopic(call, 'update', 'documents'), payload: this.#documentsJson.stringify(result.documents), qos: this.#qos });
    return out;
  }

  #emitUpdated(call: ShadowCall, served: Extract<Served, { operation: 'update' }>): void {
    const { result } = served;
    if (this.listenerCount('shadow:updated') > 0) {
      this.emit('shadow:updated', { ...target(call, served.tenantId), version: result.document.version, document: result.document, previous: served.previous, accepted: result.accepted });
    }
    if (result.delta !== undefined && this.listenerCount('shadow:delta') > 0) {
      this.emit('shadow:delta', { ...target(call, served.tenantId), version: result.document.version, delta: result.delta });
    }
  }

  #emitRejected(source: ShadowRequestSource, error: FleetError, call: ShadowCall | undefined, tenantId?: string): void {
    if (this.listenerCount('shadow:rejected') === 0) return;
    this.emit('shadow:rejected', {
      source,
      error,
      ...(tenantId === undefined ? {} : { tenantId }),
      ...(call === undefined ? {} : { thingName: call.thingName, operation: call.operation }),
      ...(call?.shadowName === undefined ? {} : { shadowName: call.shadowName }),
    });
  }

  #failed(e: unknown): void {
    const error = e instanceof FleetError ? e : new FleetError('INTERNAL', `Shadow service failure: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** A `/rejected` payload of a throttled request: AWS's 429 plus the wait. */
type RejectedWithRetry = ReturnType<typeof rejectedPayload> & { readonly retryAfterMs: number };

// Bytes of a stored document as JSON (state, metadata and version); 0 for none.
const documentBytes = (doc: ShadowDocument | undefined): number => (doc === undefined ? 0 : jsonBytes(doc as unknown as JsonValue));

function retainedRequest(topic: string): FleetError {
  return new FleetError('INVALID_REQUEST', `Ignored the retained message on "${topic}": shadow requests must not be published with retain (the broker would replay them on every subscribe)`, {
    status: 400,
  });
}

function target(call: ShadowCall, tenantId: string): { tenantId: string; thingName: string; shadowName?: string; source: ShadowRequestSource } {
  return call.shadowName === undefined ? { tenantId, thingName: call.thingName, source: call.source } : { tenantId, thingName: call.thingName, shadowName: call.shadowName, source: call.source };
}

interface ResolvedOptions {
  readonly transport: Transport;
  readonly shadows: ShadowStore;
  readonly devices: DeviceStore;
  readonly clock: Clock;
  readonly openTenant: string | undefined;
  readonly named: boolean;
  readonly qos: QoS;
  readonly limits: ResolvedShadowLimits;
  readonly engine: Omit<ShadowUpdateOptions, 'now'>;
  readonly maxInFlight: number;
  readonly maxAttempts: number;
  readonly quotas: QuotaEnforcer | undefined;
  readonly outbox: OutboxShadowStore | undefined;
  readonly requestPrefix: string | undefined;
}

// Every default in one place; argument errors early, with the API's name.
function resolveOptions(options: ShadowServiceOptions): ResolvedOptions {
  const bad = (what: string): never => {
    throw new FleetError('INVALID_ARGUMENT', `new ShadowService: ${what}`, { status: 400 });
  };
  if (typeof options !== 'object' || options === null) bad('pass { transport, shadows, devices, … }');
  const { transport, shadows, devices } = options;
  if (typeof transport?.subscribe !== 'function' || typeof transport.publish !== 'function') bad('transport must be a Transport');
  if (typeof shadows?.compareAndSet !== 'function') bad('shadows must be a ShadowStore');
  if (typeof devices?.locate !== 'function') bad('devices must be a DeviceStore');
  const maxInFlight = options.maxInFlightPerThing ?? MAX_IN_FLIGHT_PER_THING;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) bad(`maxInFlightPerThing must be an integer ≥ 1, got ${String(maxInFlight)}`);
  const maxAttempts = options.maxAttempts ?? 8;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) bad(`maxAttempts must be an integer ≥ 1, got ${String(maxAttempts)}`);
  if (options.quotas !== undefined && !(options.quotas instanceof QuotaEnforcer)) bad('quotas must be a QuotaEnforcer (fleetkit/tenancy)');
  const wantsOutbox: unknown = options.outbox;
  if (wantsOutbox !== undefined && typeof wantsOutbox !== 'boolean') bad(`outbox must be true or false, got ${describeValue(wantsOutbox)}`);
  if (wantsOutbox === true && (shadows as Partial<OutboxShadowStore>).transactionalOutbox !== true) bad('outbox: true needs a shadow store with a transactional outbox (fleetkit/postgres); the memory stores have none');
  const qos = options.qos ?? 1;
  if (qos !== 0 && qos !== 1) bad(`qos must be 0 or 1, got ${String(qos)}`);
  const prefix: unknown = options.requestPrefix;
  if (prefix !== undefined && prefix !== '$aws/' && (typeof prefix !== 'string' || !/^[^$/+#\u0000][^+#\u0000]*\/$/.test(prefix) || prefix.includes('//') || prefix.length > 128)) {
    bad(`requestPrefix must be a topic prefix ending in "/", without "+", "#" or empty levels, not starting with "$" (for example "fleetkit/aws/"), got ${describeValue(prefix)}`);
  }
  const openTenant = options.openShadows === undefined ? undefined : tenantOf(options.openShadows, 'new ShadowService: openShadows');
  const engine: { limits?: ShadowLimits; policy?: ConflictPolicy; skipIfEqual?: boolean; acknowledgements?: boolean } = {};
  if (options.limits !== undefined) engine.limits = options.limits;
  if (options.policy !== undefined) engine.policy = options.policy;
  if (options.skipIfEqual !== undefined) engine.skipIfEqual = options.skipIfEqual;
  if (options.acknowledgements !== undefined) engine.acknowledgements = options.acknowledgements;
  return {
    transport,
    shadows,
    devices,
    clock: options.clock ?? systemClock,
    openTenant,
    named: options.named ?? true,
    qos,
    limits: resolveLimits(options.limits),
    engine,
    maxInFlight,
    maxAttempts,
    quotas: options.quotas,
    outbox: wantsOutbox === true ? (shadows as OutboxShadowStore) : undefined,
    requestPrefix: prefix === undefined || prefix === '$aws/' ? undefined : (prefix as string),
  };
}
