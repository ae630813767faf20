/**
 * Prometheus exposition of a running fleet through `prom-client` (an optional peer dependency,
 * loaded on the first scrape): the three monitoring tiers — device health, network, business
 * SLAs — plus usage metering, read from the services at scrape time.
 */
import { systemClock, type Clock } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { QuotaEnforcer } from '../tenancy/enforcer.js';
import type { FleetAlerts } from './fleet-alerts.js';
import type { HealthMonitor } from './health-monitor.js';

/** What the exposition reads: the services of a `Fleet` (or your own). */
export interface FleetMetricsSource {
  /** The health monitor: device vitals, presence and message figures. */
  readonly health: HealthMonitor;
  /** The alert evaluator: active alerts, response SLA, uptime. */
  readonly alerts?: FleetAlerts;
  /** The quota enforcer: usage meter and stored bytes. */
  readonly quotas?: QuotaEnforcer | undefined;
  /** The clock heartbeat ages are measured on. @defaultValue `systemClock` */
  readonly clock?: Clock;
}

/** Options of {@link FleetMetrics}. */
export interface FleetMetricsOptions {
  /**
   * Also expose one series per device (`fleetkit_device_battery_pct`, `…_rssi_dbm`,
   * `…_heartbeat_age_seconds`). Off by default: the cardinality is the fleet's size.
   * @defaultValue false
   */
  readonly perDevice?: boolean;
  /** A prefix for every metric name. @defaultValue `'fleetkit_'` */
  readonly prefix?: string;
}

/**
 * The response side of a node:http handler, structurally (node's `ServerResponse` fits, as do
 * most frameworks' raw responses).
 */
export interface MetricsResponse {
  /** The status code to send. */
  statusCode: number;
  /** Sets a header. */
  setHeader(name: string, value: string): unknown;
  /** Sends the body and ends the response. */
  end(body: string): unknown;
}

/** A request handler for any node:http server: `http.createServer(fleet.metricsHandler())`. */
export type MetricsHandler = (request: unknown, response: MetricsResponse) => void;

// The slice of prom-client's API used here, so its types are not part of fleetkit's.
interface PromMetric {
  reset(): void;
}
interface PromGauge extends PromMetric {
  set(labels: Record<string, string>, value: number): void;
}
interface PromCounter extends PromMetric {
  inc(labels: Record<string, string>, value: number): void;
}
interface PromRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}
interface PromClient {
  Registry: new () => PromRegistry;
  Gauge: new (config: { name: string; help: string; labelNames: readonly string[]; registers: PromRegistry[]; collect: (this: PromGauge) => void | Promise<void> }) => PromGauge;
  Counter: new (config: { name: string; help: string; labelNames: readonly string[]; registers: PromRegistry[]; collect: (this: PromCounter) => void | Promise<void> }) => PromCounter;
}

async function loadPromClient(): Promise<PromClient> {
  try {
    const mod = (await import('prom-client')) as unknown as PromClient & { default?: PromClient };
    return typeof mod.Registry === 'function' ? mod : (mod.default as PromClient);
  } catch (cause) {
    throw new FleetError('INVALID_OPERATION', 'Prometheus metrics need the optional peer dependency prom-client: npm install prom-client@^15', { status: 500, cause });
  }
}

