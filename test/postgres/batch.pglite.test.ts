// Batched store calls on embedded PGlite: the batch tests and the contract suites with batching on.
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll } from 'vitest';
import { migrate, pgliteDriver } from '../../src/postgres/index.js';
import { RESET_SQL, batchedStoreContracts } from './harness.js';
import { batchSuite } from './batch-suite.js';

let shared: Promise<PGlite> | undefined;
function sharedDb(): Promise<PGlite> {
  shared ??= (async () => {
    const db = new PGlite();
    await migrate(pgliteDriver(db));
    return db;
  })();
  return shared;
}
beforeAll(async () => {
  await sharedDb();
}, 180_000);
afterAll(async () => {
  const db = await shared;
  if (db !== undefined && !db.closed) await db.close();
});

batchSuite('PGlite', async () => {
  const db = await sharedDb();
  return { app: pgliteDriver(db, { role: 'fleetkit_app' }), relay: async () => pgliteDriver(db, { role: 'fleetkit_relay' }), reset: () => db.exec(RESET_SQL).then(() => undefined) };
});

batchedStoreContracts(
  'PGlite',
  async () => {
    const db = await sharedDb();
    return { app: pgliteDriver(db, { role: 'fleetkit_app' }), reset: () => db.exec(RESET_SQL).then(() => undefined), close: async () => undefined };
  },
  10,
);
