/**
 * Checking a device certificate: parse, chain to a registered active CA, revocation, validity.
 */
import { describeValue } from '../describe-value.js';
import { X509Certificate } from 'node:crypto';
import { FleetError } from '../errors.js';
import type { FleetErrorCode, Result } from '../errors.js';
import { caRegistryArgument } from './ca-registry.js';
import type { CaRegistry, RegisteredCa } from './ca-registry.js';
import { mapArgument, objectArgument, stringArgument } from './arguments.js';
import { isRevoked, normalizeSerial } from './revocation.js';
import type { RevocationEntry, RevocationList, X509Revocation } from './revocation.js';

/** A device certificate that passed every check. */
export interface VerifiedCertificate {
  /** The parsed certificate. */
  readonly certificate: X509Certificate;
  /** The registered CA that issued it. */
  readonly ca: RegisteredCa;
  /** Subject attributes by short name (`CN`, `O`, `OU`, `C`, …); values as node:crypto prints them. */
  readonly subject: Readonly<Record<string, string>>;
  /** The revocation entry that would revoke it (issuer + serial). */
  readonly revocation: X509Revocation;
  /** SHA-256 fingerprint, `sha256:` followed by lower-case hex. */
  readonly fingerprint: string;
  /** Start of the validity window (epoch ms). */
  readonly notBefore: number;
  /** End of the validity window (epoch ms). */
  readonly notAfter: number;
}

/** What {@link verifyDeviceCertificate} needs besides the certificate. */
export interface CertificateCheckContext {
  /** The time of the check (epoch ms). */
  readonly now: number;
  /** The registered CAs. */
  readonly cas: CaRegistry;
  /** Revoked credentials. */
  readonly revoked: RevocationList;
}

/** The largest epoch-ms value a JavaScript Date can hold (ECMA-262 §21.4.1.1). */
const MAX_EPOCH_MS = 8.64e15;

type Fail = { readonly ok: false; readonly error: FleetError };

function fail(code: FleetErrorCode, status: number, message: string, details: Record<string, unknown>, cause?: unknown): Fail {
  return { ok: false, error: new FleetError(code, message, { status, details, ...(cause === undefined ? {} : { cause }) }) };
}

/**
 * Subject attributes by short name from node's one-attribute-per-line form. Escaped characters stay
 * escaped (so they fail template validation); an attribute that appears twice is ambiguous and refused.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `subject` is not a string.
 */
export function parseSubject(subject: string): Result<Readonly<Record<string, string>>> {
  stringArgument('parseSubject', 'subject', subject);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  // Lines are RDNs; " + " joins the attributes of a multi-valued RDN (a literal "+" is printed escaped).
  for (const part of subject.split('\n').flatMap((line) => line.split(' + '))) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq);
    if (key in out) {
      return fail('TEMPLATE_INVALID', 400, `The certificate subject has more than one "${key}" attribute; provisioning needs each attribute at most once`, { attribute: key });
    }
    out[key] = part.slice(eq + 1);
  }
  return { ok: true, value: out };
}

function parsePem(pem: unknown): Result<X509Certificate> {
  // A TLS server hands over the peer certificate already parsed (tls.TLSSocket#getPeerX509Certificate).
  if (pem instanceof X509Certificate) return { ok: true, value: pem };
  if (typeof pem !== 'string' && !(pem instanceof Uint8Array)) {
    return fail('CERT_INVALID', 400, 'The device certificate must be a PEM string', { type: typeof pem });
  }
  try {
    return { ok: true, value: new X509Certificate(pem) };
  } catch (cause) {
    return fail('CERT_INVALID', 400, 'The device certificate is not a readable X.509 certificate; send it PEM-encoded (-----BEGIN CERTIFICATE-----)', {}, cause);
  }
}

function issuerOf(cert: X509Certificate, cas: CaRegistry): RegisteredCa | undefined {
  // checkIssued compares names and key identifiers (cheap); verify checks the signature (costly), so
  // only candidates that pass the first run the second.
  return cas.cas.find((ca) => cert.checkIssued(ca.certificate) && cert.verify(ca.certificate.publicKey));
}

function describe(cert: X509Certificate): string {
  return cert.subject.replace(/\n/g, ', ');
}

