/**
 * `FleetAlerts`: the monitor core's alert rules run on a clock over what the health monitor and
 * the quota enforcer measure, as an `alert` event stream with acknowledgement, the
 * alert-response-time SLA and a time-weighted uptime per tenant.
 */
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { acknowledgeAlert, alertResponseSla, defineAlertRules, EMPTY_ALERT_STATE, evaluateAlerts, type AlertEvent, type AlertInstance, type AlertRule, type AlertRuleInput, type AlertState, type MetricSample, type ResponseSlaReport, type ResponseTargets } from '../monitor/alerts.js';
import type { HealthMonitor } from './health-monitor.js';

/**
 * The rules a fleet evaluates by default (metric names are those {@link FleetAlerts.samples}
 * produces). They fire only on sustained, exceptional conditions: each has a `for` duration and a
 * resolve level on the healthy side of its fire level.
 */
export const DEFAULT_FLEET_ALERT_RULES: readonly AlertRuleInput[] = Object.freeze([
  { name: 'DeviceBatteryLow', metric: 'device_battery_pct', op: 'below', fire: 15, resolve: 20, forMs: 10 * 60_000, severity: 'warning', groupBy: ['tenant', 'device'], summary: 'battery below 15 % for 10 minutes' },
  { name: 'DeviceSignalWeak', metric: 'device_rssi_dbm', op: 'below', fire: -90, resolve: -85, forMs: 15 * 60_000, severity: 'info', groupBy: ['tenant', 'device'], summary: 'RSSI below −90 dBm for 15 minutes' },
  { name: 'FleetOfflineHigh', metric: 'tenant_offline_ratio', op: 'above', fire: 0.1, resolve: 0.05, forMs: 5 * 60_000, severity: 'critical', groupBy: ['tenant'], summary: 'more than 10 % of the watched devices offline for 5 minutes' },
  { name: 'MessageLatencyHigh', metric: 'tenant_latency_p99_ms', op: 'above', fire: 5_000, resolve: 2_000, forMs: 5 * 60_000, severity: 'warning', groupBy: ['tenant'], summary: 'p99 message latency above 5 s for 5 minutes' },
  { name: 'MessageDeliveryLow', metric: 'tenant_delivery_ratio', op: 'below', fire: 0.99, resolve: 0.995, forMs: 10 * 60_000, severity: 'warning', groupBy: ['tenant'], summary: 'less than 99 % of the messages delivered (sequence gaps) for 10 minutes' },
  { name: 'TenantThrottled', metric: 'tenant_throttled_ratio', op: 'above', fire: 0.2, resolve: 0.05, forMs: 5 * 60_000, severity: 'info', groupBy: ['tenant'], summary: 'more than 20 % of a tenant’s messages throttled for 5 minutes' },
]);

/** Options of {@link FleetAlerts}. */
export interface FleetAlertsOptions {
  /** The health monitor whose measurements the rules run on. */
  readonly health: HealthMonitor;
  /** Time and the evaluation timer. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** The rules. @defaultValue {@link DEFAULT_FLEET_ALERT_RULES} */
  readonly rules?: readonly AlertRuleInput[];
  /** How often the rules are evaluated once started, ms. @defaultValue 60000 */
  readonly evaluateEveryMs?: number;
  /** Response-time targets per severity for the alert-response SLA. @defaultValue the monitor core's */
  readonly responseTargets?: ResponseTargets;
  /** Resolved alerts kept for the response SLA (the oldest are forgotten first). @defaultValue 1000 */
  readonly history?: number;
}

/** Events of {@link FleetAlerts}. */
export interface FleetAlertsEvents {
  /** An alert went pending, firing or resolved, or was acknowledged. */
  alert: (event: AlertEvent) => void;
  /** A failure of an evaluation (a listener that threw is not one). */
  error: (error: FleetError) => void;
}

interface Uptime {
  observedMs: number;
  offlineMs: number;
  lastAt: number;
  lastRatio: number;
}

