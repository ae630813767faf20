/**
 * Symmetric-key group enrollment (as Azure DPS): devices without certificates derive their own key
 * from a group key and prove possession of it with an HMAC over a nonce and a timestamp.
 */
import { describeValue } from '../describe-value.js';
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { invalidArgument, mapArgument, objectArgument, stringArgument, timeArgument } from './arguments.js';
import { tenantIdSchema } from '../ids.js';
import { describeIssues } from './issues.js';
import type { FleetErrorCode } from '../errors.js';
import { completeProvisioning } from './provisioning.js';
import type { ProvisioningOptions, ProvisioningResult } from './provisioning.js';
import type { DeviceIdentity } from './record.js';
import { isRevoked } from './revocation.js';
import type { RevocationEntry, RevocationList } from './revocation.js';

/** An enrollment group as configured: its id, base64 key, status and tenant. */
export interface EnrollmentGroupDefinition {
  /** Group id. */
  readonly groupId: string;
  /** The group key, base64 (at least 16 bytes; 32–64 recommended). Keep it on the server only. */
  readonly key: string;
  /** @defaultValue `'active'` */
  readonly status?: 'active' | 'inactive';
  /** The tenant the group's devices join; offered to templates as `{{GroupTenantId}}`. */
  readonly tenantId: string;
}

/** An enrollment group ready for use (key decoded). */
export interface EnrollmentGroup {
  /** Group id. */
  readonly groupId: string;
  /** The decoded group key. */
  readonly key: Uint8Array;
  /** Only `active` groups enroll devices. */
  readonly status: 'active' | 'inactive';
  /** The tenant the group's devices join. */
  readonly tenantId: string;
}

const idSchema = z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,127}$/, '1–128 lower-case letters, digits, ".", "_", ":" or "-"');

/** zod schema of an {@link EnrollmentGroupDefinition}. */
export const enrollmentGroupSchema: z.ZodType<EnrollmentGroupDefinition> = z.strictObject({
  groupId: idSchema,
  key: z.base64().refine((k) => Buffer.from(k, 'base64').length >= 16, 'the group key must be at least 16 bytes'),
  status: z.enum(['active', 'inactive']).exactOptional(),
  tenantId: tenantIdSchema,
});

/** A symmetric-key enrollment request, as a device sends it. */
export interface SymmetricKeyRequest {
  /** Enrollment group id. */
  readonly groupId: string;
  /** The device's registration id (lower-case letters, digits, `.`, `_`, `:`, `-`). */
  readonly registrationId: string;
  /** A fresh random value, 16–128 characters of base64url or hex. */
  readonly nonce: string;
  /** The device's time of the request (epoch ms). */
  readonly timestamp: number;
  /** base64 HMAC-SHA256 over `nonce + "\n" + timestamp` with the derived device key. */
  readonly proof: string;
}

/** zod schema of a {@link SymmetricKeyRequest}. */
export const symmetricKeyRequestSchema: z.ZodType<SymmetricKeyRequest> = z.strictObject({
  groupId: idSchema,
  registrationId: idSchema,
  nonce: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, '16–128 characters of base64url or hex'),
  timestamp: z.number().int().nonnegative(),
  proof: z.base64().max(128),
});

/**
 * Nonces already used, as data: key → request timestamp. Pass the ledger in and store the one that
 * comes back; entries older than the replay window are dropped, so it stays small.
 */
export type NonceLedger = ReadonlyMap<string, number>;

/** Options of {@link provisionWithSymmetricKey}. */
export interface SymmetricKeyProvisioningOptions extends ProvisioningOptions {
  /** Enrollment groups by id (see {@link createEnrollmentGroups}). */
  readonly groups: ReadonlyMap<string, EnrollmentGroup>;
  /** Revoked credentials (see {@link planDecommission}). */
  readonly revoked: RevocationList;
  /** Nonces seen so far. */
  readonly seenNonces: NonceLedger;
  /**
   * How far a request's timestamp may be from `now`, either way (ms).
   * @defaultValue 300000 (5 minutes)
   */
  readonly replayWindowMs?: number;
}

