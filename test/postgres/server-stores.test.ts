import { afterAll, beforeAll, describe } from 'vitest';
import { migrate, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { postgresEnabled, startPostgres, type TestPostgres } from '../support/postgres.js';
import { RESET_SQL, storeContracts } from './harness.js';
import { createAppRole } from './server-roles.js';

// A real PostgreSQL server started by this file (one per file), one fresh database per suite.
// The stores connect as fleetkit_test_app, a login member of fleetkit_app that owns nothing.
const enabled = postgresEnabled('the PostgreSQL server store contract suites');

describe.skipIf(!enabled)('PostgreSQL server', () => {
  let server: TestPostgres | undefined;
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await server?.dispose();
  });

  storeContracts(
    'pg server',
    async () => {
      if (server === undefined) throw new Error('the server did not start');
      const name = `contract_${++n}`;
      await server.createDatabase(name);
      const owner = await openPgPool({ url: server.url(name), max: 2 });
      await migrate(owner);
      await createAppRole(owner);
      const app: SqlDriver = await openPgPool({ url: `postgres://fleetkit_test_app@127.0.0.1:${server.port}/${name}`, max: 8 });
      return {
        app,
        reset: () => owner.exec(RESET_SQL),
        close: async () => {
          await app.close();
          await owner.close();
        },
      };
    },
    10,
  );
});