/**
 * Alert rules over a running fleet. Each evaluation builds metric samples from the health monitor
 * ({@link samples}), runs the monitor core's `evaluateAlerts` step and emits the lifecycle
 * events (`pending`, `firing`, `resolved`) on `alert`; {@link acknowledge} records a response.
 * It also integrates each tenant's offline share over time into an uptime percentage.
 *
 * @example
 * ```ts
 * fleet.alerts.on('alert', (e) => { if (e.type === 'firing') page(e.alert); });
 * fleet.alerts.start();
 * ```
 */
export class FleetAlerts extends EventEmitter<FleetAlertsEvents> {
  readonly #health: HealthMonitor;
  readonly #clock: Clock;
  readonly #rules: readonly AlertRule[];
  readonly #everyMs: number;
  readonly #targets: ResponseTargets | undefined;
  readonly #historySize: number;
  #state: AlertState = EMPTY_ALERT_STATE;
  #resolved: AlertInstance[] = [];
  #timer: TimerHandle | undefined;
  readonly #previous = new Map<string, { processed: number; throttled: number }>();
  readonly #uptime = new Map<string, Uptime>();

  /**
   * @param options - the health monitor, rules, clock and period
   * @throws FleetError `INVALID_ARGUMENT` for a missing monitor or a bad period; `INVALID_INPUT` for malformed rules.
   */
  constructor(options: FleetAlertsOptions) {
    super();
    const bad = (what: string): never => {
      throw new FleetError('INVALID_ARGUMENT', `new FleetAlerts: ${what}`, { status: 400 });
    };
    if (typeof options !== 'object' || options === null) bad('pass { health, clock?, rules?, evaluateEveryMs? }');
    if (typeof options.health?.network !== 'function') bad('health must be a HealthMonitor');
    const every = options.evaluateEveryMs ?? 60_000;
    if (typeof every !== 'number' || !(every >= 1) || !Number.isFinite(every)) bad(`evaluateEveryMs must be a number of ms ≥ 1, got ${describeValue(every)}`);
    const history = options.history ?? 1000;
    if (!Number.isInteger(history) || history < 0) bad(`history must be an integer ≥ 0, got ${describeValue(history)}`);
    this.#health = options.health;
    this.#clock = options.clock ?? systemClock;
    this.#rules = defineAlertRules(options.rules ?? DEFAULT_FLEET_ALERT_RULES);
    this.#everyMs = every;
    this.#targets = options.responseTargets;
    this.#historySize = history;
  }

  /** The rules evaluated (with their defaults filled in). */
  get rules(): readonly AlertRule[] {
    return this.#rules;
  }

  /** Pending and firing alerts, sorted by key. */
  get active(): readonly AlertInstance[] {
    return this.#state.alerts;
  }

  /** Resolved alerts kept for the response SLA, oldest first. */
  get resolved(): readonly AlertInstance[] {
    return this.#resolved;
  }

  /** Evaluates every `evaluateEveryMs` on the clock. Idempotent. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#clock.setTimeout(this.#tick, this.#everyMs);
  }

  /** Stops the periodic evaluation. */
  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The metric samples the rules see now, one set per tenant the monitor has heard from:
   * `device_battery_pct`, `device_rssi_dbm` and `device_heartbeat_age_seconds` per device
   * (labels `tenant`, `device`), and per tenant (label `tenant`) `tenant_offline_ratio`,
   * `tenant_latency_p99_ms` (when latencies were measured), `tenant_delivery_ratio` and
   * `tenant_throttled_ratio` (throttled ÷ offered since the previous call; not sampled when
   * nothing was offered).
   */
  samples(): readonly MetricSample[] {
    const now = this.#clock.now();
    const out: MetricSample[] = [];
    for (const tenant of this.#health.tenants) {
      const devices = this.#health.devices({ tenantId: tenant });
      let online = 0;
      for (const d of devices) {
        const labels = { tenant, device: d.deviceId };
        if (d.online) online++;
        if (d.batteryPct !== undefined) out.push({ metric: 'device_battery_pct', labels, value: d.batteryPct });
        if (d.rssiDbm !== undefined) out.push({ metric: 'device_rssi_dbm', labels, value: d.rssiDbm });
        out.push({ metric: 'device_heartbeat_age_seconds', labels, value: Math.max(0, now - d.lastSeen) / 1000 });
      }
      const labels = { tenant };
      const ratio = devices.length === 0 ? 0 : 1 - online / devices.length;
      out.push({ metric: 'tenant_offline_ratio', labels, value: ratio });
      this.#integrate(tenant, ratio, now);
      const net = this.#health.network({ tenantId: tenant });
      if (net.latencySamples > 0) out.push({ metric: 'tenant_latency_p99_ms', labels, value: net.latency.p99 });
      out.push({ metric: 'tenant_delivery_ratio', labels, value: net.deliveryRate });
      const processed = net.heartbeats + net.telemetry;
      const prev = this.#previous.get(tenant) ?? { processed: 0, throttled: 0 };
      const offered = processed - prev.processed + (net.throttled - prev.throttled);
      if (offered > 0) out.push({ metric: 'tenant_throttled_ratio', labels, value: (net.throttled - prev.throttled) / offered });
      this.#previous.set(tenant, { processed, throttled: net.throttled });
    }
    return out;
  }

