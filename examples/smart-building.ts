/**
 * The smart-building story of `fleetkit simulate`, in code, small: 3 buildings with a gateway each
 * (one shared connection per building, provisioned with an X.509 certificate from a CA made here
 * with openssl) and 24 sensors behind every gateway (symmetric-key enrollment through the gateway;
 * two with a bad key are refused). The building's configuration goes through the gateway's shadow;
 * a day of heartbeats (one sensor goes silent, a battery runs down in each building) with per-building summaries
 * from the fog core; a staged rollout of 2.2.0 that fails boot on part of the canary — aborted and
 * rolled back — then 2.2.1, which completes; one sensor decommissioned. All on a SimulatedClock
 * and the in-process broker (`fleetkit simulate` runs the full-size fleet on a real MQTT broker).
 *
 *   npx tsx examples/smart-building.ts
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimulatedClock } from 'fleetkit';
import { createFleet, signFirmware } from 'fleetkit/cloud';
import { DeviceAgent, GatewayConnection, type GatewayChild } from 'fleetkit/device';
import { EMPTY_AGGREGATE, addSample } from 'fleetkit/fog';
import { defineProvisioningTemplate, deriveDeviceKey } from 'fleetkit/lifecycle';
import { MemoryBroker, MemoryTransport } from 'fleetkit/memory';
import { firmwareSigningInput, jobDocumentWireSchema, jobStatusTopic, jsonCodec, parseMessage, type ActiveJobDocument } from 'fleetkit/protocol';
import { evaluateBoot } from 'fleetkit/rollout';

const HOUR = 3_600_000;
// The simulated day starts an hour from now: the certificates made below are valid from now on.
const T0 = Date.now() + HOUR;
const acme = { tenantId: 'acme' };
const clock = new SimulatedClock(T0);
const broker = new MemoryBroker();
const settle = async (): Promise<void> => {
  for (let i = 0; i < 60; i++) await new Promise((r) => setImmediate(r));
};

// ── the cloud tier ─────────────────────────────────────────────────────────────────────────────
const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 100_000 } });
const fleet = await createFleet({
  transport: backend,
  clock,
  template: (r) =>
    r.method === 'x509'
      ? defineProvisioningTemplate({ name: 'gateway-v1', attributes: { role: 'gateway' } })
      : defineProvisioningTemplate({ name: 'sensor-v1', attributes: { role: 'sensor' } }),
  health: { certificates: false, heartbeat: { intervalMs: 24 * HOUR, graceMs: HOUR, missesToDegrade: 1, silentAfterMs: 12 * HOUR } },
});
const silent: string[] = [];
fleet.health.on('alert', (a) => {
  if (a.type === 'device-silent') silent.push(a.deviceId);
});

// A CA for the gateways, made with openssl (the same commands as docs/security.md).
const pki = mkdtempSync(join(tmpdir(), 'smart-building-'));
const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30', '-subj', '/CN=Gateway CA/O=acme', '-keyout', 'ca.key', '-out', 'ca.crt');
await fleet.registry.putCa(acme, { caId: 'gateway-ca', pem: readFileSync(join(pki, 'ca.crt'), 'utf8') });
writeFileSync(join(pki, 'leaf.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
const gatewayCertificate = (id: string): { pem: string; key: string } => {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${id}/O=acme`, '-keyout', `${id}.key`, '-out', `${id}.csr`);
  openssl('x509', '-req', '-in', `${id}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '30', '-sha256', '-extfile', 'leaf.ext', '-out', `${id}.crt`);
  return { pem: readFileSync(join(pki, `${id}.crt`), 'utf8'), key: readFileSync(join(pki, `${id}.key`), 'utf8') };
};
const groupKey = randomBytes(32).toString('base64');
await fleet.registry.putEnrollmentGroup(acme, { groupId: 'room-sensors', key: groupKey, tenantId: 'acme' });

// Firmware: 2.1.0 in the field, 2.2.0 (fails its post-boot check on some sensors) and 2.2.1.
const release = generateKeyPairSync('ed25519');
fleet.firmware.addSigningKey(acme, 'release', release.publicKey);
for (const version of ['2.1.0', '2.2.0', '2.2.1']) {
  const image = Buffer.from(`room sensor firmware ${version}`);
  const sha256 = createHash('sha256').update(image).digest('hex');
  fleet.firmware.add(acme, { version, url: `https://fw.example.com/${version}.bin`, sizeBytes: image.length, sha256, hardware: ['sensor-th'], keyId: 'release', ...signFirmware({ version, sizeBytes: image.length, sha256 }, release.privateKey) });
}

// ── buildings: a gateway and its sensors ────────────────────────────────────────────────────────
interface Sensor {
  readonly id: string;
  readonly view: GatewayChild;
  battery: number;
  version: string;
}
interface Building {
  readonly gateway: GatewayConnection;
  readonly self: GatewayChild;
  readonly sensors: Sensor[];
  config: Record<string, unknown>;
}
const buildings: Building[] = [];
let refused = 0;
for (let b = 1; b <= 3; b++) {
  const gatewayId = `gw-${b}`;
  const gateway = new GatewayConnection({ transport: new MemoryTransport({ broker, clientId: gatewayId }), tenantId: 'acme' });
  const self = gateway.child({ deviceId: gatewayId });
  const cert = gatewayCertificate(gatewayId);
  await self.connect();
  await new DeviceAgent({ transport: self, clock, tenantId: 'acme', deviceId: gatewayId, credentials: { method: 'x509', certificateChain: [cert.pem], privateKey: cert.key } }).provision();
  const building: Building = { gateway, self, sensors: [], config: {} };
  // The gateway applies its building's configuration from its shadow and reports it back.
  await self.subscribe(`$aws/things/${gatewayId}/shadow/update/delta`, (m) => {
    const delta = (jsonCodec.decode(m.payload) as { state: Record<string, unknown> }).state;
    building.config = { ...building.config, ...delta };
    void self.publish(`$aws/things/${gatewayId}/shadow/update`, jsonCodec.encode({ state: { reported: delta } }), { qos: 1 });
  });
  for (let s = 1; s <= 24; s++) {
    const id = `b${b}-s${String(s).padStart(2, '0')}`;
    const view = gateway.child({ deviceId: id });
    await view.connect();
    const bad = b === 1 && s <= 2; // two sensors were flashed with the wrong group key
    const agent = new DeviceAgent({ transport: view, clock, tenantId: 'acme', deviceId: id, credentials: { method: 'symmetric-key', groupId: 'room-sensors', deviceKey: deriveDeviceKey(bad ? randomBytes(32).toString('base64') : groupKey, id) } });
    try {
      await agent.provision();
    } catch {
      refused++;
      await view.close();
      continue;
    }
    await fleet.registry.patch(acme, id, { hardware: 'sensor-th', firmwareVersion: '2.1.0' });
    building.sensors.push({ id, view, battery: s === 3 ? 24 : 90, version: '2.1.0' });
  }
  buildings.push(building);
}
const stats = fleet.registry.provisioningStats(acme);
console.log(`provisioned ${stats.accepted} devices (3 gateways by X.509, ${stats.accepted - 3} sensors by symmetric key); refused ${refused}: ${JSON.stringify(stats.refusedByCode)}`);
rmSync(pki, { recursive: true, force: true });

// ── configuration through shadows ───────────────────────────────────────────────────────────────
for (const b of buildings) await fleet.shadows.update(acme, b.self.clientId, { state: { desired: { setpointC: 21.5, summaryWindowMin: 60 } } });
await settle();
const inSync = (await Promise.all(buildings.map((b) => fleet.shadows.get(acme, b.self.clientId)))).filter((s) => s.state.delta === undefined).length;
console.log(`configuration: ${buildings.filter((b) => b.config['setpointC'] === 21.5).length} gateways applied it, ${inSync} shadows in sync`);

// ── a day of soak: heartbeats every 6 h, a fog summary per building every hour ─────────────────
const quiet = buildings[2]?.sensors[5]?.id; // goes silent after the first heartbeat
let seq = 0;
for (let hour = 0; hour <= 24; hour++) {
  for (const b of buildings) {
    let temperature = EMPTY_AGGREGATE;
    for (const s of b.sensors) {
      s.battery = Math.max(0, s.battery - (s.battery < 30 ? 0.7 : 0.01));
      temperature = addSample(temperature, 20 + Math.sin(hour / 4 + s.battery) * 2, clock.now());
      if (hour % 6 === 0 && !(s.id === quiet && hour > 0)) {
        await s.view.publish(`dt/acme/${s.id}/heartbeat`, jsonCodec.encode({ ts: clock.now(), seq: ++seq, batteryPct: Math.round(s.battery), rssiDbm: -62, firmwareVersion: s.version }), { qos: 1 });
      }
    }
    await b.self.publish(`dt/acme/${b.self.clientId}/heartbeat`, jsonCodec.encode({ ts: clock.now(), seq: ++seq, batteryPct: 100, rssiDbm: -50 }), { qos: 1 });
    await b.self.publish(`dt/acme/${b.self.clientId}/telemetry`, jsonCodec.encode({ ts: clock.now(), values: { sensors: b.sensors.length, temperatureMeanC: Math.round(temperature.mean * 10) / 10, temperatureMaxC: Math.round(temperature.max * 10) / 10 } }), { qos: 1 });
  }
  await settle();
  clock.advance(HOUR);
  await settle();
}
const health = await fleet.health.stats(acme);
console.log(`after a day: ${health.online} devices online, flagged silent: ${silent.join(', ')}; health ${JSON.stringify(health.byHealth)}`);

// ── OTA: the gateway flashes its sensors and reports for each ───────────────────────────────────
const failsBoot = (id: string): boolean => Number(id.slice(-2)) % 3 === 0; // 2.2.0 mishandles one sensor in three
for (const b of buildings) {
  for (const s of b.sensors) {
    await s.view.subscribe(`cmd/acme/${s.id}/job/+`, (m) => {
      const doc = parseMessage(jobDocumentWireSchema, jsonCodec.decode(m.payload));
      if (doc.status === 'cancelled') return;
      const job = doc as ActiveJobDocument;
      const report = (update: object): Promise<void> => s.view.publish(jobStatusTopic('acme', s.id, job.jobId), jsonCodec.encode({ jobId: job.jobId, executionVersion: job.executionVersion, ts: clock.now(), ...update }), { qos: 1 });
      if (!verify(null, firmwareSigningInput(job.firmware), release.publicKey, Buffer.from(job.firmware.signature, 'base64'))) return void report({ status: 'rejected', statusDetails: { code: 'BAD_SIGNATURE' } });
      const healthy = job.intent === 'rollback' || job.firmware.version !== '2.2.0' || !failsBoot(s.id);
      const boot = evaluateBoot({ bootedAt: clock.now(), now: clock.now() + job.bootValidation.windowMs, windowMs: job.bootValidation.windowMs, checks: [{ name: 'self-test', status: healthy ? 'pass' : 'fail' }] });
      if (boot.verdict !== 'commit') return void report({ status: 'rolled_back', statusDetails: { reason: boot.reason.slice(0, 200) } });
      s.version = job.firmware.version;
      void report({ status: 'succeeded' });
    }, { qos: 1 });
  }
}
const stages = [{ count: 6, minSoakMs: HOUR }, { percent: 10, minSoakMs: HOUR }, { percent: 50, minSoakMs: HOUR }, { percent: 100 }];
const rollout = async (rolloutId: string, firmwareVersion: string): Promise<void> => {
  await fleet.rollouts.create(acme, { rolloutId, firmwareVersion, target: { attributes: { role: 'sensor' } }, stages, abort: { failureRate: 0.05, countTimeouts: false, countUnreachable: false, onAbort: 'rollback' }, deadlines: { pickupMs: 2 * HOUR } });
  for (let step = 0; step < 60; step++) {
    await settle();
    const r = await fleet.rollouts.get(acme, rolloutId);
    if (r !== undefined && r.state !== 'running') break;
    clock.advance(15 * 60_000);
  }
  await settle();
  const r = await fleet.rollouts.get(acme, rolloutId);
  const rolledBack = (await fleet.rollouts.executions(acme, rolloutId, { rollback: true, status: 'succeeded' })).items.length;
  console.log(`${rolloutId} (${firmwareVersion}): ${r?.state}; ${r?.counts.succeeded} succeeded, ${r?.counts.rolled_back} failed their boot check${r?.abort === undefined ? '' : ` — ${r.abort.reason}; ${rolledBack} rolled back`}`);
};
await rollout('fw-2-2-0', '2.2.0');
await rollout('fw-2-2-1', '2.2.1');

// The next heartbeats carry the firmware each sensor runs now.
for (const b of buildings) {
  for (const s of b.sensors) if (s.id !== quiet) await s.view.publish(`dt/acme/${s.id}/heartbeat`, jsonCodec.encode({ ts: clock.now(), seq: ++seq, batteryPct: Math.round(s.battery), rssiDbm: -62, firmwareVersion: s.version }), { qos: 1 });
}
await settle();

// ── a sensor is removed from its room ───────────────────────────────────────────────────────────
const removed = buildings[0]?.sensors[0]?.id as string;
await fleet.registry.decommission(acme, removed, { reason: 'room renovated', actor: 'facilities' });
const end = await fleet.health.stats(acme);
console.log(`at the end: ${JSON.stringify(end.byState)}; firmware ${JSON.stringify(end.byFirmware)}`);

await fleet.close();
await Promise.all(buildings.map((b) => b.gateway.close()));
await backend.close();
