/**
 * Lifecycle benchmarks: transitions per second of the fleetkit reducer against xstate 5's pure
 * `transition()` on the same machine (same run), and just-in-time provisioning evaluations per second
 * with real certificates made by openssl.
 */
import { X509Certificate, randomBytes } from 'node:crypto';
import { createMachine, initialTransition, transition as xstateTransition } from 'xstate';
import {
  computeEnrollmentProof,
  createCaRegistry,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  deriveDeviceKey,
  lifecycleMachineConfig,
  provisionWithCertificate,
  provisionWithSymmetricKey,
  transition,
} from '../src/lifecycle/index.js';
import type { DeviceRecord, DeviceSnapshot, LifecycleEvent } from '../src/lifecycle/index.js';
import { Pki } from '../test/lifecycle/openssl.js';
import { fmt, measure, printTable, verdict } from './lib.js';

// A loop through active, degraded and maintenance that comes back to active: every event is accepted.
const CYCLE: readonly LifecycleEvent[] = (
  ['heartbeat', 'health_check_failed', 'auto_recovery', 'scheduled_update', 'update_failed', 'manual_intervention', 'update_complete'] as const
).map((type) => ({ type, actor: 'bench' }));

// A provisioned device as a registry stores it: the snapshot plus identity, attributes, config, …
// (transition keeps the extra fields, through the slower object-spread path).
const FULL_RECORD: DeviceRecord = {
  deviceId: 'dev-1',
  tenantId: 'acme',
  state: 'active',
  since: 0,
  updatedAt: 0,
  identity: { kind: 'symmetric-key', fingerprint: 'sha256:00', groupId: 'g', registrationId: 'dev-1' },
  attributes: { site: 'plant-3' },
  desiredConfig: { reportIntervalS: 60 },
  policies: ['acme-telemetry'],
  template: 'bench',
  provisionedAt: 0,
};

function benchOurs(ms: number, start: DeviceSnapshot, name: string): ReturnType<typeof measure> {
  let s: DeviceSnapshot = start;
  let now = 0;
  let sink = 0;
  const m = measure(
    name,
    (i) => {
      const r = transition(s, CYCLE[i % CYCLE.length] as LifecycleEvent, { now: ++now });
      if (r.ok && r.next !== null) {
        s = r.next;
        sink += r.effects.length;
      }
    },
    { ms },
  );
  // every event of the cycle is accepted: one audit effect per call, or the bench measured refusals
  if (sink !== now) throw new Error(`fleetkit transition bench: ${now - sink} of ${now} events were refused`);
  return m;
}

function benchXstate(ms: number): ReturnType<typeof measure> {
  const machine = createMachine(lifecycleMachineConfig());
  let [snap] = initialTransition(machine);
  [snap] = xstateTransition(machine, snap, { type: 'registration_initiated' });
  [snap] = xstateTransition(machine, snap, { type: 'config_complete' });
  if (snap.value !== 'active') throw new Error(`xstate machine is in ${String(snap.value)}, expected active`);
  const events = CYCLE.map((e) => ({ type: e.type }));
  return measure(
    'xstate 5 transition()',
    (i) => {
      [snap] = xstateTransition(machine, snap, events[i % events.length] as { type: string });
    },
    { ms },
  );
}

