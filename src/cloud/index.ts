/**
 * `fleetkit/cloud`: the cloud tier — {@link ShadowService} (the AWS IoT Device Shadow service over
 * any transport), {@link FleetRegistry} (provisioning over the wire, lifecycle, ACLs),
 * {@link HealthMonitor}, {@link CommandService}, the {@link EffectRunner} that executes the
 * lifecycle core's effects, and the store interfaces they run on. In-memory stores are in `fleetkit/memory`;
 * contract suites for your own stores in `fleetkit/testing`.
 *
 * @module
 */
export { createFleet } from './fleet.js';
export type { CreateFleetOptions, Fleet } from './fleet.js';
export { ShadowService } from './shadow-service.js';
export type { ShadowServiceOptions, ShadowTargetOptions } from './shadow-service.js';
export type {
  ShadowDeletedEvent,
  ShadowDeltaEvent,
  ShadowEventTarget,
  ShadowRejectedEvent,
  ShadowRequestSource,
  ShadowServiceEvents,
  ShadowUpdatedEvent,
} from './shadow-events.js';
export { EffectRunner } from './effect-runner.js';
export type { DesiredStateWriter, EffectHandler, EffectOf, EffectOutcome, EffectRunOptions, EffectRunReport, EffectRunnerOptions, EffectType, PolicyPort, RecordWrite } from './effect-runner.js';
export { FleetRegistry } from './registry.js';
export type { DevicePatch, DeviceRegistration, FleetRegistryOptions, RegistryQuery, TransitionOutcome } from './registry.js';
export type { TemplateRequest, TemplateResolver } from './provisioner.js';
export type {
  DeviceProvisionedEvent,
  DeviceRegisteredEvent,
  DeviceTransitionedEvent,
  FleetRegistryEvents,
  ProvisioningMethod,
  ProvisioningRefusedEvent,
  ProvisioningStats,
} from './registry-events.js';
export { ProvisioningChallenges, signProvisioningChallenge, verifyProvisioningProof } from './provisioning-proof.js';
export type { ChallengeCheck, IssuedChallenge } from './provisioning-proof.js';
export type { ProvisioningRoute } from './provisioning-steps.js';
export { deviceAclRules, mosquittoAcl } from './mosquitto-acl.js';
export type { AclBackend, AclDevice, AclGateway, MosquittoAclOptions } from './mosquitto-acl.js';
export { mosquittoShadowBridge } from './mosquitto-bridge.js';
export type { MosquittoShadowBridge, MosquittoShadowBridgeOptions } from './mosquitto-bridge.js';
export {
  MAX_CERTIFICATE_CHAIN,
  provisioningAcceptedResponseSchema,
  provisioningChallengeRequestSchema,
  provisioningChallengeResponseSchema,
  provisioningDeviceInfoSchema,
  provisioningNonceSchema,
  provisioningProofInput,
  provisioningRejectedResponseSchema,
  provisioningWireRequestSchema,
  provisioningWireResponseSchema,
  symmetricKeyProvisioningRequestSchema,
  x509ProvisioningRequestSchema,
} from '../protocol/provisioning-wire.js';
export type {
  ProvisioningAcceptedResponse,
  ProvisioningChallengeRequest,
  ProvisioningChallengeResponse,
  ProvisioningDeviceInfo,
  ProvisioningRejectedResponse,
  ProvisioningWireRequest,
  ProvisioningWireResponse,
  SymmetricKeyProvisioningRequest,
  X509ProvisioningRequest,
} from '../protocol/provisioning-wire.js';
export { HealthMonitor } from './health-monitor.js';
export type { DeviceHealthStatus, DevicePresence, HealthMonitorOptions, LeaderSignal, SharedPresenceOptions } from './health-monitor.js';
export type {
  CertificateExpiringAlert,
  DeviceAt,
  DeviceDegradedAlert,
  DeviceRecoveredAlert,
  DeviceSilenceEndedAlert,
  DeviceSilentAlert,
  DeviceVitals,
  FleetHealthStats,
  HealthAlert,
  HealthChangedAlert,
  HealthMonitorEvents,
  MessageThrottledEvent,
  MonitorRejectedEvent,
  NetworkStats,
} from './health-events.js';
export { DEFAULT_FLEET_ALERT_RULES, FleetAlerts } from './fleet-alerts.js';
export type { FleetAlertsEvents, FleetAlertsOptions } from './fleet-alerts.js';
export { FleetMetrics } from './fleet-metrics.js';
export type { FleetMetricsOptions, FleetMetricsSource, MetricsHandler, MetricsResponse } from './fleet-metrics.js';
export type { AlertEvent, AlertInstance, AlertRule, AlertRuleInput, ResponseSlaReport } from '../monitor/alerts.js';
export { QuotaEnforcer } from '../tenancy/enforcer.js';
export type { Admission, DeviceRateLimits, QuotaEnforcerOptions, QuotaResource, QuotaScope } from '../tenancy/enforcer.js';
export { CommandService } from './commands.js';
export type { AckRejectedEvent, CommandServiceEvents, CommandServiceOptions, CommandUpdatedEvent, SendCommandOptions } from './commands.js';
export { RolloutController } from './rollout-controller.js';
export type { CreateRolloutSpec, RollbackOptions, RolloutControllerOptions } from './rollout-controller.js';
export type { DispatchRefusedEvent, JobDispatchedEvent, JobStatusRejectedEvent, JobUpdatedEvent, RolloutControllerEvents, RolloutProgressEvent, RolloutSummary } from './rollout-events.js';
export { FirmwareCatalog, signFirmware } from './firmware-catalog.js';
export type { FirmwareImage, FirmwareImageInput, FirmwareSigningKey, FirmwareTarget } from './firmware-catalog.js';
export { COMMAND_ACK_STATUSES, commandAckWireSchema, commandRequestWireSchema } from '../protocol/command-wire.js';
export type { CommandAckMessage, CommandAckStatus, CommandRequestMessage } from '../protocol/command-wire.js';
export { COMMAND_STATES, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from '../store/index.js';
export type {
  AuditEntry,
  AuditInput,
  AuditListOptions,
  AuditLog,
  CommandInput,
  CommandListOptions,
  CommandState,
  CommandStore,
  CompareAndSetResult,
  CreateCommandResult,
  DeleteShadowOutcome,
  DeviceFilter,
  DeviceInput,
  DeviceLocation,
  DeviceQueryOptions,
  DeviceStats,
  DeviceStore,
  FleetStores,
  JobExecutionInput,
  JobExecutionListOptions,
  JobStore,
  Page,
  PageOptions,
  RegisteredDevice,
  RolloutInput,
  RolloutListOptions,
  ShadowListOptions,
  ShadowRecord,
  ShadowStore,
  StoredCa,
  StoredCommand,
  StoredEnrollmentGroup,
  StoredJobExecution,
  StoredRollout,
  TenantContext,
} from '../store/index.js';
export type { Clock, TimerHandle } from '../clock.js';
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
