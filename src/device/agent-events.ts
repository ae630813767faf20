/**
 * The typed events of a `DeviceAgent`.
 */
import type { FleetError } from '../errors.js';
import type { JsonObject, JsonValue } from '../json.js';
import type { CommandAckStatus } from '../protocol/command-wire.js';
import type { ProvisioningAcceptedResponse } from '../protocol/provisioning-wire.js';
import type { ReconcileConflict } from '../shadow/reconcile.js';
import type { JobReport } from './ota.js';

/** The configuration changed. */
export interface ConfigChangedEvent {
  /** The configuration now applied (a copy). */
  readonly config: JsonObject;
  /** The keys the change touched (top level). */
  readonly changed: readonly string[];
  /** The shadow version it came with. */
  readonly version: number;
  /** `delta` (a pushed change), `get` (a sync after (re)connect or a configuration check) or `local` (`updateConfig`). */
  readonly source: 'delta' | 'get' | 'local';
}

/** A delta or get answer older than the version already applied was dropped. */
export interface StaleShadowEvent {
  /** The version it carried. */
  readonly version: number;
  /** The version already applied. */
  readonly applied: number;
  /** `delta` or `get`. */
  readonly source: 'delta' | 'get';
}

/** A command arrived and was acknowledged. */
export interface CommandEvent {
  /** The command id. */
  readonly commandId: string;
  /** The command name. */
  readonly name: string;
  /** The final acknowledgement status sent. */
  readonly status: CommandAckStatus;
  /** The handler's result (with `succeeded`). */
  readonly result?: JsonValue;
}

/** Events of a `DeviceAgent`. */
export interface DeviceAgentEvents {
  /** Provisioning succeeded; the answer is stored in `agent.provisioning`. */
  provisioned: (answer: ProvisioningAcceptedResponse) => void;
  /** The transport is online again; the buffered telemetry is being flushed and the shadow fetched. */
  online: () => void;
  /** The transport went offline; the agent runs on its last configuration. */
  offline: () => void;
  /** The configuration changed. */
  config: (event: ConfigChangedEvent) => void;
  /** Conflicts a shadow sync decided with the conflict policy. */
  conflict: (conflicts: readonly ReconcileConflict[]) => void;
  /** A stale shadow message was dropped. */
  stale: (event: StaleShadowEvent) => void;
  /** A command was handled. */
  command: (event: CommandEvent) => void;
  /** The telemetry buffer was full: the oldest message was dropped (`dropped` counts them all). */
  'telemetry:dropped': (dropped: number) => void;
  /** Buffered telemetry was sent after a reconnect. */
  'telemetry:flushed': (count: number) => void;
  /** An update job made progress. */
  job: (report: JobReport) => void;
  /**
   * Something went wrong without stopping the agent: an inbound message that is not valid
   * (malformed, hostile, for another device), a refused shadow update, a publish that failed.
   * Nothing in the configuration changes because of it.
   */
  error: (error: FleetError) => void;
}
