/**
 * The typed events and statistics of a `FleetRegistry`.
 */
import type { FleetError, FleetErrorCode } from '../errors.js';
import type { LifecycleEventType, LifecycleState } from '../lifecycle/states.js';
import type { RegisteredDevice } from '../store/device-store.js';
import type { EffectOutcome } from './effect-runner.js';

/** How a device provisioned. */
export type ProvisioningMethod = 'x509' | 'symmetric-key';

/** A device was added to the registry by the application (pre-registered, `unprovisioned`). */
export interface DeviceRegisteredEvent {
  /** The tenant. */
  readonly tenantId: string;
  /** The device. */
  readonly deviceId: string;
  /** The stored record. */
  readonly device: RegisteredDevice;
}

/** A device provisioned over the wire and is now `active`. */
export interface DeviceProvisionedEvent {
  /** The tenant. */
  readonly tenantId: string;
  /** The device. */
  readonly deviceId: string;
  /** The credential kind it proved. */
  readonly method: ProvisioningMethod;
  /** The stored record. */
  readonly device: RegisteredDevice;
}

/** A provisioning request was refused (and answered with a rejection when the topic allowed one). */
export interface ProvisioningRefusedEvent {
  /** The tenant in the request topic, when the topic was valid. */
  readonly tenantId?: string;
  /** The device id the request claimed, when the topic was valid. */
  readonly claimedId?: string;
  /** The method requested, when the payload said. */
  readonly method?: ProvisioningMethod;
  /** Why. */
  readonly error: FleetError;
}

/** A lifecycle transition was stored and its effects ran. */
export interface DeviceTransitionedEvent {
  /** The tenant. */
  readonly tenantId: string;
  /** The device. */
  readonly deviceId: string;
  /** State before. */
  readonly from: LifecycleState;
  /** State after; `null` when the record was removed (`data_wiped`). */
  readonly to: LifecycleState | null;
  /** The event. */
  readonly event: LifecycleEventType;
  /** The stored record after it, or `undefined` when removed. */
  readonly device: RegisteredDevice | undefined;
  /** What the effect runner did. */
  readonly outcomes: readonly EffectOutcome[];
}

/** Every event of a `FleetRegistry`. */
export interface FleetRegistryEvents {
  /** The application registered a device. */
  'device:registered': (event: DeviceRegisteredEvent) => void;
  /** A device provisioned. */
  'device:provisioned': (event: DeviceProvisionedEvent) => void;
  /** A provisioning request was refused. */
  'provisioning:refused': (event: ProvisioningRefusedEvent) => void;
  /** A lifecycle transition happened (decommissioning and wipes included). */
  'device:transitioned': (event: DeviceTransitionedEvent) => void;
  /** A failure of the registry itself (a store or a publish failed). */
  error: (error: FleetError) => void;
}

/** Provisioning counters of one tenant since the registry started. */
export interface ProvisioningStats {
  /** Challenges (nonces) issued. */
  readonly challenges: number;
  /** Devices provisioned. */
  readonly accepted: number;
  /** Requests refused. */
  readonly refused: number;
  /** Refusals per error code. */
  readonly refusedByCode: Readonly<Partial<Record<FleetErrorCode, number>>>;
}
