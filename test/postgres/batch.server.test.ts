// Batched store calls on a real PostgreSQL server started by this file (non-owner login roles).
import { describe } from 'vitest';
import type { SqlDriver } from '../../src/postgres/index.js';
import { postgresEnabled } from '../support/postgres.js';
import { RESET_SQL, batchedStoreContracts } from './harness.js';
import { batchSuite, type BatchDatabase } from './batch-suite.js';
import { serverPerFile } from './server-roles.js';

const enabled = postgresEnabled('the PostgreSQL server batching tests');

describe.skipIf(!enabled)('PostgreSQL server', () => {
  const pg = serverPerFile();
  async function fresh(): Promise<BatchDatabase & { owner: SqlDriver }> {
    const { owner, app, relay } = await pg.database('batch');
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
