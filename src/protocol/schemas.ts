/**
 * zod schemas for every message fleetkit puts on the wire, one per topic kind. Codecs turn bytes
 * into `unknown`; these schemas turn `unknown` into typed messages (or an `INVALID_PAYLOAD`
 * error with the zod issues in `details`).
 */
import { z } from 'zod';
import { clientTokenSchema } from '../shadow/schemas.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { utf8ByteLength } from '../json.js';
import { thingNameSchema } from '../shadow/names.js';
import { jobDocumentWireSchema, jobNextRequestSchema, jobNoneMessageSchema, jobStatusUpdateSchema } from './job-wire.js';
import { messageIdSchema } from './topics.js';

/** Epoch milliseconds: a non-negative integer. */
export const epochMsSchema = z.number().int().nonnegative();
/** Any JSON value. */
const json = z.json();
/** A JSON object of named values. */
export const jsonRecordSchema = z.record(z.string(), json);

/** `dt/{tenant}/{device}/telemetry`: one sample of named measurements. */
export const telemetryMessageSchema = z.object({
  /** When the values were sampled (epoch ms, device clock). */
  ts: epochMsSchema,
  /** Per-device sequence number, to spot gaps and duplicates. */
  seq: z.number().int().nonnegative().optional(),
  /** The measurements: any JSON values by name. */
  values: jsonRecordSchema,
});
/** A telemetry message. */
export type TelemetryMessage = z.infer<typeof telemetryMessageSchema>;

/** `dt/{tenant}/{device}/heartbeat`: liveness and vital signs. */
export const heartbeatMessageSchema = z.object({
  ts: epochMsSchema,
  seq: z.number().int().nonnegative(),
  uptimeS: z.number().nonnegative().optional(),
  firmwareVersion: z.string().min(1).max(64).optional(),
  rssiDbm: z.number().optional(),
  batteryPct: z.number().min(0).max(100).optional(),
  freeHeapBytes: z.number().int().nonnegative().optional(),
});
/** A heartbeat message. */
export type HeartbeatMessage = z.infer<typeof heartbeatMessageSchema>;

/** `cmd/{tenant}/{device}/req/{commandId}`: a command for one device. */
export const commandRequestSchema = z.object({
  commandId: messageIdSchema,
  /** What to do, e.g. `"reboot"`, `"set-interval"`. */
  name: z.string().min(1).max(128),
  params: jsonRecordSchema.optional(),
  issuedAt: epochMsSchema,
  /** After this time the device must not execute the command (it answers `rejected`). */
  expiresAt: epochMsSchema.optional(),
});
/** A command request. */
export type CommandRequest = z.infer<typeof commandRequestSchema>;

/** Where a command stands, as the device reports it. */
export const commandStatusSchema = z.enum(['accepted', 'rejected', 'in-progress', 'succeeded', 'failed']);
/** A command status. */
export type CommandStatus = z.infer<typeof commandStatusSchema>;

/** A machine-readable failure carried inside a message. */
export const wireErrorSchema = z.object({ code: z.string().min(1).max(64), message: z.string().max(1024) });

/** `cmd/{tenant}/{device}/res/{commandId}`: the device's acknowledgement or result. */
export const commandAckSchema = z.object({
  commandId: messageIdSchema,
  status: commandStatusSchema,
  ts: epochMsSchema,
  result: json.optional(),
  error: wireErrorSchema.optional(),
});
/** A command acknowledgement. */
export type CommandAck = z.infer<typeof commandAckSchema>;

/** `cmd/{tenant}/{device}/prov/req`: a device asking to be provisioned. */
export const provisioningRequestSchema = z.object({
  templateName: z.string().min(1).max(128),
  /** Template parameters (serial number, model, …). */
  parameters: z.record(z.string(), z.string().max(1024)),
  /** PEM certificate signing request, when the device keeps its own key. */
  csrPem: z.string().max(16_384).optional(),
  /** A one-time value against replay. */
  nonce: z.string().min(8).max(128),
  ts: epochMsSchema,
});
/** A provisioning request. */
export type ProvisioningRequest = z.infer<typeof provisioningRequestSchema>;

