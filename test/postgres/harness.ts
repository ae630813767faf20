/**
 * Runs the store contract suites (the same ones the memory stores pass) against a SQL driver: one
 * fresh database per suite, emptied before every test and property run.
 */
import { afterAll, beforeAll, describe } from 'vitest';
import type { SqlDriver } from '../../src/postgres/index.js';
import { PostgresAuditLog, PostgresCommandStore, PostgresDeviceStore, PostgresJobStore, PostgresPresenceStore, PostgresShadowStore, migrate } from '../../src/postgres/index.js';
import { auditLogContract, commandStoreContract, deviceStoreContract, jobStoreContract, presenceStoreContract, shadowStoreContract } from '../../src/testing/index.js';

/** Every table the stores write, emptied between tests (by the owner: row-level security does not bind it). */
export const STORE_TABLES = [
  'fleetkit_shadows',
  'fleetkit_shadow_things',
  'fleetkit_devices',
  'fleetkit_device_directory',
  'fleetkit_cas',
  'fleetkit_enrollment_groups',
  'fleetkit_revocations',
  'fleetkit_nonces',
  'fleetkit_rollouts',
  'fleetkit_job_executions',
  'fleetkit_commands',
  'fleetkit_audit_sequences',
  'fleetkit_audit_log',
  'fleetkit_outbox',
  'fleetkit_presence',
  'fleetkit_presence_tenants',
];

/** A fresh database for one suite: the application driver and an owner-side reset. */
export interface SuiteDatabase {
  /** The driver the stores use (application role). */
  readonly app: SqlDriver;
  /** Empties every store table. */
  reset(): Promise<void>;
  /** Closes everything. */
  close(): Promise<void>;
}

/** Creates a fresh migrated database. */
export type SuiteDatabaseFactory = (suite: string) => Promise<SuiteDatabase>;

/** The reset script. */
export const RESET_SQL = STORE_TABLES.map((t) => `DELETE FROM ${t};`).join('\n');

function suite<S>(title: string, open: SuiteDatabaseFactory, make: (driver: SqlDriver) => S, register: (factory: () => Promise<S>) => void): void {
  describe(title, () => {
    let db: SuiteDatabase | undefined;
    beforeAll(async () => {
      db = await open(title);
    }, 60_000);
    afterAll(async () => {
      await db?.close();
    });
    register(async () => {
      if (db === undefined) throw new Error('the suite database did not open');
      await db.reset();
      return make(db.app);
    });
  });
}

/** Registers all six contract suites against `open`'s databases. */
export function storeContracts(label: string, open: SuiteDatabaseFactory, numRuns: number): void {
  const seedless = { numRuns };
  suite(`${label} shadows`, open, (d) => new PostgresShadowStore(d), (f) => shadowStoreContract(f, { ...seedless, name: `PostgresShadowStore (${label}) passes the ShadowStore contract` }));
  suite(`${label} devices`, open, (d) => new PostgresDeviceStore(d), (f) => deviceStoreContract(f, { ...seedless, name: `PostgresDeviceStore (${label}) passes the DeviceStore contract` }));
  suite(`${label} jobs`, open, (d) => new PostgresJobStore(d), (f) => jobStoreContract(f, { ...seedless, name: `PostgresJobStore (${label}) passes the JobStore contract` }));
  suite(`${label} commands`, open, (d) => new PostgresCommandStore(d), (f) => commandStoreContract(f, { ...seedless, name: `PostgresCommandStore (${label}) passes the CommandStore contract` }));
  suite(`${label} audit`, open, (d) => new PostgresAuditLog(d), (f) => auditLogContract(f, { ...seedless, name: `PostgresAuditLog (${label}) passes the AuditLog contract` }));
  suite(`${label} presence`, open, (d) => new PostgresPresenceStore(d), (f) => presenceStoreContract(f, { ...seedless, name: `PostgresPresenceStore (${label}) passes the PresenceStore contract` }));
}

/** Registers the contract suites of the stores that batch (shadows, devices) with `batch` on. */
export function batchedStoreContracts(label: string, open: SuiteDatabaseFactory, numRuns: number): void {
  const seedless = { numRuns };
  const batch = { maxSize: 16, concurrency: 2 };
  suite(`${label} batched shadows`, open, (d) => new PostgresShadowStore(d, { batch }), (f) => shadowStoreContract(f, { ...seedless, name: `PostgresShadowStore (${label}, batch) passes the ShadowStore contract` }));
  suite(`${label} batched devices`, open, (d) => new PostgresDeviceStore(d, { batch }), (f) => deviceStoreContract(f, { ...seedless, name: `PostgresDeviceStore (${label}, batch) passes the DeviceStore contract` }));
}

/** @internal Re-exported for the test files. */
export { migrate };
