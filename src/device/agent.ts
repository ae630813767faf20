/**
 * `DeviceAgent`: the device side of every cloud service, over any `Transport` and `Clock`.
 */
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError, isFleetError } from '../errors.js';
import { cloneJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';
import { jsonCodec, type Codec } from '../protocol/codec.js';
import { commandRequestWireSchema, type CommandAckMessage, type CommandAckStatus, type CommandRequestMessage } from '../protocol/command-wire.js';
import type { ProvisioningAcceptedResponse } from '../protocol/provisioning-wire.js';
import { shadowAcceptedMessageSchema, shadowDeltaMessageSchema, shadowErrorResponseSchema, type HeartbeatMessage, type TelemetryMessage } from '../protocol/schemas.js';
import { commandAckTopic, fleetTopicFilter, heartbeatTopic, shadowResponseFilter, shadowTopic, telemetryTopic } from '../protocol/topics.js';
import { reconcileShadow, type ReconcileResolver } from '../shadow/reconcile.js';
import type { InboundMessage, QoS, Transport, TransportState, Unsubscribe } from '../transport/types.js';
import type { DeviceAgentEvents } from './agent-events.js';
import { toSigningKeys, type TrustedSigningKeys } from './firmware-image.js';
import { WireJobChannel, type JobChannel } from './job-channel.js';
import { OtaAgent, type FirmwareRuntime, type FirmwareSlots, type JobReport, type OtaJob } from './ota.js';
import { provision, type DeviceCredentials } from './provisioning-client.js';
import type { RandomSource } from './random.js';
import { TelemetryBuffer } from './telemetry-buffer.js';

/**
 * Who wins when the device changed a configuration value while offline and the cloud changed the
 * same value: `cloud-wins` (default, as the lab firmware does), `device-wins`, or a resolver (the
 * core's `reconcileShadow` semantics: a value changed on one side only is always taken).
 */
export type DeviceConflictPolicy = 'cloud-wins' | 'device-wins' | ReconcileResolver;

/** Vital signs a heartbeat carries (see `heartbeatMessageSchema`). */
export interface HeartbeatVitals {
  /** Battery charge, 0–100 %. */
  readonly batteryPct?: number;
  /** Received signal strength (dBm). */
  readonly rssiDbm?: number;
  /** Free heap in bytes. */
  readonly freeHeapBytes?: number;
}

/** A command handler's context. */
export interface CommandContext {
  /** The command as received. */
  readonly command: CommandRequestMessage;
  /** The agent that received it. */
  readonly agent: DeviceAgent;
}

/**
 * Runs a command. Its return value is the `result` of the `succeeded` acknowledgement; a throw
 * acknowledges `failed` with the error's `code` (a `FleetError`'s) or `HANDLER_FAILED`.
 */
export type CommandHandler = (params: JsonObject, context: CommandContext) => JsonValue | undefined | Promise<JsonValue | undefined>;

/** Update jobs: OTA with A/B slots. */
export interface DeviceJobOptions {
  /** The public keys firmware images must be signed with: Ed25519 or ECDSA P-256 (KeyObject or SPKI PEM), as a list or by key id. */
  readonly trustedSigningKeys: TrustedSigningKeys;
  /** Downloads a job's image. */
  readonly fetchImage: (job: OtaJob) => Promise<Uint8Array>;
  /**
   * Where jobs come from and reports go. `false`: none (run jobs with {@link DeviceAgent.runJob}).
   * @defaultValue a `WireJobChannel` (fleetkit's job topics on the agent's transport)
   */
  readonly channel?: JobChannel | false;
  /** What the new firmware does after the slot switch (boot, health checks). */
  readonly runtime?: FirmwareRuntime;
  /** Boot validation window. @defaultValue 300000 */
  readonly bootWindowMs?: number;
  /** How often boot checks are evaluated while pending. @defaultValue 5000 */
  readonly bootCheckIntervalMs?: number;
}

/** Options of {@link DeviceAgent}. */
export interface DeviceAgentOptions {
  /** The link to the broker. `start()` connects it when it is offline. */
  readonly transport: Transport;
  /** The tenant (replaced by the provisioning answer's). */
  readonly tenantId: string;
  /** The device id / thing name (replaced by the provisioning answer's). */
  readonly deviceId: string;
  /** Time and timers. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Payload encoding. @defaultValue jsonCodec */
  readonly codec?: Codec;
  /** QoS of subscriptions and of everything the agent publishes. @defaultValue 1 */
  readonly qos?: QoS;
  /** The identity {@link DeviceAgent.provision} proves. */
  readonly credentials?: DeviceCredentials;
  /** How long to wait for each provisioning answer. @defaultValue 30000 */
  readonly provisioningTimeoutMs?: number;
  /** Conflict policy of shadow syncs. @defaultValue 'cloud-wins' */
  readonly conflictPolicy?: DeviceConflictPolicy;
  /** The configuration to run on before the first sync. @defaultValue {} */
  readonly initialConfig?: JsonObject;
  /** Heartbeat period; 0 turns heartbeats off. @defaultValue 60000 (the HealthMonitor's default) */
  readonly heartbeatIntervalMs?: number;
  /** Telemetry period; 0 turns periodic telemetry off. @defaultValue 60000 */
  readonly telemetryIntervalMs?: number;
  /** Takes a telemetry sample on each telemetry tick; `undefined` skips the tick. @defaultValue no periodic telemetry */
  readonly sampleTelemetry?: () => JsonObject | undefined;
  /** Vital signs for each heartbeat. @defaultValue none */
  readonly vitals?: () => HeartbeatVitals;
  /** Most telemetry messages held while offline; beyond it the oldest is dropped (and counted). @defaultValue 1000 */
  readonly telemetryBufferSize?: number;
  /** The factory firmware version (slot A). @defaultValue '0.0.0' */
  readonly firmwareVersion?: string;
  /**
   * The hardware model or revision (1–64 characters), sent with the provisioning request with the
   * running firmware version, so the registry records what the device is (firmware compatibility
   * checks and rollouts read it). @defaultValue none
   */
  readonly hardware?: string;
  /** Update jobs (OTA). @defaultValue none */
  readonly jobs?: DeviceJobOptions;
  /**
   * Command handlers shared by many agents (a simulator's fleet): consulted when the agent has no
   * handler of its own for a name (see {@link DeviceAgent.handle}); a handler finds its agent in
   * `context.agent`. @defaultValue none
   */
  readonly handlers?: ReadonlyMap<string, CommandHandler>;
  /** Random source for enrollment nonces (a seeded one makes simulations reproducible). @defaultValue node:crypto */
  readonly random?: RandomSource;
}

/** Counters of a {@link DeviceAgent}. */
export interface DeviceAgentStats {
  /** Heartbeats published. */
  readonly heartbeats: number;
  /** Telemetry messages published (buffered ones once flushed). */
  readonly telemetrySent: number;
  /** Telemetry messages waiting in the offline buffer. */
  readonly telemetryBuffered: number;
  /** Telemetry messages dropped because the buffer was full. */
  readonly telemetryDropped: number;
  /** Shadow messages dropped as stale. */
  readonly staleDropped: number;
  /** Commands handled (duplicates not counted). */
  readonly commands: number;
  /** `error` events emitted. */
  readonly errors: number;
}

const ACK_MEMORY = 64;
const CHANNEL_JOB_MEMORY = 32;
const DEFAULT_INTERVAL_MS = 60_000;

function intervalOption(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new FleetError('INVALID_ARGUMENT', `DeviceAgent: ${name} must be a number of ms ≥ 0 (0 turns it off), got ${describeValue(value)}`, { status: 400 });
  }
  return value;
}

