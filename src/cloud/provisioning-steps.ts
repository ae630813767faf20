/**
 * The small steps of a provisioning request: route the topic, decode and validate the payload,
 * read the certificate chain, and build the replies.
 */
import { X509Certificate } from 'node:crypto';
import { FleetError, isFleetError } from '../errors.js';
import type { HomeAssignment } from '../lifecycle/home-endpoint.js';
import type { JsonObject } from '../json.js';
import type { DeviceRecord } from '../lifecycle/record.js';
import { jsonCodec } from '../protocol/codec.js';
import {
  provisioningWireRequestSchema,
  type ProvisioningAcceptedResponse,
  type ProvisioningRejectedResponse,
  type ProvisioningWireRequest,
} from '../protocol/provisioning-wire.js';
import { fleetTopicFilter, heartbeatTopic, safeParseTopic, telemetryTopic } from '../protocol/topics.js';

/** Where a provisioning request came from: the tenant and the device id its topic claims. */
export interface ProvisioningRoute {
  /** The tenant in `cmd/{tenantId}/…/prov/req`. */
  readonly tenantId: string;
  /** The device id in `cmd/…/{deviceId}/prov/req`: the identity the device claims. */
  readonly claimedId: string;
}

/** @internal The tenant and claimed device id of a `prov/req` topic, or why it is not one. */
export function routeProvisioning(topic: string): ProvisioningRoute | FleetError {
  const parsed = safeParseTopic(topic);
  if (!parsed.ok) return parsed.error;
  if (parsed.value.kind !== 'provisioning-request') {
    return new FleetError('INVALID_TOPIC', `"${topic}" is not a provisioning request topic (cmd/{tenantId}/{deviceId}/prov/req)`, { status: 400, captureStack: false });
  }
  return { tenantId: parsed.value.tenantId, claimedId: parsed.value.deviceId };
}

/** @internal bytes → JSON → the request schema; anything else is `INVALID_PAYLOAD`. */
export function decodeProvisioningRequest(payload: Uint8Array): ProvisioningWireRequest | FleetError {
  let value: unknown;
  try {
    value = jsonCodec.decode(payload);
  } catch (e) {
    return isFleetError(e) ? e : new FleetError('INVALID_PAYLOAD', 'The provisioning request is not valid JSON', { status: 400, cause: e });
  }
  const r = provisioningWireRequestSchema.safeParse(value);
  if (r.success) return r.data;
  const v = value as { type?: unknown; nonce?: unknown; signature?: unknown } | null;
  if (typeof v === 'object' && v !== null && v.type === 'x509' && (v.signature === undefined || v.nonce === undefined)) {
    // Possession of the certificate proves nothing: it is public. Say what is missing.
    return new FleetError('PROOF_INVALID', 'A certificate alone never provisions: request a challenge ({ type: "challenge" }), sign its nonce with the certificate\'s private key and send { type: "x509", certificateChain, nonce, signature }', {
      status: 401,
      captureStack: false,
    });
  }
  const issues = r.error.issues.map((i) => ({ path: i.path.map(String).join('.'), code: i.code, message: i.message }));
  const first = issues[0];
  return new FleetError(
    'INVALID_PAYLOAD',
    `Invalid provisioning request: ${first === undefined ? 'rejected by the schema' : `${first.path || '(root)'}: ${first.message}`}; send { type: 'challenge' }, { type: 'x509', certificateChain, nonce, signature } or { type: 'symmetric-key', enrollment }`,
    { status: 400, details: { issues }, captureStack: false },
  );
}

/** @internal The request id a payload carries, when it can be read (to echo it on a rejection). */
export function requestIdOf(payload: Uint8Array): string | undefined {
  try {
    const value = jsonCodec.decode(payload) as { requestId?: unknown } | null;
    const id = typeof value === 'object' && value !== null ? value.requestId : undefined;
    return typeof id === 'string' && /^[a-zA-Z0-9:_-]{1,64}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @internal Parses the certificate chain (leaf first). Certificates after the leaf are not
 * trusted — the leaf's issuer must be a registered CA — but each must have issued the one before
 * it, so a device that sends a broken chain learns so.
 */
export function readChain(chain: readonly string[]): X509Certificate | FleetError {
  const certs: X509Certificate[] = [];
  for (const [i, pem] of chain.entries()) {
    try {
      certs.push(new X509Certificate(pem));
    } catch (cause) {
      return new FleetError('CERT_INVALID', `certificateChain[${i}] is not a readable X.509 certificate; send PEM certificates, the device's own first`, { status: 400, cause });
    }
  }
  for (let i = 1; i < certs.length; i++) {
    if (!(certs[i - 1] as X509Certificate).checkIssued(certs[i] as X509Certificate)) {
      return new FleetError('CERT_INVALID', `certificateChain[${i}] did not issue certificateChain[${i - 1}]; send the chain in order, the device's own certificate first`, { status: 400 });
    }
  }
  return certs[0] as X509Certificate;
}

/** @internal The topics a provisioned device uses, with the template's home topics on top. */
export function deviceTopics(tenantId: string, deviceId: string, home: HomeAssignment | undefined): Record<string, string> {
  return {
    telemetry: telemetryTopic(tenantId, deviceId),
    heartbeat: heartbeatTopic(tenantId, deviceId),
    commands: fleetTopicFilter('command', { tenantId, deviceId }),
    jobs: fleetTopicFilter('job', { tenantId, deviceId }),
    shadow: `$aws/things/${deviceId}/shadow`,
    ...(home?.topics ?? {}),
  };
}

/** @internal The accepted reply: device id, tenant, home endpoint, topics and desired configuration. */
export function acceptedReply(record: Pick<DeviceRecord, 'deviceId' | 'tenantId' | 'home'> & { readonly desiredConfig?: JsonObject }, requestId: string | undefined): ProvisioningAcceptedResponse {
  const home = record.home;
  return {
    type: 'accepted',
    ...(requestId === undefined ? {} : { requestId }),
    deviceId: record.deviceId,
    tenantId: record.tenantId,
    ...(home === undefined ? {} : { home: { region: home.region, endpoint: home.endpoint } }),
    topics: deviceTopics(record.tenantId, record.deviceId, home),
    desired: (record.desiredConfig ?? {}) as ProvisioningAcceptedResponse['desired'],
  };
}

/** @internal The rejected reply: the error's code, message and status (never its details). */
export function rejectedReply(error: FleetError, requestId: string | undefined): ProvisioningRejectedResponse {
  return {
    type: 'rejected',
    ...(requestId === undefined ? {} : { requestId }),
    error: { code: error.code, message: error.message.slice(0, 1024), ...(error.status === undefined ? {} : { status: error.status }) },
  };
}
