/**
 * `MemoryJobStore`: the in-memory {@link JobStore}.
 */
import { z } from 'zod';
import { FleetError } from '../../errors.js';
import { tenantIdSchema } from '../../ids.js';
import { jsonEqual, type JsonValue } from '../../json.js';
import { DEVICE_STATUSES } from '../../rollout/status.js';
import { thingNameSchema } from '../../shadow/names.js';
import { frozenCopy } from '../isolation.js';
import type { JobExecutionInput, JobExecutionListOptions, JobStore, RolloutInput, RolloutListOptions, StoredJobExecution, StoredRollout } from '../job-store.js';
import { SortedKeys, decodeCursor, listOptions, pageLimit, toPage, type Page } from '../page.js';
import { checkRecordTenant, tenantOf, type TenantContext } from '../tenant.js';
import { checkId, checkRevision, checkRolloutPlan, labelSchema, oneOrMany, parseRecord, revisionConflict, timeSchema } from '../validate.js';

const ROLLOUT_STATES = ['running', 'paused', 'aborted', 'cancelled', 'rolled_back', 'completed'] as const;
const stageSchema = z.number().int().min(0);

// The plan is validated separately (and only at creation): it can be large and never changes.
/** @internal zod schema of a rollout without its plan (shared with the SQL stores). */
export const rolloutFieldsSchema = z.strictObject({
  tenantId: tenantIdSchema,
  rolloutId: labelSchema,
  plan: z.unknown(),
  state: z.enum(ROLLOUT_STATES),
  stage: stageSchema,
  trackerRevision: z.number().int().min(0),
  tracker: z.unknown().exactOptional(),
  createdAt: timeSchema,
  updatedAt: timeSchema,
  revision: z.number().exactOptional(),
});

/** @internal zod schema of a job execution (shared with the SQL stores). */
export const executionSchema = z.strictObject({
  tenantId: tenantIdSchema,
  jobId: labelSchema,
  deviceId: thingNameSchema,
  status: z.enum(DEVICE_STATUSES),
  phase: z.enum(['installing', 'booting']).exactOptional(),
  stage: stageSchema.exactOptional(),
  document: z.record(z.string(), z.unknown()).exactOptional(),
  statusDetails: z.record(z.string(), z.unknown()).exactOptional(),
  queuedAt: timeSchema,
  updatedAt: timeSchema,
  version: z.number().exactOptional(),
});

const SEP = '\u0000';

interface TenantJobs {
  readonly rollouts: Map<string, StoredRollout>;
  readonly rolloutKeys: SortedKeys;
  readonly executions: Map<string, StoredJobExecution>;
  readonly executionKeys: SortedKeys;
}

/**
 * The in-memory {@link JobStore}. Records are validated, copied and frozen on write; reads return
 * the frozen records. A rollout's plan is copied once, at creation, and shared by later revisions.
 */
export class MemoryJobStore implements JobStore {
  readonly #tenants = new Map<string, TenantJobs>();

  /** {@inheritDoc JobStore.createRollout} */
  async createRollout(ctx: TenantContext, rollout: RolloutInput): Promise<StoredRollout> {
    const api = 'JobStore.createRollout';
    const tenantId = tenantOf(ctx, api);
    const fields = this.#parseRollout(api, tenantId, rollout);
    checkRolloutPlan(api, tenantId, fields);
    const t = this.#tenant(tenantId);
    if (t.rollouts.has(fields.rolloutId)) {
      throw new FleetError('ALREADY_EXISTS', `${api}: rollout "${fields.rolloutId}" exists; use updateRollout() with its revision`, { status: 409 });
    }
    const stored = Object.freeze({ ...frozenCopy({ ...fields, plan: undefined }), plan: frozenCopy(rollout.plan), revision: 1 }) as StoredRollout;
    t.rollouts.set(fields.rolloutId, stored);
    t.rolloutKeys.add(fields.rolloutId);
    return stored;
  }

  /** {@inheritDoc JobStore.getRollout} */
  async getRollout(ctx: TenantContext, rolloutId: string): Promise<StoredRollout | undefined> {
    const api = 'JobStore.getRollout';
    return this.#tenants.get(tenantOf(ctx, api))?.rollouts.get(checkId(api, 'rolloutId', rolloutId));
  }

