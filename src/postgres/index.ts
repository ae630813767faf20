/**
 * `fleetkit/postgres`: every store interface on PostgreSQL — embedded PGlite (WASM, in-process,
 * memory or a directory) or a server through node-postgres — with versioned SQL migrations and
 * row-level security by tenant. `@electric-sql/pglite` and `pg` are optional peer dependencies,
 * loaded only when a driver is opened. See docs/postgres.md.
 *
 * @module
 */
import type { BatchOptions } from './batcher.js';
import type { SqlDriver } from './driver.js';
import { PostgresAuditLog } from './audit-log.js';
import { PostgresCommandStore } from './command-store.js';
import { PostgresDeviceStore } from './device-store.js';
import { PostgresJobStore } from './job-store.js';
import { PostgresPresenceStore } from './presence-store.js';
import { PostgresShadowStore } from './shadow-store.js';

export { openPGlite, openPgPool, pgliteDriver, pgPoolDriver } from './driver.js';
export type {
  DriverOptions,
  OpenPGliteOptions,
  OpenPgPoolOptions,
  PGliteLike,
  PgClientLike,
  PgPoolLike,
  SqlDriver,
  SqlExecutor,
  SqlResult,
  SqlTransaction,
  TransactionOptions,
} from './driver.js';
export { loadMigrations, migrate, migrationsDir } from './migrate.js';
export type { MigrateOptions, MigrateResult, Migration } from './migrate.js';
export { OutboxRelay } from './outbox.js';
export { LeaderElection, followLeader } from './leader.js';
export type { DemotionReason, FollowLeaderOptions, LeaderElectionEvents, LeaderElectionOptions, LeaderRollouts } from './leader.js';
export type { OutboxMessage, OutboxOptions, OutboxRelayOptions, RelayedMessage } from './outbox.js';
export { PostgresShadowStore } from './shadow-store.js';
export type { PostgresShadowStoreOptions } from './shadow-store.js';
export { PostgresDeviceStore } from './device-store.js';
export type { PostgresDeviceStoreOptions } from './device-store.js';
export type { BatchOptions } from './batcher.js';
export { PostgresJobStore } from './job-store.js';
export { PostgresCommandStore } from './command-store.js';
export { PostgresAuditLog } from './audit-log.js';
export { PostgresPresenceStore } from './presence-store.js';
export type {
  AuditEntry,
  AuditInput,
  AuditListOptions,
  AuditLog,
  CommandInput,
  CommandListOptions,
  CommandState,
  CommandStore,
  CompareAndSetResult,
  CreateCommandResult,
  DeleteShadowOutcome,
  DeviceFilter,
  DeviceInput,
  DeviceLocation,
  DeviceQueryOptions,
  DeviceStats,
  DeviceStore,
  FleetStores,
  JobExecutionInput,
  JobExecutionListOptions,
  JobStore,
  Page,
  PageOptions,
  PresenceBeat,
  PresenceRaised,
  PresenceRecord,
  PresenceStore,
  PresenceTouched,
  RegisteredDevice,
  RolloutInput,
  RolloutListOptions,
  ShadowListOptions,
  ShadowRecord,
  ShadowStore,
  StoredCa,
  StoredCommand,
  StoredEnrollmentGroup,
  StoredJobExecution,
  StoredRollout,
  TenantContext,
} from '../store/index.js';

/** Every store of a fleet backend on one PostgreSQL database (a `FleetStores`). */
export interface PostgresStores {
  /** Shadow documents. */
  readonly shadows: PostgresShadowStore;
  /** The registry. */
  readonly devices: PostgresDeviceStore;
  /** Rollouts and job executions. */
  readonly jobs: PostgresJobStore;
  /** Commands. */
  readonly commands: PostgresCommandStore;
  /** The audit log. */
  readonly audit: PostgresAuditLog;
  /** Device presence shared by several health monitors (`HealthMonitor`'s `presence` option). */
  readonly presence: PostgresPresenceStore;
}

/** Options of {@link createPostgresStores}. */
export interface PostgresStoresOptions {
  /**
   * Batch concurrent shadow reads and compare-and-sets and device look-ups (`locate`) into one
   * transaction per batch — the shadow request path of `ShadowService`. Worth it against a
   * server under load; see docs/postgres.md. @defaultValue false
   */
  readonly batch?: boolean | BatchOptions;
}

/**
 * Every store on one driver (migrate the database first).
 *
 * @example
 * ```ts
 * import { createPostgresStores, migrate, openPGlite } from 'fleetkit/postgres';
 * const driver = await openPGlite({ dataDir: './fleet-db' });
 * await migrate(driver);
 * const stores = createPostgresStores(driver);
 * ```
 */
export function createPostgresStores(driver: SqlDriver, options: PostgresStoresOptions = {}): PostgresStores {
  const batch = options?.batch === undefined ? {} : { batch: options.batch };
  return {
    shadows: new PostgresShadowStore(driver, batch),
    devices: new PostgresDeviceStore(driver, batch),
    jobs: new PostgresJobStore(driver),
    commands: new PostgresCommandStore(driver),
    audit: new PostgresAuditLog(driver),
    presence: new PostgresPresenceStore(driver),
  };
}
