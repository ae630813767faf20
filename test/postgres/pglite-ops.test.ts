import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { createPostgresStores, loadMigrations, migrate, openPGlite, pgliteDriver } from '../../src/postgres/index.js';
import { RESET_SQL } from './harness.js';
import { opsSuite, type OpsDatabase } from './ops-suite.js';

// One embedded database for the row-level-security, injection and fault tests.
// (Starting PGlite costs seconds: the file shares one instance, and clones it where a test closes one.)
let shared: Promise<PGlite> | undefined;
const dbs: PGlite[] = [];
afterAll(async () => {
  for (const db of dbs) if (!db.closed) await db.close();
});
function sharedDb(): Promise<PGlite> {
  shared ??= (async () => {
    const db = new PGlite();
    dbs.push(db);
    await migrate(pgliteDriver(db));
    return db;
  })();
  return shared;
}

opsSuite('PGlite', async (): Promise<OpsDatabase> => {
  const db = await sharedDb();
  return { app: pgliteDriver(db, { role: 'fleetkit_app' }), reset: () => db.exec(RESET_SQL).then(() => undefined) };
});

describe('PGlite: migrations and persistence', () => {
  it('records every migration once: running it again applies nothing', async () => {
    const driver = pgliteDriver(await sharedDb());
    const names = loadMigrations().map((m) => m.name);
    expect(await migrate(driver)).toEqual({ applied: [], version: loadMigrations().length });
    const recorded = await driver.query<{ name: string }>('SELECT name FROM fleetkit_migrations ORDER BY version');
    expect(recorded.rows.map((r) => r.name)).toEqual(names);
  });

  it('a database in a directory keeps its state across close and reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetkit-pglite-'));
    try {
      const a = await openPGlite({ dataDir: dir });
      expect((await migrate(a)).applied).toEqual(loadMigrations().map((m) => m.name));
      const doc = { state: { reported: { on: true } }, metadata: { reported: { on: { timestamp: 5 } } }, version: 1 };
      await createPostgresStores(a).shadows.compareAndSet({ tenantId: 'acme' }, 'pump-1', undefined, 0, doc);
      await a.close();
      const b = await openPGlite({ dataDir: dir });
      expect((await migrate(b)).applied).toEqual([]);
      expect(await createPostgresStores(b).shadows.get({ tenantId: 'acme' }, 'pump-1')).toEqual(doc);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a closed database is STORE_UNAVAILABLE, not a raw error', async () => {
    const copy = await (await sharedDb()).clone();
    const driver = pgliteDriver(copy as PGlite, { role: 'fleetkit_app', owns: true });
    await driver.close();
    const e = await createPostgresStores(driver)
      .shadows.get({ tenantId: 'acme' }, 'pump-1')
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    expect(isFleetError(e, 'STORE_UNAVAILABLE')).toBe(true);
  });
});
