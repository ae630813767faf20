import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addRevocations,
  applyRevocations,
  createCaRegistry,
  createRevocationList,
  defineProvisioningTemplate,
  parseSubject,
  planDecommission,
  provisionWithCertificate,
  setCaStatus,
  transition,
  verifyDeviceCertificate,
} from '../../src/lifecycle/index.js';
import type { CaRegistry, CertificateProvisioningOptions, DeviceRecord, ProvisioningResult } from '../../src/lifecycle/index.js';
import { Pki } from './openssl.js';

const DAY = 86_400_000;
let pki: Pki;
let cas: CaRegistry;
let now: number;
const pem: Record<string, string> = {};

beforeAll(() => {
  pki = new Pki();
  const base = Date.now();
  const root = pki.ca('root', '/CN=Fleet Test CA/O=fleetkit');
  const rsa = pki.ca('rsa', '/CN=Fleet RSA CA/O=fleetkit', 'rsa');
  const other = pki.ca('other', '/CN=Other CA/O=elsewhere');
  // same name as the registered root, different key: only the signature check can tell them apart
  const impostor = pki.ca('impostor', '/CN=Fleet Test CA/O=fleetkit');
  const retired = pki.ca('retired', '/CN=Retired CA/O=fleetkit');
  const tenantCa = pki.ca('tenant', '/CN=Acme CA/O=acme');
  pem['rootCa'] = root.pem;
  pem['otherCa'] = other.pem;
  pem['valid'] = pki.device(root, '/CN=dev-001/O=acme/OU=plant-3/C=DE');
  pem['validUs'] = pki.device(root, '/CN=dev-002/O=acme/C=US');
  pem['rsaDevice'] = pki.device(rsa, '/CN=dev-rsa/O=acme', { key: 'rsa' });
  pem['wrongCa'] = pki.device(other, '/CN=dev-003/O=acme');
  pem['impostor'] = pki.device(impostor, '/CN=dev-004/O=acme');
  pem['retired'] = pki.device(retired, '/CN=dev-005/O=acme');
  pem['expired'] = pki.deviceWindow(root, '/CN=dev-006/O=acme', base - 400 * DAY, base - 35 * DAY);
  pem['notYet'] = pki.deviceWindow(root, '/CN=dev-007/O=acme', base + 30 * DAY, base + 400 * DAY);
  pem['revoked'] = pki.device(root, '/CN=dev-008/O=acme');
  pem['tenantOk'] = pki.device(tenantCa, '/CN=dev-009/O=acme');
  pem['tenantBad'] = pki.device(tenantCa, '/CN=dev-010/O=globex');
  pem['noOrg'] = pki.device(root, '/CN=dev-011');
  // template-injection attempts in the subject
  pem['injSlash'] = pki.device(root, '/CN=dev\\/+\\/#/O=acme');
  pem['injPlaceholder'] = pki.device(root, '/CN={{Organization}}/O=acme');
  pem['injComma'] = pki.device(root, '/CN=x\\,O=evil/O=acme');
  pem['injDots'] = pki.device(root, '/CN=..\\/..\\/etc/O=acme');
  pem['injProto'] = pki.device(root, '/CN=constructor/O=acme');
  pem['injDupOrg'] = pki.device(root, '/CN=dev-012/O=acme/O=globex');
  pem['injMultiRdn'] = pki.device(root, '/CN=dev-013+O=globex/O=acme');
  pem['injTenant'] = pki.device(root, '/CN=dev-014/O=acme tenant');
  pem['injQuote'] = pki.device(root, '/CN=dev"><script>/O=acme');
  pem['multiRdn'] = pki.device(root, '/CN=dev-015+OU=line-2/O=acme');
  // every certificate above starts at (or before) the second it was made: check them from now on
  now = Date.now() + 1_000;
  cas = createCaRegistry([
    { id: 'root', pem: root.pem },
    { id: 'rsa', pem: rsa.pem },
    { id: 'retired', pem: retired.pem, status: 'inactive' },
    { id: 'acme-ca', pem: tenantCa.pem, tenantId: 'acme' },
  ]);
}, 60_000);

afterAll(() => pki.cleanup());