/** Deep merge of `patch` into a copy of `base` (arrays and scalars replace; `null` removes). */
function mergeConfig(base: JsonObject, patch: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const key of Object.keys(patch)) {
    const v = patch[key] as JsonValue;
    if (v === null) delete out[key];
    else if (isJsonObject(v) && isJsonObject(out[key])) out[key] = mergeConfig(out[key] as JsonObject, v);
    else out[key] = cloneJson(v);
  }
  return out;
}

function changedKeys(before: JsonObject, after: JsonObject): string[] {
  const keys: string[] = [];
  for (const key of Object.keys(after)) if (!jsonEqual(before[key], after[key])) keys.push(key);
  for (const key of Object.keys(before)) if (!(key in after)) keys.push(key);
  return keys;
}

const HEARTBEAT_FAST = /^[\x20-\x7e]{1,64}$/;

function finiteVitals(v: HeartbeatVitals): boolean {
  for (const key in v) {
    if (key !== 'batteryPct' && key !== 'rssiDbm' && key !== 'freeHeapBytes') return false;
    if (!Number.isFinite(v[key])) return false;
  }
  return true;
}

const asError = (error: unknown, fallback: string): FleetError => (isFleetError(error) ? error : new FleetError('INTERNAL', fallback, { cause: error }));

/**
 * The device-side SDK: provisioning (X.509 challenge or symmetric-key enrollment), shadow sync
 * (GET on every (re)connect, deltas, reported updates, version tracking, stale messages dropped,
 * offline conflicts decided by the conflict policy), a command handler registry with
 * acknowledgements, heartbeats and telemetry on clock timers, a bounded offline telemetry buffer
 * flushed on reconnect, and update jobs with A/B slots. Every inbound message is decoded and
 * validated; one that is not valid is an `error` event and changes nothing.
 *
 * @example
 * ```ts
 * const agent = new DeviceAgent({ transport, clock, tenantId: 'acme', deviceId: 'pump-7', sampleTelemetry: () => ({ rpm: 1200 }) });
 * agent.handle('reboot', () => ({ rebooting: true }));
 * agent.on('config', (e) => console.log('new config', e.config));
 * await agent.start();
 * ```
 */
