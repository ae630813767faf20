/**
 * Provisioning benchmarks: FleetRegistry over the MemoryBroker, each beside a baseline measured in
 * the same run.
 * - Symmetric-key enrollment end to end (device publishes `prov/req`, receives `accepted` on
 *   `prov/res`; the registry runs the core, claims the nonce, stores the record and two audit
 *   entries), 256 requests in flight, vs the core alone (`provisionWithSymmetricKey` in a loop).
 *   Target ≥ 5,000 devices/s.
 * - X.509 challenge/response end to end (challenge round trip + the signed request) with real
 *   openssl-made EC certificates, vs node:crypto's verify floor: parsing the certificate, checking
 *   its issuer and its CA signature, and verifying the proof signature — the crypto every
 *   provisioning must do.
 * - Heap of the HealthMonitor's per-device state at 60,000 devices that each sent a heartbeat with
 *   vitals (part of the ≤ 4 KB per device budget with registry record and shadow).
 */
import { X509Certificate, randomBytes, verify } from 'node:crypto';
import { SimulatedClock } from '../src/clock.js';
import { EffectRunner } from '../src/cloud/effect-runner.js';
import { signProvisioningChallenge } from '../src/cloud/provisioning-proof.js';
import { FleetRegistry } from '../src/cloud/registry.js';
import {
  computeEnrollmentProof,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  deriveDeviceKey,
  provisionWithSymmetricKey,
  type ProvisioningTemplate,
} from '../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../src/memory.js';
import { provisioningProofInput } from '../src/protocol/provisioning-wire.js';
import { deviceIdentity, Pki, type DeviceIdentity } from '../test/cloud/pki.js';
import { HealthMonitor } from '../src/cloud/health-monitor.js';
import { fmt, heapUsed, measure, printTable, verdict } from './lib.js';

const SK_DEVICES = 20_000;
const X509_DEVICES = 120;
const WINDOW = 256;
const ROUNDS = 3;
const GROUP_KEY = randomBytes(32).toString('base64');

