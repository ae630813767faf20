/**
 * Proof of possession for X.509 provisioning: server-issued nonces (stateless, authenticated,
 * expiring) and the device's signature over them with its certificate's private key.
 */
import { createHmac, randomBytes, sign, timingSafeEqual, verify, type KeyLike, type X509Certificate } from 'node:crypto';
import { FleetError } from '../errors.js';
import { provisioningProofInput } from '../protocol/provisioning-wire.js';

/** A nonce the service handed to a device. */
export interface IssuedChallenge {
  /** base64url: issue time, 16 random bytes and a MAC binding both to the tenant and device. */
  readonly nonce: string;
  /** Epoch ms after which it is refused. */
  readonly expiresAt: number;
}

/** What {@link ProvisioningChallenges.check} found. */
export type ChallengeCheck = { readonly ok: true; readonly issuedAt: number } | { readonly ok: false; readonly error: FleetError };

const ISSUED_AT_BYTES = 8;
const RANDOM_BYTES = 16;
const MAC_BYTES = 16;
const NONCE_BYTES = ISSUED_AT_BYTES + RANDOM_BYTES + MAC_BYTES;

/**
 * Issues and checks provisioning nonces. A nonce carries its issue time and a random part,
 * authenticated with an HMAC-SHA256 (truncated to 128 bits) keyed by a server secret over the
 * tenant and device id it was issued for. Issuing stores nothing, so unauthenticated challenge
 * requests cannot fill any store; single use is enforced by the caller, which claims each nonce
 * in the `DeviceStore` nonce ledger once the device's signature over it verified.
 *
 * Several service instances accept each other's nonces when they share `secret`.
 */
export class ProvisioningChallenges {
  readonly #secret: Uint8Array;
  readonly #ttlMs: number;

  /**
   * @param secret - at least 32 bytes; keep it on the server
   * @param ttlMs - how long a nonce stays valid (ms)
   * @throws FleetError `INVALID_ARGUMENT` for a short secret or a non-positive ttl.
   */
  constructor(secret: Uint8Array, ttlMs: number) {
    if (!(secret instanceof Uint8Array) || secret.length < 32) {
      throw new FleetError('INVALID_ARGUMENT', 'ProvisioningChallenges: the challenge secret must be at least 32 bytes (for example randomBytes(32)), shared by every registry instance', { status: 400 });
    }
    if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new FleetError('INVALID_ARGUMENT', `ProvisioningChallenges: ttlMs must be a positive number of ms, got ${String(ttlMs)}`, { status: 400 });
    this.#secret = Uint8Array.from(secret);
    this.#ttlMs = ttlMs;
  }

  /** How long a nonce stays valid (ms). */
  get ttlMs(): number {
    return this.#ttlMs;
  }

  /** A fresh nonce for `deviceId` of `tenantId`, issued at `now`. */
  issue(tenantId: string, deviceId: string, now: number): IssuedChallenge {
    const bytes = Buffer.alloc(NONCE_BYTES);
    bytes.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(now))), 0);
    randomBytes(RANDOM_BYTES).copy(bytes, ISSUED_AT_BYTES);
    this.#mac(tenantId, deviceId, bytes).copy(bytes, ISSUED_AT_BYTES + RANDOM_BYTES);
    return { nonce: bytes.toString('base64url'), expiresAt: Number(bytes.readBigUInt64BE(0)) + this.#ttlMs };
  }

  /**
   * Checks that `nonce` was issued by this secret for this tenant and device and has not
   * expired at `now`. It does not check single use (see the class description).
   */
  check(tenantId: string, deviceId: string, nonce: string, now: number): ChallengeCheck {
    const bytes = Buffer.from(nonce, 'base64url');
    if (bytes.length !== NONCE_BYTES || bytes.toString('base64url') !== nonce) return refuse('the nonce was not issued by this service; request a challenge first');
    const mac = bytes.subarray(ISSUED_AT_BYTES + RANDOM_BYTES);
    if (!timingSafeEqual(mac, this.#mac(tenantId, deviceId, bytes))) {
      return refuse(`the nonce was not issued by this service for device "${deviceId}" of tenant "${tenantId}"; request a challenge on this device's own topic`);
    }
    const issuedAt = Number(bytes.readBigUInt64BE(0));
    if (now > issuedAt + this.#ttlMs) return refuse(`the nonce expired ${Math.round((now - issuedAt - this.#ttlMs) / 1000)} s ago (nonces are valid for ${this.#ttlMs / 1000} s); request a new challenge`);
    // Another instance's clock may run slightly ahead; a nonce "from the future" beyond the
    // validity period was not made by a clock we trust.
    if (issuedAt > now + this.#ttlMs) return refuse('the nonce claims an issue time in the future; request a new challenge');
    return { ok: true, issuedAt };
  }

  #mac(tenantId: string, deviceId: string, bytes: Buffer): Buffer {
    return createHmac('sha256', this.#secret)
      .update(`fleetkit-nonce\u0000${tenantId}\u0000${deviceId}\u0000`, 'utf8')
      .update(bytes.subarray(0, ISSUED_AT_BYTES + RANDOM_BYTES))
      .digest()
      .subarray(0, MAC_BYTES);
  }
}

function refuse(message: string): ChallengeCheck {
  return { ok: false, error: new FleetError('NONCE_INVALID', `Provisioning nonce refused: ${message}`, { status: 401, captureStack: false }) };
}

// Ed25519 and Ed448 sign the message itself; RSA and ECDSA keys sign its SHA-256 digest.
function digestFor(keyType: string | undefined): 'sha256' | null {
  return keyType === 'ed25519' || keyType === 'ed448' ? null : 'sha256';
}

/**
 * The device side of X.509 provisioning: signs the challenge nonce with the private key of the
 * device certificate (ECDSA or RSA with SHA-256, or Ed25519/Ed448), over
 * {@link provisioningProofInput}.
 *
 * @param privateKey - the device's private key (PEM or a `KeyObject`)
 * @param tenantId - the tenant in the request topic
 * @param deviceId - the device id in the request topic (its certificate's CN)
 * @param nonce - the nonce from the challenge response
 * @returns the base64 signature for the request's `signature`
 *
 * @example
 * ```ts
 * const signature = signProvisioningChallenge(deviceKeyPem, 'acme', 'pump-7', challenge.nonce);
 * await transport.publish(provisioningRequestTopic('acme', 'pump-7'), JSON.stringify({ type: 'x509', certificateChain: [certPem], nonce: challenge.nonce, signature }));
 * ```
 */
export function signProvisioningChallenge(privateKey: KeyLike, tenantId: string, deviceId: string, nonce: string): string {
  const keyType = typeof privateKey === 'object' && 'asymmetricKeyType' in privateKey ? privateKey.asymmetricKeyType : undefined;
  const input = provisioningProofInput(tenantId, deviceId, nonce);
  try {
    return sign(digestFor(keyType), input, privateKey).toString('base64');
  } catch {
    // A PEM string does not say its type up front: an Ed25519 key refuses a digest name.
    return sign(null, input, privateKey).toString('base64');
  }
}

/**
 * True when `signature` (base64) is the certificate's key's signature over
 * {@link provisioningProofInput}. Never throws: a malformed signature is simply not valid.
 */
export function verifyProvisioningProof(certificate: X509Certificate, tenantId: string, deviceId: string, nonce: string, signature: string): boolean {
  const key = certificate.publicKey;
  try {
    return verify(digestFor(key.asymmetricKeyType), provisioningProofInput(tenantId, deviceId, nonce), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
