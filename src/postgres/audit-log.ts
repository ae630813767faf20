/**
 * `PostgresAuditLog`: the {@link AuditLog} over SQL.
 */
import { FleetError } from '../errors.js';
import type { AuditEntry, AuditInput, AuditListOptions, AuditLog } from '../store/audit-log.js';
import { auditSchema } from '../store/memory/memory-audit-log.js';
import { decodeCursor, listOptions, pageLimit, type Page } from '../store/page.js';
import { checkRecordTenant, tenantOf, type TenantContext } from '../store/tenant.js';
import { parseRecord } from '../store/validate.js';
import type { SqlDriver } from './driver.js';
import { Where, fromJson, inTenant, int, sqlPage, toJson } from './sql-common.js';

/**
 * The {@link AuditLog} on PostgreSQL. Sequence numbers come from a per-tenant counter row bumped
 * in the appending transaction (`INSERT … ON CONFLICT DO UPDATE SET seq = seq + 1`), so concurrent
 * appends get 1, 2, 3, … without gaps; a rolled-back append gives its number back.
 *
 * @example
 * ```ts
 * const audit = new PostgresAuditLog(driver);
 * await audit.append({ tenantId: 'acme' }, { tenantId: 'acme', at: clock.now(), actor: 'ops', action: 'rollout.pause' });
 * ```
 */
export class PostgresAuditLog implements AuditLog {
  readonly #db: SqlDriver;

  /** @param driver - the database (see `openPGlite`, `openPgPool`); migrated with `migrate` */
  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  /** {@inheritDoc AuditLog.append} */
  async append(ctx: TenantContext, entry: AuditInput): Promise<AuditEntry> {
    const api = 'AuditLog.append';
    const tenantId = tenantOf(ctx, api);
    checkRecordTenant(api, tenantId, entry, 'the entry');
    const parsed = parseRecord(api, 'entry', auditSchema, entry);
    const json = toJson(parsed);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query<{ seq: unknown }>(
        `INSERT INTO fleetkit_audit_sequences (tenant_id, seq) VALUES ($1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET seq = fleetkit_audit_sequences.seq + 1 RETURNING seq`,
        [tenantId],
      );
      const seq = int(r.rows[0]?.seq);
      await tx.query('INSERT INTO fleetkit_audit_log (tenant_id, seq, at, action, subject, record) VALUES ($1, $2, $3, $4, $5, $6::text::json)', [
        tenantId,
        seq,
        parsed.at,
        parsed.action,
        parsed.subject ?? null,
        json,
      ]);
      return { ...(JSON.parse(json) as AuditInput), seq };
    });
  }

  /** {@inheritDoc AuditLog.list} */
  async list(ctx: TenantContext, options: AuditListOptions = {}): Promise<Page<AuditEntry>> {
    const api = 'AuditLog.list';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'audit', options);
    const w = new Where();
    w.and(`tenant_id = ${w.param(tenantId)}`);
    if (after !== undefined) {
      const start = Number(after);
      if (!Number.isSafeInteger(start) || start < 0) throw new FleetError('INVALID_ARGUMENT', `${api}: the cursor is not one this list returned`, { status: 400 });
      w.and(`seq > ${w.param(start)}`);
    }
    if (options.subject !== undefined) w.and(`subject = ${w.param(String(options.subject))}`);
    if (options.action !== undefined) w.and(`action = ${w.param(String(options.action))}`);
    if (options.since !== undefined) w.and(`at >= ${w.param(Number(options.since))}::float8`);
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (await tx.query<{ seq: unknown; record: unknown }>(`SELECT seq, record FROM fleetkit_audit_log ${w} ORDER BY seq LIMIT ${w.param(limit + 1)}`, w.params)).rows;
      return sqlPage(
        tenantId,
        'audit',
        rows,
        limit,
        (r) => ({ ...fromJson<AuditInput>(r.record), seq: int(r.seq) }),
        (r) => String(int(r.seq)),
      );
    });
  }
}
