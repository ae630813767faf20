// Batched store calls on a real PostgreSQL server started by this file (non-owner login roles).
import { afterAll, beforeAll, describe } from 'vitest';
import { migrate, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { postgresEnabled, startPostgres, type TestPostgres } from '../support/postgres.js';
import { RESET_SQL, batchedStoreContracts } from './harness.js';
import { batchSuite, type BatchDatabase } from './batch-suite.js';
import { createAppRole } from './server-roles.js';

const enabled = postgresEnabled('the PostgreSQL server batching tests');

describe.skipIf(!enabled)('PostgreSQL server', () => {
  let server: TestPostgres | undefined;
  const drivers: SqlDriver[] = [];
  let n = 0;
  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    for (const d of drivers) await d.close().catch(() => undefined);
    await server?.dispose();
  });

  async function fresh(): Promise<BatchDatabase & { owner: SqlDriver }> {
    if (server === undefined) throw new Error('the server did not start');
    const name = `batch_${++n}`;
    await server.createDatabase(name);
    const owner = await openPgPool({ url: server.url(name), max: 2 });
    await migrate(owner);
    await createAppRole(owner);
    await createAppRole(owner, 'fleetkit_test_relay', 'fleetkit_relay');
    const app = await openPgPool({ url: `postgres://fleetkit_test_app@127.0.0.1:${server.port}/${name}`, max: 8 });
    const relay = await openPgPool({ url: `postgres://fleetkit_test_relay@127.0.0.1:${server.port}/${name}`, max: 2 });
    drivers.push(app, relay, owner);
    return { owner, app, relay: async () => relay, reset: () => owner.exec(RESET_SQL) };
  }

  let db: Promise<BatchDatabase> | undefined;
  batchSuite('pg server', () => (db ??= fresh()));
  batchedStoreContracts(
    'pg server',
    async () => {
      const d = await fresh();
      return { app: d.app, reset: d.reset, close: async () => undefined };
    },
    8,
  );
});
