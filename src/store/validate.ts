/**
 * Record validation shared by the memory stores (and usable by any other implementation):
 * a record is checked once, at the store's boundary, and refused with a message that says what to fix.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { rolloutPlanSchema } from '../rollout/plan-schema.js';
import type { StoredShadow } from '../shadow/types.js';
import { tenantMismatch } from './tenant.js';
import { checkData } from './isolation.js';

/** @internal Finite epoch-ms time. */
export const timeSchema = z.number().finite();
/** @internal A short free-text label (1–128 characters). */
export const labelSchema = z.string().min(1).max(128);

/**
 * @internal Parses `value` with `schema` and checks it holds JSON data only.
 * @throws FleetError `INVALID_ARGUMENT` naming the offending fields.
 */
export function parseRecord<T>(api: string, what: string, schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.length === 0 ? what : `${what}.${i.path.join('.')}`}: ${i.message}`);
    throw new FleetError('INVALID_ARGUMENT', `${api}: invalid ${what}: ${issues.join('; ')}`, {
      status: 400,
      details: { issues: r.error.issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })) },
    });
  }
  checkData(api, r.data, undefined, what);
  return r.data;
}

/**
 * @internal Checks an id argument (1–`max` characters).
 * @throws FleetError `INVALID_ARGUMENT`.
 */
export function checkId(api: string, what: string, value: unknown, max = 128): string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= max) return value;
  throw new FleetError('INVALID_ARGUMENT', `${api}: ${what} must be a string of 1–${max} characters, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : typeof value}`, {
    status: 400,
  });
}

/**
 * @internal Checks an expected revision/version argument.
 * @throws FleetError `INVALID_ARGUMENT`.
 */
export function checkRevision(api: string, what: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  throw new FleetError('INVALID_ARGUMENT', `${api}: ${what} must be an integer ≥ 0, got ${String(value)}`, { status: 400 });
}

/** @internal The 409 for a write against a stale revision. */
export function revisionConflict(api: string, what: string, expected: number, actual: number): FleetError {
  return new FleetError('VERSION_CONFLICT', `${api}: ${what} is at revision ${actual}, not ${expected}; read it again and retry`, {
    status: 409,
    details: { expected, actual },
  });
}

/** @internal A filter's "this value or any of these" as a set; undefined when the filter is absent. */
export function oneOrMany(value: string | readonly string[] | undefined): ReadonlySet<string> | undefined {
  return value === undefined ? undefined : new Set<string>(typeof value === 'string' ? [value] : value);
}

/** @internal Interns strings that repeat across many records (tenant ids, states, versions), so they are stored once. */
export class Interner {
  readonly #strings = new Map<string, string>();
  /** The shared copy of `s`. */
  intern(s: string): string {
    const known = this.#strings.get(s);
    if (known !== undefined) return known;
    if (this.#strings.size < 100_000) this.#strings.set(s, s);
    return s;
  }
}

/**
 * @internal The shape and version of a shadow store's `next` document (every `ShadowStore`
 * implementation checks it the same way before its contents): a document `{ state, metadata,
 * version }` or a tombstone `{ deleted: true, version }`, with a version of at least 1 that never
 * goes down.
 */
export function checkShadowShape(api: string, next: StoredShadow, expectedVersion: number): void {
  if (typeof next !== 'object' || next === null) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: next must be a shadow document { state, metadata, version } or a tombstone { deleted: true, version }`, { status: 400 });
  }
  const version = (next as { version?: unknown }).version;
  // A shadow at version 0 is one that does not exist: every stored document or tombstone is at 1 or more.
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < expectedVersion || version < 1) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: next.version must be an integer ≥ 1 and ≥ expectedVersion (${expectedVersion}); versions never go down and version 0 means no shadow, got ${String(version)}`, {
      status: 400,
    });
  }
  if ((next as { deleted?: unknown }).deleted === true) {
    if (Object.keys(next).length !== 2) throw new FleetError('INVALID_ARGUMENT', `${api}: a tombstone is exactly { deleted: true, version }`, { status: 400 });
    return;
  }
  const { state, metadata } = next as { state?: unknown; metadata?: unknown };
  if (typeof state !== 'object' || state === null || Array.isArray(state) || typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: next.state and next.metadata must be objects`, { status: 400 });
  }
}

/**
 * @internal A new rollout's plan, checked the same way by every `JobStore`: a plan `planRollout`
 * made, every device in the caller's tenant (a plan naming another tenant's devices would dispatch
 * across tenants), and the rollout's own id.
 */
export function checkRolloutPlan(api: string, tenantId: string, fields: { readonly rolloutId: string; readonly plan: unknown }): void {
  const plan = rolloutPlanSchema.safeParse(fields.plan);
  if (!plan.success) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: rollout.plan is not a plan planRollout made: ${plan.error.issues[0]?.message ?? ''}`, { status: 400 });
  }
  const foreign = plan.data.devices.find((d) => d.tenantId !== tenantId);
  if (foreign !== undefined) throw tenantMismatch(api, `plan device "${foreign.id}"`, tenantId);
  if (plan.data.rolloutId !== fields.rolloutId) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: rolloutId "${fields.rolloutId}" differs from the plan's "${plan.data.rolloutId}"`, { status: 400 });
  }
}
