/**
 * `PostgresDeviceStore`: the {@link DeviceStore} (the registry and provisioning trust material) over SQL.
 */
import { FleetError } from '../errors.js';
import { caRegistrationSchema } from '../lifecycle/ca-registry.js';
import type { LifecycleState } from '../lifecycle/states.js';
import { revocationEntrySchema, revocationKey, type RevocationEntry } from '../lifecycle/revocation.js';
import { enrollmentGroupSchema } from '../lifecycle/symmetric-key.js';
import type { DeviceFilter, DeviceInput, DeviceLocation, DeviceQueryOptions, DeviceStats, DeviceStore, RegisteredDevice, StoredCa, StoredEnrollmentGroup } from '../store/device-store.js';
import { caSchema, deviceInputSchema } from '../store/memory/memory-device-store.js';
import { decodeCursor, listOptions, pageLimit, type Page, type PageOptions } from '../store/page.js';
import { checkRecordTenant, tenantMismatch, tenantOf, type TenantContext } from '../store/tenant.js';
import { checkId, checkRevision, parseRecord, revisionConflict } from '../store/validate.js';
import { Batcher, resolveBatch, type BatchOptions, type Settled } from './batcher.js';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { Where, asArray, fromJson, inTenant, int, sqlPage, toJson } from './sql-common.js';

/** Options of {@link PostgresDeviceStore}. */
export interface PostgresDeviceStoreOptions {
  /**
   * Batch concurrent `locate` calls (the registry look-up of every shadow request): those that
   * arrive while earlier ones are in flight go together in one transaction.
   * @defaultValue false
   */
  readonly batch?: boolean | BatchOptions;
}

interface DeviceRow {
  owner: string | null;
  revision: unknown;
  record: unknown;
}

/**
 * The {@link DeviceStore} on PostgreSQL. Device ids are one name space across tenants: a directory
 * table maps each id to its tenant (readable by every tenant, writable only by the owner), the
 * records themselves are visible only to their tenant (row-level security). Queries, counts and
 * statistics run in SQL on indexed columns (state, health, firmware, tags, last seen).
 *
 * @example
 * ```ts
 * const devices = new PostgresDeviceStore(driver);
 * await devices.create({ tenantId: 'acme' }, createDeviceSnapshot({ deviceId: 'pump-7', tenantId: 'acme', now: clock.now() }));
 * ```
 */
export class PostgresDeviceStore implements DeviceStore {
  readonly #db: SqlDriver;
  readonly #locates: Batcher<string, DeviceLocation | undefined> | undefined;

  /**
   * @param driver - the database (see `openPGlite`, `openPgPool`); migrated with `migrate`
   * @param options - `batch`: batch concurrent `locate` calls (see {@link PostgresDeviceStoreOptions})
   */
  constructor(driver: SqlDriver, options: PostgresDeviceStoreOptions = {}) {
    this.#db = driver;
    const batch = resolveBatch('new PostgresDeviceStore', options?.batch);
    this.#locates = batch === undefined ? undefined : new Batcher(batch, () => '', (_, ids) => this.#locateMany(ids), (id) => this.#locateOne(id));
  }

