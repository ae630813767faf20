/**
 * The revocation list: credentials that must never authenticate or provision again.
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { invalidArgument, mapArgument, objectArgument, stringArgument } from './arguments.js';
import { describeIssues } from './issues.js';

/** A revoked X.509 certificate, identified as in a CRL: issuer name and serial number. */
export interface X509Revocation {
  readonly kind: 'x509';
  /** The issuer's distinguished name as node:crypto prints it (`X509Certificate.issuer`). */
  readonly issuer: string;
  /** The serial number in hex (case, colons and leading zeros do not matter). */
  readonly serial: string;
}

/** A revoked symmetric-key enrollment: the group and the registration id. */
export interface EnrollmentRevocation {
  readonly kind: 'enrollment';
  /** Enrollment group id. */
  readonly groupId: string;
  /** The device's registration id. */
  readonly registrationId: string;
}

/** One revoked credential. */
export type RevocationEntry = X509Revocation | EnrollmentRevocation;

/** zod schema of a {@link RevocationEntry}. */
export const revocationEntrySchema: z.ZodType<RevocationEntry> = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('x509'), issuer: z.string().min(1), serial: z.string().regex(/^[0-9a-fA-F:]*[0-9a-fA-F][0-9a-fA-F:]*$/, 'a hex serial number (colons allowed)') }),
  z.strictObject({ kind: z.literal('enrollment'), groupId: z.string().min(1), registrationId: z.string().min(1) }),
]);

/**
 * A revocation list: entries keyed by {@link revocationKey}. Build with
 * {@link createRevocationList}, grow with {@link addRevocations}; it is never mutated in place.
 */
export type RevocationList = ReadonlyMap<string, RevocationEntry>;

/**
 * A hex serial in canonical form: upper case, no colons, no leading zeros.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `serial` is not a string.
 */
export function normalizeSerial(serial: string): string {
  const hex = stringArgument('normalizeSerial', 'serial', serial).replace(/:/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  return hex;
}

const ENTRY_FORMS = "{ kind: 'x509', issuer, serial } or { kind: 'enrollment', groupId, registrationId }";

/**
 * The lookup key of a revocation entry.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `entry` is not an entry of either kind with string fields.
 */
export function revocationKey(entry: RevocationEntry): string {
  const e = objectArgument('revocationKey', 'entry', entry, ENTRY_FORMS) as Partial<Record<string, unknown>>;
  const [a, b] = e['kind'] === 'x509' ? [e['issuer'], e['serial']] : e['kind'] === 'enrollment' ? [e['groupId'], e['registrationId']] : [undefined, undefined];
  if (typeof a !== 'string' || typeof b !== 'string') {
    throw invalidArgument('revocationKey', `entry must be ${ENTRY_FORMS} with string fields (kind ${describeValue(e['kind'])})`);
  }
  // "\u0000" cannot occur in a DN as node prints it or in a validated id, so keys never collide.
  return e['kind'] === 'x509' ? `x509\u0000${a}\u0000${normalizeSerial(b)}` : `enrollment\u0000${a}\u0000${b}`;
}

/**
 * Adds entries to a list and returns the new list; `list` is not changed.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `entries` is not an array, `list` is not a revocation
 *   list, or an entry is malformed.
 */
export function addRevocations(list: RevocationList, entries: readonly unknown[]): RevocationList {
  if (!Array.isArray(entries)) {
    throw new FleetError('INVALID_ARGUMENT', `addRevocations: entries must be an array of revocation entries, got ${describeValue(entries)}`, { status: 400 });
  }
  if (!(list instanceof Map)) {
    throw new FleetError('INVALID_ARGUMENT', 'addRevocations: list must be a revocation list from createRevocationList', { status: 400 });
  }
  const next = new Map(list);
  // An index loop, not for…of: a hole in a sparse array is an entry too (and is refused).
  for (let i = 0; i < entries.length; i++) {
    const raw: unknown = entries[i];
    const r = revocationEntrySchema.safeParse(raw);
    if (!r.success) {
      throw new FleetError('INVALID_ARGUMENT', `addRevocations: each entry is { kind: 'x509', issuer, serial } or { kind: 'enrollment', groupId, registrationId }: ${describeIssues(r.error, 'entry')}`, {
        status: 400,
        details: { index: i },
      });
    }
    next.set(revocationKey(r.data), r.data);
  }
  return next;
}

/**
 * A revocation list holding `entries` (for example, loaded from a store).
 *
 * @throws FleetError `INVALID_ARGUMENT` when an entry is malformed.
 */
export function createRevocationList(entries: readonly unknown[] = []): RevocationList {
  return addRevocations(new Map(), entries);
}

/**
 * True when `entry` is on `list`.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `list` is not a revocation list or `entry` is malformed.
 */
export function isRevoked(list: RevocationList, entry: RevocationEntry): boolean {
  return mapArgument('isRevoked', 'list', list, 'a revocation list from createRevocationList').has(revocationKey(entry));
}
