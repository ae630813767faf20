/**
 * A shadow service on the in-process broker: a device speaks AWS's shadow topics, the application
 * uses the API, and an unregistered thing is refused.
 *
 *   npx tsx examples/cloud-shadow-service.ts
 */
import { SimulatedClock } from 'fleetkit';
import { ShadowService } from 'fleetkit/cloud';
import { MemoryBroker, MemoryTransport, createMemoryStores } from 'fleetkit/memory';

const clock = new SimulatedClock(Date.UTC(2026, 0, 1, 12));
const broker = new MemoryBroker();
const stores = createMemoryStores();
const acme = { tenantId: 'acme' };
await stores.devices.create(acme, { deviceId: 'pump-7', tenantId: 'acme', state: 'active', since: clock.now() });

const serviceLink = new MemoryTransport({ broker, clientId: 'shadow-service' });
await serviceLink.connect();
const shadows = new ShadowService({ transport: serviceLink, shadows: stores.shadows, devices: stores.devices, clock });
shadows.on('shadow:updated', (e) => console.log(`service: ${e.thingName} v${e.version} updated by the ${e.source}`));
await shadows.start();

// The device: plain publish/subscribe on the AWS topics, as firmware written for AWS does.
const device = new MemoryTransport({ broker, clientId: 'pump-7' });
await device.connect();
const answers: string[] = [];
await device.subscribe('$aws/things/pump-7/shadow/+/+', (m) => {
  const line = `device got ${m.topic.split('/').slice(4).join('/')}: ${new TextDecoder().decode(m.payload)}`;
  answers.push(line);
  console.log(line);
}, { qos: 1 });

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

await device.publish('$aws/things/pump-7/shadow/update', JSON.stringify({ state: { reported: { rpm: 1480 } }, clientToken: 'boot' }), { qos: 1 });
await settle();
clock.advance(60_000);
await shadows.update(acme, 'pump-7', { state: { desired: { rpm: 1200 } } }); // the device gets update/delta
await settle();
await device.publish('$aws/things/pump-7/shadow/update', JSON.stringify({ state: { reported: { rpm: 9 } }, version: 1 }), { qos: 1 }); // stale: 409
await settle();

const ghost = new MemoryTransport({ broker, clientId: 'ghost' });
await ghost.connect();
await ghost.subscribe('$aws/things/ghost/shadow/+/+', (m) => console.log(`ghost got ${m.topic.split('/').slice(4).join('/')}: ${new TextDecoder().decode(m.payload)}`));
await ghost.publish('$aws/things/ghost/shadow/get', '', { qos: 1 }); // not registered: 404
await settle();

console.log('application sees:', JSON.stringify((await shadows.get(acme, 'pump-7')).state));
await shadows.stop();
await Promise.all([device.close(), ghost.close(), serviceLink.close()]);
if (!answers.some((a) => a.includes('update/delta'))) throw new Error('the device never got its delta');
