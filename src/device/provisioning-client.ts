/**
 * The device side of provisioning over `cmd/{tenantId}/{deviceId}/prov/…`: an X.509 device asks
 * for a nonce and signs it with its certificate's key; a symmetric-key device sends the core's
 * enrollment request with its HMAC proof. Both wait for `accepted` or `rejected`.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import type { Clock } from '../clock.js';
import { signProvisioningChallenge } from '../cloud/provisioning-proof.js';
import { FleetError, type FleetErrorCode } from '../errors.js';
import { computeEnrollmentProof } from '../lifecycle/symmetric-key.js';
import type { Codec } from '../protocol/codec.js';
import { provisioningWireResponseSchema, type ProvisioningAcceptedResponse, type ProvisioningDeviceInfo, type ProvisioningWireRequest, type ProvisioningWireResponse } from '../protocol/provisioning-wire.js';
import { provisioningRequestTopic, provisioningResponseTopic } from '../protocol/topics.js';
import type { InboundMessage, QoS, Transport } from '../transport/types.js';
import type { RandomSource } from './random.js';

/** An X.509 identity: the certificate chain (the device's own first) and its private key. */
export interface X509Credentials {
  /** Provision with a certificate and a signature over a server nonce. */
  readonly method: 'x509';
  /** PEM certificates, the device's own first (1–4). */
  readonly certificateChain: readonly string[];
  /** The private key of the first certificate (PEM or `KeyObject`): ECDSA, RSA or Ed25519. */
  readonly privateKey: KeyObject | string;
}

/** A symmetric-key identity: an enrollment group and the device key derived for this device. */
export interface SymmetricKeyCredentials {
  /** Provision with an enrollment group's derived key. */
  readonly method: 'symmetric-key';
  /** The enrollment group id. */
  readonly groupId: string;
  /** `deriveDeviceKey(groupKey, registrationId)` (base64 or bytes); never ship the group key. */
  readonly deviceKey: string | Uint8Array;
}

/** How a device proves its identity when it provisions. */
export type DeviceCredentials = X509Credentials | SymmetricKeyCredentials;

/** @internal What the provisioning client needs from the agent. */
export interface ProvisioningContext {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly codec: Codec;
  readonly qos: QoS;
  readonly tenantId: string;
  readonly deviceId: string;
  readonly random: RandomSource | undefined;
  readonly timeoutMs: number;
  /** What the device says it is (hardware, firmware), recorded by the registry. */
  readonly device?: ProvisioningDeviceInfo;
  /** Inbound messages that were not usable answers. */
  readonly onError: (error: FleetError) => void;
}

const KNOWN_REFUSALS: ReadonlySet<string> = new Set<FleetErrorCode>([
  'INVALID_PAYLOAD', 'PROOF_INVALID', 'NONCE_INVALID', 'CERT_INVALID', 'FORBIDDEN', 'REPLAY_DETECTED', 'TEMPLATE_INVALID', 'CERT_UNTRUSTED', 'CA_INACTIVE',
  'CERT_REVOKED', 'CERT_NOT_YET_VALID', 'CERT_EXPIRED', 'TENANT_MISMATCH', 'ALREADY_PROVISIONED', 'ENROLLMENT_INVALID', 'TOO_MANY_REQUESTS', 'INTERNAL',
]);

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function nonce(random: RandomSource | undefined): string {
  if (random === undefined) return randomBytes(24).toString('base64url');
  let s = '';
  for (let i = 0; i < 32; i++) s += BASE64URL[Math.floor(random() * 64) & 63];
  return s;
}

let requestCounter = 0;

/**
 * Provisions the device: resolves with the `accepted` answer, rejects with the refusal as a
 * `FleetError` (its wire code when fleetkit knows it, else `INTERNAL` with the code in `details`),
 * or `TIMEOUT` when no answer came within `timeoutMs` (per request).
 */
