/**
 * `PostgresJobStore`: the {@link JobStore} (rollouts and job executions) over SQL.
 */
import type { z } from 'zod';
import { FleetError } from '../errors.js';
import { jsonEqual, type JsonValue } from '../json.js';
import type { RolloutPlan } from '../rollout/plan.js';
import type { JobExecutionInput, JobExecutionListOptions, JobStore, RolloutInput, RolloutListOptions, StoredJobExecution, StoredRollout } from '../store/job-store.js';
import { executionSchema, rolloutFieldsSchema } from '../store/memory/memory-job-store.js';
import { decodeCursor, listOptions, pageLimit, type Page } from '../store/page.js';
import { checkRecordTenant, tenantOf, type TenantContext } from '../store/tenant.js';
import { checkId, checkRevision, checkRolloutPlan, parseRecord, revisionConflict } from '../store/validate.js';
import type { SqlDriver } from './driver.js';
import { checkOutbox, enqueue, type OutboxOptions } from './outbox.js';
import { Where, asArray, copyJson, fromJson, inTenant, int, sqlPage, splitKey, toJson } from './sql-common.js';

type RolloutFields = z.infer<typeof rolloutFieldsSchema>;

/**
 * The {@link JobStore} on PostgreSQL. Rollout saves and execution writes are compare-and-set in
 * one statement (`UPDATE … WHERE revision = $expected`, or `INSERT … ON CONFLICT DO NOTHING` for
 * the first write), so two controllers can never both dispatch a device.
 *
 * @example
 * ```ts
 * const jobs = new PostgresJobStore(driver);
 * const stored = await jobs.createRollout({ tenantId: 'acme' }, rollout);
 * ```
 */
export class PostgresJobStore implements JobStore {
  readonly #db: SqlDriver;