export class DeviceAgent extends EventEmitter<DeviceAgentEvents> {
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #codec: Codec;
  readonly #qos: QoS;
  readonly #publishOptions: { readonly qos: QoS };
  readonly #options: DeviceAgentOptions;
  readonly #owner: 'local' | 'remote' | undefined;
  readonly #resolve: ReconcileResolver | undefined;
  #handlers: Map<string, CommandHandler> | undefined;
  readonly #buffer: TelemetryBuffer;
  readonly #ota: OtaAgent | undefined;
  readonly #channel: JobChannel | undefined;
  #tenantId: string;
  #deviceId: string;
  #topics: { telemetry: string; heartbeat: string; shadowGet: string; shadowUpdate: string };
  #provisioned: ProvisioningAcceptedResponse | undefined;
  // Shadow: the applied configuration, the last one both sides agreed on, the version applied.
  #config: JsonObject;
  #base: JsonObject;
  #version = 0;
  #reported: JsonObject = {};
  #dirty: JsonObject | undefined;
  // Commands: final acknowledgements of the last ACK_MEMORY commands (duplicates get them again).
  #acks: Map<string, CommandAckMessage> | undefined;
  #subscriptions: Unsubscribe[] = [];
  #started = false;
  #online = false;
  #heartbeatEvery: number;
  #telemetryEvery: number;
  #telemetrySlowdown = 1;
  #heartbeatTimer: TimerHandle | undefined;
  #heartbeatDue = 0;
  #telemetryTimer: TimerHandle | undefined;
  #telemetryDue = 0;
  #heartbeatSeq = 0;
  #telemetrySeq = 0;
  #startedAt = 0;
  #stats = { heartbeats: 0, telemetrySent: 0, staleDropped: 0, commands: 0, errors: 0 };
  // A channel job arrived while another ran: ask for pending jobs when it ends.
  #askWhenFree = false;
  // Ids of the last jobs that came over the channel: only their reports go back over it.
  #fromChannel: Set<string> | undefined;

