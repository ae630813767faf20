/**
 * A device publishes telemetry through an in-memory broker that duplicates, reorders and drops
 * messages (seeded, so every run is the same); the backend deduplicates by message id.
 *
 * Run: npx tsx examples/transport-memory-faults.ts
 */
import { jsonCodec, parseMessage, telemetryMessageSchema, telemetryTopic, fleetTopicFilter } from '../src/protocol/index.js';
import { MemoryBroker, MemoryTransport } from '../src/memory.js';

const broker = new MemoryBroker({ seed: 2024, faults: { duplicateRate: 0.1, reorderRate: 0.1, lossRate: 0.1 } });
const device = new MemoryTransport({ broker, clientId: 'pump-7' });
const backend = new MemoryTransport({ broker, clientId: 'backend' });
await Promise.all([device.connect(), backend.connect()]);

const seen = new Set<number>();
let duplicates = 0;
let reordered = 0;
let lastId = 0;
await backend.subscribe(fleetTopicFilter('telemetry', { tenantId: 'acme' }), (m) => {
  const id = m.messageId ?? 0;
  if (seen.has(id)) {
    duplicates++;
    return; // idempotent consumer: a duplicate changes nothing
  }
  if (id < lastId) reordered++;
  lastId = Math.max(lastId, id);
  seen.add(id);
  parseMessage(telemetryMessageSchema, jsonCodec.decode(m.payload));
}, { qos: 1 });

for (let seq = 0; seq < 1000; seq++) {
  const qos = seq % 2 === 0 ? 1 : 0; // odd messages are QoS 0: those may be lost
  await device.publish(telemetryTopic('acme', 'pump-7'), jsonCodec.encode({ ts: Date.now(), seq, values: { rpm: 1400 + (seq % 100) } }), { qos });
}
await new Promise((r) => setImmediate(r));

console.log(`published 1000 (500 QoS 1, 500 QoS 0); unique received ${seen.size}; duplicates dropped ${duplicates}; reordered ${reordered}`);
console.log(`broker stats: ${JSON.stringify(broker.stats)}`);
if (seen.size < 500) throw new Error('QoS 1 messages were lost');
await Promise.all([device.close(), backend.close()]);
