/**
 * `FleetRegistry`: provisioning over the transport, lifecycle transitions with the audit log,
 * decommissioning, registry queries and ACL generation.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock } from '../clock.js';
import { FleetError, isFleetError, type FleetErrorCode } from '../errors.js';
import { createCaRegistry } from '../lifecycle/ca-registry.js';
import { planDecommission, revocationFor, type DecommissionOptions } from '../lifecycle/decommission.js';
import type { LifecycleEffect } from '../lifecycle/effects.js';
import { createDeviceSnapshot, type LifecycleEvent } from '../lifecycle/snapshot.js';
import { DEFAULT_REPLAY_WINDOW_MS, type EnrollmentGroupDefinition } from '../lifecycle/symmetric-key.js';
import type { TransitionTable } from '../lifecycle/table.js';
import type { ProvisioningTemplate } from '../lifecycle/template.js';
import { transition } from '../lifecycle/transition.js';
import type { ProvisioningWireResponse } from '../protocol/provisioning-wire.js';
import { provisioningResponseTopic } from '../protocol/topics.js';
import type { AuditLog } from '../store/audit-log.js';
import type { DeviceFilter, DeviceInput, DeviceStore, RegisteredDevice, StoredCa } from '../store/device-store.js';
import type { Page, PageOptions } from '../store/page.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import type { InboundMessage, QoS, Transport, Unsubscribe } from '../transport/types.js';
import { optionsOf, shareGroupFilter } from './arguments.js';
import { EffectRunner, type EffectOutcome } from './effect-runner.js';
import { mosquittoAcl, type MosquittoAclOptions } from './mosquitto-acl.js';
import { Provisioner, type Provisioned, type TemplateResolver } from './provisioner.js';
import { ProvisioningChallenges } from './provisioning-proof.js';
import { acceptedReply, decodeProvisioningRequest, rejectedReply, requestIdOf, routeProvisioning, type ProvisioningRoute } from './provisioning-steps.js';
import type { FleetRegistryEvents, ProvisioningMethod, ProvisioningStats } from './registry-events.js';
import { ThingLanes } from './thing-lanes.js';

/** Options of {@link FleetRegistry}. */
export interface FleetRegistryOptions {
  /** Where provisioning requests arrive and answers go (connect it yourself). */
  readonly transport: Transport;
  /** The registry store. */
  readonly devices: DeviceStore;
  /** The audit log (used through the effect runner). */
  readonly audit: AuditLog;
  /**
   * The effect runner every lifecycle effect goes through; share one between the services of a
   * fleet so their handlers (commands, monitoring) see every decommissioning.
   * @defaultValue a runner over `devices` and `audit`
   */
  readonly effects?: EffectRunner;
  /** Time for provisioning, transitions and nonces. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /**
   * The provisioning template: one for every request, or a function choosing one per tenant and
   * method (returning `undefined` refuses with `TEMPLATE_INVALID`).
   */
  readonly template: ProvisioningTemplate | TemplateResolver;
  /**
   * The key that authenticates issued nonces (≥ 32 bytes). Give every registry instance of a fleet
   * the same secret so that any of them accepts a nonce another issued.
   * @defaultValue 32 random bytes (this instance only)
   */
  readonly challengeSecret?: Uint8Array;
  /** How long an issued nonce stays valid (ms). @defaultValue 300000 (5 minutes) */
  readonly challengeTtlMs?: number;
  /** The symmetric-key replay window (ms). @defaultValue 300000, the core's */
  readonly replayWindowMs?: number;
  /** An extended lifecycle transition table. @defaultValue the core's */
  readonly table?: TransitionTable;
  /** QoS of the request subscription and the answers. @defaultValue 1 */
  readonly qos?: QoS;
  /**
   * Subscribe to provisioning requests through the MQTT shared subscription `$share/{shareGroup}/…`, so
   * several instances on one broker split them (mosquitto ≥ 1.6, EMQX, HiveMQ); state lives in
   * the shared stores.
   */
  readonly shareGroup?: string;
  /** Provisioning requests of one claimed device id queued or running at once; more are refused (429). @defaultValue 4 */
  readonly maxInFlightPerDevice?: number;
  /** Compare-and-set attempts of a transition when another writer changed the record. @defaultValue 8 */
  readonly maxAttempts?: number;
}

