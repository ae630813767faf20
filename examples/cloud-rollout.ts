/**
 * Staged OTA rollouts on the in-process broker: a firmware catalog with a real Ed25519 signing
 * key, 60 devices that speak the job topics (verify the signature, install, run their post-boot
 * check with evaluateBoot), a release that fails boot at the canary — aborted and rolled back —
 * then a good release that completes, with the controller restarted from its store half-way.
 *
 *   npx tsx examples/cloud-rollout.ts
 */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { SimulatedClock } from 'fleetkit';
import { FirmwareCatalog, RolloutController, signFirmware } from 'fleetkit/cloud';
import { MemoryBroker, MemoryTransport, createMemoryStores } from 'fleetkit/memory';
import { firmwareSigningInput, jobDocumentWireSchema, jobNextTopic, jobStatusTopic, jsonCodec, parseMessage, type ActiveJobDocument } from 'fleetkit/protocol';
import { evaluateBoot } from 'fleetkit/rollout';

const T0 = Date.UTC(2026, 0, 1, 12);
const MIN = 60_000;
const clock = new SimulatedClock(T0);
const broker = new MemoryBroker();
const stores = createMemoryStores();
const acme = { tenantId: 'acme' };
const settle = async (): Promise<void> => {
  for (let i = 0; i < 40; i++) await new Promise((r) => setImmediate(r));
};

// The release pipeline: sign each image's version, size and SHA-256 with the tenant's key.
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const catalog = new FirmwareCatalog();
catalog.addSigningKey(acme, 'release-2026', publicKey);
for (const version of ['1.0.0', '2.0.0', '2.1.0']) {
  const image = Buffer.from(`firmware ${version}`);
  const sha256 = createHash('sha256').update(image).digest('hex');
  catalog.add(acme, { version, url: `https://fw.example.com/${version}.bin`, sizeBytes: image.length, sha256, hardware: ['sensor-board-b'], keyId: 'release-2026', ...signFirmware({ version, sizeBytes: image.length, sha256 }, privateKey) });
}

// 60 devices on plain transports. 2.0.0 has a bug: its post-boot check fails on half the devices.
const running = new Map<string, string>();
let buggy = 0;
for (let i = 0; i < 60; i++) {
  const id = `sensor-${String(i).padStart(2, '0')}`;
  await stores.devices.create(acme, { deviceId: id, tenantId: 'acme', state: 'active', since: T0, firmwareVersion: '1.0.0', hardware: 'sensor-board-b' });
  running.set(id, '1.0.0');
  const link = new MemoryTransport({ broker, clientId: id });
  await link.connect();
  const done = new Set<string>();
  const report = (doc: ActiveJobDocument, update: object): Promise<void> =>
    link.publish(jobStatusTopic('acme', id, doc.jobId), jsonCodec.encode({ jobId: doc.jobId, executionVersion: doc.executionVersion, ts: clock.now(), ...update }), { qos: 1 });
  await link.subscribe(`cmd/acme/${id}/job/+`, async (m) => {
    const doc = parseMessage(jobDocumentWireSchema, jsonCodec.decode(m.payload));
    if (doc.status === 'cancelled' || done.has(doc.jobId)) return;
    done.add(doc.jobId);
    // Never install an image the tenant's key did not sign.
    if (!verify(null, firmwareSigningInput(doc.firmware), publicKey, Buffer.from(doc.firmware.signature, 'base64'))) return report(doc, { status: 'rejected', statusDetails: { code: 'BAD_SIGNATURE' } });
    await report(doc, { status: 'in_progress', phase: 'installing' });
    await report(doc, { status: 'in_progress', phase: 'booting' });
    const healthy = doc.firmware.version !== '2.0.0' || buggy++ % 2 === 1;
    const boot = evaluateBoot({ bootedAt: clock.now(), now: clock.now() + doc.bootValidation.windowMs, windowMs: doc.bootValidation.windowMs, checks: [{ name: 'app-healthy', status: healthy ? 'pass' : 'fail' }] });
    if (boot.verdict !== 'commit') return report(doc, { status: 'rolled_back', statusDetails: { reason: boot.reason } });
    running.set(id, doc.firmware.version);
    return report(doc, { status: 'succeeded' });
  }, { qos: 1 });
  // A device that wakes asks for its pending job (outbound-only: it never needs to be reachable).
  await link.publish(jobNextTopic('acme', id), jsonCodec.encode({ ts: clock.now(), firmwareVersion: '1.0.0' }), { qos: 1 });
}

const shown = new Map<string, string>();
const start = async (): Promise<RolloutController> => {
  const backend = new MemoryTransport({ broker, clientId: `rollouts-${clock.now()}` });
  await backend.connect();
  const c = new RolloutController({ transport: backend, jobs: stores.jobs, devices: stores.devices, catalog, clock });
  c.on('rollout:progress', (e) => {
    // Print when a rollout changes state or stage (every report and every evaluation is an event too).
    const where = `${e.state}/${e.stage}`;
    if (shown.get(e.rolloutId) === where) return;
    shown.set(e.rolloutId, where);
    console.log(`+${String(Math.round((e.at - T0) / MIN)).padStart(3)} min ${e.rolloutId}: ${e.state}, stage ${e.stage}, ${e.counts.succeeded} succeeded — ${e.reason.slice(0, 100)}`);
  });
  await c.start();
  return c;
};
const advance = async (minutes: number): Promise<void> => {
  for (let m = 0; m < minutes; m++) {
    clock.advance(MIN);
    await settle();
  }
};

const stages = [{ percent: 10, minSoakMs: 15 * MIN }, { percent: 50, minSoakMs: 15 * MIN }, { percent: 100 }];
let rollouts = await start();
await rollouts.create(acme, { rolloutId: 'fw-2-0-0', firmwareVersion: '2.0.0', stages, abort: { onAbort: 'rollback' } });
await settle();
await advance(5);
const bad = await rollouts.get(acme, 'fw-2-0-0');
console.log(`fw-2-0-0 ended ${bad?.state}: ${bad?.abort?.reason}`);
const rolledBack = (await rollouts.executions(acme, 'fw-2-0-0', { rollback: true })).items;
const offered = (await rollouts.executions(acme, 'fw-2-0-0')).items.length;
console.log(`2.0.0 reached ${offered} canary devices; ${rolledBack.length} rollback jobs (${rolledBack.filter((x) => x.status === 'succeeded').length} done); devices on 1.0.0: ${[...running.values()].filter((v) => v === '1.0.0').length} of 60`);

await rollouts.create(acme, { rolloutId: 'fw-2-1-0', firmwareVersion: '2.1.0', stages });
await settle();
await advance(20);
// The controller process restarts: a new one takes the rollout over from the store.
await rollouts.close();
rollouts = await start();
console.log(`restarted; took over ${await rollouts.recover(acme)} rollout(s)`);
await advance(40);
const good = await rollouts.get(acme, 'fw-2-1-0');
const executions = (await rollouts.executions(acme, 'fw-2-1-0', { limit: 1000 })).items;
console.log(`fw-2-1-0 ${good?.state}: ${good?.counts.succeeded}/${good?.devices} succeeded, ${executions.length} jobs for ${new Set(executions.map((x) => x.deviceId)).size} devices, all on 2.1.0: ${[...running.values()].every((v) => v === '2.1.0')}`);
await rollouts.close();
if (good?.state !== 'completed' || bad?.state !== 'aborted') process.exit(1);
