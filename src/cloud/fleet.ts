/**
 * `createFleet`: the cloud tier wired together over one transport, one set of stores and one clock.
 */
import { systemClock, type Clock } from '../clock.js';
import { FleetError } from '../errors.js';
import type { Transport } from '../transport/types.js';
import { createMemoryStores, type FleetStores } from '../store/stores.js';
import { CommandService, type CommandServiceOptions } from './commands.js';
import { EffectRunner, type PolicyPort } from './effect-runner.js';
import { HealthMonitor, type HealthMonitorOptions } from './health-monitor.js';
import { FleetRegistry, type FleetRegistryOptions } from './registry.js';
import { FirmwareCatalog } from './firmware-catalog.js';
import { RolloutController, type RolloutControllerOptions } from './rollout-controller.js';
import { ShadowService, type ShadowServiceOptions } from './shadow-service.js';
import { QuotaEnforcer, type QuotaEnforcerOptions } from '../tenancy/enforcer.js';
import { FleetAlerts, type FleetAlertsOptions } from './fleet-alerts.js';
import { FleetMetrics, type FleetMetricsOptions, type MetricsHandler } from './fleet-metrics.js';

/** Options of {@link createFleet}: what every service shares, then each service's own settings. */
export interface CreateFleetOptions {
  /**
   * The backend's transport (a `MemoryTransport` on a `MemoryBroker`, or an `MqttTransport`). It is
   * connected when it is not yet; {@link Fleet.close} leaves it open unless `closeTransport` is set.
   */
  readonly transport: Transport;
  /** The stores (default: a fresh in-memory set from `createMemoryStores()`). */
  readonly stores?: FleetStores;
  /** The clock every service runs on (default: the system clock; a `SimulatedClock` in simulations). */
  readonly clock?: Clock;
  /** The provisioning template (or a resolver per request) the registry provisions with. */
  readonly template: FleetRegistryOptions['template'];
  /** Attaches and detaches credential policies in the broker or cloud IAM, when given. */
  readonly policies?: PolicyPort;
  /** Settings of the {@link ShadowService} (the shared parts come from above). */
  readonly shadows?: Omit<ShadowServiceOptions, 'transport' | 'shadows' | 'devices' | 'clock' | 'quotas'>;
  /** Settings of the {@link FleetRegistry}. */
  readonly registry?: Omit<FleetRegistryOptions, 'transport' | 'devices' | 'audit' | 'effects' | 'clock' | 'template'>;
  /** Settings of the {@link HealthMonitor}. */
  readonly health?: Omit<HealthMonitorOptions, 'transport' | 'devices' | 'registry' | 'clock' | 'quotas'>;
  /** Settings of the {@link CommandService}. */
  readonly commands?: Omit<CommandServiceOptions, 'transport' | 'commands' | 'devices' | 'clock' | 'presence' | 'effects'>;
  /** The firmware catalog rollouts send from (default: a new, empty {@link FirmwareCatalog}). */
  readonly firmware?: FirmwareCatalog;
  /** Settings of the {@link RolloutController} (its presence signal is the health monitor). */
  readonly rollouts?: Omit<RolloutControllerOptions, 'transport' | 'jobs' | 'devices' | 'catalog' | 'clock' | 'presence' | 'effects'>;
  /**
   * Tenants whose unfinished rollouts this instance takes over from the job store when it starts
   * (see {@link RolloutController.recover}): after a restart, pass the tenants the previous
   * instance drove. @defaultValue none
   */
  readonly recoverRollouts?: readonly string[];
  /**
   * Run as one of several instances on one broker: the shadow service, the registry and the
   * command service subscribe through MQTT shared subscriptions of this group, so the instances
   * split the inbound load; use shared (durable) stores. The health monitor splits the heartbeats
   * too when it has shared presence (`health: { presence: { store, leader } }`: heartbeat state in
   * the store, the silence sweep on the leader); without it, it keeps per-instance presence and
   * subscribes to every heartbeat. The rollout controller hears every job
   * status and acts on those of the rollouts it drives (the instance that created or recovered
   * them); the job store's compare-and-set keeps a second instance from dispatching any device
   * twice.
   */
  readonly shareGroup?: string;
  /** Closes the transport in {@link Fleet.close} too (default `false`: the caller owns it). */
  readonly closeTransport?: boolean;
  /**
   * Per-tenant and per-device quotas, enforced and metered by the shadow service (shadow updates,
   * API calls, stored shadow bytes) and the health monitor (heartbeat and telemetry messages):
   * a {@link QuotaEnforcer}, or its options to make one. See docs/operations.md.
   * @defaultValue none: nothing is throttled or metered
   */
  readonly quotas?: QuotaEnforcer | QuotaEnforcerOptions;
  /**
   * Evaluate the alert rules on the clock (`true` for the defaults, or the rules and period):
   * {@link Fleet.alerts} then emits `alert` events by itself. Without it the rules run only when
   * `fleet.alerts.evaluate()` is called. @defaultValue off
   */
  readonly alerts?: boolean | Omit<FleetAlertsOptions, 'health' | 'clock'>;
}