/** What {@link provisionWithSymmetricKey} returns: a {@link ProvisioningResult} and the updated nonce ledger. */
export type SymmetricKeyProvisioningResult = ProvisioningResult & { readonly seenNonces: NonceLedger };

/** The default device id and tenant templates for enrollments. */
export const ENROLLMENT_TEMPLATE_DEFAULTS = { deviceId: '{{RegistrationId}}', tenantId: '{{GroupTenantId}}' } as const;

/** Default replay window: 5 minutes either way. */
export const DEFAULT_REPLAY_WINDOW_MS = 300_000;

function keyBytes(fn: string, name: string, key: unknown): Uint8Array {
  if (typeof key === 'string') return Buffer.from(key, 'base64');
  if (key instanceof Uint8Array) return key;
  throw invalidArgument(fn, `${name} must be a base64 string or bytes (a Uint8Array), got ${describeValue(key)}`);
}

/**
 * The device key of one registration: base64 HMAC-SHA256(group key, registration id). Compute it at
 * the factory (or on the device) and never ship the group key to devices.
 *
 * @param groupKey - base64 string or bytes
 * @param registrationId - the device's registration id
 * @throws FleetError `INVALID_ARGUMENT` when the key is neither a string nor bytes or the id is not a string.
 */
export function deriveDeviceKey(groupKey: string | Uint8Array, registrationId: string): string {
  const key = keyBytes('deriveDeviceKey', 'groupKey', groupKey);
  return createHmac('sha256', key).update(stringArgument('deriveDeviceKey', 'registrationId', registrationId), 'utf8').digest('base64');
}

/**
 * The proof a device sends: base64 HMAC-SHA256(device key, `nonce + "\n" + timestamp`).
 *
 * @param deviceKey - base64 string (from {@link deriveDeviceKey}) or bytes
 * @param nonce - a fresh random value
 * @param timestamp - epoch ms
 * @throws FleetError `INVALID_ARGUMENT` when the key is neither a string nor bytes, the nonce is not
 *   a string or the timestamp not a finite number.
 */
export function computeEnrollmentProof(deviceKey: string | Uint8Array, nonce: string, timestamp: number): string {
  const key = keyBytes('computeEnrollmentProof', 'deviceKey', deviceKey);
  const n = stringArgument('computeEnrollmentProof', 'nonce', nonce);
  const t = timeArgument('computeEnrollmentProof', 'timestamp', timestamp);
  return createHmac('sha256', key).update(`${n}\n${t}`, 'utf8').digest('base64');
}

/**
 * Validates group definitions and indexes them by id.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a non-array, a malformed group (including a tenant id
 *   that is not a valid tenant id) or a duplicate id.
 */
export function createEnrollmentGroups(definitions: readonly unknown[]): ReadonlyMap<string, EnrollmentGroup> {
  if (!Array.isArray(definitions)) {
    throw new FleetError('INVALID_ARGUMENT', `createEnrollmentGroups: pass an array of { groupId, key, status?, tenantId }, got ${describeValue(definitions)}`, { status: 400 });
  }
  const groups = new Map<string, EnrollmentGroup>();
  for (let index = 0; index < definitions.length; index++) {
    const raw: unknown = definitions[index];
    const r = enrollmentGroupSchema.safeParse(raw);
    if (!r.success) {
      // The key is a secret: the details name the entry, never echo it.
      throw new FleetError('INVALID_ARGUMENT', `createEnrollmentGroups: entry ${index} must be { groupId, key (base64, ≥ 16 bytes), status?, tenantId }: ${describeIssues(r.error, 'group')}`, {
        status: 400,
        details: { index },
      });
    }
    const g = r.data;
    if (groups.has(g.groupId)) {
      throw new FleetError('INVALID_ARGUMENT', `createEnrollmentGroups: duplicate group id "${g.groupId}"; give each group a unique id`, { status: 400, details: { index, groupId: g.groupId } });
    }
    groups.set(g.groupId, Object.freeze({ groupId: g.groupId, key: Buffer.from(g.key, 'base64'), status: g.status ?? 'active', tenantId: g.tenantId }));
  }
  return groups;
}

