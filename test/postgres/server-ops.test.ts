import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/main.js';
import { runCli } from '../../src/cli/main.js';
import { isFleetError } from '../../src/errors.js';
import { createPostgresStores, loadMigrations, migrate, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { freePort } from '../support/mosquitto.js';
import { postgresEnabled } from '../support/postgres.js';
import { RESET_SQL } from './harness.js';
import { opsSuite, type OpsDatabase } from './ops-suite.js';
import { serverPerFile } from './server-roles.js';

// One real server for the file (started here, stopped by its PID).
const enabled = postgresEnabled('the PostgreSQL server security and fault tests');

function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    version: () => '0.0.0',
    stdout: () => out,
    stderr: () => err,
  };
}

describe.skipIf(!enabled)('PostgreSQL server', () => {
  const pg = serverPerFile();

  // A new relay pool each time: a relay process starting.
  async function relayDriver(name: string): Promise<SqlDriver> {
    return pg.track(await openPgPool({ url: `postgres://fleetkit_test_relay@127.0.0.1:${pg.server().port}/${name}`, max: 2 }));
  }

  let shared: Promise<OpsDatabase> | undefined;
  opsSuite('pg server', () => {
    shared ??= pg.database('ops', { appPool: 6, connectionTimeoutMillis: 2000 }).then(({ name, owner, app }) => ({ app, relay: () => relayDriver(name), reset: () => owner.exec(RESET_SQL) }));
    return shared;
  });

  describe('migrations', () => {
    it('two processes migrating one empty database at once apply each migration exactly once', async () => {
      const server = pg.server();
      await server.createDatabase('race');
      const a = await openPgPool({ url: server.url('race'), max: 1 });
      const b = await openPgPool({ url: server.url('race'), max: 1 });
      pg.track(a);
      pg.track(b);
      const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
      const names = loadMigrations().map((m) => m.name);
      expect([...ra.applied, ...rb.applied]).toEqual(names);
      expect(ra.version).toBe(rb.version);
      expect((await a.query<{ n: unknown }>('SELECT count(*) AS n FROM fleetkit_migrations')).rows[0]?.n).toEqual(String(names.length));
    });

    it('fleetkit db migrate --url: exit 0 on an empty database, then "up to date"; bad usage exit 2; an unreachable server exit 1', async () => {
      const server = pg.server();
      await server.createDatabase('cli');
      const first = captureIo();
      expect(await runCli(['db', 'migrate', '--url', server.url('cli')], first)).toBe(0);
      expect(first.stdout()).toContain('applied 0001_stores.sql');
      const again = captureIo();
      expect(await runCli(['db', 'migrate', '--url', server.url('cli'), '--json'], again)).toBe(0);
      expect(JSON.parse(again.stdout())).toEqual({ applied: [], version: loadMigrations().length });
      const bad = captureIo();
      expect(await runCli(['db', 'migrate', '--url', 'mysql://x'], bad)).toBe(2);
      expect(await runCli(['db', 'frobnicate'], captureIo())).toBe(2);
      const down = captureIo();
      expect(await runCli(['db', 'migrate', '--url', `postgres://postgres@127.0.0.1:${await freePort()}/x`], down)).toBe(1);
      expect(down.stderr()).toContain('STORE_UNAVAILABLE');
    });
  });

  describe('the server going away', () => {
    it('while it is down every call is STORE_UNAVAILABLE (retryable); after a restart the stores resume with everything committed', async () => {
      const server = pg.server();
      const { app } = await pg.database('ops', { appPool: 6, connectionTimeoutMillis: 2000 });
      const s = createPostgresStores(app);
      const ctx = { tenantId: 'acme' };
      const doc = (v: number) => ({ state: { reported: { v } }, metadata: { reported: { v: { timestamp: v } } }, version: v });
      for (let v = 1; v <= 5; v++) expect(await s.shadows.compareAndSet(ctx, 'pump-1', undefined, v - 1, doc(v))).toEqual({ ok: true });
      await server.stop('SIGINT');
      for (const call of [() => s.shadows.get(ctx, 'pump-1'), () => s.shadows.compareAndSet(ctx, 'pump-1', undefined, 5, doc(6)), () => s.audit.list(ctx)]) {
        const e = await call().then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(isFleetError(e, 'STORE_UNAVAILABLE'), String(e)).toBe(true);
        expect((e as { details?: { retryable?: boolean } }).details?.retryable).toBe(true);
      }
      await server.start();
      // The pool replaces its dead connections: the first call after the restart may still fail once.
      let got: unknown;
      for (let i = 0; i < 20; i++) {
        try {
          got = await s.shadows.get(ctx, 'pump-1');
          break;
        } catch (e) {
          if (!isFleetError(e, 'STORE_UNAVAILABLE')) throw e;
        }
      }
      expect(got).toEqual(doc(5));
      expect(await s.shadows.compareAndSet(ctx, 'pump-1', undefined, 5, doc(6))).toEqual({ ok: true });
    }, 60_000);
  });
});