/** What the application may set when it registers a device. */
export interface DeviceRegistration {
  /** The device id (a thing name: 1–128 of `[a-zA-Z0-9:_-]`). */
  readonly deviceId: string;
  /** Registry attributes. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Tags. */
  readonly tags?: readonly string[];
  /** Firmware version. */
  readonly firmwareVersion?: string;
  /** Hardware model or revision. */
  readonly hardware?: string;
}

/** Registry fields the application and the services may change without a lifecycle event. */
export type DevicePatch = Partial<Pick<DeviceInput, 'attributes' | 'tags' | 'firmwareVersion' | 'hardware' | 'health' | 'lastSeen'>>;

/** What {@link FleetRegistry.transition} and {@link FleetRegistry.decommission} return. */
export interface TransitionOutcome {
  /** The stored record after the change, or `undefined` when it was removed (`data_wiped`). */
  readonly device: RegisteredDevice | undefined;
  /** The effects the core emitted, in its order. */
  readonly effects: readonly LifecycleEffect[];
  /** What the effect runner did with them. */
  readonly outcomes: readonly EffectOutcome[];
}

/** Options of {@link FleetRegistry.query}. */
export interface RegistryQuery extends DeviceFilter, PageOptions {}

const MAX_STATS_TENANTS = 10_000;

interface MutableStats {
  challenges: number;
  accepted: number;
  refused: number;
  refusedByCode: Partial<Record<FleetErrorCode, number>>;
}

/**
 * The fleet registry service.
 *
 * **Provisioning over the wire** on `cmd/{tenantId}/{deviceId}/prov/req`, answered on `…/prov/res`
 * (schemas in `provisioning-wire`): an X.509 device asks for a challenge, signs the nonce with its
 * certificate's private key and sends its certificate chain with the signature (a certificate alone
 * never provisions); a symmetric-key device sends the core's enrollment request with its HMAC
 * proof. Nonces are single-use (claimed in the `DeviceStore` nonce ledger) and expire. The answer
 * carries the device id, tenant, home endpoint, topics and initial desired configuration, or a
 * rejection with the `FleetError` code and message. Requests of one claimed id are served one at a
 * time; a malformed request is answered on its own topic only.
 *
 * **Lifecycle**: {@link transition}, {@link decommission} and {@link wipe} run the core (`transition`,
 * `planDecommission`) and hand every effect to the {@link EffectRunner} — audit entries included.
 *
 * **Queries** by tenant, state, health, firmware and tag; **ACLs** for mosquitto from the registry.
 *
 * @example
 * ```ts
 * const registry = new FleetRegistry({ transport, devices: stores.devices, audit: stores.audit, clock, template });
 * await registry.putEnrollmentGroup({ tenantId: 'acme' }, { groupId: 'field', key: groupKey, tenantId: 'acme' });
 * await registry.start();
 * // a device publishing { type: 'symmetric-key', enrollment } to cmd/acme/sensor-1/prov/req is now answered
 * const page = await registry.query({ tenantId: 'acme' }, { state: 'active', tag: 'line-3' });
 * ```
 */
export class FleetRegistry extends EventEmitter<FleetRegistryEvents> {
  readonly #transport: Transport;
  readonly #devices: DeviceStore;
  readonly #runner: EffectRunner;
  readonly #clock: Clock;
  readonly #table: TransitionTable | undefined;
  readonly #qos: QoS;
  readonly #share: (filter: string) => string;
  readonly #maxAttempts: number;
  readonly #maxInFlight: number;
  readonly #provisioner: Provisioner;
  readonly #lanes: ThingLanes;
  readonly #stats = new Map<string, MutableStats>();
  readonly #pruneWindowMs: number;
  // Tenants whose nonce ledger got entries, with the time of the latest: pruned on the clock.
  readonly #ledgerTenants = new Map<string, number>();
  #pruneTimer: ReturnType<Clock['setTimeout']> | undefined;
  #subscription: Unsubscribe | undefined;

