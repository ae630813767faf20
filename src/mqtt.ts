/**
 * `fleetkit/mqtt`: {@link MqttTransport}, the `Transport` over an MQTT broker (mqtt.js is a peer
 * dependency: `npm install mqtt`).
 *
 * @module
 */
export { MqttTransport } from './transport/mqtt-transport.js';
export type { MqttTlsOptions, MqttTransportOptions } from './transport/mqtt-transport.js';
export { BaseTransport } from './transport/base-transport.js';
export type { TransportOptions } from './transport/base-transport.js';
export { exponentialBackoff, seededRandom } from './transport/backoff.js';
export type { BackoffStrategy, ExponentialBackoffOptions } from './transport/backoff.js';
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
export type { Clock, TimerHandle } from './clock.js';
export { FleetError, isFleetError } from './errors.js';
export type { FleetErrorCode, FleetErrorOptions } from './errors.js';
