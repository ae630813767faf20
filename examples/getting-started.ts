/**
 * Getting started: the cloud tier and three virtual ESP32s on the in-process broker and a
 * simulated clock — enrollment, a configuration pushed through the shadow, a command, and what
 * the health monitor and registry know afterwards. docs/getting-started.md walks through it.
 *
 *   npx tsx examples/getting-started.ts
 */
import { randomBytes } from 'node:crypto';
import { SimulatedClock } from 'fleetkit';
import { createFleet } from 'fleetkit/cloud';
import { VirtualDevice } from 'fleetkit/device';
import { defineProvisioningTemplate, deriveDeviceKey } from 'fleetkit/lifecycle';
import { MemoryBroker, MemoryTransport } from 'fleetkit/memory';

const acme = { tenantId: 'acme' };
const clock = new SimulatedClock(Date.UTC(2026, 0, 1, 8));
const broker = new MemoryBroker(); // swap for an MqttTransport on mosquitto: nothing else changes
const settle = async (): Promise<void> => {
  for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
};
/** Moves the simulated clock in 1-second steps, letting messages flow between steps. */
const run = async (ms: number): Promise<void> => {
  for (let t = 0; t < ms; t += 1_000) {
    clock.advance(1_000);
    await settle();
  }
};

// 1. The cloud tier: shadows, registry (provisioning), health, commands and rollouts on one transport.
const fleet = await createFleet({
  transport: new MemoryTransport({ broker, clientId: 'backend' }),
  clock,
  template: defineProvisioningTemplate({ name: 'sensor-v1', desiredConfig: { telemetryIntervalMs: 30_000 } }),
  health: { certificates: false },
  closeTransport: true,
});
const groupKey = randomBytes(32).toString('base64');
await fleet.registry.putEnrollmentGroup(acme, { groupId: 'lab', key: groupKey, tenantId: 'acme' });

// 2. Three virtual ESP32s enroll with a key derived from the group key (the third with a wrong one).
const devices = ['esp-1', 'esp-2', 'esp-3'].map(
  (id, i) =>
    new VirtualDevice({
      transport: new MemoryTransport({ broker, clientId: id, clock }),
      clock,
      tenantId: 'acme',
      deviceId: id,
      seed: i + 1,
      credentials: { method: 'symmetric-key', groupId: 'lab', deviceKey: deriveDeviceKey(i < 2 ? groupKey : randomBytes(32).toString('base64'), id) },
    }),
);
// boot() provisions over the broker: start them all, let the messages flow, then read the outcomes.
const booting = devices.map((d) => d.boot().then(() => 'ACTIVE', (e: { code?: string }) => `refused (${e.code})`));
await settle();
for (const [i, outcome] of (await Promise.all(booting)).entries()) console.log(`${devices[i]!.agent.deviceId}: ${outcome}`);
const live = devices.filter((d) => d.state === 'ACTIVE');

// 3. A configuration change through the shadow: the devices get the delta, apply it and report it.
await fleet.shadows.update(acme, 'esp-1', { state: { desired: { telemetryIntervalMs: 60_000 } } });
await run(20_000);
const shadow = await fleet.shadows.get(acme, 'esp-1');
console.log('esp-1 reported telemetryIntervalMs =', (shadow.state.reported as Record<string, unknown> | undefined)?.['telemetryIntervalMs'], '| delta open:', shadow.state.delta !== undefined);

// 4. A command, acknowledged by the device.
const command = await fleet.commands.sendCommand(acme, 'esp-2', 'led_blink', { times: 3 });
await run(2_000);
console.log(`command ${command.name} to esp-2:`, (await fleet.commands.get(acme, command.commandId))?.status);

// 5. What the cloud knows: the registry and the health monitor.
await run(60_000);
const stats = await fleet.health.stats(acme);
console.log(`registry: ${stats.total} devices, ${stats.online} online, by state ${JSON.stringify(stats.byState)}, by firmware ${JSON.stringify(stats.byFirmware)}`);

await Promise.all(live.map((d) => d.shutdown()));
await fleet.close();
