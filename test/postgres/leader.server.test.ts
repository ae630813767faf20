// Leader election on a real PostgreSQL server started by this file, through a non-owner login role.
import { afterAll, beforeAll, describe } from 'vitest';
import { migrate, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { postgresEnabled, startPostgres, type TestPostgres } from '../support/postgres.js';
import { RESET_SQL } from './harness.js';
import { leaderSuite, type LeaderDatabase } from './leader-suite.js';
import { createAppRole } from './server-roles.js';

const enabled = postgresEnabled('the PostgreSQL server leader-election tests');

describe.skipIf(!enabled)('PostgreSQL server', () => {
  let server: TestPostgres | undefined;
  let db: Promise<LeaderDatabase> | undefined;
  const drivers: SqlDriver[] = [];
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const d of drivers) await d.close().catch(() => undefined);
    await server?.dispose();
  });

  leaderSuite('pg server', () => {
    db ??= (async () => {
      if (server === undefined) throw new Error('the server did not start');
      await server.createDatabase('leader');
      const owner = await openPgPool({ url: server.url('leader'), max: 2 });
      await migrate(owner);
      await createAppRole(owner);
      await createAppRole(owner, 'fleetkit_test_relay', 'fleetkit_relay');
      const app = await openPgPool({ url: `postgres://fleetkit_test_app@127.0.0.1:${server.port}/leader`, max: 6 });
      const relay = await openPgPool({ url: `postgres://fleetkit_test_relay@127.0.0.1:${server.port}/leader`, max: 2 });
      drivers.push(app, relay, owner);
      return { app, relay: async () => relay, reset: () => owner.exec(`${RESET_SQL}\nDELETE FROM fleetkit_leases;`) };
    })();
    return db;
  });
});
