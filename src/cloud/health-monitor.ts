/**
 * `HealthMonitor`: heartbeats and telemetry in; health, presence, lifecycle events, fleet
 * statistics and alerts out — every judgement made by the lifecycle core.
 */
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError, isFleetError } from '../errors.js';
import { evaluateHealth, healthThresholdsSchema, type HealthEvaluation, type HealthSample, type HealthStatus, type HealthThresholds } from '../lifecycle/health.js';
import { nextHealthEvent } from '../lifecycle/health-event.js';
import { DEFAULT_HEARTBEAT_OPTIONS, heartbeatStatus, type HeartbeatOptions } from '../lifecycle/heartbeat.js';
import { certificatesExpiring, type RotationPlan } from '../lifecycle/rotation.js';
import type { LifecycleState } from '../lifecycle/states.js';
import { LatencySketch, MAX_LATENCY_MS, type LatencyPercentiles } from '../monitor/sketch.js';
import { jsonCodec } from '../protocol/codec.js';
import { heartbeatMessageSchema, telemetryMessageSchema } from '../protocol/schemas.js';
import { safeParseTopic } from '../protocol/topics.js';
import type { DeviceStore, RegisteredDevice } from '../store/device-store.js';
import type { PresenceRaised, PresenceStore, PresenceTouched } from '../store/presence-store.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import { QuotaEnforcer } from '../tenancy/enforcer.js';
import type { InboundMessage, QoS, Transport, Unsubscribe } from '../transport/types.js';
import { optionsOf, shareGroupFilter } from './arguments.js';
import { DeadlineHeap } from './deadline-heap.js';
import type { DeviceAt, DeviceVitals, FleetHealthStats, HealthAlert, HealthMonitorEvents, NetworkStats } from './health-events.js';
import type { FleetRegistry } from './registry.js';
import type { DeviceTransitionedEvent } from './registry-events.js';
import { ThingLanes } from './thing-lanes.js';

/**
 * Whether a device is online, and a signal when it comes online: what a command service needs to
 * queue commands for offline devices and deliver them when they come back.
 */
export interface DevicePresence {
  /** True when the device was heard from within its heartbeat interval + grace. */
  isOnline(tenantId: string, deviceId: string): boolean;
  /** Calls `listener` whenever a device comes online; returns a function that stops it. */
  onOnline(listener: (event: DeviceAt) => void): () => void;
}

/** What {@link HealthMonitor.status} reports for a device. */
export interface DeviceHealthStatus {
  /** When it was last heard from (epoch ms). */
  readonly lastSeen: number;
  /** Its latest health status, if any vitals were rated. */
  readonly health: HealthStatus | undefined;
  /** Heard from within the heartbeat interval + grace. */
  readonly online: boolean;
  /** Silent for `silentAfterMs` or more. */
  readonly silent: boolean;
}

/**
 * Whether this instance leads now: a `LeaderElection` of `fleetkit/postgres` is one (its
 * `isLeader` turns false at its lease's expiry on its own clock).
 */
export interface LeaderSignal {
  /** True while this instance holds the lease. */
  readonly isLeader: boolean;
}

/**
 * The shared presence mode of {@link HealthMonitor} (option `presence`): several instances that
 * split the heartbeats (`shareGroup`) keep the state that decides silence in one
 * {@link PresenceStore}, and one of them — the leader — sweeps it.
 */
export interface SharedPresenceOptions {
  /** Where every instance records when devices were heard from (`PostgresPresenceStore`, or `MemoryPresenceStore` in one process). */
  readonly store: PresenceStore;
  /** Sweep only while this says so (a `LeaderElection`). @defaultValue none: this instance always sweeps */
  readonly leader?: LeaderSignal;
  /** How often the devices heard since the last flush are written, as one batched write per tenant (ms). @defaultValue 5000 */
  readonly flushEveryMs?: number;
  /** How often the leader sweeps: flags the devices that passed a silence limit (ms). @defaultValue 5000 */
  readonly sweepEveryMs?: number;
  /**
   * How late a heartbeat may reach the store after it arrived: the flush interval, a flush's
   * commit time and the difference between the instances' clocks (ms). A device is flagged only
   * when its stored `lastSeen` is older than the limit by this much more, so a heartbeat still
   * waiting in another instance's flush never makes it offline or silent.
   * @defaultValue flushEveryMs + 2000
   */
  readonly toleranceMs?: number;
}

/** Options of {@link HealthMonitor}. */
export interface HealthMonitorOptions {
  /** Where heartbeats and telemetry arrive (connect it yourself). */
  readonly transport: Transport;
  /** The registry store (reads: locate, records, statistics). */
  readonly devices: DeviceStore;
  /** Lifecycle transitions and registry updates go through it (and so through the core and the effect runner). */
  readonly registry: FleetRegistry;
  /** Time and timers. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** Heartbeat interval, grace, misses to degrade, silence limit. @defaultValue the core's (60 s, 15 s, 3, 10 min) */
  readonly heartbeat?: Omit<HeartbeatOptions, 'state'>;
  /** Health thresholds. @defaultValue the core's */
  readonly thresholds?: HealthThresholds;
  /**
   * Certificate expiry checks: devices whose certificate ends within `withinMs` raise a
   * `certificate-expiring` alert (once per certificate), every `checkEveryMs`, for the tenants the
   * monitor has heard from and those listed in `tenants`. `false` turns the periodic check off
   * ({@link HealthMonitor.certificatesExpiring} still works).
   * @defaultValue `{ withinMs: 30 days, checkEveryMs: 1 day }`
   */
  readonly certificates?: false | { readonly withinMs?: number; readonly checkEveryMs?: number; readonly tenants?: readonly string[] };
  /** QoS of the subscriptions. @defaultValue 1 */
  readonly qos?: QoS;
  /**
   * Per-tenant (and per-device) message quotas: every heartbeat and telemetry message of a known
   * device is admitted against the `messages` rate. A throttled message is counted (the meter's
   * `throttled`, {@link NetworkStats.throttled}, a `message:throttled` event) and not processed:
   * it does not move presence, health or firmware. No notice is sent to the device (a reply per
   * dropped message would add broker load exactly while the tenant is over its quota; the device
   * learns of it from its operator or its shadow's 429s). Admitted messages and their bytes are
   * metered on it. @defaultValue none (no quota, no metering)
   */
  readonly quotas?: QuotaEnforcer;
  /**
   * Length of the window the message-latency percentiles cover: the sketch of the current and the
   * previous window are merged, so percentiles cover between one and two windows.
   * @defaultValue 300000 (5 minutes)
   */
  readonly latencyWindowMs?: number;
  /**
   * Shared presence: heartbeat state in a {@link PresenceStore}, the silence sweep on one leader,
   * so several instances can split the heartbeats. See {@link SharedPresenceOptions}.
   * @defaultValue none: presence is this process's own (one instance hears every heartbeat)
   */
  readonly presence?: SharedPresenceOptions;
  /**
   * Subscribe through the MQTT shared subscription `$share/{shareGroup}/…`, so the instances of the
   * group split the heartbeats and telemetry. Only with `presence` (each instance alone would see
   * part of every device's heartbeats). @defaultValue none: every heartbeat
   */
  readonly shareGroup?: string;
}

