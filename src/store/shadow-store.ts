/**
 * `ShadowStore`: where shadow documents live, with compare-and-set on the version.
 */
import type { StoredShadow, ShadowTombstone } from '../shadow/types.js';
import type { Page, PageOptions } from './page.js';
import type { TenantContext } from './tenant.js';

/** One stored shadow with its key, as {@link ShadowStore.list} returns it. */
export interface ShadowRecord {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The thing name. */
  readonly thingName: string;
  /** The named shadow's name; absent for the classic shadow. */
  readonly shadowName?: string;
  /** The document, or the tombstone of a deleted shadow. */
  readonly shadow: StoredShadow;
}

/** The outcome of {@link ShadowStore.compareAndSet}. */
export type CompareAndSetResult =
  | { readonly ok: true }
  /** The stored version was not the expected one; nothing was written. `current` is what is stored now. */
  | { readonly ok: false; readonly current: StoredShadow | undefined };

/** The outcome of {@link ShadowStore.delete}. */
export type DeleteShadowOutcome =
  /** The document was replaced by this tombstone (its version is the deleted document's). */
  | { readonly ok: true; readonly tombstone: ShadowTombstone }
  /**
   * Nothing was deleted: no live document (`current` undefined or a tombstone), or its version was
   * not `expectedVersion`.
   */
  | { readonly ok: false; readonly current: StoredShadow | undefined };

/** Options of {@link ShadowStore.list}. */
export interface ShadowListOptions extends PageOptions {
  /** Only the shadows (classic and named) of this thing. */
  readonly thingName?: string;
  /**
   * Include tombstones of deleted shadows.
   * @defaultValue false
   */
  readonly includeDeleted?: boolean;
}

/**
 * Shadow documents by thing and shadow name, each owned by one tenant.
 *
 * Rules every implementation keeps (the `shadowStoreContract` suite in `fleetkit/testing`
 * checks them):
 * - **Versions.** A shadow that never existed is at version 0. {@link compareAndSet} writes only
 *   when the stored version (live or tombstone) equals `expectedVersion`, atomically, and never
 *   lets the version go down. {@link delete} leaves a tombstone with the deleted version, so the
 *   counter continues when the shadow is re-created.
 * - **Tenants.** Thing names are one name space across tenants (the AWS shadow topic tree has no
 *   tenant level): the first write of any shadow of a thing makes the thing its tenant's, and every
 *   call naming that thing with another tenant's context fails with `TENANT_MISMATCH`, reads
 *   included. {@link purge} releases the name.
 * - **Isolation.** Mutating an object passed in or returned never changes stored state.
 * - Invalid arguments are `INVALID_ARGUMENT` / `INVALID_NAME` and change nothing.
 */
export interface ShadowStore {
  /**
   * The stored document or tombstone, or `undefined` when the shadow never existed (or was purged).
   *
   * @param ctx - the caller's tenant
   * @param thingName - the thing
   * @param shadowName - a named shadow, or `undefined` for the classic shadow
   * @throws FleetError `TENANT_MISMATCH` when the thing belongs to another tenant.
   */
  get(ctx: TenantContext, thingName: string, shadowName?: string): Promise<StoredShadow | undefined>;
  /**
   * Writes `next` if the stored version is `expectedVersion` (0 when the shadow does not exist).
   *
   * @param next - the new document or a tombstone; its version must be ≥ `expectedVersion`
   * @throws FleetError `TENANT_MISMATCH` when the thing belongs to another tenant;
   *   `INVALID_ARGUMENT` for a malformed document or a version that would go down.
   */
  compareAndSet(ctx: TenantContext, thingName: string, shadowName: string | undefined, expectedVersion: number, next: StoredShadow): Promise<CompareAndSetResult>;
  /**
   * Replaces a live document by its tombstone (keeping the version counter).
   *
   * @param expectedVersion - when given, delete only if the document is at this version
   * @throws FleetError `TENANT_MISMATCH` when the thing belongs to another tenant.
   */
  delete(ctx: TenantContext, thingName: string, shadowName?: string, expectedVersion?: number): Promise<DeleteShadowOutcome>;
  /**
   * Removes every shadow of a thing, tombstones included, and releases the thing name (for a
   * decommissioned device). Returns how many entries were removed.
   *
   * @throws FleetError `TENANT_MISMATCH` when the thing belongs to another tenant.
   */
  purge(ctx: TenantContext, thingName: string): Promise<number>;
  /**
   * The tenant's shadows in pages, ordered by thing name, then shadow name (classic first).
   *
   * @throws FleetError `INVALID_ARGUMENT` for a bad limit or cursor; `TENANT_MISMATCH` for another
   *   tenant's cursor or `thingName`.
   */
  list(ctx: TenantContext, options?: ShadowListOptions): Promise<Page<ShadowRecord>>;
}
