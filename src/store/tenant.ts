/**
 * The tenant context every store call takes, and the one error for reaching across tenants.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { assertTenantId } from '../ids.js';

/** Who is asking: every store read and write is scoped to one tenant. */
export interface TenantContext {
  /** The tenant id (1–64 characters of `[a-zA-Z0-9:_-]`). */
  readonly tenantId: string;
}

/**
 * Returns the context's tenant id after checking it is a valid tenant id.
 *
 * @throws FleetError `INVALID_ARGUMENT` (400) when `ctx` is not `{ tenantId }` with a valid id.
 */
export function tenantOf(ctx: TenantContext, api: string): string {
  const tenantId: unknown = (ctx as { tenantId?: unknown } | null | undefined)?.tenantId;
  try {
    return assertTenantId(tenantId);
  } catch (cause) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: pass a tenant context { tenantId } with a valid tenant id (1–64 of [a-zA-Z0-9:_-])`, { status: 400, cause });
  }
}

/** The error for a record or name that belongs to another tenant than the caller's. */
export function tenantMismatch(api: string, what: string, callerTenant: string): FleetError {
  // The owner's id is deliberately not named: it is another tenant's information.
  return new FleetError('TENANT_MISMATCH', `${api}: ${what} belongs to another tenant than "${callerTenant}"; use that tenant's context`, {
    status: 403,
    details: { tenantId: callerTenant },
  });
}

/**
 * Checks that a record a caller passes is an object carrying the caller's tenant.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a non-object, `TENANT_MISMATCH` (403) when its
 *   `tenantId` differs from the context's.
 */
export function checkRecordTenant(api: string, callerTenant: string, record: unknown, what: string): void {
  if (typeof record !== 'object' || record === null) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: ${what} must be an object, got ${record === null ? 'null' : typeof record}`, { status: 400 });
  }
  const recordTenant = (record as { tenantId?: unknown }).tenantId;
  if (recordTenant !== callerTenant) {
    throw new FleetError('TENANT_MISMATCH', `${api}: ${what} has tenantId ${describeValue(recordTenant)} but the context is tenant "${callerTenant}"; a tenant can only write its own records`, {
      status: 403,
      details: { tenantId: callerTenant },
    });
  }
}
