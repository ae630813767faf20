/**
 * Just-in-time provisioning with X.509: a device presents a certificate issued by a registered CA and
 * is registered on first contact.
 */
import { objectArgument } from './arguments.js';
import { completeProvisioning } from './provisioning.js';
import type { ProvisioningOptions, ProvisioningResult } from './provisioning.js';
import type { CaRegistry } from './ca-registry.js';
import { verifyDeviceCertificate } from './certificate.js';
import type { VerifiedCertificate } from './certificate.js';
import type { DeviceIdentity } from './record.js';
import type { RevocationList } from './revocation.js';
import type { TemplateParameters } from './template.js';

/** Options of {@link provisionWithCertificate}. */
export interface CertificateProvisioningOptions extends ProvisioningOptions {
  /** The registered CAs. */
  readonly cas: CaRegistry;
  /** Revoked credentials (see {@link planDecommission}). */
  readonly revoked: RevocationList;
}

/** The default device id and tenant templates for certificates: CN and O. */
export const X509_TEMPLATE_DEFAULTS = { deviceId: '{{CommonName}}', tenantId: '{{Organization}}' } as const;

function parametersOf(v: VerifiedCertificate): TemplateParameters {
  const s = v.subject;
  const params: Record<string, string> = { CertificateSerial: v.revocation.serial, CaId: v.ca.id };
  const map: readonly (readonly [string, string])[] = [
    ['CN', 'CommonName'],
    ['O', 'Organization'],
    ['OU', 'OrganizationalUnit'],
    ['C', 'Country'],
    ['ST', 'State'],
    ['L', 'Locality'],
  ];
  for (const [attr, name] of map) {
    const value = s[attr];
    if (value !== undefined) params[name] = value;
  }
  if (v.ca.tenantId !== undefined) params['CaTenantId'] = v.ca.tenantId;
  return params;
}

/**
 * Just-in-time provisioning: verifies the presented certificate (see
 * {@link verifyDeviceCertificate}), fills the template from its subject (CN → device id, O → tenant
 * by default), and returns the new record in state `active` with the effects of
 * `registration_initiated` → `config_complete`. Pure: the caller stores the record and runs the effects.
 *
 * If the CA is registered with a `tenantId`, devices it issued may only join that tenant.
 *
 * @param certificatePem - the certificate the device presented (untrusted): PEM, or the parsed
 *   `X509Certificate` a TLS server hands over
 * @param options - `now`, `cas`, `revoked`, `template`, and `existing` to detect taken ids
 * @returns the record and effects, or a FleetError: `CERT_INVALID`, `CERT_UNTRUSTED`, `CA_INACTIVE`,
 *   `CERT_REVOKED`, `CERT_NOT_YET_VALID`, `CERT_EXPIRED`, `TEMPLATE_INVALID`, `TENANT_MISMATCH`,
 *   `ALREADY_PROVISIONED`
 * @throws FleetError `INVALID_ARGUMENT` for options of the wrong type (see {@link verifyDeviceCertificate});
 *   an `existing` that is not a function or returns neither a record nor `undefined`.
 *
 * @example
 * ```ts
 * const r = provisionWithCertificate(pem, { now: clock.now(), cas, revoked, template, existing: (id) => registry.get(id) });
 * if (r.ok) { registry.set(r.record.deviceId, r.record); await runEffects(r.effects); }
 * else reject(r.error.code);
 * ```
 */
export function provisionWithCertificate(certificatePem: unknown, options: CertificateProvisioningOptions): ProvisioningResult {
  objectArgument('provisionWithCertificate', 'options', options, 'an object { now, cas, revoked, template, … }');
  const verified = verifyDeviceCertificate(certificatePem, options);
  if (!verified.ok) return verified;
  const v = verified.value;
  const identity: DeviceIdentity = {
    kind: 'x509',
    fingerprint: v.fingerprint,
    issuer: v.revocation.issuer,
    serial: v.revocation.serial,
    caId: v.ca.id,
    notBefore: v.notBefore,
    notAfter: v.notAfter,
  };
  return completeProvisioning(
    { identity, params: parametersOf(v), defaults: X509_TEMPLATE_DEFAULTS, ownerTenantId: v.ca.tenantId, source: 'certificate subject', method: 'certificate' },
    options,
  );
}
