/**
 * `VirtualDevice`: the production device-management lab's ESP32 behaviour on a `DeviceAgent`, for
 * simulations and load tests on any transport and clock.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { JsonObject, JsonValue } from '../json.js';
import { DEFAULT_HEALTH_THRESHOLDS, type HealthStatus } from '../lifecycle/health.js';
import type { LifecycleState } from '../lifecycle/states.js';
import type { Codec } from '../protocol/codec.js';
import type { BootCheck } from '../rollout/boot.js';
import type { QoS, Transport } from '../transport/types.js';
import { DeviceAgent, type CommandHandler, type DeviceConflictPolicy } from './agent.js';
import { ESP32_COMMANDS, ESP32_LIFECYCLE_STATES, esp32StateToCore, type Esp32Command, type Esp32LifecycleState } from './esp32/enums.js';
import type { JobChannel } from './job-channel.js';
import type { TrustedSigningKeys } from './firmware-image.js';
import type { OtaJob } from './ota.js';
import type { DeviceCredentials } from './provisioning-client.js';
import { seededRandom, type RandomSource } from './random.js';

/** The lifecycle states as the lab firmware names them (the ESP32 protocol's {@link ESP32_LIFECYCLE_STATES}). */
export type LabState = Esp32LifecycleState;

/** Each lab state's name in the lifecycle core: the ESP32 protocol's table, one source for both. */
export const LAB_STATES: Readonly<Record<LabState, LifecycleState>> = Object.freeze(Object.fromEntries(ESP32_LIFECYCLE_STATES.map((s) => [s, esp32StateToCore(s)])) as Record<LabState, LifecycleState>);

/** The ten commands the lab firmware answers, each acknowledged: the ESP32 protocol's {@link ESP32_COMMANDS}, in its index order. */
export const VIRTUAL_DEVICE_COMMANDS: typeof ESP32_COMMANDS = ESP32_COMMANDS;

/** One of {@link VIRTUAL_DEVICE_COMMANDS}. */
export type LabCommand = Esp32Command;

// One set of handler functions for every virtual device (a fleet of 60,000 shares them): each finds its device by agent.
const DEVICES = new WeakMap<DeviceAgent, VirtualDevice>();
const LAB_HANDLERS: ReadonlyMap<string, CommandHandler> = new Map(
  VIRTUAL_DEVICE_COMMANDS.map((name): [string, CommandHandler] => [
    name,
    (params, { agent }) => {
      const device = DEVICES.get(agent);
      if (device === undefined) throw new FleetError('INVALID_OPERATION', `${name}: this agent belongs to no virtual device`);
      return device.runCommand(name, params);
    },
  ]),
);

/** The periods of the lab firmware's loops (ms). */
export interface VirtualDeviceIntervals {
  /** @defaultValue 10000 */
  readonly heartbeatMs: number;
  /** @defaultValue 30000 */
  readonly telemetryMs: number;
  /** @defaultValue 5000 */
  readonly healthCheckMs: number;
  /** @defaultValue 15000 */
  readonly shadowSyncMs: number;
  /** @defaultValue 60000 */
  readonly configCheckMs: number;
}

/** The lab firmware's periods. */
export const DEFAULT_VIRTUAL_INTERVALS: Readonly<VirtualDeviceIntervals> = Object.freeze({ heartbeatMs: 10_000, telemetryMs: 30_000, healthCheckMs: 5_000, shadowSyncMs: 15_000, configCheckMs: 60_000 });

/** The battery-drain model: a constant drain plus a cost per message sent. */
export interface BatteryModel {
  /** Charge at boot (%). @defaultValue 100 */
  readonly startPct: number;
  /** Drain per hour of uptime (%). @defaultValue 0.5 */
  readonly drainPctPerHour: number;
  /** Drain per heartbeat or telemetry message sent (%). @defaultValue 0.0005 */
  readonly txCostPct: number;
}

