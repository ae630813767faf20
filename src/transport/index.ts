/**
 * Transports: the `Transport` interface, the shared base class, reconnect backoff, link profiles
 * (LoRa, NB-IoT, Wi-Fi, Ethernet) and LoRa airtime arithmetic. Implementations live in
 * `fleetkit/memory` (MemoryBroker, MemoryTransport) and `fleetkit/mqtt` (MqttTransport).
 *
 * @module
 */
export { BaseTransport } from './base-transport.js';
export type { TransportOptions } from './base-transport.js';
export { exponentialBackoff, seededRandom } from './backoff.js';
export type { BackoffStrategy, ExponentialBackoffOptions } from './backoff.js';
export { BATCH_MAGIC, decodeBatch, encodeBatch } from './batch-frame.js';
export { ethernet, lora, nbiot, wifi, withLinkProfile } from './link-profile.js';
export type { IpProfile, LinkProfile, LoraProfile, LoraProfileOptions, NbiotProfile, NbiotProfileOptions } from './link-profile.js';
export { loraMaxPayload, loraTimeOnAirMs } from './lora.js';
export type { LoraDataRate } from './lora.js';
export { DEFAULT_QUEUE_MAX_MESSAGES } from './publish-queue.js';
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
} from './types.js';
export type { Clock, TimerHandle } from '../clock.js';
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
