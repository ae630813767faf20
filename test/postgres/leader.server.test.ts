// Leader election on a real PostgreSQL server started by this file, through a non-owner login role.
import { describe } from 'vitest';
import { postgresEnabled } from '../support/postgres.js';
import { RESET_SQL } from './harness.js';
import { leaderSuite, type LeaderDatabase } from './leader-suite.js';
import { serverPerFile } from './server-roles.js';

const enabled = postgresEnabled('the PostgreSQL server leader-election tests');

describe.skipIf(!enabled)('PostgreSQL server', () => {
  const pg = serverPerFile();
  let db: Promise<LeaderDatabase> | undefined;
  leaderSuite('pg server', () => {
    db ??= (async () => {
      const { owner, app, relay } = await pg.database('leader', { appPool: 6 });
      return { app, relay: async () => relay, reset: () => owner.exec(`${RESET_SQL}\nDELETE FROM fleetkit_leases;`) };
    })();
    return db;
  });
});
