/**
 * `fleetkit/cloud`: the cloud tier — {@link ShadowService} (the AWS IoT Device Shadow service over
 * any transport) and the store interfaces it runs on. In-memory stores are in `fleetkit/memory`;
 * contract suites for your own stores in `fleetkit/testing`.
 *
 * @module
 */
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