/**
 * What a firmware version does after an OTA slot switch: `good`; `fails-to-boot` (the watchdog
 * resets the device before it commits); `fails-health` (it boots, its health check fails); or a
 * failure probability (each boot fails its health check with that probability, drawn from the
 * device's seeded random source).
 */
export type FirmwareBehaviour = 'good' | 'fails-to-boot' | 'fails-health' | { readonly failureProbability: number };

/** Options of {@link VirtualDevice}. */
export interface VirtualDeviceOptions {
  /** The device's link to the broker. */
  readonly transport: Transport;
  /** The tenant. */
  readonly tenantId: string;
  /** The device id. */
  readonly deviceId: string;
  /** Time and timers. @defaultValue systemClock */
  readonly clock?: Clock;
  /** Seed of every random draw of this device (RSSI, heap, sensor readings, OTA failure draws). @defaultValue 1 */
  readonly seed?: number;
  /** Provision with these on first boot; without them the device starts provisioned (`ACTIVE`). */
  readonly credentials?: DeviceCredentials;
  /** Loop periods. @defaultValue {@link DEFAULT_VIRTUAL_INTERVALS} */
  readonly intervals?: Partial<VirtualDeviceIntervals>;
  /** Battery model. */
  readonly battery?: Partial<BatteryModel>;
  /** Mean RSSI (dBm); each health check draws ±3 dBm around it. @defaultValue -65 */
  readonly rssiDbm?: number;
  /** Free heap (bytes); each health check draws up to 8 KiB less. @defaultValue 180000 */
  readonly freeHeapBytes?: number;
  /** Telemetry slowdown in degraded mode (battery < 10 % while health is critical). @defaultValue 3 */
  readonly degradedSlowdown?: number;
  /** The factory firmware version. @defaultValue '1.0.0' */
  readonly firmwareVersion?: string;
  /** The hardware model it reports when it provisions (firmware images list the models they run on). @defaultValue 'esp32' */
  readonly hardware?: string;
  /** What each firmware version does after an OTA (a function of the version, or one for all). @defaultValue 'good' */
  readonly firmware?: FirmwareBehaviour | ((version: string) => FirmwareBehaviour);
  /** Signing keys OTA images must verify against; without them `ota_update` is refused. */
  readonly trustedSigningKeys?: TrustedSigningKeys;
  /** Downloads an OTA image. @defaultValue none (`ota_update` fails with DOWNLOAD_FAILED) */
  readonly fetchImage?: (job: OtaJob) => Promise<Uint8Array>;
  /** Where rollout jobs come from (see `JobChannel`). @defaultValue fleetkit's job wire on the transport */
  readonly jobChannel?: JobChannel | false;
  /** Boot validation window of an OTA. @defaultValue 60000 */
  readonly bootWindowMs?: number;
  /** Shadow conflict policy. @defaultValue 'cloud-wins' */
  readonly conflictPolicy?: DeviceConflictPolicy;
  /** Offline telemetry buffer size. @defaultValue 100 */
  readonly telemetryBufferSize?: number;
  /** Payload codec. @defaultValue jsonCodec */
  readonly codec?: Codec;
  /** QoS of everything published. @defaultValue 1 */
  readonly qos?: QoS;
}

const MIN_INTERVAL_MS = 1000;

function positiveInterval(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new FleetError('INVALID_ARGUMENT', `VirtualDevice: ${name} must be a positive number of ms, got ${describeValue(value)}`, { status: 400 });
  }
  return value;
}

/** Reads an interval from a command's parameters: `intervalMs`, `<kind>IntervalMs`, or seconds as `interval` / `<kind>Interval` (the lab's names). */
function intervalParam(kind: 'telemetry' | 'heartbeat', params: JsonObject): number {
  const ms = params['intervalMs'] ?? params[`${kind}IntervalMs`];
  const s = params['interval'] ?? params[`${kind}Interval`];
  const value = ms !== undefined ? ms : typeof s === 'number' ? s * 1000 : s;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < MIN_INTERVAL_MS || value > 86_400_000) {
    throw new FleetError('INVALID_ARGUMENT', `set_${kind}_interval: pass intervalMs (${MIN_INTERVAL_MS}–86400000) or interval in seconds, got ${describeValue(value)}`, { status: 400 });
  }
  return Math.round(value);
}

