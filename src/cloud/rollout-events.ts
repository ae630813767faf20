/**
 * The typed events and views of a `RolloutController`.
 */
import type { FleetError } from '../errors.js';
import type { AbortVerdict } from '../rollout/abort-rules.js';
import type { RolloutDecisionKind } from '../rollout/evaluate.js';
import type { RolloutState } from '../rollout/progress.js';
import type { DeviceStatus } from '../rollout/status.js';
import type { StoredJobExecution } from '../store/job-store.js';

/** A rollout as the controller reports it. */
export interface RolloutSummary {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The rollout id (also the job id of its OTA jobs). */
  readonly rolloutId: string;
  /** The firmware version it installs. */
  readonly firmwareVersion: string;
  /** The rollout's state. */
  readonly state: RolloutState;
  /** The current stage index. */
  readonly stage: number;
  /** Number of stages in the plan. */
  readonly stages: number;
  /** Devices in the plan. */
  readonly devices: number;
  /**
   * Devices withdrawn before they had an outcome (decommissioned): counted as `cancelled` in
   * `counts` and `byStage`, and no longer part of their stage's size or success requirement.
   */
  readonly withdrawn: number;
  /** The tracker's revision. */
  readonly revision: number;
  /** Devices per status, over all stages. */
  readonly counts: Readonly<Record<DeviceStatus, number>>;
  /** Devices per status, per stage. */
  readonly byStage: readonly Readonly<Record<DeviceStatus, number>>[];
  /** Why it aborted, once it did. */
  readonly abort?: AbortVerdict;
  /** When it was created (epoch ms). */
  readonly createdAt: number;
  /** True while this controller drives it (false for a rollout read from the store only). */
  readonly active: boolean;
}

/** The rollout moved: a step of the evaluator, an operator action, or a device report. */
export interface RolloutProgressEvent extends RolloutSummary {
  /** When (epoch ms, the controller's clock). */
  readonly at: number;
  /** What moved it: an evaluator decision, `operator`, `report`, `recover`, or `withdraw` (a device left the rollout). */
  readonly cause: RolloutDecisionKind | 'operator' | 'report' | 'recover' | 'withdraw';
  /** The evaluator's or operator's reason, in words (empty for reports). */
  readonly reason: string;
}

/** A job execution was created for a device (the one time its job is dispatched). */
export interface JobDispatchedEvent {
  readonly tenantId: string;
  readonly rolloutId: string;
  readonly jobId: string;
  readonly deviceId: string;
  /** `update`: the rollout's image; `rollback`: the version the device ran before. */
  readonly intent: 'update' | 'rollback';
  /** The firmware version the job installs. */
  readonly firmwareVersion: string;
  /** True when the document was published at once (the device is online); otherwise the device gets it when it asks. */
  readonly notified: boolean;
}

/** A device's execution changed (its status report, a cancellation, an expiry). */
export interface JobUpdatedEvent {
  /** The execution as stored now. */
  readonly execution: StoredJobExecution;
  /** Its status before. */
  readonly previous: DeviceStatus;
}

/** A device message the controller refused; nothing changed. */
export interface JobStatusRejectedEvent {
  /** The topic it arrived on. */
  readonly topic: string;
  /** The tenant in the topic, when it parsed. */
  readonly tenantId?: string;
  /** The device in the topic, when it parsed. */
  readonly deviceId?: string;
  /** Why. */
  readonly error: FleetError;
}

/** The controller refused to dispatch an image (signature, hardware, missing rollback image). */
export interface DispatchRefusedEvent {
  readonly tenantId: string;
  readonly rolloutId: string;
  /** The device, when the refusal is about one device (hardware); absent when it is about the image. */
  readonly deviceId?: string;
  /** `SIGNATURE_INVALID`, `FIRMWARE_NOT_FOUND`, `FIRMWARE_INCOMPATIBLE`, … */
  readonly error: FleetError;
}

/** Every event of a `RolloutController`. */
export interface RolloutControllerEvents {
  /** A rollout was created and started. */
  'rollout:created': (summary: RolloutSummary) => void;
  /** A rollout moved (after every step, operator action and applied device report; counts are as stored). */
  'rollout:progress': (event: RolloutProgressEvent) => void;
  /** A job was dispatched to a device. */
  'job:dispatched': (event: JobDispatchedEvent) => void;
  /** A job execution changed. */
  'job:updated': (event: JobUpdatedEvent) => void;
  /** A device's job message was refused (malformed, unknown job, not a valid step); nothing changed. */
  'status:rejected': (event: JobStatusRejectedEvent) => void;
  /** An image was not dispatched (the rollout pauses when the image itself no longer verifies). */
  'dispatch:refused': (event: DispatchRefusedEvent) => void;
  /** A failure of the controller itself (a store or a publish failed, another controller took the rollout over). */
  error: (error: FleetError) => void;
}