  /** {@inheritDoc DeviceStore.create} */
  async create(ctx: TenantContext, device: DeviceInput): Promise<RegisteredDevice> {
    const api = 'DeviceStore.create';
    const tenantId = tenantOf(ctx, api);
    const input = parseDevice(api, tenantId, device);
    const record = deviceRecord(input);
    return inTenant(this.#db, tenantId, async (tx) => {
      const claimed = await tx.query('INSERT INTO fleetkit_device_directory (device_id, tenant_id) VALUES ($1, $2) ON CONFLICT (device_id) DO NOTHING', [input.deviceId, tenantId]);
      if (claimed.rowCount !== 1) {
        const owner = await this.#owner(tx, input.deviceId);
        if (owner !== tenantId) throw tenantMismatch(api, `device "${input.deviceId}"`, tenantId);
        throw new FleetError('ALREADY_EXISTS', `${api}: device "${input.deviceId}" is already registered; use update() with its revision`, { status: 409, details: { deviceId: input.deviceId } });
      }
      await tx.query(
        `INSERT INTO fleetkit_devices (tenant_id, device_id, state, health, firmware_version, tags, last_seen, revision, record)
         VALUES ($1, $2, $3, $4, $5, $6::text[], $7, 1, $8::text::json)`,
        [tenantId, input.deviceId, ...columns(record), toJson(record)],
      );
      return registered(record, 1);
    });
  }

  /**
   * Registers many new devices of one tenant in one transaction (a registry import): all are
   * stored at revision 1, or none is. Rows go in batches of 1,000 per statement.
   *
   * @returns how many were registered (`devices.length`)
   * @throws FleetError `ALREADY_EXISTS` when an id is already registered in this tenant (or given
   *   twice), `TENANT_MISMATCH` when another tenant has one, `INVALID_ARGUMENT` for an invalid record.
   */
  async createMany(ctx: TenantContext, devices: readonly DeviceInput[]): Promise<number> {
    const api = 'DeviceStore.createMany';
    const tenantId = tenantOf(ctx, api);
    if (!Array.isArray(devices)) throw new FleetError('INVALID_ARGUMENT', `${api}: devices must be an array of device records`, { status: 400 });
    const records = devices.map((d) => deviceRecord(parseDevice(api, tenantId, d)));
    const ids = new Set<string>();
    for (const r of records) {
      if (ids.has(r.deviceId)) throw new FleetError('ALREADY_EXISTS', `${api}: device "${r.deviceId}" is given twice`, { status: 409, details: { deviceId: r.deviceId } });
      ids.add(r.deviceId);
    }
    await inTenant(this.#db, tenantId, async (tx) => {
      for (let at = 0; at < records.length; at += 1000) {
        const batch = records.slice(at, at + 1000);
        const batchIds = batch.map((r) => r.deviceId);
        const claimed = await tx.query<{ device_id: string }>(
          'INSERT INTO fleetkit_device_directory (device_id, tenant_id) SELECT id, $2 FROM unnest($1::text[]) AS id ON CONFLICT (device_id) DO NOTHING RETURNING device_id',
          [batchIds, tenantId],
        );
        if (claimed.rows.length !== batch.length) {
          const got = new Set(claimed.rows.map((r) => r.device_id));
          const taken = batchIds.find((id) => !got.has(id)) as string;
          const owner = await this.#owner(tx, taken);
          if (owner !== tenantId) throw tenantMismatch(api, `device "${taken}"`, tenantId);
          throw new FleetError('ALREADY_EXISTS', `${api}: device "${taken}" is already registered; use update() with its revision`, { status: 409, details: { deviceId: taken } });
        }
        const cols = batch.map(columns);
        await tx.query(
          `INSERT INTO fleetkit_devices (tenant_id, device_id, state, health, firmware_version, tags, last_seen, revision, record)
           SELECT $1, d, s, h, f, ARRAY(SELECT json_array_elements_text(t::json)), l, 1, r::json
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::float8[], $8::text[]) AS u(d, s, h, f, t, l, r)`,
          [tenantId, batchIds, cols.map((c) => c[0]), cols.map((c) => c[1]), cols.map((c) => c[2]), cols.map((c) => JSON.stringify(c[3])), cols.map((c) => c[4]), batch.map((r) => toJson(r))],
        );
      }
    });
    return records.length;
  }

  /** {@inheritDoc DeviceStore.get} */
  async get(ctx: TenantContext, deviceId: string): Promise<RegisteredDevice | undefined> {
    const api = 'DeviceStore.get';
    const tenantId = tenantOf(ctx, api);
    checkId(api, 'deviceId', deviceId);
    return inTenant(this.#db, tenantId, (tx) => this.#read(tx, api, tenantId, deviceId));
  }

  /** {@inheritDoc DeviceStore.update} */
  async update(ctx: TenantContext, device: DeviceInput, expectedRevision: number): Promise<RegisteredDevice> {
    const api = 'DeviceStore.update';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedRevision', expectedRevision);
    const input = parseDevice(api, tenantId, device);
    const record = deviceRecord(input);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query(
        `UPDATE fleetkit_devices SET state = $3, health = $4, firmware_version = $5, tags = $6::text[], last_seen = $7, revision = revision + 1, record = $8::text::json
          WHERE device_id = $1 AND revision = $2`,
        [input.deviceId, expected, ...columns(record), toJson(record)],
      );
      if (r.rowCount === 1) return registered(record, expected + 1);
      const current = await this.#read(tx, api, tenantId, input.deviceId);
      if (current === undefined) {
        throw new FleetError('DEVICE_NOT_FOUND', `${api}: device "${input.deviceId}" is not registered; create() it first`, { status: 404, details: { deviceId: input.deviceId } });
      }
      throw revisionConflict(api, `device "${input.deviceId}"`, expected, current.revision);
    });
  }

  /** {@inheritDoc DeviceStore.remove} */
  async remove(ctx: TenantContext, deviceId: string): Promise<boolean> {
    const api = 'DeviceStore.remove';
    const tenantId = tenantOf(ctx, api);
    checkId(api, 'deviceId', deviceId);
    return inTenant(this.#db, tenantId, async (tx) => {
      const owner = await this.#owner(tx, deviceId);
      if (owner === undefined) return false;
      if (owner !== tenantId) throw tenantMismatch(api, `device "${deviceId}"`, tenantId);
      const r = await tx.query('DELETE FROM fleetkit_devices WHERE device_id = $1', [deviceId]);
      await tx.query('DELETE FROM fleetkit_device_directory WHERE device_id = $1', [deviceId]);
      return r.rowCount === 1;
    });
  }

  /** {@inheritDoc DeviceStore.locate} */
  async locate(deviceId: string): Promise<DeviceLocation | undefined> {
    if (typeof deviceId !== 'string' || deviceId.length === 0 || deviceId.length > 128) return undefined;
    if (this.#locates !== undefined) return this.#locates.submit(deviceId);
    return this.#locateOne(deviceId);
  }

  async #locateOne(deviceId: string): Promise<DeviceLocation | undefined> {
    return this.#db.transaction(async (tx) => {
      const owner = await this.#owner(tx, deviceId);
      if (owner === undefined) return undefined;
      // The one unscoped read: the directory names the tenant, whose row is then read as that tenant.
      await tx.query("SELECT set_config('fleetkit.tenant_id', $1, true)", [owner]);
      const r = await tx.query<{ state: LifecycleState }>('SELECT state FROM fleetkit_devices WHERE device_id = $1', [deviceId]);
      const row = r.rows[0];
      return row === undefined ? undefined : { tenantId: owner, state: row.state };
    });
  }

  /** {@inheritDoc DeviceStore.query} */
  async query(ctx: TenantContext, options: DeviceQueryOptions = {}): Promise<Page<RegisteredDevice>> {
    const api = 'DeviceStore.query';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'devices', options);
    const w = filterWhere(api, tenantId, options.filter);
    if (after !== undefined) w.and(`device_id > ${w.param(after)} COLLATE "C"`);
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (await tx.query<{ device_id: string; revision: unknown; record: unknown }>(`SELECT device_id, revision, record FROM fleetkit_devices ${w} ORDER BY device_id LIMIT ${w.param(limit + 1)}`, w.params)).rows;
      return sqlPage(
        tenantId,
        'devices',
        rows,
        limit,
        (r) => registered(fromJson<DeviceInput>(r.record), int(r.revision)),
        (r) => r.device_id,
      );
    });
  }

  /** {@inheritDoc DeviceStore.count} */
  async count(ctx: TenantContext, filter?: DeviceFilter): Promise<number> {
    const api = 'DeviceStore.count';
    const tenantId = tenantOf(ctx, api);
    const w = filterWhere(api, tenantId, filter);
    return inTenant(this.#db, tenantId, async (tx) => int((await tx.query<{ n: unknown }>(`SELECT count(*) AS n FROM fleetkit_devices ${w}`, w.params)).rows[0]?.n ?? 0));
  }

  /** {@inheritDoc DeviceStore.stats} */
  async stats(ctx: TenantContext): Promise<DeviceStats> {
    const tenantId = tenantOf(ctx, 'DeviceStore.stats');
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (
        await tx.query<{ dim: string; k: string; n: unknown }>(
          `SELECT 's' AS dim, state AS k, count(*) AS n FROM fleetkit_devices WHERE tenant_id = $1 GROUP BY state
           UNION ALL SELECT 'h', coalesce(health, 'unknown'), count(*) FROM fleetkit_devices WHERE tenant_id = $1 GROUP BY 2
           UNION ALL SELECT 'f', coalesce(firmware_version, 'unknown'), count(*) FROM fleetkit_devices WHERE tenant_id = $1 GROUP BY 2`,
          [tenantId],
        )
      ).rows;
      const byState: Partial<Record<LifecycleState, number>> = {};
      const byHealth: Record<string, number> = {};
      const byFirmware: Record<string, number> = {};
      let total = 0;
      for (const r of rows) {
        const n = int(r.n);
        if (r.dim === 's') {
          byState[r.k as LifecycleState] = n;
          total += n;
        } else if (r.dim === 'h') byHealth[r.k] = n;
        else byFirmware[r.k] = n;
      }
      return { total, byState, byHealth, byFirmware };
    });
  }

  /** {@inheritDoc DeviceStore.putCa} */
  async putCa(ctx: TenantContext, ca: StoredCa): Promise<void> {
    const api = 'DeviceStore.putCa';
    const tenantId = tenantOf(ctx, api);
    checkRecordTenant(api, tenantId, ca, 'the CA');
    const parsed = parseRecord(api, 'ca', caSchema, ca);
    const registration = caRegistrationSchema.safeParse({ id: parsed.caId, pem: parsed.pem, status: parsed.status });
    if (!registration.success) throw new FleetError('INVALID_ARGUMENT', `${api}: invalid ca: ${registration.error.issues[0]?.message ?? ''}`, { status: 400 });
    await inTenant(this.#db, tenantId, (tx) =>
      tx.query('INSERT INTO fleetkit_cas (tenant_id, ca_id, record) VALUES ($1, $2, $3::text::json) ON CONFLICT (tenant_id, ca_id) DO UPDATE SET record = EXCLUDED.record', [tenantId, parsed.caId, toJson(parsed)]),
    );
  }

  /** {@inheritDoc DeviceStore.getCa} */
  async getCa(ctx: TenantContext, caId: string): Promise<StoredCa | undefined> {
    const api = 'DeviceStore.getCa';
    return this.#getKeyed<StoredCa>(api, ctx, 'fleetkit_cas', 'ca_id', checkId(api, 'caId', caId));
  }

  /** {@inheritDoc DeviceStore.listCas} */
  async listCas(ctx: TenantContext, options?: PageOptions): Promise<Page<StoredCa>> {
    return this.#listKeyed<StoredCa>('DeviceStore.listCas', ctx, 'fleetkit_cas', 'ca_id', 'cas', options);
  }

  /** {@inheritDoc DeviceStore.removeCa} */
  async removeCa(ctx: TenantContext, caId: string): Promise<boolean> {
    const api = 'DeviceStore.removeCa';
    return this.#removeKeyed(api, ctx, 'fleetkit_cas', 'ca_id', checkId(api, 'caId', caId));
  }

  /** {@inheritDoc DeviceStore.putEnrollmentGroup} */
  async putEnrollmentGroup(ctx: TenantContext, group: StoredEnrollmentGroup): Promise<void> {
    const api = 'DeviceStore.putEnrollmentGroup';
    const tenantId = tenantOf(ctx, api);
    checkRecordTenant(api, tenantId, group, 'the enrollment group');
    const parsed = parseRecord(api, 'group', enrollmentGroupSchema, group);
    await inTenant(this.#db, tenantId, (tx) =>
      tx.query('INSERT INTO fleetkit_enrollment_groups (tenant_id, group_id, record) VALUES ($1, $2, $3::text::json) ON CONFLICT (tenant_id, group_id) DO UPDATE SET record = EXCLUDED.record', [
        tenantId,
        parsed.groupId,
        toJson(parsed),
      ]),
    );
  }

  /** {@inheritDoc DeviceStore.getEnrollmentGroup} */
  async getEnrollmentGroup(ctx: TenantContext, groupId: string): Promise<StoredEnrollmentGroup | undefined> {
    const api = 'DeviceStore.getEnrollmentGroup';
    return this.#getKeyed<StoredEnrollmentGroup>(api, ctx, 'fleetkit_enrollment_groups', 'group_id', checkId(api, 'groupId', groupId));
  }

  /** {@inheritDoc DeviceStore.listEnrollmentGroups} */
  async listEnrollmentGroups(ctx: TenantContext, options?: PageOptions): Promise<Page<StoredEnrollmentGroup>> {
    return this.#listKeyed<StoredEnrollmentGroup>('DeviceStore.listEnrollmentGroups', ctx, 'fleetkit_enrollment_groups', 'group_id', 'groups', options);
  }

  /** {@inheritDoc DeviceStore.removeEnrollmentGroup} */
  async removeEnrollmentGroup(ctx: TenantContext, groupId: string): Promise<boolean> {
    const api = 'DeviceStore.removeEnrollmentGroup';
    return this.#removeKeyed(api, ctx, 'fleetkit_enrollment_groups', 'group_id', checkId(api, 'groupId', groupId));
  }

  /** {@inheritDoc DeviceStore.addRevocations} */
  async addRevocations(ctx: TenantContext, entries: readonly RevocationEntry[]): Promise<number> {
    const api = 'DeviceStore.addRevocations';
    const tenantId = tenantOf(ctx, api);
    if (!Array.isArray(entries)) throw new FleetError('INVALID_ARGUMENT', `${api}: entries must be an array of revocation entries`, { status: 400 });
    // Validate all first: a bad entry must leave the list unchanged.
    const parsed = entries.map((e, i) => parseRecord(api, `entries[${i}]`, revocationEntrySchema, e));
    return inTenant(this.#db, tenantId, async (tx) => {
      let added = 0;
      for (const entry of parsed) {
        const r = await tx.query('INSERT INTO fleetkit_revocations (tenant_id, revocation_key, record) VALUES ($1, $2, $3::text::json) ON CONFLICT DO NOTHING', [
          tenantId,
          revocationColumn(entry),
          toJson(entry),
        ]);
        added += r.rowCount;
      }
      return added;
    });
  }

  /** {@inheritDoc DeviceStore.isRevoked} */
  async isRevoked(ctx: TenantContext, entry: RevocationEntry): Promise<boolean> {
    const api = 'DeviceStore.isRevoked';
    const tenantId = tenantOf(ctx, api);
    const parsed = parseRecord(api, 'entry', revocationEntrySchema, entry);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query('SELECT 1 FROM fleetkit_revocations WHERE tenant_id = $1 AND revocation_key = $2', [tenantId, revocationColumn(parsed)]);
      return r.rows.length === 1;
    });
  }

  /** {@inheritDoc DeviceStore.listRevocations} */
  async listRevocations(ctx: TenantContext, options?: PageOptions): Promise<Page<RevocationEntry>> {
    return this.#listKeyed<RevocationEntry>('DeviceStore.listRevocations', ctx, 'fleetkit_revocations', 'revocation_key', 'revocations', options);
  }

  /** {@inheritDoc DeviceStore.claimNonce} */
  async claimNonce(ctx: TenantContext, key: string, at: number): Promise<boolean> {
    const api = 'DeviceStore.claimNonce';
    const tenantId = tenantOf(ctx, api);
    checkId(api, 'key', key, 512);
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new FleetError('INVALID_ARGUMENT', `${api}: at must be a finite epoch-ms time, got ${String(at)}`, { status: 400 });
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query('INSERT INTO fleetkit_nonces (tenant_id, nonce_key, at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [tenantId, key, at]);
      return r.rowCount === 1;
    });
  }

  /** {@inheritDoc DeviceStore.nonces} */
  async nonces(ctx: TenantContext, since?: number): Promise<ReadonlyMap<string, number>> {
    const tenantId = tenantOf(ctx, 'DeviceStore.nonces');
    if (since !== undefined && typeof since !== 'number') throw new FleetError('INVALID_ARGUMENT', `DeviceStore.nonces: since must be an epoch-ms time, got ${typeof since}`, { status: 400 });
    return inTenant(this.#db, tenantId, async (tx) => {
      const bounded = since !== undefined && Number.isFinite(since);
      if (since !== undefined && Number.isNaN(since)) return new Map<string, number>();
      if (since === Number.POSITIVE_INFINITY) return new Map<string, number>();
      const r = await tx.query<{ nonce_key: string; at: unknown }>(
        `SELECT nonce_key, at FROM fleetkit_nonces WHERE tenant_id = $1 ${bounded ? 'AND at >= $2' : ''} ORDER BY nonce_key`,
        bounded ? [tenantId, since] : [tenantId],
      );
      return new Map(r.rows.map((row) => [row.nonce_key, Number(row.at)]));
    });
  }

  /** {@inheritDoc DeviceStore.pruneNonces} */
  async pruneNonces(ctx: TenantContext, before: number): Promise<number> {
    const api = 'DeviceStore.pruneNonces';
    const tenantId = tenantOf(ctx, api);
    if (typeof before !== 'number' || Number.isNaN(before)) throw new FleetError('INVALID_ARGUMENT', `${api}: before must be an epoch-ms time, got ${String(before)}`, { status: 400 });
    if (before === Number.NEGATIVE_INFINITY) return 0;
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = Number.isFinite(before)
        ? await tx.query('DELETE FROM fleetkit_nonces WHERE tenant_id = $1 AND at < $2', [tenantId, before])
        : await tx.query('DELETE FROM fleetkit_nonces WHERE tenant_id = $1', [tenantId]);
      return r.rowCount;
    });
  }

  // Several locates in one transaction: the directory once, then each owning tenant's rows with
  // that tenant set (row-level security), one statement per tenant.
  async #locateMany(ids: readonly string[]): Promise<Settled<DeviceLocation | undefined>[]> {
    return this.#db.transaction(async (tx) => {
      const owners = (await tx.query<{ device_id: string; tenant_id: string }>('SELECT device_id, tenant_id FROM fleetkit_device_directory WHERE device_id = ANY($1::text[])', [[...new Set(ids)]])).rows;
      const byTenant = new Map<string, string[]>();
      for (const o of owners) byTenant.set(o.tenant_id, [...(byTenant.get(o.tenant_id) ?? []), o.device_id]);
      const found = new Map<string, DeviceLocation>();
      for (const [tenantId, devices] of byTenant) {
        await tx.query("SELECT set_config('fleetkit.tenant_id', $1, true)", [tenantId]);
        const rows = (await tx.query<{ device_id: string; state: LifecycleState }>('SELECT device_id, state FROM fleetkit_devices WHERE device_id = ANY($1::text[])', [devices])).rows;
        for (const r of rows) found.set(r.device_id, { tenantId, state: r.state });
      }
      return ids.map((id): Settled<DeviceLocation | undefined> => {
        const location = found.get(id);
        return { ok: true, value: location === undefined ? undefined : { ...location } };
      });
    });
  }

  async #owner(tx: SqlExecutor, deviceId: string): Promise<string | undefined> {
    const r = await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM fleetkit_device_directory WHERE device_id = $1', [deviceId]);
    return r.rows[0]?.tenant_id;
  }

  // The device if the caller's tenant owns it; TENANT_MISMATCH if another does.
  async #read(tx: SqlExecutor, api: string, tenantId: string, deviceId: string): Promise<RegisteredDevice | undefined> {
    const r = await tx.query<DeviceRow>(
      `SELECT d.tenant_id AS owner, v.revision, v.record FROM fleetkit_device_directory d
         LEFT JOIN fleetkit_devices v ON v.device_id = d.device_id
        WHERE d.device_id = $1`,
      [deviceId],
    );
    const row = r.rows[0];
    if (row === undefined) return undefined;
    if (row.owner !== tenantId) throw tenantMismatch(api, `device "${deviceId}"`, tenantId);
    return row.record === null || row.record === undefined ? undefined : registered(fromJson<DeviceInput>(row.record), int(row.revision));
  }

  async #getKeyed<T>(api: string, ctx: TenantContext, table: string, keyColumn: string, key: string): Promise<T | undefined> {
    const tenantId = tenantOf(ctx, api);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query<{ record: unknown }>(`SELECT record FROM ${table} WHERE tenant_id = $1 AND ${keyColumn} = $2`, [tenantId, key]);
      const row = r.rows[0];
      return row === undefined ? undefined : fromJson<T>(row.record);
    });
  }

  async #listKeyed<T>(api: string, ctx: TenantContext, table: string, keyColumn: string, list: string, options: PageOptions | undefined): Promise<Page<T>> {
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, list, options);
    const w = new Where();
    w.and(`tenant_id = ${w.param(tenantId)}`);
    if (after !== undefined) w.and(`${keyColumn} > ${w.param(after)} COLLATE "C"`);
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (await tx.query<{ k: string; record: unknown }>(`SELECT ${keyColumn} AS k, record FROM ${table} ${w} ORDER BY ${keyColumn} LIMIT ${w.param(limit + 1)}`, w.params)).rows;
      return sqlPage(
        tenantId,
        list,
        rows,
        limit,
        (r) => fromJson<T>(r.record),
        (r) => r.k,
      );
    });
  }

  async #removeKeyed(api: string, ctx: TenantContext, table: string, keyColumn: string, key: string): Promise<boolean> {
    const tenantId = tenantOf(ctx, api);
    return inTenant(this.#db, tenantId, async (tx) => (await tx.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND ${keyColumn} = $2`, [tenantId, key])).rowCount === 1);
  }
}

