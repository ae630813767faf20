/**
 * A fleet backend on the in-process broker: a device enrolls with a symmetric key over the
 * provisioning topics, a forged enrollment is refused, the health monitor watches heartbeats, a
 * command waits while the device is silent and is delivered when it is back.
 *
 *   npx tsx examples/cloud-provisioning.ts
 */
import { randomBytes } from 'node:crypto';
import { SimulatedClock } from 'fleetkit';
import { CommandService, EffectRunner, FleetRegistry, HealthMonitor } from 'fleetkit/cloud';
import { computeEnrollmentProof, defineProvisioningTemplate, deriveDeviceKey } from 'fleetkit/lifecycle';
import { MemoryBroker, MemoryTransport, createMemoryStores } from 'fleetkit/memory';

const clock = new SimulatedClock(Date.UTC(2026, 0, 1, 12));
const broker = new MemoryBroker();
const stores = createMemoryStores();
const acme = { tenantId: 'acme' };
const turn = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

const backend = new MemoryTransport({ broker, clientId: 'fleet-backend' });
await backend.connect();
const effects = new EffectRunner({ devices: stores.devices, audit: stores.audit, shadows: stores.shadows });
const template = defineProvisioningTemplate({ name: 'sensors-v1', desiredConfig: { reportIntervalS: 60 }, home: { rules: [], fallback: { region: 'eu-central-1', endpoint: 'mqtts://eu.iot.example.com:8883' }, topics: {} } });
const registry = new FleetRegistry({ transport: backend, devices: stores.devices, audit: stores.audit, effects, clock, template });
const health = new HealthMonitor({ transport: backend, devices: stores.devices, registry, clock, certificates: false });
const commands = new CommandService({ transport: backend, commands: stores.commands, devices: stores.devices, presence: health, effects, clock });
health.on('alert', (a) => console.log(`alert: ${a.type} ${a.deviceId} at +${(a.at - Date.UTC(2026, 0, 1, 12)) / 1000} s`));
commands.on('command:updated', (e) => console.log(`command ${e.command.name}: ${e.previous} → ${e.command.status}`));
const groupKey = randomBytes(32).toString('base64');
await registry.putEnrollmentGroup(acme, { groupId: 'field', key: groupKey, tenantId: 'acme' });
await Promise.all([registry.start(), health.start(), commands.start()]);

// The device: its derived key from the factory, plain publish/subscribe on fleetkit's topics.
const device = new MemoryTransport({ broker, clientId: 'sensor-1' });
await device.connect();
await device.subscribe('cmd/acme/sensor-1/#', (m) => console.log(`device got ${m.topic}: ${new TextDecoder().decode(m.payload)}`));
const enroll = (key: string): Promise<void> => {
  const nonce = randomBytes(16).toString('hex');
  const timestamp = clock.now();
  const enrollment = { groupId: 'field', registrationId: 'sensor-1', nonce, timestamp, proof: computeEnrollmentProof(key, nonce, timestamp) };
  return device.publish('cmd/acme/sensor-1/prov/req', JSON.stringify({ type: 'symmetric-key', requestId: 'r1', enrollment }));
};
await enroll(deriveDeviceKey(randomBytes(32), 'sensor-1')); // a key the group never issued: refused
await turn();
await enroll(deriveDeviceKey(groupKey, 'sensor-1'));
await turn();
console.log('registry:', (await registry.get(acme, 'sensor-1'))?.state, registry.provisioningStats(acme));

const heartbeat = async (): Promise<void> => {
  await device.publish('dt/acme/sensor-1/heartbeat', JSON.stringify({ ts: clock.now(), seq: 1, batteryPct: 76 }));
  await turn();
};
await heartbeat();
clock.advance(600_000); // ten minutes of silence: offline, degraded, flagged silent
await turn();
await commands.sendCommand(acme, 'sensor-1', 'set-interval', { seconds: 30 }, { commandId: 'c-1', expiresAt: clock.now() + 3_600_000 });
console.log('command while silent:', (await commands.get(acme, 'c-1'))?.status);
await heartbeat(); // back: recovers, and the queued command goes out
await device.publish('cmd/acme/sensor-1/res/c-1', JSON.stringify({ commandId: 'c-1', status: 'succeeded', ts: clock.now() }));
await turn();
console.log('state:', (await registry.get(acme, 'sensor-1'))?.state, '· stats:', JSON.stringify(await health.stats(acme)));
const audit = await stores.audit.list(acme);
console.log('audit:', audit.items.map((e) => `${e.action}${e.details?.['event'] === undefined ? '' : `(${String(e.details['event'])})`}`).join(', '));

await Promise.all([commands.close(), health.close(), registry.stop()]);
await device.close();
await backend.close();
