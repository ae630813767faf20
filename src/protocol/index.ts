/**
 * The wire protocol: topic builders and parsers (the AWS shadow tree and fleetkit's `dt/…` and
 * `cmd/…` trees), MQTT topic-filter rules, zod schemas for every message, and the JSON codec.
 * The CBOR codec is in `fleetkit/cbor`.
 *
 * @module
 */
export { assertTopicFilter, assertTopicName, hasWildcard, matchingFilter, MAX_TOPIC_LENGTH, parseSharedFilter, sharedFilter, topicMatches } from './topic-filter.js';
export type { SharedFilter } from './topic-filter.js';
export {
  commandAckTopic,
  commandTopic,
  fleetTopicFilter,
  formatTopic,
  heartbeatTopic,
  jobNextTopic,
  jobNoneTopic,
  jobStatusTopic,
  jobTopic,
  MAX_ID_LENGTH,
  messageIdSchema,
  parseTopic,
  provisioningRequestTopic,
  provisioningResponseTopic,
  safeParseTopic,
  shadowRequestFilter,
  shadowResponseFilter,
  shadowTopic,
  telemetryTopic,
} from './topics.js';
export type {
  CommandAckTopic,
  CommandTopic,
  FleetTopic,
  FleetTopicFilterParts,
  FleetTopicKind,
  HeartbeatTopic,
  JobNextTopic,
  JobNoneTopic,
  JobStatusTopic,
  JobTopic,
  ProvisioningRequestTopic,
  ProvisioningResponseTopic,
  ShadowOperation,
  ShadowResponse,
  ShadowTopic,
  TelemetryTopic,
} from './topics.js';
export {
  clientTokenSchema,
  commandAckSchema,
  commandRequestSchema,
  commandStatusSchema,
  epochMsSchema,
  fleetMessageSchemas,
  heartbeatMessageSchema,
  jsonRecordSchema,
  parseMessage,
  provisioningRequestSchema,
  provisioningResponseSchema,
  shadowAcceptedMessageSchema,
  shadowDeltaMessageSchema,
  shadowDocumentsMessageSchema,
  shadowErrorResponseSchema,
  shadowGetRequestSchema,
  shadowUpdateRequestSchema,
  telemetryMessageSchema,
  wireErrorSchema,
} from './schemas.js';
export type {
  CommandAck,
  CommandRequest,
  CommandStatus,
  HeartbeatMessage,
  ProvisioningRequest,
  ProvisioningResponse,
  ShadowAcceptedMessage,
  ShadowDeltaMessage,
  ShadowDocumentsMessage,
  ShadowErrorResponse,
  ShadowGetRequest,
  ShadowUpdateRequest,
  TelemetryMessage,
} from './schemas.js';
export {
  activeJobDocumentSchema,
  cancelledJobDocumentSchema,
  DEVICE_JOB_STATUSES,
  FIRMWARE_SIGNATURE_ALGORITHMS,
  firmwareSigningInput,
  firmwareWireSchema,
  JOB_PHASES,
  JOB_STATUS_REPORTS,
  jobDocumentWireSchema,
  jobExecutionStatusSchema,
  jobNextRequestSchema,
  jobNoneMessageSchema,
  jobPhaseSchema,
  jobStatusUpdateSchema,
  reportTypeOf,
} from './job-wire.js';
export type {
  ActiveJobDocument,
  CancelledJobDocument,
  DeviceJobStatus,
  FirmwareSignatureAlgorithm,
  FirmwareWire,
  JobDocumentWire,
  JobExecutionStatus,
  JobNextRequest,
  JobNoneMessage,
  JobPhase,
  JobStatusUpdate,
  JobWireDriftChecks,
} from './job-wire.js';
export { createJsonCodec, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_MESSAGE_DEPTH, jsonCodec } from './codec.js';
export type { Codec, CodecOptions } from './codec.js';
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions, Result } from '../errors.js';
export { assertTenantId, MAX_TENANT_ID_LENGTH, tenantIdSchema } from '../ids.js';
