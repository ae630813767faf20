/**
 * The provisioning flows of a `FleetRegistry`: the X.509 challenge/response and symmetric-key
 * enrollment, each a short pipeline of checks, the lifecycle core, and the effect runner.
 */
import type { X509Certificate } from 'node:crypto';
import type { Clock } from '../clock.js';
import { FleetError, isFleetError } from '../errors.js';
import { createCaRegistry, type CaRegistry, type RegisteredCa } from '../lifecycle/ca-registry.js';
import { parseSubject } from '../lifecycle/certificate.js';
import { provisionWithCertificate } from '../lifecycle/jitp.js';
import type { ProvisioningResult } from '../lifecycle/provisioning.js';
import type { ExistingDeviceLookup } from '../lifecycle/record.js';
import { createRevocationList, normalizeSerial, type RevocationEntry, type RevocationList } from '../lifecycle/revocation.js';
import { createEnrollmentGroups, provisionWithSymmetricKey, type EnrollmentGroup, type NonceLedger } from '../lifecycle/symmetric-key.js';
import type { TransitionTable } from '../lifecycle/table.js';
import type { ProvisioningTemplate } from '../lifecycle/template.js';
import type { ProvisioningChallengeResponse, SymmetricKeyProvisioningRequest, X509ProvisioningRequest } from '../protocol/provisioning-wire.js';
import type { DeviceStore, RegisteredDevice, StoredCa, StoredEnrollmentGroup } from '../store/device-store.js';
import type { TenantContext } from '../store/tenant.js';
import type { EffectRunner, EffectRunReport } from './effect-runner.js';
import { readChain, type ProvisioningRoute } from './provisioning-steps.js';
import { verifyProvisioningProof, type ProvisioningChallenges } from './provisioning-proof.js';
import type { ProvisioningMethod } from './registry-events.js';

/** What a {@link TemplateResolver} is asked. */
export interface TemplateRequest {
  /** The tenant in the request topic. */
  readonly tenantId: string;
  /** The credential kind. */
  readonly method: ProvisioningMethod;
  /** The device id the request claims. */
  readonly claimedId: string;
}

/** Picks the provisioning template for a request; `undefined` refuses it (`TEMPLATE_INVALID`). */
export type TemplateResolver = (request: TemplateRequest) => ProvisioningTemplate | undefined;

/** @internal What a flow needs. */
export interface ProvisionerDeps {
  readonly devices: DeviceStore;
  readonly runner: EffectRunner;
  readonly clock: Clock;
  readonly challenges: ProvisioningChallenges;
  readonly template: TemplateResolver;
  readonly replayWindowMs: number;
  readonly table: TransitionTable | undefined;
  /** Called with each nonce the ledger recorded, for pruning. */
  readonly onNonceClaimed: (tenantId: string) => void;
}

/** @internal A provisioned device. */
export interface Provisioned {
  readonly device: RegisteredDevice;
  readonly report: EffectRunReport;
}

const NO_GROUPS: ReadonlyMap<string, EnrollmentGroup> = new Map();
const NOT_REVOKED: RevocationList = createRevocationList();
const ACTOR = 'provisioning';

function refusal(code: 'FORBIDDEN' | 'PROOF_INVALID' | 'REPLAY_DETECTED' | 'TEMPLATE_INVALID' | 'ALREADY_PROVISIONED', status: number, message: string): FleetError {
  return new FleetError(code, message, { status, captureStack: false });
}

/**
 * @internal Runs the provisioning flows. Refusals are returned as FleetErrors (answered on the
 * wire); store failures are thrown (answered as 500 and reported as `error` events).
 */
export class Provisioner {
  readonly #d: ProvisionerDeps;
  // Parsed CA registries per tenant, reused while the stored CAs are the same records.
  readonly #cas = new Map<string, { readonly stored: readonly StoredCa[]; readonly registry: CaRegistry }>();
  // Decoded enrollment groups, keyed by the stored (frozen) record they came from.
  readonly #groups = new WeakMap<StoredEnrollmentGroup, ReadonlyMap<string, EnrollmentGroup>>();

  constructor(deps: ProvisionerDeps) {
    this.#d = deps;
  }

  /** Forgets the parsed CAs of a tenant (after the registry changed them). */
  invalidateCas(tenantId: string): void {
    this.#cas.delete(tenantId);
  }

  /** A nonce for an X.509 device to sign. */
  challenge(route: ProvisioningRoute, requestId: string | undefined): ProvisioningChallengeResponse {
    const issued = this.#d.challenges.issue(route.tenantId, route.claimedId, this.#d.clock.now());
    return { type: 'challenge', ...(requestId === undefined ? {} : { requestId }), nonce: issued.nonce, expiresAt: issued.expiresAt };
  }