/** The core's thresholds, as the cloud's HealthMonitor rates the same vitals. */
function rate(batteryPct: number, rssiDbm: number, freeHeapBytes: number): HealthStatus {
  const t = DEFAULT_HEALTH_THRESHOLDS;
  if (batteryPct < t.batteryPct.critical || rssiDbm < t.rssiDbm.critical || freeHeapBytes < t.freeHeapBytes.critical) return 'critical';
  if (batteryPct < t.batteryPct.warning || rssiDbm < t.rssiDbm.warning || freeHeapBytes < t.freeHeapBytes.warning) return 'warning';
  return 'good';
}

/**
 * A virtual ESP32 as the device-management lab runs it: provisioning on first boot, heartbeat
 * every 10 s, telemetry every 30 s, health check every 5 s, shadow sync every 15 s, configuration
 * check every 60 s (all configurable), the lab's ten commands, health from battery / RSSI / free
 * heap, a degraded mode (battery < 10 % while health is critical → telemetry 3× slower), a
 * battery-drain model and injectable OTA firmware behaviour. Every random draw comes from a
 * source seeded with `seed`, so a run is reproducible.
 *
 * @example
 * ```ts
 * const device = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: 'esp32-001', seed: 1 });
 * await device.boot();
 * clock.advance(86_400_000); // a simulated day: 8,640 heartbeats, 2,880 telemetry messages
 * ```
 */
export class VirtualDevice {
  /** The agent underneath (its events, stats and shadow state). */
  readonly agent: DeviceAgent;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #options: VirtualDeviceOptions;
  readonly #healthEvery: number;
  readonly #syncEvery: number;
  readonly #configEvery: number;
  readonly #slowdown: number;
  readonly #battery: BatteryModel;
  #state: LabState;
  #bootedAt = 0;
  #poweredOnAt: number | undefined;
  #batteryPct: number;
  #rssiDbm: number;
  #freeHeapBytes: number;
  #health: HealthStatus = 'good';
  #degraded = false;
  #blinks = 0;
  #healthTimer: TimerHandle | undefined;
  #syncTimer: TimerHandle | undefined;
  #configTimer: TimerHandle | undefined;
  #failedBoot: boolean | undefined;

