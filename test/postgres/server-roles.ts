import type { SqlDriver } from '../../src/postgres/index.js';

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