  /**
   * @param options - transport, stores, template, clock and limits
   * @throws FleetError `INVALID_ARGUMENT` for a missing transport, store or template, or a bad limit.
   */
  constructor(options: FleetRegistryOptions) {
    super();
    const bad = (what: string): never => {
      throw new FleetError('INVALID_ARGUMENT', `new FleetRegistry: ${what}`, { status: 400 });
    };
    if (typeof options !== 'object' || options === null) bad('pass { transport, devices, audit, template, … }');
    if (typeof options.transport?.subscribe !== 'function') bad('transport must be a Transport');
    if (typeof options.devices?.claimNonce !== 'function') bad('devices must be a DeviceStore');
    if (typeof options.audit?.append !== 'function') bad('audit must be an AuditLog');
    const template = options.template;
    if (typeof template !== 'function' && (typeof template !== 'object' || template === null)) bad('template must be a provisioning template (defineProvisioningTemplate) or a function choosing one');
    const maxInFlight = options.maxInFlightPerDevice ?? 4;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) bad(`maxInFlightPerDevice must be an integer ≥ 1, got ${String(maxInFlight)}`);
    const maxAttempts = options.maxAttempts ?? 8;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) bad(`maxAttempts must be an integer ≥ 1, got ${String(maxAttempts)}`);
    const qos = options.qos ?? 1;
    if (qos !== 0 && qos !== 1) bad(`qos must be 0 or 1, got ${String(qos)}`);
    const replayWindowMs = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
    if (!Number.isFinite(replayWindowMs) || replayWindowMs <= 0) bad(`replayWindowMs must be a positive number of ms, got ${String(replayWindowMs)}`);
    this.#share = shareGroupFilter('new FleetRegistry', options.shareGroup);
    const challenges = new ProvisioningChallenges(options.challengeSecret ?? randomBytes(32), options.challengeTtlMs ?? 300_000);
    this.#transport = options.transport;
    this.#devices = options.devices;
    this.#runner = options.effects ?? new EffectRunner({ devices: options.devices, audit: options.audit });
    this.#clock = options.clock ?? systemClock;
    this.#table = options.table;
    this.#qos = qos;
    this.#maxAttempts = maxAttempts;
    this.#maxInFlight = maxInFlight;
    this.#pruneWindowMs = Math.max(challenges.ttlMs, replayWindowMs);
    this.#lanes = new ThingLanes(maxInFlight, (e) => this.#failed(e));
    const resolver: TemplateResolver = typeof template === 'function' ? template : () => template;
    this.#provisioner = new Provisioner({
      devices: this.#devices,
      runner: this.#runner,
      clock: this.#clock,
      challenges,
      template: resolver,
      replayWindowMs,
      table: this.#table,
      onNonceClaimed: (tenantId) => this.#nonceClaimed(tenantId),
    });
  }

  /** The effect runner this registry hands its effects to. */
  get effects(): EffectRunner {
    return this.#runner;
  }

  /** Subscribes to `cmd/+/+/prov/req`. Idempotent. */
  async start(): Promise<void> {
    if (this.#subscription !== undefined) return;
    this.#subscription = await this.#transport.subscribe(this.#share('cmd/+/+/prov/req'), this.#onRequest, { qos: this.#qos });
  }

  /** Unsubscribes, stops the nonce pruning timer and waits until every accepted request is answered. */
  async stop(): Promise<void> {
    const sub = this.#subscription;
    this.#subscription = undefined;
    await sub?.();
    if (this.#pruneTimer !== undefined) this.#clock.clearTimeout(this.#pruneTimer);
    this.#pruneTimer = undefined;
    await this.#lanes.idle();
  }

  /** Number of claimed device ids with provisioning requests queued or running. */
  get busyDevices(): number {
    return this.#lanes.active;
  }

  // ── provisioning over the wire: route → decode → admit → flow → reply ─────────────────────

  readonly #onRequest = (message: InboundMessage): void => {
    const route = routeProvisioning(message.topic);
    if (route instanceof FleetError) {
      this.#refused(undefined, undefined, route);
      return;
    }
    if (message.retain) {
      // A broker replays retained messages on subscribe: an old request must not provision again.
      const error = new FleetError('INVALID_REQUEST', 'Ignored a retained provisioning request; publish provisioning requests without retain', { status: 400, captureStack: false });
      this.#refused(route, undefined, error);
      return;
    }
    const payload = message.payload;
    const admitted = this.#lanes.admit(`${route.tenantId}/${route.claimedId}`, async () => this.#reply(route, await this.#serve(route, payload)));
    if (!admitted) {
      const error = new FleetError('TOO_MANY_REQUESTS', `More than ${this.#maxInFlight} provisioning requests of "${route.claimedId}" at once; wait for the answers`, { status: 429, captureStack: false });
      this.#refused(route, undefined, error);
      this.#reply(route, rejectedReply(error, requestIdOf(payload)));
    }
  };

  async #serve(route: ProvisioningRoute, payload: Uint8Array): Promise<ProvisioningWireResponse> {
    const request = decodeProvisioningRequest(payload);
    if (request instanceof FleetError) {
      this.#refused(route, methodOf(payload), request);
      return rejectedReply(request, requestIdOf(payload));
    }
    const requestId = request.requestId;
    if (request.type === 'challenge') {
      this.#count(route.tenantId).challenges++;
      return this.#provisioner.challenge(route, requestId);
    }
    let outcome: Provisioned | FleetError;
    try {
      outcome = request.type === 'x509' ? await this.#provisioner.x509(route, request) : await this.#provisioner.symmetricKey(route, request);
    } catch (e) {
      const error = internal(e);
      this.#failed(error);
      outcome = new FleetError('INTERNAL', 'Provisioning failed inside the service; retry later', { status: 500, cause: error });
    }
    if (outcome instanceof FleetError) {
      this.#refused(route, request.type, outcome);
      return rejectedReply(outcome, requestId);
    }
    this.#count(route.tenantId).accepted++;
    let device = outcome.device;
    const info = request.device;
    if (info !== undefined && ((info.hardware !== undefined && info.hardware !== device.hardware) || (info.firmwareVersion !== undefined && info.firmwareVersion !== device.firmwareVersion))) {
      // What the device says it is goes on its record; the device is provisioned either way.
      try {
        device = await this.patch({ tenantId: device.tenantId }, device.deviceId, { ...(info.hardware === undefined ? {} : { hardware: info.hardware }), ...(info.firmwareVersion === undefined ? {} : { firmwareVersion: info.firmwareVersion }) });
      } catch (e) {
        this.#failed(internal(e));
      }
    }
    if (this.listenerCount('device:provisioned') > 0) this.emit('device:provisioned', { tenantId: device.tenantId, deviceId: device.deviceId, method: request.type, device });
    return acceptedReply(device, requestId);
  }

  #reply(route: ProvisioningRoute, response: ProvisioningWireResponse): void {
    this.#transport.publish(provisioningResponseTopic(route.tenantId, route.claimedId), JSON.stringify(response), { qos: this.#qos }).catch((e: unknown) => this.#failed(e));
  }

  #refused(route: ProvisioningRoute | undefined, method: ProvisioningMethod | undefined, error: FleetError): void {
    if (route !== undefined) {
      const s = this.#count(route.tenantId);
      s.refused++;
      s.refusedByCode[error.code] = (s.refusedByCode[error.code] ?? 0) + 1;
    }
    if (this.listenerCount('provisioning:refused') === 0) return;
    this.emit('provisioning:refused', {
      ...(route === undefined ? {} : { tenantId: route.tenantId, claimedId: route.claimedId }),
      ...(method === undefined ? {} : { method }),
      error,
    });
  }

  #count(tenantId: string): MutableStats {
    let s = this.#stats.get(tenantId);
    if (s === undefined) {
      s = { challenges: 0, accepted: 0, refused: 0, refusedByCode: {} };
      // Topics name tenants that may not exist: keep the table bounded.
      if (this.#stats.size < MAX_STATS_TENANTS) this.#stats.set(tenantId, s);
    }
    return s;
  }

  /** Provisioning counters of the tenant since this registry started (refusals by code). */
  provisioningStats(ctx: TenantContext): ProvisioningStats {
    const s = this.#stats.get(tenantOf(ctx, 'FleetRegistry.provisioningStats'));
    return s === undefined ? { challenges: 0, accepted: 0, refused: 0, refusedByCode: {} } : { ...s, refusedByCode: { ...s.refusedByCode } };
  }

  // Ledger entries older than the validity window can go: a request carrying them is refused as
  // expired (nonces) or stale (enrollment timestamps) anyway.
  #nonceClaimed(tenantId: string): void {
    this.#ledgerTenants.set(tenantId, this.#clock.now());
    if (this.#pruneTimer === undefined) this.#pruneTimer = this.#clock.setTimeout(() => void this.#prune(), this.#pruneWindowMs);
  }

  async #prune(): Promise<void> {
    this.#pruneTimer = undefined;
    const now = this.#clock.now();
    for (const [tenantId, last] of [...this.#ledgerTenants]) {
      try {
        await this.#devices.pruneNonces({ tenantId }, now - this.#pruneWindowMs);
      } catch (e) {
        this.#failed(e);
      }
      if (last < now - this.#pruneWindowMs) this.#ledgerTenants.delete(tenantId);
    }
    if (this.#ledgerTenants.size > 0 && this.#subscription !== undefined) this.#pruneTimer = this.#clock.setTimeout(() => void this.#prune(), this.#pruneWindowMs);
  }

  // ── trust material ───────────────────────────────────────────────────────────────────────

  /**
   * Registers or replaces a CA whose device certificates may provision into the tenant.
   *
   * @throws FleetError `INVALID_ARGUMENT` when the PEM is not a CA certificate (basicConstraints
   *   CA:TRUE) or the record is malformed; `TENANT_MISMATCH` for another tenant's record.
   */
  async putCa(ctx: TenantContext, ca: { readonly caId: string; readonly pem: string; readonly status?: 'active' | 'inactive' }): Promise<void> {
    const tenantId = tenantOf(ctx, 'FleetRegistry.putCa');
    createCaRegistry([{ id: ca?.caId, pem: ca?.pem, status: ca?.status ?? 'active', tenantId }]);
    const stored: StoredCa = { tenantId, caId: ca.caId, pem: ca.pem, status: ca.status ?? 'active' };
    await this.#devices.putCa(ctx, stored);
    this.#provisioner.invalidateCas(tenantId);
    await this.#runner.record(ctx, { tenantId, at: this.#clock.now(), actor: 'registry', action: 'registry.put-ca', subject: ca.caId, details: { status: stored.status } });
  }

  /**
   * Creates or replaces a symmetric-key enrollment group of the tenant.
   *
   * @throws FleetError `INVALID_ARGUMENT` for a malformed group, `TENANT_MISMATCH` for another tenant's.
   */
  async putEnrollmentGroup(ctx: TenantContext, group: EnrollmentGroupDefinition): Promise<void> {
    const tenantId = tenantOf(ctx, 'FleetRegistry.putEnrollmentGroup');
    await this.#devices.putEnrollmentGroup(ctx, group);
    await this.#runner.record(ctx, { tenantId, at: this.#clock.now(), actor: 'registry', action: 'registry.put-enrollment-group', subject: group.groupId, details: { status: group.status ?? 'active' } });
  }

  // ── application API ───────────────────────────────────────────────────────────────────────

  /**
   * Pre-registers a device (`unprovisioned`): it provisions later with a credential, keeping the
   * attributes and tags given here.
   *
   * @throws FleetError `ALREADY_EXISTS`, `TENANT_MISMATCH` (the id is another tenant's),
   *   `INVALID_ARGUMENT` / `INVALID_NAME` for bad fields.
   */
  async register(ctx: TenantContext, registration: DeviceRegistration): Promise<RegisteredDevice> {
    const tenantId = tenantOf(ctx, 'FleetRegistry.register');
    const now = this.#clock.now();
    const { deviceId, ...fields } = registration ?? ({} as DeviceRegistration);
    const device = await this.#devices.create(ctx, { ...createDeviceSnapshot({ deviceId, tenantId, now }), ...fields });
    await this.#runner.record(ctx, { tenantId, at: now, actor: 'registry', action: 'registry.register', subject: device.deviceId });
    if (this.listenerCount('device:registered') > 0) this.emit('device:registered', { tenantId, deviceId: device.deviceId, device });
    return device;
  }

  /**
   * The device, or `undefined` when no tenant has it.
   *
   * @throws FleetError `TENANT_MISMATCH` when another tenant has it.
   */
  get(ctx: TenantContext, deviceId: string): Promise<RegisteredDevice | undefined> {
    return this.#devices.get(ctx, deviceId);
  }

  /** The tenant's devices with the given state, health, firmware version and/or tag, in pages by id. */
  query(ctx: TenantContext, query: RegistryQuery = {}): Promise<Page<RegisteredDevice>> {
    const { limit, cursor, ...filter } = optionsOf('FleetRegistry.query', query);
    return this.#devices.query(ctx, { filter, ...(limit === undefined ? {} : { limit }), ...(cursor === undefined ? {} : { cursor }) });
  }

  /** Every device of the tenant matching `filter` (all pages). */
  async all(ctx: TenantContext, filter: DeviceFilter = {}): Promise<RegisteredDevice[]> {
    const out: RegisteredDevice[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#devices.query(ctx, { filter, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      out.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }

  /**
   * Changes registry fields (attributes, tags, firmware, hardware, health, last seen) with a
   * compare-and-set, retried when another writer got in between.
   *
   * @throws FleetError `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`, `INVALID_ARGUMENT`.
   */
  async patch(ctx: TenantContext, deviceId: string, patch: DevicePatch): Promise<RegisteredDevice> {
    return this.#retry(ctx, deviceId, async (current) => this.#devices.update(ctx, { ...current, ...patch }, current.revision));
  }

  /**
   * Applies a lifecycle event: `transition` (the core) → compare-and-set of the record → its effects
   * (the audit entry, and `remove-record` for `data_wiped`) through the effect runner.
   *
   * @param options - `at`: when the event happened (epoch ms), for a service that decided it
   *   earlier on the clock; default now. It must not be earlier than the device's last event.
   * @throws FleetError `INVALID_TRANSITION` (409) when the state does not accept the event,
   *   `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`, `INVALID_ARGUMENT` (also for an `at` before the
   *   device's last event).
   */
  async transition(ctx: TenantContext, deviceId: string, event: LifecycleEvent, options: { readonly at?: number } = {}): Promise<TransitionOutcome> {
    let outcome: TransitionOutcome | undefined;
    let from: RegisteredDevice | undefined;
    await this.#retry(ctx, deviceId, async (current) => {
      from = current;
      const r = transition(current, event, { now: optionsOf('FleetRegistry.transition', options).at ?? this.#clock.now(), ...(this.#table === undefined ? {} : { table: this.#table }) });
      if (!r.ok) throw r.error;
      const report = r.next === null ? await this.#runner.run(ctx, r.effects) : await this.#runner.run(ctx, r.effects, { write: { next: r.next, expectedRevision: current.revision } });
      outcome = { device: report.record, effects: r.effects, outcomes: report.outcomes };
      return current;
    });
    const done = outcome as TransitionOutcome;
    this.#emitTransitioned(from as RegisteredDevice, event, done);
    return done;
  }

  /**
   * Decommissions a device: `planDecommission` (the core) → the record becomes `decommissioned`
   * (compare-and-set) → the plan's effects through the effect runner: the credential revoked, its
   * policies detached, pending commands and rollout actions cancelled, its cloud data wiped,
   * monitoring and billing stopped, the audit entry.
   *
   * @param options - `reason` and `actor` (required, for the audit trail), optionally `event`
   * @throws FleetError `INVALID_TRANSITION` when the state cannot be decommissioned (or already is),
   *   `INVALID_ARGUMENT`, `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`; `INTERNAL` with
   *   `details.completed` when an effect failed (run it again: the effects are idempotent).
   */
  async decommission(ctx: TenantContext, deviceId: string, options: Pick<DecommissionOptions, 'reason' | 'actor' | 'event'>): Promise<TransitionOutcome> {
    let outcome: TransitionOutcome | undefined;
    let from: RegisteredDevice | undefined;
    await this.#retry(ctx, deviceId, async (current) => {
      from = current;
      const plan = planDecommission(current, { ...options, now: this.#clock.now(), ...(this.#table === undefined ? {} : { table: this.#table }) });
      if (!plan.ok) throw plan.error;
      const report = await this.#runner.run(ctx, plan.effects, { write: { next: plan.next, expectedRevision: current.revision } });
      outcome = { device: report.record, effects: plan.effects, outcomes: report.outcomes };
      return current;
    });
    const done = outcome as TransitionOutcome;
    const event = done.effects.find((e) => e.type === 'audit');
    this.#emitTransitioned(from as RegisteredDevice, { type: event?.type === 'audit' ? event.event : 'end_of_life' }, done);
    return done;
  }

  /**
   * Confirms the wipe of a decommissioned device (`data_wiped`): its record is removed, only the
   * audit trail remains, and the id is free again. The credential's revocation is re-applied first
   * (idempotent), so the record never disappears while the old credential could still provision.
   *
   * @throws FleetError `INVALID_TRANSITION` unless the device is `decommissioned`, `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`.
   */
  async wipe(ctx: TenantContext, deviceId: string, options: { readonly actor?: string; readonly reason?: string } = {}): Promise<TransitionOutcome> {
    const { actor, reason } = optionsOf('FleetRegistry.wipe', options);
    const current = await this.#require(ctx, deviceId);
    if (current.state === 'decommissioned' && current.identity !== undefined) {
      await this.#runner.run(ctx, [{ type: 'revoke-credential', deviceId, tenantId: current.tenantId, revocation: revocationFor(current.identity) }]);
    }
    return this.transition(ctx, deviceId, { type: 'data_wiped', ...(actor === undefined ? {} : { actor }), ...(reason === undefined ? {} : { reason }) });
  }

  /**
   * The mosquitto `acl_file` text for the tenant's devices (see {@link mosquittoAcl}); pass every
   * tenant's devices to `mosquittoAcl` directly for one file covering all tenants.
   */
  async mosquittoAcl(ctx: TenantContext, options: MosquittoAclOptions = {}): Promise<string> {
    return mosquittoAcl(await this.all(ctx), options);
  }

  // ── helpers ───────────────────────────────────────────────────────────────────────────────

  async #require(ctx: TenantContext, deviceId: string): Promise<RegisteredDevice> {
    const current = await this.#devices.get(ctx, deviceId);
    if (current === undefined) {
      throw new FleetError('DEVICE_NOT_FOUND', `Device "${deviceId}" is not registered in tenant "${ctx.tenantId}"`, { status: 404, details: { deviceId } });
    }
    return current;
  }

  // Reads the record and applies `step`; a lost compare-and-set re-reads and tries again.
  async #retry(ctx: TenantContext, deviceId: string, step: (current: RegisteredDevice) => Promise<RegisteredDevice>): Promise<RegisteredDevice> {
    tenantOf(ctx, 'FleetRegistry');
    for (let attempt = 1; ; attempt++) {
      const current = await this.#require(ctx, deviceId);
      try {
        return await step(current);
      } catch (e) {
        if (!isFleetError(e, 'VERSION_CONFLICT') || attempt >= this.#maxAttempts) throw e;
      }
    }
  }

  #emitTransitioned(from: RegisteredDevice, event: LifecycleEvent, outcome: TransitionOutcome): void {
    if (this.listenerCount('device:transitioned') === 0) return;
    this.emit('device:transitioned', {
      tenantId: from.tenantId,
      deviceId: from.deviceId,
      from: from.state,
      to: outcome.device?.state ?? null,
      event: event.type,
      device: outcome.device,
      outcomes: outcome.outcomes,
    });
  }

  #failed(e: unknown): void {
    const error = internal(e);
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

function internal(e: unknown): FleetError {
  return isFleetError(e) ? e : new FleetError('INTERNAL', `Registry failure: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e });
}

function methodOf(payload: Uint8Array): ProvisioningMethod | undefined {
  try {
    const type = (JSON.parse(Buffer.from(payload).toString('utf8')) as { type?: unknown } | null)?.type;
    return type === 'x509' || type === 'symmetric-key' ? type : undefined;
  } catch {
    return undefined;
  }
}
