/**
 * Starts a real PostgreSQL server for tests (Debian's `postgresql` package): `initdb` into a temp
 * dir, the `postgres` binary on a free loopback port with its socket in that dir, stopped by the
 * PID started here. Run as root, the server runs as the `postgres` user (spawned with its uid).
 * Every started server is also shut down (SIGQUIT) when the test process exits.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './mosquitto.js';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.pid !== undefined && child.exitCode === null) child.kill('SIGQUIT');
});

/** The directory of the newest PostgreSQL ≥ 15 server binaries, or undefined. */
export function findPostgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .map(Number)
        .filter((v) => Number.isInteger(v) && v >= 15)
        .sort((a, b) => b - a)
    : [];
  for (const v of versions) {
    const bin = join(base, String(v), 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  const r = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8', timeout: 5000 });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir !== '' && existsSync(join(dir, 'initdb')) ? dir : undefined;
}

/**
 * Decides whether the server tests run: true when the binaries exist; otherwise false with a
 * visible notice, or a thrown error when FLEETKIT_REQUIRE_POSTGRES=1 (CI).
 */
export function postgresEnabled(suite: string): boolean {
  if (findPostgresBin() !== undefined) return true;
  const msg = `PostgreSQL server binaries not found: skipping ${suite} (install with: apt-get install -y postgresql)`;
  if (process.env.FLEETKIT_REQUIRE_POSTGRES === '1') throw new Error(`FLEETKIT_REQUIRE_POSTGRES=1 but ${msg}`);
  console.warn(`\n⚠ NOTICE: ${msg}\n`);
  return false;
}

/** Options of {@link startPostgres}. */
export interface PostgresOptions {
  /** Keep fsync and synchronous commit on (for benchmarks that should say what a durable commit costs). @defaultValue false */
  readonly durable?: boolean;
}

/** A running (or stopped) test server. */
export interface TestPostgres {
  readonly port: number;
  /** The superuser's URL for database `db`. */
  url(db?: string): string;
  /** The PID of the running server, if any. */
  readonly pid: number | undefined;
  /** Creates a database (name: lower-case letters, digits, underscores). */
  createDatabase(name: string): Promise<void>;
  /** Stops it by PID (SIGINT: fast shutdown, SIGQUIT: immediate) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same data dir and port. */
  start(): Promise<void>;
  /** Stops it and deletes its directory. */
  dispose(): Promise<void>;
}

function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) throw new Error('running as root, but there is no "postgres" user to run the server as (apt-get install -y postgresql creates it)');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

async function waitReady(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  // Bounded: 200 × 50 ms.
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${stderr()}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`postgres did not accept connections within 10 s: ${stderr()}`);
}

/** Runs `initdb` into a temp dir and starts the server on a free loopback port. */
export async function startPostgres(options: PostgresOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (bin === undefined) throw new Error('PostgreSQL server binaries are not installed');
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), 'fleetkit-postgres-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], {
    ...ids,
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr ?? ''}${init.error?.message ?? ''}`);
  const port = await freePort();
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`, '-k', dir, '-c', 'max_connections=60', '-c', 'shared_buffers=32MB', '-c', 'log_min_messages=warning'];
  if (options.durable !== true) settings.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const url = (db = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${db}`;
  let child: ChildProcess | undefined;
  let err = '';
  const start = async (): Promise<void> => {
    err = '';
    const c = spawn(join(bin, 'postgres'), ['-D', data, ...settings], { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    live.add(c);
    c.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    c.once('exit', () => live.delete(c));
    await waitReady(url(), c, () => err);
  };
  const stop = async (signal: NodeJS.Signals = 'SIGINT'): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    const timer = setTimeout(() => c.kill('SIGQUIT'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    port,
    url,
    get pid() {
      return child?.exitCode === null ? child.pid : undefined;
    },
    async createDatabase(name: string) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name}`);
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
    },
    stop,
    start,
    dispose: async () => {
      await stop('SIGINT');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
