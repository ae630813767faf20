/**
 * A `Transport` over an in-process {@link MemoryBroker}: zero setup, deterministic under a
 * `SimulatedClock` and a seeded broker, and fast enough for fleet-scale simulations.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { BaseTransport, type OpenResult, type OutgoingMessage, type TransportOptions } from './base-transport.js';
import type { MemoryBroker, MemoryBrokerClient } from './memory-broker.js';
import { booleanOption, invalidOption, optionsObject } from './options.js';
import type { InboundMessage, QoS } from './types.js';

/** Options of {@link MemoryTransport}. */
export interface MemoryTransportOptions extends TransportOptions {
  /** The broker to attach to. */
  readonly broker: MemoryBroker;
  /** The client id (unique per broker; a second connection with the same id takes the session over). */
  readonly clientId: string;
  /**
   * Start with a fresh session on every connect (true) or keep a persistent session whose
   * subscriptions and QoS 1 messages survive disconnects (false).
   * @defaultValue true
   */
  readonly clean?: boolean;
  /** Handed to the broker's `authenticate` option. */
  readonly credentials?: unknown;
}

/** The broker methods a MemoryTransport calls (a duck-type check: a second copy of fleetkit's MemoryBroker class is fine). */
const BROKER_METHODS = ['connect', 'publish', 'subscribe', 'unsubscribe', 'disconnectClient'] as const;

function isBroker(value: unknown): value is MemoryBroker {
  return typeof value === 'object' && value !== null && BROKER_METHODS.every((m) => typeof (value as Record<string, unknown>)[m] === 'function');
}

/**
 * A transport over a {@link MemoryBroker}.
 *
 * @example
 * ```ts
 * import { MemoryBroker, MemoryTransport } from 'fleetkit/memory';
 * const broker = new MemoryBroker();
 * const device = new MemoryTransport({ broker, clientId: 'pump-7' });
 * await device.connect();
 * await device.publish('dt/acme/pump-7/telemetry', '{"ts":1,"values":{}}', { qos: 1 });
 * ```
 */
export class MemoryTransport extends BaseTransport {
  readonly #broker: MemoryBroker;
  readonly #clean: boolean;
  readonly #credentials: unknown;
  #link: MemoryBrokerClient | undefined;

  /**
   * @param options - broker, client id, session kind and the shared transport options
   * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
   */
  constructor(options: MemoryTransportOptions) {
    const o = optionsObject<MemoryTransportOptions>('new MemoryTransport(options)', options, "{ broker: new MemoryBroker(), clientId: 'pump-7' }", true);
    super('MemoryTransport', o.clientId as string, o as MemoryTransportOptions);
    if (!isBroker(o.broker)) {
      throw invalidOption('MemoryTransport', `options.broker must be a MemoryBroker (new MemoryBroker()), got ${describeValue(o.broker)}`);
    }
    this.#broker = o.broker;
    this.#clean = booleanOption('MemoryTransport', 'clean', o.clean, true);
    this.#credentials = o.credentials;
    this._qos0InOrder = true;
  }

  /** @internal */
  protected _open(): Promise<OpenResult> {
    // Each connection gets its own link object, so a late delivery to an old link is ignored.
    const link: MemoryBrokerClient = {
      deliver: (m: InboundMessage) => {
        if (this.#link === link) this._deliver(m);
      },
      disconnected: (reason: FleetError) => {
        if (this.#link !== link) return;
        this.#link = undefined;
        this._linkLost(reason);
      },
    };
    try {
      this.#link = link;
      const result = this.#broker.connect(link, { clientId: this.clientId, clean: this.#clean, credentials: this.#credentials });
      return Promise.resolve(result);
    } catch (error) {
      this.#link = undefined;
      return Promise.reject(error);
    }
  }

  /** @internal */
  protected _send(message: OutgoingMessage, done: (error?: FleetError) => void): void {
    if (this.#link === undefined) {
      done(new FleetError('NOT_CONNECTED', `MemoryTransport "${this.clientId}" lost its link before sending`, { status: 503 }));
      return;
    }
    // The broker accepts (or refuses) synchronously: for QoS 1 that is the PUBACK.
    try {
      this.#broker.publish(message.topic, message.payload, message.qos, message.retain, this.clientId);
    } catch (error) {
      done(error as FleetError);
      return;
    }
    done();
  }

  /** @internal */
  protected _subscribeRemote(filters: readonly { filter: string; qos: QoS }[]): Promise<void> {
    try {
      for (const { filter, qos } of filters) this.#broker.subscribe(this.clientId, filter, qos);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal */
  protected _unsubscribeRemote(filters: readonly string[]): Promise<void> {
    for (const filter of filters) this.#broker.unsubscribe(this.clientId, filter);
    return Promise.resolve();
  }

  /** @internal */
  protected _end(): Promise<void> {
    if (this.#link !== undefined) {
      this.#link = undefined;
      this.#broker.disconnectClient(this.clientId);
    }
    return Promise.resolve();
  }
}
