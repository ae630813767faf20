/**
 * Starts Debian's mosquitto for tests: free loopback ports, a generated config with a plain
 * listener and a mutual-TLS listener, certificates from openssl, stopped by PID. Every started
 * process is also killed when the test process exits, so none is leaked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCerts, opensslAvailable, type TestCerts } from './certs.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) child.kill('SIGKILL');
});

/** Where the mosquitto binary is, or undefined. */
export function findMosquitto(): string | undefined {
  for (const path of ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/bin/mosquitto', '/opt/homebrew/sbin/mosquitto']) {
    const r = spawnSync(path, ['-h'], { stdio: 'pipe', timeout: 5000 });
    if (r.error === undefined) return path;
  }
  return undefined;
}

/**
 * Decides whether mosquitto tests run: true when the binary and openssl exist; when they do not,
 * false with a visible notice, or a thrown error when FLEETKIT_REQUIRE_MOSQUITTO=1 (CI).
 */
export function mosquittoEnabled(suite: string): boolean {
  const ok = findMosquitto() !== undefined && opensslAvailable();
  if (ok) return true;
  const msg = `mosquitto or openssl not found: skipping ${suite} (install with: apt-get install -y mosquitto openssl)`;
  if (process.env.FLEETKIT_REQUIRE_MOSQUITTO === '1') throw new Error(`FLEETKIT_REQUIRE_MOSQUITTO=1 but ${msg}`);
  console.warn(`\n⚠ NOTICE: ${msg}\n`);
  return false;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  // Bounded: 100 × 50 ms.
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${stderr()}`);
    if (await canConnect(port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mosquitto did not listen on ${port} within 5 s: ${stderr()}`);
}

/** Options of {@link startMosquitto}. */
export interface MosquittoOptions {
  /** Keep sessions across restarts (`persistence true`). */
  readonly persistence?: boolean;
  /** Lines appended to mosquitto.conf after the listeners (a bridge section, say), given the ports. */
  readonly extraConfig?: (ports: { readonly port: number; readonly tlsPort: number }) => string;
}

/** A running (or stopped) test broker. */
export interface TestMosquitto {
  readonly port: number;
  readonly tlsPort: number;
  readonly url: string;
  readonly tlsUrl: string;
  readonly certs: TestCerts;
  /** The PID of the running process, if any. */
  readonly pid: number | undefined;
  /** Stops it by PID with `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again with the same config and ports. */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  dispose(): Promise<void>;
}

/** Starts mosquitto on two free loopback ports (plain and mutual TLS). */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<TestMosquitto> {
  const binary = findMosquitto();
  if (binary === undefined) throw new Error('mosquitto is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'fleetkit-mosquitto-'));
  const certs = generateCerts(dir);
  const port = await freePort();
  const tlsPort = await freePort();
  const lines = [
    'per_listener_settings false',
    'allow_anonymous true',
    'set_tcp_nodelay true',
    'max_queued_messages 100000',
    'max_inflight_messages 0',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ];
  if (options.persistence === true) {
    const store = join(dir, 'store');
    mkdirSync(store);
    // mosquitto started as root drops to user "mosquitto", which must be able to write here.
    chmodSync(store, 0o777);
    lines.push('persistence true', `persistence_location ${store}/`, 'autosave_interval 1');
  } else lines.push('persistence false');
  lines.push(
    `listener ${port} 127.0.0.1`,
    `listener ${tlsPort} 127.0.0.1`,
    `cafile ${join(dir, 'ca.crt')}`,
    `certfile ${join(dir, 'server.crt')}`,
    `keyfile ${join(dir, 'server.key')}`,
    'require_certificate true',
    'use_identity_as_username true',
  );
  if (options.extraConfig !== undefined) lines.push(options.extraConfig({ port, tlsPort }));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o644 });
  let child: ChildProcess | undefined;
  let err = '';
  const start = async (): Promise<void> => {
    err = '';
    const c = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    live.add(c);
    c.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    c.once('exit', () => live.delete(c));
    await waitForPort(port, c, () => err);
    await waitForPort(tlsPort, c, () => err);
  };
  const stop = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    tlsPort,
    url: `mqtt://127.0.0.1:${port}`,
    tlsUrl: `mqtts://127.0.0.1:${tlsPort}`,
    certs,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    stop,
    start,
    dispose: async () => {
      await stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
