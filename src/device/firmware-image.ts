/**
 * Firmware image verification: before a device switches slots it checks the image's size,
 * SHA-256 and the job's signature against the signing keys it trusts (Ed25519, or ECDSA P-256
 * over SHA-256), all with node:crypto. The signature covers the job wire's
 * `firmwareSigningInput` (version, size and SHA-256), so it binds the image's exact bytes.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { firmwareSigningInput, type FirmwareSignatureAlgorithm } from '../protocol/job-wire.js';

/** What a job says about the image to install. */
export interface FirmwareManifest {
  /** The firmware version the image contains. */
  readonly version: string;
  /** Lowercase hex SHA-256 of the whole image. */
  readonly sha256: string;
  /** The image size in bytes. */
  readonly sizeBytes: number;
  /**
   * base64 signature over `firmwareSigningInput({ version, sizeBytes, sha256 })`: Ed25519, or
   * ECDSA P-256 over SHA-256 (DER, or the 64-byte IEEE P1363 form). An image without one is
   * never installed.
   */
  readonly signature?: string;
  /** How `signature` was made (informative: the key's type decides). */
  readonly signatureAlgorithm?: FirmwareSignatureAlgorithm;
  /** Which trusted key made it; with keys given by id, only that key is tried. */
  readonly keyId?: string;
  /** Where to download it. */
  readonly url?: string;
}

/** Why an image was refused (also the `error.code` a device reports with `rejected`). */
export type ImageRefusal = 'IMAGE_TRUNCATED' | 'IMAGE_SIZE_MISMATCH' | 'IMAGE_HASH_MISMATCH' | 'IMAGE_UNSIGNED' | 'IMAGE_SIGNATURE_INVALID' | 'IMAGE_MANIFEST_INVALID';

/** The outcome of {@link verifyFirmwareImage}. */
export type ImageVerification =
  | { readonly ok: true; readonly sha256: string; readonly keyIndex: number }
  | { readonly ok: false; readonly reason: ImageRefusal; readonly error: FleetError };

/** A trusted signing key: a public `KeyObject`, or a PEM (SPKI) string. */
export type SigningKey = KeyObject | string;

/** Trusted signing keys: a list, or keys by id (the job names its `keyId`). */
export type TrustedSigningKeys = readonly SigningKey[] | Readonly<Record<string, SigningKey>>;

