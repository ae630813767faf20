/**
 * The ESP32 firmware's enumerations as they appear on the wire (the lab's names), and their
 * mapping to the SDK's vocabulary. On the wire each may be a name or its integer index.
 */
import { describeValue } from '../../describe-value.js';
import { FleetError } from '../../errors.js';
import { COMMAND_ACK_STATUSES, type CommandAckStatus } from '../../protocol/command-wire.js';
import type { HealthStatus } from '../../lifecycle/health.js';
import type { LifecycleState } from '../../lifecycle/states.js';

/** The lifecycle states as the ESP32 firmware names them, in index order (0 = `UNPROVISIONED`). */
export const ESP32_LIFECYCLE_STATES = ['UNPROVISIONED', 'PROVISIONING', 'ACTIVE', 'DEGRADED', 'MAINTENANCE', 'DECOMMISSIONED'] as const;
/** A lifecycle state as the ESP32 firmware names it. */
export type Esp32LifecycleState = (typeof ESP32_LIFECYCLE_STATES)[number];

/** The health levels as the ESP32 firmware names them, in index order (0 = `HEALTH_GOOD`). */
export const ESP32_HEALTH_STATUSES = ['HEALTH_GOOD', 'HEALTH_WARNING', 'HEALTH_CRITICAL'] as const;
/** A health level as the ESP32 firmware names it. */
export type Esp32HealthStatus = (typeof ESP32_HEALTH_STATUSES)[number];

/** The commands the ESP32 firmware answers, in index order (0 = `diagnostics`). */
export const ESP32_COMMANDS = [
  'diagnostics',
  'led_blink',
  'sensor_read',
  'enter_maintenance',
  'exit_maintenance',
  'set_telemetry_interval',
  'set_heartbeat_interval',
  'reboot',
  'ota_update',
  'decommission',
] as const;
/** A command the ESP32 firmware answers. */
export type Esp32Command = (typeof ESP32_COMMANDS)[number];

const CORE_STATES: readonly LifecycleState[] = ['unprovisioned', 'provisioning', 'active', 'degraded', 'maintenance', 'decommissioned'];
const CORE_HEALTH: readonly HealthStatus[] = ['good', 'warning', 'critical'];

/** The core's lifecycle state for an ESP32 state name. */
export function esp32StateToCore(state: Esp32LifecycleState): LifecycleState {
  return CORE_STATES[ESP32_LIFECYCLE_STATES.indexOf(state)] as LifecycleState;
}

/** The ESP32 state name for a core lifecycle state. */
export function coreStateToEsp32(state: LifecycleState): Esp32LifecycleState {
  return ESP32_LIFECYCLE_STATES[CORE_STATES.indexOf(state)] as Esp32LifecycleState;
}

/** The core's health status for an ESP32 health name. */
export function esp32HealthToCore(health: Esp32HealthStatus): HealthStatus {
  return CORE_HEALTH[ESP32_HEALTH_STATUSES.indexOf(health)] as HealthStatus;
}

/** The ESP32 health name for a core health status. */
export function coreHealthToEsp32(health: HealthStatus): Esp32HealthStatus {
  return ESP32_HEALTH_STATUSES[CORE_HEALTH.indexOf(health)] as Esp32HealthStatus;
}

/**
 * Normalises an enum spelling: upper case, `-` and spaces as `_`.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `text` is not a string.
 */
export function enumKey(text: string): string {
  if (typeof text !== 'string') throw new FleetError('INVALID_ARGUMENT', `enumKey(text): text must be a string such as "HEALTH_GOOD", got ${describeValue(text)}`, { status: 400 });
  return text.trim().toUpperCase().replace(/[-\s]+/g, '_');
}

/** @internal Every spelling (normalised with {@link enumKey}) of a lifecycle state. */
export const STATE_SPELLINGS: ReadonlyMap<string, LifecycleState> = new Map<string, LifecycleState>(
  ESP32_LIFECYCLE_STATES.flatMap((s, i) => [
    [s, CORE_STATES[i] as LifecycleState],
    [`STATE_${s}`, CORE_STATES[i] as LifecycleState],
  ]),
);

/** @internal Every spelling of a health level (`HEALTH_GOOD`, `GOOD`, `good`, `OK`, …). */
export const HEALTH_SPELLINGS: ReadonlyMap<string, HealthStatus> = new Map<string, HealthStatus>([
  ['HEALTH_GOOD', 'good'],
  ['GOOD', 'good'],
  ['OK', 'good'],
  ['HEALTHY', 'good'],
  ['HEALTH_WARNING', 'warning'],
  ['WARNING', 'warning'],
  ['WARN', 'warning'],
  ['HEALTH_CRITICAL', 'critical'],
  ['CRITICAL', 'critical'],
  ['CRIT', 'critical'],
]);

/** @internal Every spelling of a command acknowledgement status. */
export const ACK_SPELLINGS: ReadonlyMap<string, CommandAckStatus> = new Map<string, CommandAckStatus>([
  ['RECEIVED', 'received'],
  ['ACK', 'received'],
  ['ACK_RECEIVED', 'received'],
  ['ACCEPTED', 'received'],
  ['EXECUTING', 'executing'],
  ['ACK_EXECUTING', 'executing'],
  ['IN_PROGRESS', 'executing'],
  ['RUNNING', 'executing'],
  ['SUCCEEDED', 'succeeded'],
  ['ACK_SUCCEEDED', 'succeeded'],
  ['SUCCESS', 'succeeded'],
  ['OK', 'succeeded'],
  ['DONE', 'succeeded'],
  ['COMPLETED', 'succeeded'],
  ['FAILED', 'failed'],
  ['ACK_FAILED', 'failed'],
  ['FAILURE', 'failed'],
  ['ERROR', 'failed'],
  ['REJECTED', 'rejected'],
  ['ACK_REJECTED', 'rejected'],
  ['UNSUPPORTED', 'rejected'],
  ['UNKNOWN_COMMAND', 'rejected'],
]);

/** @internal Ack statuses by integer index (0 = `received` … 4 = `rejected`). */
export const ACK_BY_INDEX: readonly CommandAckStatus[] = COMMAND_ACK_STATUSES;
/** @internal Core lifecycle states by integer index. */
export const STATE_BY_INDEX: readonly LifecycleState[] = CORE_STATES;
/** @internal Core health statuses by integer index. */
export const HEALTH_BY_INDEX: readonly HealthStatus[] = CORE_HEALTH;
