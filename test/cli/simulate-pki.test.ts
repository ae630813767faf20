// The simulation's CA: certificates built as DER with node:crypto pass the lifecycle core's device
// certificate checks (issuer, signature, validity, subject → device and tenant) and openssl's own
// verification; a certificate from another CA, or one checked outside its window, is refused.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SimulationCa } from '../../src/cli/simulate/pki.js';
import { createCaRegistry, createRevocationList, verifyDeviceCertificate } from '../../src/lifecycle/index.js';
import { opensslAvailable } from '../support/certs.js';

const NOW = Date.UTC(2026, 2, 2, 6);
const DAY = 86_400_000;

describe('SimulationCa', () => {
  const ca = new SimulationCa('acme', NOW);
  const other = new SimulationCa('acme', NOW);
  const cas = createCaRegistry([{ id: 'gateway-ca', pem: ca.pem, tenantId: 'acme' }]);
  const revoked = createRevocationList();

  it('issues leaf certificates the core accepts: CN is the device, O the tenant, valid from a day before start for two years', () => {
    for (const id of ['gw-001', 'gw-250', 'b001-gateway']) {
      const leaf = ca.issue(id);
      const r = verifyDeviceCertificate(leaf.pem, { now: NOW, cas, revoked });
      expect(r.ok, JSON.stringify(r)).toBe(true);
      if (!r.ok) continue;
      expect(r.value.subject).toMatchObject({ CN: id, O: 'acme' });
      expect(r.value.ca.id).toBe('gateway-ca');
      expect(r.value.notBefore).toBe(NOW - DAY);
      expect(r.value.notAfter).toBe(NOW + 2 * 365 * DAY);
      const cert = new X509Certificate(leaf.pem);
      expect(cert.ca).toBe(false);
      expect(cert.checkPrivateKey(leaf.privateKey)).toBe(true);
    }
    const root = new X509Certificate(ca.pem);
    expect(root.ca).toBe(true);
    expect(root.verify(root.publicKey)).toBe(true);
  });

  it('every certificate has its own serial and key', () => {
    const a = new X509Certificate(ca.issue('gw-1').pem);
    const b = new X509Certificate(ca.issue('gw-1').pem);
    expect(a.serialNumber).not.toBe(b.serialNumber);
    expect(a.publicKey.export({ type: 'spki', format: 'der' }).equals(b.publicKey.export({ type: 'spki', format: 'der' }))).toBe(false);
  });

  it('refuses what it should: another CA, before and after the window, a CA certificate presented as a device', () => {
    const foreign = verifyDeviceCertificate(other.issue('gw-1').pem, { now: NOW, cas, revoked });
    expect(foreign.ok ? 'ok' : foreign.error.code).toBe('CERT_UNTRUSTED');
    const early = verifyDeviceCertificate(ca.issue('gw-1').pem, { now: NOW - 2 * DAY, cas, revoked });
    expect(early.ok ? 'ok' : early.error.code).not.toBe('ok');
    const late = verifyDeviceCertificate(ca.issue('gw-1').pem, { now: NOW + 3 * 365 * DAY, cas, revoked });
    expect(late.ok ? 'ok' : late.error.code).not.toBe('ok');
    const self = verifyDeviceCertificate(ca.pem, { now: NOW, cas, revoked });
    expect(self.ok ? 'ok' : self.error.code).toBe('CERT_INVALID');
    expect(ca.issued(other.issue('x').pem)).toBe(false);
    expect(ca.issued(ca.issue('x').pem)).toBe(true);
  });

  it.skipIf(!opensslAvailable())('openssl verifies the chain and reads the extensions', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetkit-sim-pki-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.pem);
      writeFileSync(join(dir, 'leaf.pem'), ca.issue('gw-042').pem);
      const out = execFileSync('openssl', ['verify', '-attime', String(Math.floor(NOW / 1000)), '-purpose', 'sslclient', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
      expect(out.trim()).toBe(`${join(dir, 'leaf.pem')}: OK`);
      const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text'], { encoding: 'utf8' });
      expect(text).toContain('CA:FALSE');
      expect(text).toContain('TLS Web Client Authentication');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
