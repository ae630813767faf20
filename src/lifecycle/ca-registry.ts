/**
 * The registry of certificate authorities whose device certificates may provision (as AWS IoT's
 * registered CA certificates: each one active or inactive).
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { invalidArgument } from './arguments.js';
import { tenantIdSchema } from '../ids.js';
import { describeIssues } from './issues.js';

/** A registered CA's status; only `active` CAs admit new devices. */
export type CaStatus = 'active' | 'inactive';

/** What a user registers: the CA certificate (PEM) and its status. */
export interface CaRegistration {
  /**
   * A stable id for the CA.
   * @defaultValue the certificate's SHA-256 fingerprint
   */
  readonly id?: string;
  /** The CA certificate, PEM. */
  readonly pem: string;
  /** @defaultValue `'active'` */
  readonly status?: CaStatus;
  /** The tenant that owns the CA; offered to templates as `{{TenantId}}`. */
  readonly tenantId?: string;
}

/** zod schema of a {@link CaRegistration}. */
export const caRegistrationSchema: z.ZodType<CaRegistration> = z.strictObject({
  id: z.string().min(1).max(128).exactOptional(),
  pem: z.string().min(1),
  status: z.enum(['active', 'inactive']).exactOptional(),
  tenantId: tenantIdSchema.exactOptional(),
});

/** A registered CA with its parsed certificate. */
export interface RegisteredCa {
  /** The CA id. */
  readonly id: string;
  /** Its status. */
  readonly status: CaStatus;
  /** The owning tenant, if any. */
  readonly tenantId: string | undefined;
  /** The PEM it was registered with. */
  readonly pem: string;
  /** The parsed certificate. */
  readonly certificate: X509Certificate;
}

/** A set of registered CAs, parsed once. Never mutated: {@link setCaStatus} returns a new one. */
export interface CaRegistry {
  /** The CAs in registration order. */
  readonly cas: readonly RegisteredCa[];
}

function bad(message: string, details: Record<string, unknown>, cause?: unknown): never {
  throw new FleetError('INVALID_ARGUMENT', `createCaRegistry: ${message}`, { status: 400, details, ...(cause === undefined ? {} : { cause }) });
}

function register(raw: unknown, index: number): RegisteredCa {
  const parsed = caRegistrationSchema.safeParse(raw);
  if (!parsed.success) bad(`entry ${index} must be { id?, pem, status?, tenantId? }: ${describeIssues(parsed.error, 'entry')}`, { index });
  const reg = parsed.data;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(reg.pem);
  } catch (cause) {
    bad(`entry ${index}: the pem is not a readable X.509 certificate; pass the CA certificate in PEM form`, { index }, cause);
  }
  // A leaf certificate cannot sign device certificates; registering one is a configuration mistake.
  if (!certificate.ca) bad(`entry ${index} (${certificate.subject.replace(/\n/g, ', ')}) is not a CA certificate (basicConstraints CA:TRUE)`, { index });
  return Object.freeze({ id: reg.id ?? certificate.fingerprint256, status: reg.status ?? 'active', tenantId: reg.tenantId, pem: reg.pem, certificate });
}

/**
 * Parses and registers CA certificates.
 *
 * @param registrations - the CAs; validated with {@link caRegistrationSchema}
 * @throws FleetError `INVALID_ARGUMENT` for a malformed entry, a PEM that is not a certificate, a
 *   certificate that is not a CA, or a duplicate id.
 *
 * @example
 * ```ts
 * const cas = createCaRegistry([{ id: 'acme-root', pem: caPem, tenantId: 'acme' }]);
 * ```
 */
export function createCaRegistry(registrations: readonly unknown[]): CaRegistry {
  if (!Array.isArray(registrations)) bad(`pass an array of { id?, pem, status?, tenantId? }, got ${describeValue(registrations)}`, {});
  const cas: RegisteredCa[] = [];
  const ids = new Set<string>();
  // An index loop, not map(): a hole in a sparse array is an entry too (and is refused).
  for (let i = 0; i < registrations.length; i++) {
    const ca = register(registrations[i], i);
    if (ids.has(ca.id)) bad(`duplicate CA id "${ca.id}"; each CA is registered once`, { id: ca.id });
    ids.add(ca.id);
    cas.push(ca);
  }
  return seal(cas);
}

// Registries this module built: they alone are trusted to hold parsed, checked CAs.
const REGISTRIES = new WeakSet<object>();

function seal(cas: RegisteredCa[]): CaRegistry {
  const registry: CaRegistry = Object.freeze({ cas: Object.freeze(cas) });
  REGISTRIES.add(registry);
  return registry;
}

/** @internal `registry` when {@link createCaRegistry} or {@link setCaStatus} built it; else throws `INVALID_ARGUMENT` for `fn`. */
export function caRegistryArgument(fn: string, registry: unknown): CaRegistry {
  if (typeof registry === 'object' && registry !== null && REGISTRIES.has(registry)) return registry as CaRegistry;
  throw invalidArgument(fn, `the CA registry must come from createCaRegistry, got ${describeValue(registry)}`);
}

/**
 * Returns a registry in which CA `id` has `status`; `registry` is not changed.
 *
 * @throws FleetError `INVALID_ARGUMENT` when no CA has that id (status 404), or `registry` is not a
 *   registry, or `status` is neither `'active'` nor `'inactive'` (400).
 */
export function setCaStatus(registry: CaRegistry, id: string, status: CaStatus): CaRegistry {
  const cas = caRegistryArgument('setCaStatus', registry).cas;
  if (status !== 'active' && status !== 'inactive') throw invalidArgument('setCaStatus', `status must be 'active' or 'inactive', got ${describeValue(status)}`);
  if (!cas.some((ca) => ca.id === id)) {
    throw new FleetError('INVALID_ARGUMENT', `setCaStatus: no CA with id ${describeValue(id)}; registered ids: ${cas.map((c) => c.id).join(', ')}`, {
      status: 404,
      details: { id: typeof id === 'string' ? id : describeValue(id) },
    });
  }
  return seal(cas.map((ca) => (ca.id === id ? Object.freeze({ ...ca, status }) : ca)));
}
