/**
 * A device publishes telemetry through an in-memory broker that duplicates, reorders and drops
 * messages (seeded, so every run is the same); the backend deduplicates by message id.
 *
 * The backend counts fewer reorderings than `broker.stats.reordered`, and the example prints why:
 * the broker counts every delivery it held back (one is held until the next delivery to the same
 * client has gone out), duplicate copies included; the backend counts only a message id it sees for
 * the first time after a higher one. A held-back delivery therefore reaches the backend as one of
 * three things:
 *  - a first copy arriving after a later message: counted here as reordered;
 *  - a duplicate copy arriving after a later message: dropped here as a duplicate;
 *  - an original overtaken by its own duplicate copy: the copy arrives first and in order, so the id
 *    is not out of order here, and the original is dropped as a duplicate.
 *
 * Run: npx tsx examples/transport-memory-faults.ts
 */
import { jsonCodec, parseMessage, telemetryMessageSchema, telemetryTopic, fleetTopicFilter } from 'fleetkit/protocol';
import { MemoryBroker, MemoryTransport } from 'fleetkit/memory';

const broker = new MemoryBroker({ seed: 2024, faults: { duplicateRate: 0.1, reorderRate: 0.1, lossRate: 0.1 } });
const device = new MemoryTransport({ broker, clientId: 'pump-7' });
const backend = new MemoryTransport({ broker, clientId: 'backend' });
await Promise.all([device.connect(), backend.connect()]);

const seen = new Set<number>();
let duplicates = 0;
let reordered = 0;
let lastId = 0;
// What became of the deliveries the broker held back (see the comment at the top).
let lateDuplicates = 0;
let overtakenByOwnCopy = 0;
await backend.subscribe(fleetTopicFilter('telemetry', { tenantId: 'acme' }), (m) => {
  const id = m.messageId ?? 0;
  if (seen.has(id)) {
    duplicates++;
    if (id < lastId) lateDuplicates++;
    else if (!m.duplicate) overtakenByOwnCopy++; // the original, after its copy
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
broker.setFaults({}); // hands over a delivery still held back, if the last one was
await new Promise((r) => setImmediate(r));

const stats = broker.stats;
console.log(`published 1000 (500 QoS 1, 500 QoS 0); unique received ${seen.size} (${stats.lost} QoS 0 lost); duplicates dropped ${duplicates}; reordered ${reordered}`);
console.log(`broker stats: ${JSON.stringify(stats)}`);
console.log(`why ${reordered} reordered here but ${stats.reordered} in broker.stats.reordered: the broker counts every delivery it held back,`);
console.log('this consumer only an id seen for the first time after a higher one. Of the held-back deliveries:');
console.log(`  ${reordered} first copies arrived after a later message (counted here as reordered)`);
console.log(`  ${lateDuplicates} duplicate copies arrived after a later message (dropped here as duplicates)`);
console.log(`  ${overtakenByOwnCopy} originals were overtaken by their own duplicate copy, which arrived first and in order (the original is dropped as a duplicate)`);
console.log(`  ${reordered} + ${lateDuplicates} + ${overtakenByOwnCopy} = ${reordered + lateDuplicates + overtakenByOwnCopy}`);
if (seen.size < 500) throw new Error('QoS 1 messages were lost');
if (seen.size + stats.lost !== 1000) throw new Error('a message was neither received nor counted as lost');
if (reordered + lateDuplicates + overtakenByOwnCopy !== stats.reordered) throw new Error('the held-back deliveries do not add up to broker.stats.reordered');
await Promise.all([device.close(), backend.close()]);
