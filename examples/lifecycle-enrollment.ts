/**
 * A device's whole life with fleetkit's lifecycle core, no broker needed:
 * symmetric-key enrollment → heartbeats → degraded → recovered → decommissioned → wiped,
 * and proof that the retired enrollment can never provision again.
 *
 * Run: npx tsx examples/lifecycle-enrollment.ts
 */
import { randomBytes } from 'node:crypto';
import {
  applyRevocations,
  computeEnrollmentProof,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  deriveDeviceKey,
  evaluateHealth,
  heartbeatStatus,
  nextHealthEvent,
  planDecommission,
  provisionWithSymmetricKey,
  transition,
} from 'fleetkit/lifecycle';
import type { DeviceRecord, LifecycleEffect, NonceLedger, SymmetricKeyRequest } from 'fleetkit/lifecycle';

const MINUTE = 60_000;
let now = Date.UTC(2026, 0, 1, 8, 0, 0);
const log = (effects: readonly LifecycleEffect[]): void => {
  for (const e of effects) {
    if (e.type === 'audit') console.log(`  audit  ${e.from} --${e.event}--> ${e.to ?? '(record removed)'}  by ${e.actor}${e.reason ? ` (${e.reason})` : ''}`);
    else console.log(`  effect ${e.type}`);
  }
};

// Cloud side: one enrollment group, a template with a home-endpoint rule.
const groupKey = randomBytes(64).toString('base64');
const groups = createEnrollmentGroups([{ groupId: 'field-sensors', key: groupKey, tenantId: 'acme' }]);
const template = defineProvisioningTemplate({
  name: 'field-sensors-v1',
  attributes: { group: '{{GroupId}}' },
  desiredConfig: { reportIntervalS: 60 },
  home: {
    rules: [],
    fallback: { region: 'eu-central-1', endpoint: 'mqtts://eu.iot.example.com:8883' },
    topics: { telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/telemetry' },
  },
});
let revoked = createRevocationList();
let seenNonces: NonceLedger = new Map();

// Factory: the device gets only its derived key, never the group key.
const deviceKey = deriveDeviceKey(groupKey, 'sensor-0042');
const enroll = (nonce: string): SymmetricKeyRequest => ({
  groupId: 'field-sensors',
  registrationId: 'sensor-0042',
  nonce,
  timestamp: now,
  proof: computeEnrollmentProof(deviceKey, nonce, now),
});

console.log('1. enrollment');
const enrolled = provisionWithSymmetricKey(enroll(randomBytes(16).toString('hex')), { now, groups, revoked, seenNonces, template });
seenNonces = enrolled.seenNonces;
if (!enrolled.ok) throw enrolled.error;
let device: DeviceRecord = enrolled.record;
log(enrolled.effects);
console.log(`  → ${device.deviceId} in ${device.tenantId}, state ${device.state}, home ${device.home?.endpoint}`);

console.log('2. heartbeats stop: three misses degrade the device');
const lastSeen = now;
for (let t = 1; t <= 5; t++) {
  now += MINUTE;
  const hb = heartbeatStatus(lastSeen, now, { state: device.state });
  const event = nextHealthEvent(device.state, { heartbeat: hb });
  if (event === undefined) continue;
  const r = transition(device, { type: event, actor: 'health-monitor', reason: `${hb.missed} heartbeats missed` }, { now });
  if (!r.ok) throw r.error;
  device = r.next;
  log(r.effects);
}

console.log('3. a heartbeat with a good sample arrives: auto recovery');
const health = evaluateHealth({ at: now, batteryPct: 76, rssiDbm: -64, freeHeapBytes: 120_000 });
const recovered = nextHealthEvent(device.state, { heartbeat: heartbeatStatus(now, now, { state: device.state }), health });
if (recovered !== undefined) {
  const r = transition(device, { type: recovered, actor: 'health-monitor' }, { now });
  if (!r.ok) throw r.error;
  device = r.next;
  log(r.effects);
}

console.log('4. an event the state does not accept is refused, nothing changes');
const refused = transition(device, { type: 'config_complete' }, { now });
console.log(`  ${refused.ok ? 'accepted?!' : refused.error.code}: ${refused.ok ? '' : refused.error.message}`);

console.log('5. decommission');
now += MINUTE;
const plan = planDecommission(device, { reason: 'end of contract', actor: 'ops@acme', now });
if (!plan.ok) throw plan.error;
log(plan.effects);
revoked = applyRevocations(revoked, plan.effects);
now += MINUTE;
const wiped = transition(plan.next, { type: 'data_wiped', actor: 'wipe-service' }, { now });
if (!wiped.ok) throw wiped.error;
log(wiped.effects);

console.log('6. the same enrollment tries again');
const again = provisionWithSymmetricKey(enroll(randomBytes(16).toString('hex')), { now, groups, revoked, seenNonces, template });
console.log(`  ${again.ok ? 'provisioned?!' : again.error.code}`);
if (again.ok || again.error.code !== 'CERT_REVOKED') process.exit(1);
