/**
 * The one small query interface the PostgreSQL stores run on, and its two drivers: embedded
 * PGlite (WASM, in-process) and a node-postgres pool against a server. Neither package is
 * imported statically: `pg` and `@electric-sql/pglite` are optional peer dependencies, loaded by
 * {@link openPGlite} / {@link openPgPool} on demand, or passed in already constructed.
 */
import { FleetError } from '../errors.js';
import { toStoreError } from './errors.js';

/** The result rows of one statement. */
export interface SqlResult<R> {
  /** The rows (empty for a statement that returns none). */
  readonly rows: R[];
  /** Rows the statement touched (inserted, updated, deleted or returned). */
  readonly rowCount: number;
}

/** Runs single statements with `$1 … $n` parameters (values never enter the SQL text). */
export interface SqlExecutor {
  /** Runs one statement. */
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>>;
}

/** The handle of one transaction: statements, and scripts of several statements. */
export interface SqlTransaction extends SqlExecutor {
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** Options of {@link SqlDriver.transaction}. */
export interface TransactionOptions {
  /** Do not switch to the driver's application role (for migrations, which the owner runs). @defaultValue false */
  readonly asOwner?: boolean;
  /**
   * The row-level-security tenant of the transaction: `fleetkit.tenant_id` is set (local to the
   * transaction, as a parameter) in the same statement that switches the role.
   */
  readonly tenantId?: string;
}

/**
 * A database the stores run on: statements, transactions and multi-statement scripts.
 * Implementations: {@link pgliteDriver}, {@link pgPoolDriver}.
 */
export interface SqlDriver extends SqlExecutor {
  /** Which engine: `pglite` or `pg`. */
  readonly kind: 'pglite' | 'pg';
  /**
   * Runs `fn` in one transaction (committed when it resolves, rolled back when it throws). When
   * the driver has an application role, the transaction switches to it first (`SET LOCAL ROLE`),
   * and sets the tenant given in `options` in the same statement.
   */
  transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Closes the connection or pool (a driver built on a client you passed in leaves it open unless `owns` was set). */
  close(): Promise<void>;
}

/** Options shared by both drivers. */
export interface DriverOptions {
  /**
   * A role every store transaction switches to with `SET LOCAL ROLE` (a member role without
   * ownership, so row-level security applies). Needed for PGlite, whose one session is the
   * superuser; with a server, connect as a non-owner login role instead and leave this unset.
   */
  readonly role?: string;
  /** Close the client or pool in {@link SqlDriver.close}. @defaultValue true for opened drivers, false for passed-in clients */
  readonly owns?: boolean;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checkRole(role: string | undefined): string | undefined {
  if (role === undefined) return undefined;
  if (!ROLE_NAME.test(role)) {
    throw new FleetError('INVALID_ARGUMENT', `role must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 characters), got ${JSON.stringify(role.slice(0, 80))}`, { status: 400 });
  }
  return role;
}

// The first statement of a transaction: the role (SET LOCAL ROLE, as set_config) and the tenant,
// both local to the transaction and both parameters; undefined when there is nothing to set.
function setup(role: string | undefined, options: TransactionOptions): { text: string; params: unknown[] } | undefined {
  const useRole = role !== undefined && options.asOwner !== true;
  const tenant = options.tenantId;
  if (useRole && tenant !== undefined) return { text: "SELECT set_config('role', $1, true), set_config('fleetkit.tenant_id', $2, true)", params: [role, tenant] };
  if (useRole) return { text: "SELECT set_config('role', $1, true)", params: [role] };
  if (tenant !== undefined) return { text: "SELECT set_config('fleetkit.tenant_id', $1, true)", params: [tenant] };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// PGlite

/** The part of a PGlite instance the driver uses (structurally typed: no import of the package). */
export interface PGliteLike {
  /** One statement with parameters. */
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  /** A script. */
  exec(sql: string): Promise<unknown>;
  /** A transaction. */
  transaction<T>(fn: (tx: { query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>; exec(sql: string): Promise<unknown> }) => Promise<T>): Promise<T>;
  /** Closes the database. */
  close(): Promise<void>;
}

/**
 * A driver over a PGlite instance (one in-process session; PGlite runs one transaction at a time).
 *
 * @example
 * ```ts
 * const driver = await openPGlite({ dataDir: './fleet-db' });
 * await migrate(driver);
 * const stores = createPostgresStores(driver);
 * ```
 */
export function pgliteDriver(db: PGliteLike, options: DriverOptions = {}): SqlDriver {
  const role = checkRole(options.role);
  const owns = options.owns ?? false;
  const wrap = (q: PGliteLike['query']): SqlExecutor['query'] =>
    async <R>(text: string, params: readonly unknown[] = []) => {
      const r = await q<R>(text, [...params]);
      return { rows: r.rows, rowCount: r.affectedRows ?? r.rows.length };
    };
  return {
    kind: 'pglite',
    async query<R>(text: string, params?: readonly unknown[]) {
      try {
        return await wrap(db.query.bind(db))<R>(text, params);
      } catch (e) {
        throw toStoreError(e);
      }
    },
    async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
      try {
        const first = setup(role, txOptions);
        return await db.transaction(async (tx) => {
          if (first !== undefined) await tx.query(first.text, first.params);
          return fn({
            query: wrap(tx.query.bind(tx)),
            exec: async (sql: string) => {
              await tx.exec(sql);
            },
          });
        });
      } catch (e) {
        throw toStoreError(e);
      }
    },
    async exec(sql: string) {
      try {
        await db.exec(sql);
      } catch (e) {
        throw toStoreError(e);
      }
    },
    async close() {
      if (owns) await db.close();
    },
  };
}

/** Options of {@link openPGlite}. */
export interface OpenPGliteOptions extends DriverOptions {
  /** A directory to keep the database in; omit for a database in memory. */
  readonly dataDir?: string;
}

/**
 * Opens an embedded PGlite database (loads the optional peer dependency `@electric-sql/pglite`).
 * The store transactions switch to `role` (default `fleetkit_app`, created by the migrations), so
 * row-level security applies although PGlite's one session is the superuser.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `@electric-sql/pglite` is not installed.
 */
export async function openPGlite(options: OpenPGliteOptions = {}): Promise<SqlDriver> {
  let mod: { PGlite: new (dataDir?: string) => PGliteLike };
  try {
    mod = (await import('@electric-sql/pglite')) as unknown as typeof mod;
  } catch (cause) {
    throw new FleetError('INVALID_ARGUMENT', 'openPGlite: install the optional peer dependency @electric-sql/pglite (npm install @electric-sql/pglite@0.5)', { status: 400, cause });
  }
  const db = new mod.PGlite(options.dataDir);
  return pgliteDriver(db, { role: options.role ?? 'fleetkit_app', owns: options.owns ?? true });
}

// ---------------------------------------------------------------------------------------------
// node-postgres

/** A pooled node-postgres client (structurally typed). */
export interface PgClientLike {
  /** One statement (or a script, without parameters). */
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** Returns the client to the pool; pass an error to destroy it instead. */
  release(error?: Error | boolean): void;
}

/** The part of a node-postgres `Pool` the driver uses (structurally typed). */
export interface PgPoolLike {
  /** One statement on any client. */
  query(text: string, params?: unknown[]): Promise<{ rows: unknown[]; rowCount: number | null }>;
  /** A client for a transaction. */
  connect(): Promise<PgClientLike>;
  /** Closes every client. */
  end(): Promise<void>;
}

/**
 * A driver over a node-postgres pool. Each transaction takes one client for `BEGIN … COMMIT`;
 * a client whose transaction failed on a connection error is destroyed, not reused.
 */
export function pgPoolDriver(pool: PgPoolLike, options: DriverOptions = {}): SqlDriver {
  const role = checkRole(options.role);
  const owns = options.owns ?? false;
  const run = async <R>(exec: PgPoolLike | PgClientLike, text: string, params: readonly unknown[] = []): Promise<SqlResult<R>> => {
    const r = await exec.query(text, params.length === 0 ? undefined : [...params]);
    return { rows: r.rows as R[], rowCount: r.rowCount ?? r.rows.length };
  };
  return {
    kind: 'pg',
    async query<R>(text: string, params?: readonly unknown[]) {
      try {
        return await run<R>(pool, text, params);
      } catch (e) {
        throw toStoreError(e);
      }
    },
    async transaction<T>(fn: (tx: SqlTransaction) => Promise<T>, txOptions: TransactionOptions = {}): Promise<T> {
      let client: PgClientLike;
      try {
        client = await pool.connect();
      } catch (e) {
        throw toStoreError(e);
      }
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const first = setup(role, txOptions);
        if (first !== undefined) await client.query(first.text, first.params);
        const value = await fn({
          query: (text, params) => run(client, text, params),
          exec: async (sql: string) => {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return value;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
        }
        throw toStoreError(e);
      } finally {
        client.release(broken ?? false);
      }
    },
    async exec(sql: string) {
      try {
        await pool.query(sql);
      } catch (e) {
        throw toStoreError(e);
      }
    },
    async close() {
      if (owns) await pool.end();
    },
  };
}

/** Options of {@link openPgPool}. */
export interface OpenPgPoolOptions extends DriverOptions {
  /** A connection string, `postgres://user:password@host:port/database`. */
  readonly url: string;
  /** Most connections in the pool. @defaultValue 10 */
  readonly max?: number;
  /** How long to wait for a connection (ms) before failing with `STORE_UNAVAILABLE`. @defaultValue 5000 */
  readonly connectionTimeoutMillis?: number;
}

/**
 * Opens a node-postgres pool (loads the optional peer dependency `pg`). Connect as a login role
 * that is a member of `fleetkit_app` and does not own the tables, so row-level security applies.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `pg` is not installed or the URL is missing.
 */
export async function openPgPool(options: OpenPgPoolOptions): Promise<SqlDriver> {
  if (typeof options?.url !== 'string' || options.url.length === 0) {
    throw new FleetError('INVALID_ARGUMENT', 'openPgPool: pass { url: "postgres://user:password@host:port/database" }', { status: 400 });
  }
  let mod: { default?: { Pool: new (config: object) => PgPoolLike & { on(event: 'error', fn: (e: Error) => void): void } }; Pool?: new (config: object) => PgPoolLike & { on(event: 'error', fn: (e: Error) => void): void } };
  try {
    mod = (await import('pg')) as unknown as typeof mod;
  } catch (cause) {
    throw new FleetError('INVALID_ARGUMENT', 'openPgPool: install the optional peer dependency pg (npm install pg@8)', { status: 400, cause });
  }
  const Pool = mod.Pool ?? mod.default?.Pool;
  if (Pool === undefined) throw new FleetError('INVALID_ARGUMENT', 'openPgPool: the installed pg package has no Pool export; install pg@8', { status: 400 });
  const pool = new Pool({ connectionString: options.url, max: options.max ?? 10, connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000 });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on('error', () => undefined);
  const driverOptions: DriverOptions = options.role === undefined ? { owns: options.owns ?? true } : { role: options.role, owns: options.owns ?? true };
  return pgPoolDriver(pool, driverOptions);
}