/** `cmd/{tenant}/{device}/prov/res`: the outcome of a provisioning request. */
export const provisioningResponseSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    deviceId: thingNameSchema,
    thingName: thingNameSchema,
    certificatePem: z.string().max(16_384).optional(),
    certificateId: z.string().max(128).optional(),
    nonce: z.string().min(8).max(128),
  }),
  z.object({ ok: z.literal(false), error: wireErrorSchema, nonce: z.string().min(8).max(128) }),
]);
/** A provisioning response. */
export type ProvisioningResponse = z.infer<typeof provisioningResponseSchema>;

// The request schemas belong to the shadow engine (which checks that it accepts exactly what they accept).
export { clientTokenSchema, shadowGetRequestSchema, shadowUpdateRequestSchema } from '../shadow/schemas.js';
export type { ShadowGetRequest, ShadowUpdateRequest } from '../shadow/schemas.js';

/** The payload of every `…/rejected` shadow topic. */
export const shadowErrorResponseSchema = z.object({
  code: z.number().int().min(400).max(599),
  message: z.string(),
  /** Epoch seconds. */
  timestamp: z.number().int().nonnegative(),
  clientToken: clientTokenSchema.optional(),
});
/** A shadow error response. */
export type ShadowErrorResponse = z.infer<typeof shadowErrorResponseSchema>;

/** The payload of `…/shadow/update/delta`. */
export const shadowDeltaMessageSchema = z.object({
  state: jsonRecordSchema,
  metadata: jsonRecordSchema.optional(),
  version: z.number().int().nonnegative(),
  timestamp: z.number().int().nonnegative(),
  clientToken: clientTokenSchema.optional(),
});
/** A shadow delta message. */
export type ShadowDeltaMessage = z.infer<typeof shadowDeltaMessageSchema>;

/** The payload of `…/get/accepted` and `…/update/accepted`: state, metadata, version, timestamp. */
export const shadowAcceptedMessageSchema = z.object({
  state: z.union([jsonRecordSchema, z.null()]).optional(),
  metadata: jsonRecordSchema.optional(),
  version: z.number().int().nonnegative().optional(),
  timestamp: z.number().int().nonnegative(),
  clientToken: clientTokenSchema.optional(),
});
/** A shadow accepted message. */
export type ShadowAcceptedMessage = z.infer<typeof shadowAcceptedMessageSchema>;

const shadowSnapshot = z.object({
  state: jsonRecordSchema,
  metadata: jsonRecordSchema,
  version: z.number().int().nonnegative(),
});

/** The payload of `…/shadow/update/documents`: the document before and after an update. */
export const shadowDocumentsMessageSchema = z.object({
  previous: z.union([shadowSnapshot, z.null()]),
  current: shadowSnapshot,
  timestamp: z.number().int().nonnegative(),
  clientToken: clientTokenSchema.optional(),
});
/** A shadow documents message. */
export type ShadowDocumentsMessage = z.infer<typeof shadowDocumentsMessageSchema>;

/** The schema of the payload each fleetkit (`dt/…`, `cmd/…`) topic kind carries. */
export const fleetMessageSchemas = {
  telemetry: telemetryMessageSchema,
  heartbeat: heartbeatMessageSchema,
  command: commandRequestSchema,
  'command-ack': commandAckSchema,
  job: jobDocumentWireSchema,
  'job-status': jobStatusUpdateSchema,
  'job-next': jobNextRequestSchema,
  'job-none': jobNoneMessageSchema,
  'provisioning-request': provisioningRequestSchema,
  'provisioning-response': provisioningResponseSchema,
} as const;

/**
 * Validates a decoded payload against `schema`.
 *
 * @returns the typed message (unknown keys stripped)
 * @throws FleetError `INVALID_PAYLOAD` (400) with the zod issues in `details.issues`;
 *   `INVALID_ARGUMENT` when `schema` is not a zod schema.
 * @example
 * ```ts
 * const msg = parseMessage(telemetryMessageSchema, jsonCodec.decode(bytes));
 * ```
 */
export function parseMessage<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  if (typeof schema !== 'object' || schema === null || typeof (schema as { safeParse?: unknown }).safeParse !== 'function') {
    throw new FleetError('INVALID_ARGUMENT', `parseMessage: schema must be a zod schema such as telemetryMessageSchema, got ${describeValue(schema)}`, { status: 400 });
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({ path: i.path.map(String).join('.'), code: i.code, message: i.message }));
  const first = issues[0];
  throw new FleetError('INVALID_PAYLOAD', `Invalid message: ${first === undefined ? 'rejected by the schema' : `${first.path || '(root)'}: ${first.message}`}`, {
    status: 400,
    details: { issues },
  });
}
