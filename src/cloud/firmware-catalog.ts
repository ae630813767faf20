/**
 * The firmware catalog: per tenant, the signing keys and the firmware images a rollout may send —
 * version, download URL, size, SHA-256, the hardware it runs on and a signature by one of the
 * tenant's keys (Ed25519, or ECDSA P-256 with SHA-256), verified with node:crypto when an image is
 * added and again whenever a rollout plans or dispatches it.
 */
import { createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { firmwareSigningInput, firmwareWireSchema, type FirmwareSignatureAlgorithm, type FirmwareWire } from '../protocol/job-wire.js';
import { messageIdSchema } from '../protocol/topics.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';

/** A firmware image as you add it to the catalog. */
export interface FirmwareImageInput extends FirmwareWire {
  /** The hardware models or revisions it runs on (a device's registry `hardware` must be one of them); 1–64 entries. */
  readonly hardware: readonly string[];
}

/** A firmware image in the catalog. */
export interface FirmwareImage extends FirmwareImageInput {
  /** The owning tenant. */
  readonly tenantId: string;
}

/** A public signing key in the catalog. */
export interface FirmwareSigningKey {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The key id images name in `keyId`. */
  readonly keyId: string;
  /** What the key signs with, from its type: `ed25519` or `ecdsa-p256-sha256`. */
  readonly algorithm: FirmwareSignatureAlgorithm;
  /** The public key, SPKI PEM. */
  readonly publicKeyPem: string;
  /** False once revoked: images it signed no longer verify. */
  readonly active: boolean;
}

/** A device as far as compatibility goes. */
export interface FirmwareTarget {
  /** The device id (for the error message). */
  readonly deviceId: string;
  /** Its hardware model or revision, from the registry. */
  readonly hardware?: string | undefined;
}

const key = (tenantId: string, id: string): string => `${tenantId}\u0000${id}`;
const MAX_HARDWARE = 64;

/** The public half of a key given as PEM or a KeyObject (public or private); node:crypto errors propagate. */
function publicKeyOf(input: unknown): KeyObject {
  if (typeof input === 'object' && input !== null && (input as KeyObject).type === 'public') return input as KeyObject;
  if (typeof input === 'string' || (typeof input === 'object' && input !== null && (input as KeyObject).type === 'private')) return createPublicKey(input as string | KeyObject);
  throw new Error(`expected PEM text or a KeyObject, got ${describeValue(input)}`);
}

/** The algorithm a public key signs with, or a FleetError for any other key. */
function algorithmOf(k: KeyObject): FirmwareSignatureAlgorithm {
  if (k.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ecdsa-p256-sha256';
  const what = k.asymmetricKeyType === 'ec' ? `an EC key on ${String(k.asymmetricKeyDetails?.namedCurve)}` : `a ${String(k.asymmetricKeyType)} key`;
  throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.addSigningKey: ${what} is not supported; use an Ed25519 key or an ECDSA key on P-256 (prime256v1)`, { status: 400 });
}

/**
 * Signs a firmware image's {@link firmwareSigningInput} with a private key: what your build
 * pipeline does before adding the image to the catalog.
 *
 * @param image - the version, size and SHA-256 to sign
 * @param privateKey - an Ed25519 or P-256 private key (a `KeyObject` or PEM)
 * @returns the base64 signature and the algorithm, for the image's `signature` and `signatureAlgorithm`
 * @throws FleetError `INVALID_ARGUMENT` for another kind of key.
 * @example
 * ```ts
 * const { privateKey, publicKey } = generateKeyPairSync('ed25519');
 * const signed = signFirmware({ version: '2.4.0', sizeBytes: image.length, sha256 }, privateKey);
 * ```
 */
export function signFirmware(image: Pick<FirmwareWire, 'version' | 'sizeBytes' | 'sha256'>, privateKey: KeyObject | string): { signature: string; signatureAlgorithm: FirmwareSignatureAlgorithm } {
  let algorithm: FirmwareSignatureAlgorithm;
  try {
    if (typeof privateKey !== 'string' && (privateKey as KeyObject | null)?.type !== 'private') throw new Error('expected a private key');
    algorithm = algorithmOf(publicKeyOf(privateKey));
  } catch (e) {
    if (e instanceof FleetError) throw e;
    throw new FleetError('INVALID_ARGUMENT', `signFirmware: privateKey is not a private key (${e instanceof Error ? e.message : String(e)})`, { status: 400, cause: e });
  }
  const data = firmwareSigningInput(image);
  const signature = algorithm === 'ed25519' ? cryptoSign(null, data, privateKey) : cryptoSign('sha256', data, { key: privateKey as KeyObject, dsaEncoding: 'der' });
  return { signature: signature.toString('base64'), signatureAlgorithm: algorithm };
}

/**
 * Firmware images and signing keys per tenant (in memory). Every read and write is scoped by the
 * caller's tenant: another tenant's key or image is simply not there.
 *
 * - `addSigningKey` registers a public key (Ed25519 or ECDSA P-256) under an id;
 *   `revokeSigningKey` makes every image it signed fail verification from then on.
 * - `add` stores an image only if its signature verifies with the named key of the tenant
 *   (`SIGNATURE_INVALID` otherwise); adding the same version again with the same content is a
 *   no-op, with other content `ALREADY_EXISTS` (a version is immutable).
 * - `verify` re-checks an image (the `RolloutController` calls it when it plans a rollout and
 *   before every dispatch); `checkCompatible` checks a device's hardware.
 *
 * @example
 * ```ts
 * const catalog = new FirmwareCatalog();
 * catalog.addSigningKey(ctx, 'release-2026', publicKeyPem);
 * catalog.add(ctx, { version: '2.4.0', url, sizeBytes, sha256, hardware: ['board-b'], keyId: 'release-2026', ...signFirmware({ version: '2.4.0', sizeBytes, sha256 }, privateKey) });
 * ```
 */
export class FirmwareCatalog {
  readonly #keys = new Map<string, FirmwareSigningKey & { readonly object: KeyObject }>();
  readonly #images = new Map<string, FirmwareImage>();
  readonly #byTenant = new Map<string, string[]>();

  /**
   * Registers a public signing key of the tenant.
   *
   * @param ctx - the tenant
   * @param keyId - 1–64 of `[a-zA-Z0-9:_-]`
   * @param publicKey - SPKI PEM or a `KeyObject` (a private key is reduced to its public half)
   * @returns the stored key
   * @throws FleetError `INVALID_ARGUMENT` for a bad id or an unsupported or unreadable key,
   *   `ALREADY_EXISTS` for a key id in use with another key.
   */
  addSigningKey(ctx: TenantContext, keyId: string, publicKey: string | KeyObject): FirmwareSigningKey {
    const tenantId = tenantOf(ctx, 'FirmwareCatalog.addSigningKey');
    if (!messageIdSchema.safeParse(keyId).success) throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.addSigningKey: key id ${describeValue(keyId)} must be 1–64 of [a-zA-Z0-9:_-]`, { status: 400 });
    let object: KeyObject;
    try {
      object = publicKeyOf(publicKey);
    } catch (e) {
      throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.addSigningKey: not a public key in PEM or a KeyObject (${e instanceof Error ? e.message : String(e)})`, { status: 400, cause: e });
    }
    const algorithm = algorithmOf(object);
    const publicKeyPem = object.export({ type: 'spki', format: 'pem' }).toString();
    const existing = this.#keys.get(key(tenantId, keyId));
    if (existing !== undefined) {
      if (existing.publicKeyPem === publicKeyPem && existing.active) return publicView(existing);
      throw new FleetError('ALREADY_EXISTS', `FirmwareCatalog.addSigningKey: key id "${keyId}" is already used${existing.active ? ' by another key' : ' by a revoked key'}; choose a new id`, { status: 409 });
    }
    const stored = Object.freeze({ tenantId, keyId, algorithm, publicKeyPem, active: true, object });
    this.#keys.set(key(tenantId, keyId), stored);
    return publicView(stored);
  }

  /**
   * Revokes a signing key: images it signed fail {@link verify} from now on (rollouts stop
   * dispatching them). Returns false for an unknown key.
   */
  revokeSigningKey(ctx: TenantContext, keyId: string): boolean {
    const tenantId = tenantOf(ctx, 'FirmwareCatalog.revokeSigningKey');
    const k = this.#keys.get(key(tenantId, String(keyId)));
    if (k === undefined) return false;
    this.#keys.set(key(tenantId, k.keyId), Object.freeze({ ...k, active: false }));
    return true;
  }

  /** A signing key of the tenant, or `undefined`. */
  signingKey(ctx: TenantContext, keyId: string): FirmwareSigningKey | undefined {
    const k = this.#keys.get(key(tenantOf(ctx, 'FirmwareCatalog.signingKey'), String(keyId)));
    return k === undefined ? undefined : publicView(k);
  }

  /**
   * Adds a firmware image after checking its fields and its signature.
   *
   * @param ctx - the tenant
   * @param image - version, url, size, SHA-256, hardware, signature, algorithm, key id
   * @returns the stored image (frozen)
   * @throws FleetError `INVALID_ARGUMENT` for a malformed image (the field is named),
   *   `SIGNATURE_INVALID` (400) when the key is unknown, revoked or of another algorithm, or the
   *   signature does not verify; `ALREADY_EXISTS` (409) for a version already added with other content.
   */
  add(ctx: TenantContext, image: FirmwareImageInput): FirmwareImage {
    const tenantId = tenantOf(ctx, 'FirmwareCatalog.add');
    const parsed = firmwareWireSchema.safeParse(image);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.add: image.${i?.path.map(String).join('.') ?? ''}: ${i?.message ?? 'invalid'}`, { status: 400 });
    }
    const hardware = (image as { hardware?: unknown }).hardware;
    if (!Array.isArray(hardware) || hardware.length === 0 || hardware.length > MAX_HARDWARE || !hardware.every((h) => typeof h === 'string' && h.length >= 1 && h.length <= 128)) {
      throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.add: image.hardware must list the 1–${MAX_HARDWARE} hardware models it runs on (strings of 1–128 characters), got ${describeValue(hardware)}`, { status: 400 });
    }
    const stored: FirmwareImage = Object.freeze({ ...parsed.data, hardware: Object.freeze([...new Set(hardware as string[])]), tenantId });
    this.#check(stored, 'FirmwareCatalog.add');
    const k = key(tenantId, stored.version);
    const existing = this.#images.get(k);
    if (existing !== undefined) {
      if (JSON.stringify(existing) === JSON.stringify(stored)) return existing;
      throw new FleetError('ALREADY_EXISTS', `FirmwareCatalog.add: version "${stored.version}" is already in the catalog with other content; a version is immutable, publish a new one`, { status: 409 });
    }
    this.#images.set(k, stored);
    const list = this.#byTenant.get(tenantId) ?? [];
    list.push(stored.version);
    this.#byTenant.set(tenantId, list);
    return stored;
  }

  /** An image of the tenant, or `undefined`. */
  get(ctx: TenantContext, version: string): FirmwareImage | undefined {
    return this.#images.get(key(tenantOf(ctx, 'FirmwareCatalog.get'), String(version)));
  }

  /** The tenant's images, in the order they were added. */
  list(ctx: TenantContext): readonly FirmwareImage[] {
    const tenantId = tenantOf(ctx, 'FirmwareCatalog.list');
    return (this.#byTenant.get(tenantId) ?? []).map((v) => this.#images.get(key(tenantId, v))!);
  }

  /**
   * Re-verifies an image of the tenant: it exists, its key is known and active, and the signature
   * verifies.
   *
   * @returns the image
   * @throws FleetError `FIRMWARE_NOT_FOUND` (404), `SIGNATURE_INVALID` (400).
   */
  verify(ctx: TenantContext, version: string): FirmwareImage {
    const tenantId = tenantOf(ctx, 'FirmwareCatalog.verify');
    const image = this.#images.get(key(tenantId, String(version)));
    if (image === undefined) throw new FleetError('FIRMWARE_NOT_FOUND', `Firmware ${describeValue(version)} is not in tenant "${tenantId}"'s catalog; add it with FirmwareCatalog.add`, { status: 404, details: { version } });
    this.#check(image, 'FirmwareCatalog.verify');
    return image;
  }

  /**
   * Checks that an image runs on a device's hardware.
   *
   * @throws FleetError `FIRMWARE_INCOMPATIBLE` (409) when the device has no hardware recorded or
   *   it is not in `image.hardware`; `INVALID_ARGUMENT` for a malformed image or device.
   */
  checkCompatible(image: Pick<FirmwareImage, 'version' | 'hardware'>, device: FirmwareTarget): void {
    const i = image as Partial<Record<'version' | 'hardware', unknown>> | null;
    if (typeof i !== 'object' || i === null || typeof i.version !== 'string' || !Array.isArray(i.hardware) || !i.hardware.every((h) => typeof h === 'string')) {
      throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.checkCompatible: image must be a catalog image ({ version, hardware: string[] }), got ${describeValue(image)}`, { status: 400 });
    }
    const d = device as Partial<Record<'deviceId' | 'hardware', unknown>> | null;
    if (typeof d !== 'object' || d === null || typeof d.deviceId !== 'string' || (d.hardware !== undefined && typeof d.hardware !== 'string')) {
      throw new FleetError('INVALID_ARGUMENT', `FirmwareCatalog.checkCompatible: device must be { deviceId: string, hardware?: string }, got ${describeValue(device)}`, { status: 400 });
    }
    const problem = incompatibility(image, device);
    if (problem !== undefined) throw new FleetError('FIRMWARE_INCOMPATIBLE', problem, { status: 409, details: { deviceId: device.deviceId, hardware: device.hardware, supported: image.hardware } });
  }

  #check(image: FirmwareImage, api: string): void {
    const k = this.#keys.get(key(image.tenantId, image.keyId));
    const refuse = (why: string): never => {
      throw new FleetError('SIGNATURE_INVALID', `${api}: firmware ${image.version}: ${why}`, { status: 400, details: { version: image.version, keyId: image.keyId } });
    };
    if (k === undefined) refuse(`signing key "${image.keyId}" is not registered for tenant "${image.tenantId}"; add it with addSigningKey`);
    if (!k!.active) refuse(`signing key "${image.keyId}" was revoked`);
    if (k!.algorithm !== image.signatureAlgorithm) refuse(`the signature says ${image.signatureAlgorithm} but key "${image.keyId}" is ${k!.algorithm}`);
    const data = firmwareSigningInput(image);
    const signature = Buffer.from(image.signature, 'base64');
    let ok = false;
    try {
      ok = k!.algorithm === 'ed25519' ? cryptoVerify(null, data, k!.object, signature) : cryptoVerify('sha256', data, { key: k!.object, dsaEncoding: 'der' }, signature);
    } catch {
      ok = false;
    }
    if (!ok) refuse(`the signature does not verify with key "${image.keyId}" (version, size and SHA-256 must be exactly what was signed)`);
  }
}

/** Why an image does not run on a device, or `undefined` when it does. */
export function incompatibility(image: Pick<FirmwareImage, 'version' | 'hardware'>, device: FirmwareTarget): string | undefined {
  if (device.hardware === undefined) return `Device "${device.deviceId}" has no hardware recorded; firmware ${image.version} runs on ${image.hardware.join(', ')} only`;
  if (!image.hardware.includes(device.hardware)) return `Firmware ${image.version} does not run on device "${device.deviceId}"'s hardware "${device.hardware}" (it runs on ${image.hardware.join(', ')})`;
  return undefined;
}

function publicView(k: FirmwareSigningKey): FirmwareSigningKey {
  return { tenantId: k.tenantId, keyId: k.keyId, algorithm: k.algorithm, publicKeyPem: k.publicKeyPem, active: k.active };
}
