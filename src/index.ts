/**
 * fleetkit: the production parts of an IoT fleet backend — AWS-compatible device shadows, the
 * device lifecycle, zero-touch provisioning, staged OTA rollouts and planning calculators — as a
 * pure core with transports, stores and services at the rim.
 *
 * @module
 */
export { FleetError, isFleetError } from './errors.js';
export type { FleetErrorCode, FleetErrorOptions, Result } from './errors.js';
export { SimulatedClock, systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { FORBIDDEN_KEYS, checkJson, cloneJson, isJsonObject, jsonEqual, parseJson, utf8ByteLength } from './json.js';
export type { JsonArray, JsonLimits, JsonObject, JsonPrimitive, JsonValue } from './json.js';
export {
  AWS_MESSAGES,
  CONFLICT_RESOLVERS,
  DEFAULT_SHADOW_LIMITS,
  MAX_IN_FLIGHT_PER_THING,
  MAX_SHADOW_NAME_LENGTH,
  MAX_THING_NAME_LENGTH,
  ackProperty,
  applyShadowUpdate,
  assertShadowName,
  assertThingName,
  computeDelta,
  computeDeltaWithMetadata,
  deleteShadow,
  getShadow,
  getShadowResponse,
  isPropertyAck,
  isTombstone,
  nullFreeJsonSchema,
  propertyAcks,
  reconcileShadow,
  rejectedPayload,
  shadowGetRequestSchema,
  shadowNameSchema,
  shadowPatchValueSchema,
  shadowRejectedSchema,
  shadowSectionSchema,
  shadowUpdateRequestSchema,
  thingNameSchema,
  unwrapAck,
} from './shadow/index.js';
export type {
  ConflictPolicy,
  ConflictResolution,
  ConflictResolver,
  DeleteAcceptedPayload,
  DeleteShadowResult,
  DeltaPayload,
  DeltaWithMetadata,
  DocumentsPayload,
  GetAcceptedPayload,
  GetShadowResponseOptions,
  GetShadowResult,
  MetadataLeaf,
  MetadataNode,
  MetadataObject,
  PropertyAck,
  PropertyAckStatus,
  ReconcileConflict,
  ReconcileInput,
  ReconcileResolver,
  ReconcileResult,
  RejectedPayload,
  ReportedUnwrapper,
  ResolvedShadowLimits,
  ShadowConflict,
  ShadowDocument,
  ShadowGetRequest,
  ShadowLimits,
  ShadowMetadata,
  ShadowRequestOptions,
  ShadowRequestRejected,
  ShadowSnapshot,
  ShadowState,
  ShadowTombstone,
  ShadowUpdateAccepted,
  ShadowUpdateOptions,
  ShadowUpdateRejected,
  ShadowUpdateRequest,
  ShadowUpdateResult,
  StoredShadow,
  UpdateAcceptedPayload,
} from './shadow/index.js';
