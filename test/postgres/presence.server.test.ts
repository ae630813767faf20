// The shared-presence scenario (test/cloud/presence-scenario.ts) on a real PostgreSQL server:
// three createFleet instances whose flushes, sweeps and lease attempts run on a connection pool
// concurrently, every store and the presence on the server, a LeaderElection per instance.
import { afterEach, describe, it } from 'vitest';
import { presenceScenario, sqlBackend, type Track } from '../cloud/presence-scenario.js';
import { postgresEnabled } from '../support/postgres.js';
import { serverPerFile } from './server-roles.js';

const enabled = postgresEnabled('the shared-presence scenario on a PostgreSQL server');
const closers: { close(): Promise<void> }[] = [];
const track: Track = (c) => void closers.push(c);
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close();
});

describe.skipIf(!enabled)('shared presence on a PostgreSQL server', () => {
  const pg = serverPerFile();
  it('flags each silence once fleet-wide, never a device heard only by a non-leader; the survivor of the leader takes over the sweep', { timeout: 240_000 }, async () => {
    const { app } = await pg.database('presence');
    await presenceScenario(sqlBackend(app, track), track);
  });
});
