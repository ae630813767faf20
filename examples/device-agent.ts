/**
 * Virtual ESP32s against the cloud tier on the in-process broker and a simulated clock: they
 * provision themselves by symmetric key, take a configuration from the shadow, answer commands,
 * keep telemetry while offline and deliver it when back.
 *
 *   npx tsx examples/device-agent.ts
 */
import { SimulatedClock, defineProvisioningTemplate, deriveDeviceKey } from 'fleetkit';
import { createFleet } from 'fleetkit/cloud';
import { VirtualDevice } from 'fleetkit/device';
import { MemoryBroker, MemoryTransport } from 'fleetkit/memory';

const clock = new SimulatedClock(Date.UTC(2026, 0, 1, 12));
const broker = new MemoryBroker();
const acme = { tenantId: 'acme' };
const groupKey = Buffer.alloc(32, 7).toString('base64');
const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 100_000 } });
const fleet = await createFleet({
  transport: backend,
  clock,
  template: defineProvisioningTemplate({ name: 'lab', desiredConfig: { telemetryIntervalMs: 30_000 } }),
  health: { heartbeat: { intervalMs: 10_000, graceMs: 5_000 }, certificates: false },
});
await fleet.registry.putEnrollmentGroup(acme, { groupId: 'lab', key: groupKey, tenantId: 'acme' });
const telemetry = new Map<string, number[]>(); // sequence numbers received, by device
await backend.subscribe('dt/acme/+/telemetry', (m) => {
  const id = m.topic.split('/')[2] as string;
  const { seq } = JSON.parse(new TextDecoder().decode(m.payload)) as { seq: number };
  telemetry.set(id, [...(telemetry.get(id) ?? []), seq]);
}, { qos: 1 });

/** Lets deliveries and service steps run between clock steps. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 8; i++) await new Promise((r) => setImmediate(r));
};
const run = async (ms: number): Promise<void> => {
  for (let t = 0; t < ms; t += 5_000) {
    clock.advance(5_000);
    await settle();
  }
};

// Three virtual ESP32s, each on its own connection, provisioning on first boot.
const devices: VirtualDevice[] = [];
const links = new Map<string, MemoryTransport>();
for (let i = 1; i <= 3; i++) {
  const deviceId = `esp32-00${i}`;
  const transport = new MemoryTransport({ broker, clientId: deviceId, clock, autoReconnect: false });
  links.set(deviceId, transport);
  const device = new VirtualDevice({
    transport,
    clock,
    tenantId: 'acme',
    deviceId,
    seed: i,
    credentials: { method: 'symmetric-key', groupId: 'lab', deviceKey: deriveDeviceKey(groupKey, deviceId) },
  });
  const booted = device.boot();
  await settle();
  await booted;
  console.log(`${deviceId}: ${device.state} (${device.lifecycleState}), config ${JSON.stringify(device.agent.config)}`);
  devices.push(device);
}
const [first] = devices as [VirtualDevice];

// A configuration from the cloud: the device applies it and reports it back.
await fleet.shadows.update(acme, 'esp32-001', { state: { desired: { telemetryIntervalMs: 10_000 } } });
await run(60_000);
console.log(`esp32-001 telemetry every ${first.agent.telemetryIntervalMs} ms; shadow delta: ${JSON.stringify((await fleet.shadows.get(acme, 'esp32-001')).state.delta ?? {})}`);

// A command, acknowledged in the command store's vocabulary.
const blink = await fleet.commands.sendCommand(acme, 'esp32-002', 'led_blink', { times: 2 });
await run(5_000);
const done = await fleet.stores.commands.getCommand(acme, blink.commandId);
console.log(`led_blink → ${done?.status} ${JSON.stringify(done?.result)}`);

// Offline for two minutes: telemetry waits in the buffer and is delivered on reconnect.
broker.disconnect('esp32-001');
await run(120_000);
console.log(`esp32-001 offline: ${first.agent.stats.telemetryBuffered} telemetry messages buffered`);
const before = telemetry.get('esp32-001')?.length ?? 0;
await links.get('esp32-001')?.connect();
await settle();
const seqs = telemetry.get('esp32-001') ?? [];
console.log(`esp32-001 back online: ${seqs.length - before} buffered messages delivered, ${first.agent.stats.telemetryBuffered} left; sequence numbers ${seqs.every((s, i) => s === i + 1) ? 'complete, none duplicated' : 'with gaps'}`);

for (const d of devices) await d.shutdown();
await fleet.close();
await backend.close();