  /** @param driver - the database (see `openPGlite`, `openPgPool`); migrated with `migrate` */
  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  /** {@inheritDoc JobStore.createRollout} */
  async createRollout(ctx: TenantContext, rollout: RolloutInput): Promise<StoredRollout> {
    const api = 'JobStore.createRollout';
    const tenantId = tenantOf(ctx, api);
    const fields = parseRollout(api, tenantId, rollout);
    checkRolloutPlan(api, tenantId, fields);
    const planJson = toJson(rollout.plan);
    const record = recordOf(fields);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query(
        `INSERT INTO fleetkit_rollouts (tenant_id, rollout_id, state, revision, plan, record) VALUES ($1, $2, $3, 1, $4::text::json, $5::text::json)
         ON CONFLICT (tenant_id, rollout_id) DO NOTHING`,
        [tenantId, fields.rolloutId, fields.state, planJson, toJson(record)],
      );
      if (r.rowCount !== 1) throw new FleetError('ALREADY_EXISTS', `${api}: rollout "${fields.rolloutId}" exists; use updateRollout() with its revision`, { status: 409 });
      return storedRollout(record, JSON.parse(planJson) as RolloutPlan, 1);
    });
  }

  /** {@inheritDoc JobStore.getRollout} */
  async getRollout(ctx: TenantContext, rolloutId: string): Promise<StoredRollout | undefined> {
    const api = 'JobStore.getRollout';
    const tenantId = tenantOf(ctx, api);
    const id = checkId(api, 'rolloutId', rolloutId);
    return inTenant(this.#db, tenantId, async (tx) => {
      const row = (await tx.query<{ revision: unknown; plan: unknown; record: unknown }>('SELECT revision, plan, record FROM fleetkit_rollouts WHERE tenant_id = $1 AND rollout_id = $2', [tenantId, id])).rows[0];
      return row === undefined ? undefined : storedRollout(fromJson(row.record), fromJson(row.plan), int(row.revision));
    });
  }

  /** {@inheritDoc JobStore.updateRollout} */
  async updateRollout(ctx: TenantContext, rollout: RolloutInput, expectedRevision: number): Promise<StoredRollout> {
    const api = 'JobStore.updateRollout';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedRevision', expectedRevision);
    const fields = parseRollout(api, tenantId, rollout);
    const record = recordOf(fields);
    return inTenant(this.#db, tenantId, async (tx) => {
      const row = (await tx.query<{ revision: unknown; plan: unknown }>('SELECT revision, plan FROM fleetkit_rollouts WHERE tenant_id = $1 AND rollout_id = $2 FOR UPDATE', [tenantId, fields.rolloutId]))
        .rows[0];
      if (row === undefined) throw new FleetError('ROLLOUT_NOT_FOUND', `${api}: no rollout "${fields.rolloutId}"; createRollout() it first`, { status: 404 });
      const plan = fromJson<RolloutPlan>(row.plan);
      if (!jsonEqual(fields.plan as JsonValue, plan as unknown as JsonValue)) {
        throw new FleetError('INVALID_ARGUMENT', `${api}: a rollout's plan cannot change; create a new rollout for a new plan`, { status: 400 });
      }
      const actual = int(row.revision);
      if (actual !== expected) throw revisionConflict(api, `rollout "${fields.rolloutId}"`, expected, actual);
      const r = await tx.query('UPDATE fleetkit_rollouts SET state = $3, revision = $4, record = $5::text::json WHERE tenant_id = $1 AND rollout_id = $2 AND revision = $6', [
        tenantId,
        fields.rolloutId,
        fields.state,
        expected + 1,
        toJson(record),
        expected,
      ]);
      if (r.rowCount !== 1) throw revisionConflict(api, `rollout "${fields.rolloutId}"`, expected, expected + 1);
      return storedRollout(record, plan, expected + 1);
    });
  }

  /** {@inheritDoc JobStore.listRollouts} */
  async listRollouts(ctx: TenantContext, options: RolloutListOptions = {}): Promise<Page<StoredRollout>> {
    const api = 'JobStore.listRollouts';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'rollouts', options);
    const w = new Where();
    w.and(`tenant_id = ${w.param(tenantId)}`);
    const states = asArray(options.state);
    if (states !== undefined) w.and(`state = ANY(${w.param(states)}::text[])`);
    if (after !== undefined) w.and(`rollout_id > ${w.param(after)} COLLATE "C"`);
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (await tx.query<{ rollout_id: string; revision: unknown; plan: unknown; record: unknown }>(`SELECT rollout_id, revision, plan, record FROM fleetkit_rollouts ${w} ORDER BY rollout_id LIMIT ${w.param(limit + 1)}`, w.params)).rows;
      return sqlPage(
        tenantId,
        'rollouts',
        rows,
        limit,
        (r) => storedRollout(fromJson(r.record), fromJson(r.plan), int(r.revision)),
        (r) => r.rollout_id,
      );
    });
  }

  /**
   * {@inheritDoc JobStore.putExecution}
   *
   * @param options - `outbox`: messages committed with the write (a job notification), only when it happens
   */
  async putExecution(ctx: TenantContext, execution: JobExecutionInput, expectedVersion: number, options?: OutboxOptions): Promise<StoredJobExecution> {
    const api = 'JobStore.putExecution';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedVersion', expectedVersion);
    const outbox = checkOutbox(api, options);
    checkRecordTenant(api, tenantId, execution, 'the execution');
    const parsed = parseRecord(api, 'execution', executionSchema, execution);
    const { version: _ignored, ...fields } = parsed;
    const json = toJson(fields);
    const what = `the execution of job "${parsed.jobId}" on "${parsed.deviceId}"`;
    return inTenant(this.#db, tenantId, async (tx) => {
      const r =
        expected === 0
          ? await tx.query(
              `INSERT INTO fleetkit_job_executions (tenant_id, job_id, device_id, status, version, record) VALUES ($1, $2, $3, $4, 1, $5::text::json)
               ON CONFLICT (tenant_id, job_id, device_id) DO NOTHING`,
              [tenantId, parsed.jobId, parsed.deviceId, parsed.status, json],
            )
          : await tx.query('UPDATE fleetkit_job_executions SET status = $4, version = version + 1, record = $5::text::json WHERE tenant_id = $1 AND job_id = $2 AND device_id = $3 AND version = $6', [
              tenantId,
              parsed.jobId,
              parsed.deviceId,
              parsed.status,
              json,
              expected,
            ]);
      if (r.rowCount === 1) {
        await enqueue(tx, tenantId, outbox);
        return { ...(JSON.parse(json) as JobExecutionInput), version: expected + 1 };
      }
      const row = (await tx.query<{ version: unknown }>('SELECT version FROM fleetkit_job_executions WHERE tenant_id = $1 AND job_id = $2 AND device_id = $3', [tenantId, parsed.jobId, parsed.deviceId])).rows[0];
      throw revisionConflict(api, what, expected, row === undefined ? 0 : int(row.version));
    });
  }

  /** {@inheritDoc JobStore.getExecution} */
  async getExecution(ctx: TenantContext, jobId: string, deviceId: string): Promise<StoredJobExecution | undefined> {
    const api = 'JobStore.getExecution';
    const tenantId = tenantOf(ctx, api);
    const job = checkId(api, 'jobId', jobId);
    const device = checkId(api, 'deviceId', deviceId);
    return inTenant(this.#db, tenantId, async (tx) => {
      const row = (await tx.query<{ version: unknown; record: unknown }>('SELECT version, record FROM fleetkit_job_executions WHERE tenant_id = $1 AND job_id = $2 AND device_id = $3', [tenantId, job, device])).rows[0];
      return row === undefined ? undefined : { ...fromJson<JobExecutionInput>(row.record), version: int(row.version) };
    });
  }

  /** {@inheritDoc JobStore.listExecutions} */
  async listExecutions(ctx: TenantContext, options: JobExecutionListOptions = {}): Promise<Page<StoredJobExecution>> {
    const api = 'JobStore.listExecutions';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'executions', options);
    const w = new Where();
    w.and(`tenant_id = ${w.param(tenantId)}`);
    if (options.jobId !== undefined) w.and(`job_id = ${w.param(String(options.jobId))}`);
    if (options.deviceId !== undefined) w.and(`device_id = ${w.param(String(options.deviceId))}`);
    const statuses = asArray(options.status);
    if (statuses !== undefined) w.and(`status = ANY(${w.param(statuses)}::text[])`);
    if (after !== undefined) {
      const [job, device] = splitKey(after);
      w.and(`(job_id, device_id) > (${w.param(job)} COLLATE "C", ${w.param(device)} COLLATE "C")`);
    }
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (
        await tx.query<{ job_id: string; device_id: string; version: unknown; record: unknown }>(
          `SELECT job_id, device_id, version, record FROM fleetkit_job_executions ${w} ORDER BY job_id, device_id LIMIT ${w.param(limit + 1)}`,
          w.params,
        )
      ).rows;
      return sqlPage(
        tenantId,
        'executions',
        rows,
        limit,
        (r) => ({ ...fromJson<JobExecutionInput>(r.record), version: int(r.version) }),
        (r) => `${r.job_id}\u0000${r.device_id}`,
      );
    });
  }
}

function parseRollout(api: string, tenantId: string, rollout: RolloutInput): RolloutFields {
  checkRecordTenant(api, tenantId, rollout, 'the rollout');
  const fields = parseRecord(api, 'rollout', rolloutFieldsSchema, { ...rollout, plan: null });
  return { ...fields, plan: rollout.plan };
}

// Every field but the plan (stored in its own column) and the revision (a column).
function recordOf(fields: RolloutFields): Record<string, unknown> {
  const { plan: _plan, revision: _revision, ...rest } = fields;
  return copyJson(rest);
}

function storedRollout(record: Record<string, unknown>, plan: RolloutPlan, revision: number): StoredRollout {
  return { ...copyJson(record), plan: copyJson(plan), revision } as unknown as StoredRollout;
}
