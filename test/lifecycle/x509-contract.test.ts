// The refusals and boundaries of X.509 provisioning that callers rely on, with real certificates made
// by openssl: codes, statuses, details and causes; the CA's own validity window (both ends inclusive);
// PEM bytes; subject parsing; CA registration defaults; template parameters from the subject and the
// CA; revocation keys; the order of a rotation plan. The certificates are made once (beforeAll), every
// call of the code under test happens inside a test.
import { X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FleetError,
  addRevocations,
  certificatesExpiring,
  createCaRegistry,
  createRevocationList,
  defineProvisioningTemplate,
  parseSubject,
  provisionWithCertificate,
  revocationKey,
  setCaStatus,
  verifyDeviceCertificate,
} from '../../src/lifecycle/index.js';
import type { CaRegistry, CertificateProvisioningOptions, ProvisioningResult, RevocationEntry } from '../../src/lifecycle/index.js';
import { Pki } from './openssl.js';
import { thrownFleetError as thrown } from '../support/hostile.js';

const DAY = 86_400_000;
let pki: Pki;
let now: number;
const pem: Record<string, string> = {};

beforeAll(() => {
  pki = new Pki();
  const base = Date.now();
  const root = pki.ca('root', '/CN=Contract CA/O=fleetkit');
  const other = pki.ca('other', '/CN=Other CA/O=elsewhere');
  const tenant = pki.ca('tenant', '/CN=Acme CA/O=acme');
  pem['root'] = root.pem;
  pem['other'] = other.pem;
  pem['tenant'] = tenant.pem;
  pem['leaf'] = pki.device(root, '/CN=leaf/O=acme');
  pem['place'] = pki.device(root, '/CN=dev-place/O=acme/ST=Bavaria/L=Munich');
  pem['tenantDevice'] = pki.device(tenant, '/CN=dev-tenant/O=acme');
  pem['untrusted'] = pki.device(other, '/CN=dev-untrusted/O=acme');
  pem['expired'] = pki.deviceWindow(root, '/CN=dev-expired/O=acme', base - 2 * DAY, base - DAY);
  pem['future'] = pki.deviceWindow(root, '/CN=dev-future/O=acme', base + DAY, base + 2 * DAY);
  const ca = new X509Certificate(root.pem);
  // valid well beyond its CA on both sides: only the CA's own window decides
  pem['wide'] = pki.deviceWindow(root, '/CN=dev-wide/O=acme', Date.parse(ca.validFrom) - DAY, Date.parse(ca.validTo) + DAY);
  now = Date.now() + 1_000;
}, 60_000);

afterAll(() => pki.cleanup());

function registry(): CaRegistry {
  return createCaRegistry([
    { id: 'root', pem: pem['root'] },
    { id: 'acme-ca', pem: pem['tenant'], tenantId: 'acme' },
  ]);
}

function verify(cert: unknown, extra: { now?: number; cas?: CaRegistry; revoked?: ReturnType<typeof createRevocationList> } = {}) {
  return verifyDeviceCertificate(cert, { now, cas: registry(), revoked: createRevocationList(), ...extra });
}

function provision(cert: string, extra: Partial<CertificateProvisioningOptions> = {}): ProvisioningResult {
  return provisionWithCertificate(cert, { now, cas: registry(), revoked: createRevocationList(), template: defineProvisioningTemplate({ name: 'minimal' }), ...extra });
}

function errorOf(r: { ok: boolean; error?: FleetError }): FleetError {
  if (r.ok || r.error === undefined) throw new Error('expected a refusal');
  return r.error;
}

describe('parseSubject', () => {
  it('skips parts without a name (no "=" or a leading "=")', () => {
    const r = parseSubject('CN=a\n=b\nnoequals\nO=x=y');
    expect(r.ok && { ...r.value }).toEqual({ CN: 'a', O: 'x=y' });
  });

  it('refuses an attribute that appears twice: TEMPLATE_INVALID 400 naming it', () => {
    const e = errorOf(parseSubject('CN=a\nO=x + CN=b'));
    expect(e.code).toBe('TEMPLATE_INVALID');
    expect(e.status).toBe(400);
    expect(e.details).toEqual({ attribute: 'CN' });
    expect(e.message).toContain('more than one "CN" attribute');
  });
});

