import type { SqlDriver } from '../../src/postgres/index.js';

/** Creates the login role the tests connect as: a member of fleetkit_app, owner of nothing. */
export async function createAppRole(owner: SqlDriver, name = 'fleetkit_test_app'): Promise<void> {
  await owner.exec(`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${name}') THEN
        BEGIN
          CREATE ROLE ${name} LOGIN IN ROLE fleetkit_app;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
      END IF;
    END
    $$;`);
}