  /** {@inheritDoc JobStore.updateRollout} */
  async updateRollout(ctx: TenantContext, rollout: RolloutInput, expectedRevision: number): Promise<StoredRollout> {
    const api = 'JobStore.updateRollout';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedRevision', expectedRevision);
    const fields = this.#parseRollout(api, tenantId, rollout);
    const current = this.#tenants.get(tenantId)?.rollouts.get(fields.rolloutId);
    if (current === undefined) throw new FleetError('ROLLOUT_NOT_FOUND', `${api}: no rollout "${fields.rolloutId}"; createRollout() it first`, { status: 404 });
    if (fields.plan !== current.plan && !jsonEqual(fields.plan as JsonValue, current.plan as unknown as JsonValue)) {
      throw new FleetError('INVALID_ARGUMENT', `${api}: a rollout's plan cannot change; create a new rollout for a new plan`, { status: 400 });
    }
    if (current.revision !== expected) throw revisionConflict(api, `rollout "${fields.rolloutId}"`, expected, current.revision);
    const stored = Object.freeze({ ...frozenCopy({ ...fields, plan: undefined }), plan: current.plan, revision: expected + 1 }) as StoredRollout;
    this.#tenant(tenantId).rollouts.set(fields.rolloutId, stored);
    return stored;
  }

  /** {@inheritDoc JobStore.listRollouts} */
  async listRollouts(ctx: TenantContext, options: RolloutListOptions = {}): Promise<Page<StoredRollout>> {
    const api = 'JobStore.listRollouts';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'rollouts', options);
    const states = oneOrMany(options.state);
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return { items: [] };
    return toPage(
      tenantId,
      'rollouts',
      t.rolloutKeys.page(after, limit, (k) => {
        const r = t.rollouts.get(k);
        return r !== undefined && (states === undefined || states.has(r.state)) ? r : undefined;
      }),
    );
  }

  /** {@inheritDoc JobStore.putExecution} */
  async putExecution(ctx: TenantContext, execution: JobExecutionInput, expectedVersion: number): Promise<StoredJobExecution> {
    const api = 'JobStore.putExecution';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedVersion', expectedVersion);
    checkRecordTenant(api, tenantId, execution, 'the execution');
    const parsed = parseRecord(api, 'execution', executionSchema, execution);
    const t = this.#tenant(tenantId);
    const key = parsed.jobId + SEP + parsed.deviceId;
    const current = t.executions.get(key);
    const actual = current?.version ?? 0;
    if (actual !== expected) throw revisionConflict(api, `the execution of job "${parsed.jobId}" on "${parsed.deviceId}"`, expected, actual);
    const stored = frozenCopy({ ...parsed, version: expected + 1 }) as StoredJobExecution;
    t.executions.set(key, stored);
    t.executionKeys.add(key);
    return stored;
  }

  /** {@inheritDoc JobStore.getExecution} */
  async getExecution(ctx: TenantContext, jobId: string, deviceId: string): Promise<StoredJobExecution | undefined> {
    const api = 'JobStore.getExecution';
    const tenantId = tenantOf(ctx, api);
    return this.#tenants.get(tenantId)?.executions.get(checkId(api, 'jobId', jobId) + SEP + checkId(api, 'deviceId', deviceId));
  }

  /** {@inheritDoc JobStore.listExecutions} */
  async listExecutions(ctx: TenantContext, options: JobExecutionListOptions = {}): Promise<Page<StoredJobExecution>> {
    const api = 'JobStore.listExecutions';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'executions', options);
    const statuses = oneOrMany(options.status);
    const { jobId, deviceId } = options;
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return { items: [] };
    return toPage(
      tenantId,
      'executions',
      t.executionKeys.page(after, limit, (k) => {
        const e = t.executions.get(k);
        if (e === undefined || (jobId !== undefined && e.jobId !== jobId) || (deviceId !== undefined && e.deviceId !== deviceId)) return undefined;
        return statuses === undefined || statuses.has(e.status) ? e : undefined;
      }),
    );
  }

  #parseRollout(api: string, tenantId: string, rollout: RolloutInput): z.infer<typeof rolloutFieldsSchema> {
    checkRecordTenant(api, tenantId, rollout, 'the rollout');
    const fields = parseRecord(api, 'rollout', rolloutFieldsSchema, { ...rollout, plan: null });
    return { ...fields, plan: rollout.plan };
  }

  #tenant(tenantId: string): TenantJobs {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      t = { rollouts: new Map(), rolloutKeys: new SortedKeys(), executions: new Map(), executionKeys: new SortedKeys() };
      this.#tenants.set(tenantId, t);
    }
    return t;
  }
}
