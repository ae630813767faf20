/**
 * Staged OTA rollouts, as a pure core: sticky cohorts, the planner, the per-device status
 * machine with an O(1)-per-report tracker, the evaluator (stage gates and automatic abort) and
 * A/B boot validation. Time and device reports come in as arguments; decisions and effects go
 * out as data.
 *
 * @module
 */
// The error type every rollout function returns or throws, so this subpath is usable alone.
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
export { COHORT_COUNT, cohortLimit, cohortOf, inStage } from './cohort.js';
export { murmur3Utf8, murmur3x86_32 } from './murmur3.js';
export {
  DEFAULT_BOOT_HEALTH_MS,
  DEFAULT_CANARY_SOAK_MS,
  DEFAULT_FAILURE_RATE,
  DEFAULT_PICKUP_MS,
  DEFAULT_RUN_MS,
  DEFAULT_STAGES,
  DEFAULT_STAGE_SOAK_MS,
  DEFAULT_SUCCESS_THRESHOLD,
  SKIPPED_STATES,
  abortCriteriaSchema,
  attributeValueSchema,
  deadlinesSchema,
  firmwareSchema,
  maintenanceWindowSchema,
  rateLimitSchema,
  rolloutDeviceSchema,
  rolloutSpecSchema,
  stageSpecSchema,
  targetFilterSchema,
} from './spec.js';
export type {
  AbortCriteria,
  Deadlines,
  Firmware,
  MaintenanceWindow,
  RateLimit,
  ResolvedAbortCriteria,
  ResolvedDeadlines,
  RolloutDevice,
  RolloutSpec,
  RolloutSpecInput,
  StageSpec,
  TargetFilter,
} from './spec.js';
export { planRollout } from './plan.js';
export { plannedDeviceSchema, plannedStageSchema, rolloutPlanSchema } from './plan-schema.js';
export type { PlanRolloutOptions, PlannedDevice, PlannedStage, RolloutPlan, SkipReason, SkipSummary, SkippedDevice } from './plan.js';
export { DEVICE_REPORT_TYPES, DEVICE_STATUSES, isTerminalStatus } from './status.js';
export type { DeviceReportType, DeviceStatus, InProgressPhase } from './status.js';
export { deviceReportSchema } from './report.js';
export type { DeviceReport } from './report.js';
export type { AbortRule, AbortVerdict } from './abort-rules.js';
export { RolloutProgress, createRolloutProgress } from './progress.js';
export type {
  ApplicableDecision,
  DeviceProgress,
  RolloutDeviceRef,
  ExpiredDevice,
  OperatorAction,
  ProgressResult,
  ReportOutcome,
  RollbackRef,
  RolloutEffects,
  RolloutState,
} from './progress.js';
export {
  ROLLOUT_PROGRESS_SNAPSHOT_FORMAT,
  ROLLOUT_PROGRESS_SNAPSHOT_VERSION,
  restoreRolloutProgress,
  rolloutProgressSnapshotSchema,
  saveRolloutProgress,
} from './tracker-snapshot.js';
export type { RolloutProgressSnapshot, SnapshotQueue } from './tracker-snapshot.js';
export { evaluateRollout, stepRollout } from './evaluate.js';
export type { EvaluateOptions, RolloutDecision, RolloutDecisionKind, RolloutStep, StageStats } from './evaluate.js';
export { inMaintenanceWindow, nextMaintenanceWindow } from './windows.js';
export { bootCheckSchema, bootInputSchema, evaluateBoot } from './boot.js';
export type { BootCheck, BootDecision, BootInput, BootVerdict } from './boot.js';
