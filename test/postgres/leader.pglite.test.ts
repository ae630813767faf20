// Leader election on embedded PGlite (one shared in-memory database for the file).
import { PGlite } from '@electric-sql/pglite';
import { afterAll } from 'vitest';
import { migrate, pgliteDriver } from '../../src/postgres/index.js';
import { RESET_SQL } from './harness.js';
import { leaderSuite } from './leader-suite.js';

let shared: Promise<PGlite> | undefined;
afterAll(async () => {
  const db = await shared;
  if (db !== undefined && !db.closed) await db.close();
});

leaderSuite('PGlite', async () => {
  shared ??= (async () => {
    const db = new PGlite();
    await migrate(pgliteDriver(db));
    return db;
  })();
  const db = await shared;
  return {
    app: pgliteDriver(db, { role: 'fleetkit_app' }),
    relay: async () => pgliteDriver(db, { role: 'fleetkit_relay' }),
    reset: () => db.exec(`${RESET_SQL}\nDELETE FROM fleetkit_leases;`).then(() => undefined),
  };
});