function nonceKey(r: SymmetricKeyRequest): string {
  return `${r.groupId}\u0000${r.registrationId}\u0000${r.nonce}`;
}

// Entries older than the window can go: a replay of them carries the same (signed) timestamp and is
// refused as stale anyway.
function prune(ledger: ReadonlyMap<string, unknown>, now: number, window: number): Map<string, number> {
  const out = new Map<string, number>();
  // typeof: a corrupt entry is dropped, never compared (which would convert it).
  for (const [k, t] of ledger) if (typeof t === 'number' && t >= now - window) out.set(k, t);
  return out;
}

// A group as createEnrollmentGroups builds it; anything else in the map is configuration damage.
function isEnrollmentGroup(value: unknown): value is EnrollmentGroup {
  if (typeof value !== 'object' || value === null) return false;
  const g = value as Partial<Record<keyof EnrollmentGroup, unknown>>;
  return typeof g.groupId === 'string' && g.key instanceof Uint8Array && (g.status === 'active' || g.status === 'inactive') && typeof g.tenantId === 'string';
}

function proofMatches(expectedKey: string, r: SymmetricKeyRequest): boolean {
  const expected = Buffer.from(computeEnrollmentProof(expectedKey, r.nonce, r.timestamp), 'base64');
  const given = Buffer.from(r.proof, 'base64');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Provisions a device that proves possession of its derived key. Checks, in order: the request is
 * well formed (`ENROLLMENT_INVALID`, 400), the group exists and is active (`ENROLLMENT_INVALID`),
 * the timestamp is within the replay window of `now` (`REPLAY_DETECTED`), the proof is right
 * (`ENROLLMENT_INVALID`, 401), the nonce is unused (`REPLAY_DETECTED`), the registration is not
 * revoked (`CERT_REVOKED`); then fills the template and registers the device as
 * {@link provisionWithCertificate} does. A nonce is recorded only once the proof is verified, so
 * unauthenticated requests cannot fill the ledger.
 *
 * @param request - the device's request (untrusted); see {@link symmetricKeyRequestSchema}
 * @param options - `now`, `groups`, `revoked`, `seenNonces`, `template`, `existing`, `replayWindowMs`
 * @returns the provisioning result plus the nonce ledger to store (also on failure)
 * @throws FleetError `INVALID_ARGUMENT` for a non-finite `now`, a non-positive `replayWindowMs`, or
 *   `groups`, `revoked` or `seenNonces` that are not the maps they should be, an `existing` that is
 *   not a function or returns neither a record nor `undefined`, or an `actor` that is not a string.
 *
 * @example
 * ```ts
 * const deviceKey = deriveDeviceKey(groupKey, 'sensor-0042');            // at the factory
 * const nonce = randomBytes(16).toString('hex'), timestamp = clock.now();  // on the device
 * const request = { groupId: 'field-sensors', registrationId: 'sensor-0042', nonce, timestamp,
 *   proof: computeEnrollmentProof(deviceKey, nonce, timestamp) };
 * const r = provisionWithSymmetricKey(request, { now: clock.now(), groups, revoked, seenNonces, template });
 * seenNonces = r.seenNonces;
 * ```
 */
export function provisionWithSymmetricKey(request: unknown, options: SymmetricKeyProvisioningOptions): SymmetricKeyProvisioningResult {
  const fn = 'provisionWithSymmetricKey';
  objectArgument(fn, 'options', options, 'an object { now, groups, revoked, seenNonces, template, … }');
  const window: unknown = options.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS;
  if (typeof window !== 'number' || !Number.isFinite(window) || !(window > 0)) {
    throw new FleetError('INVALID_ARGUMENT', `provisionWithSymmetricKey: replayWindowMs must be a positive number of ms, got ${describeValue(window)}`, { status: 400 });
  }
  // NaN would pass the window check and empty the ledger: refuse it outright.
  const now = timeArgument(fn, 'now', options.now);
  const groups = mapArgument<string, unknown>(fn, 'groups', options.groups, 'the enrollment groups from createEnrollmentGroups');
  const revoked = mapArgument<string, RevocationEntry>(fn, 'revoked', options.revoked, 'a revocation list from createRevocationList');
  const ledger = prune(mapArgument<string, unknown>(fn, 'seenNonces', options.seenNonces, 'the nonce ledger (a Map; start with new Map())'), now, window);
  const refuse = (code: FleetErrorCode, status: number, message: string, details: Record<string, unknown> = {}): SymmetricKeyProvisioningResult => ({
    ok: false,
    error: new FleetError(code, message, { status, details }),
    seenNonces: ledger,
  });
  const parsed = symmetricKeyRequestSchema.safeParse(request);
  if (!parsed.success) {
    return refuse('ENROLLMENT_INVALID', 400, `Invalid enrollment request: ${describeIssues(parsed.error, 'request')}`);
  }
  const r = parsed.data;
  const group = groups.get(r.groupId);
  if (group !== undefined && !isEnrollmentGroup(group)) {
    throw invalidArgument(fn, `groups holds something other than an enrollment group under "${r.groupId}"; build the map with createEnrollmentGroups`);
  }
  if (group === undefined) return refuse('ENROLLMENT_INVALID', 401, `Unknown enrollment group "${r.groupId}"`, { groupId: r.groupId });
  if (group.status !== 'active') return refuse('ENROLLMENT_INVALID', 403, `Enrollment group "${r.groupId}" is inactive; activate it to admit its devices`, { groupId: r.groupId });
  if (Math.abs(now - r.timestamp) > window) {
    return refuse('REPLAY_DETECTED', 401, `The request timestamp is ${Math.round((now - r.timestamp) / 1000)} s from now, outside the ±${window / 1000} s replay window; check the device clock and sign a fresh request`, {
      timestamp: r.timestamp,
      now,
      replayWindowMs: window,
    });
  }
  if (!proofMatches(deriveDeviceKey(group.key, r.registrationId), r)) {
    return refuse('ENROLLMENT_INVALID', 401, `The proof for "${r.registrationId}" does not match its derived key`, { groupId: r.groupId, registrationId: r.registrationId });
  }
  const key = nonceKey(r);
  if (ledger.has(key)) return refuse('REPLAY_DETECTED', 401, `Nonce already used by "${r.registrationId}"; every request needs a fresh nonce`, { registrationId: r.registrationId });
  ledger.set(key, r.timestamp);
  if (isRevoked(revoked, { kind: 'enrollment', groupId: r.groupId, registrationId: r.registrationId })) {
    return refuse('CERT_REVOKED', 401, `Enrollment "${r.registrationId}" in group "${r.groupId}" has been revoked and can never provision again`, {
      groupId: r.groupId,
      registrationId: r.registrationId,
    });
  }
  const identity: DeviceIdentity = {
    kind: 'symmetric-key',
    fingerprint: `sha256:${createHash('sha256').update(`${r.groupId}\u0000${r.registrationId}`).digest('hex')}`,
    groupId: r.groupId,
    registrationId: r.registrationId,
  };
  const result = completeProvisioning(
    {
      identity,
      params: { RegistrationId: r.registrationId, GroupId: r.groupId, GroupTenantId: group.tenantId },
      defaults: ENROLLMENT_TEMPLATE_DEFAULTS,
      ownerTenantId: group.tenantId,
      source: 'enrollment',
      method: 'symmetric-key enrollment',
    },
    options,
  );
  return { ...result, seenNonces: ledger };
}
