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

/** A message the monitor did not process because its tenant or device is over its message quota. */
export interface MessageThrottledEvent {
  /** The topic. */
  readonly topic: string;
  /** The tenant. */
  readonly tenantId: string;
  /** The device. */
  readonly deviceId: string;
  /** When, epoch ms. */
  readonly at: number;
  /** After how long the same message would have been admitted, ms. */
  readonly retryAfterMs: number;
  /** Whose limit: the tenant's or the device's own. */
  readonly scope: 'tenant' | 'device';
}

/** The latest vitals of one watched device (from `HealthMonitor.devices`). */
export interface DeviceVitals {
  /** The device. */
  readonly deviceId: string;
  /** When it was last heard from, epoch ms. */
  readonly lastSeen: number;
  /** Heard from within the heartbeat interval + grace. */
  readonly online: boolean;
  /** Silent for `silentAfterMs` or more. */
  readonly silent: boolean;
  /** Its latest health status, if rated. */
  readonly health: HealthStatus | undefined;
  /** The firmware version it reported (or the registry holds). */
  readonly firmwareVersion: string | undefined;
  /** Latest battery level reported, %. */
  readonly batteryPct: number | undefined;
  /** Latest signal strength reported, dBm. */
  readonly rssiDbm: number | undefined;
}

/** A tenant's message figures (from `HealthMonitor.network`). */
export interface NetworkStats {
  /** Heartbeats processed. */
  readonly heartbeats: number;
  /** Telemetry messages processed. */
  readonly telemetry: number;
  /** Bytes of the processed messages. */
  readonly bytes: number;
  /** Messages refused (malformed, not registered). */
  readonly rejected: number;
  /** Messages not processed because of a quota. */
  readonly throttled: number;
  /** Messages missing from the devices' sequence numbers (gaps in `seq`). */
  readonly lost: number;
  /** processed ÷ (processed + lost); 1 when nothing was expected. */
  readonly deliveryRate: number;
  /** Arrival time − the message's `ts`, ms, over the last one to two latency windows. */
  readonly latency: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Samples behind the percentiles. */
  readonly latencySamples: number;
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
  /** A message was not processed: its tenant or device is over its message quota. */
  'message:throttled': (event: MessageThrottledEvent) => void;
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
