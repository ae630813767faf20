/**
 * The device lifecycle as a pure core: the state machine reducer, zero-touch provisioning (X.509
 * just-in-time provisioning and symmetric-key group enrollment), health and heartbeat evaluation,
 * certificate rotation planning and secure decommissioning. Time is an argument; every change comes
 * back as data (`next` and `effects`) for the cloud tier to apply.
 *
 * @module
 */
// Shared types the lifecycle API is written in, so this entry point stands on its own.
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions, Result } from '../errors.js';
export type { JsonArray, JsonObject, JsonPrimitive, JsonValue } from '../json.js';
export { LIFECYCLE_EVENTS, LIFECYCLE_STATES, isLifecycleEventType, isLifecycleState, lifecycleEventTypeSchema, lifecycleStateSchema } from './states.js';
export type { LifecycleEventType, LifecycleState } from './states.js';
export { DEFAULT_TRANSITION_RULES, DEFAULT_TRANSITION_TABLE, extendTransitionTable, transitionRuleSchema } from './table.js';
export type { TransitionRule, TransitionTable } from './table.js';
export { createDeviceSnapshot, deviceSnapshotSchema, lifecycleEventSchema, parseDeviceSnapshot } from './snapshot.js';
export type { DeviceSnapshot, LifecycleEvent } from './snapshot.js';
export { acceptedEvents, transition } from './transition.js';
export type { NextSnapshot, TransitionOptions, TransitionResult } from './transition.js';
export type {
  AttachPoliciesEffect,
  AuditEffect,
  CancelPendingEffect,
  DecommissionEffect,
  DetachPoliciesEffect,
  DeviceRef,
  LifecycleEffect,
  ProvisioningEffect,
  PutRecordEffect,
  RemoveFromBillingEffect,
  RemoveFromMonitoringEffect,
  RemoveRecordEffect,
  RequestDataWipeEffect,
  RevokeCredentialEffect,
  SendBootstrapEffect,
  SetDesiredEffect,
  TransitionEffect,
} from './effects.js';
export { REMOVED_STATE, lifecycleMachineConfig } from './machine-config.js';
export type { LifecycleMachineConfig } from './machine-config.js';
export { addRevocations, createRevocationList, isRevoked, normalizeSerial, revocationEntrySchema, revocationKey } from './revocation.js';
export type { EnrollmentRevocation, RevocationEntry, RevocationList, X509Revocation } from './revocation.js';
export { caRegistrationSchema, createCaRegistry, setCaStatus } from './ca-registry.js';
export type { CaRegistration, CaRegistry, CaStatus, RegisteredCa } from './ca-registry.js';
export { parseSubject, verifyDeviceCertificate } from './certificate.js';
export type { CertificateCheckContext, VerifiedCertificate } from './certificate.js';
export {
  DERIVED_TEMPLATE_PARAMETERS,
  ENROLLMENT_TEMPLATE_PARAMETERS,
  X509_TEMPLATE_PARAMETERS,
  defineProvisioningTemplate,
  fillProvisioningTemplate,
  provisioningTemplateDefinitionSchema,
  templateParameterValueSchema,
} from './template.js';
export type { FilledTemplate, ProvisioningTemplate, ProvisioningTemplateDefinition, TemplateParameter, TemplateParameters } from './template.js';
export type { HomeAssignment, HomeEndpointConfig, HomeRule, HomeTarget } from './home-endpoint.js';
export type { DeviceIdentity, DeviceRecord, ExistingDevice, ExistingDeviceLookup } from './record.js';
export type { ProvisioningOptions, ProvisioningResult } from './provisioning.js';
export { X509_TEMPLATE_DEFAULTS, provisionWithCertificate } from './jitp.js';
export type { CertificateProvisioningOptions } from './jitp.js';
export {
  DEFAULT_REPLAY_WINDOW_MS,
  ENROLLMENT_TEMPLATE_DEFAULTS,
  computeEnrollmentProof,
  createEnrollmentGroups,
  deriveDeviceKey,
  enrollmentGroupSchema,
  provisionWithSymmetricKey,
  symmetricKeyRequestSchema,
} from './symmetric-key.js';
export type {
  EnrollmentGroup,
  EnrollmentGroupDefinition,
  NonceLedger,
  SymmetricKeyProvisioningOptions,
  SymmetricKeyProvisioningResult,
  SymmetricKeyRequest,
} from './symmetric-key.js';
export { certificatesExpiring } from './rotation.js';
export type { RotationCandidate, RotationItem, RotationPlan } from './rotation.js';
export { DEFAULT_HEALTH_THRESHOLDS, evaluateHealth, healthSampleSchema, healthThresholdsSchema } from './health.js';
export type { HealthEvaluation, HealthReason, HealthSample, HealthStatus, HealthThresholds, LowerLimits } from './health.js';
export { DEFAULT_HEARTBEAT_OPTIONS, heartbeatStatus } from './heartbeat.js';
export type { HeartbeatOptions, HeartbeatReport } from './heartbeat.js';
export { nextHealthEvent } from './health-event.js';
export { applyRevocations, planDecommission, revocationFor } from './decommission.js';
export type { DecommissionCandidate, DecommissionOptions, DecommissionPlan } from './decommission.js';
export { tenantIdSchema } from '../ids.js';