  /**
   * Runs one evaluation now: samples, the rules' step, and the events (emitted on `alert` and
   * returned).
   */
  evaluate(): readonly AlertEvent[] {
    const now = this.#clock.now();
    const step = evaluateAlerts(this.#rules, this.#state, this.samples(), now);
    this.#state = step.next;
    for (const e of step.events) if (e.type === 'resolved') this.#remember(e.alert);
    for (const e of step.events) this.#emit(e);
    return step.events;
  }

  /**
   * Acknowledges a firing alert (its response time is now − fired).
   *
   * @param key - the alert's key (from an event's `alert.key`)
   * @param by - who responds
   * @throws FleetError `INVALID_OPERATION` (409) when it is not firing or already acknowledged
   */
  acknowledge(key: string, by: string): AlertEvent {
    const { next, event } = acknowledgeAlert(this.#state, key, by, this.#clock.now());
    this.#state = next;
    this.#emit(event);
    return event;
  }

  /** The alert-response-time SLA over the active and the remembered resolved alerts, now. */
  responseSla(): ResponseSlaReport {
    return alertResponseSla([...this.#resolved, ...this.#state.alerts], this.#clock.now(), this.#targets);
  }

  /**
   * The tenant's uptime: 100 × (1 − the time-weighted share of its watched devices offline), over
   * the evaluations so far (each ratio holds until the next evaluation); 100 before two of them.
   *
   * @param tenantId - the tenant
   */
  uptimePct(tenantId: string): number {
    const u = this.#uptime.get(tenantId);
    if (u === undefined || u.observedMs === 0) return 100;
    return 100 * (1 - u.offlineMs / u.observedMs);
  }

  #integrate(tenant: string, ratio: number, now: number): void {
    const u = this.#uptime.get(tenant);
    if (u === undefined) {
      this.#uptime.set(tenant, { observedMs: 0, offlineMs: 0, lastAt: now, lastRatio: ratio });
      return;
    }
    if (now > u.lastAt) {
      u.observedMs += now - u.lastAt;
      u.offlineMs += (now - u.lastAt) * u.lastRatio;
      u.lastAt = now;
    }
    u.lastRatio = ratio;
  }

  #remember(alert: AlertInstance): void {
    if (this.#historySize === 0) return;
    this.#resolved.push(alert);
    if (this.#resolved.length > this.#historySize) this.#resolved = this.#resolved.slice(-this.#historySize);
  }

  #emit(event: AlertEvent): void {
    if (this.listenerCount('alert') === 0) return;
    try {
      this.emit('alert', event);
    } catch {
      // A listener that throws must not stop the evaluation.
    }
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    try {
      this.evaluate();
    } catch (e) {
      const error = e instanceof FleetError ? e : new FleetError('INTERNAL', `FleetAlerts: evaluation failed: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e });
      if (this.listenerCount('error') > 0) this.emit('error', error);
    }
    this.#timer = this.#clock.setTimeout(this.#tick, this.#everyMs);
  };
}
