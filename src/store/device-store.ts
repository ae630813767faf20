/**
 * `DeviceStore`: the fleet registry — device records with their lifecycle snapshot, and the
 * provisioning trust material (CAs, enrollment groups, revocations, the nonce ledger).
 */
import type { JsonObject } from '../json.js';
import type { CaStatus } from '../lifecycle/ca-registry.js';
import type { HealthStatus } from '../lifecycle/health.js';
import type { HomeAssignment } from '../lifecycle/home-endpoint.js';
import type { DeviceIdentity } from '../lifecycle/record.js';
import type { RevocationEntry } from '../lifecycle/revocation.js';
import type { DeviceSnapshot } from '../lifecycle/snapshot.js';
import type { LifecycleState } from '../lifecycle/states.js';
import type { EnrollmentGroupDefinition } from '../lifecycle/symmetric-key.js';
import type { Page, PageOptions } from './page.js';
import type { TenantContext } from './tenant.js';

/**
 * A device as written to the registry: its lifecycle snapshot (as `transition` returns it) plus
 * registry fields. A provisioning `DeviceRecord` from the lifecycle core is a valid input as is.
 */
export interface DeviceInput extends DeviceSnapshot {
  /** Registry attributes (name → value; names 1–128 characters, values up to 800). @defaultValue `{}` */
  readonly attributes?: Readonly<Record<string, string>>;
  /** Tags for grouping and queries (1–128 characters each, at most 50, no duplicates). @defaultValue `[]` */
  readonly tags?: readonly string[];
  /** The firmware version the device runs. */
  readonly firmwareVersion?: string;
  /** The hardware model or revision (for firmware compatibility). */
  readonly hardware?: string;
  /** The latest health evaluation's status; absent until one was recorded. */
  readonly health?: HealthStatus;
  /** When the device was last heard from (epoch ms). */
  readonly lastSeen?: number;
  /** The credential it provisioned with. */
  readonly identity?: DeviceIdentity;
  /** The initial desired configuration from the provisioning template. */
  readonly desiredConfig?: JsonObject;
  /** Policies attached to the credential. */
  readonly policies?: readonly string[];
  /** Home region, endpoint and topics. */
  readonly home?: HomeAssignment;
  /** The provisioning template's name. */
  readonly template?: string;
  /** When it was provisioned (epoch ms). */
  readonly provisionedAt?: number;
  /** Ignored on input (the store owns revisions); present so a stored record can be written back. */
  readonly revision?: number;
}

/** A device as the registry returns it. */
export interface RegisteredDevice extends DeviceInput {
  /** Registry attributes. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Tags. */
  readonly tags: readonly string[];
  /** Bumped by the store on every write (1 after create); pass it as `expectedRevision` to update. */
  readonly revision: number;
}

/** Where a device id lives: what the services need to route a message to its tenant. */
export interface DeviceLocation {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The device's lifecycle state. */
  readonly state: LifecycleState;
}

/** Which devices {@link DeviceStore.query} and {@link DeviceStore.count} select (all given conditions hold). */
export interface DeviceFilter {
  /** In this state (or any of these states). */
  readonly state?: LifecycleState | readonly LifecycleState[];
  /** With this health status; `'unknown'` selects devices with none recorded. */
  readonly health?: HealthStatus | 'unknown';
  /** Running this firmware version. */
  readonly firmwareVersion?: string;
  /** Carrying this tag. */
  readonly tag?: string;
  /** Last heard from before this time (epoch ms), or never. */
  readonly lastSeenBefore?: number;
}

/** Options of {@link DeviceStore.query}. */
export interface DeviceQueryOptions extends PageOptions {
  /** The conditions. @defaultValue every device of the tenant */
  readonly filter?: DeviceFilter;
}

/** Fleet statistics of one tenant. */
export interface DeviceStats {
  /** Devices in the registry. */
  readonly total: number;
  /** Devices per lifecycle state (states with none are absent). */
  readonly byState: Readonly<Partial<Record<LifecycleState, number>>>;
  /** Devices per health status; `unknown` counts devices with none recorded. */
  readonly byHealth: Readonly<Partial<Record<HealthStatus | 'unknown', number>>>;
  /** Devices per firmware version; `unknown` counts devices with none recorded. */
  readonly byFirmware: Readonly<Record<string, number>>;
}

/** A registered certificate authority, as stored. */
export interface StoredCa {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The CA id (unique within the tenant). */
  readonly caId: string;
  /** The CA certificate, PEM. */
  readonly pem: string;
  /** Only active CAs admit new devices. */
  readonly status: CaStatus;
}

/** A symmetric-key enrollment group, as stored (the definition the lifecycle core takes). */
export type StoredEnrollmentGroup = EnrollmentGroupDefinition;

