/**
 * Effects: what the lifecycle core asks the cloud tier to do, as plain data.
 */
import type { JsonObject } from '../json.js';
import type { DeviceRecord } from './record.js';
import type { LifecycleEventType, LifecycleState } from './states.js';
import type { RevocationEntry } from './revocation.js';

/** Fields every device-scoped effect carries. */
export interface DeviceRef {
  /** The device. */
  readonly deviceId: string;
  /** Its tenant. */
  readonly tenantId: string;
}

/** The audit record of one accepted transition. */
export interface AuditEffect extends DeviceRef {
  readonly type: 'audit';
  /** State before. */
  readonly from: LifecycleState;
  /** State after, or `null` when the record was removed (`data_wiped`). */
  readonly to: LifecycleState | null;
  /** The event that caused it. */
  readonly event: LifecycleEventType;
  /** Who caused it (`'system'` when the event named nobody). */
  readonly actor: string;
  /** Why, or `null`. */
  readonly reason: string | null;
  /** When (epoch ms). Never earlier than the previous audit record of the same device. */
  readonly at: number;
}

/** Delete the device record (after `data_wiped`); nothing of the device remains but the audit trail. */
export interface RemoveRecordEffect extends DeviceRef {
  readonly type: 'remove-record';
}

/** Store a new or re-provisioned device record. */
export interface PutRecordEffect extends DeviceRef {
  readonly type: 'put-record';
  /** The record to store. */
  readonly record: DeviceRecord;
}

/** Attach the named policies to the device's credential. */
export interface AttachPoliciesEffect extends DeviceRef {
  readonly type: 'attach-policies';
  /** Policy names. */
  readonly policies: readonly string[];
}

/** Write the initial desired configuration into the device's shadow. */
export interface SetDesiredEffect extends DeviceRef {
  readonly type: 'set-desired';
  /** The desired state. */
  readonly desired: JsonObject;
}

/** Answer the device's bootstrap request: the regional endpoint and topics to use from now on. */
export interface SendBootstrapEffect extends DeviceRef {
  readonly type: 'send-bootstrap';
  /** Region name. */
  readonly region: string;
  /** Endpoint URL. */
  readonly endpoint: string;
  /** Topic names by purpose. */
  readonly topics: Readonly<Record<string, string>>;
}

/** Add the credential to the revocation list the provisioning checks read. */
export interface RevokeCredentialEffect extends DeviceRef {
  readonly type: 'revoke-credential';
  /** The entry to add. */
  readonly revocation: RevocationEntry;
}

/** Detach every policy from the device's credential. */
export interface DetachPoliciesEffect extends DeviceRef {
  readonly type: 'detach-policies';
  /** Policy names. */
  readonly policies: readonly string[];
}

/** Cancel what is still queued for the device. */
export interface CancelPendingEffect extends DeviceRef {
  readonly type: 'cancel-pending';
  /** What to cancel. */
  readonly scopes: readonly ('rollout-actions' | 'commands')[];
}

/** Wipe the device's data held by the cloud (shadows, telemetry, job documents). */
export interface RequestDataWipeEffect extends DeviceRef {
  readonly type: 'request-data-wipe';
}

/** Stop health monitoring and heartbeat alerts for the device. */
export interface RemoveFromMonitoringEffect extends DeviceRef {
  readonly type: 'remove-from-monitoring';
}

/** Stop billing for the device. */
export interface RemoveFromBillingEffect extends DeviceRef {
  readonly type: 'remove-from-billing';
}

/** The effects {@link transition} emits. */
export type TransitionEffect = AuditEffect | RemoveRecordEffect;

/** The effects provisioning emits. */
export type ProvisioningEffect = AuditEffect | PutRecordEffect | AttachPoliciesEffect | SetDesiredEffect | SendBootstrapEffect;

/** The effects {@link planDecommission} emits. */
export type DecommissionEffect =
  | RevokeCredentialEffect
  | DetachPoliciesEffect
  | CancelPendingEffect
  | RequestDataWipeEffect
  | RemoveFromMonitoringEffect
  | RemoveFromBillingEffect
  | AuditEffect;

/** Any effect the lifecycle core emits. */
export type LifecycleEffect = TransitionEffect | ProvisioningEffect | DecommissionEffect;
