import { PGlite } from '@electric-sql/pglite';
import { migrate, pgliteDriver } from '../../src/postgres/index.js';
import { RESET_SQL, storeContracts } from './harness.js';

// Embedded PGlite: one in-memory database per suite; the stores run as the non-owner role
// fleetkit_app (SET LOCAL ROLE in every transaction), the reset runs as PGlite's superuser.
storeContracts(
  'PGlite',
  async () => {
    const db = new PGlite();
    const owner = pgliteDriver(db);
    await migrate(owner);
    return {
      app: pgliteDriver(db, { role: 'fleetkit_app' }),
      reset: async () => {
        await db.exec(RESET_SQL);
      },
      close: () => db.close(),
    };
  },
  15,
);
