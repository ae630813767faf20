/**
 * The shadow engine: AWS IoT Device Shadow semantics as pure functions — partial merge with
 * per-leaf metadata, versions that continue across delete, delta, limits with AWS's error codes
 * and messages — plus conflict policies, skip-if-equal, per-property acknowledgement and a
 * three-way reconcile for offline sync.
 *
 * @module
 */
export { applyShadowUpdate, isTombstone } from './update.js';
export type { ShadowUpdateAccepted, ShadowUpdateOptions, ShadowUpdateRejected, ShadowUpdateResult } from './update.js';
export { deleteShadow, getShadow, getShadowResponse } from './get-delete.js';
export type { DeleteShadowResult, GetShadowResponseOptions, GetShadowResult, ShadowRequestOptions, ShadowRequestRejected } from './get-delete.js';
export { computeDelta, computeDeltaWithMetadata } from './delta.js';
export type { DeltaWithMetadata, ReportedUnwrapper } from './delta.js';
export { reconcileShadow } from './reconcile.js';
export type { ReconcileConflict, ReconcileInput, ReconcileResolver, ReconcileResult } from './reconcile.js';
export { CONFLICT_RESOLVERS } from './policies.js';
export type { ConflictPolicy, ConflictResolution, ConflictResolver, ShadowConflict } from './policies.js';
export { ackProperty, isPropertyAck, propertyAcks, unwrapAck } from './acknowledgement.js';
export type { PropertyAck, PropertyAckStatus } from './acknowledgement.js';
export { DEFAULT_SHADOW_LIMITS, MAX_IN_FLIGHT_PER_THING } from './limits.js';
export type { ResolvedShadowLimits, ShadowLimits } from './limits.js';
export { AWS_MESSAGES, rejectedPayload } from './rejections.js';
export { MAX_SHADOW_NAME_LENGTH, MAX_THING_NAME_LENGTH, assertShadowName, assertThingName, shadowNameSchema, thingNameSchema } from './names.js';
export {
  clientTokenSchema,
  nullFreeJsonSchema,
  shadowGetRequestSchema,
  shadowPatchValueSchema,
  shadowSectionSchema,
  shadowUpdateRequestSchema,
} from './schemas.js';
export type { ShadowGetRequest, ShadowUpdateRequest } from './schemas.js';
export type {
  DeleteAcceptedPayload,
  DeltaPayload,
  DocumentsPayload,
  GetAcceptedPayload,
  MetadataLeaf,
  MetadataNode,
  MetadataObject,
  RejectedPayload,
  ShadowDocument,
  ShadowMetadata,
  ShadowSnapshot,
  ShadowState,
  ShadowTombstone,
  StoredShadow,
  UpdateAcceptedPayload,
} from './types.js';
