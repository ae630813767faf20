import { describe } from 'vitest';
import { postgresEnabled } from '../support/postgres.js';
import { RESET_SQL, storeContracts } from './harness.js';
import { serverPerFile } from './server-roles.js';

// A real PostgreSQL server started by this file (one per file), one fresh database per suite.
// The stores connect as fleetkit_test_app, a login member of fleetkit_app that owns nothing.
const enabled = postgresEnabled('the PostgreSQL server store contract suites');

describe.skipIf(!enabled)('PostgreSQL server', () => {
  const pg = serverPerFile();
  storeContracts(
    'pg server',
    async () => {
      const { owner, app, relay } = await pg.database('contract');
      return {
        app,
        reset: () => owner.exec(RESET_SQL),
        close: async () => {
          for (const d of [app, relay, owner]) await d.close();
        },
      };
    },
    10,
  );
});
