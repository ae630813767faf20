/**
 * The typed events, alerts and statistics of a `HealthMonitor`.
 */
import type { FleetError } from '../errors.js';
import type { HealthReason, HealthStatus } from '../lifecycle/health.js';
import type { RotationItem } from '../lifecycle/rotation.js';
import type { DeviceStats } from '../store/device-store.js';

/** The device an alert or event is about. */
export interface DeviceAt {
  /** The tenant. */
  readonly tenantId: string;
  /** The device. */
  readonly deviceId: string;
  /** When it was noticed (epoch ms, the monitor's clock). */
  readonly at: number;
}

/** Nothing (heartbeat or telemetry) arrived for `silentAfterMs` (10 minutes by default). */
export interface DeviceSilentAlert extends DeviceAt {
  readonly type: 'device-silent';
  /** When the device was last heard from. */
  readonly lastSeen: number;
}

/** A silent device was heard from again. */
export interface DeviceSilenceEndedAlert extends DeviceAt {
  readonly type: 'device-silence-ended';
  /** When it had last been heard from before. */
  readonly lastSeen: number;
}

/** The monitor moved an active device to `degraded` (`health_check_failed`). */
export interface DeviceDegradedAlert extends DeviceAt {
  readonly type: 'device-degraded';
  /** `heartbeat`: too many heartbeats missed; `health`: a critical health evaluation. */
  readonly cause: 'heartbeat' | 'health';
  /** Why, in words (the audit reason). */
  readonly reason: string;
}

/** The monitor moved a degraded device back to `active` (`auto_recovery`). */
export interface DeviceRecoveredAlert extends DeviceAt {
  readonly type: 'device-recovered';
}

/** A device's health status changed (good, warning, critical). */
export interface HealthChangedAlert extends DeviceAt {
  readonly type: 'health-changed';
  /** The new status. */
  readonly status: HealthStatus;
  /** The previous status, or `undefined` for the first evaluation. */
  readonly previous: HealthStatus | undefined;
  /** The evaluation's reasons. */
  readonly reasons: readonly HealthReason[];
}

/** A device certificate expires within the horizon (or has expired): an item of the rotation plan. */
export interface CertificateExpiringAlert extends DeviceAt {
  readonly type: 'certificate-expiring';
  /** The rotation plan's item (`rotate` or `reprovision`). */
  readonly item: RotationItem;
}

/** Every alert a `HealthMonitor` raises. */
export type HealthAlert = DeviceSilentAlert | DeviceSilenceEndedAlert | DeviceDegradedAlert | DeviceRecoveredAlert | HealthChangedAlert | CertificateExpiringAlert;

/** A heartbeat or telemetry message the monitor refused; nothing was changed. */
export interface MonitorRejectedEvent {
  /** The topic. */
  readonly topic: string;
  /** The tenant in the topic, when it parsed. */
  readonly tenantId?: string;
  /** The device in the topic, when it parsed. */
  readonly deviceId?: string;
  /** Why (`INVALID_PAYLOAD`, `DEVICE_NOT_FOUND`, `TENANT_MISMATCH`, `INVALID_TOPIC`). */
  readonly error: FleetError;
}

/** Every event of a `HealthMonitor`. */
export interface HealthMonitorEvents {
  /** An alert. */
  alert: (alert: HealthAlert) => void;
  /** A device became online: heard from after being offline or never seen by this monitor. */
  'device:online': (event: DeviceAt) => void;
  /** A device went offline: its heartbeat is missed (more than interval + grace since it was last heard from). */
  'device:offline': (event: DeviceAt & { readonly lastSeen: number }) => void;
  /** A message was refused. */
  'message:rejected': (event: MonitorRejectedEvent) => void;
  /** A failure of the monitor itself (a store or a transition failed). */
  error: (error: FleetError) => void;
}

/** Fleet statistics of one tenant: the registry's counts plus what the monitor sees live. */
export interface FleetHealthStats extends DeviceStats {
  /** Devices the monitor has heard from and still watches. */
  readonly monitored: number;
  /** Of those, heard from within interval + grace. */
  readonly online: number;
  /** Of those, silent for `silentAfterMs` or more. */
  readonly silent: number;
  /** Messages of the tenant refused since the monitor started. */
  readonly rejectedMessages: number;
}
