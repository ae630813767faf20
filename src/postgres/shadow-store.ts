/**
 * `PostgresShadowStore`: the {@link ShadowStore} over SQL. Compare-and-set is one conditional
 * `UPDATE … WHERE version = $expected` (or, for version 0, an `INSERT … ON CONFLICT DO NOTHING`),
 * so two instances can never both accept the same next version.
 */
import { FleetError } from '../errors.js';
import { assertShadowName, assertThingName } from '../shadow/names.js';
import type { ShadowTombstone, StoredShadow } from '../shadow/types.js';
import { checkData } from '../store/isolation.js';
import { checkShadowShape } from '../store/validate.js';
import { decodeCursor, listOptions, pageLimit, type Page } from '../store/page.js';
import type { CompareAndSetResult, DeleteShadowOutcome, ShadowListOptions, ShadowRecord, ShadowStore } from '../store/shadow-store.js';
import { tenantMismatch, tenantOf, type TenantContext } from '../store/tenant.js';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { checkOutbox, enqueue, type OutboxOptions } from './outbox.js';
import { Where, fromJson, inTenant, sqlPage, splitKey, toJson } from './sql-common.js';

const LIST = 'shadows';

function isTombstone(s: StoredShadow): s is ShadowTombstone {
  return (s as { deleted?: unknown }).deleted === true;
}

interface ShadowRow {
  owner: string | null;
  document: unknown;
}

/**
 * The {@link ShadowStore} on PostgreSQL (a server through `pg`, or embedded PGlite). Every call is
 * one transaction with the caller's tenant set for row-level security; documents are stored as
 * JSON text (key order kept) and every read returns a fresh object.
 *
 * @example
 * ```ts
 * const driver = await openPGlite();
 * await migrate(driver);
 * const shadows = new PostgresShadowStore(driver);
 * await shadows.compareAndSet({ tenantId: 'acme' }, 'pump-7', undefined, 0, document);
 * ```
 */
export class PostgresShadowStore implements ShadowStore {
  readonly #db: SqlDriver;