interface Shared {
  readonly store: PresenceStore;
  readonly leader: LeaderSignal | undefined;
  readonly flushEveryMs: number;
  readonly sweepEveryMs: number;
  readonly toleranceMs: number;
}

/** The level (1-based) a device reaches in the store when it passes each limit. */
interface Levels {
  readonly offline: number;
  readonly degrade: number;
  readonly silent: number;
}

// Per-device flags, packed into one small integer.
const OFFLINE = 1;
const SILENT = 2;
const SCHEDULED = 4;
const SYNC_QUEUED = 8;
const TRANSITIONING = 16;

const HEALTH_CODES: readonly (HealthStatus | undefined)[] = [undefined, 'good', 'warning', 'critical'];
const healthCode = (s: HealthStatus | undefined): number => HEALTH_CODES.indexOf(s);

/**
 * What the monitor keeps per device: a handful of fields (strings are shared with the registry
 * records), about 150 bytes with the latest battery, RSSI and sequence numbers. Everything else is
 * derived on demand.
 */
class Tracked {
  constructor(
    readonly tenantId: string,
    public state: LifecycleState,
    public lastSeen: number,
    public health: number,
    public firmware: string | undefined,
    public flags: number,
  ) {}
  /** Latest battery, % (NaN until reported). */
  battery = NaN;
  /** Latest RSSI, dBm (NaN until reported). */
  rssi = NaN;
  /** Latest heartbeat and telemetry sequence numbers (−1 until seen). */
  hbSeq = -1;
  tmSeq = -1;
}

interface TenantCounts {
  monitored: number;
  online: number;
  silent: number;
  rejected: number;
  heartbeats: number;
  telemetry: number;
  bytes: number;
  throttled: number;
  lost: number;
  latency: LatencySketch | undefined;
  previousLatency: LatencySketch | undefined;
  latencySince: number;
}

const DAY = 86_400_000;
const ROUTE_CACHE_SIZE = 100_000;

type Kind = 'heartbeat' | 'telemetry';
interface Route {
  readonly kind: Kind;
  readonly tenantId: string;
  readonly deviceId: string;
}

/**
 * Watches the fleet's heartbeats (`dt/{tenantId}/{deviceId}/heartbeat`) and telemetry
 * (`…/telemetry`):
 *
 * - **Presence.** A device is online while it was heard from (heartbeat or telemetry) within the
 *   heartbeat interval + grace; when that passes it goes offline (`device:offline`), and the next
 *   message brings it back (`device:online`). After `silentAfterMs` (10 minutes) it is flagged
 *   silent (a `device-silent` alert), exactly at that virtual time.
 * - **Health.** Vitals in a heartbeat (`batteryPct`, `rssiDbm`, `freeHeapBytes`) or in telemetry
 *   `values` are rated by the core's `evaluateHealth`; a change of status is an alert and is written
 *   to the registry (as is a new `firmwareVersion`).
 * - **Lifecycle.** `heartbeatStatus` and `nextHealthEvent` decide; the monitor drives
 *   `health_check_failed` (an active device missing `missesToDegrade` heartbeats, or critical) and
 *   `auto_recovery` (a degraded device on time and healthy again) through the registry, so the core
 *   and the effect runner write the record and the audit entry.
 * - **Statistics** per tenant: the registry's counts by state, health and firmware plus online,
 *   silent and monitored devices. **Certificates** expiring within a horizon raise alerts and give
 *   the core's rotation plan.
 *
 * All timing uses the injected `Clock` (one timer for all devices), so it runs on a
 * `SimulatedClock`. A malformed message, or one naming another tenant's device, is reported
 * (`message:rejected`) and changes nothing. It implements {@link DevicePresence} for the command
 * service.
 *
 * @example
 * ```ts
 * const health = new HealthMonitor({ transport, devices: stores.devices, registry, clock });
 * health.on('alert', (a) => console.log(a.type, a.deviceId));
 * await health.start();
 * ```
 */
export class HealthMonitor extends EventEmitter<HealthMonitorEvents> implements DevicePresence {
  readonly #transport: Transport;
  readonly #devices: DeviceStore;
  readonly #registry: FleetRegistry;
  readonly #clock: Clock;
  readonly #hb: Readonly<{ intervalMs: number; graceMs: number; missesToDegrade: number; silentAfterMs: number }>;
  readonly #offsets: readonly number[];
  readonly #thresholds: HealthThresholds;
  readonly #certs: { readonly withinMs: number; readonly checkEveryMs: number; readonly tenants: readonly string[] } | undefined;
  readonly #qos: QoS;
  readonly #quotas: QuotaEnforcer | undefined;
  readonly #latencyWindowMs: number;
  readonly #tracked = new Map<string, Tracked>();
  readonly #pending = new Map<string, InboundMessage[]>();
  readonly #counts = new Map<string, TenantCounts>();
  readonly #alertedCerts = new Map<string, Set<string>>();
  readonly #heap = new DeadlineHeap();
  readonly #lanes: ThingLanes;
  #routes = new Map<string, Route>();
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #certTimer: TimerHandle | undefined;
  #subscriptions: Unsubscribe[] = [];
  readonly #offRegistry: () => void;
  readonly #offEffects: () => void;
  readonly #shared: Shared | undefined;
  readonly #levels: Levels;
  readonly #share: (filter: string) => string;
  #unflushed = new Map<string, Map<string, number>>();
  // Devices this instance (the leader) flagged offline, with their tenant: what isOnline answers from.
  readonly #offlineKnown = new Map<string, string>();
  #flushTimer: TimerHandle | undefined;
  #sweepTimer: TimerHandle | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #sweeping: Promise<void> = Promise.resolve();