  /**
   * @param options - transport, identity, clock and behaviour ({@link DeviceAgentOptions})
   * @throws FleetError `INVALID_ARGUMENT` for a missing transport, a bad interval, buffer size or signing key;
   *   `INVALID_NAME` for a tenant or device id that cannot be part of a topic.
   */
  constructor(options: DeviceAgentOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.transport !== 'object' || options.transport === null) {
      throw new FleetError('INVALID_ARGUMENT', 'new DeviceAgent(options): pass { transport, tenantId, deviceId, clock? }', { status: 400 });
    }
    this.#options = options;
    this.#transport = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#codec = options.codec ?? jsonCodec;
    this.#qos = options.qos ?? 1;
    this.#publishOptions = { qos: this.#qos };
    this.#tenantId = options.tenantId;
    this.#deviceId = options.deviceId;
    this.#topics = this.#topicsFor(options.tenantId, options.deviceId);
    const policy = options.conflictPolicy ?? 'cloud-wins';
    if (policy === 'cloud-wins') this.#owner = 'remote';
    else if (policy === 'device-wins') this.#owner = 'local';
    else if (typeof policy === 'function') this.#resolve = policy;
    else throw new FleetError('INVALID_ARGUMENT', `DeviceAgent: conflictPolicy must be 'cloud-wins', 'device-wins' or a resolver function, got ${describeValue(policy)}`, { status: 400 });
    const hw: unknown = options.hardware;
    if (hw !== undefined && (typeof hw !== 'string' || hw.length === 0 || hw.length > 64)) {
      throw new FleetError('INVALID_ARGUMENT', `DeviceAgent: hardware must be a model name of 1–64 characters, got ${describeValue(hw)}`, { status: 400 });
    }
    const initial = options.initialConfig ?? {};
    if (!isJsonObject(initial)) throw new FleetError('INVALID_ARGUMENT', `DeviceAgent: initialConfig must be a JSON object, got ${describeValue(initial)}`, { status: 400 });
    this.#config = cloneJson(initial);
    this.#base = this.#config;
    this.#heartbeatEvery = intervalOption('heartbeatIntervalMs', options.heartbeatIntervalMs, DEFAULT_INTERVAL_MS);
    this.#telemetryEvery = intervalOption('telemetryIntervalMs', options.telemetryIntervalMs, DEFAULT_INTERVAL_MS);
    const size = options.telemetryBufferSize ?? 1000;
    if (!Number.isSafeInteger(size) || size < 0) throw new FleetError('INVALID_ARGUMENT', `DeviceAgent: telemetryBufferSize must be an integer ≥ 0, got ${describeValue(size)}`, { status: 400 });
    this.#buffer = new TelemetryBuffer(size);
    const jobs = options.jobs;
    this.#channel = jobs === undefined || jobs.channel === false ? undefined : (jobs.channel ?? new WireJobChannel());
    if (jobs !== undefined) {
      this.#ota = new OtaAgent({
        clock: this.#clock,
        trustedSigningKeys: toSigningKeys(jobs.trustedSigningKeys),
        fetchImage: jobs.fetchImage,
        report: (r) => this.#jobReport(r),
        firmwareVersion: options.firmwareVersion ?? '0.0.0',
        ...(jobs.runtime === undefined ? {} : { runtime: jobs.runtime }),
        ...(jobs.bootWindowMs === undefined ? {} : { bootWindowMs: jobs.bootWindowMs }),
        ...(jobs.bootCheckIntervalMs === undefined ? {} : { bootCheckIntervalMs: jobs.bootCheckIntervalMs }),
      });
    }
  }

  #topicsFor(tenantId: string, deviceId: string): { telemetry: string; heartbeat: string; shadowGet: string; shadowUpdate: string } {
    return { telemetry: telemetryTopic(tenantId, deviceId), heartbeat: heartbeatTopic(tenantId, deviceId), shadowGet: shadowTopic(deviceId, 'get'), shadowUpdate: shadowTopic(deviceId, 'update') };
  }

  // ── state ────────────────────────────────────────────────────────────────────────────────────

  /** The tenant the device belongs to. */
  get tenantId(): string {
    return this.#tenantId;
  }

  /** The device id (and thing name). */
  get deviceId(): string {
    return this.#deviceId;
  }

  /** The clock the agent runs on. */
  get clock(): Clock {
    return this.#clock;
  }

  /** What the provisioning answer returned (ids, home endpoint, topics, initial desired), once provisioned. */
  get provisioning(): ProvisioningAcceptedResponse | undefined {
    return this.#provisioned;
  }

  /** A copy of the configuration the device runs on. */
  get config(): JsonObject {
    return cloneJson(this.#config);
  }

  /** The shadow version whose desired state is applied (0 before the first sync). */
  get shadowVersion(): number {
    return this.#version;
  }

  /** True while the transport is online (as the agent last saw it). */
  get online(): boolean {
    return this.#online;
  }

  /** The version the running firmware slot holds. */
  get firmwareVersion(): string {
    return this.#ota?.runningVersion ?? this.#options.firmwareVersion ?? '0.0.0';
  }

  /** The A/B slots (`undefined` without `jobs`). */
  get slots(): FirmwareSlots | undefined {
    return this.#ota?.slots;
  }

  /** Counters. */
  get stats(): DeviceAgentStats {
    return { ...this.#stats, telemetryBuffered: this.#buffer.size, telemetryDropped: this.#buffer.dropped };
  }

  /** Heartbeats and telemetry messages published so far (what a radio's energy budget counts). */
  get messagesSent(): number {
    return this.#stats.heartbeats + this.#stats.telemetrySent;
  }

  /** The current heartbeat period (ms; 0 = off). */
  get heartbeatIntervalMs(): number {
    return this.#heartbeatEvery;
  }

  /** The current telemetry period before any slowdown (ms; 0 = off). */
  get telemetryIntervalMs(): number {
    return this.#telemetryEvery;
  }

  // ── provisioning ─────────────────────────────────────────────────────────────────────────────

  /**
   * Provisions the device with its `credentials` and stores the answer: the agent then uses the
   * answer's tenant and device id, and the answer's `desired` becomes its configuration. Call it
   * with the transport connected, before `start()`.
   *
   * @throws FleetError the registry's refusal (`PROOF_INVALID`, `CERT_UNTRUSTED`, `ALREADY_PROVISIONED`, …),
   *   `TIMEOUT` without an answer, `INVALID_OPERATION` without credentials or after `start()`.
   */
  async provision(): Promise<ProvisioningAcceptedResponse> {
    const credentials = this.#options.credentials;
    if (credentials === undefined) throw new FleetError('INVALID_OPERATION', 'DeviceAgent.provision: pass credentials (x509 or symmetric-key) in the options', { status: 400 });
    if (this.#started) throw new FleetError('INVALID_OPERATION', 'DeviceAgent.provision: provision before start(): the subscriptions depend on the ids provisioning assigns', { status: 409 });
    const answer = await provision(
      {
        transport: this.#transport,
        clock: this.#clock,
        codec: this.#codec,
        qos: this.#qos,
        tenantId: this.#tenantId,
        deviceId: this.#deviceId,
        random: this.#options.random,
        timeoutMs: this.#options.provisioningTimeoutMs ?? 30_000,
        device: { firmwareVersion: this.firmwareVersion, ...(this.#options.hardware === undefined ? {} : { hardware: this.#options.hardware }) },
        onError: (e) => this.#error(e),
      },
      credentials,
    );
    this.#provisioned = answer;
    this.#tenantId = answer.tenantId;
    this.#deviceId = answer.deviceId;
    this.#topics = this.#topicsFor(answer.tenantId, answer.deviceId);
    this.#config = cloneJson(answer.desired);
    this.#base = this.#config;
    this.emit('provisioned', answer);
    return answer;
  }

  // ── start / stop ─────────────────────────────────────────────────────────────────────────────

  /**
   * Subscribes to the device's shadow responses, commands and jobs, starts the heartbeat and
   * telemetry timers and connects the transport if it is offline. Idempotent.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#startedAt = this.#clock.now();
    const t = this.#transport;
    t.on('state', this.#onState);
    const options = { qos: this.#qos };
    this.#subscriptions.push(await t.subscribe(shadowResponseFilter(this.#deviceId), this.#onShadow, options));
    this.#subscriptions.push(await t.subscribe(fleetTopicFilter('command', { tenantId: this.#tenantId, deviceId: this.#deviceId }), this.#onCommand, options));
    const channel = this.#channel;
    if (channel !== undefined) {
      const context = { transport: t, codec: this.#codec, qos: this.#qos, clock: this.#clock, tenantId: this.#tenantId, deviceId: this.#deviceId, firmwareVersion: () => this.firmwareVersion };
      await channel.start(
        context,
        (job) => this.#onChannelJob(job),
        (e) => this.#error(e),
      );
    }
    this.#startHeartbeat(this.#clock.now());
    this.#startTelemetry(this.#clock.now());
    if (t.state === 'online') this.#cameOnline();
    else if (t.state === 'offline') {
      t.connect().catch((e: unknown) => this.#error(asError(e, 'DeviceAgent: the transport did not connect')));
    }
  }

  /** Stops the timers and unsubscribes (the transport stays as it is). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#transport.off('state', this.#onState);
    this.#stopHeartbeat();
    this.#stopTelemetry();
    this.#ota?.stop();
    const subs = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.allSettled(subs.map((off) => off()));
    await this.#channel?.stop();
  }

  readonly #onState = (state: TransportState): void => {
    if (state === 'online') this.#cameOnline();
    else if (this.#online) {
      this.#online = false;
      this.emit('offline');
    }
  };

  #cameOnline(): void {
    if (this.#online) return;
    this.#online = true;
    this.emit('online');
    this.#flushTelemetry();
    this.requestShadow();
    this.syncShadow();
    const channel = this.#channel;
    if (channel !== undefined) channel.requestPending().catch((e: unknown) => this.#error(asError(e, 'DeviceAgent: asking for pending jobs failed')));
  }

  // ── timers ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Sets the heartbeat period; the next heartbeat is `ms` from now (0 stops heartbeats).
   *
   * @throws FleetError `INVALID_ARGUMENT` for a negative or non-finite period.
   */
  setHeartbeatInterval(ms: number): void {
    this.#heartbeatEvery = intervalOption('heartbeatIntervalMs', ms, DEFAULT_INTERVAL_MS);
    if (!this.#started) return;
    this.#stopHeartbeat();
    this.#startHeartbeat(this.#clock.now());
  }

  /**
   * Sets the telemetry period; the next sample is `ms` (times the slowdown) from now (0 stops telemetry).
   *
   * @throws FleetError `INVALID_ARGUMENT` for a negative or non-finite period.
   */
  setTelemetryInterval(ms: number): void {
    this.#telemetryEvery = intervalOption('telemetryIntervalMs', ms, DEFAULT_INTERVAL_MS);
    if (!this.#started) return;
    this.#stopTelemetry();
    this.#startTelemetry(this.#clock.now());
  }

  /**
   * Stretches the telemetry period by `factor` (≥ 1) from the next sample on, e.g. 3 in a
   * degraded mode; 1 restores it.
   *
   * @throws FleetError `INVALID_ARGUMENT` for a factor below 1 or not finite.
   */
  setTelemetrySlowdown(factor: number): void {
    if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
      throw new FleetError('INVALID_ARGUMENT', `DeviceAgent.setTelemetrySlowdown: factor must be a finite number ≥ 1, got ${describeValue(factor)}`, { status: 400 });
    }
    this.#telemetrySlowdown = factor;
  }

  /** The telemetry period now in force (period × slowdown; 0 = off). */
  get effectiveTelemetryIntervalMs(): number {
    return this.#telemetryEvery * this.#telemetrySlowdown;
  }

  #startHeartbeat(from: number): void {
    if (this.#heartbeatEvery <= 0) return;
    this.#heartbeatDue = from + this.#heartbeatEvery;
    this.#heartbeatTimer = this.#clock.setTimeout(this.#onHeartbeatTick, this.#heartbeatEvery);
  }

  #stopHeartbeat(): void {
    if (this.#heartbeatTimer !== undefined) this.#clock.clearTimeout(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  #startTelemetry(from: number): void {
    const every = this.effectiveTelemetryIntervalMs;
    if (every <= 0 || this.#options.sampleTelemetry === undefined) return;
    this.#telemetryDue = from + every;
    this.#telemetryTimer = this.#clock.setTimeout(this.#onTelemetryTick, every);
  }

  #stopTelemetry(): void {
    if (this.#telemetryTimer !== undefined) this.#clock.clearTimeout(this.#telemetryTimer);
    this.#telemetryTimer = undefined;
  }

  // Each tick schedules the next one from its own due time, so periods do not drift on a real clock.
  readonly #onHeartbeatTick = (): void => {
    const due = this.#heartbeatDue;
    this.#heartbeatDue = due + this.#heartbeatEvery;
    this.#heartbeatTimer = this.#clock.setTimeout(this.#onHeartbeatTick, this.#heartbeatDue - this.#clock.now());
    this.sendHeartbeat();
  };

  readonly #onTelemetryTick = (): void => {
    const due = this.#telemetryDue;
    this.#telemetryDue = due + this.effectiveTelemetryIntervalMs;
    this.#telemetryTimer = this.#clock.setTimeout(this.#onTelemetryTick, this.#telemetryDue - this.#clock.now());
    let values: JsonObject | undefined;
    try {
      values = this.#options.sampleTelemetry?.();
    } catch (error) {
      this.#error(asError(error, 'DeviceAgent: sampleTelemetry threw'));
      return;
    }
    if (values !== undefined) this.sendTelemetry(values);
  };

  // ── heartbeats and telemetry ─────────────────────────────────────────────────────────────────

  /** Publishes a heartbeat now (skipped while offline: a late heartbeat says nothing). */
  sendHeartbeat(): void {
    if (!this.#online) return;
    const vitals = this.#options.vitals?.() ?? {};
    const now = this.#clock.now();
    const message: HeartbeatMessage = {
      ts: now,
      seq: ++this.#heartbeatSeq,
      uptimeS: Math.floor((now - this.#startedAt) / 1000),
      firmwareVersion: this.firmwareVersion,
      ...vitals,
    };
    this.#stats.heartbeats++;
    if (this.#codec === jsonCodec && HEARTBEAT_FAST.test(message.firmwareVersion as string) && finiteVitals(vitals)) {
      // Every field is a finite number or a plain version string: JSON.stringify writes exactly what
      // the codec would, without its walk over the value (heartbeats are most of a fleet's traffic).
      this.#transport.publish(this.#topics.heartbeat, JSON.stringify(message), this.#publishOptions).catch((error: unknown) => this.#error(asError(error, 'DeviceAgent: heartbeat publish failed')));
      return;
    }
    this.#publish(this.#topics.heartbeat, message);
  }

  /**
   * Publishes one telemetry sample (`{ ts, seq, values }`); while offline it waits in the bounded
   * buffer (drop-oldest) and is sent, in order, when the transport is online again.
   */
  sendTelemetry(values: JsonObject): void {
    const message: TelemetryMessage = { ts: this.#clock.now(), seq: ++this.#telemetrySeq, values };
    if (!this.#online) {
      this.#bufferTelemetry(message);
      return;
    }
    this.#sendTelemetry(message);
  }

  #bufferTelemetry(message: TelemetryMessage): void {
    if (this.#buffer.push(message) !== undefined) this.emit('telemetry:dropped', this.#buffer.dropped);
  }

  #sendTelemetry(message: TelemetryMessage): void {
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.encode(message);
    } catch (error) {
      this.#error(asError(error, 'DeviceAgent: telemetry could not be encoded'));
      return;
    }
    this.#stats.telemetrySent++;
    this.#transport.publish(this.#topics.telemetry, bytes, this.#publishOptions).catch((error: unknown) => {
      // Not delivered (the link dropped under it): keep it for the next flush.
      this.#stats.telemetrySent--;
      this.#bufferTelemetry(message);
      this.#error(asError(error, 'DeviceAgent: telemetry publish failed'));
    });
  }

  #flushTelemetry(): void {
    let n = 0;
    while (this.#online && this.#buffer.size > 0) {
      this.#sendTelemetry(this.#buffer.shift() as TelemetryMessage);
      n++;
    }
    if (n > 0) this.emit('telemetry:flushed', n);
  }

  #publish(topic: string, message: unknown): void {
    let bytes: Uint8Array;
    try {
      bytes = this.#codec.encode(message);
    } catch (error) {
      this.#error(asError(error, `DeviceAgent: a message for ${topic} could not be encoded`));
      return;
    }
    this.#transport.publish(topic, bytes, this.#publishOptions).catch((error: unknown) => this.#error(asError(error, `DeviceAgent: publish to ${topic} failed`)));
  }

  // ── shadow ───────────────────────────────────────────────────────────────────────────────────

  /** Asks for the whole shadow (`…/shadow/get`); the answer is reconciled with the configuration. */
  requestShadow(): void {
    if (this.#started) this.#publish(this.#topics.shadowGet, {});
  }

  /**
   * Records reported state and publishes it (`…/shadow/update`) when online; offline, it is sent
   * on reconnect. Values equal to what was last reported are not sent again.
   *
   * @throws FleetError `INVALID_ARGUMENT` when `patch` is not a JSON object.
   */
  report(patch: JsonObject): void {
    if (!isJsonObject(patch)) throw new FleetError('INVALID_ARGUMENT', `DeviceAgent.report: pass a JSON object of reported values, got ${describeValue(patch)}`, { status: 400 });
    let pending = this.#dirty;
    for (const key of Object.keys(patch)) {
      const v = patch[key] as JsonValue;
      if (jsonEqual(this.#reported[key], v)) continue;
      pending ??= {};
      pending[key] = v;
    }
    if (pending === undefined) return;
    this.#dirty = pending;
    this.syncShadow();
  }

  /** Publishes the reported values not sent yet (no-op when there are none or while offline). */
  syncShadow(): void {
    const pending = this.#dirty;
    if (pending === undefined || !this.#online || !this.#started) return;
    this.#dirty = undefined;
    this.#reported = mergeConfig(this.#reported, pending);
    this.#publish(this.#topics.shadowUpdate, { state: { reported: pending } });
  }

  /**
   * Changes the configuration on the device itself (a local setting, e.g. from a button or a
   * command) and reports it. A later sync decides conflicts with the cloud by the conflict policy.
   *
   * @throws FleetError `INVALID_ARGUMENT` when `patch` is not a JSON object.
   */
  updateConfig(patch: JsonObject): void {
    if (!isJsonObject(patch)) throw new FleetError('INVALID_ARGUMENT', `DeviceAgent.updateConfig: pass a JSON object, got ${describeValue(patch)}`, { status: 400 });
    const before = this.#config;
    this.#config = mergeConfig(before, patch);
    const changed = changedKeys(before, this.#config);
    if (changed.length === 0) return;
    this.emit('config', { config: cloneJson(this.#config), changed, version: this.#version, source: 'local' });
    this.report(this.#pick(changed));
  }

  #pick(keys: readonly string[]): JsonObject {
    const out: JsonObject = {};
    for (const key of keys) out[key] = key in this.#config ? (this.#config[key] as JsonValue) : null;
    return out;
  }

  readonly #onShadow = (m: InboundMessage): void => {
    const topic = m.topic;
    try {
      if (topic.endsWith('/update/delta')) this.#onDelta(m);
      else if (topic.endsWith('/get/accepted')) this.#onGetAccepted(m);
      else if (topic.endsWith('/rejected')) this.#onRejected(m);
      // update/accepted, update/documents and delete/accepted carry nothing the agent acts on.
    } catch (error) {
      this.#error(asError(error, `DeviceAgent: the message on ${topic} could not be handled`));
    }
  };

  #decode<T>(m: InboundMessage, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } }): T {
    const parsed = schema.safeParse(this.#codec.decode(m.payload));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new FleetError('INVALID_PAYLOAD', `DeviceAgent: the message on ${m.topic} does not match its schema: ${issue === undefined ? 'invalid' : `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`}`, {
      status: 400,
      captureStack: false,
      details: { topic: m.topic },
    });
  }

  #onDelta(m: InboundMessage): void {
    const delta = this.#decode(m, shadowDeltaMessageSchema);
    if (delta.version <= this.#version) {
      this.#stale(delta.version, 'delta');
      return;
    }
    // The delta names the desired values that differ from reported; the rest of desired is what was agreed.
    this.#apply(mergeConfig(this.#base, delta.state), delta.version, 'delta');
  }

  #onGetAccepted(m: InboundMessage): void {
    const got = this.#decode(m, shadowAcceptedMessageSchema);
    if (got.version === undefined) throw new FleetError('INVALID_PAYLOAD', `DeviceAgent: get/accepted without a version on ${m.topic}`, { status: 400, captureStack: false });
    const desired = got.state?.desired;
    if (desired !== undefined && !isJsonObject(desired)) throw new FleetError('INVALID_PAYLOAD', `DeviceAgent: get/accepted state.desired is not an object on ${m.topic}`, { status: 400, captureStack: false });
    const reported = got.state?.reported;
    if (reported !== undefined && !isJsonObject(reported)) throw new FleetError('INVALID_PAYLOAD', `DeviceAgent: get/accepted state.reported is not an object on ${m.topic}`, { status: 400, captureStack: false });
    if (got.version < this.#version) {
      this.#stale(got.version, 'get');
      return;
    }
    if (reported !== undefined) this.#reported = reported;
    this.#apply(desired ?? {}, got.version, 'get');
  }

  #onRejected(m: InboundMessage): void {
    const rejection = this.#decode(m, shadowErrorResponseSchema);
    // No shadow yet (404 on get): the device's reported state creates it.
    if (rejection.code === 404 && m.topic.endsWith('/get/rejected')) {
      this.#dirty = mergeConfig(this.#reported, this.#dirty ?? {});
      this.#reported = {};
      this.syncShadow();
      return;
    }
    this.#error(new FleetError(rejection.code === 409 ? 'VERSION_CONFLICT' : 'INVALID_REQUEST', `DeviceAgent: the shadow service refused a request (${rejection.code}): ${rejection.message}`, { status: rejection.code, captureStack: false }));
  }

  #stale(version: number, source: 'delta' | 'get'): void {
    this.#stats.staleDropped++;
    this.emit('stale', { version, applied: this.#version, source });
  }

  /** Reconciles the cloud's desired state with the configuration and applies the result. */
  #apply(remote: JsonObject, version: number, source: 'delta' | 'get'): void {
    const result = reconcileShadow({
      base: this.#base,
      local: this.#config,
      remote,
      ...(this.#resolve === undefined ? { owner: this.#owner as 'local' | 'remote' } : { resolve: this.#resolve }),
    });
    const before = this.#config;
    this.#config = result.merged;
    this.#base = remote;
    this.#version = version;
    if (result.conflicts.length > 0) this.emit('conflict', result.conflicts);
    const changed = changedKeys(before, this.#config);
    if (changed.length > 0) this.emit('config', { config: cloneJson(this.#config), changed, version, source });
    // Report every configuration value the shadow does not have as reported yet: the delta closes.
    const toReport: JsonObject = {};
    let any = false;
    for (const key of Object.keys(this.#config)) {
      if (!jsonEqual(this.#reported[key], this.#config[key])) {
        toReport[key] = this.#config[key] as JsonValue;
        any = true;
      }
    }
    if (any) this.report(toReport);
  }

  // ── commands ─────────────────────────────────────────────────────────────────────────────────

  /**
   * Registers the handler of command `name` (replacing an earlier one). Commands without a handler
   * are acknowledged `rejected` (`UNKNOWN_COMMAND`).
   *
   * @throws FleetError `INVALID_ARGUMENT` for an empty name or a handler that is not a function.
   */
  handle(name: string, handler: CommandHandler): this {
    if (typeof name !== 'string' || name.length === 0 || typeof handler !== 'function') {
      throw new FleetError('INVALID_ARGUMENT', `DeviceAgent.handle: pass a command name and a handler function, got ${describeValue(name)}`, { status: 400 });
    }
    (this.#handlers ??= new Map()).set(name, handler);
    return this;
  }

  readonly #onCommand = (m: InboundMessage): void => {
    let command: CommandRequestMessage;
    try {
      command = this.#decode(m, commandRequestWireSchema);
      const topicId = m.topic.slice(m.topic.lastIndexOf('/') + 1);
      if (topicId !== command.commandId) {
        throw new FleetError('INVALID_PAYLOAD', `DeviceAgent: command ${describeValue(command.commandId)} arrived on the topic of command ${describeValue(topicId)}`, { status: 400, captureStack: false });
      }
    } catch (error) {
      this.#error(asError(error, `DeviceAgent: the command on ${m.topic} could not be read`));
      return;
    }
    void this.#runCommand(command);
  };

  #ack(commandId: string, status: CommandAckStatus, extra: { result?: JsonValue; error?: { code: string; message: string } } = {}): CommandAckMessage {
    const ack: CommandAckMessage = { commandId, status, ts: this.#clock.now(), ...extra };
    this.#publish(commandAckTopic(this.#tenantId, this.#deviceId, commandId), ack);
    return ack;
  }

  async #runCommand(command: CommandRequestMessage): Promise<void> {
    const acks = (this.#acks ??= new Map());
    const seen = acks.get(command.commandId);
    if (seen !== undefined) {
      // A re-delivery (the service re-sends commands not acknowledged while the device was away).
      if (seen.status !== 'received') this.#publish(commandAckTopic(this.#tenantId, this.#deviceId, command.commandId), seen);
      return;
    }
    const remember = (ack: CommandAckMessage): void => {
      acks.set(command.commandId, ack);
      if (acks.size > ACK_MEMORY) acks.delete(acks.keys().next().value as string);
    };
    this.#stats.commands++;
    const finish = (status: CommandAckStatus, extra: { result?: JsonValue; error?: { code: string; message: string } }): void => {
      remember(this.#ack(command.commandId, status, extra));
      this.emit('command', { commandId: command.commandId, name: command.name, status, ...(extra.result === undefined ? {} : { result: extra.result }) });
    };
    if (command.expiresAt !== undefined && command.expiresAt < this.#clock.now()) {
      finish('rejected', { error: { code: 'EXPIRED', message: `the command expired at ${command.expiresAt}` } });
      return;
    }
    const handler = this.#handlers?.get(command.name) ?? this.#options.handlers?.get(command.name);
    if (handler === undefined) {
      finish('rejected', { error: { code: 'UNKNOWN_COMMAND', message: `this device has no handler for ${describeValue(command.name)}` } });
      return;
    }
    remember(this.#ack(command.commandId, 'received'));
    try {
      const result = await handler(command.params, { command, agent: this });
      finish('succeeded', result === undefined ? {} : { result });
    } catch (error) {
      const code = isFleetError(error) ? error.code : 'HANDLER_FAILED';
      const message = error instanceof Error ? error.message.slice(0, 1024) : 'the command handler failed';
      finish('failed', { error: { code, message } });
    }
  }

  // ── jobs ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Runs an update job: download, verify (size, SHA-256, signature by a trusted key), install into
   * the inactive slot, boot it and validate the boot with `evaluateBoot` (commit or roll back).
   * Resolves with the final report; never rejects; its reports are `job` events (they go over the
   * job channel only for jobs that came from it). Another job while one runs is `rejected` with
   * `BUSY` (a job from the channel meanwhile is not refused: the agent asks for its pending jobs
   * again when the running one ends).
   *
   * @throws FleetError `INVALID_OPERATION` when the agent has no `jobs` options.
   */
  async runJob(job: OtaJob): Promise<JobReport> {
    if (this.#ota === undefined) throw new FleetError('INVALID_OPERATION', 'DeviceAgent.runJob: pass jobs: { trustedSigningKeys, fetchImage } in the options', { status: 400 });
    const report = await this.#ota.run(job);
    this.#askAgain();
    return report;
  }

  // A job from the channel while another one runs is not refused (`rejected` would end it for good
  // in the cloud, e.g. the rollback job of the image still being validated): the agent asks for its
  // pending jobs again once the running one has ended.
  #onChannelJob(job: OtaJob): void {
    const busy = this.#ota?.busyWith;
    if (busy !== undefined && busy !== job.jobId) {
      this.#askWhenFree = true;
      return;
    }
    const seen = (this.#fromChannel ??= new Set());
    seen.delete(job.jobId);
    seen.add(job.jobId);
    if (seen.size > CHANNEL_JOB_MEMORY) seen.delete(seen.values().next().value as string);
    void this.runJob(job);
  }

  #askAgain(): void {
    if (!this.#askWhenFree || this.#ota?.busyWith !== undefined) return;
    this.#askWhenFree = false;
    // Offline, the next (re)connect asks anyway.
    if (this.#online) this.#channel?.requestPending().catch((e: unknown) => this.#error(asError(e, 'DeviceAgent: asking for pending jobs failed')));
  }

  #jobReport(report: JobReport): void {
    this.emit('job', report);
    // The running slot, not the report's version: a repeated final report (a job sent again after
    // a later job changed the firmware) carries the version of its own time.
    if (report.type === 'boot_confirmed' || report.type === 'rolled_back') this.report({ firmwareVersion: this.firmwareVersion });
    // A job run with runJob (an `ota_update` command, say) was not issued over the channel: its
    // reports are the caller's, the cloud's job wire has no such job.
    const channel = this.#channel;
    if (channel !== undefined && this.#fromChannel?.has(report.jobId) === true) channel.report(report).catch((e: unknown) => this.#error(asError(e, 'DeviceAgent: a job report could not be sent')));
  }

  // ── errors ───────────────────────────────────────────────────────────────────────────────────

  #error(error: FleetError): void {
    this.#stats.errors++;
    this.emit('error', error);
  }
}
