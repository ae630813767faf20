/**
 * `MemoryAuditLog`: the in-memory {@link AuditLog}.
 */
import { z } from 'zod';
import { FleetError } from '../../errors.js';
import { tenantIdSchema } from '../../ids.js';
import type { AuditEntry, AuditInput, AuditListOptions, AuditLog } from '../audit-log.js';
import { frozenCopy } from '../isolation.js';
import { decodeCursor, encodeCursor, listOptions, pageLimit, type Page } from '../page.js';
import { checkRecordTenant, tenantOf, type TenantContext } from '../tenant.js';
import { parseRecord, timeSchema } from '../validate.js';

/** @internal zod schema of an audit entry (shared with the SQL stores). */
export const auditSchema = z.strictObject({
  tenantId: tenantIdSchema,
  at: timeSchema,
  actor: z.string().min(1).max(256),
  action: z.string().min(1).max(128),
  subject: z.string().min(1).max(256).exactOptional(),
  reason: z.string().max(1024).exactOptional(),
  details: z.record(z.string(), z.unknown()).exactOptional(),
});

/** The in-memory {@link AuditLog}: one array per tenant, entries copied and frozen on append. */
export class MemoryAuditLog implements AuditLog {
  readonly #logs = new Map<string, AuditEntry[]>();

  /** {@inheritDoc AuditLog.append} */
  async append(ctx: TenantContext, entry: AuditInput): Promise<AuditEntry> {
    const api = 'AuditLog.append';
    const tenantId = tenantOf(ctx, api);
    checkRecordTenant(api, tenantId, entry, 'the entry');
    const parsed = parseRecord(api, 'entry', auditSchema, entry);
    let log = this.#logs.get(tenantId);
    if (log === undefined) {
      log = [];
      this.#logs.set(tenantId, log);
    }
    const stored = frozenCopy({ ...parsed, seq: log.length + 1 }) as AuditEntry;
    log.push(stored);
    return stored;
  }

  /** {@inheritDoc AuditLog.list} */
  async list(ctx: TenantContext, options: AuditListOptions = {}): Promise<Page<AuditEntry>> {
    const api = 'AuditLog.list';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'audit', options);
    let start = 0;
    if (after !== undefined) {
      start = Number(after);
      if (!Number.isSafeInteger(start) || start < 0) throw new FleetError('INVALID_ARGUMENT', `${api}: the cursor is not one this list returned`, { status: 400 });
    }
    const { subject, action, since } = options;
    const log = this.#logs.get(tenantId) ?? [];
    const items: AuditEntry[] = [];
    for (let i = start; i < log.length; i++) {
      const e = log[i] as AuditEntry;
      if ((subject !== undefined && e.subject !== subject) || (action !== undefined && e.action !== action) || (since !== undefined && e.at < since)) continue;
      if (items.length === limit) return { items, cursor: encodeCursor(tenantId, 'audit', String((items[items.length - 1] as AuditEntry).seq)) };
      items.push(e);
    }
    return { items };
  }
}