  /**
   * @param options - transport, registry store and service, clock, heartbeat and health settings
   * @throws FleetError `INVALID_ARGUMENT` for a missing transport, store or registry, or bad settings.
   */
  constructor(options: HealthMonitorOptions) {
    super();
    const bad = (what: string, cause?: unknown): never => {
      throw new FleetError('INVALID_ARGUMENT', `new HealthMonitor: ${what}`, { status: 400, cause });
    };
    if (typeof options !== 'object' || options === null) bad('pass { transport, devices, registry, … }');
    if (typeof options.transport?.subscribe !== 'function') bad('transport must be a Transport');
    if (typeof options.devices?.locate !== 'function') bad('devices must be a DeviceStore');
    if (typeof options.registry?.transition !== 'function') bad('registry must be a FleetRegistry');
    const hb = { ...DEFAULT_HEARTBEAT_OPTIONS, ...options.heartbeat };
    try {
      heartbeatStatus(0, 0, hb); // the core validates the settings
    } catch (e) {
      bad('invalid heartbeat settings (intervalMs > 0, graceMs ≥ 0, missesToDegrade an integer ≥ 1, silentAfterMs > 0)', e);
    }
    const thresholds = options.thresholds ?? {};
    if (!healthThresholdsSchema.safeParse(thresholds).success) bad('invalid health thresholds (critical must be ≤ warning)');
    const certs = options.certificates === false ? undefined : { withinMs: 30 * DAY, checkEveryMs: DAY, tenants: [], ...options.certificates };
    if (certs !== undefined && (!(certs.withinMs >= 0) || !(certs.checkEveryMs > 0))) bad('certificates.withinMs must be ≥ 0 and checkEveryMs > 0');
    this.#transport = options.transport;
    this.#devices = options.devices;
    this.#registry = options.registry;
    this.#clock = options.clock ?? systemClock;
    this.#hb = hb;
    // The moments after a device was last heard from at which the core's verdict can change: it
    // goes offline (first missed beat), it may degrade, it becomes silent.
    const offline = hb.intervalMs + hb.graceMs + 1;
    const degrade = Math.max(offline, hb.missesToDegrade * hb.intervalMs + hb.graceMs);
    this.#offsets = [offline, degrade, hb.silentAfterMs].sort((a, b) => a - b);
    this.#levels = { offline: this.#offsets.indexOf(offline) + 1, degrade: this.#offsets.indexOf(degrade) + 1, silent: this.#offsets.indexOf(hb.silentAfterMs) + 1 };
    this.#shared = sharedOf(options.presence, bad);
    if (options.shareGroup !== undefined && this.#shared === undefined) bad('shareGroup needs presence: { store } (an instance that hears only part of the heartbeats cannot decide silence alone)');
    this.#share = shareGroupFilter('new HealthMonitor', options.shareGroup);
    this.#thresholds = thresholds;
    this.#certs = certs;
    this.#qos = options.qos ?? 1;
    if (options.quotas !== undefined && !(options.quotas instanceof QuotaEnforcer)) bad('quotas must be a QuotaEnforcer (fleetkit/tenancy)');
    this.#quotas = options.quotas;
    const latencyWindowMs = options.latencyWindowMs ?? 300_000;
    if (!(typeof latencyWindowMs === 'number' && latencyWindowMs > 0 && Number.isFinite(latencyWindowMs))) bad(`latencyWindowMs must be a positive number of ms, got ${describeValue(latencyWindowMs)}`);
    this.#latencyWindowMs = latencyWindowMs;
    this.#lanes = new ThingLanes(1_000, (e) => this.#failed(e));
    this.#offRegistry = listen(this.#registry, (e) => {
      if (e.to === null || e.to === 'decommissioned') this.forget(e.deviceId);
      else {
        const t = this.#tracked.get(e.deviceId);
        if (t !== undefined) t.state = e.to;
      }
    });
    this.#offEffects = this.#registry.effects.use('remove-from-monitoring', async (ctx, effect) => {
      this.forget(effect.deviceId);
      await this.#shared?.store.remove(ctx, effect.deviceId);
    });
  }

  /** Subscribes to `dt/+/+/heartbeat` and `dt/+/+/telemetry` and starts the certificate checks. Idempotent. */
  async start(): Promise<void> {
    if (this.#subscriptions.length > 0) return;
    for (const filter of ['dt/+/+/heartbeat', 'dt/+/+/telemetry']) this.#subscriptions.push(await this.#transport.subscribe(this.#share(filter), this.#onMessage, { qos: this.#qos }));
    if (this.#certs !== undefined) this.#certTimer = this.#clock.setTimeout(this.#certTick, this.#certs.checkEveryMs);
    const shared = this.#shared;
    if (shared !== undefined) {
      this.#flushTimer = this.#clock.setTimeout(this.#flushTick, shared.flushEveryMs);
      this.#sweepTimer = this.#clock.setTimeout(this.#sweepTick, shared.sweepEveryMs);
    }
  }

  /** Unsubscribes, stops the timers and waits for pending registry writes. */
  async stop(): Promise<void> {
    const subs = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.all(subs.map((off) => off()));
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#certTimer !== undefined) this.#clock.clearTimeout(this.#certTimer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#certTimer = undefined;
    if (this.#flushTimer !== undefined) this.#clock.clearTimeout(this.#flushTimer);
    if (this.#sweepTimer !== undefined) this.#clock.clearTimeout(this.#sweepTimer);
    this.#flushTimer = undefined;
    this.#sweepTimer = undefined;
    await this.#sweeping;
    if (this.#shared !== undefined) await this.flush(); // what this instance heard is not lost
    await this.#lanes.idle();
  }

  /** Stops watching for good: {@link stop}, and detaches from the registry and its effect runner. */
  async close(): Promise<void> {
    await this.stop();
    this.#offRegistry();
    this.#offEffects();
  }

  /** Number of devices being watched. */
  get size(): number {
    return this.#tracked.size;
  }

  /** Number of devices with registry writes (health, transitions) queued or running. */
  get busyDevices(): number {
    return this.#lanes.active;
  }

  /** {@inheritDoc DevicePresence.isOnline} */
  isOnline(tenantId: string, deviceId: string): boolean {
    const t = this.#tracked.get(deviceId);
    if (this.#shared !== undefined) {
      // Shared presence: online unless known offline fleet-wide (flagged by this instance's sweep
      // and not heard from since) — a device another instance hears is online here too.
      if (t !== undefined && (t.tenantId !== tenantId || t.state === 'decommissioned')) return false;
      return this.#offlineKnown.get(deviceId) !== tenantId;
    }
    return t !== undefined && t.tenantId === tenantId && t.state !== 'decommissioned' && (t.flags & OFFLINE) === 0;
  }

  /** {@inheritDoc DevicePresence.onOnline} */
  onOnline(listener: (event: DeviceAt) => void): () => void {
    this.on('device:online', listener);
    return () => {
      this.off('device:online', listener);
    };
  }

  /**
   * What the monitor knows of a device: last heard from, health, presence and silence;
   * `undefined` for a device of the tenant the monitor has not heard from (or an unknown id).
   *
   * @throws FleetError `TENANT_MISMATCH` when the device belongs to another tenant — also before
   *   the monitor heard from it, so an answer never says whether another tenant's device is watched.
   */
  async status(ctx: TenantContext, deviceId: string): Promise<DeviceHealthStatus | undefined> {
    const api = 'HealthMonitor.status';
    const tenantId = tenantOf(ctx, api);
    const t = this.#tracked.get(deviceId);
    const owner = t?.tenantId ?? (await this.#devices.locate(deviceId))?.tenantId;
    if (owner !== undefined && owner !== tenantId) throw new FleetError('TENANT_MISMATCH', `${api}: device "${deviceId}" belongs to another tenant than "${tenantId}"`, { status: 403, details: { tenantId } });
    if (this.#shared !== undefined) return this.#sharedStatus(ctx, tenantId, deviceId, t);
    if (t === undefined) return undefined;
    return { lastSeen: t.lastSeen, health: HEALTH_CODES[t.health], online: (t.flags & OFFLINE) === 0, silent: (t.flags & SILENT) !== 0 };
  }

  /** Stops watching a device (the effect runner calls this for `remove-from-monitoring`). */
  forget(deviceId: string): void {
    const t = this.#tracked.get(deviceId);
    this.#offlineKnown.delete(deviceId);
    if (t === undefined) return;
    this.#unflushed.get(t.tenantId)?.delete(deviceId);
    this.#tracked.delete(deviceId);
    const c = this.#count(t.tenantId);
    c.monitored--;
    if (this.#shared !== undefined) return; // online and silent are counted by the store
    if ((t.flags & OFFLINE) === 0) c.online--;
    if ((t.flags & SILENT) !== 0) c.silent--;
  }

  /** The tenant's fleet statistics: by state, health and firmware (the registry's), plus online, silent and monitored devices. */
  async stats(ctx: TenantContext): Promise<FleetHealthStats> {
    const tenantId = tenantOf(ctx, 'HealthMonitor.stats');
    const base = await this.#devices.stats(ctx);
    const c = this.#counts.get(tenantId);
    const shared = this.#shared;
    if (shared !== undefined) {
      // Fleet-wide, as the leader's sweeps flagged them.
      const byLevel = await shared.store.countByLevel(ctx);
      const sum = (from: number, to: number): number => byLevel.slice(from, to).reduce((a, n) => a + n, 0);
      return { ...base, monitored: sum(0, byLevel.length), online: sum(0, this.#levels.offline), silent: sum(this.#levels.silent, byLevel.length), rejectedMessages: c?.rejected ?? 0 };
    }
    return { ...base, monitored: c?.monitored ?? 0, online: c?.online ?? 0, silent: c?.silent ?? 0, rejectedMessages: c?.rejected ?? 0 };
  }

  /**
   * The latest vitals of the tenant's watched devices, sorted by device id: battery, RSSI,
   * firmware, when last heard from, presence and health. What the device-health metrics are
   * computed from.
   *
   * @throws FleetError `INVALID_ARGUMENT` for a malformed context.
   */
  devices(ctx: TenantContext): readonly DeviceVitals[] {
    const tenantId = tenantOf(ctx, 'HealthMonitor.devices');
    const out: DeviceVitals[] = [];
    for (const [deviceId, t] of this.#tracked) {
      if (t.tenantId !== tenantId || t.state === 'decommissioned') continue;
      out.push({
        deviceId,
        lastSeen: t.lastSeen,
        online: (t.flags & OFFLINE) === 0,
        silent: (t.flags & SILENT) !== 0,
        health: HEALTH_CODES[t.health],
        firmwareVersion: t.firmware,
        batteryPct: Number.isNaN(t.battery) ? undefined : t.battery,
        rssiDbm: Number.isNaN(t.rssi) ? undefined : t.rssi,
      });
    }
    return out.sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  }

  /**
   * What the monitor measured of the tenant's messages since it started: heartbeats and
   * telemetry processed, their bytes, messages refused, throttled and lost (sequence-number gaps),
   * and the latency percentiles (arrival time − the message's `ts`) over the last one to two
   * latency windows.
   *
   * @throws FleetError `INVALID_ARGUMENT` for a malformed context.
   */
  network(ctx: TenantContext): NetworkStats {
    const tenantId = tenantOf(ctx, 'HealthMonitor.network');
    const c = this.#counts.get(tenantId);
    if (c === undefined) return { heartbeats: 0, telemetry: 0, bytes: 0, rejected: 0, throttled: 0, lost: 0, deliveryRate: 1, latency: { p50: 0, p95: 0, p99: 0 }, latencySamples: 0 };
    this.#rotateLatency(c, this.#clock.now());
    const sketch = c.latency === undefined ? new LatencySketch() : c.latency.clone();
    if (c.previousLatency !== undefined) sketch.merge(c.previousLatency);
    const latency: LatencyPercentiles = { p50: sketch.percentile(50), p95: sketch.percentile(95), p99: sketch.percentile(99) };
    const received = c.heartbeats + c.telemetry;
    return { heartbeats: c.heartbeats, telemetry: c.telemetry, bytes: c.bytes, rejected: c.rejected, throttled: c.throttled, lost: c.lost, deliveryRate: received + c.lost === 0 ? 1 : received / (received + c.lost), latency, latencySamples: sketch.count };
  }

  /** Tenants the monitor has heard from (or counted a refusal of), sorted. */
  get tenants(): readonly string[] {
    return [...this.#counts.keys()].sort();
  }

  /**
   * The core's rotation plan for the tenant's certificates that expire within `withinMs` (or have
   * expired), and a `certificate-expiring` alert for each certificate not alerted before.
   */
  async certificatesExpiring(ctx: TenantContext, options: { readonly withinMs?: number } = {}): Promise<RotationPlan> {
    const tenantId = tenantOf(ctx, 'HealthMonitor.certificatesExpiring');
    const now = this.#clock.now();
    const withinMs = optionsOf('HealthMonitor.certificatesExpiring', options).withinMs;
    const plan = certificatesExpiring(await this.#registry.all(ctx), { within: withinMs ?? this.#certs?.withinMs ?? 30 * DAY, now });
    let alerted = this.#alertedCerts.get(tenantId);
    if (alerted === undefined) this.#alertedCerts.set(tenantId, (alerted = new Set()));
    for (const item of plan.items) {
      const key = `${item.deviceId}\u0000${item.serial}`;
      if (alerted.has(key)) continue;
      alerted.add(key);
      this.#alert({ type: 'certificate-expiring', tenantId, deviceId: item.deviceId, at: now, item });
    }
    return plan;
  }

  // ── inbound ────────────────────────────────────────────────────────────────────────────────

  readonly #onMessage = (message: InboundMessage): void => {
    const route = this.#route(message.topic);
    if (route instanceof FleetError) {
      this.#rejected(message.topic, undefined, route);
      return;
    }
    const t = this.#tracked.get(route.deviceId);
    const waiting = this.#pending.get(route.deviceId);
    if (waiting !== undefined) {
      if (waiting.length < 64) waiting.push(message);
      return;
    }
    if (t !== undefined) {
      this.#receive(t, route, message);
      return;
    }
    this.#pending.set(route.deviceId, [message]);
    void this.#lookUp(route);
  };

  #route(topic: string): Route | FleetError {
    const known = this.#routes.get(topic);
    if (known !== undefined) return known;
    const parsed = safeParseTopic(topic);
    if (!parsed.ok) return parsed.error;
    const p = parsed.value;
    if (p.kind !== 'heartbeat' && p.kind !== 'telemetry') return new FleetError('INVALID_TOPIC', `"${topic}" is not a heartbeat or telemetry topic`, { status: 400, captureStack: false });
    const route: Route = { kind: p.kind, tenantId: p.tenantId, deviceId: p.deviceId };
    if (this.#routes.size >= ROUTE_CACHE_SIZE) this.#routes = new Map();
    this.#routes.set(topic, route);
    return route;
  }

  // First message of a device this monitor does not watch yet: find it in the registry, then
  // handle what arrived meanwhile in order.
  async #lookUp(route: Route): Promise<void> {
    let t: Tracked | undefined;
    let refusal: FleetError | undefined;
    try {
      const where = await this.#devices.locate(route.deviceId);
      if (where === undefined) refusal = notRegistered(route);
      else if (where.tenantId !== route.tenantId) refusal = foreign(route);
      else if (where.state !== 'decommissioned') {
        const record = await this.#devices.get({ tenantId: route.tenantId }, route.deviceId);
        if (record !== undefined) t = this.#track(record);
      }
    } catch (e) {
      this.#failed(e);
    }
    const queued = this.#pending.get(route.deviceId) ?? [];
    this.#pending.delete(route.deviceId);
    for (const message of queued) {
      const r = this.#route(message.topic);
      if (r instanceof FleetError) continue;
      if (refusal !== undefined || r.tenantId !== route.tenantId) this.#rejected(message.topic, r, refusal ?? foreign(r));
      else if (t !== undefined) this.#receive(t, r, message);
    }
  }

  #track(record: RegisteredDevice): Tracked {
    const existing = this.#tracked.get(record.deviceId);
    if (existing !== undefined) return existing;
    // Never heard from yet: it counts as offline until its first message is handled.
    const t = new Tracked(record.tenantId, record.state, this.#clock.now(), healthCode(record.health), record.firmwareVersion, OFFLINE);
    this.#tracked.set(record.deviceId, t);
    this.#count(t.tenantId).monitored++;
    return t;
  }

  #receive(t: Tracked, route: Route, message: InboundMessage): void {
    if (t.tenantId !== route.tenantId) {
      this.#rejected(message.topic, route, foreign(route));
      return;
    }
    if (t.state === 'decommissioned') return;
    const quotas = this.#quotas;
    if (quotas !== undefined) {
      const at = this.#clock.now();
      const admission = quotas.admit('messages', t.tenantId, route.deviceId, 1, at);
      if (!admission.allowed) {
        this.#count(t.tenantId).throttled++;
        if (this.listenerCount('message:throttled') > 0) this.emit('message:throttled', { topic: message.topic, tenantId: t.tenantId, deviceId: route.deviceId, at, retryAfterMs: admission.retryAfterMs, scope: admission.scope ?? 'tenant' });
        return;
      }
      quotas.record(t.tenantId, 'messages', 1, at);
      quotas.record(t.tenantId, 'bytes', message.payload.byteLength, at);
    }
    const sample = this.#decode(route, message);
    if (sample instanceof FleetError) {
      this.#rejected(message.topic, route, sample);
      return;
    }
    const now = this.#clock.now();
    this.#measure(t, route, message, sample, now);
    this.#seen(t, route, now);
    let evaluation: HealthEvaluation | undefined;
    if (sample.vitals !== undefined) {
      evaluation = evaluateHealth(sample.vitals, this.#thresholds, { state: t.state });
      const previous = HEALTH_CODES[t.health];
      if (evaluation.status !== previous) {
        t.health = healthCode(evaluation.status);
        this.#alert({ type: 'health-changed', tenantId: t.tenantId, deviceId: route.deviceId, at: now, status: evaluation.status, previous, reasons: evaluation.reasons });
        this.#sync(route.deviceId, t);
      }
    }
    if (sample.firmware !== undefined && sample.firmware !== t.firmware) {
      t.firmware = sample.firmware;
      this.#sync(route.deviceId, t);
    }
    // Heard from just now: the heartbeat is on time. The last known health decides with it.
    const heartbeat = heartbeatStatus(now, now, { ...this.#hb, state: t.state });
    const health = evaluation ?? lastHealth(t);
    const event = nextHealthEvent(t.state, health === undefined ? { heartbeat } : { heartbeat, health });
    if (event === 'auto_recovery') this.#drive(route.deviceId, t, 'auto_recovery', 'heartbeat on time and health good', 'health', now);
    else if (event === 'health_check_failed') this.#drive(route.deviceId, t, 'health_check_failed', reasonOf(evaluation), 'health', now);
  }

  // Network and device-health figures of one processed message: counts, bytes, sequence gaps,
  // latency (arrival − ts, when the device clock is not ahead), latest battery and RSSI.
  #measure(t: Tracked, route: Route, message: InboundMessage, sample: Decoded, now: number): void {
    const c = this.#count(t.tenantId);
    if (route.kind === 'heartbeat') c.heartbeats++;
    else c.telemetry++;
    c.bytes += message.payload.byteLength;
    if (sample.seq !== undefined) {
      const last = route.kind === 'heartbeat' ? t.hbSeq : t.tmSeq;
      if (last >= 0 && sample.seq > last + 1) c.lost += sample.seq - last - 1;
      if (route.kind === 'heartbeat') t.hbSeq = sample.seq;
      else t.tmSeq = sample.seq;
    }
    const latency = now - sample.ts;
    if (latency >= 0 && latency <= MAX_LATENCY_MS) {
      this.#rotateLatency(c, now);
      (c.latency ??= new LatencySketch()).record(latency);
    }
    if (sample.vitals?.batteryPct !== undefined) t.battery = sample.vitals.batteryPct;
    if (sample.vitals?.rssiDbm !== undefined) t.rssi = sample.vitals.rssiDbm;
  }

  #rotateLatency(c: TenantCounts, now: number): void {
    if (now - c.latencySince < this.#latencyWindowMs) return;
    // Two windows or more since the current one started: both are stale.
    c.previousLatency = now - c.latencySince < 2 * this.#latencyWindowMs ? c.latency : undefined;
    c.latency = undefined;
    c.latencySince = now - ((now - c.latencySince) % this.#latencyWindowMs);
  }

  // Decodes and validates; returns the vitals to rate (if any) and a reported firmware version.
  #decode(route: Route, message: InboundMessage): Decoded | FleetError {
    let value: unknown;
    try {
      value = jsonCodec.decode(message.payload);
    } catch (e) {
      return isFleetError(e) ? e : new FleetError('INVALID_PAYLOAD', 'not JSON', { status: 400 });
    }
    if (route.kind === 'heartbeat') {
      const r = heartbeatMessageSchema.safeParse(value);
      if (!r.success) return invalid(route, r.error.issues[0]);
      const { batteryPct, rssiDbm, freeHeapBytes } = r.data;
      return { vitals: vitalsOf(r.data.ts, batteryPct, rssiDbm, freeHeapBytes), firmware: r.data.firmwareVersion, ts: r.data.ts, seq: r.data.seq };
    }
    const r = telemetryMessageSchema.safeParse(value);
    if (!r.success) return invalid(route, r.error.issues[0]);
    const v = r.data.values;
    const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
    return { vitals: vitalsOf(r.data.ts, num(v['batteryPct']), num(v['rssiDbm']), num(v['freeHeapBytes'])), firmware: undefined, ts: r.data.ts, seq: r.data.seq };
  }

  #seen(t: Tracked, route: Route, now: number): void {
    if (this.#shared !== undefined) {
      // Recorded for the next flush; online and silence-ended are raised from what the flush changed.
      t.lastSeen = now;
      t.flags &= ~(OFFLINE | SILENT);
      this.#offlineKnown.delete(route.deviceId);
      let pending = this.#unflushed.get(t.tenantId);
      if (pending === undefined) this.#unflushed.set(t.tenantId, (pending = new Map()));
      pending.set(route.deviceId, now);
      return;
    }
    const was = t.flags;
    const lastSeen = t.lastSeen;
    t.lastSeen = now;
    t.flags &= ~(OFFLINE | SILENT);
    const c = this.#count(t.tenantId);
    if ((was & OFFLINE) !== 0) {
      c.online++;
      if (this.listenerCount('device:online') > 0) this.emit('device:online', { tenantId: t.tenantId, deviceId: route.deviceId, at: now });
    }
    if ((was & SILENT) !== 0) {
      c.silent--;
      this.#alert({ type: 'device-silence-ended', tenantId: t.tenantId, deviceId: route.deviceId, at: now, lastSeen });
    }
    if ((t.flags & SCHEDULED) === 0) this.#schedule(route.deviceId, t, now);
  }

  // ── the clock: one timer for the earliest deadline of all devices ──────────────────────────

  // A device has at most one heap entry. A heartbeat only moves lastSeen; when the entry comes
  // due the next deadline is computed from the current lastSeen, so deadlines stay exact.
  #schedule(deviceId: string, t: Tracked, now: number): void {
    const next = this.#nextDeadline(t, now);
    if (next === undefined) {
      t.flags &= ~SCHEDULED;
      return;
    }
    t.flags |= SCHEDULED;
    this.#heap.push(next, deviceId);
    if (next < this.#timerAt) this.#arm(next);
  }

  #nextDeadline(t: Tracked, now: number): number | undefined {
    for (const offset of this.#offsets) if (t.lastSeen + offset > now) return t.lastSeen + offset;
    return undefined;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.setTimeout(this.#tick, Math.max(0, at - this.#clock.now()));
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    for (let id = this.#heap.popDue(now); id !== undefined; id = this.#heap.popDue(now)) {
      const t = this.#tracked.get(id);
      if (t === undefined) continue; // forgotten since
      t.flags &= ~SCHEDULED;
      if (t.state !== 'decommissioned') this.#check(id, t, now);
    }
    const next = this.#heap.peek();
    if (next !== undefined && this.#subscriptions.length > 0) this.#arm(next);
  };

  #check(deviceId: string, t: Tracked, now: number): void {
    const report = heartbeatStatus(t.lastSeen, now, { ...this.#hb, state: t.state });
    const c = this.#count(t.tenantId);
    if ((report.status === 'missed' || report.status === 'silent') && (t.flags & OFFLINE) === 0) {
      t.flags |= OFFLINE;
      c.online--;
      if (this.listenerCount('device:offline') > 0) this.emit('device:offline', { tenantId: t.tenantId, deviceId, at: now, lastSeen: t.lastSeen });
    }
    if (report.flagged && (t.flags & SILENT) === 0) {
      t.flags |= SILENT;
      c.silent++;
      this.#alert({ type: 'device-silent', tenantId: t.tenantId, deviceId, at: now, lastSeen: t.lastSeen });
    }
    if (nextHealthEvent(t.state, { heartbeat: report }) === 'health_check_failed') {
      this.#drive(deviceId, t, 'health_check_failed', `${report.missed} heartbeats missed (last heard from ${Math.round(report.sinceLastMs / 1000)} s ago)`, 'heartbeat', now);
    }
    this.#schedule(deviceId, t, now);
  }

  // ── registry writes, one device at a time ──────────────────────────────────────────────────

  // The event is recorded at the virtual time it was decided, even when the registry write runs
  // later (a clock advanced in one step fires many deadlines before any write completes).
  #drive(deviceId: string, t: Tracked, event: 'health_check_failed' | 'auto_recovery', reason: string, cause: 'heartbeat' | 'health', at: number): void {
    if ((t.flags & TRANSITIONING) !== 0) return;
    t.flags |= TRANSITIONING;
    const ctx = { tenantId: t.tenantId };
    this.#enqueue(deviceId, async () => {
      try {
        const out = await this.#registry.transition(ctx, deviceId, { type: event, actor: 'health-monitor', reason }, { at });
        if (out.device !== undefined) t.state = out.device.state;
        if (event === 'health_check_failed') this.#alert({ type: 'device-degraded', tenantId: t.tenantId, deviceId, at, cause, reason });
        else this.#alert({ type: 'device-recovered', tenantId: t.tenantId, deviceId, at });
      } catch (e) {
        // Another writer changed the state (or recorded a later event) meanwhile: the decision is
        // stale; take the registry's word and move on.
        if (!isFleetError(e, 'INVALID_TRANSITION') && !isFleetError(e, 'INVALID_ARGUMENT')) throw e;
        const current = await this.#devices.get(ctx, deviceId);
        if (current !== undefined) t.state = current.state;
      } finally {
        t.flags &= ~TRANSITIONING;
      }
    });
  }

  // Writes the device's current health and firmware to the registry; queued at most once.
  #sync(deviceId: string, t: Tracked): void {
    if ((t.flags & SYNC_QUEUED) !== 0) return;
    t.flags |= SYNC_QUEUED;
    this.#enqueue(deviceId, async () => {
      t.flags &= ~SYNC_QUEUED;
      if (!this.#tracked.has(deviceId)) return;
      const health = HEALTH_CODES[t.health];
      await this.#registry.patch({ tenantId: t.tenantId }, deviceId, {
        lastSeen: t.lastSeen,
        ...(health === undefined ? {} : { health }),
        ...(t.firmware === undefined ? {} : { firmwareVersion: t.firmware }),
      });
    });
  }

  #enqueue(deviceId: string, task: () => Promise<void>): void {
    if (!this.#lanes.admit(deviceId, task)) this.#failed(new FleetError('TOO_MANY_REQUESTS', `HealthMonitor: too many registry writes queued for device "${deviceId}"`, { status: 429 }));
  }

  // ── shared presence: flushes on every instance, sweeps on the leader ───────────────────────

  /**
   * Shared presence: writes the devices this instance heard from since its last flush now (one
   * batched write per tenant; the timer does it every `flushEveryMs`), and raises `device:online`
   * and `device-silence-ended` for the devices whose offline or silent flag the write ended. A
   * write that fails keeps its devices for the next flush (an `error` event says why). Resolves
   * at once without shared presence.
   */
  flush(): Promise<void> {
    const run = this.#flushing.then(() => this.#flushNow());
    this.#flushing = run.catch((e: unknown) => this.#failed(e));
    return this.#flushing;
  }

  /**
   * Shared presence: runs the silence sweep now when this instance leads (or has no `leader`):
   * flags, once fleet-wide, the devices whose stored `lastSeen` passed a limit (offline, missed
   * heartbeats, silent) by more than `toleranceMs`, with `device:offline`, `device-silent` and
   * `health_check_failed` (the timer does it every `sweepEveryMs`). Resolves at once without
   * shared presence or when another instance leads.
   */
  sweep(): Promise<void> {
    const run = this.#sweeping.then(() => this.#sweepNow());
    this.#sweeping = run.catch((e: unknown) => this.#failed(e));
    return this.#sweeping;
  }

  readonly #flushTick = (): void => {
    const shared = this.#shared;
    if (shared === undefined || this.#subscriptions.length === 0) return;
    this.#flushTimer = this.#clock.setTimeout(this.#flushTick, shared.flushEveryMs);
    void this.flush();
  };

  readonly #sweepTick = (): void => {
    const shared = this.#shared;
    if (shared === undefined || this.#subscriptions.length === 0) return;
    this.#sweepTimer = this.#clock.setTimeout(this.#sweepTick, shared.sweepEveryMs);
    void this.sweep();
  };

  async #flushNow(): Promise<void> {
    const shared = this.#shared;
    if (shared === undefined || this.#unflushed.size === 0) return;
    const batches = this.#unflushed;
    this.#unflushed = new Map();
    for (const [tenantId, heard] of batches) {
      const beats = [...heard].map(([deviceId, at]) => ({ deviceId, at }));
      for (let i = 0; i < beats.length; i += FLUSH_CHUNK) {
        const chunk = beats.slice(i, i + FLUSH_CHUNK);
        let changes: readonly PresenceTouched[];
        try {
          changes = await shared.store.touch({ tenantId }, chunk);
        } catch (e) {
          // Kept for the next flush (a later beat of the same device wins).
          let pending = this.#unflushed.get(tenantId);
          if (pending === undefined) this.#unflushed.set(tenantId, (pending = new Map()));
          for (const b of chunk) if (!((pending.get(b.deviceId) ?? -Infinity) >= b.at)) pending.set(b.deviceId, b.at);
          this.#failed(e);
          continue;
        }
        for (const change of changes) this.#touched(tenantId, change);
      }
    }
  }

  // A flush moved a device's lastSeen forward: it ends an offline or silent flag once fleet-wide.
  #touched(tenantId: string, change: PresenceTouched): void {
    const { deviceId, previousLevel } = change;
    const t = this.#tracked.get(deviceId);
    if (previousLevel === undefined || previousLevel >= this.#levels.offline) {
      if (this.listenerCount('device:online') > 0) this.emit('device:online', { tenantId, deviceId, at: change.lastSeen });
    }
    if (previousLevel !== undefined && previousLevel >= this.#levels.silent) {
      this.#alert({ type: 'device-silence-ended', tenantId, deviceId, at: change.lastSeen, lastSeen: change.previousLastSeen ?? change.lastSeen });
    }
    // Past the degrade limit, another instance may have degraded it: take the registry's state, then decide.
    if (t !== undefined && previousLevel !== undefined && previousLevel >= this.#levels.degrade) {
      this.#enqueue(deviceId, async () => {
        const record = await this.#devices.get({ tenantId }, deviceId);
        if (record === undefined || !this.#tracked.has(deviceId)) return;
        t.state = record.state;
        const now = this.#clock.now();
        const heartbeat = heartbeatStatus(t.lastSeen, now, { ...this.#hb, state: t.state });
        const health = lastHealth(t);
        if (nextHealthEvent(t.state, health === undefined ? { heartbeat } : { heartbeat, health }) === 'auto_recovery') this.#drive(deviceId, t, 'auto_recovery', 'heartbeat on time and health good', 'health', now);
      });
    }
  }

  async #sweepNow(): Promise<void> {
    const shared = this.#shared;
    if (shared === undefined) return;
    if (shared.leader !== undefined && !shared.leader.isLeader) {
      this.#offlineKnown.clear(); // another instance flags now: what this one knew goes stale
      return;
    }
    try {
      const now = this.#clock.now();
      const limits = this.#offsets.map((offset) => now - offset - shared.toleranceMs);
      for (const tenantId of await shared.store.tenants()) {
        if (shared.leader !== undefined && !shared.leader.isLeader) return;
        const raised = await shared.store.sweep({ tenantId }, limits);
        const gone = await this.#unregistered(tenantId, raised);
        for (const r of raised) {
          // A late flush of another instance can bring back the presence of a device removed
          // since (decommissioned): it is dropped, never flagged.
          if (gone.has(r.deviceId)) await shared.store.remove({ tenantId }, r.deviceId);
          else this.#raised(tenantId, r, now);
        }
        await this.#recheckOffline(tenantId);
      }
    } catch (e) {
      this.#failed(e);
    }
  }

  // The raised devices that are no longer registered devices of the tenant in service.
  async #unregistered(tenantId: string, raised: readonly PresenceRaised[]): Promise<Set<string>> {
    const gone = new Set<string>();
    for (let i = 0; i < raised.length; i += LOCATE_CHUNK) {
      const chunk = raised.slice(i, i + LOCATE_CHUNK);
      const where = await Promise.all(chunk.map((r) => this.#devices.locate(r.deviceId)));
      chunk.forEach((r, k) => {
        const w = where[k];
        if (w === undefined || w.tenantId !== tenantId || w.state === 'decommissioned') gone.add(r.deviceId);
      });
    }
    return gone;
  }

  // A sweep raised a device's level: the limits it passed are flagged once fleet-wide.
  #raised(tenantId: string, r: PresenceRaised, now: number): void {
    const { deviceId } = r;
    const passed = (level: number): boolean => r.previousLevel < level && r.level >= level;
    const t = this.#tracked.get(deviceId);
    if (r.level >= this.#levels.offline) this.#offlineKnown.set(deviceId, tenantId);
    if (passed(this.#levels.offline)) {
      if (t !== undefined) t.flags |= OFFLINE;
      if (this.listenerCount('device:offline') > 0) this.emit('device:offline', { tenantId, deviceId, at: now, lastSeen: r.lastSeen });
    }
    if (passed(this.#levels.silent)) {
      if (t !== undefined) t.flags |= SILENT;
      this.#alert({ type: 'device-silent', tenantId, deviceId, at: now, lastSeen: r.lastSeen });
    }
    if (passed(this.#levels.degrade)) {
      // The registry's state decides (another instance may have moved the device).
      this.#enqueue(deviceId, async () => {
        const record = await this.#devices.get({ tenantId }, deviceId);
        if (record === undefined || record.state === 'decommissioned') return;
        const tracked = this.#tracked.get(deviceId) ?? this.#track(record);
        tracked.state = record.state;
        if (!(tracked.lastSeen > r.lastSeen)) {
          tracked.lastSeen = r.lastSeen;
          tracked.flags |= OFFLINE;
        }
        const report = heartbeatStatus(r.lastSeen, now, { ...this.#hb, state: tracked.state });
        if (nextHealthEvent(tracked.state, { heartbeat: report }) === 'health_check_failed') {
          this.#drive(deviceId, tracked, 'health_check_failed', `${report.missed} heartbeats missed (last heard from ${Math.round(report.sinceLastMs / 1000)} s ago)`, 'heartbeat', now);
        }
      });
    }
  }

  // The devices this leader flagged offline that another instance heard from since: online again.
  async #recheckOffline(tenantId: string): Promise<void> {
    const shared = this.#shared;
    if (shared === undefined) return;
    const ids: string[] = [];
    for (const [deviceId, owner] of this.#offlineKnown) if (owner === tenantId) ids.push(deviceId);
    for (let i = 0; i < ids.length; i += FLUSH_CHUNK) {
      for (const p of await shared.store.get({ tenantId }, ids.slice(i, i + FLUSH_CHUNK))) {
        if (p.level < this.#levels.offline && this.#offlineKnown.get(p.deviceId) === tenantId) this.#offlineKnown.delete(p.deviceId);
      }
    }
  }

  async #sharedStatus(ctx: TenantContext, tenantId: string, deviceId: string, t: Tracked | undefined): Promise<DeviceHealthStatus | undefined> {
    const shared = this.#shared as Shared;
    const [stored] = await shared.store.get(ctx, [deviceId]);
    const pending = this.#unflushed.get(tenantId)?.get(deviceId);
    if (stored === undefined && pending === undefined) return undefined;
    const health = t !== undefined ? HEALTH_CODES[t.health] : (await this.#devices.get(ctx, deviceId))?.health;
    // A heartbeat this instance has not flushed yet is newer than the store's lastSeen.
    if (pending !== undefined && !(stored !== undefined && stored.lastSeen >= pending)) return { lastSeen: pending, health, online: true, silent: false };
    const s = stored as NonNullable<typeof stored>;
    return { lastSeen: s.lastSeen, health, online: s.level < this.#levels.offline, silent: s.level >= this.#levels.silent };
  }

  // ── certificate checks ─────────────────────────────────────────────────────────────────────

  readonly #certTick = (): void => {
    const certs = this.#certs;
    if (certs === undefined) return;
    const shared = this.#shared;
    void (async () => {
      // Shared presence: the leader checks, for the tenants of the store too.
      if (shared?.leader !== undefined && !shared.leader.isLeader) return;
      const tenants = new Set([...certs.tenants, ...this.#counts.keys()]);
      try {
        if (shared !== undefined) for (const tenantId of await shared.store.tenants()) tenants.add(tenantId);
      } catch (e) {
        this.#failed(e);
      }
      for (const tenantId of tenants) {
        try {
          await this.certificatesExpiring({ tenantId });
        } catch (e) {
          this.#failed(e);
        }
      }
    })();
    if (this.#subscriptions.length > 0) this.#certTimer = this.#clock.setTimeout(this.#certTick, certs.checkEveryMs);
  };

  // ── helpers ────────────────────────────────────────────────────────────────────────────────

  #count(tenantId: string): TenantCounts {
    let c = this.#counts.get(tenantId);
    if (c === undefined) {
      c = { monitored: 0, online: 0, silent: 0, rejected: 0, heartbeats: 0, telemetry: 0, bytes: 0, throttled: 0, lost: 0, latency: undefined, previousLatency: undefined, latencySince: this.#clock.now() };
      this.#counts.set(tenantId, c);
    }
    return c;
  }

  #alert(alert: HealthAlert): void {
    if (this.listenerCount('alert') > 0) this.emit('alert', alert);
  }

  #rejected(topic: string, route: Route | undefined, error: FleetError): void {
    // Only tenants that own the device are counted: a topic can name any tenant.
    if (route !== undefined && error.code !== 'TENANT_MISMATCH' && error.code !== 'DEVICE_NOT_FOUND') this.#count(route.tenantId).rejected++;
    if (this.listenerCount('message:rejected') === 0) return;
    this.emit('message:rejected', { topic, ...(route === undefined ? {} : { tenantId: route.tenantId, deviceId: route.deviceId }), error });
  }

  #failed(e: unknown): void {
    const error = isFleetError(e) ? e : new FleetError('INTERNAL', `Health monitor failure: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

const FLUSH_CHUNK = 10_000;
const LOCATE_CHUNK = 500;

function sharedOf(options: SharedPresenceOptions | undefined, bad: (what: string, cause?: unknown) => never): Shared | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) return bad('presence must be { store, leader?, flushEveryMs?, sweepEveryMs?, toleranceMs? }');
  const store = options.store as Partial<Record<keyof PresenceStore, unknown>> | undefined;
  if (typeof store !== 'object' || store === null || !(['touch', 'sweep', 'get', 'countByLevel', 'remove', 'tenants'] as const).every((k) => typeof store[k] === 'function')) {
    return bad('presence.store must be a PresenceStore (MemoryPresenceStore, PostgresPresenceStore)');
  }
  const leader = options.leader;
  if (leader !== undefined && (typeof leader !== 'object' || leader === null || typeof leader.isLeader !== 'boolean')) return bad('presence.leader must have a boolean isLeader (a LeaderElection)');
  const ms = (name: string, value: unknown, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > 86_400_000) bad(`presence.${name} must be a number of ms from ${min} to 86400000, got ${describeValue(v)}`);
    return v as number;
  };
  const flushEveryMs = ms('flushEveryMs', options.flushEveryMs, 5_000, 1);
  const sweepEveryMs = ms('sweepEveryMs', options.sweepEveryMs, 5_000, 1);
  const toleranceMs = ms('toleranceMs', options.toleranceMs, flushEveryMs + 2_000, 0);
  return { store: options.store, leader, flushEveryMs, sweepEveryMs, toleranceMs };
}

/** A decoded heartbeat or telemetry message: what the monitor uses of it. */
interface Decoded {
  readonly vitals: HealthSample | undefined;
  readonly firmware: string | undefined;
  readonly ts: number;
  readonly seq: number | undefined;
}

function listen(registry: FleetRegistry, fn: (e: DeviceTransitionedEvent) => void): () => void {
  registry.on('device:transitioned', fn);
  return () => {
    registry.off('device:transitioned', fn);
  };
}

function vitalsOf(at: number, batteryPct: number | undefined, rssiDbm: number | undefined, freeHeapBytes: number | undefined): HealthSample | undefined {
  if (batteryPct === undefined && rssiDbm === undefined && freeHeapBytes === undefined) return undefined;
  return {
    at,
    ...(batteryPct === undefined ? {} : { batteryPct }),
    ...(rssiDbm === undefined ? {} : { rssiDbm }),
    ...(freeHeapBytes === undefined ? {} : { freeHeapBytes }),
  };
}

function lastHealth(t: Tracked): HealthEvaluation | undefined {
  const status = HEALTH_CODES[t.health];
  return status === undefined ? undefined : { status, reasons: [], suppressed: false };
}

function reasonOf(evaluation: HealthEvaluation | undefined): string {
  const reasons = evaluation?.reasons.filter((r) => r.severity === 'critical').map((r) => r.message) ?? [];
  return reasons.length > 0 ? reasons.join('; ') : 'health critical';
}

function invalid(route: Route, issue: { readonly path: readonly PropertyKey[]; readonly message: string } | undefined): FleetError {
  const where = issue === undefined ? '' : `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`;
  return new FleetError('INVALID_PAYLOAD', `Invalid ${route.kind} message from "${route.deviceId}": ${where}`, { status: 400, captureStack: false });
}

function notRegistered(route: Route): FleetError {
  return new FleetError('DEVICE_NOT_FOUND', `Device "${route.deviceId}" is not registered; its ${route.kind} is ignored`, { status: 404, captureStack: false });
}

function foreign(route: Route): FleetError {
  return new FleetError('TENANT_MISMATCH', `Device "${route.deviceId}" is not a device of tenant "${route.tenantId}"; its ${route.kind} is ignored`, { status: 403, captureStack: false });
}
