import { PGlite } from '@electric-sql/pglite';
import { afterAll } from 'vitest';
import { migrate, pgliteDriver } from '../../src/postgres/index.js';
import { RESET_SQL, storeContracts } from './harness.js';

// Embedded PGlite: one in-memory database for the file (starting PGlite costs seconds), emptied
// before every test and property run; the stores run as the non-owner role fleetkit_app (SET LOCAL
// ROLE in every transaction), the reset runs as PGlite's superuser.
let shared: Promise<PGlite> | undefined;
afterAll(async () => {
  await (await shared)?.close();
});

storeContracts(
  'PGlite',
  async () => {
    shared ??= (async () => {
      const db = new PGlite();
      await migrate(pgliteDriver(db));
      return db;
    })();
    const db = await shared;
    return {
      app: pgliteDriver(db, { role: 'fleetkit_app' }),
      reset: async () => {
        await db.exec(RESET_SQL);
      },
      close: async () => undefined,
    };
  },
  15,
);