function checkTrust(cert: X509Certificate, cas: CaRegistry, now: number): Result<RegisteredCa> {
  if (cert.ca) return fail('CERT_INVALID', 400, `"${describe(cert)}" is a CA certificate; a device presents its own leaf certificate`, { subject: cert.subject });
  const ca = issuerOf(cert, cas);
  if (ca === undefined) {
    return fail('CERT_UNTRUSTED', 401, `"${describe(cert)}" was not issued by any registered CA (issuer "${cert.issuer.replace(/\n/g, ', ')}"); register the issuing CA first`, {
      issuer: cert.issuer,
    });
  }
  if (ca.status !== 'active') {
    return fail('CA_INACTIVE', 403, `CA "${ca.id}" that issued "${describe(cert)}" is inactive; activate it to admit its devices`, { caId: ca.id });
  }
  const caFrom = Date.parse(ca.certificate.validFrom);
  const caTo = Date.parse(ca.certificate.validTo);
  if (!(now >= caFrom && now <= caTo)) {
    return fail('CERT_UNTRUSTED', 401, `CA "${ca.id}" is outside its own validity window at ${new Date(now).toISOString()}; renew and re-register the CA`, {
      caId: ca.id,
      notBefore: caFrom,
      notAfter: caTo,
    });
  }
  return { ok: true, value: ca };
}

function checkWindow(cert: X509Certificate, now: number): Result<{ notBefore: number; notAfter: number }> {
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  const details = { subject: cert.subject, notBefore, notAfter, now };
  // An unreadable date must never compare its way into acceptance (NaN fails every comparison).
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) return fail('CERT_INVALID', 400, `"${describe(cert)}" has an unreadable validity window`, details);
  // RFC 5280 §4.1.2.5: the window includes both ends.
  if (now < notBefore) return fail('CERT_NOT_YET_VALID', 401, `"${describe(cert)}" is not valid before ${cert.validFrom}; check the device clock or the issuing process`, details);
  if (now > notAfter) return fail('CERT_EXPIRED', 401, `"${describe(cert)}" expired at ${cert.validTo}; issue the device a new certificate`, details);
  return { ok: true, value: { notBefore, notAfter } };
}

/**
 * Runs every check a presented device certificate must pass, in this order: it parses
 * (`CERT_INVALID`), it is a leaf issued and signed by a registered CA (`CERT_UNTRUSTED`), that CA is
 * active (`CA_INACTIVE`) and within its own validity, the certificate is not revoked by issuer and
 * serial (`CERT_REVOKED`), and `now` is inside its validity window (`CERT_NOT_YET_VALID`,
 * `CERT_EXPIRED`). Only a certificate issued directly by a registered CA is accepted: register the
 * intermediate that signs device certificates.
 *
 * @param pem - the certificate the device presented (untrusted): PEM text or bytes, or an
 *   `X509Certificate` as `tls.TLSSocket#getPeerX509Certificate()` returns it (saves the parse)
 * @param context - `now`, the CA registry and the revocation list
 * @returns the verified certificate, or the first failed check as a FleetError
 * @throws FleetError `INVALID_ARGUMENT` when `now` is not a finite epoch-ms time within the range of
 *   a Date, `cas` is not a registry from {@link createCaRegistry} or `revoked` not a revocation list
 *   (programming errors).
 */
export function verifyDeviceCertificate(pem: unknown, context: CertificateCheckContext): Result<VerifiedCertificate> {
  const { now, cas, revoked } = objectArgument('verifyDeviceCertificate', 'context', context, 'an object { now, cas, revoked }') as Partial<CertificateCheckContext>;
  // Outside ±8.64e15 ms a time is no Date at all; refusing it here keeps every later message printable.
  if (typeof now !== 'number' || !Number.isFinite(now) || Math.abs(now) > MAX_EPOCH_MS) {
    throw new FleetError('INVALID_ARGUMENT', `verifyDeviceCertificate: now must be an epoch-ms time (a finite number within ±8.64e15), got ${describeValue(now)}`, { status: 400 });
  }
  const registry = caRegistryArgument('verifyDeviceCertificate', cas);
  const list = mapArgument<string, RevocationEntry>('verifyDeviceCertificate', 'revoked', revoked, 'a revocation list from createRevocationList');
  const parsed = parsePem(pem);
  if (!parsed.ok) return parsed;
  const cert = parsed.value;
  const trust = checkTrust(cert, registry, now);
  if (!trust.ok) return trust;
  const revocation: X509Revocation = { kind: 'x509', issuer: cert.issuer, serial: normalizeSerial(cert.serialNumber) };
  if (isRevoked(list, revocation)) {
    return fail('CERT_REVOKED', 401, `"${describe(cert)}" (serial ${revocation.serial}) has been revoked and can never provision again`, {
      issuer: revocation.issuer,
      serial: revocation.serial,
    });
  }
  const window = checkWindow(cert, now);
  if (!window.ok) return window;
  const subject = parseSubject(cert.subject);
  if (!subject.ok) return subject;
  return {
    ok: true,
    value: {
      certificate: cert,
      ca: trust.value,
      subject: subject.value,
      revocation,
      fingerprint: `sha256:${cert.fingerprint256.replace(/:/g, '').toLowerCase()}`,
      notBefore: window.value.notBefore,
      notAfter: window.value.notAfter,
    },
  };
}