const TEMPLATE: ProvisioningTemplate = defineProvisioningTemplate({
  name: 'bench',
  policies: ['{{TenantId}}-device'],
  desiredConfig: { reportIntervalS: 60 },
  home: { rules: [], fallback: { region: 'eu-central-1', endpoint: 'mqtts://eu.example.com:8883' }, topics: {} },
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

interface Rig {
  readonly registry: FleetRegistry;
  readonly device: MemoryTransport;
  readonly replies: Map<string, Record<string, unknown>>;
  onReply: ((id: string, reply: Record<string, unknown>) => void) | undefined;
  close(): Promise<void>;
}

async function rig(clock: SimulatedClock, setup: (registry: FleetRegistry) => Promise<void>): Promise<Rig> {
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const backend = new MemoryTransport({ broker, clientId: 'registry', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await backend.connect();
  const effects = new EffectRunner({ devices: stores.devices, audit: stores.audit });
  const registry = new FleetRegistry({ transport: backend, devices: stores.devices, audit: stores.audit, effects, clock, template: TEMPLATE });
  await setup(registry);
  await registry.start();
  const device = new MemoryTransport({ broker, clientId: 'devices', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await device.connect();
  const decoder = new TextDecoder();
  const r: Rig = {
    registry,
    device,
    replies: new Map(),
    onReply: undefined,
    async close() {
      await registry.stop();
      await device.close();
      await backend.close();
    },
  };
  await device.subscribe(
    'cmd/acme/+/prov/res',
    (m) => {
      const id = m.topic.split('/')[2] as string;
      const reply = JSON.parse(decoder.decode(m.payload)) as Record<string, unknown>;
      r.replies.set(id, reply);
      r.onReply?.(id, reply);
    },
    { qos: 1 },
  );
  return r;
}

/** Publishes one request per id with at most WINDOW unanswered; resolves when all are answered. */
function pump(r: Rig, ids: readonly string[], body: (id: string) => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let next = 0;
    let answered = 0;
    const send = (): void => {
      const id = ids[next++] as string;
      r.device.publish(`cmd/acme/${id}/prov/req`, body(id), { qos: 1 }).catch(reject);
    };
    r.onReply = () => {
      answered++;
      if (next < ids.length) send();
      else if (answered === ids.length) resolve();
    };
    for (let i = 0; i < Math.min(WINDOW, ids.length); i++) send();
  });
}

function expectAll(r: Rig, ids: readonly string[], type: string): void {
  const bad = ids.filter((id) => r.replies.get(id)?.['type'] !== type);
  if (bad.length > 0) throw new Error(`${bad.length} of ${ids.length} answers were not "${type}", e.g. ${JSON.stringify(r.replies.get(bad[0] as string))}`);
}

async function symmetricKey(): Promise<{ ours: number; core: number }> {
  const clock = new SimulatedClock(Date.now());
  const now = clock.now();
  const ids = Array.from({ length: SK_DEVICES }, (_, i) => `sensor-${String(i).padStart(6, '0')}`);
  const requests = new Map(
    ids.map((id) => {
      const nonce = randomBytes(16).toString('hex');
      return [id, { groupId: 'field', registrationId: id, nonce, timestamp: now, proof: computeEnrollmentProof(deriveDeviceKey(GROUP_KEY, id), nonce, now) }] as const;
    }),
  );
  const bodies = new Map(ids.map((id) => [id, JSON.stringify({ type: 'symmetric-key', enrollment: requests.get(id) })]));

  // Baseline: the core alone, in a loop (no wire, no store).
  const groups = createEnrollmentGroups([{ groupId: 'field', key: GROUP_KEY, tenantId: 'acme' }]);
  const revoked = createRevocationList();
  const core = measure(
    'core',
    (i) => {
      const r = provisionWithSymmetricKey(requests.get(ids[i % ids.length] as string), { now, groups, revoked, seenNonces: new Map(), template: TEMPLATE });
      if (!r.ok) throw r.error;
    },
    { ms: 1000, batch: 64 },
  );

  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = await rig(clock, (registry) => registry.putEnrollmentGroup({ tenantId: 'acme' }, { groupId: 'field', key: GROUP_KEY, tenantId: 'acme' }));
    const start = performance.now();
    await pump(r, ids, (id) => bodies.get(id) as string);
    const seconds = (performance.now() - start) / 1000;
    expectAll(r, ids, 'accepted');
    rates.push(ids.length / seconds);
    await r.close();
  }
  return { ours: median(rates), core: core.opsPerSec };
}

async function x509(): Promise<{ ours: number; floor: number }> {
  const pki = new Pki();
  try {
    const ca = pki.ca('bench-ca', '/CN=Bench CA/O=acme');
    const ids = Array.from({ length: X509_DEVICES }, (_, i) => `cam-${String(i).padStart(4, '0')}`);
    const identities = new Map<string, DeviceIdentity>(ids.map((id) => [id, deviceIdentity(pki, ca, `/CN=${id}/O=acme`)]));
    const clock = new SimulatedClock(Date.now() + 60_000);

    // Floor: the crypto every X.509 provisioning does, on the same certificates.
    const caCert = new X509Certificate(ca.pem);
    const nonce = randomBytes(40).toString('base64url');
    const proofs = ids.map((id) => {
      const d = identities.get(id) as DeviceIdentity;
      return { pem: d.cert, input: provisioningProofInput('acme', id, nonce), signature: Buffer.from(signProvisioningChallenge(d.key, 'acme', id, nonce), 'base64') };
    });
    const floor = measure(
      'floor',
      (i) => {
        const p = proofs[i % proofs.length] as (typeof proofs)[number];
        const cert = new X509Certificate(p.pem);
        if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey) || !verify('sha256', p.input, cert.publicKey, p.signature)) throw new Error('floor: verification failed');
      },
      { ms: 1000, batch: 16 },
    );

    const rates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const r = await rig(clock, (registry) => registry.putCa({ tenantId: 'acme' }, { caId: 'bench-ca', pem: ca.pem }));
      let start = performance.now();
      await pump(r, ids, () => '{"type":"challenge"}');
      let seconds = (performance.now() - start) / 1000;
      expectAll(r, ids, 'challenge');
      // The devices sign (their work, not the service's: untimed).
      const bodies = new Map(
        ids.map((id) => {
          const d = identities.get(id) as DeviceIdentity;
          const n = r.replies.get(id)?.['nonce'] as string;
          return [id, JSON.stringify({ type: 'x509', certificateChain: [d.cert], nonce: n, signature: signProvisioningChallenge(d.key, 'acme', id, n) })];
        }),
      );
      start = performance.now();
      await pump(r, ids, (id) => bodies.get(id) as string);
      seconds += (performance.now() - start) / 1000;
      expectAll(r, ids, 'accepted');
      rates.push(ids.length / seconds);
      await r.close();
    }
    return { ours: median(rates), floor: floor.opsPerSec };
  } finally {
    pki.cleanup();
  }
}

