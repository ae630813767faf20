/**
 * Real X.509 material for tests and benchmarks, made with the `openssl` CLI in a temp directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA made by {@link Pki.ca}. */
export interface TestCa {
  readonly name: string;
  readonly pem: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly dir: string;
}

/** Key algorithms the helper can make. */
export type KeyType = 'ec' | 'rsa';

function keyArgs(type: KeyType): string[] {
  return type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'] : ['-newkey', 'rsa:2048'];
}

/** OpenSSL's time format for `openssl ca -startdate/-enddate`. */
export function opensslTime(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

const CA_CONFIG = `[ ca ]
default_ca = CA_default
[ CA_default ]
database = index.txt
new_certs_dir = issued
serial = serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_any ]
commonName = optional
[ leaf ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
`;

/** A throw-away PKI in a temp directory; call `cleanup()` when done. */
export class Pki {
  readonly root: string;
  #n = 0;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'fleetkit-pki-'));
  }

  #run(args: string[], cwd = this.root): void {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** A self-signed CA certificate (basicConstraints CA:TRUE). */
  ca(name: string, subject: string, key: KeyType = 'ec'): TestCa {
    const dir = join(this.root, name);
    mkdirSync(join(dir, 'issued'), { recursive: true });
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '1000\n');
    writeFileSync(join(dir, 'ca.cnf'), CA_CONFIG);
    const certPath = join(dir, 'ca.crt');
    const keyPath = join(dir, 'ca.key');
    this.#run(['req', '-x509', ...keyArgs(key), '-nodes', '-days', '3650', '-subj', subject, '-keyout', keyPath, '-out', certPath]);
    return { name, pem: readFileSync(certPath, 'utf8'), certPath, keyPath, dir };
  }

  #csr(subject: string, key: KeyType): { csr: string; keyPath: string } {
    const id = `leaf-${++this.#n}`;
    const csr = join(this.root, `${id}.csr`);
    const keyPath = join(this.root, `${id}.key`);
    this.#run(['req', '-new', ...keyArgs(key), '-nodes', '-multivalue-rdn', '-subj', subject, '-keyout', keyPath, '-out', csr]);
    return { csr, keyPath };
  }

  /** A device certificate valid from now for `days` days (`openssl x509 -req -days`). */
  device(ca: TestCa, subject: string, options: { days?: number; key?: KeyType } = {}): string {
    const { csr } = this.#csr(subject, options.key ?? 'ec');
    const ext = join(this.root, 'leaf.ext');
    writeFileSync(ext, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n');
    const out = join(this.root, `leaf-${this.#n}.crt`);
    this.#run(['x509', '-req', '-in', csr, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-CAcreateserial', '-days', String(options.days ?? 365), '-sha256', '-extfile', ext, '-out', out]);
    return readFileSync(out, 'utf8');
  }

  /** A device certificate with an explicit validity window (`openssl ca -startdate/-enddate`). */
  deviceWindow(ca: TestCa, subject: string, notBefore: number, notAfter: number, key: KeyType = 'ec'): string {
    const { csr } = this.#csr(subject, key);
    const out = join(this.root, `leaf-${this.#n}.crt`);
    this.#run(
      ['ca', '-batch', '-config', 'ca.cnf', '-extensions', 'leaf', '-notext', '-preserveDN', '-cert', ca.certPath, '-keyfile', ca.keyPath, '-startdate', opensslTime(notBefore), '-enddate', opensslTime(notAfter), '-in', csr, '-out', out],
      ca.dir,
    );
    return readFileSync(out, 'utf8');
  }

  /** Removes the temp directory. */
  cleanup(): void {
    rmSync(this.root, { recursive: true, force: true });
  }
}
