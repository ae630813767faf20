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
import { Batcher, resolveBatch, type BatchOptions, type Settled } from './batcher.js';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { checkOutbox, enqueue, type OutboxMessage, type OutboxOptions } from './outbox.js';
import { Where, fromJson, inTenant, int, sqlPage, splitKey, toJson } from './sql-common.js';

const LIST = 'shadows';

function isTombstone(s: StoredShadow): s is ShadowTombstone {
  return (s as { deleted?: unknown }).deleted === true;
}

interface ShadowRow {
  owner: string | null;
  document: unknown;
}

/** Options of {@link PostgresShadowStore}. */
export interface PostgresShadowStoreOptions {
  /**
   * Batch concurrent calls: `get`s, and `compareAndSet`s of existing shadows (expected version ≥ 1),
   * that arrive while earlier ones are in flight go together, per tenant, in one transaction
   * (one `SELECT … FROM unnest(…)`, one `UPDATE … FROM unnest(…) … RETURNING`): far fewer
   * transactions and durable commits under load, the same results as one call at a time. A
   * batch that fails as a whole with anything but `STORE_UNAVAILABLE` is retried call by call.
   * @defaultValue false
   */
  readonly batch?: boolean | BatchOptions;
}

interface GetItem {
  readonly tenantId: string;
  readonly thingName: string;
  readonly shadowName: string | undefined;
}

interface CasItem extends GetItem {
  readonly expectedVersion: number;
  readonly version: number;
  readonly deleted: boolean;
  readonly json: string;
  readonly outbox: readonly OutboxMessage[];
}

// The stored shadows of several things in one statement (row i+1 answers item i).
const CURRENT_MANY = `SELECT u.i, t.tenant_id AS owner, s.document
  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(thing, shadow, i)
  LEFT JOIN fleetkit_shadow_things t ON t.thing_name = u.thing
  LEFT JOIN fleetkit_shadows s ON s.thing_name = u.thing AND s.shadow_name = u.shadow`;

