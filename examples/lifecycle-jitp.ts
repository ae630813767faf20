/**
 * Just-in-time provisioning with real X.509 certificates (made here with the openssl CLI):
 * a device certificate from a registered CA provisions; an expired one, one from an unknown CA
 * and, after decommissioning, the same certificate again are refused.
 *
 * Run: npx tsx examples/lifecycle-jitp.ts   (needs `openssl` on the PATH)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyRevocations,
  createCaRegistry,
  createRevocationList,
  defineProvisioningTemplate,
  planDecommission,
  provisionWithCertificate,
} from 'fleetkit/lifecycle';

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-jitp-'));
const ssl = (...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
};
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function ca(name: string): string {
  ssl('req', '-x509', ...ec, '-days', '3650', '-subj', `/CN=${name}/O=fleetkit`, '-keyout', `${name}.key`, '-out', `${name}.crt`);
  return readFileSync(join(dir, `${name}.crt`), 'utf8');
}

function device(caName: string, subject: string, days: number): string {
  const id = subject.replace(/\W/g, '');
  ssl('req', '-new', ...ec, '-subj', subject, '-keyout', `${id}.key`, '-out', `${id}.csr`);
  ssl('x509', '-req', '-in', `${id}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-days', String(days), '-extfile', 'leaf.ext', '-out', `${id}.crt`);
  return readFileSync(join(dir, `${id}.crt`), 'utf8');
}

try {
  writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const cas = createCaRegistry([{ id: 'acme-root', pem: ca('acme-root'), tenantId: 'acme' }]);
  ca('unknown-ca');
  const good = device('acme-root', '/CN=pump-0007/O=acme/C=DE', 365);
  const shortLived = device('acme-root', '/CN=pump-0008/O=acme/C=DE', 1);
  const stranger = device('unknown-ca', '/CN=pump-0009/O=acme/C=DE', 365);

  const template = defineProvisioningTemplate({
    name: 'pumps-v1',
    desiredConfig: { flowReportS: 30 },
    policies: ['{{TenantId}}-pump'],
    home: {
      rules: [{ when: { Country: 'DE' }, region: 'eu-central-1', endpoint: 'mqtts://eu.iot.example.com:8883' }],
      fallback: { region: 'us-east-1', endpoint: 'mqtts://us.iot.example.com:8883' },
      topics: { telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/telemetry' },
    },
  });
  let revoked = createRevocationList();
  const now = Date.now() + 5_000;

  const first = provisionWithCertificate(good, { now, cas, revoked, template });
  if (!first.ok) throw first.error;
  console.log(`provisioned ${first.record.deviceId} (${first.record.tenantId}) → ${first.record.home?.endpoint}`);
  console.log(`  effects: ${first.effects.map((e) => e.type).join(', ')}`);

  const inTwoDays = provisionWithCertificate(shortLived, { now: now + 2 * 86_400_000, cas, revoked, template });
  console.log(`short-lived certificate two days later: ${inTwoDays.ok ? 'accepted?!' : inTwoDays.error.code}`);
  const unknown = provisionWithCertificate(stranger, { now, cas, revoked, template });
  console.log(`certificate from an unregistered CA: ${unknown.ok ? 'accepted?!' : unknown.error.code}`);

  const plan = planDecommission(first.record, { reason: 'pump replaced', actor: 'ops@acme', now: now + 1 });
  if (!plan.ok) throw plan.error;
  revoked = applyRevocations(revoked, plan.effects);
  const again = provisionWithCertificate(good, { now: now + 2, cas, revoked, template });
  console.log(`same certificate after decommissioning: ${again.ok ? 'accepted?!' : again.error.code}`);

  const expected = [inTwoDays, unknown, again].map((r) => (r.ok ? 'ok' : r.error.code)).join(',');
  if (expected !== 'CERT_EXPIRED,CERT_UNTRUSTED,CERT_REVOKED') process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
