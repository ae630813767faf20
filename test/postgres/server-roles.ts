import { afterAll, beforeAll } from 'vitest';
import { migrate, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

/** Creates a login role for the tests: a member of `member` (fleetkit_app by default), owner of nothing. */
export async function createAppRole(owner: SqlDriver, name = 'fleetkit_test_app', member = 'fleetkit_app'): Promise<void> {
  await owner.exec(`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${name}') THEN
        BEGIN
          CREATE ROLE ${name} LOGIN IN ROLE ${member};
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
      END IF;
    END
    $$;`);
}

/** A migrated database on the file's server: the owner, the application role's pool and the relay role's pool. */
export interface ServerDatabase {
  readonly name: string;
  readonly owner: SqlDriver;
  readonly app: SqlDriver;
  readonly relay: SqlDriver;
}

/**
 * One PostgreSQL server for a test file (call inside its `describe`): started in `beforeAll`,
 * stopped with every pool it opened in `afterAll`. `database(prefix)` makes a fresh migrated
 * database with the test login roles (fleetkit_test_app, fleetkit_test_relay).
 */
export function serverPerFile(): { server(): TestPostgres; database(prefix: string, options?: { readonly appPool?: number; readonly connectionTimeoutMillis?: number }): Promise<ServerDatabase>; track(driver: SqlDriver): SqlDriver } {
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
  const started = (): TestPostgres => {
    if (server === undefined) throw new Error('the server did not start');
    return server;
  };
  const track = (driver: SqlDriver): SqlDriver => {
    drivers.push(driver);
    return driver;
  };
  return {
    server: started,
    track,
    async database(prefix, options = {}) {
      const s = started();
      const name = `${prefix}_${++n}`;
      await s.createDatabase(name);
      const owner = track(await openPgPool({ url: s.url(name), max: 2 }));
      await migrate(owner);
      await createAppRole(owner);
      await createAppRole(owner, 'fleetkit_test_relay', 'fleetkit_relay');
      const app = track(await openPgPool({ url: `postgres://fleetkit_test_app@127.0.0.1:${s.port}/${name}`, max: options.appPool ?? 8, ...(options.connectionTimeoutMillis === undefined ? {} : { connectionTimeoutMillis: options.connectionTimeoutMillis }) }));
      const relay = track(await openPgPool({ url: `postgres://fleetkit_test_relay@127.0.0.1:${s.port}/${name}`, max: 2 }));
      return { name, owner, app, relay };
    },
  };
}
