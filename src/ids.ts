/**
 * Names and ids shared by every module: one alphabet (AWS IoT's thing-name alphabet
 * `[a-zA-Z0-9:_-]`), safe as a single MQTT topic level and in broker ACLs.
 */
import { z } from 'zod';
import { describeValue } from './describe-value.js';
import { FleetError } from './errors.js';

const NAME_CHARS = /^[a-zA-Z0-9:_-]+$/;

/** Maximum length of a tenant id. */
export const MAX_TENANT_ID_LENGTH = 64;

/** @internal A zod schema for 1–`max` characters of the name alphabet. */
export function nameSchema(max: number): z.ZodString {
  return z.string().min(1).max(max).regex(NAME_CHARS, 'only letters, digits, ":", "_" and "-" are allowed');
}

/** @internal Returns `value` when it is 1–`max` characters of the name alphabet; else throws `INVALID_NAME` (400). */
export function assertName(kind: string, value: unknown, max: number): string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= max && NAME_CHARS.test(value)) return value;
  throw new FleetError('INVALID_NAME', `Invalid ${kind} ${describeValue(value)}: use 1–${max} characters of letters, digits, ":", "_" and "-"`, {
    status: 400,
    details: { kind, value: typeof value === 'string' ? value.slice(0, 200) : typeof value },
  });
}

/** A tenant id: 1–64 characters of `[a-zA-Z0-9:_-]` (the thing-name alphabet; safe as one MQTT topic level). */
export const tenantIdSchema: z.ZodString = nameSchema(MAX_TENANT_ID_LENGTH);

/**
 * Returns `tenantId` when it is a valid tenant id.
 *
 * @throws FleetError `INVALID_NAME` (400) otherwise.
 */
export function assertTenantId(tenantId: unknown): string {
  return assertName('tenant id', tenantId, MAX_TENANT_ID_LENGTH);
}