/** A running cloud tier: the services, the stores and clock they share, and `close()`. */
export interface Fleet {
  /** The AWS-compatible shadow service (device topics and the application API). */
  readonly shadows: ShadowService;
  /** The registry: provisioning over the wire, lifecycle transitions, queries. */
  readonly registry: FleetRegistry;
  /** Heartbeats, telemetry, health, silence and certificate alerts, fleet statistics. */
  readonly health: HealthMonitor;
  /** Commands with expiry, queued for offline devices, acknowledgements tracked. */
  readonly commands: CommandService;
  /** Staged OTA rollouts: job documents out, status updates in, automatic abort and rollback. */
  readonly rollouts: RolloutController;
  /** The firmware images and signing keys rollouts send from. */
  readonly firmware: FirmwareCatalog;
  /** Executes the core's lifecycle effects for every service (one place). */
  readonly effects: EffectRunner;
  /** The stores the services run on. */
  readonly stores: FleetStores;
  /** The clock the services run on. */
  readonly clock: Clock;
  /** The quotas and usage meter the services enforce and count on (`undefined` without `quotas`). */
  readonly quotas: QuotaEnforcer | undefined;
  /** The alert rules over the health monitor's measurements: an `alert` event stream (see `DEFAULT_FLEET_ALERT_RULES`). */
  readonly alerts: FleetAlerts;
  /**
   * A request handler for any node:http server answering with the Prometheus text exposition of
   * the three monitoring tiers, the SLAs and the usage meter (needs the optional peer dependency
   * `prom-client`; without it the handler answers 500 saying so). Handlers share one registry,
   * made with the first call's options.
   *
   * @example
   * ```ts
   * http.createServer(fleet.metricsHandler()).listen(9464);
   * ```
   */
  metricsHandler(options?: FleetMetricsOptions): MetricsHandler;
  /** The Prometheus text exposition, read now (needs `prom-client`). */
  metrics(): Promise<string>;
  /**
   * Stops every service (in the reverse order of starting), waiting for work in progress, and
   * detaches them from each other. Idempotent.
   */
  close(): Promise<void>;
}

function check(options: CreateFleetOptions): void {
  const bad = (what: string): never => {
    throw new FleetError('INVALID_ARGUMENT', `createFleet: ${what}`, { status: 400 });
  };
  if (typeof options !== 'object' || options === null) bad('pass { transport, template, stores?, clock?, … }');
  if (typeof options.transport?.subscribe !== 'function') bad('transport must be a Transport (MemoryTransport or MqttTransport)');
  if (options.template === undefined || options.template === null) bad('template is required: the provisioning template (or resolver) devices are provisioned with');
  if (options.stores !== undefined) {
    const s = options.stores as Partial<Record<keyof FleetStores, unknown>> | null;
    if (typeof s !== 'object' || s === null) return bad('stores must be { shadows, devices, jobs, commands, audit }');
    for (const key of ['shadows', 'devices', 'jobs', 'commands', 'audit'] as const) {
      if (typeof s[key] !== 'object' || s[key] === null) bad(`stores.${key} is missing`);
    }
  }
  if (options.clock !== undefined && typeof options.clock?.now !== 'function') bad('clock must be a Clock (systemClock or a SimulatedClock)');
  if (options.quotas !== undefined && (typeof options.quotas !== 'object' || options.quotas === null)) bad('quotas must be a QuotaEnforcer or its options');
  if (options.alerts !== undefined && typeof options.alerts !== 'boolean' && (typeof options.alerts !== 'object' || options.alerts === null)) bad('alerts must be true, false or { rules?, evaluateEveryMs?, … }');
  if (options.firmware !== undefined && !(options.firmware instanceof FirmwareCatalog)) bad('firmware must be a FirmwareCatalog');
  const recover: unknown = options.recoverRollouts;
  if (recover !== undefined && (!Array.isArray(recover) || !recover.every((t) => typeof t === 'string' && t.length > 0))) bad('recoverRollouts must be an array of tenant ids');
}