/**
 * The fleet registry.
 *
 * Rules every implementation keeps (the `deviceStoreContract` suite in `fleetkit/testing`
 * checks them):
 * - **Device ids are one name space across tenants** (a device id is its thing name in the
 *   tenant-less AWS shadow topics): naming another tenant's device — read, write, remove — is
 *   `TENANT_MISMATCH`, never an empty result. {@link locate} is the one unscoped read: it maps a
 *   device id to its tenant and state, for routing a device's message.
 * - **Everything else is keyed within its tenant** (CA ids, group ids, revocations, nonces).
 * - Writes are compare-and-set on `revision`; a record whose `tenantId` is not the context's is
 *   `TENANT_MISMATCH`; invalid records are `INVALID_ARGUMENT` and change nothing.
 * - Mutating an object passed in or returned never changes stored state.
 */
export interface DeviceStore {
  /**
   * Registers a new device (revision 1).
   *
   * @throws FleetError `ALREADY_EXISTS` (409) when the id is registered in this tenant,
   *   `TENANT_MISMATCH` when in another, `INVALID_ARGUMENT` for an invalid record.
   */
  create(ctx: TenantContext, device: DeviceInput): Promise<RegisteredDevice>;
  /**
   * The device, or `undefined` when no tenant has it.
   *
   * @throws FleetError `TENANT_MISMATCH` when another tenant has it.
   */
  get(ctx: TenantContext, deviceId: string): Promise<RegisteredDevice | undefined>;
  /**
   * Replaces a device's record if its revision is `expectedRevision`; returns the stored record
   * (revision + 1).
   *
   * @throws FleetError `DEVICE_NOT_FOUND` (404), `VERSION_CONFLICT` (409) with the current revision
   *   in `details.actual`, `TENANT_MISMATCH`, `INVALID_ARGUMENT`.
   */
  update(ctx: TenantContext, device: DeviceInput, expectedRevision: number): Promise<RegisteredDevice>;
  /**
   * Removes a device's record (decommissioning); true when there was one.
   *
   * @throws FleetError `TENANT_MISMATCH` when another tenant has it.
   */
  remove(ctx: TenantContext, deviceId: string): Promise<boolean>;
  /** The tenant and state of a registered device id, or `undefined` (unscoped: for routing only). */
  locate(deviceId: string): Promise<DeviceLocation | undefined>;
  /** The tenant's devices matching `filter`, in pages ordered by device id. */
  query(ctx: TenantContext, options?: DeviceQueryOptions): Promise<Page<RegisteredDevice>>;
  /** How many of the tenant's devices match `filter`. */
  count(ctx: TenantContext, filter?: DeviceFilter): Promise<number>;
  /** Counts by state, health and firmware. */
  stats(ctx: TenantContext): Promise<DeviceStats>;

  /** Registers or replaces a CA (by `caId`). @throws FleetError `TENANT_MISMATCH`, `INVALID_ARGUMENT`. */
  putCa(ctx: TenantContext, ca: StoredCa): Promise<void>;
  /** A CA of the tenant, or `undefined`. */
  getCa(ctx: TenantContext, caId: string): Promise<StoredCa | undefined>;
  /** The tenant's CAs in pages ordered by id. */
  listCas(ctx: TenantContext, options?: PageOptions): Promise<Page<StoredCa>>;
  /** Removes a CA; true when there was one. */
  removeCa(ctx: TenantContext, caId: string): Promise<boolean>;

  /** Creates or replaces an enrollment group (by `groupId`). @throws FleetError `TENANT_MISMATCH`, `INVALID_ARGUMENT`. */
  putEnrollmentGroup(ctx: TenantContext, group: StoredEnrollmentGroup): Promise<void>;
  /** An enrollment group of the tenant, or `undefined`. */
  getEnrollmentGroup(ctx: TenantContext, groupId: string): Promise<StoredEnrollmentGroup | undefined>;
  /** The tenant's enrollment groups in pages ordered by id. */
  listEnrollmentGroups(ctx: TenantContext, options?: PageOptions): Promise<Page<StoredEnrollmentGroup>>;
  /** Removes an enrollment group; true when there was one. */
  removeEnrollmentGroup(ctx: TenantContext, groupId: string): Promise<boolean>;

  /** Adds revocations (never removed); returns how many were new. @throws FleetError `INVALID_ARGUMENT`. */
  addRevocations(ctx: TenantContext, entries: readonly RevocationEntry[]): Promise<number>;
  /** True when the credential is revoked in this tenant. */
  isRevoked(ctx: TenantContext, entry: RevocationEntry): Promise<boolean>;
  /** The tenant's revocations in pages. */
  listRevocations(ctx: TenantContext, options?: PageOptions): Promise<Page<RevocationEntry>>;

  /**
   * Records a provisioning nonce atomically: true when it was unused (now recorded), false when it
   * was already used — a replay.
   *
   * @param key - the nonce's ledger key (1–512 characters)
   * @param at - the request's time (epoch ms), for pruning
   */
  claimNonce(ctx: TenantContext, key: string, at: number): Promise<boolean>;
  /** The tenant's nonce ledger (key → time) with entries at or after `since`, for the lifecycle core. */
  nonces(ctx: TenantContext, since?: number): Promise<ReadonlyMap<string, number>>;
  /** Forgets nonces recorded before `before` (outside the replay window); returns how many. */
  pruneNonces(ctx: TenantContext, before: number): Promise<number>;
}
