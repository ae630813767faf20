/**
 * Tenant ids: one rule for every module, safe as a single MQTT topic level and in broker ACLs.
 */
import { z } from 'zod';
import { FleetError } from './errors.js';

const TENANT_CHARS = /^[a-zA-Z0-9:_-]+$/;

/** Maximum length of a tenant id. */
export const MAX_TENANT_ID_LENGTH = 64;

/** A tenant id: 1–64 characters of `[a-zA-Z0-9:_-]` (the thing-name alphabet; safe as one MQTT topic level). */
export const tenantIdSchema: z.ZodString = z
  .string()
  .min(1)
  .max(MAX_TENANT_ID_LENGTH)
  .regex(TENANT_CHARS, 'only letters, digits, ":", "_" and "-" are allowed');

/**
 * Returns `tenantId` when it is a valid tenant id.
 *
 * @throws FleetError `INVALID_NAME` (400) otherwise.
 */
export function assertTenantId(tenantId: unknown): string {
  if (typeof tenantId === 'string' && tenantId.length >= 1 && tenantId.length <= MAX_TENANT_ID_LENGTH && TENANT_CHARS.test(tenantId)) return tenantId;
  throw new FleetError('INVALID_NAME', `Invalid tenant id ${JSON.stringify(tenantId)}: use 1–${MAX_TENANT_ID_LENGTH} characters of letters, digits, ":", "_" and "-"`, {
    status: 400,
    details: { kind: 'tenant id', value: typeof tenantId === 'string' ? tenantId.slice(0, 200) : typeof tenantId },
  });
}
