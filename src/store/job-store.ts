/**
 * `JobStore`: rollouts (plan, tracker state, revision) and per-device job executions.
 */
import type { JsonObject, JsonValue } from '../json.js';
import type { RolloutPlan } from '../rollout/plan.js';
import type { RolloutState } from '../rollout/progress.js';
import type { DeviceStatus, InProgressPhase } from '../rollout/status.js';
import type { Page, PageOptions } from './page.js';
import type { TenantContext } from './tenant.js';

/** A rollout as written: the plan (fixed at creation) and where the controller is. */
export interface RolloutInput {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The rollout id (the plan's `rolloutId`; unique within the tenant). */
  readonly rolloutId: string;
  /** The plan `planRollout` made; it cannot change after {@link JobStore.createRollout}. */
  readonly plan: RolloutPlan;
  /** The rollout's state. */
  readonly state: RolloutState;
  /** Index of the current stage. */
  readonly stage: number;
  /** The tracker's `revision` the saved state corresponds to (decisions are applied to one revision only). */
  readonly trackerRevision: number;
  /** What a restarted controller needs to rebuild its tracker (JSON; the controller defines it). */
  readonly tracker?: JsonValue;
  /** When it was created (epoch ms). */
  readonly createdAt: number;
  /** When it was last saved (epoch ms). */
  readonly updatedAt: number;
  /** Ignored on input (the store owns revisions). */
  readonly revision?: number;
}

/** A rollout as stored. */
export interface StoredRollout extends RolloutInput {
  /** Bumped by the store on every write (1 after create). */
  readonly revision: number;
}

/** A device's execution of a job (an OTA rollout's job, or any other). */
export interface JobExecutionInput {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The job id (a rollout's id for its OTA jobs). */
  readonly jobId: string;
  /** The device. */
  readonly deviceId: string;
  /** The status, in the rollout tracker's vocabulary. */
  readonly status: DeviceStatus;
  /** Where an `in_progress` device is. */
  readonly phase?: InProgressPhase;
  /** The device's stage in the rollout. */
  readonly stage?: number;
  /** The job document sent to the device. */
  readonly document?: JsonObject;
  /** Free-form details of the latest status report. */
  readonly statusDetails?: JsonObject;
  /** When the execution was queued (epoch ms). */
  readonly queuedAt: number;
  /** When its status last changed (epoch ms). */
  readonly updatedAt: number;
  /** Ignored on input (the store owns versions). */
  readonly version?: number;
}

/** A job execution as stored. */
export interface StoredJobExecution extends JobExecutionInput {
  /** Bumped by the store on every write (1 after the first). */
  readonly version: number;
}

/** Options of {@link JobStore.listRollouts}. */
export interface RolloutListOptions extends PageOptions {
  /** Only rollouts in this state (or these states). */
  readonly state?: RolloutState | readonly RolloutState[];
}

/** Options of {@link JobStore.listExecutions}. */
export interface JobExecutionListOptions extends PageOptions {
  /** Only this job's executions. */
  readonly jobId?: string;
  /** Only this device's executions. */
  readonly deviceId?: string;
  /** Only executions in this status (or these statuses). */
  readonly status?: DeviceStatus | readonly DeviceStatus[];
}

/**
 * Rollouts and job executions, keyed within their tenant.
 *
 * Rules (checked by the `jobStoreContract` suite in `fleetkit/testing`): writes are
 * compare-and-set (`revision` for rollouts, `version` for executions, 0 = does not exist yet), so
 * a restarted or second controller can never overwrite newer state or dispatch a device twice; a
 * record whose `tenantId` is not the context's is `TENANT_MISMATCH`; a rollout's plan never
 * changes; mutating an object passed in or returned never changes stored state.
 */
export interface JobStore {
  /**
   * Stores a new rollout (revision 1).
   * @throws FleetError `ALREADY_EXISTS`; `TENANT_MISMATCH` when the rollout or any device of its
   *   plan belongs to another tenant; `INVALID_ARGUMENT`.
   */
  createRollout(ctx: TenantContext, rollout: RolloutInput): Promise<StoredRollout>;
  /** A rollout of the tenant, or `undefined`. */
  getRollout(ctx: TenantContext, rolloutId: string): Promise<StoredRollout | undefined>;
  /**
   * Saves a rollout's state if its revision is `expectedRevision`; returns it at revision + 1.
   * @throws FleetError `ROLLOUT_NOT_FOUND` (404), `VERSION_CONFLICT` (409), `INVALID_ARGUMENT` (also
   *   for a changed plan), `TENANT_MISMATCH`.
   */
  updateRollout(ctx: TenantContext, rollout: RolloutInput, expectedRevision: number): Promise<StoredRollout>;
  /** The tenant's rollouts in pages ordered by id. */
  listRollouts(ctx: TenantContext, options?: RolloutListOptions): Promise<Page<StoredRollout>>;
  /**
   * Writes a job execution if its stored version is `expectedVersion` (0: it must not exist yet);
   * returns it at `expectedVersion + 1`.
   * @throws FleetError `VERSION_CONFLICT` (409) with `details.actual`, `TENANT_MISMATCH`, `INVALID_ARGUMENT`.
   */
  putExecution(ctx: TenantContext, execution: JobExecutionInput, expectedVersion: number): Promise<StoredJobExecution>;
  /** A device's execution of a job, or `undefined`. */
  getExecution(ctx: TenantContext, jobId: string, deviceId: string): Promise<StoredJobExecution | undefined>;
  /** The tenant's executions in pages ordered by job id, then device id. */
  listExecutions(ctx: TenantContext, options?: JobExecutionListOptions): Promise<Page<StoredJobExecution>>;
}
