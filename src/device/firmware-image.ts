/**
 * Firmware image verification: before a device switches slots it checks the image's size,
 * SHA-256 and its signature against the signing keys it trusts (Ed25519, or ECDSA P-256 over
 * SHA-256), all with node:crypto.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** What a job says about the image to install. */
export interface FirmwareManifest {
  /** The firmware version the image contains. */
  readonly version: string;
  /** Lowercase hex SHA-256 of the whole image. */
  readonly sha256: string;
  /** The image size in bytes. */
  readonly sizeBytes: number;
  /**
   * base64 signature over the image bytes: Ed25519 (over the bytes themselves) or ECDSA P-256
   * over SHA-256 (DER or the 64-byte IEEE P1363 form). An image without one is never installed.
   */
  readonly signature?: string;
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

const SHA256_HEX = /^[0-9a-f]{64}$/;

function refuse(reason: ImageRefusal, message: string, details: Record<string, unknown> = {}): ImageVerification {
  return { ok: false, reason, error: new FleetError('INVALID_PAYLOAD', message, { status: 400, captureStack: false, details: { reason, ...details } }) };
}

/**
 * Turns trusted keys into public `KeyObject`s (Ed25519 or EC P-256 only).
 *
 * @throws FleetError `INVALID_ARGUMENT` for a key that does not parse or of another type.
 */
export function toSigningKeys(keys: readonly SigningKey[]): KeyObject[] {
  if (!Array.isArray(keys)) throw new FleetError('INVALID_ARGUMENT', `trustedSigningKeys must be an array of public keys (KeyObject or PEM), got ${describeValue(keys)}`, { status: 400 });
  return keys.map((key, i) => {
    let k: KeyObject;
    try {
      k = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
    } catch (cause) {
      throw new FleetError('INVALID_ARGUMENT', `trustedSigningKeys[${i}] is not a public key (pass a KeyObject or an SPKI PEM)`, { status: 400, cause });
    }
    const type = k.asymmetricKeyType;
    const curve = k.asymmetricKeyDetails?.namedCurve;
    if (type !== 'ed25519' && !(type === 'ec' && (curve === 'prime256v1' || curve === 'P-256'))) {
      throw new FleetError('INVALID_ARGUMENT', `trustedSigningKeys[${i}] is a ${String(type)}${curve === undefined ? '' : ` ${curve}`} key; use Ed25519 or ECDSA P-256`, { status: 400 });
    }
    return k;
  });
}

function signatureVerifies(image: Uint8Array, signature: Buffer, key: KeyObject): boolean {
  try {
    if (key.asymmetricKeyType === 'ed25519') return verify(null, image, key, signature);
    if (verify('sha256', image, key, signature)) return true;
    return signature.length === 64 && verify('sha256', image, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}

/**
 * Checks an image against its manifest and the trusted keys, in this order: size (a shorter image
 * is `IMAGE_TRUNCATED`, a longer one `IMAGE_SIZE_MISMATCH`), SHA-256 (`IMAGE_HASH_MISMATCH`), then
 * the signature (`IMAGE_UNSIGNED` without one, `IMAGE_SIGNATURE_INVALID` when no trusted key
 * verifies it). Never throws for bad input: a malformed manifest is `IMAGE_MANIFEST_INVALID`.
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
export function verifyFirmwareImage(image: Uint8Array, manifest: FirmwareManifest, keys: readonly KeyObject[]): ImageVerification {
  if (!(image instanceof Uint8Array)) return refuse('IMAGE_TRUNCATED', `the image must be bytes, got ${describeValue(image)}`);
  if (typeof manifest !== 'object' || manifest === null || typeof manifest.sha256 !== 'string' || !SHA256_HEX.test(manifest.sha256) || !Number.isSafeInteger(manifest.sizeBytes) || manifest.sizeBytes <= 0) {
    return refuse('IMAGE_MANIFEST_INVALID', 'the manifest needs a lowercase hex sha256 and a positive integer sizeBytes');
  }
  if (image.length < manifest.sizeBytes) return refuse('IMAGE_TRUNCATED', `the image has ${image.length} bytes, the manifest promises ${manifest.sizeBytes}: download it again`, { got: image.length, expected: manifest.sizeBytes });
  if (image.length > manifest.sizeBytes) return refuse('IMAGE_SIZE_MISMATCH', `the image has ${image.length} bytes, the manifest promises ${manifest.sizeBytes}`, { got: image.length, expected: manifest.sizeBytes });
  const sha256 = createHash('sha256').update(image).digest('hex');
  if (sha256 !== manifest.sha256) return refuse('IMAGE_HASH_MISMATCH', `the image's SHA-256 is ${sha256}, the manifest says ${manifest.sha256}`, { got: sha256, expected: manifest.sha256 });
  if (typeof manifest.signature !== 'string' || manifest.signature.length === 0) return refuse('IMAGE_UNSIGNED', 'the image is not signed; only images signed by a trusted key are installed');
  const signature = Buffer.from(manifest.signature, 'base64');
  for (let i = 0; i < keys.length; i++) {
    if (signatureVerifies(image, signature, keys[i] as KeyObject)) return { ok: true, sha256, keyIndex: i };
  }
  return refuse('IMAGE_SIGNATURE_INVALID', `no trusted signing key (of ${keys.length}) verifies the image's signature`);
}
