/**
 * The provisioning messages on `cmd/{tenantId}/{deviceId}/prov/req` (device → cloud) and
 * `…/prov/res` (cloud → device): one zod schema per message, built from or checked against the
 * lifecycle core's types so the wire and the core cannot drift apart.
 *
 * X.509 devices prove possession of their private key with a challenge: they ask for a nonce,
 * sign {@link provisioningProofInput} with the key of their certificate and send the certificate
 * chain with the signature. Symmetric-key devices send the core's enrollment request (the HMAC
 * proof of `fleetkit/lifecycle`) unchanged.
 */
import { z } from 'zod';
import type { FleetErrorCode } from '../errors.js';
import { tenantIdSchema } from '../ids.js';
import type { HomeTarget } from '../lifecycle/home-endpoint.js';
import type { DeviceRecord } from '../lifecycle/record.js';
import { symmetricKeyRequestSchema, type SymmetricKeyRequest } from '../lifecycle/symmetric-key.js';
import { thingNameSchema } from '../shadow/names.js';
import { messageIdSchema } from './topics.js';

/** A server-issued provisioning nonce: 16–256 characters of base64url. */
export const provisioningNonceSchema: z.ZodString = z.string().regex(/^[A-Za-z0-9_-]{16,256}$/, '16–256 characters of base64url');

/** The most certificates a device may send in its chain (leaf first). */
export const MAX_CERTIFICATE_CHAIN = 4;

const pemCertificate = z
  .string()
  .max(16_384)
  .regex(/^\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*$/, 'one PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)');

/** An id the device chooses to match a response to its request; echoed in the response. */
const requestId = messageIdSchema.optional();

/** `{ type: 'challenge' }`: an X.509 device asks for a nonce to sign. */
export const provisioningChallengeRequestSchema = z.object({
  type: z.literal('challenge'),
  requestId,
});

/**
 * What a device says about itself when it provisions: its hardware model or revision and the
 * firmware it runs. Not part of its identity (the proof is); the registry records them on the
 * device's record, where firmware compatibility checks and rollouts read them.
 */
export const provisioningDeviceInfoSchema = z.object({
  /** The hardware model or revision, e.g. `"esp32-s3-devkitc-1"` (1–64 characters). */
  hardware: z.string().min(1).max(64).optional(),
  /** The running firmware version (1–64 characters). */
  firmwareVersion: z.string().min(1).max(64).optional(),
});

/** What a device says about itself when it provisions. */
export type ProvisioningDeviceInfo = z.infer<typeof provisioningDeviceInfoSchema>;

/**
 * `{ type: 'x509' }`: the device's certificate chain (leaf first) and its signature over
 * {@link provisioningProofInput} with the leaf's private key, for a nonce the service issued to
 * this device. A certificate without a valid signature never provisions.
 */
export const x509ProvisioningRequestSchema = z.object({
  type: z.literal('x509'),
  requestId,
  /** PEM certificates, the device's own first; the issuing CA must be registered with the tenant. */
  certificateChain: z.array(pemCertificate).min(1).max(MAX_CERTIFICATE_CHAIN),
  /** The nonce from the challenge response. */
  nonce: provisioningNonceSchema,
  /** base64 signature (ECDSA/RSA with SHA-256, or Ed25519) over {@link provisioningProofInput}. */
  signature: z.base64().min(1).max(2048),
  /** The device's hardware and firmware, recorded on its registry record (optional). */
  device: provisioningDeviceInfoSchema.optional(),
});

/**
 * `{ type: 'symmetric-key' }`: the lifecycle core's enrollment request, unchanged, under
 * `enrollment` (its schema is the core's `symmetricKeyRequestSchema`).
 */
export const symmetricKeyProvisioningRequestSchema = z.object({
  type: z.literal('symmetric-key'),
  requestId,
  enrollment: symmetricKeyRequestSchema,
  /** The device's hardware and firmware, recorded on its registry record (optional). */
  device: provisioningDeviceInfoSchema.optional(),
});

/** Every message on `cmd/{tenantId}/{deviceId}/prov/req`, by `type`. */
export const provisioningWireRequestSchema = z.discriminatedUnion('type', [provisioningChallengeRequestSchema, x509ProvisioningRequestSchema, symmetricKeyProvisioningRequestSchema]);

/** A challenge request. */
export type ProvisioningChallengeRequest = z.infer<typeof provisioningChallengeRequestSchema>;
/** An X.509 provisioning request. */
export type X509ProvisioningRequest = z.infer<typeof x509ProvisioningRequestSchema>;
/** A symmetric-key provisioning request. */
export type SymmetricKeyProvisioningRequest = z.infer<typeof symmetricKeyProvisioningRequestSchema>;
/** Any provisioning request. */
export type ProvisioningWireRequest = z.infer<typeof provisioningWireRequestSchema>;

