/**
 * Versioned SQL migrations: plain `.sql` files shipped in the package (`sql/migrations/`), applied
 * in order of their number, each recorded in `fleetkit_migrations`, in one transaction under an
 * advisory lock, so running it twice or from two processes at once applies each file once.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FleetError } from '../errors.js';
import type { SqlDriver } from './driver.js';

/** One migration file. */
export interface Migration {
  /** Its number (the file name's leading digits). */
  readonly version: number;
  /** Its file name, e.g. `0001_stores.sql`. */
  readonly name: string;
  /** The SQL script. */
  readonly sql: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** The migrations applied by this call, in order (empty when the database was up to date). */
  readonly applied: readonly string[];
  /** The database's schema version afterwards (the highest applied migration). */
  readonly version: number;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** The migrations to apply. @defaultValue {@link loadMigrations}() (the files shipped in the package) */
  readonly migrations?: readonly Migration[];
}

// Key of the transaction-level advisory lock that serializes migrations of one database.
const LOCK_KEY = 0x666c6b74; // "flkt"
const FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/**
 * Where the package's `sql/migrations` folder is: found by walking up from this module, so it
 * works from the sources, from `dist/` (ESM and CJS alike) and from an installed package.
 *
 * @throws FleetError `INTERNAL` when the folder is missing (a broken install).
 */
export function migrationsDir(): string {
  let dir = dirname(moduleFile());
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'sql', 'migrations');
    if (existsSync(candidate)) return candidate;
    dir = resolve(dir, '..');
  }
  throw new FleetError('INTERNAL', 'fleetkit/postgres: the sql/migrations folder of the fleetkit package is missing; reinstall fleetkit', { status: 500 });
}

function moduleFile(): string {
  // CJS bundles have __filename; ES modules have import.meta.url.
  if (typeof __filename === 'string') return __filename;
  return fileURLToPath(import.meta.url);
}

/**
 * Reads the migration files of `dir` (default: the package's), sorted by number.
 *
 * @throws FleetError `INTERNAL` for a duplicated number.
 */
export function loadMigrations(dir: string = migrationsDir()): Migration[] {
  const out: Migration[] = [];
  for (const name of readdirSync(dir).sort()) {
    const m = FILE.exec(name);
    if (m === null) continue;
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new FleetError('INTERNAL', `two migrations have number ${version} in ${dir}`, { status: 500 });
    out.push({ version, name, sql: readFileSync(join(dir, name), 'utf8') });
  }
  return out;
}

/**
 * Applies the pending migrations, in order, in one transaction holding an advisory lock (a
 * concurrent `migrate` waits, then finds nothing to do). Run it with the owner role (the one
 * that may create tables), not the application role.
 *
 * @returns which migrations this call applied and the resulting schema version
 * @throws FleetError `STORE_UNAVAILABLE` when the database cannot be reached; `INTERNAL` when a
 *   migration fails (nothing of it remains: the transaction is rolled back).
 * @example
 * ```ts
 * const driver = await openPgPool({ url: process.env.DATABASE_URL! });
 * const { applied } = await migrate(driver);
 * ```
 */
export async function migrate(driver: SqlDriver, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = [...(options.migrations ?? loadMigrations())].sort((a, b) => a.version - b.version);
  return driver.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS fleetkit_migrations (
         version integer PRIMARY KEY,
         name text NOT NULL,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const done = new Set((await tx.query<{ version: number }>('SELECT version FROM fleetkit_migrations')).rows.map((r) => Number(r.version)));
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO fleetkit_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.name);
      done.add(m.version);
    }
    return { applied, version: Math.max(0, ...done) };
  }, { asOwner: true });
}
