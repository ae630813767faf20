/**
 * Test certificates made with openssl: a CA, a server certificate for localhost/127.0.0.1, a
 * client certificate, and a second CA with its own client certificate (for "wrong CA" tests).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM files written to one directory. */
export interface TestCerts {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly otherCaCert: string;
  readonly otherClientCert: string;
  readonly otherClientKey: string;
}

function ssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: 30_000 });
}

function issue(dir: string, ca: string, name: string, cn: string, ext: string): void {
  ssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  ssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '825', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`]);
}

/** True when the openssl binary runs. */
export function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * Generates the certificates into `dir` (mode 755, files 644, so a broker that drops root
 * privileges can still read them).
 */
export function generateCerts(dir: string): TestCerts {
  chmodSync(dir, 0o755);
  for (const ca of ['ca', 'other-ca']) {
    ssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', `/CN=Test ${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.crt`]);
  }
  issue(dir, 'ca', 'server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue(dir, 'ca', 'client', 'device-001', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'other-ca', 'other-client', 'device-666', 'extendedKeyUsage=clientAuth\n');
  for (const f of ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'client.key', 'other-ca.crt', 'other-client.crt', 'other-client.key']) {
    chmodSync(join(dir, f), 0o644);
  }
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    otherCaCert: read('other-ca.crt'),
    otherClientCert: read('other-client.crt'),
    otherClientKey: read('other-client.key'),
  };
}
