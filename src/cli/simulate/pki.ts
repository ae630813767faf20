/**
 * The simulation's certificate authority: a self-signed EC P-256 CA made at start and one leaf
 * certificate per gateway (CN = the gateway id, O = the tenant), built as DER with node:crypto's
 * keys and signatures — no openssl process per certificate, so 250 gateways cost milliseconds.
 * Read back with `X509Certificate`, they pass the same checks as certificates from openssl.
 */
import { X509Certificate, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

// ── DER ────────────────────────────────────────────────────────────────────────────────────────

function length(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag, ...length(content.length)]), content]);
}

const seq = (...parts: Uint8Array[]): Buffer => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Uint8Array[]): Buffer => tlv(0x31, Buffer.concat(parts));

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * (arcs[0] ?? 0) + (arcs[1] ?? 0)];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A positive INTEGER from big-endian bytes. */
function integer(bytes: Uint8Array): Buffer {
  let b = Buffer.from(bytes);
  while (b.length > 1 && b[0] === 0 && ((b[1] ?? 0) & 0x80) === 0) b = b.subarray(1);
  if (((b[0] ?? 0) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function utcTime(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-01-01T00:00:00.000Z
  return tlv(0x17, Buffer.from(`${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`, 'latin1'));
}

function name(cn: string, o: string): Buffer {
  const rdn = (type: string, value: string): Buffer => set(seq(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return seq(rdn('2.5.4.10', o), rdn('2.5.4.3', cn));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [tlv(0x01, Buffer.from([0xff]))] : []), tlv(0x04, value));
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

// ── certificates ───────────────────────────────────────────────────────────────────────────────

/** A certificate and its private key. */
export interface IssuedCertificate {
  /** The certificate, PEM. */
  readonly pem: string;
  /** Its private key. */
  readonly privateKey: KeyObject;
}

interface Issue {
  readonly subject: { readonly cn: string; readonly o: string };
  readonly issuer: { readonly cn: string; readonly o: string };
  readonly publicKey: KeyObject;
  readonly signer: KeyObject;
  readonly serial: Uint8Array;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly ca: boolean;
}

function certificate(i: Issue): string {
  const spki = i.publicKey.export({ type: 'spki', format: 'der' });
  const extensions = i.ca
    ? [
        extension('2.5.29.19', true, seq(tlv(0x01, Buffer.from([0xff])))), // basicConstraints CA:TRUE
        extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x01, 0x06]))), // keyUsage keyCertSign, cRLSign
      ]
    : [
        extension('2.5.29.19', true, seq()), // basicConstraints CA:FALSE
        extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x07, 0x80]))), // keyUsage digitalSignature
        extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.2'))), // extendedKeyUsage clientAuth
      ];
  const tbs = seq(
    tlv(0xa0, integer(Buffer.from([2]))), // v3
    integer(i.serial),
    ECDSA_SHA256,
    name(i.issuer.cn, i.issuer.o),
    seq(utcTime(i.notBefore), utcTime(i.notAfter)),
    name(i.subject.cn, i.subject.o),
    spki,
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, i.signer);
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}

/** A CA that issues the gateways' certificates. */
export class SimulationCa {
  /** The CA certificate, PEM (register it with `registry.putCa`). */
  readonly pem: string;
  readonly #key: KeyObject;
  readonly #name: { readonly cn: string; readonly o: string };
  readonly #notBefore: number;
  readonly #notAfter: number;
  #serial = 1;

  /**
   * @param o - the organisation (tenant) of the CA and of the certificates it issues
   * @param now - the simulated time at start: certificates are valid from a day before it for two years
   */
  constructor(o: string, now: number) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.#key = privateKey;
    this.#name = { cn: `${o} gateway CA`, o };
    this.#notBefore = now - 86_400_000;
    this.#notAfter = now + 2 * 365 * 86_400_000;
    this.pem = certificate({ subject: this.#name, issuer: this.#name, publicKey, signer: privateKey, serial: this.#nextSerial(), notBefore: this.#notBefore, notAfter: this.#notAfter, ca: true });
  }

  #nextSerial(): Uint8Array {
    const s = Buffer.alloc(8);
    s.writeUInt32BE(0x10000000, 0);
    s.writeUInt32BE(this.#serial++, 4);
    return s;
  }

  /** Issues a client certificate for `deviceId` with a fresh EC P-256 key. */
  issue(deviceId: string): IssuedCertificate {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = certificate({ subject: { cn: deviceId, o: this.#name.o }, issuer: this.#name, publicKey, signer: this.#key, serial: this.#nextSerial(), notBefore: this.#notBefore, notAfter: this.#notAfter, ca: false });
    return { pem, privateKey };
  }

  /** True when `pem` parses and was signed by this CA (a self-check). */
  issued(pem: string): boolean {
    const cert = new X509Certificate(pem);
    const ca = new X509Certificate(this.pem);
    return cert.checkIssued(ca) && cert.verify(ca.publicKey);
  }
}
