/**
 * `PostgresPresenceStore`: the {@link PresenceStore} on PostgreSQL (table `fleetkit_presence`,
 * migration `0004_presence.sql`): one batched upsert per touch, one UPDATE per sweep.
 */
import { checkBeats, checkDeviceId, checkDeviceIds, checkLimits, type PresenceBeat, type PresenceRaised, type PresenceRecord, type PresenceStore, type PresenceTouched } from '../store/presence-store.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import { FleetError } from '../errors.js';
import type { SqlDriver } from './driver.js';
import { inTenant, int } from './sql-common.js';

// A device heard from for the first time gets a placeholder row (level −1, lastSeen −∞) that the
// UPDATE below moves forward in the same transaction: so the UPDATE reports every device, new or
// not, with what it had before — read under the row lock, so two concurrent writers never both
// report the same move (a concurrent insert of the same id waits on the unique index, then finds
// the committed row). Rows are inserted and locked in device-id order (no deadlock between flushes).
const INSERT_NEW = `INSERT INTO fleetkit_presence (tenant_id, device_id, last_seen, level)
  SELECT $1, d, '-Infinity'::float8, -1 FROM unnest($2::text[]) WITH ORDINALITY AS u(d, n) ORDER BY n
  ON CONFLICT (tenant_id, device_id) DO NOTHING`;

const MOVE_FORWARD = `UPDATE fleetkit_presence p SET last_seen = b.at, level = 0
  FROM unnest($2::text[], $3::float8[]) AS b(device_id, at),
       (SELECT device_id, last_seen, level FROM fleetkit_presence
         WHERE tenant_id = $1 AND device_id = ANY($2::text[]) ORDER BY device_id FOR UPDATE) AS o
  WHERE p.tenant_id = $1 AND p.device_id = b.device_id AND o.device_id = b.device_id AND p.last_seen < b.at
  RETURNING p.device_id, p.last_seen, o.last_seen AS previous_last_seen, o.level AS previous_level`;

// The new level is the number of limits last_seen is at or before; only rows it raises change.
const SWEEP = `UPDATE fleetkit_presence p SET level = n.level
  FROM (SELECT device_id, level AS old_level,
               (SELECT count(*) FROM unnest($2::float8[]) AS l(at) WHERE last_seen <= l.at)::int AS level
          FROM fleetkit_presence
         WHERE tenant_id = $1 AND last_seen <= $3 AND level >= 0
         ORDER BY device_id FOR UPDATE) AS n
  WHERE p.tenant_id = $1 AND p.device_id = n.device_id AND n.level > n.old_level
  RETURNING p.device_id, p.last_seen, n.old_level, n.level`;

/**
 * The {@link PresenceStore} on PostgreSQL. Each call is one transaction in the caller's tenant
 * (row-level security): a touch is two statements however many beats it carries (an insert of
 * the devices not seen before, then one UPDATE that moves `last_seen` forward with `p.last_seen <
 * b.at`, so the greatest time wins whatever the order of the flushes), a sweep one UPDATE that
 * reads the devices heard from at or before its highest limit (index on `tenant_id, last_seen`).
 *
 * @example
 * ```ts
 * const presence = new PostgresPresenceStore(app);
 * const health = new HealthMonitor({ transport, devices, registry, clock, presence: { store: presence, leader: election } });
 * ```
 */
export class PostgresPresenceStore implements PresenceStore {
  readonly #db: SqlDriver;

  /**
   * @param driver - the database (application role), migrated
   * @throws FleetError `INVALID_ARGUMENT` for a missing driver.
   */
  constructor(driver: SqlDriver) {
    if (typeof driver?.transaction !== 'function') throw new FleetError('INVALID_ARGUMENT', 'new PostgresPresenceStore: pass a SqlDriver (openPGlite, openPgPool)', { status: 400 });
    this.#db = driver;
  }