const HEALTH_STATUSES = ['good', 'warning', 'critical', 'unknown'] as const;
const QUANTILES: readonly (readonly [string, 'p50' | 'p95' | 'p99'])[] = [
  ['0.5', 'p50'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
];

/**
 * The Prometheus registry of a fleet (one per fleet, not prom-client's global one). Every value
 * is read from the services when scraped. See docs/operations.md for the metric names.
 *
 * @example
 * ```ts
 * http.createServer(fleet.metricsHandler()).listen(9464);
 * ```
 */
export class FleetMetrics {
  readonly #source: FleetMetricsSource;
  readonly #perDevice: boolean;
  readonly #prefix: string;
  #registry: Promise<PromRegistry> | undefined;

  /**
   * @param source - the health monitor, and optionally the alerts and quotas
   * @param options - per-device series, name prefix
   * @throws FleetError `INVALID_ARGUMENT` for a missing monitor or a bad prefix
   */
  constructor(source: FleetMetricsSource, options: FleetMetricsOptions = {}) {
    if (typeof source?.health?.network !== 'function') throw new FleetError('INVALID_ARGUMENT', 'new FleetMetrics: source.health must be a HealthMonitor', { status: 400 });
    const prefix = options.prefix ?? 'fleetkit_';
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) throw new FleetError('INVALID_ARGUMENT', `new FleetMetrics: prefix must be a Prometheus name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*), got ${describeValue(prefix)}`, { status: 400 });
    this.#source = source;
    this.#perDevice = options.perDevice === true;
    this.#prefix = prefix;
  }

  /** The exposition's content type (Prometheus text format 0.0.4). */
  get contentType(): string {
    return 'text/plain; version=0.0.4; charset=utf-8';
  }

  /**
   * The metrics in the Prometheus text format, read now.
   *
   * @throws FleetError `INVALID_OPERATION` when prom-client is not installed
   */
  async text(): Promise<string> {
    this.#registry ??= this.#build();
    try {
      return await (await this.#registry).metrics();
    } catch (e) {
      if (e instanceof FleetError && e.code === 'INVALID_OPERATION') this.#registry = undefined; // install and retry
      throw e;
    }
  }

  /** A node:http request handler answering every request with the metrics (500 with the reason on a failure). */
  handler(): MetricsHandler {
    return (_request, response) => {
      this.text().then(
        (body) => {
          response.statusCode = 200;
          response.setHeader('Content-Type', this.contentType);
          response.end(body);
        },
        (e: unknown) => {
          response.statusCode = 500;
          response.setHeader('Content-Type', 'text/plain; charset=utf-8');
          response.end(`${e instanceof Error ? e.message : String(e)}\n`);
        },
      );
    };
  }

  async #build(): Promise<PromRegistry> {
    const prom = await loadPromClient();
    const registry = new prom.Registry();
    const { health, alerts, quotas } = this.#source;
    const clock = this.#source.clock ?? systemClock;
    const p = this.#prefix;
    const registers = [registry];
    const tenants = (): readonly string[] => health.tenants;
    const gauge = (name: string, help: string, labelNames: readonly string[], fill: (set: (labels: Record<string, string>, value: number) => void) => void): void => {
      new prom.Gauge({
        name: p + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill((labels, value) => this.set(labels, value));
        },
      });
    };
    const counter = (name: string, help: string, labelNames: readonly string[], fill: (inc: (labels: Record<string, string>, value: number) => void) => void): void => {
      new prom.Counter({
        name: p + name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          fill((labels, value) => this.inc(labels, value));
        },
      });
    };

    // ── device health ──
    gauge('devices_monitored', 'Devices the health monitor watches.', ['tenant'], (set) => {
      for (const tenant of tenants()) set({ tenant }, health.devices({ tenantId: tenant }).length);
    });
    gauge('devices_online', 'Watched devices heard from within the heartbeat interval + grace.', ['tenant'], (set) => {
      for (const tenant of tenants()) set({ tenant }, health.devices({ tenantId: tenant }).filter((d) => d.online).length);
    });
    gauge('devices_silent', 'Watched devices silent for silentAfterMs or more.', ['tenant'], (set) => {
      for (const tenant of tenants()) set({ tenant }, health.devices({ tenantId: tenant }).filter((d) => d.silent).length);
    });
    gauge('devices_by_health', 'Watched devices by their latest health status.', ['tenant', 'health'], (set) => {
      for (const tenant of tenants()) {
        const counts = new Map<string, number>(HEALTH_STATUSES.map((s) => [s, 0]));
        for (const d of health.devices({ tenantId: tenant })) counts.set(d.health ?? 'unknown', (counts.get(d.health ?? 'unknown') ?? 0) + 1);
        for (const [status, n] of counts) set({ tenant, health: status }, n);
      }
    });
    gauge('devices_by_firmware', 'Watched devices by reported firmware version.', ['tenant', 'version'], (set) => {
      for (const tenant of tenants()) {
        const counts = new Map<string, number>();
        for (const d of health.devices({ tenantId: tenant })) counts.set(d.firmwareVersion ?? 'unknown', (counts.get(d.firmwareVersion ?? 'unknown') ?? 0) + 1);
        for (const [version, n] of counts) set({ tenant, version }, n);
      }
    });
    const stat = (name: string, help: string, pick: (d: ReturnType<HealthMonitor['devices']>[number], now: number) => number | undefined): void => {
      gauge(name, help, ['tenant', 'stat'], (set) => {
        const now = clock.now();
        for (const tenant of tenants()) {
          let min = Infinity;
          let max = -Infinity;
          let sum = 0;
          let n = 0;
          for (const d of health.devices({ tenantId: tenant })) {
            const v = pick(d, now);
            if (v === undefined) continue;
            if (v < min) min = v;
            if (v > max) max = v;
            sum += v;
            n++;
          }
          if (n === 0) continue;
          set({ tenant, stat: 'min' }, min);
          set({ tenant, stat: 'mean' }, sum / n);
          set({ tenant, stat: 'max' }, max);
        }
      });
    };
    stat('devices_battery_pct', 'Latest battery level of the watched devices that report one, % (min, mean, max).', (d) => d.batteryPct);
    stat('devices_rssi_dbm', 'Latest signal strength of the watched devices that report one, dBm (min, mean, max).', (d) => d.rssiDbm);
    stat('devices_heartbeat_age_seconds', 'Time since each watched device was last heard from, s (min, mean, max).', (d, now) => Math.max(0, now - d.lastSeen) / 1000);
    if (this.#perDevice) {
      const each = (name: string, help: string, pick: (d: ReturnType<HealthMonitor['devices']>[number], now: number) => number | undefined): void => {
        gauge(name, help, ['tenant', 'device'], (set) => {
          const now = clock.now();
          for (const tenant of tenants()) {
            for (const d of health.devices({ tenantId: tenant })) {
              const v = pick(d, now);
              if (v !== undefined) set({ tenant, device: d.deviceId }, v);
            }
          }
        });
      };
      each('device_battery_pct', 'Latest battery level, %.', (d) => d.batteryPct);
      each('device_rssi_dbm', 'Latest signal strength, dBm.', (d) => d.rssiDbm);
      each('device_heartbeat_age_seconds', 'Time since the device was last heard from, s.', (d, now) => Math.max(0, now - d.lastSeen) / 1000);
    }

    // ── network ──
    counter('messages_total', 'Heartbeat and telemetry messages processed.', ['tenant', 'kind'], (inc) => {
      for (const tenant of tenants()) {
        const n = health.network({ tenantId: tenant });
        inc({ tenant, kind: 'heartbeat' }, n.heartbeats);
        inc({ tenant, kind: 'telemetry' }, n.telemetry);
      }
    });
    counter('message_bytes_total', 'Payload bytes of the processed messages.', ['tenant'], (inc) => {
      for (const tenant of tenants()) inc({ tenant }, health.network({ tenantId: tenant }).bytes);
    });
    counter('messages_rejected_total', 'Messages refused (malformed, unregistered device).', ['tenant'], (inc) => {
      for (const tenant of tenants()) inc({ tenant }, health.network({ tenantId: tenant }).rejected);
    });
    counter('messages_throttled_total', 'Messages not processed because of a quota.', ['tenant'], (inc) => {
      for (const tenant of tenants()) inc({ tenant }, health.network({ tenantId: tenant }).throttled);
    });
    counter('messages_lost_total', 'Messages missing from the devices’ sequence numbers.', ['tenant'], (inc) => {
      for (const tenant of tenants()) inc({ tenant }, health.network({ tenantId: tenant }).lost);
    });
    gauge('message_delivery_ratio', 'Processed ÷ (processed + lost) messages since the start.', ['tenant'], (set) => {
      for (const tenant of tenants()) set({ tenant }, health.network({ tenantId: tenant }).deliveryRate);
    });
    gauge('message_latency_ms', 'Message latency (arrival − the message’s ts) percentiles over the last one to two latency windows, ms.', ['tenant', 'quantile'], (set) => {
      for (const tenant of tenants()) {
        const n = health.network({ tenantId: tenant });
        if (n.latencySamples === 0) continue;
        for (const [q, key] of QUANTILES) set({ tenant, quantile: q }, n.latency[key]);
      }
    });

    // ── business SLAs ──
    gauge('sla_availability_pct', 'Share of the watched devices online now, %.', ['tenant'], (set) => {
      for (const tenant of tenants()) {
        const devices = health.devices({ tenantId: tenant });
        if (devices.length > 0) set({ tenant }, (100 * devices.filter((d) => d.online).length) / devices.length);
      }
    });
    if (alerts !== undefined) {
      gauge('sla_uptime_pct', 'Time-weighted share of the watched devices online over the alert evaluations so far, %.', ['tenant'], (set) => {
        for (const tenant of tenants()) set({ tenant }, alerts.uptimePct(tenant));
      });
      gauge('alerts_active', 'Pending and firing alerts.', ['severity', 'phase'], (set) => {
        for (const severity of ['critical', 'warning', 'info']) {
          for (const phase of ['pending', 'firing']) set({ severity, phase }, alerts.active.filter((a) => a.severity === severity && a.phase === phase).length);
        }
      });
      gauge('alert_response_seconds_mean', 'Mean time from firing to acknowledgement of the acknowledged alerts, s.', [], (set) => set({}, alerts.responseSla().meanResponseMs / 1000));
      gauge('alert_response_compliance_pct', 'Share of fired alerts answered within their severity’s target, %.', [], (set) => set({}, alerts.responseSla().compliancePct));
    }

    // ── usage (billing) ──
    if (quotas !== undefined) {
      counter('usage_total', 'Metered usage per tenant: messages, bytes, shadow updates, API calls, throttled requests.', ['tenant', 'kind'], (inc) => {
        for (const t of quotas.meter().tenants) {
          for (const kind of ['messages', 'bytes', 'shadowUpdates', 'apiCalls', 'throttled'] as const) inc({ tenant: t.tenantId, kind }, t[kind]);
        }
      });
      gauge('stored_bytes', 'Bytes of shadow documents the tenant stores (as written by this instance).', ['tenant'], (set) => {
        for (const tenant of quotas.tenants) set({ tenant }, quotas.storedBytes(tenant));
      });
    }
    return registry;
  }
}