  /**
   * X.509: nonce issued to this device and fresh → chain readable → the signature over the nonce
   * verifies with the leaf's public key → the leaf's CN is the claimed id → the nonce was not used
   * before (claimed in the ledger only now, so a forged request cannot burn a device's nonce) →
   * the core (registered CA, revocation, validity, template, registry) → the effect runner.
   */
  async x509(route: ProvisioningRoute, req: X509ProvisioningRequest): Promise<Provisioned | FleetError> {
    const ctx: TenantContext = { tenantId: route.tenantId };
    const now = this.#d.clock.now();
    const nonce = this.#d.challenges.check(route.tenantId, route.claimedId, req.nonce, now);
    if (!nonce.ok) return nonce.error;
    const leaf = readChain(req.certificateChain);
    if (leaf instanceof FleetError) return leaf;
    if (!verifyProvisioningProof(leaf, route.tenantId, route.claimedId, req.nonce, req.signature)) {
      return refusal('PROOF_INVALID', 401, `The signature does not verify with the public key of the presented certificate; sign the challenge input (tenant, device id, nonce) with the certificate's own private key`);
    }
    const subject = parseSubject(leaf.subject);
    if (!subject.ok || subject.value['CN'] !== route.claimedId) {
      return refusal('FORBIDDEN', 403, `The certificate's CN does not match the device id "${route.claimedId}" in the request topic; publish on cmd/{tenantId}/{your CN}/prov/req`);
    }
    if (!(await this.#d.devices.claimNonce(ctx, `x509\u0000${req.nonce}`, nonce.issuedAt))) {
      return refusal('REPLAY_DETECTED', 401, 'This nonce was already used; request a new challenge for every provisioning attempt');
    }
    this.#d.onNonceClaimed(route.tenantId);
    const template = this.#template(route, 'x509');
    if (template instanceof FleetError) return template;
    const cas = await this.#caRegistry(ctx);
    const revoked = await this.#revoked(ctx, { kind: 'x509', issuer: leaf.issuer, serial: normalizeSerial(leaf.serialNumber) });
    return this.#provision(ctx, (existing) => this.#jitp(leaf, cas, revoked, template, existing, now));
  }

  /**
   * Symmetric key: the registration id is the claimed id → the core (group, window, HMAC proof,
   * revocation, template, registry) with an empty ledger → the nonce is claimed in the store's
   * ledger once the proof verified → the effect runner.
   */
  async symmetricKey(route: ProvisioningRoute, req: SymmetricKeyProvisioningRequest): Promise<Provisioned | FleetError> {
    const ctx: TenantContext = { tenantId: route.tenantId };
    const now = this.#d.clock.now();
    const e = req.enrollment;
    if (e.registrationId !== route.claimedId) {
      return refusal('FORBIDDEN', 403, `The enrollment's registration id does not match the device id "${route.claimedId}" in the request topic; publish on cmd/{tenantId}/{registrationId}/prov/req`);
    }
    const template = this.#template(route, 'symmetric-key');
    if (template instanceof FleetError) return template;
    const stored = await this.#d.devices.getEnrollmentGroup(ctx, e.groupId);
    const groups = stored === undefined ? NO_GROUPS : this.#group(stored);
    const revoked = await this.#revoked(ctx, { kind: 'enrollment', groupId: e.groupId, registrationId: e.registrationId });
    let ledger: NonceLedger | undefined;
    const core = (existing: ExistingDeviceLookup): ProvisioningResult => {
      const r = provisionWithSymmetricKey(e, {
        now,
        groups,
        revoked,
        seenNonces: new Map(),
        template,
        existing,
        replayWindowMs: this.#d.replayWindowMs,
        actor: ACTOR,
        ...(this.#d.table === undefined ? {} : { table: this.#d.table }),
      });
      ledger ??= r.seenNonces;
      return r;
    };
    // The core records the nonce in the (empty) ledger it was given only once the proof verified:
    // that entry is what the store's ledger must accept exactly once.
    const claim = async (): Promise<FleetError | undefined> => {
      const key = ledger === undefined ? undefined : [...ledger.keys()][0];
      if (key === undefined) return undefined;
      if (!(await this.#d.devices.claimNonce(ctx, `sk\u0000${key}`, e.timestamp))) {
        return refusal('REPLAY_DETECTED', 401, `Nonce already used by "${e.registrationId}"; every request needs a fresh nonce`);
      }
      this.#d.onNonceClaimed(route.tenantId);
      return undefined;
    };
    return this.#provision(ctx, core, claim);
  }

  #jitp(leaf: X509Certificate, cas: CaRegistry, revoked: RevocationList, template: ProvisioningTemplate, existing: ExistingDeviceLookup, now: number): ProvisioningResult {
    return provisionWithCertificate(leaf, { now, cas, revoked, template, existing, actor: ACTOR, ...(this.#d.table === undefined ? {} : { table: this.#d.table }) });
  }

  /**
   * Runs the core once without knowing the registry, learns which device id it asked about, and
   * runs it again with that record when one exists (a pre-registered device, or a conflict). The
   * record of another tenant is refused here, without naming that tenant.
   */
  async #provision(ctx: TenantContext, core: (existing: ExistingDeviceLookup) => ProvisioningResult, claim?: () => Promise<FleetError | undefined>): Promise<Provisioned | FleetError> {
    let asked: string | undefined;
    let r = core((id) => {
      asked = id;
      return undefined;
    });
    const replay = await claim?.();
    if (replay !== undefined) return replay;
    let expectedRevision: number | undefined;
    if (asked !== undefined) {
      const known = await this.#existing(ctx, asked);
      if (known === 'foreign') return taken(asked);
      if (known !== undefined) {
        r = core((id) => (id === known.deviceId ? known : undefined));
        expectedRevision = known.revision;
      }
    }
    if (!r.ok) return r.error;
    try {
      const report = await this.#d.runner.run(ctx, r.effects, expectedRevision === undefined ? {} : { expectedRevision });
      if (report.record === undefined) throw new FleetError('INTERNAL', 'provisioning stored no record', { status: 500 });
      return { device: report.record, report };
    } catch (e) {
      // Another request (or instance) registered the id between our read and our write.
      if (isFleetError(e, 'ALREADY_EXISTS') || isFleetError(e, 'VERSION_CONFLICT') || isFleetError(e, 'TENANT_MISMATCH')) return taken(r.record.deviceId);
      throw e;
    }
  }

  async #existing(ctx: TenantContext, deviceId: string): Promise<RegisteredDevice | undefined | 'foreign'> {
    const where = await this.#d.devices.locate(deviceId);
    if (where === undefined) return undefined;
    if (where.tenantId !== ctx.tenantId) return 'foreign';
    return this.#d.devices.get(ctx, deviceId);
  }

  #template(route: ProvisioningRoute, method: ProvisioningMethod): ProvisioningTemplate | FleetError {
    const template = this.#d.template({ tenantId: route.tenantId, method, claimedId: route.claimedId });
    return template ?? refusal('TEMPLATE_INVALID', 400, `No provisioning template for ${method} devices of tenant "${route.tenantId}"`);
  }

  async #revoked(ctx: TenantContext, entry: RevocationEntry): Promise<RevocationList> {
    return (await this.#d.devices.isRevoked(ctx, entry)) ? createRevocationList([entry]) : NOT_REVOKED;
  }

  #group(stored: StoredEnrollmentGroup): ReadonlyMap<string, EnrollmentGroup> {
    let groups = this.#groups.get(stored);
    if (groups === undefined) {
      groups = createEnrollmentGroups([stored]);
      this.#groups.set(stored, groups);
    }
    return groups;
  }

  // The tenant's CAs, parsed once while the stored records stay the same. A stored CA that does not
  // parse as a CA certificate is left out (it could never admit a device anyway).
  async #caRegistry(ctx: TenantContext): Promise<CaRegistry> {
    const stored: StoredCa[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#d.devices.listCas(ctx, { limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      stored.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    const cached = this.#cas.get(ctx.tenantId);
    if (cached !== undefined && sameCas(cached.stored, stored)) return cached.registry;
    const cas: RegisteredCa[] = [];
    for (const ca of stored) {
      try {
        cas.push(...createCaRegistry([{ id: ca.caId, pem: ca.pem, status: ca.status, tenantId: ca.tenantId }]).cas);
      } catch {
        // putCa refuses such PEMs; a record written around it cannot admit devices.
      }
    }
    const registry: CaRegistry = Object.freeze({ cas: Object.freeze(cas) });
    if (this.#cas.size >= 10_000) this.#cas.clear();
    this.#cas.set(ctx.tenantId, { stored, registry });
    return registry;
  }
}

function sameCas(a: readonly StoredCa[], b: readonly StoredCa[]): boolean {
  return a.length === b.length && a.every((ca, i) => {
    const other = b[i] as StoredCa;
    return ca === other || (ca.caId === other.caId && ca.status === other.status && ca.pem === other.pem);
  });
}

function taken(deviceId: string): FleetError {
  // Deliberately silent about who holds the id: it may be another tenant's device.
  return refusal('ALREADY_PROVISIONED', 409, `Device id "${deviceId}" is already registered; decommission and wipe it before reusing the id`);
}
