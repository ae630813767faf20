/**
 * A fleet backend on a MemoryBroker with a SimulatedClock — registry, effect runner, memory
 * stores — plus scripted devices on plain MemoryTransports that speak fleetkit's topics.
 */
import { SimulatedClock } from '../../src/clock.js';
import { EffectRunner } from '../../src/cloud/effect-runner.js';
import { FleetRegistry, type FleetRegistryOptions } from '../../src/cloud/registry.js';
import { defineProvisioningTemplate, type ProvisioningTemplate } from '../../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import type { Transport } from '../../src/memory.js';

import { T0, waitFor } from './harness.js';

export { T0, waitFor };

/** The template the tests provision with: a desired configuration and a home rule. */
export const TEMPLATE: ProvisioningTemplate = defineProvisioningTemplate({
  name: 'fleet-v1',
  desiredConfig: { reportIntervalS: 60 },
  policies: ['{{TenantId}}-device'],
  home: { rules: [], fallback: { region: 'eu-central-1', endpoint: 'mqtts://eu.iot.example.com:8883' }, topics: { alarms: 'dt/{{TenantId}}/{{DeviceId}}/alarms' } },
});

/** One message a scripted device received. */
export interface Got {
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

/** A scripted device. */
export interface ScriptedDevice {
  readonly transport: Transport;
  readonly inbox: Got[];
  publish(topic: string, payload: unknown): Promise<void>;
  /** Waits for the next message (after inbox index `from`) matching `pred`. */
  next(pred: (m: Got) => boolean, from?: number): Promise<Got>;
}

/** A few quiet macrotask turns: every delivery and every service step has run. */
export async function settle(busy: () => boolean = () => false): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < 200_000 && quiet < 6; i++) {
    await new Promise((r) => setImmediate(r));
    quiet = busy() ? 0 : quiet + 1;
  }
}

export interface FleetRig {
  readonly clock: SimulatedClock;
  readonly broker: MemoryBroker;
  readonly stores: ReturnType<typeof createMemoryStores>;
  readonly runner: EffectRunner;
  readonly registry: FleetRegistry;
  readonly backend: Transport;
  /** A connected device transport subscribed to `filters`. */
  device(clientId: string, filters: readonly string[]): Promise<ScriptedDevice>;
  close(): Promise<void>;
}

export async function fleetRig(options: Partial<Omit<FleetRegistryOptions, 'transport' | 'devices' | 'audit'>> = {}, start = T0): Promise<FleetRig> {
  const clock = new SimulatedClock(start);
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const open: Transport[] = [];
  const backend = new MemoryTransport({ broker, clientId: 'fleet-backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  open.push(backend);
  await backend.connect();
  const runner = new EffectRunner({ devices: stores.devices, audit: stores.audit, shadows: stores.shadows });
  const registry = new FleetRegistry({ transport: backend, devices: stores.devices, audit: stores.audit, effects: runner, clock, template: TEMPLATE, ...options });
  await registry.start();
  return {
    clock,
    broker,
    stores,
    runner,
    registry,
    backend,
    async device(clientId, filters) {
      const transport = new MemoryTransport({ broker, clientId, queue: { maxMessages: 100_000 }, maxInFlight: 10_000 });
      open.push(transport);
      await transport.connect();
      const inbox: Got[] = [];
      const decoder = new TextDecoder();
      for (const f of filters) {
        await transport.subscribe(f, (m) => inbox.push({ topic: m.topic, payload: JSON.parse(decoder.decode(m.payload)) as Record<string, unknown> }), { qos: 1 });
      }
      return {
        transport,
        inbox,
        publish: (topic, payload) => transport.publish(topic, typeof payload === 'string' || payload instanceof Uint8Array ? payload : JSON.stringify(payload), { qos: 1 }),
        async next(pred, from = 0) {
          let found: Got | undefined;
          await waitFor(() => {
            found = inbox.slice(from).find(pred);
            return found !== undefined;
          }, 'a message');
          return found as Got;
        },
      };
    },
    async close() {
      await registry.stop();
      await Promise.allSettled(open.map((t) => t.close()));
    },
  };
}
