/**
 * The PostgreSQL server of the database benchmarks: Debian's binaries, durable commits, a migrated
 * database `bench` and a login role in fleetkit_app. Not a suite (the runner takes *.bench.ts).
 */
import { migrate, openPgPool, type SqlDriver } from '../src/postgres/index.js';
import { findPostgresBin, startPostgres } from '../test/support/postgres.js';

/** What {@link withBenchPostgres} hands over while the server runs. */
export interface BenchPostgres {
  /** A pool of 16 connections of the application role (row-level security applies). */
  readonly app: SqlDriver;
  /** The application role's connection string. */
  readonly appUrl: string;
  /** The server's PID (for its CPU time). */
  readonly pid: number | undefined;
}

/**
 * Runs `fn` against a fresh durable PostgreSQL server and stops it afterwards; prints a notice and
 * returns false when the binaries are not installed.
 */
export async function withBenchPostgres(fn: (pg: BenchPostgres) => Promise<void>): Promise<boolean> {
  if (findPostgresBin() === undefined) {
    console.warn('\n⚠ NOTICE: PostgreSQL server binaries not found: skipping the server figures (apt-get install -y postgresql)\n');
    return false;
  }
  const server = await startPostgres({ durable: true });
  let owner: SqlDriver | undefined;
  let app: SqlDriver | undefined;
  try {
    await server.createDatabase('bench');
    owner = await openPgPool({ url: server.url('bench'), max: 2 });
    await migrate(owner);
    await owner.exec("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetkit_bench_app') THEN CREATE ROLE fleetkit_bench_app LOGIN IN ROLE fleetkit_app; END IF; END $$;");
    const appUrl = `postgres://fleetkit_bench_app@127.0.0.1:${server.port}/bench`;
    app = await openPgPool({ url: appUrl, max: 16 });
    await fn({ app, appUrl, pid: server.pid });
    return true;
  } finally {
    await app?.close();
    await owner?.close();
    await server.dispose();
  }
}