const template = defineProvisioningTemplate({
  name: 'sensors-v1',
  parameterDefaults: { OrganizationalUnit: 'unassigned' },
  attributes: { site: '{{OrganizationalUnit}}', serial: '{{CertificateSerial}}' },
  desiredConfig: { reportIntervalS: 60, labels: ['{{TenantId}}', 'fleet'] },
  policies: ['{{TenantId}}-telemetry'],
  home: {
    rules: [{ when: { Country: 'DE' }, region: 'eu-central-1', endpoint: 'mqtts://eu.iot.example.com:8883' }],
    fallback: { region: 'us-east-1', endpoint: 'mqtts://us.iot.example.com:8883' },
    topics: { telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/telemetry', commands: 'tenants/{{TenantId}}/devices/{{DeviceId}}/commands' },
  },
});
const minimal = defineProvisioningTemplate({ name: 'minimal' });

function provision(name: string, extra: Partial<CertificateProvisioningOptions> = {}): ProvisioningResult {
  return provisionWithCertificate(pem[name], { now, cas, revoked: createRevocationList(), template: minimal, ...extra });
}

function codeOf(r: ProvisioningResult): string {
  return r.ok ? 'ok' : r.error.code;
}

describe('provisionWithCertificate: real certificates', () => {
  it('provisions a valid certificate: record, identity, template, home endpoint and effects', () => {
    const r = provision('valid', { template });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const cert = new X509Certificate(pem['valid'] as string);
    const { record } = r;
    expect(record).toMatchObject({ deviceId: 'dev-001', tenantId: 'acme', state: 'active', since: now, template: 'sensors-v1', provisionedAt: now });
    expect(record.identity).toMatchObject({ kind: 'x509', caId: 'root', issuer: cert.issuer, fingerprint: `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}` });
    expect(record.identity.kind === 'x509' && record.identity.notAfter).toBe(Date.parse(cert.validTo));
    expect(record.attributes).toEqual({ site: 'plant-3', serial: cert.serialNumber.replace(/^0+/, '') });
    expect(record.desiredConfig).toEqual({ reportIntervalS: 60, labels: ['acme', 'fleet'] });
    expect(record.policies).toEqual(['acme-telemetry']);
    expect(record.home).toEqual({
      region: 'eu-central-1',
      endpoint: 'mqtts://eu.iot.example.com:8883',
      topics: { telemetry: 'tenants/acme/devices/dev-001/telemetry', commands: 'tenants/acme/devices/dev-001/commands' },
    });
    expect(r.effects.map((e) => e.type)).toEqual(['audit', 'put-record', 'attach-policies', 'set-desired', 'audit', 'send-bootstrap']);
    expect(r.effects.filter((e) => e.type === 'audit').map((e) => (e.type === 'audit' ? e.event : ''))).toEqual(['registration_initiated', 'config_complete']);
  });

  it('sends devices without a matching home rule to the fallback', () => {
    const r = provision('validUs', { template });
    expect(r.ok && r.record.home?.region).toBe('us-east-1');
    expect(r.ok && r.record.attributes['site']).toBe('unassigned');
    const noFallback = defineProvisioningTemplate({ name: 'strict', home: { rules: [{ when: { Country: 'DE' }, region: 'eu-central-1', endpoint: 'mqtts://eu.example.com' }], topics: {} } });
    expect(codeOf(provision('validUs', { template: noFallback }))).toBe('TEMPLATE_INVALID');
  });

  it('accepts RSA as well as EC certificates, and an already parsed X509Certificate (as TLS hands it over)', () => {
    expect(provision('rsaDevice').ok).toBe(true);
    const parsed = provisionWithCertificate(new X509Certificate(pem['valid'] as string), { now, cas, revoked: createRevocationList(), template: minimal });
    expect(parsed.ok && parsed.record.deviceId).toBe('dev-001');
  });

  it('refuses a certificate whose signature was tampered with, though its issuer name and key id match', () => {
    for (const name of ['valid', 'rsaDevice']) {
      const der = Buffer.from(new X509Certificate(pem[name] as string).raw);
      der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01; // last byte of the signature value
      const forged = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
      const cert = new X509Certificate(forged);
      const issuer = cas.cas.find((c) => c.id === (name === 'valid' ? 'root' : 'rsa'));
      expect(issuer && cert.checkIssued(issuer.certificate)).toBe(true);
      expect(codeOf(provisionWithCertificate(forged, { now, cas, revoked: createRevocationList(), template: minimal }))).toBe('CERT_UNTRUSTED');
    }
  });

  it.each([
    ['wrongCa', 'CERT_UNTRUSTED'],
    ['impostor', 'CERT_UNTRUSTED'],
    ['retired', 'CA_INACTIVE'],
    ['expired', 'CERT_EXPIRED'],
    ['notYet', 'CERT_NOT_YET_VALID'],
    ['rootCa', 'CERT_INVALID'],
  ])('%s → %s', (name, code) => {
    const r = provision(name);
    expect(codeOf(r)).toBe(code);
    expect(!r.ok && r.error.message.length).toBeGreaterThan(20);
  });

  it('uses now, not the wall clock, for the validity window (both ends inclusive)', () => {
    const cert = new X509Certificate(pem['notYet'] as string);
    const from = Date.parse(cert.validFrom);
    const to = Date.parse(cert.validTo);
    expect(provision('notYet', { now: from }).ok).toBe(true);
    expect(provision('notYet', { now: to }).ok).toBe(true);
    expect(codeOf(provision('notYet', { now: to + 1 }))).toBe('CERT_EXPIRED');
    expect(codeOf(provision('notYet', { now: from - 1 }))).toBe('CERT_NOT_YET_VALID');
    expect(() => provision('valid', { now: Number.NaN })).toThrow(/finite/);
    // finite but beyond any Date: a FleetError, not a RangeError from formatting the time
    for (const far of [1e17, -1e17]) expect(() => provision('valid', { now: far })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    // the expired certificate's window predates its CA: at that time the CA itself was not yet valid
    const old = new X509Certificate(pem['expired'] as string);
    const r = provision('expired', { now: Date.parse(old.validFrom) + DAY });
    expect(codeOf(r)).toBe('CERT_UNTRUSTED');
    expect(!r.ok && r.error.message).toContain('outside its own validity');
  });

  it('refuses a revoked certificate (issuer + serial; serial format does not matter)', () => {
    const cert = new X509Certificate(pem['revoked'] as string);
    const colons = `00:${(cert.serialNumber.match(/../g) ?? []).join(':').toLowerCase()}`;
    const revoked = createRevocationList([{ kind: 'x509', issuer: cert.issuer, serial: colons }]);
    expect(codeOf(provision('revoked', { revoked }))).toBe('CERT_REVOKED');
    // same serial, another issuer: not this certificate
    const elsewhere = createRevocationList([{ kind: 'x509', issuer: 'CN=Other CA\nO=elsewhere', serial: cert.serialNumber }]);
    expect(provision('revoked', { revoked: elsewhere }).ok).toBe(true);
  });

  it('re-activating a CA admits its devices again; deactivating one stops them', () => {
    expect(codeOf(provision('retired', { cas: setCaStatus(cas, 'retired', 'active') }))).toBe('ok');
    expect(codeOf(provision('valid', { cas: setCaStatus(cas, 'root', 'inactive') }))).toBe('CA_INACTIVE');
    expect(() => setCaStatus(cas, 'nope', 'active')).toThrow(/no CA/);
  });

  it('keeps a CA’s devices in the CA’s tenant', () => {
    expect(codeOf(provision('tenantOk'))).toBe('ok');
    expect(codeOf(provision('tenantBad'))).toBe('TENANT_MISMATCH');
  });

  it.each([
    ['', 'an empty string'],
    ['-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n', 'garbage inside PEM armour'],
    ['hello', 'plain text'],
    [42, 'a number'],
    [undefined, 'undefined'],
  ])('malformed PEM (%s: %s) → CERT_INVALID', (input, _what) => {
    const r = provisionWithCertificate(input, { now, cas, revoked: createRevocationList(), template: minimal });
    expect(codeOf(r)).toBe('CERT_INVALID');
  });

  it('a truncated certificate is CERT_INVALID', () => {
    const text = pem['valid'] as string;
    const truncated = `${text.slice(0, text.length / 2)}\n-----END CERTIFICATE-----\n`;
    expect(codeOf(provisionWithCertificate(truncated, { now, cas, revoked: createRevocationList(), template: minimal }))).toBe('CERT_INVALID');
  });

  it.each([
    ['injSlash', 'topic separators and wildcards'],
    ['injPlaceholder', 'a placeholder in the CN'],
    ['injComma', 'a DN separator in the CN'],
    ['injDots', 'path traversal'],
    ['injProto', 'a prototype key'],
    ['injDupOrg', 'two O attributes'],
    ['injMultiRdn', 'an O smuggled into a multi-valued RDN'],
    ['injTenant', 'a space in the tenant'],
    ['injQuote', 'markup'],
  ])('template injection (%s: %s) → TEMPLATE_INVALID, nothing provisioned', (name) => {
    const r = provision(name, { template });
    expect(codeOf(r)).toBe('TEMPLATE_INVALID');
  });

  it('a missing subject attribute the template needs is TEMPLATE_INVALID', () => {
    const r = provision('noOrg');
    expect(codeOf(r)).toBe('TEMPLATE_INVALID');
    expect(!r.ok && r.error.message).toContain('{{Organization}}');
  });

  it('ALREADY_PROVISIONED for a taken id; an unprovisioned pre-registration with the same identity is completed', () => {
    const first = provision('valid');
    expect(first.ok).toBe(true);
    if (!first.ok) return;
    const taken = provision('valid', { existing: (id) => (id === 'dev-001' ? first.record : undefined) });
    expect(codeOf(taken)).toBe('ALREADY_PROVISIONED');
    const other = provision('validUs');
    if (!other.ok) throw other.error;
    const otherIdentity = { ...other.record, state: 'unprovisioned' as const, deviceId: 'dev-001' };
    expect(codeOf(provision('valid', { existing: () => otherIdentity }))).toBe('ALREADY_PROVISIONED');
    // an attempt that ended in provisioning_failed left the record unprovisioned: the same certificate may try again
    const inProgress = { ...first.record, state: 'provisioning' as const, since: now - 20, updatedAt: now - 20 };
    const failed = transition(inProgress, { type: 'provisioning_failed', reason: 'config push timed out' }, { now: now - 10 });
    if (!failed.ok) throw failed.error;
    const again = provision('valid', { existing: () => failed.next });
    expect(codeOf(again)).toBe('ok');
    expect(again.ok && again.record).toMatchObject({ state: 'active', since: now });
    expect(again.ok && again.effects[0]).toMatchObject({ type: 'audit', from: 'unprovisioned', to: 'provisioning' });
    // a pre-registered record without identity is completed; one in another tenant is not
    const preRegistered = { deviceId: 'dev-001', tenantId: 'acme', state: 'unprovisioned' as const, since: now - 10, updatedAt: now - 10, ok: 'stored field' };
    expect(codeOf(provision('valid', { existing: () => preRegistered }))).toBe('ok');
    expect(codeOf(provision('valid', { existing: () => ({ ...preRegistered, tenantId: 'globex' }) }))).toBe('ALREADY_PROVISIONED');
  });

  it('after decommissioning, the same certificate can never provision again', () => {
    const first = provision('valid');
    if (!first.ok) throw first.error;
    const plan = planDecommission(first.record, { reason: 'end of contract', actor: 'ops', now: now + 1 });
    if (!plan.ok) throw plan.error;
    const revoked = applyRevocations(createRevocationList(), plan.effects);
    const wiped = transition(plan.next, { type: 'data_wiped' }, { now: now + 2 });
    expect(wiped.ok && wiped.next).toBeNull();
    // record gone (no existing lookup), still refused
    expect(codeOf(provision('valid', { revoked, now: now + 3 }))).toBe('CERT_REVOKED');
    expect(codeOf(provision('validUs', { revoked, now: now + 3 }))).toBe('ok');
  });
});

describe('verifyDeviceCertificate and parseSubject', () => {
  it('reads the same attributes node:crypto’s legacy object does', () => {
    for (const name of ['valid', 'validUs', 'rsaDevice', 'multiRdn']) {
      const cert = new X509Certificate(pem[name] as string);
      const parsed = parseSubject(cert.subject);
      if (!parsed.ok) throw parsed.error;
      expect({ ...parsed.value }).toEqual(cert.toLegacyObject().subject);
    }
  });

  it('returns the issuing CA, fingerprint and window', () => {
    const r = verifyDeviceCertificate(pem['valid'], { now, cas, revoked: addRevocations(createRevocationList(), []) });
    expect(r.ok && r.value.ca.id).toBe('root');
    expect(r.ok && r.value.notAfter - r.value.notBefore).toBe(365 * DAY);
  });

  it('createCaRegistry refuses non-CA certificates, garbage and duplicates', () => {
    expect(() => createCaRegistry([{ pem: pem['valid'] }])).toThrow(/not a CA/);
    expect(() => createCaRegistry([{ pem: 'nope' }])).toThrow(/not a readable/);
    expect(() => createCaRegistry([{ id: 'a', pem: pem['rootCa'] }, { id: 'a', pem: pem['otherCa'] }])).toThrow(/duplicate/);
    expect(createCaRegistry([{ pem: pem['rootCa'] }]).cas[0]?.id).toBe(new X509Certificate(pem['rootCa'] as string).fingerprint256);
    expect(() => createCaRegistry([{ pem: pem['rootCa'], tenantId: 'acme corp' }])).toThrow(/tenantId/);
  });

  it('revocation lists refuse non-arrays and serials without a hex digit', () => {
    for (const entries of [42, { kind: 'x509' }, null]) {
      expect(() => createRevocationList(entries as unknown as unknown[])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    for (const serial of [':', '::', '', 'xyz']) {
      expect(() => createRevocationList([{ kind: 'x509', issuer: 'CN=Fleet Test CA', serial }])).toThrow(/hex serial/);
    }
    expect(() => addRevocations({} as unknown as ReturnType<typeof createRevocationList>, [])).toThrow(/createRevocationList/);
  });
});

export type { DeviceRecord };