  /** @param driver - the database (see `openPGlite`, `openPgPool`); migrated with `migrate` */
  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  /** {@inheritDoc ShadowStore.get} */
  async get(ctx: TenantContext, thingName: string, shadowName?: string): Promise<StoredShadow | undefined> {
    const api = 'ShadowStore.get';
    const tenantId = tenantOf(ctx, api);
    checkNames(thingName, shadowName);
    return inTenant(this.#db, tenantId, (tx) => this.#current(tx, api, tenantId, thingName, shadowName));
  }

  /**
   * {@inheritDoc ShadowStore.compareAndSet}
   *
   * @param options - `outbox`: messages committed in the same transaction, only when the write
   *   happens (see {@link OutboxRelay})
   */
  async compareAndSet(ctx: TenantContext, thingName: string, shadowName: string | undefined, expectedVersion: number, next: StoredShadow, options?: OutboxOptions): Promise<CompareAndSetResult> {
    const api = 'ShadowStore.compareAndSet';
    const tenantId = tenantOf(ctx, api);
    checkNames(thingName, shadowName);
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new FleetError('INVALID_ARGUMENT', `${api}: expectedVersion must be an integer ≥ 0 (0 for a shadow that does not exist yet), got ${String(expectedVersion)}`, { status: 400 });
    }
    checkDocument(api, next, expectedVersion);
    const outbox = checkOutbox(api, options);
    const json = toJson(next);
    const deleted = isTombstone(next);
    const name = shadowName ?? '';
    return inTenant(this.#db, tenantId, async (tx) => {
      if (expectedVersion > 0) {
        const r = await tx.query(
          'UPDATE fleetkit_shadows SET version = $3, deleted = $4, document = $5::text::json WHERE thing_name = $1 AND shadow_name = $2 AND version = $6',
          [thingName, name, next.version, deleted, json, expectedVersion],
        );
        if (r.rowCount === 1) {
          await enqueue(tx, tenantId, outbox);
          return { ok: true };
        }
        return { ok: false, current: await this.#current(tx, api, tenantId, thingName, shadowName) };
      }
      await this.#claim(tx, api, tenantId, thingName);
      const r = await tx.query(
        'INSERT INTO fleetkit_shadows (tenant_id, thing_name, shadow_name, version, deleted, document) VALUES ($1, $2, $3, $4, $5, $6::text::json) ON CONFLICT (thing_name, shadow_name) DO NOTHING',
        [tenantId, thingName, name, next.version, deleted, json],
      );
      if (r.rowCount === 1) {
        await enqueue(tx, tenantId, outbox);
        return { ok: true };
      }
      return { ok: false, current: await this.#current(tx, api, tenantId, thingName, shadowName) };
    });
  }

  /**
   * {@inheritDoc ShadowStore.delete}
   *
   * @param options - `outbox`: messages committed with the deletion, only when it happens
   */
  async delete(ctx: TenantContext, thingName: string, shadowName?: string, expectedVersion?: number, options?: OutboxOptions): Promise<DeleteShadowOutcome> {
    const api = 'ShadowStore.delete';
    const tenantId = tenantOf(ctx, api);
    checkNames(thingName, shadowName);
    if (expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)) {
      throw new FleetError('INVALID_ARGUMENT', `${api}: expectedVersion must be an integer ≥ 0 or omitted, got ${String(expectedVersion)}`, { status: 400 });
    }
    const outbox = checkOutbox(api, options);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query<{ version: unknown }>(
        `UPDATE fleetkit_shadows SET deleted = true, document = json_build_object('deleted', true, 'version', version)
          WHERE thing_name = $1 AND shadow_name = $2 AND NOT deleted AND ($3::bigint IS NULL OR version = $3::bigint) RETURNING version`,
        [thingName, shadowName ?? '', expectedVersion ?? null],
      );
      const row = r.rows[0];
      if (row !== undefined) {
        await enqueue(tx, tenantId, outbox);
        return { ok: true, tombstone: { deleted: true, version: Number(row.version) } };
      }
      return { ok: false, current: await this.#current(tx, api, tenantId, thingName, shadowName) };
    });
  }

  /** {@inheritDoc ShadowStore.purge} */
  async purge(ctx: TenantContext, thingName: string): Promise<number> {
    const api = 'ShadowStore.purge';
    const tenantId = tenantOf(ctx, api);
    checkNames(thingName, undefined);
    return inTenant(this.#db, tenantId, async (tx) => {
      const owner = await this.#owner(tx, thingName);
      if (owner === undefined) return 0;
      if (owner !== tenantId) throw tenantMismatch(api, `thing "${thingName}"`, tenantId);
      const r = await tx.query('DELETE FROM fleetkit_shadows WHERE thing_name = $1', [thingName]);
      await tx.query('DELETE FROM fleetkit_shadow_things WHERE thing_name = $1', [thingName]);
      return r.rowCount;
    });
  }

  /** {@inheritDoc ShadowStore.list} */
  async list(ctx: TenantContext, options: ShadowListOptions = {}): Promise<Page<ShadowRecord>> {
    const api = 'ShadowStore.list';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, LIST, options);
    const thingName = options.thingName;
    if (thingName !== undefined) checkNames(thingName, undefined);
    return inTenant(this.#db, tenantId, async (tx) => {
      if (thingName !== undefined) {
        const owner = await this.#owner(tx, thingName);
        if (owner !== undefined && owner !== tenantId) throw tenantMismatch(api, `thing "${thingName}"`, tenantId);
      }
      const w = new Where();
      w.and(`tenant_id = ${w.param(tenantId)}`);
      if (thingName !== undefined) w.and(`thing_name = ${w.param(thingName)}`);
      if (options.includeDeleted !== true) w.and('NOT deleted');
      if (after !== undefined) {
        const [thing, shadow] = splitKey(after);
        w.and(`(thing_name, shadow_name) > (${w.param(thing)} COLLATE "C", ${w.param(shadow)} COLLATE "C")`);
      }
      const rows = (
        await tx.query<{ thing_name: string; shadow_name: string; document: unknown }>(
          `SELECT thing_name, shadow_name, document FROM fleetkit_shadows ${w} ORDER BY thing_name, shadow_name LIMIT ${w.param(limit + 1)}`,
          w.params,
        )
      ).rows;
      return sqlPage(
        tenantId,
        LIST,
        rows,
        limit,
        (r): ShadowRecord => {
          const shadow = fromJson<StoredShadow>(r.document);
          return r.shadow_name === '' ? { tenantId, thingName: r.thing_name, shadow } : { tenantId, thingName: r.thing_name, shadowName: r.shadow_name, shadow };
        },
        (r) => `${r.thing_name}\u0000${r.shadow_name}`,
      );
    });
  }

  async #owner(tx: SqlExecutor, thingName: string): Promise<string | undefined> {
    const r = await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM fleetkit_shadow_things WHERE thing_name = $1', [thingName]);
    return r.rows[0]?.tenant_id;
  }

  // Makes the thing the tenant's if no tenant has it; TENANT_MISMATCH if another does.
  async #claim(tx: SqlExecutor, api: string, tenantId: string, thingName: string): Promise<void> {
    const r = await tx.query('INSERT INTO fleetkit_shadow_things (thing_name, tenant_id) VALUES ($1, $2) ON CONFLICT (thing_name) DO NOTHING', [thingName, tenantId]);
    if (r.rowCount === 1) return;
    const owner = await this.#owner(tx, thingName);
    if (owner !== tenantId) throw tenantMismatch(api, `thing "${thingName}"`, tenantId);
  }

  // The stored shadow (a fresh object), after checking the thing is the caller's.
  async #current(tx: SqlExecutor, api: string, tenantId: string, thingName: string, shadowName: string | undefined): Promise<StoredShadow | undefined> {
    const r = await tx.query<ShadowRow>(
      `SELECT t.tenant_id AS owner, s.document FROM fleetkit_shadow_things t
         LEFT JOIN fleetkit_shadows s ON s.thing_name = t.thing_name AND s.shadow_name = $2
        WHERE t.thing_name = $1`,
      [thingName, shadowName ?? ''],
    );
    const row = r.rows[0];
    if (row === undefined) return undefined;
    if (row.owner !== tenantId) throw tenantMismatch(api, `thing "${thingName}"`, tenantId);
    return row.document === null || row.document === undefined ? undefined : fromJson<StoredShadow>(row.document);
  }
}

function checkNames(thingName: string, shadowName: string | undefined): void {
  assertThingName(thingName);
  if (shadowName !== undefined) assertShadowName(shadowName);
}

// The same checks as the memory store: shape, a version that never goes down, JSON data only.
function checkDocument(api: string, next: StoredShadow, expectedVersion: number): void {
  checkShadowShape(api, next, expectedVersion);
  if ((next as { deleted?: unknown }).deleted === true) return;
  checkData(api, next, undefined, 'next');
}

