/**
 * The whole cloud tier on a MemoryBroker with a SimulatedClock — registry (provisioning), shadow
 * service (also the registry's desired-state writer), health monitor and command service — for
 * device agents to run against.
 */
import { randomBytes } from 'node:crypto';
import { SimulatedClock } from '../../src/clock.js';
import { CommandService, EffectRunner, FleetRegistry, HealthMonitor, ShadowService } from '../../src/cloud/index.js';
import { defineProvisioningTemplate, deriveDeviceKey } from '../../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import type { Transport } from '../../src/memory.js';
import { DeviceAgent, type DeviceAgentOptions } from '../../src/device/index.js';

export const T0 = 1_700_000_000_000;
export const ctx = { tenantId: 'acme' };
export const GROUP_KEY = randomBytes(32).toString('base64');

/** Heartbeats every 10 s; the monitor calls a device offline after 15 s of silence. */
export const HEARTBEAT_MS = 10_000;

export interface CloudRig {
  readonly clock: SimulatedClock;
  readonly broker: MemoryBroker;
  readonly stores: ReturnType<typeof createMemoryStores>;
  readonly registry: FleetRegistry;
  readonly shadows: ShadowService;
  readonly health: HealthMonitor;
  readonly commands: CommandService;
  /** A connected backend transport (for observing and for hostile publishes). */
  readonly backend: Transport;
  /** A device transport that does not reconnect by itself (tests decide when it is back). */
  transport(clientId: string): MemoryTransport;
  /** The transport made for `clientId`. */
  transportOf(clientId: string): MemoryTransport;
  /** An agent provisioned by symmetric key (registration id = device id). */
  agent(deviceId: string, options?: Partial<DeviceAgentOptions>): Promise<DeviceAgent>;
  /** Lets every delivery and service step run (macrotask turns; no virtual time passes). */
  settle(): Promise<void>;
  /** Advances virtual time in steps of `stepMs`, settling after each. */
  run(ms: number, stepMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
}

export async function cloudRig(start = T0): Promise<CloudRig> {
  const clock = new SimulatedClock(start);
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const open: Transport[] = [];
  const byId = new Map<string, MemoryTransport>();
  const backend = new MemoryTransport({ broker, clientId: 'fleet-backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535, clock });
  open.push(backend);
  await backend.connect();
  const shadows = new ShadowService({ transport: backend, shadows: stores.shadows, devices: stores.devices, clock });
  const effects = new EffectRunner({ devices: stores.devices, audit: stores.audit, shadows: stores.shadows, desired: shadows });
  const template = defineProvisioningTemplate({ name: 'fleet-v1', desiredConfig: { reportIntervalS: 60 } });
  const registry = new FleetRegistry({ transport: backend, devices: stores.devices, audit: stores.audit, effects, clock, template });
  const health = new HealthMonitor({ transport: backend, devices: stores.devices, registry, clock, heartbeat: { intervalMs: HEARTBEAT_MS, graceMs: 5_000 }, certificates: false });
  const commands = new CommandService({ transport: backend, commands: stores.commands, devices: stores.devices, presence: health, effects, clock });
  await shadows.start();
  await registry.start();
  await health.start();
  await commands.start();
  await registry.putEnrollmentGroup(ctx, { groupId: 'field', key: GROUP_KEY, tenantId: 'acme' });
  const rig: CloudRig = {
    clock,
    broker,
    stores,
    registry,
    shadows,
    health,
    commands,
    backend,
    transport(clientId) {
      const t = new MemoryTransport({ broker, clientId, clock, autoReconnect: false, queue: { maxMessages: 10_000 } });
      open.push(t);
      byId.set(clientId, t);
      return t;
    },
    transportOf(clientId) {
      const t = byId.get(clientId);
      if (t === undefined) throw new Error(`no transport ${clientId}`);
      return t;
    },
    async agent(deviceId, options = {}) {
      const transport = rig.transport(deviceId);
      await transport.connect();
      const agent = new DeviceAgent({
        transport,
        clock,
        tenantId: 'acme',
        deviceId,
        credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: deriveDeviceKey(GROUP_KEY, deviceId) },
        heartbeatIntervalMs: HEARTBEAT_MS,
        ...options,
      });
      const provisioned = agent.provision();
      await settle();
      await provisioned;
      return agent;
    },
    settle,
    async run(ms, stepMs = 1_000) {
      for (let t = 0; t < ms; t += stepMs) {
        clock.advance(Math.min(stepMs, ms - t));
        await settle();
      }
    },
    async close() {
      await commands.stop();
      await health.stop();
      await registry.stop();
      await shadows.stop();
      await Promise.allSettled(open.map((t) => t.close()));
    },
  };
  return rig;
}