  /**
   * @param options - transport, identity, clock, seed and the lab behaviour ({@link VirtualDeviceOptions})
   * @throws FleetError `INVALID_ARGUMENT` for a bad interval, battery figure or seed.
   */
  constructor(options: VirtualDeviceOptions) {
    if (typeof options !== 'object' || options === null) throw new FleetError('INVALID_ARGUMENT', 'new VirtualDevice(options): pass { transport, tenantId, deviceId, clock?, seed? }', { status: 400 });
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#random = seededRandom(options.seed ?? 1);
    const iv = { ...DEFAULT_VIRTUAL_INTERVALS, ...options.intervals };
    for (const key of Object.keys(iv) as (keyof VirtualDeviceIntervals)[]) positiveInterval(`intervals.${key}`, iv[key]);
    this.#healthEvery = iv.healthCheckMs;
    this.#syncEvery = iv.shadowSyncMs;
    this.#configEvery = iv.configCheckMs;
    this.#slowdown = options.degradedSlowdown ?? 3;
    if (!Number.isFinite(this.#slowdown) || this.#slowdown < 1) throw new FleetError('INVALID_ARGUMENT', `VirtualDevice: degradedSlowdown must be ≥ 1, got ${describeValue(this.#slowdown)}`, { status: 400 });
    this.#battery = { startPct: 100, drainPctPerHour: 0.5, txCostPct: 0.0005, ...options.battery };
    const b = this.#battery;
    if (!(b.startPct >= 0 && b.startPct <= 100) || !(b.drainPctPerHour >= 0) || !(b.txCostPct >= 0)) {
      throw new FleetError('INVALID_ARGUMENT', 'VirtualDevice: battery.startPct must be 0–100, drainPctPerHour and txCostPct ≥ 0', { status: 400 });
    }
    this.#batteryPct = b.startPct;
    this.#rssiDbm = options.rssiDbm ?? -65;
    this.#freeHeapBytes = options.freeHeapBytes ?? 180_000;
    this.#state = options.credentials === undefined ? 'ACTIVE' : 'UNPROVISIONED';
    const keys = options.trustedSigningKeys;
    this.agent = new DeviceAgent({
      transport: options.transport,
      clock: this.#clock,
      tenantId: options.tenantId,
      deviceId: options.deviceId,
      heartbeatIntervalMs: iv.heartbeatMs,
      telemetryIntervalMs: iv.telemetryMs,
      sampleTelemetry: this.#sample,
      vitals: this.#vitals,
      firmwareVersion: options.firmwareVersion ?? '1.0.0',
      hardware: options.hardware ?? 'esp32',
      telemetryBufferSize: options.telemetryBufferSize ?? 100,
      random: this.#random,
      handlers: LAB_HANDLERS,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.conflictPolicy === undefined ? {} : { conflictPolicy: options.conflictPolicy }),
      ...(options.codec === undefined ? {} : { codec: options.codec }),
      ...(options.qos === undefined ? {} : { qos: options.qos }),
      ...(keys === undefined
        ? {}
        : {
            jobs: {
              trustedSigningKeys: keys,
              fetchImage: options.fetchImage ?? (() => Promise.reject(new FleetError('NOT_CONNECTED', 'this virtual device has no image source (fetchImage)'))),
              runtime: { boot: (v) => this.#boots(v), checks: (v, at, now) => this.#bootChecks(v, at, now) },
              bootWindowMs: options.bootWindowMs ?? 60_000,
              bootCheckIntervalMs: this.#healthEvery,
              ...(options.jobChannel === undefined ? {} : { channel: options.jobChannel }),
            },
          }),
    });
    this.agent.on('config', (e) => this.#onConfig(e.config));
    DEVICES.set(this.agent, this);
  }

  // ── state ────────────────────────────────────────────────────────────────────────────────────

  /** The lab's lifecycle state. */
  get state(): LabState {
    return this.#state;
  }

  /** The same state in the lifecycle core's names. */
  get lifecycleState(): LifecycleState {
    return LAB_STATES[this.#state];
  }

  /** Health from the last health check. */
  get health(): HealthStatus {
    return this.#health;
  }

  /** True in degraded mode (battery < 10 % while health is critical): telemetry runs slower. */
  get degraded(): boolean {
    return this.#degraded;
  }

  /** Battery charge (%) at the last health check. */
  get batteryPct(): number {
    return this.#batteryPct;
  }

  /** Times the LED blinked (`led_blink`). */
  get blinks(): number {
    return this.#blinks;
  }

  // ── boot ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Boots the device: connects, provisions on first boot (when it has credentials), then starts
   * the agent and the health, shadow sync and configuration check loops.
   *
   * @throws FleetError the provisioning refusal or `TIMEOUT` (the device stays `UNPROVISIONED`);
   *   `INVALID_OPERATION` for a decommissioned device.
   */
  async boot(): Promise<void> {
    if (this.#state === 'DECOMMISSIONED') throw new FleetError('INVALID_OPERATION', 'VirtualDevice.boot: the device is decommissioned', { status: 409 });
    if (this.#state === 'UNPROVISIONED') {
      this.#state = 'PROVISIONING';
      try {
        const t = this.#options.transport;
        if (t.state !== 'online') await t.connect();
        await this.agent.provision();
      } catch (error) {
        this.#state = 'UNPROVISIONED';
        throw error;
      }
      this.#state = 'ACTIVE';
    }
    this.#bootedAt = this.#clock.now();
    this.#poweredOnAt ??= this.#bootedAt;
    await this.agent.start();
    this.#startLoops();
  }

  /** Stops every loop and the agent (the transport stays as it is). */
  async shutdown(): Promise<void> {
    this.#stopLoops();
    await this.agent.stop();
  }

  #startLoops(): void {
    this.#stopLoops();
    const c = this.#clock;
    let healthDue = c.now() + this.#healthEvery;
    const health = (): void => {
      healthDue += this.#healthEvery;
      this.#healthTimer = c.setTimeout(health, healthDue - c.now());
      this.checkHealth();
    };
    this.#healthTimer = c.setTimeout(health, this.#healthEvery);
    let syncDue = c.now() + this.#syncEvery;
    const sync = (): void => {
      syncDue += this.#syncEvery;
      this.#syncTimer = c.setTimeout(sync, syncDue - c.now());
      this.agent.report(this.#reportedState());
    };
    this.#syncTimer = c.setTimeout(sync, this.#syncEvery);
    let configDue = c.now() + this.#configEvery;
    const config = (): void => {
      configDue += this.#configEvery;
      this.#configTimer = c.setTimeout(config, configDue - c.now());
      if (this.agent.online) this.agent.requestShadow();
    };
    this.#configTimer = c.setTimeout(config, this.#configEvery);
  }

  #stopLoops(): void {
    const c = this.#clock;
    if (this.#healthTimer !== undefined) c.clearTimeout(this.#healthTimer);
    if (this.#syncTimer !== undefined) c.clearTimeout(this.#syncTimer);
    if (this.#configTimer !== undefined) c.clearTimeout(this.#configTimer);
    this.#healthTimer = this.#syncTimer = this.#configTimer = undefined;
  }

  // ── health ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Runs one health check now (the loop runs it every `healthCheckMs`): drains the battery by the
   * model, draws RSSI and free heap, rates them with the core's default thresholds and enters or
   * leaves degraded mode.
   */
  checkHealth(): HealthStatus {
    const b = this.#battery;
    const hours = (this.#clock.now() - (this.#poweredOnAt ?? this.#clock.now())) / 3_600_000;
    this.#batteryPct = Math.max(0, Math.min(100, b.startPct - b.drainPctPerHour * hours - b.txCostPct * this.agent.messagesSent));
    const rssi = (this.#options.rssiDbm ?? -65) + (this.#random() - 0.5) * 6;
    this.#rssiDbm = Math.round(rssi);
    this.#freeHeapBytes = Math.round((this.#options.freeHeapBytes ?? 180_000) - this.#random() * 8192);
    this.#health = rate(this.#batteryPct, this.#rssiDbm, this.#freeHeapBytes);
    const degraded = this.#batteryPct < 10 && this.#health === 'critical';
    if (degraded !== this.#degraded) {
      this.#degraded = degraded;
      this.agent.setTelemetrySlowdown(degraded ? this.#slowdown : 1);
      if (degraded && this.#state === 'ACTIVE') this.#state = 'DEGRADED';
      else if (!degraded && this.#state === 'DEGRADED') this.#state = 'ACTIVE';
    }
    return this.#health;
  }

  readonly #vitals = (): { batteryPct: number; rssiDbm: number; freeHeapBytes: number } => ({
    batteryPct: Math.round(this.#batteryPct * 10) / 10,
    rssiDbm: this.#rssiDbm,
    freeHeapBytes: this.#freeHeapBytes,
  });

  // Telemetry is suspended in maintenance and after decommissioning.
  readonly #sample = (): JsonObject | undefined => {
    if (this.#state === 'MAINTENANCE' || this.#state === 'DECOMMISSIONED') return undefined;
    return { temperatureC: Math.round((21 + this.#random() * 4) * 10) / 10, humidityPct: Math.round(40 + this.#random() * 20), batteryPct: Math.round(this.#batteryPct * 10) / 10 };
  };

  #reportedState(): JsonObject {
    return {
      state: this.#state,
      health: this.#health,
      batteryPct: Math.round(this.#batteryPct),
      firmwareVersion: this.agent.firmwareVersion,
      telemetryIntervalMs: this.agent.telemetryIntervalMs,
      heartbeatIntervalMs: this.agent.heartbeatIntervalMs,
    };
  }

  // ── configuration ────────────────────────────────────────────────────────────────────────────

  #onConfig(config: JsonObject): void {
    const pick = (kind: 'telemetry' | 'heartbeat'): number | undefined => {
      const ms = config[`${kind}IntervalMs`];
      const s = config[`${kind}Interval`];
      const v = typeof ms === 'number' ? ms : typeof s === 'number' ? s * 1000 : undefined;
      return v !== undefined && Number.isFinite(v) && v >= MIN_INTERVAL_MS && v <= 86_400_000 ? Math.round(v) : undefined;
    };
    const telemetry = pick('telemetry');
    if (telemetry !== undefined && telemetry !== this.agent.telemetryIntervalMs) this.agent.setTelemetryInterval(telemetry);
    const heartbeat = pick('heartbeat');
    if (heartbeat !== undefined && heartbeat !== this.agent.heartbeatIntervalMs) this.agent.setHeartbeatInterval(heartbeat);
  }

  // ── OTA firmware behaviour ───────────────────────────────────────────────────────────────────

  #behaviour(version: string): FirmwareBehaviour {
    const f = this.#options.firmware ?? 'good';
    return typeof f === 'function' ? f(version) : f;
  }

  #boots(version: string): boolean {
    const b = this.#behaviour(version);
    this.#failedBoot = typeof b === 'object' ? this.#random() < b.failureProbability : b === 'fails-health';
    return b !== 'fails-to-boot';
  }

  // The new image's health is known from its first health check after the boot, one health-check
  // period later (as the lab firmware's loop runs it): until then the boot is being validated.
  #bootChecks(_version: string, bootedAt: number, now: number): BootCheck[] {
    const health = now < bootedAt + this.#healthEvery ? 'pending' : this.#failedBoot !== true && this.checkHealth() !== 'critical' ? 'pass' : 'fail';
    return [
      { name: 'mqtt-connected', status: this.agent.online ? 'pass' : 'pending', at: now },
      { name: 'health', status: health, at: now },
    ];
  }

  // ── commands ─────────────────────────────────────────────────────────────────────────────────

  /** @internal Runs one of the lab's commands (the handlers shared by every virtual device call it). */
  runCommand(name: LabCommand, params: JsonObject): JsonValue | Promise<JsonValue> {
    const a = this.agent;
    switch (name) {
      case 'diagnostics':
        return {
          state: this.#state,
          health: this.#health,
          ...this.#vitals(),
          uptimeS: Math.floor((this.#clock.now() - this.#bootedAt) / 1000),
          firmwareVersion: a.firmwareVersion,
          telemetryIntervalMs: a.telemetryIntervalMs,
          heartbeatIntervalMs: a.heartbeatIntervalMs,
          degraded: this.#degraded,
        };
      case 'led_blink': {
        const times = params['times'] ?? 3;
        if (typeof times !== 'number' || !Number.isSafeInteger(times) || times < 1 || times > 100) {
          throw new FleetError('INVALID_ARGUMENT', `led_blink: times must be an integer 1–100, got ${describeValue(times)}`, { status: 400 });
        }
        this.#blinks += times;
        return { blinked: times };
      }
      case 'sensor_read':
        return this.#sampleNow();
      case 'enter_maintenance':
        this.#require(['ACTIVE', 'DEGRADED', 'MAINTENANCE'], name);
        this.#state = 'MAINTENANCE';
        a.report({ state: this.#state });
        return { state: this.#state };
      case 'exit_maintenance':
        this.#require(['MAINTENANCE'], name);
        this.#state = this.#degraded ? 'DEGRADED' : 'ACTIVE';
        a.report({ state: this.#state });
        return { state: this.#state };
      case 'set_telemetry_interval': {
        const ms = intervalParam('telemetry', params);
        a.setTelemetryInterval(ms);
        a.updateConfig({ telemetryIntervalMs: ms });
        return { telemetryIntervalMs: ms };
      }
      case 'set_heartbeat_interval': {
        const ms = intervalParam('heartbeat', params);
        a.setHeartbeatInterval(ms);
        a.updateConfig({ heartbeatIntervalMs: ms });
        return { heartbeatIntervalMs: ms };
      }
      case 'reboot':
        // Acknowledged first, then the device restarts its loops as after a power cycle.
        this.#clock.setTimeout(() => this.#reboot(), 0);
        return { rebooting: true };
      case 'ota_update':
        return this.#ota(params);
      case 'decommission':
        this.#state = 'DECOMMISSIONED';
        a.report({ state: this.#state });
        this.#clock.setTimeout(() => void this.shutdown(), 0);
        return { state: this.#state };
    }
  }

  async #ota(params: JsonObject): Promise<JsonValue> {
    this.#require(['ACTIVE', 'DEGRADED', 'MAINTENANCE'], 'ota_update');
    const report = await this.agent.runJob(this.#otaJob(params));
    if (report.type !== 'boot_confirmed') {
      throw new FleetError('INVALID_OPERATION', `ota_update ${report.type}: ${report.error?.message ?? ''}`.trim(), { details: { report: { ...report } } });
    }
    return { ...report } as unknown as JsonValue;
  }

  #sampleNow(): JsonObject {
    return { temperatureC: Math.round((21 + this.#random() * 4) * 10) / 10, humidityPct: Math.round(40 + this.#random() * 20), batteryPct: Math.round(this.#batteryPct * 10) / 10 };
  }

  #require(states: readonly LabState[], command: string): void {
    if (!states.includes(this.#state)) throw new FleetError('INVALID_TRANSITION', `${command} is not possible in state ${this.#state}`, { status: 409 });
  }

  #otaJob(params: JsonObject): OtaJob {
    const f = params['firmware'] ?? params;
    if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new FleetError('INVALID_ARGUMENT', 'ota_update: pass { version, sha256, sizeBytes, signature, url? }', { status: 400 });
    const { version, sha256, sizeBytes, signature, url, keyId } = f as Record<string, JsonValue | undefined>;
    if (typeof version !== 'string' || typeof sha256 !== 'string' || typeof sizeBytes !== 'number') {
      throw new FleetError('INVALID_ARGUMENT', 'ota_update: version and sha256 (strings) and sizeBytes (a number) are required', { status: 400 });
    }
    // A job id is 1–64 of [a-zA-Z0-9:_-]; a version has dots.
    const jobId = typeof params['jobId'] === 'string' ? params['jobId'] : `ota-${version.replace(/[^a-zA-Z0-9:_-]/g, '_')}`.slice(0, 64);
    return {
      jobId,
      firmware: { version, sha256, sizeBytes, ...(typeof signature === 'string' ? { signature } : {}), ...(typeof url === 'string' ? { url } : {}), ...(typeof keyId === 'string' ? { keyId } : {}) },
    };
  }

  #reboot(): void {
    if (this.#state === 'DECOMMISSIONED') return;
    this.#bootedAt = this.#clock.now();
    // The loops and the agent's timers restart from now; the configuration survives (as in NVS).
    this.agent.setHeartbeatInterval(this.agent.heartbeatIntervalMs);
    this.agent.setTelemetryInterval(this.agent.telemetryIntervalMs);
    this.#startLoops();
    if (this.agent.online) this.agent.requestShadow();
  }
}