describe('verifyDeviceCertificate: what it accepts', () => {
  it('accepts the certificate as PEM text, as bytes (Buffer or Uint8Array) and parsed', () => {
    for (const form of [pem['leaf'], Buffer.from(pem['leaf'] as string), new Uint8Array(Buffer.from(pem['leaf'] as string)), new X509Certificate(pem['leaf'] as string)]) {
      expect(verify(form).ok).toBe(true);
    }
  });

  it('accepts a CA at exactly its validFrom and validTo, refuses one ms outside (CERT_UNTRUSTED 401 with the window)', () => {
    const ca = new X509Certificate(pem['root'] as string);
    const from = Date.parse(ca.validFrom);
    const to = Date.parse(ca.validTo);
    expect(verify(pem['wide'], { now: from }).ok).toBe(true);
    expect(verify(pem['wide'], { now: to }).ok).toBe(true);
    for (const at of [from - 1, to + 1]) {
      const e = errorOf(verify(pem['wide'], { now: at }));
      expect(e.code).toBe('CERT_UNTRUSTED');
      expect(e.status).toBe(401);
      expect(e.details).toEqual({ caId: 'root', notBefore: from, notAfter: to });
      expect(e.message).toContain(`CA "root" is outside its own validity window at ${new Date(at).toISOString()}`);
    }
  });

  it('takes now up to ±8.64e15 ms (the range of a Date) and refuses beyond, never a RangeError', () => {
    for (const at of [8.64e15, -8.64e15]) expect(errorOf(verify(pem['leaf'], { now: at })).code).toBe('CERT_UNTRUSTED');
    for (const at of [8.64e15 + 1, -8.64e15 - 1, Number.NaN, '1' as never]) {
      const e = thrown(() => verify(pem['leaf'], { now: at }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toMatch(/^verifyDeviceCertificate: now must be an epoch-ms time/);
    }
  });

  it('refuses a registry not made by createCaRegistry or setCaStatus', () => {
    const real = registry();
    for (const fake of [{ cas: real.cas }, { cas: [] }, null, 'root']) {
      const e = thrown(() => verify(pem['leaf'], { cas: fake as never }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain('the CA registry must come from createCaRegistry');
    }
  });
});

describe('verifyDeviceCertificate refusals: code, status, details, cause', () => {
  it('not a string or bytes: CERT_INVALID 400 with the type', () => {
    const e = errorOf(verify(42));
    expect([e.code, e.status, e.message]).toEqual(['CERT_INVALID', 400, 'The device certificate must be a PEM string']);
    expect(e.details).toEqual({ type: 'number' });
    expect(e.cause).toBeUndefined();
  });

  it('unreadable PEM: CERT_INVALID 400 with the parser error as cause', () => {
    const e = errorOf(verify('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'));
    expect([e.code, e.status]).toEqual(['CERT_INVALID', 400]);
    expect(e.message).toContain('is not a readable X.509 certificate');
    expect(e.cause).toBeInstanceOf(Error);
  });

  it('a CA certificate presented as a device certificate: CERT_INVALID 400 with its subject', () => {
    const e = errorOf(verify(pem['other']));
    expect([e.code, e.status]).toEqual(['CERT_INVALID', 400]);
    expect(e.details).toEqual({ subject: 'CN=Other CA\nO=elsewhere' });
    expect(e.message).toBe('"CN=Other CA, O=elsewhere" is a CA certificate; a device presents its own leaf certificate');
  });

  it('an unknown issuer: CERT_UNTRUSTED 401 naming subject and issuer', () => {
    const e = errorOf(verify(pem['untrusted']));
    expect([e.code, e.status]).toEqual(['CERT_UNTRUSTED', 401]);
    expect(e.details).toEqual({ issuer: 'CN=Other CA\nO=elsewhere' });
    expect(e.message).toContain('"CN=dev-untrusted, O=acme" was not issued by any registered CA (issuer "CN=Other CA, O=elsewhere")');
    expect(e.cause).toBeUndefined();
  });

  it('an inactive CA: CA_INACTIVE 403 with the CA id', () => {
    const e = errorOf(verify(pem['leaf'], { cas: setCaStatus(registry(), 'root', 'inactive') }));
    expect([e.code, e.status]).toEqual(['CA_INACTIVE', 403]);
    expect(e.details).toEqual({ caId: 'root' });
  });

  it('outside its own window: the details carry subject, window and now', () => {
    const cert = new X509Certificate(pem['expired'] as string);
    const e = errorOf(verify(pem['expired']));
    expect([e.code, e.status]).toEqual(['CERT_EXPIRED', 401]);
    expect(e.details).toEqual({ subject: cert.subject, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo), now });
    expect(e.message).toMatch(/^"CN=dev-expired, O=acme" expired at /);
    const future = new X509Certificate(pem['future'] as string);
    const early = errorOf(verify(pem['future']));
    expect([early.code, early.status]).toEqual(['CERT_NOT_YET_VALID', 401]);
    expect(early.details).toEqual({ subject: future.subject, notBefore: Date.parse(future.validFrom), notAfter: Date.parse(future.validTo), now });
    expect(early.message).toMatch(/^"CN=dev-future, O=acme" is not valid before /);
  });

  it('revoked: CERT_REVOKED 401 with issuer and serial', () => {
    const cert = new X509Certificate(pem['leaf'] as string);
    const revoked = addRevocations(createRevocationList(), [{ kind: 'x509', issuer: cert.issuer, serial: cert.serialNumber }]);
    const e = errorOf(verify(pem['leaf'], { revoked }));
    const serial = cert.serialNumber.toUpperCase().replace(/^0+(?=.)/, '');
    expect([e.code, e.status]).toEqual(['CERT_REVOKED', 401]);
    expect(e.details).toEqual({ issuer: cert.issuer, serial });
    expect(e.message).toContain(`(serial ${serial}) has been revoked`);
  });
});

describe('createCaRegistry and setCaStatus', () => {
  it('registers CAs in order, with the fingerprint as default id and active as default status', () => {
    const root = new X509Certificate(pem['root'] as string);
    const cas = createCaRegistry([{ pem: pem['root'] }, { id: 'other', pem: pem['other'], status: 'inactive' }, { id: 'acme-ca', pem: pem['tenant'], tenantId: 'acme' }]);
    expect(cas.cas.map((c) => [c.id, c.status, c.tenantId])).toEqual([
      [root.fingerprint256, 'active', undefined],
      ['other', 'inactive', undefined],
      ['acme-ca', 'active', 'acme'],
    ]);
    expect(cas.cas[0]?.pem).toBe(pem['root']);
    expect(cas.cas[0]?.certificate.fingerprint256).toBe(root.fingerprint256);
  });

  it('refusals carry the entry index (or the id) and, for an unreadable PEM, the cause', () => {
    const shape = thrown(() => createCaRegistry([{ pem: pem['root'] }, { pem: 5 }]));
    expect([shape.code, shape.status]).toEqual(['INVALID_ARGUMENT', 400]);
    expect(shape.details).toEqual({ index: 1 });
    expect(shape.message).toMatch(/^createCaRegistry: entry 1 must be \{ id\?, pem, status\?, tenantId\? \}: pem: /);
    expect(shape.cause).toBeUndefined();
    expect(thrown(() => createCaRegistry([42])).message).toMatch(/: entry: /);
    const garbage = thrown(() => createCaRegistry([{ pem: 'not a certificate' }]));
    expect(garbage.details).toEqual({ index: 0 });
    expect(garbage.cause).toBeInstanceOf(Error);
    const leaf = thrown(() => createCaRegistry([{ pem: pem['root'] }, { pem: pem['leaf'] }]));
    expect(leaf.details).toEqual({ index: 1 });
    expect(leaf.message).toBe('createCaRegistry: entry 1 (CN=leaf, O=acme) is not a CA certificate (basicConstraints CA:TRUE)');
    const dup = thrown(() => createCaRegistry([{ id: 'a', pem: pem['root'] }, { id: 'a', pem: pem['other'] }]));
    expect(dup.details).toEqual({ id: 'a' });
    expect(dup.message).toContain('duplicate CA id "a"');
  });

  it('setCaStatus changes only the named CA; an unknown id is a 404 listing the registered ids', () => {
    const before = registry();
    const after = setCaStatus(before, 'root', 'inactive');
    expect(after.cas.map((c) => [c.id, c.status])).toEqual([
      ['root', 'inactive'],
      ['acme-ca', 'active'],
    ]);
    expect(before.cas.map((c) => c.status)).toEqual(['active', 'active']);
    const e = thrown(() => setCaStatus(before, 'nope', 'inactive'));
    expect([e.code, e.status]).toEqual(['INVALID_ARGUMENT', 404]);
    expect(e.details).toEqual({ id: 'nope' });
    expect(e.message).toBe('setCaStatus: no CA with id "nope"; registered ids: root, acme-ca');
  });
});

describe('provisionWithCertificate: parameters and the method', () => {
  it('fills State and Locality from the subject', () => {
    const template = defineProvisioningTemplate({ name: 'place', attributes: { state: '{{State}}', locality: '{{Locality}}', ca: '{{CaId}}' } });
    const r = provision(pem['place'] as string, { template });
    if (!r.ok) throw r.error;
    expect(r.record.attributes).toEqual({ state: 'Bavaria', locality: 'Munich', ca: 'root' });
  });

  it('CaTenantId is the CA’s tenant when it has one; otherwise the template default applies', () => {
    const template = defineProvisioningTemplate({ name: 'ca-tenant', parameterDefaults: { CaTenantId: 'none' }, attributes: { caTenant: '{{CaTenantId}}' } });
    const own = provision(pem['tenantDevice'] as string, { template });
    if (!own.ok) throw own.error;
    expect(own.record.attributes).toEqual({ caTenant: 'acme' });
    const shared = provision(pem['leaf'] as string, { template });
    if (!shared.ok) throw shared.error;
    expect(shared.record.attributes).toEqual({ caTenant: 'none' });
  });

  it('names the certificate subject as the source and "certificate" as the method', () => {
    const needsOu = defineProvisioningTemplate({ name: 'ou', attributes: { ou: '{{OrganizationalUnit}}' } });
    expect(errorOf(provision(pem['leaf'] as string, { template: needsOu })).message).toBe('The template uses {{OrganizationalUnit}}, but the certificate subject does not provide it');
    const r = provision(pem['leaf'] as string);
    if (!r.ok) throw r.error;
    expect((r.effects[0] as unknown as { reason: string }).reason).toBe('certificate');
    const e = thrown(() => provision(pem['leaf'] as string, { existing: 1 as never }));
    expect(e.message).toMatch(/^provisionWithCertificate: existing must be a function/);
    const moved = errorOf(provision(pem['tenantDevice'] as string, { template: defineProvisioningTemplate({ name: 'x', tenantId: 'globex' }) }));
    expect(moved.message).toMatch(/^The certificate belongs to tenant "acme"/);
  });
});

describe('revocation entries', () => {
  it('revocationKey refuses unknown kinds and non-string fields of either kind', () => {
    const bad: unknown[] = [
      { kind: 'bogus', groupId: 'g', registrationId: 'r' },
      { kind: 'bogus', issuer: 'CN=x', serial: '0A' },
      { kind: 'x509', issuer: 5, serial: '0A' },
      { kind: 'x509', issuer: 'CN=x', serial: 10 },
      { kind: 'enrollment', groupId: 1, registrationId: 'r' },
      { kind: 'enrollment', groupId: 'g' },
    ];
    for (const entry of bad) {
      const e = thrown(() => revocationKey(entry as RevocationEntry));
      expect(e.code, JSON.stringify(entry)).toBe('INVALID_ARGUMENT');
    }
    expect(revocationKey({ kind: 'enrollment', groupId: 'g', registrationId: 'r' })).toBe('enrollment\u0000g\u0000r');
  });

  it('addRevocations refusals carry status 400 (and the index of a bad entry)', () => {
    const notList = thrown(() => addRevocations(new Set() as never, []));
    expect([notList.code, notList.status, notList.message]).toEqual(['INVALID_ARGUMENT', 400, 'addRevocations: list must be a revocation list from createRevocationList']);
    const entry = thrown(() => addRevocations(createRevocationList(), [{ kind: 'enrollment', groupId: 'g', registrationId: 'r' }, 42]));
    expect(entry.details).toEqual({ index: 1 });
    expect(entry.message).toMatch(/: entry: /);
  });
});

describe('certificatesExpiring order', () => {
  type Candidate = { deviceId: string; tenantId: string; state: 'active'; identity: { kind: 'x509'; serial: string; issuer: string; notAfter: number; fingerprint: string; caId: string; notBefore: number } };
  const NOW = 1_800_000_000_000;
  const candidate = (deviceId: string, notAfter: number): Candidate => ({
    deviceId,
    tenantId: 'acme',
    state: 'active',
    identity: { kind: 'x509', serial: '01', issuer: 'CN=ca', notAfter, fingerprint: `fp-${deviceId}`, caId: 'root', notBefore: 0 },
  });
  const sortedBy = (items: readonly { deviceId: string; notAfter: number }[]) =>
    items.every((x, i) => i === 0 || (items[i - 1] as typeof x).notAfter < x.notAfter || ((items[i - 1] as typeof x).notAfter === x.notAfter && (items[i - 1] as typeof x).deviceId < x.deviceId));

  it('orders by notAfter, then deviceId, over a fixed large corpus in several input orders', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `dev-${String((i * 7919) % 1000).padStart(3, '0')}`);
    const corpus = ids.map((id, i) => candidate(id, NOW + ((i * 31) % 3) * 1000));
    for (const input of [corpus, [...corpus].reverse(), [...corpus].sort((a, b) => (a.deviceId < b.deviceId ? 1 : -1))]) {
      const plan = certificatesExpiring(input as never, { within: DAY, now: NOW });
      expect(plan.items).toHaveLength(300);
      expect(sortedBy(plan.items)).toBe(true);
    }
  });

  it('law: the plan is sorted by (notAfter, deviceId) and does not depend on the input order', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z0-9]{1,6}$/), { minLength: 0, maxLength: 120 }),
        fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 120, maxLength: 120 }),
        (ids, offsets) => {
          const records = ids.map((id, i) => candidate(id, NOW + (offsets[i] ?? 0) * 1000));
          const a = certificatesExpiring(records as never, { within: DAY, now: NOW }).items;
          const b = certificatesExpiring([...records].reverse() as never, { within: DAY, now: NOW }).items;
          return sortedBy(a) && JSON.stringify(a) === JSON.stringify(b);
        },
      ),
      { numRuns: 100 },
    );
  });
});
