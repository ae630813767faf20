/**
 * Device identities made with the openssl CLI for the cloud tests: a CA from the lifecycle test
 * PKI, and device certificates together with their private keys (the provisioning proof needs them).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pki, type TestCa } from '../lifecycle/openssl.js';

export { Pki, type TestCa };

/** A device certificate and the private key that goes with it. */
export interface DeviceIdentity {
  readonly cert: string;
  readonly key: string;
}

let n = 0;

/**
 * Issues a device certificate for `subject` (e.g. `/CN=dev-1/O=acme`) from `ca`, with a fresh key
 * of the given type.
 */
export function deviceIdentity(pki: Pki, ca: TestCa, subject: string, options: { readonly key?: 'ec' | 'rsa' | 'ed25519'; readonly days?: number } = {}): DeviceIdentity {
  const id = `dev-${process.pid}-${++n}`;
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: pki.root, stdio: ['ignore', 'pipe', 'pipe'] });
  };
  const key = join(pki.root, `${id}.key`);
  const kind = options.key ?? 'ec';
  if (kind === 'ec') run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  else if (kind === 'rsa') run(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  else run(['genpkey', '-algorithm', 'ED25519', '-out', key]);
  const csr = join(pki.root, `${id}.csr`);
  run(['req', '-new', '-key', key, '-subj', subject, '-out', csr]);
  const ext = join(pki.root, `${id}.ext`);
  writeFileSync(ext, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
  const cert = join(pki.root, `${id}.crt`);
  run(['x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-days', String(options.days ?? 365), '-sha256', '-extfile', ext, '-out', cert]);
  return { cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}