function benchJitp(): ReturnType<typeof measure>[] {
  const pki = new Pki();
  try {
    const ec = pki.ca('ec', '/CN=Bench EC CA/O=fleetkit');
    const rsa = pki.ca('rsa', '/CN=Bench RSA CA/O=fleetkit', 'rsa');
    // a realistic registry: the issuing CA among others
    const others = [1, 2, 3].map((n) => pki.ca(`o${n}`, `/CN=Other CA ${n}/O=elsewhere`));
    const ecPem = pki.device(ec, '/CN=dev-ec/O=acme/C=DE');
    const rsaPem = pki.device(rsa, '/CN=dev-rsa/O=acme/C=DE', { key: 'rsa' });
    const cas = createCaRegistry([...others.map((o) => ({ id: o.name, pem: o.pem })), { id: 'ec', pem: ec.pem }, { id: 'rsa', pem: rsa.pem }]);
    const revoked = createRevocationList();
    const template = defineProvisioningTemplate({
      name: 'bench',
      policies: ['{{TenantId}}-device'],
      desiredConfig: { reportIntervalS: 60 },
      home: {
        rules: [{ when: { Country: 'DE' }, region: 'eu-central-1', endpoint: 'mqtts://eu.example.com:8883' }],
        fallback: { region: 'us-east-1', endpoint: 'mqtts://us.example.com:8883' },
        topics: { telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/telemetry' },
      },
    });
    const now = Date.now() + 60_000;
    const jitp = (name: string, input: string | X509Certificate): ReturnType<typeof measure> =>
      measure(
        name,
        () => {
          const r = provisionWithCertificate(input, { now, cas, revoked, template });
          if (!r.ok) throw r.error;
        },
        { ms: 800, batch: 16 },
      );
    const ecCa = new X509Certificate(ec.pem);
    const floor = measure(
      'floor: node:crypto parse + checkIssued + verify (EC)',
      () => {
        const c = new X509Certificate(ecPem);
        if (!c.checkIssued(ecCa) || !c.verify(ecCa.publicKey)) throw new Error('verify failed');
      },
      { ms: 800, batch: 16 },
    );
    const ecFromPem = jitp('provisionWithCertificate, EC P-256 PEM', ecPem);
    const ecParsed = jitp('provisionWithCertificate, EC P-256 X509Certificate (from TLS)', new X509Certificate(ecPem));
    const rsaFromPem = jitp('provisionWithCertificate, RSA 2048 PEM', rsaPem);
    const groupKey = randomBytes(64).toString('base64');
    const groups = createEnrollmentGroups([{ groupId: 'bench', key: groupKey, tenantId: 'acme' }]);
    const deviceKey = deriveDeviceKey(groupKey, 'sensor-1');
    const requests = Array.from({ length: 1024 }, (_, i) => {
      const nonce = `${String(i).padStart(16, '0')}`;
      return { groupId: 'bench', registrationId: 'sensor-1', nonce, timestamp: now, proof: computeEnrollmentProof(deviceKey, nonce, now) };
    });
    const symmetric = measure(
      'provisionWithSymmetricKey',
      (i) => {
        const r = provisionWithSymmetricKey(requests[i % requests.length], { now, groups, revoked, seenNonces: new Map(), template });
        if (!r.ok) throw r.error;
      },
      { ms: 800, batch: 16 },
    );
    return [floor, ecFromPem, ecParsed, rsaFromPem, symmetric];
  } finally {
    pki.cleanup();
  }
}

function floorOf(rows: readonly ReturnType<typeof measure>[]): ReturnType<typeof measure> {
  const first = rows[0];
  if (first === undefined) throw new Error('no JITP rows');
  return first;
}

/** Runs the lifecycle suite. */
export async function run(): Promise<void> {
  const ms = 1500;
  const xs = benchXstate(ms);
  const ours = benchOurs(ms, { deviceId: 'dev-1', tenantId: 'acme', state: 'active', since: 0, updatedAt: 0 }, 'fleetkit transition(), snapshot');
  const record = benchOurs(ms, FULL_RECORD, 'fleetkit transition(), full DeviceRecord (11 fields)');
  const row = (m: ReturnType<typeof measure>): Record<string, string> => {
    const ratio = m.opsPerSec / xs.opsPerSec;
    return {
      reducer: m.name,
      'transitions/s': fmt(m.opsPerSec),
      'ns/transition': fmt(m.nsPerOp, 1),
      ratio: `${fmt(ratio)}×`,
      target: `${verdict(ratio >= 100, '≥ 100× xstate')}; ${verdict(m.opsPerSec >= 5_000_000, '≥ 5,000,000/s')}`,
    };
  };
  printTable('lifecycle: transitions per second (same machine, same run)', [
    { reducer: xs.name, 'transitions/s': fmt(xs.opsPerSec), 'ns/transition': fmt(xs.nsPerOp, 1), ratio: '1×', target: '' },
    row(ours),
    // The target compares like with like (xstate's snapshot holds only the state); a record with
    // more fields pays for copying them, shown for information.
    { ...row(record), target: 'info: copy of 11 fields included' },
  ]);
  const jitp = benchJitp();
  printTable(
    'lifecycle: provisioning evaluations per second (real certificates, openssl-made)',
    jitp.map((m) => ({
      evaluation: m.name,
      'per second': fmt(m.opsPerSec),
      'µs each': fmt(m.nsPerOp / 1000, 1),
      // only the EC rows verify the same certificate as the floor
      'speed vs EC floor': m === floorOf(jitp) ? '1×' : m.name.includes('EC P-256') ? `${fmt(floorOf(jitp).nsPerOp / m.nsPerOp, 2)}×` : '—',
    })),
  );
  await Promise.resolve();
}
