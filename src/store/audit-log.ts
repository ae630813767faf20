/**
 * `AuditLog`: an append-only record of who did what, per tenant.
 */
import type { JsonObject } from '../json.js';
import type { Page, PageOptions } from './page.js';
import type { TenantContext } from './tenant.js';

/** An audit entry as appended. */
export interface AuditInput {
  /** The tenant. */
  readonly tenantId: string;
  /** When it happened (epoch ms). */
  readonly at: number;
  /** Who did it (a user, a service, `device`, `system`). */
  readonly actor: string;
  /** What was done, e.g. `lifecycle.transition`, `shadow.delete`, `rollout.pause`. */
  readonly action: string;
  /** What it was done to (a device id, a rollout id, …). */
  readonly subject?: string;
  /** Why, in words. */
  readonly reason?: string;
  /** Structured facts (for a transition: `from`, `to`, `event`). */
  readonly details?: JsonObject;
}

/** An audit entry as stored. */
export interface AuditEntry extends AuditInput {
  /** Position in the tenant's log: 1, 2, 3, … with no gaps. */
  readonly seq: number;
}

/** Options of {@link AuditLog.list}. */
export interface AuditListOptions extends PageOptions {
  /** Only entries about this subject. */
  readonly subject?: string;
  /** Only entries with this action. */
  readonly action?: string;
  /** Only entries at or after this time (epoch ms). */
  readonly since?: number;
}

/**
 * An append-only log per tenant: entries can be appended and read, never changed or removed
 * (checked by `auditLogContract` in `fleetkit/testing`).
 */
export interface AuditLog {
  /**
   * Appends an entry and returns it with its sequence number.
   * @throws FleetError `TENANT_MISMATCH`, `INVALID_ARGUMENT`.
   */
  append(ctx: TenantContext, entry: AuditInput): Promise<AuditEntry>;
  /** The tenant's entries in pages, in append order. */
  list(ctx: TenantContext, options?: AuditListOptions): Promise<Page<AuditEntry>>;
}
