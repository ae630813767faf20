/**
 * The `Transport` interface: one way to publish and subscribe whatever carries the bytes
 * (in-process memory broker, MQTT over TCP/TLS, a link-profile decorator over either).
 */
import type { FleetError } from '../errors.js';

/** MQTT quality of service: 0 = at most once, 1 = at least once (acknowledged by the broker). */
export type QoS = 0 | 1;

/**
 * Where a transport stands:
 * - `offline`: not connected (before the first `connect()`, or between reconnect attempts);
 * - `connecting`: an attempt is under way;
 * - `online`: connected, subscriptions restored, the queue draining;
 * - `closed`: terminal, after `close()` or an authentication failure. Create a new transport to retry.
 */
export type TransportState = 'connecting' | 'online' | 'offline' | 'closed';

/** Options of {@link Transport.publish}. */
export interface PublishOptions {
  /**
   * 0: fire and forget; 1: the promise settles when the broker acknowledges (PUBACK).
   * @defaultValue 0
   */
  readonly qos?: QoS;
  /**
   * Ask the broker to keep the message as the topic's retained message (an empty payload clears it).
   * @defaultValue false
   */
  readonly retain?: boolean;
  /**
   * Marks a message whose loss matters (an alarm, a command result). Plain transports ignore it;
   * the LoRa link profile sends only critical messages as confirmed uplinks.
   * @defaultValue false
   */
  readonly critical?: boolean;
}

/** Options of {@link Transport.subscribe}. */
export interface SubscribeOptions {
  /**
   * The maximum QoS the broker should deliver with.
   * @defaultValue 0
   */
  readonly qos?: QoS;
}

/** A message delivered to a subscription handler. Treat `payload` as read-only. */
export interface InboundMessage {
  /** The topic it was published to. */
  readonly topic: string;
  /** The raw bytes (decode them with a codec). */
  readonly payload: Uint8Array;
  /** The QoS it was delivered with: min(publish QoS, subscription QoS). */
  readonly qos: QoS;
  /** True when delivered from the retained store on subscribe. */
  readonly retain: boolean;
  /**
   * True when this is a re-delivery (MQTT DUP flag, or a duplicate injected by the memory
   * broker's fault injection): the layer above must be idempotent.
   */
  readonly duplicate: boolean;
  /**
   * An id the sender side assigned to this publication, when the transport knows one: the
   * memory broker numbers every publish (1, 2, 3, …; a duplicate repeats its id, reordering
   * shows as a smaller id after a larger one). MQTT packet ids are reused, so `MqttTransport`
   * leaves this undefined; put a sequence number in the payload instead.
   */
  readonly messageId?: number;
}

/** Receives messages for a subscription. Exceptions it throws are reported as `error` events. */
export type MessageHandler = (message: InboundMessage) => void;

/** Removes one subscription handler; resolves when the broker has confirmed (or at once when offline). */
export type Unsubscribe = () => Promise<void>;

/** Events every transport emits. */
export interface TransportEvents {
  /** The state changed. */
  state: (state: TransportState, previous: TransportState) => void;
  /**
   * A failure that did not reject a promise: a lost connection, a failed reconnect attempt,
   * a handler that threw, a queued message evicted by the overflow policy.
   */
  error: (error: FleetError) => void;
}

/** What a full offline queue does with one more message. */
export type OverflowPolicy = 'reject' | 'drop-oldest';

/** The bounded queue that holds publishes while offline (and beyond the in-flight bound). */
export interface OfflineQueueOptions {
  /**
   * Most messages held.
   * @defaultValue 1000
   */
  readonly maxMessages?: number;
  /**
   * `reject`: the new publish is rejected with `QUEUE_FULL` (nothing already queued is lost);
   * `drop-oldest`: the oldest queued message is evicted, its promise rejected with `QUEUE_FULL`,
   * and an `error` event is emitted (fresh data wins, as for telemetry).
   * @defaultValue 'reject'
   */
  readonly overflow?: OverflowPolicy;
}

/**
 * Publish/subscribe over some link, with MQTT semantics.
 *
 * @example
 * ```ts
 * await transport.connect();
 * const off = await transport.subscribe('dt/acme/+/telemetry', (m) => console.log(m.topic), { qos: 1 });
 * await transport.publish('dt/acme/dev-1/telemetry', jsonCodec.encode({ ts: 1, values: {} }), { qos: 1 });
 * await off();
 * await transport.close();
 * ```
 */
export interface Transport {
  /** The client id this transport connects with. */
  readonly clientId: string;
  /** The current {@link TransportState}. */
  readonly state: TransportState;
  /**
   * Connects and resolves once `online`. Transient failures are retried with the backoff
   * strategy (the promise stays pending meanwhile); calling it while online resolves at once.
   *
   * @throws FleetError `AUTH_FAILED` when the broker refuses the credentials (no retry follows),
   *   `TRANSPORT_CLOSED` when the transport is or becomes closed.
   */
  connect(): Promise<void>;
  /**
   * Disconnects for good: stops reconnecting, rejects queued publishes with `TRANSPORT_CLOSED`.
   * Idempotent.
   */
  close(): Promise<void>;
  /**
   * Publishes `payload` to `topic`. While not online the message waits in the bounded offline
   * queue. QoS 0 resolves once handed to the link (written, or once a backed-up link drains; it
   * rejects with `NOT_CONNECTED` when the link drops first); QoS 1 once the broker acknowledged it.
   *
   * @throws FleetError `INVALID_TOPIC`, `INVALID_ARGUMENT`, `QUEUE_FULL`, `TRANSPORT_CLOSED`, `NOT_CONNECTED`,
   *   `FORBIDDEN` (403) when the broker refused a QoS 1 message (an MQTT 5 PUBACK reason code
   *   0x80 or above, e.g. 0x87 for a client publish to `$SYS…` on mosquitto or the memory broker).
   */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void>;
  /**
   * Subscribes `handler` to `filter` (`+` and `#` wildcards; a leading wildcard does not match
   * `$…` topics). The subscription survives reconnects. Resolves when the broker has confirmed
   * it, or at once when offline (it is sent on connect). The handler gets the retained messages
   * matching `filter` once, even when the transport already holds the filter; handlers
   * registered earlier do not get them again.
   *
   * @returns a function that removes this handler
   * @throws FleetError `INVALID_TOPIC`, `FORBIDDEN` (the broker refused), `TRANSPORT_CLOSED`.
   */
  subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Unsubscribe>;
  /** Adds an event listener. */
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this;
  /** Adds a listener that runs once. */
  once<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this;
  /** Removes an event listener. */
  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this;
}
