/**
 * `fleetkit/memory`: in-process implementations — {@link MemoryBroker} and {@link MemoryTransport}
 * (zero setup, seeded fault injection, deterministic under a `SimulatedClock`) — plus the
 * dependency-free transport pieces: the `Transport` types, backoff and link profiles — and the
 * in-memory stores ({@link MemoryShadowStore}, {@link MemoryDeviceStore}, {@link MemoryJobStore},
 * {@link MemoryCommandStore}, {@link MemoryAuditLog}, {@link MemoryPresenceStore}; {@link createMemoryStores} makes a set).
 *
 * @module
 */
export { MemoryBroker } from './transport/memory-broker.js';
export type { MemoryBrokerClient, MemoryBrokerOptions, MemoryBrokerStats, MemoryConnectOptions, MemoryFaults } from './transport/memory-broker.js';
export { MemoryTransport } from './transport/memory-transport.js';
export type { MemoryTransportOptions } from './transport/memory-transport.js';
export { BaseTransport } from './transport/base-transport.js';
export type { TransportOptions } from './transport/base-transport.js';
export { exponentialBackoff, seededRandom } from './transport/backoff.js';
export type { BackoffStrategy, ExponentialBackoffOptions } from './transport/backoff.js';
export { BATCH_MAGIC, decodeBatch, encodeBatch } from './transport/batch-frame.js';
export { ethernet, lora, nbiot, wifi, withLinkProfile } from './transport/link-profile.js';
export type { IpProfile, LinkProfile, LoraProfile, LoraProfileOptions, NbiotProfile, NbiotProfileOptions } from './transport/link-profile.js';
export { loraMaxPayload, loraTimeOnAirMs } from './transport/lora.js';
export type { LoraDataRate } from './transport/lora.js';
export type {
  InboundMessage,
  MessageHandler,
  OfflineQueueOptions,
  OverflowPolicy,
  PublishOptions,
  QoS,
  SubscribeOptions,
  Transport,
  TransportEvents,
  TransportState,
  Unsubscribe,
} from './transport/types.js';
export {
  MemoryAuditLog,
  MemoryCommandStore,
  MemoryDeviceStore,
  MemoryJobStore,
  MemoryPresenceStore,
  MemoryShadowStore,
  MAX_PRESENCE_BATCH,
  MAX_PRESENCE_LIMITS,
  createMemoryStores,
} from './store/index.js';
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
  PresenceBeat,
  PresenceRaised,
  PresenceRecord,
  PresenceStore,
  PresenceTouched,
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
} from './store/index.js';
export type { Clock, TimerHandle } from './clock.js';
export { FleetError, isFleetError } from './errors.js';
export type { FleetErrorCode, FleetErrorOptions } from './errors.js';