/** `{ type: 'challenge' }`: the nonce to sign, single-use, valid until `expiresAt`. */
export const provisioningChallengeResponseSchema = z.object({
  type: z.literal('challenge'),
  requestId,
  nonce: provisioningNonceSchema,
  /** Epoch ms after which the nonce is refused. */
  expiresAt: z.number().int().nonnegative(),
});

const homeTargetSchema = z.object({ region: z.string().min(1).max(64), endpoint: z.string().min(1).max(512) });

/**
 * `{ type: 'accepted' }`: the device is provisioned — its id and tenant, where to connect (when
 * the template has a home rule), the topics to use and its initial desired configuration.
 */
export const provisioningAcceptedResponseSchema = z.object({
  type: z.literal('accepted'),
  requestId,
  deviceId: thingNameSchema,
  tenantId: tenantIdSchema,
  /** The regional endpoint to connect to from now on. */
  home: homeTargetSchema.optional(),
  /** Topic names by purpose (`telemetry`, `heartbeat`, `commands`, `shadow`, and the template's). */
  topics: z.record(z.string(), z.string()),
  /** The initial desired configuration (also written to the shadow when a shadow service is configured). */
  desired: z.record(z.string(), z.json()),
});

/** `{ type: 'rejected' }`: why provisioning was refused, as a stable `FleetError` code and a message. */
export const provisioningRejectedResponseSchema = z.object({
  type: z.literal('rejected'),
  requestId,
  error: z.object({ code: z.string().min(1).max(64), message: z.string().max(1024), status: z.number().int().min(400).max(599).optional() }),
});

/** Every message on `cmd/{tenantId}/{deviceId}/prov/res`, by `type`. */
export const provisioningWireResponseSchema = z.discriminatedUnion('type', [provisioningChallengeResponseSchema, provisioningAcceptedResponseSchema, provisioningRejectedResponseSchema]);

/** A challenge response. */
export type ProvisioningChallengeResponse = z.infer<typeof provisioningChallengeResponseSchema>;
/** An accepted response. */
export type ProvisioningAcceptedResponse = z.infer<typeof provisioningAcceptedResponseSchema>;
/** A rejected response. */
export type ProvisioningRejectedResponse = z.infer<typeof provisioningRejectedResponseSchema>;
/** Any provisioning response. */
export type ProvisioningWireResponse = z.infer<typeof provisioningWireResponseSchema>;

const PROOF_CONTEXT = 'fleetkit-provisioning-v1';

/**
 * The bytes an X.509 device signs: `fleetkit-provisioning-v1\n{tenantId}\n{deviceId}\n{nonce}`
 * (UTF-8). Binding the tenant and the device id in the topic means a signature made for one
 * device's request cannot be replayed for another's, nor outside provisioning.
 *
 * @param tenantId - the tenant in the request topic
 * @param deviceId - the device id in the request topic (the certificate's CN)
 * @param nonce - the nonce of the challenge response
 */
export function provisioningProofInput(tenantId: string, deviceId: string, nonce: string): Uint8Array {
  return Buffer.from(`${PROOF_CONTEXT}\n${tenantId}\n${deviceId}\n${nonce}`, 'utf8');
}

// ── drift checks: these fail to compile when the wire and the core's types part ──────────────

// Mutual assignability (readonly modifiers aside): A fits B and B fits A.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;

// The enrollment on the wire is exactly the core's request.
type _EnrollmentIsCore = Assert<Same<SymmetricKeyProvisioningRequest['enrollment'], SymmetricKeyRequest>>;
// The home target is the core's, the device and tenant ids are the record's, and a record's
// desired configuration always fits the wire.
type _HomeIsCore = Assert<Same<NonNullable<ProvisioningAcceptedResponse['home']>, HomeTarget>>;
type _IdsAreRecord = Assert<Same<Pick<ProvisioningAcceptedResponse, 'deviceId' | 'tenantId'>, Pick<DeviceRecord, 'deviceId' | 'tenantId'>>>;
type _DesiredFits = Assert<DeviceRecord['desiredConfig'] extends ProvisioningAcceptedResponse['desired'] ? true : false>;
// Every FleetError code fits a rejection's code.
type _CodesFit = Assert<FleetErrorCode extends ProvisioningRejectedResponse['error']['code'] ? true : false>;