// Several compare-and-sets in one statement; RETURNING names the items whose version matched.
const CAS_MANY = `UPDATE fleetkit_shadows s SET version = u.v, deleted = u.d, document = u.doc::json
  FROM unnest($1::text[], $2::text[], $3::bigint[], $4::boolean[], $5::text[], $6::bigint[]) WITH ORDINALITY AS u(thing, shadow, v, d, doc, expected, i)
  WHERE s.thing_name = u.thing AND s.shadow_name = u.shadow AND s.version = u.expected
  RETURNING u.i`;

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
  /**
   * This store commits outbound messages with its writes (`{ outbox }` on `compareAndSet` and
   * `delete`): `ShadowService({ outbox: true })` relies on it.
   */
  readonly transactionalOutbox = true as const;
  readonly #db: SqlDriver;
  readonly #gets: Batcher<GetItem, StoredShadow | undefined> | undefined;
  readonly #sets: Batcher<CasItem, CompareAndSetResult> | undefined;

  /**
   * @param driver - the database (see `openPGlite`, `openPgPool`); migrated with `migrate`
   * @param options - `batch`: batch concurrent calls (see {@link PostgresShadowStoreOptions})
   */
  constructor(driver: SqlDriver, options: PostgresShadowStoreOptions = {}) {
    this.#db = driver;
    const batch = resolveBatch('new PostgresShadowStore', options?.batch);
    if (batch !== undefined) {
      this.#gets = new Batcher(
        batch,
        (i) => i.tenantId,
        (tenantId, items) => inTenant(this.#db, tenantId, (tx) => this.#currentMany(tx, 'ShadowStore.get', tenantId, items)),
        (i) => inTenant(this.#db, i.tenantId, (tx) => this.#current(tx, 'ShadowStore.get', i.tenantId, i.thingName, i.shadowName)),
      );
      this.#sets = new Batcher(
        batch,
        (i) => i.tenantId,
        (tenantId, items) => this.#casMany(tenantId, items),
        (i) => this.#casOne(i),
      );
    }
  }

  /** {@inheritDoc ShadowStore.get} */
  async get(ctx: TenantContext, thingName: string, shadowName?: string): Promise<StoredShadow | undefined> {
    const api = 'ShadowStore.get';
    const tenantId = tenantOf(ctx, api);
    checkNames(thingName, shadowName);
    if (this.#gets !== undefined) return this.#gets.submit({ tenantId, thingName, shadowName });
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
    const item: CasItem = { tenantId, thingName, shadowName, expectedVersion, version: next.version, deleted: isTombstone(next), json: toJson(next), outbox };
    if (this.#sets !== undefined && expectedVersion > 0) return this.#sets.submit(item);
    return this.#casOne(item);
  }

  async #casOne(item: CasItem): Promise<CompareAndSetResult> {
    const api = 'ShadowStore.compareAndSet';
    const { tenantId, thingName, shadowName, expectedVersion, outbox } = item;
    const name = shadowName ?? '';
    return inTenant(this.#db, tenantId, async (tx) => {
      if (expectedVersion > 0) {
        const r = await tx.query(
          'UPDATE fleetkit_shadows SET version = $3, deleted = $4, document = $5::text::json WHERE thing_name = $1 AND shadow_name = $2 AND version = $6',
          [thingName, name, item.version, item.deleted, item.json, expectedVersion],
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
        [tenantId, thingName, name, item.version, item.deleted, item.json],
      );
      if (r.rowCount === 1) {
        await enqueue(tx, tenantId, outbox);
        return { ok: true };
      }
      return { ok: false, current: await this.#current(tx, api, tenantId, thingName, shadowName) };
    });
  }

  // One transaction for a batch of compare-and-sets of existing shadows: rounds of one UPDATE over
  // arrays, each round holding at most one call per shadow (a second call of the same shadow goes
  // in the next round and sees the first one's write, as if they had run one after the other);
  // the outbox messages of the calls that succeeded are inserted at the end, in call order.
  async #casMany(tenantId: string, items: readonly CasItem[]): Promise<Settled<CompareAndSetResult>[]> {
    const api = 'ShadowStore.compareAndSet';
    return inTenant(this.#db, tenantId, async (tx) => {
      const out: Settled<CompareAndSetResult>[] = new Array<Settled<CompareAndSetResult>>(items.length);
      const won: (readonly OutboxMessage[] | undefined)[] = new Array<readonly OutboxMessage[] | undefined>(items.length);
      let rest = items.map((item, at) => ({ item, at }));
      while (rest.length > 0) {
        const seen = new Set<string>();
        const round: typeof rest = [];
        const later: typeof rest = [];
        for (const x of rest) {
          const k = `${x.item.thingName}\u0000${x.item.shadowName ?? ''}`;
          if (seen.has(k)) later.push(x);
          else {
            seen.add(k);
            round.push(x);
          }
        }
        const r = await tx.query<{ i: unknown }>(CAS_MANY, [
          round.map((x) => x.item.thingName),
          round.map((x) => x.item.shadowName ?? ''),
          round.map((x) => x.item.version),
          round.map((x) => x.item.deleted),
          round.map((x) => x.item.json),
          round.map((x) => x.item.expectedVersion),
        ]);
        const matched = new Set(r.rows.map((row) => int(row.i) - 1));
        const lost = round.filter((_, j) => !matched.has(j));
        round.forEach((x, j) => {
          if (!matched.has(j)) return;
          out[x.at] = { ok: true, value: { ok: true } };
          won[x.at] = x.item.outbox;
        });
        if (lost.length > 0) {
          const current = await this.#currentMany(tx, api, tenantId, lost.map((x) => x.item));
          lost.forEach((x, j) => {
            const c = current[j]!;
            out[x.at] = c.ok ? { ok: true, value: { ok: false, current: c.value } } : c;
          });
        }
        rest = later;
      }
      await enqueue(tx, tenantId, won.flatMap((m) => m ?? []));
      return out;
    });
  }

  // The stored shadows of several things (each checked to be the caller's) in one statement.
  async #currentMany(tx: SqlExecutor, api: string, tenantId: string, items: readonly { readonly thingName: string; readonly shadowName: string | undefined }[]): Promise<Settled<StoredShadow | undefined>[]> {
    const r = await tx.query<ShadowRow & { i: unknown }>(CURRENT_MANY, [items.map((i) => i.thingName), items.map((i) => i.shadowName ?? '')]);
    const out: Settled<StoredShadow | undefined>[] = new Array<Settled<StoredShadow | undefined>>(items.length);
    for (const row of r.rows) {
      const at = int(row.i) - 1;
      const item = items[at]!;
      if (row.owner === null || row.owner === undefined) out[at] = { ok: true, value: undefined };
      else if (row.owner !== tenantId) out[at] = { ok: false, error: tenantMismatch(api, `thing "${item.thingName}"`, tenantId) };
      else out[at] = { ok: true, value: row.document === null || row.document === undefined ? undefined : fromJson<StoredShadow>(row.document) };
    }
    return out;
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