/**
 * Starts the cloud tier on one transport: a {@link ShadowService}, a {@link FleetRegistry} (with
 * an {@link EffectRunner} whose `set-desired` effects go through the shadow service, so devices
 * see the delta), a {@link HealthMonitor}, a {@link CommandService} that delivers queued
 * commands when the health monitor sees a device come online, and a {@link RolloutController}
 * that sends firmware from a {@link FirmwareCatalog} in stages (job documents go to online
 * devices at dispatch and to the others when they come online or ask).
 *
 * Every service subscribes before `createFleet` resolves, so a device may publish as soon as it
 * has. Services are independent of the transport kind and of the store implementation: the same
 * call runs on a `MemoryBroker` with a `SimulatedClock` and on mosquitto with the system clock.
 *
 * @example
 * ```ts
 * const broker = new MemoryBroker();
 * const transport = new MemoryTransport({ broker, clientId: 'backend' });
 * const fleet = await createFleet({ transport, template });
 * await fleet.registry.register({ tenantId: 'acme' }, { deviceId: 'pump-7' });
 * await fleet.shadows.update({ tenantId: 'acme' }, 'pump-7', { state: { desired: { rpm: 900 } } });
 * await fleet.close();
 * ```
 * @throws FleetError `INVALID_ARGUMENT` for missing or malformed options, `INVALID_INPUT` for a
 *   malformed quota or alert rule (nothing is started).
 */
export async function createFleet(options: CreateFleetOptions): Promise<Fleet> {
  check(options);
  const { transport } = options;
  const stores = options.stores ?? createMemoryStores();
  const clock = options.clock ?? systemClock;
  const quotas = options.quotas === undefined || options.quotas instanceof QuotaEnforcer ? options.quotas : new QuotaEnforcer(options.quotas);
  await transport.connect(); // resolves at once when already online

  const share = options.shareGroup === undefined ? {} : { shareGroup: options.shareGroup };
  const enforce = quotas === undefined ? {} : { quotas };
  const shadows = new ShadowService({ ...share, ...options.shadows, ...enforce, transport, shadows: stores.shadows, devices: stores.devices, clock });
  const effects = new EffectRunner({
    devices: stores.devices,
    audit: stores.audit,
    shadows: stores.shadows,
    desired: shadows,
    ...(options.policies === undefined ? {} : { policies: options.policies }),
  });
  const registry = new FleetRegistry({ ...share, ...options.registry, transport, devices: stores.devices, audit: stores.audit, effects, clock, template: options.template });
  const health = new HealthMonitor({ ...(options.health?.presence === undefined ? {} : share), ...options.health, ...enforce, transport, devices: stores.devices, registry, clock });
  const commands = new CommandService({ ...share, ...options.commands, transport, commands: stores.commands, devices: stores.devices, clock, presence: health, effects });
  const firmware = options.firmware ?? new FirmwareCatalog();
  const rollouts = new RolloutController({ ...options.rollouts, transport, jobs: stores.jobs, devices: stores.devices, catalog: firmware, clock, presence: health, effects });

  const alertOptions = typeof options.alerts === 'object' ? options.alerts : {};
  const alerts = new FleetAlerts({ ...alertOptions, health, clock });
  let exposition: FleetMetrics | undefined;
  const metricsOf = (o?: FleetMetricsOptions): FleetMetrics => {
    exposition ??= new FleetMetrics({ health, alerts, quotas, clock }, o);
    return exposition;
  };

  const started: { close(): Promise<void> }[] = [];
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      const errors: unknown[] = [];
      for (const service of started.reverse()) {
        try {
          await service.close();
        } catch (e) {
          errors.push(e);
        }
      }
      if (options.closeTransport === true) await transport.close();
      if (errors.length > 0) throw errors[0];
    })();
    return closing;
  };
  try {
    await shadows.start();
    started.push({ close: () => shadows.stop() });
    await registry.start();
    started.push({ close: () => registry.stop() });
    await health.start();
    started.push(health);
    await commands.start();
    started.push(commands);
    await rollouts.start();
    started.push(rollouts);
    for (const tenantId of options.recoverRollouts ?? []) await rollouts.recover({ tenantId });
    if (options.alerts !== undefined && options.alerts !== false) {
      alerts.start();
      started.push({ close: async () => alerts.stop() });
    }
  } catch (e) {
    await close().catch(() => undefined);
    throw e;
  }
  return {
    shadows,
    registry,
    health,
    commands,
    rollouts,
    firmware,
    effects,
    stores,
    clock,
    quotas,
    alerts,
    metricsHandler: (o) => metricsOf(o).handler(),
    metrics: () => metricsOf().text(),
    close,
  };
}