// The revocation key as a column value: PostgreSQL text cannot hold the NUL the key separates
// its parts with, so the key is stored JSON-encoded (one-to-one, NUL-free).
function revocationColumn(entry: RevocationEntry): string {
  return JSON.stringify(revocationKey(entry));
}

function parseDevice(api: string, tenantId: string, device: DeviceInput): DeviceInput {
  checkRecordTenant(api, tenantId, device, 'the device');
  return parseRecord(api, 'device', deviceInputSchema, device);
}

// The stored record: the input with defaults filled in and without the revision (a column).
function deviceRecord(input: DeviceInput): DeviceInput {
  const { revision: _ignored, ...rest } = input;
  return JSON.parse(JSON.stringify({ ...rest, attributes: input.attributes ?? {}, tags: input.tags ?? [] })) as DeviceInput;
}

// The filter columns of a record: state, health, firmware, tags, last seen.
function columns(record: DeviceInput): unknown[] {
  return [record.state, record.health ?? null, record.firmwareVersion ?? null, [...(record.tags ?? [])], record.lastSeen ?? null];
}

function registered(record: DeviceInput, revision: number): RegisteredDevice {
  return { ...(JSON.parse(JSON.stringify(record)) as DeviceInput), revision } as RegisteredDevice;
}

function filterWhere(api: string, tenantId: string, filter: DeviceFilter | undefined): Where {
  const w = new Where();
  w.and(`tenant_id = ${w.param(tenantId)}`);
  if (filter === undefined) return w;
  if (typeof filter !== 'object' || filter === null) throw new FleetError('INVALID_ARGUMENT', `${api}: filter must be an object`, { status: 400 });
  const states = asArray(filter.state);
  if (states !== undefined) w.and(`state = ANY(${w.param(states)}::text[])`);
  if (filter.health !== undefined) {
    if (filter.health === 'unknown') w.and('health IS NULL');
    else w.and(`health = ${w.param(String(filter.health))}`);
  }
  if (filter.firmwareVersion !== undefined) w.and(`firmware_version = ${w.param(String(filter.firmwareVersion))}`);
  if (filter.tag !== undefined) w.and(`${w.param(String(filter.tag))}::text = ANY(tags)`);
  if (filter.lastSeenBefore !== undefined) {
    const before = Number(filter.lastSeenBefore);
    if (Number.isNaN(before)) throw new FleetError('INVALID_ARGUMENT', `${api}: filter.lastSeenBefore must be an epoch-ms time`, { status: 400 });
    w.and(`(last_seen IS NULL OR last_seen < ${w.param(before)}::float8)`);
  }
  return w;
}