  /** {@inheritDoc PresenceStore.touch} */
  async touch(ctx: TenantContext, beats: readonly PresenceBeat[]): Promise<readonly PresenceTouched[]> {
    const api = 'PostgresPresenceStore.touch';
    const tenantId = tenantOf(ctx, api);
    const checked = checkBeats(api, beats);
    if (checked.length === 0) return [];
    const ids = checked.map((b) => b.deviceId);
    const ats = checked.map((b) => b.at);
    const rows = await inTenant(this.#db, tenantId, async (tx) => {
      await tx.query('INSERT INTO fleetkit_presence_tenants (tenant_id) VALUES ($1) ON CONFLICT (tenant_id) DO NOTHING', [tenantId]);
      await tx.query(INSERT_NEW, [tenantId, ids]);
      return (await tx.query<{ device_id: string; last_seen: unknown; previous_last_seen: unknown; previous_level: unknown }>(MOVE_FORWARD, [tenantId, ids, ats])).rows;
    });
    return rows.map((r) => {
      const previousLevel = int(r.previous_level);
      return previousLevel < 0
        ? { deviceId: r.device_id, lastSeen: Number(r.last_seen), previousLastSeen: undefined, previousLevel: undefined }
        : { deviceId: r.device_id, lastSeen: Number(r.last_seen), previousLastSeen: Number(r.previous_last_seen), previousLevel };
    });
  }

  /** {@inheritDoc PresenceStore.sweep} */
  async sweep(ctx: TenantContext, limits: readonly number[]): Promise<readonly PresenceRaised[]> {
    const api = 'PostgresPresenceStore.sweep';
    const tenantId = tenantOf(ctx, api);
    const checked = checkLimits(api, limits);
    const rows = await inTenant(this.#db, tenantId, async (tx) => (await tx.query<{ device_id: string; last_seen: unknown; old_level: unknown; level: unknown }>(SWEEP, [tenantId, checked, checked[0]])).rows);
    return rows.map((r) => ({ deviceId: r.device_id, lastSeen: Number(r.last_seen), previousLevel: int(r.old_level), level: int(r.level) }));
  }

  /** {@inheritDoc PresenceStore.get} */
  async get(ctx: TenantContext, deviceIds: readonly string[]): Promise<readonly PresenceRecord[]> {
    const api = 'PostgresPresenceStore.get';
    const tenantId = tenantOf(ctx, api);
    const ids = checkDeviceIds(api, deviceIds);
    if (ids.length === 0) return [];
    const rows = await inTenant(this.#db, tenantId, async (tx) =>
      (await tx.query<{ device_id: string; last_seen: unknown; level: unknown }>('SELECT device_id, last_seen, level FROM fleetkit_presence WHERE tenant_id = $1 AND device_id = ANY($2::text[]) AND level >= 0', [tenantId, ids])).rows,
    );
    return rows.map((r) => ({ deviceId: r.device_id, lastSeen: Number(r.last_seen), level: int(r.level) }));
  }

  /** {@inheritDoc PresenceStore.countByLevel} */
  async countByLevel(ctx: TenantContext): Promise<readonly number[]> {
    const tenantId = tenantOf(ctx, 'PostgresPresenceStore.countByLevel');
    const rows = await inTenant(this.#db, tenantId, async (tx) =>
      (await tx.query<{ level: unknown; n: unknown }>('SELECT level, count(*) AS n FROM fleetkit_presence WHERE tenant_id = $1 AND level >= 0 GROUP BY level', [tenantId])).rows,
    );
    const counts: number[] = [];
    for (const r of rows) {
      const level = int(r.level);
      while (counts.length <= level) counts.push(0);
      counts[level] = int(r.n);
    }
    return counts;
  }

  /** {@inheritDoc PresenceStore.remove} */
  async remove(ctx: TenantContext, deviceId: string): Promise<boolean> {
    const api = 'PostgresPresenceStore.remove';
    const tenantId = tenantOf(ctx, api);
    checkDeviceId(api, deviceId);
    return inTenant(this.#db, tenantId, async (tx) => {
      const removed = (await tx.query('DELETE FROM fleetkit_presence WHERE tenant_id = $1 AND device_id = $2', [tenantId, deviceId])).rowCount > 0;
      if (removed) await tx.query('DELETE FROM fleetkit_presence_tenants WHERE tenant_id = $1 AND NOT EXISTS (SELECT 1 FROM fleetkit_presence WHERE tenant_id = $1)', [tenantId]);
      return removed;
    });
  }

  /** {@inheritDoc PresenceStore.tenants} */
  async tenants(): Promise<readonly string[]> {
    const rows = await this.#db.transaction(async (tx) => (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM fleetkit_presence_tenants ORDER BY tenant_id COLLATE "C"')).rows);
    return rows.map((r) => r.tenant_id);
  }
}