/** Parsed trusted keys (see {@link toSigningKeys}). */
export interface SigningKeySet {
  /** Every key, in order. */
  readonly all: readonly KeyObject[];
  /** Keys by id (empty when they were given as a list). */
  readonly byId: ReadonlyMap<string, KeyObject>;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function refuse(reason: ImageRefusal, message: string, details: Record<string, unknown> = {}): ImageVerification {
  return { ok: false, reason, error: new FleetError('INVALID_PAYLOAD', message, { status: 400, captureStack: false, details: { reason, ...details } }) };
}

function publicKey(key: SigningKey, name: string): KeyObject {
  let k: KeyObject;
  try {
    k = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  } catch (cause) {
    throw new FleetError('INVALID_ARGUMENT', `${name} is not a public key (pass a KeyObject or an SPKI PEM)`, { status: 400, cause });
  }
  const type = k.asymmetricKeyType;
  const curve = k.asymmetricKeyDetails?.namedCurve;
  if (type !== 'ed25519' && !(type === 'ec' && (curve === 'prime256v1' || curve === 'P-256'))) {
    throw new FleetError('INVALID_ARGUMENT', `${name} is a ${String(type)}${curve === undefined ? '' : ` ${curve}`} key; use Ed25519 or ECDSA P-256`, { status: 400 });
  }
  return k;
}

/**
 * Parses trusted keys (Ed25519 or EC P-256 only), given as a list or by key id.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a key that does not parse or of another type.
 */
export function toSigningKeys(keys: TrustedSigningKeys): SigningKeySet {
  if (typeof keys !== 'object' || keys === null) {
    throw new FleetError('INVALID_ARGUMENT', `trustedSigningKeys must be a list of public keys or an object of them by key id, got ${describeValue(keys)}`, { status: 400 });
  }
  if (Array.isArray(keys)) return { all: (keys as readonly SigningKey[]).map((k, i) => publicKey(k, `trustedSigningKeys[${i}]`)), byId: new Map() };
  const byId = new Map<string, KeyObject>();
  for (const [id, key] of Object.entries(keys as Readonly<Record<string, SigningKey>>)) byId.set(id, publicKey(key, `trustedSigningKeys.${id}`));
  return { all: [...byId.values()], byId };
}

/**
 * Signs a firmware image for a job document: base64 over `firmwareSigningInput` with an Ed25519
 * key, or ECDSA P-256 / SHA-256 (DER) with an EC key. What a build pipeline does; handy in tests.
 *
 * @param privateKey - the signing key (PEM or `KeyObject`)
 * @param image - the image's version, size and SHA-256
 */
export function signFirmwareImage(privateKey: KeyObject | string, image: { readonly version: string; readonly sizeBytes: number; readonly sha256: string }): string {
  const input = firmwareSigningInput(image);
  try {
    return sign('sha256', input, privateKey).toString('base64');
  } catch {
    // An Ed25519 key refuses a digest name.
    return sign(null, input, privateKey).toString('base64');
  }
}

function signatureVerifies(input: Uint8Array, signature: Buffer, key: KeyObject): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return verify(null, input, key, signature);
    if (verify('sha256', input, key, signature)) return true;
    return signature.length === 64 && verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * Checks an image against its manifest and the trusted keys, in this order: size (a shorter image
 * is `IMAGE_TRUNCATED`, a longer one `IMAGE_SIZE_MISMATCH`), SHA-256 (`IMAGE_HASH_MISMATCH`), then
 * the signature over `firmwareSigningInput` (`IMAGE_UNSIGNED` without one,
 * `IMAGE_SIGNATURE_INVALID` when no trusted key verifies it; with keys by id and a `keyId`, only
 * that key counts). Never throws for bad input: a malformed manifest is `IMAGE_MANIFEST_INVALID`.
 *
 * @param image - the downloaded bytes
 * @param manifest - what the job promised
 * @param keys - trusted public keys (from {@link toSigningKeys})
 * @example
 * ```ts
 * const check = verifyFirmwareImage(bytes, job.firmware, toSigningKeys([publicPem]));
 * if (!check.ok) report('rejected', check.reason);
 * ```
 */
export function verifyFirmwareImage(image: Uint8Array, manifest: FirmwareManifest, keys: SigningKeySet): ImageVerification {
  if (!(image instanceof Uint8Array)) return refuse('IMAGE_TRUNCATED', `the image must be bytes, got ${describeValue(image)}`);
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.version !== 'string' || typeof manifest.sha256 !== 'string' || !SHA256_HEX.test(manifest.sha256) || !Number.isSafeInteger(manifest.sizeBytes) || manifest.sizeBytes <= 0) {
    return refuse('IMAGE_MANIFEST_INVALID', 'the manifest needs a version, a lowercase hex sha256 and a positive integer sizeBytes');
  }
  if (image.length < manifest.sizeBytes) return refuse('IMAGE_TRUNCATED', `the image has ${image.length} bytes, the manifest promises ${manifest.sizeBytes}: download it again`, { got: image.length, expected: manifest.sizeBytes });
  if (image.length > manifest.sizeBytes) return refuse('IMAGE_SIZE_MISMATCH', `the image has ${image.length} bytes, the manifest promises ${manifest.sizeBytes}`, { got: image.length, expected: manifest.sizeBytes });
  const sha256 = createHash('sha256').update(image).digest('hex');
  if (sha256 !== manifest.sha256) return refuse('IMAGE_HASH_MISMATCH', `the image's SHA-256 is ${sha256}, the manifest says ${manifest.sha256}`, { got: sha256, expected: manifest.sha256 });
  if (typeof manifest.signature !== 'string' || manifest.signature.length === 0) return refuse('IMAGE_UNSIGNED', 'the image is not signed; only images signed by a trusted key are installed');
  const signature = Buffer.from(manifest.signature, 'base64');
  const input = firmwareSigningInput({ version: manifest.version, sizeBytes: manifest.sizeBytes, sha256 });
  if (manifest.keyId !== undefined && keys.byId.size > 0) {
    const key = keys.byId.get(manifest.keyId);
    if (key !== undefined && signatureVerifies(input, signature, key)) return { ok: true, sha256, keyIndex: keys.all.indexOf(key) };
    return refuse('IMAGE_SIGNATURE_INVALID', key === undefined ? `the image is signed with key ${describeValue(manifest.keyId)}, which this device does not trust` : `trusted key ${describeValue(manifest.keyId)} does not verify the image's signature`);
  }
  for (let i = 0; i < keys.all.length; i++) {
    if (signatureVerifies(input, signature, keys.all[i] as KeyObject)) return { ok: true, sha256, keyIndex: i };
  }
  return refuse('IMAGE_SIGNATURE_INVALID', `no trusted signing key (of ${keys.all.length}) verifies the image's signature`);
}
