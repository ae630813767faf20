import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { createPostgresStores, loadMigrations, migrate, openPGlite, pgliteDriver } from '../../src/postgres/index.js';
import { RESET_SQL, storeContracts } from './harness.js';
import { opsSuite, type OpsDatabase } from './ops-suite.js';

// One embedded database for the row-level-security, injection and fault tests.
// Embedded PGlite. Starting one runs initdb in WASM (seconds to tens of seconds on a loaded
// machine), so the file shares one in-memory instance, emptied before every test and property run,
// and copies it (clone, or a dump loaded into a directory) where a test needs another. The stores
// run as the non-owner role fleetkit_app (SET LOCAL ROLE in every transaction); the reset runs as
// PGlite's superuser.
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

// Started in a hook with a long timeout: on a loaded machine the first start takes tens of seconds.
beforeAll(async () => {
  await sharedDb();
}, 180_000);

storeContracts(
  'PGlite',
  async () => {
    const db = await sharedDb();
    return { app: pgliteDriver(db, { role: 'fleetkit_app' }), reset: () => db.exec(RESET_SQL).then(() => undefined), close: async () => undefined };
  },
  15,
);

opsSuite('PGlite', async (): Promise<OpsDatabase> => {
  const db = await sharedDb();
  return {
    app: pgliteDriver(db, { role: 'fleetkit_app' }),
    relay: async () => pgliteDriver(db, { role: 'fleetkit_relay' }),
    reset: () => db.exec(RESET_SQL).then(() => undefined),
  };
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
      // A copy of the shared (migrated, emptied) database written into the directory.
      const source = await sharedDb();
      await source.exec(RESET_SQL);
      const seeded = new PGlite({ dataDir: dir, loadDataDir: await source.dumpDataDir('none') });
      await seeded.close();
      const a = await openPGlite({ dataDir: dir });
      expect((await migrate(a)).applied).toEqual([]);
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
  }, 120_000);

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