const MONITORED = 60_000;

// Bytes of heap the monitor holds per device once every device has been heard from.
async function monitorHeap(): Promise<number> {
  const clock = new SimulatedClock(Date.now());
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await backend.connect();
  const registry = new FleetRegistry({ transport: backend, devices: stores.devices, audit: stores.audit, clock, template: TEMPLATE });
  const ctx = { tenantId: 'acme' };
  for (let i = 0; i < MONITORED; i++) await stores.devices.create(ctx, { deviceId: `m-${i}`, tenantId: 'acme', state: 'active', since: clock.now(), firmwareVersion: '1.0.0', health: 'good' });
  const monitor = new HealthMonitor({ transport: backend, devices: stores.devices, registry, clock, certificates: false });
  await monitor.start();
  const device = new MemoryTransport({ broker, clientId: 'devices', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await device.connect();
  const before = heapUsed();
  for (let i = 0; i < MONITORED; i++) {
    await device.publish(`dt/acme/m-${i}/heartbeat`, `{"ts":${clock.now()},"seq":1,"batteryPct":80,"rssiDbm":-60,"firmwareVersion":"1.0.0"}`, { qos: 0 });
    if (i % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  for (let i = 0; i < 1000 && monitor.size < MONITORED; i++) await new Promise((r) => setImmediate(r));
  if (monitor.size !== MONITORED) throw new Error(`monitor watches ${monitor.size} of ${MONITORED} devices`);
  const perDevice = (heapUsed() - before) / MONITORED;
  await monitor.close();
  await device.close();
  await backend.close();
  return perDevice;
}

/** Runs the provisioning suite. */
export async function run(): Promise<void> {
  const sk = await symmetricKey();
  printTable(`provisioning: symmetric-key enrollment over the memory broker (${fmt(SK_DEVICES)} devices, ${WINDOW} in flight, median of ${ROUNDS})`, [
    { measurement: 'baseline: provisionWithSymmetricKey alone (no wire, no store)', 'devices/s': fmt(sk.core), ratio: '1×', target: '' },
    { measurement: 'FleetRegistry end to end (prov/req → accepted)', 'devices/s': fmt(sk.ours), ratio: `${fmt(sk.ours / sk.core, 2)}×`, target: verdict(sk.ours >= 5_000, '≥ 5,000 devices/s') },
  ]);
  const x = await x509();
  printTable(`provisioning: X.509 challenge/response over the memory broker (${X509_DEVICES} EC P-256 devices, median of ${ROUNDS})`, [
    { measurement: 'floor: node:crypto parse + checkIssued + CA verify + proof verify', 'devices/s': fmt(x.floor), ratio: '1×' },
    { measurement: 'FleetRegistry end to end (challenge + signed request → accepted)', 'devices/s': fmt(x.ours), ratio: `${fmt(x.ours / x.floor, 2)}×` },
  ]);
  const heap = await monitorHeap();
  printTable(`health: HealthMonitor state per device at ${fmt(MONITORED)} devices`, [{ measurement: 'heap per watched device (after one heartbeat with vitals each)', bytes: fmt(heap) }]);
}