export async function provision(ctx: ProvisioningContext, credentials: DeviceCredentials): Promise<ProvisioningAcceptedResponse> {
  const { transport, codec, tenantId, deviceId } = ctx;
  const prefix = `p${(++requestCounter).toString(36)}`;
  let step = 0;
  let waiting: { id: string; resolve: (r: ProvisioningWireResponse) => void; reject: (e: FleetError) => void } | undefined;
  const onMessage = (m: InboundMessage): void => {
    let response: ProvisioningWireResponse;
    try {
      const parsed = provisioningWireResponseSchema.safeParse(codec.decode(m.payload));
      if (!parsed.success) throw new FleetError('INVALID_PAYLOAD', `provisioning answer on ${m.topic} does not match the wire schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { status: 400 });
      response = parsed.data;
    } catch (error) {
      ctx.onError(error instanceof FleetError ? error : new FleetError('INVALID_PAYLOAD', `unreadable provisioning answer on ${m.topic}`, { status: 400, cause: error }));
      return;
    }
    if (waiting === undefined || response.requestId !== waiting.id) {
      ctx.onError(new FleetError('INVALID_PAYLOAD', `provisioning answer for request ${String(response.requestId)} that this device is not waiting for`, { status: 400 }));
      return;
    }
    waiting.resolve(response);
  };
  const off = await transport.subscribe(provisioningResponseTopic(tenantId, deviceId), onMessage, { qos: ctx.qos });
  const ask = (request: ProvisioningWireRequest): Promise<ProvisioningWireResponse> =>
    new Promise<ProvisioningWireResponse>((resolve, reject) => {
      const id = request.requestId as string;
      const timer = ctx.clock.setTimeout(() => {
        waiting = undefined;
        reject(new FleetError('TIMEOUT', `no provisioning answer within ${ctx.timeoutMs} ms; is a registry serving tenant "${tenantId}"?`, { status: 504 }));
      }, ctx.timeoutMs);
      waiting = {
        id,
        resolve: (r) => {
          ctx.clock.clearTimeout(timer);
          waiting = undefined;
          resolve(r);
        },
        reject,
      };
      transport.publish(provisioningRequestTopic(tenantId, deviceId), codec.encode(request), { qos: ctx.qos }).catch((error: unknown) => {
        ctx.clock.clearTimeout(timer);
        waiting = undefined;
        reject(error instanceof FleetError ? error : new FleetError('NOT_CONNECTED', 'the provisioning request could not be sent', { cause: error }));
      });
    });
  const id = (): string => `${prefix}-${++step}`;
  const info = ctx.device === undefined ? {} : { device: ctx.device };
  try {
    let answer: ProvisioningWireResponse;
    if (credentials.method === 'x509') {
      const challenge = await ask({ type: 'challenge', requestId: id() });
      if (challenge.type !== 'challenge') return settle(challenge);
      const signature = signProvisioningChallenge(credentials.privateKey, tenantId, deviceId, challenge.nonce);
      answer = await ask({ type: 'x509', requestId: id(), certificateChain: [...credentials.certificateChain], nonce: challenge.nonce, signature, ...info });
    } else {
      const n = nonce(ctx.random);
      const timestamp = ctx.clock.now();
      const enrollment = { groupId: credentials.groupId, registrationId: deviceId, nonce: n, timestamp, proof: computeEnrollmentProof(credentials.deviceKey, n, timestamp) };
      answer = await ask({ type: 'symmetric-key', requestId: id(), enrollment, ...info });
    }
    return settle(answer);
  } finally {
    await off();
  }
}

function settle(answer: ProvisioningWireResponse): ProvisioningAcceptedResponse {
  if (answer.type === 'accepted') return answer;
  if (answer.type === 'rejected') {
    const code = KNOWN_REFUSALS.has(answer.error.code) ? (answer.error.code as FleetErrorCode) : 'INTERNAL';
    throw new FleetError(code, `provisioning refused: ${answer.error.message}`, { status: answer.error.status ?? 400, details: { code: answer.error.code } });
  }
  throw new FleetError('INVALID_PAYLOAD', 'the registry answered a provisioning request with a challenge', { status: 502 });
}
