/**
 * Link profiles: a decorator over any `Transport` that makes it behave like the radio or wire a
 * device really has — LoRaWAN (tiny payloads, a duty-cycle budget, confirmed uplinks only for
 * critical messages), NB-IoT (batching to save connection overhead), Wi-Fi and Ethernet (QoS 1).
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { assertTopicName } from '../protocol/topic-filter.js';
import { encodeBatch, decodeBatch } from './batch-frame.js';
import { loraMaxPayload, loraTimeOnAirMs, type LoraDataRate } from './lora.js';
import { clockOption, optionsObject } from './options.js';
import type { MessageHandler, PublishOptions, QoS, SubscribeOptions, Transport, TransportEvents, TransportState, Unsubscribe } from './types.js';
import { utf8Bytes } from '../utf8.js';

/** Options of {@link lora}. */
export interface LoraProfileOptions {
  /**
   * EU868 data rate; sets the payload cap (51 B at DR0–2, 115 B at DR3, 222 B at DR4–6) and the airtime.
   * @defaultValue 0
   */
  readonly dataRate?: LoraDataRate;
  /**
   * Override of the payload cap in bytes (at most the data rate's cap).
   * @defaultValue the data rate's cap
   */
  readonly maxPayloadBytes?: number;
  /**
   * Fraction of time the device may transmit (EU868 g1 sub-band: 1 %).
   * @defaultValue 0.01
   */
  readonly dutyCycle?: number;
  /**
   * The window the duty cycle is measured over: the budget is `dutyCycle × windowMs` of airtime,
   * refilled continuously.
   * @defaultValue 3600000 (one hour)
   */
  readonly windowMs?: number;
  /**
   * Time source for the budget.
   * @defaultValue systemClock
   */
  readonly clock?: Clock;
}

/** Options of {@link nbiot}. */
export interface NbiotProfileOptions {
  /**
   * Most messages in one batch.
   * @defaultValue 10
   */
  readonly maxBatch?: number;
  /**
   * Longest time the first message of a batch waits (ms).
   * @defaultValue 1000
   */
  readonly maxDelayMs?: number;
  /**
   * Largest batch frame in bytes; a message that would overflow it flushes the batch first.
   * @defaultValue 16384
   */
  readonly maxBatchBytes?: number;
  /**
   * Time source for the batching delay.
   * @defaultValue systemClock
   */
  readonly clock?: Clock;
}

/** A resolved LoRa profile. */
export interface LoraProfile {
  readonly kind: 'lora';
  readonly dataRate: LoraDataRate;
  readonly maxPayloadBytes: number;
  readonly dutyCycle: number;
  readonly windowMs: number;
  readonly clock: Clock;
}
/** A resolved NB-IoT profile. */
export interface NbiotProfile {
  readonly kind: 'nbiot';
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxBatchBytes: number;
  readonly clock: Clock;
}
/** A Wi-Fi or Ethernet profile: MQTT with QoS 1 unless a publish asks for QoS 0. */
export interface IpProfile {
  readonly kind: 'wifi' | 'ethernet';
}
/** Any link profile. */
export type LinkProfile = LoraProfile | NbiotProfile | IpProfile;

function inRange(owner: string, name: string, value: unknown, min: number, max: number, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new FleetError('INVALID_ARGUMENT', `${owner}: ${name} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${describeValue(value)}`, { status: 400 });
  }
  return value;
}

/**
 * A LoRaWAN (EU868) link profile.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
 * @example
 * ```ts
 * const device = withLinkProfile(transport, lora({ dataRate: 0 }));
 * await device.publish(topic, cborCodec.encode(sample));                // unconfirmed (QoS 0), ≤ 51 bytes
 * await device.publish(topic, cborCodec.encode(alarm), { critical: true }); // confirmed (QoS 1)
 * ```
 */
export function lora(options: LoraProfileOptions = {}): LoraProfile {
  const o = optionsObject<LoraProfileOptions>('lora(options)', options, '{ dataRate: 0, dutyCycle: 0.01 }');
  const dataRate = o.dataRate ?? 0;
  const cap = loraMaxPayload(dataRate);
  return {
    kind: 'lora',
    dataRate,
    maxPayloadBytes: inRange('lora', 'maxPayloadBytes', o.maxPayloadBytes ?? cap, 1, cap, true),
    dutyCycle: inRange('lora', 'dutyCycle', o.dutyCycle ?? 0.01, Number.MIN_VALUE, 1, false),
    windowMs: inRange('lora', 'windowMs', o.windowMs ?? 3_600_000, 1, Number.MAX_SAFE_INTEGER, false),
    clock: clockOption('lora', o.clock, systemClock),
  };
}

/**
 * An NB-IoT link profile: messages to the same topic within `maxDelayMs` (or up to `maxBatch`)
 * travel as one publish, a batch frame that subscribers through this decorator unpack.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
 */
export function nbiot(options: NbiotProfileOptions = {}): NbiotProfile {
  const o = optionsObject<NbiotProfileOptions>('nbiot(options)', options, '{ maxBatch: 10, maxDelayMs: 1000 }');
  return {
    kind: 'nbiot',
    maxBatch: inRange('nbiot', 'maxBatch', o.maxBatch ?? 10, 1, 0xffff, true),
    maxDelayMs: inRange('nbiot', 'maxDelayMs', o.maxDelayMs ?? 1000, 0, 86_400_000, false),
    maxBatchBytes: inRange('nbiot', 'maxBatchBytes', o.maxBatchBytes ?? 16_384, 16, 268_435_455, true),
    clock: clockOption('nbiot', o.clock, systemClock),
  };
}

/** A Wi-Fi link profile (QoS 1 by default). */
export function wifi(): IpProfile {
  return { kind: 'wifi' };
}

/** An Ethernet link profile (QoS 1 by default). */
export function ethernet(): IpProfile {
  return { kind: 'ethernet' };
}


/** Validates a publish the way every transport does, before a profile acts on it. */
function bytesOf(topic: string, payload: Uint8Array | string, options: PublishOptions | undefined): Uint8Array {
  assertTopicName(topic);
  const qos = options?.qos;
  if (qos !== undefined && qos !== 0 && qos !== 1) throw new FleetError('INVALID_ARGUMENT', `publish: qos must be 0 or 1, got ${describeValue(qos)}`, { status: 400 });
  if (typeof payload === 'string') return utf8Bytes(payload);
  if (payload instanceof Uint8Array) return payload;
  throw new FleetError('INVALID_PAYLOAD', `publish: payload must be a Uint8Array or a string, got ${typeof payload}`, { status: 400 });
}

interface Pending {
  readonly bytes: Uint8Array;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

interface Batch {
  items: Pending[];
  bytes: number;
  qos: QoS;
  timer: TimerHandle | undefined;
}

/**
 * Decorates `transport` with a link profile. The result is a `Transport` too: connect, close,
 * state and events pass through; publish (and, for NB-IoT, subscribe) follow the profile.
 *
 * - `lora`: a payload over the cap is rejected with `PAYLOAD_TOO_LARGE` (413) — fleetkit does not
 *   fragment, because every fragment would spend duty cycle and one lost fragment loses the whole;
 *   a publish beyond the duty-cycle budget is rejected with `TOO_MANY_REQUESTS` (429) and
 *   `details.retryAfterMs`; QoS is 1 ("confirmed") only with `critical: true`, else 0.
 * - `nbiot`: batching as described in {@link nbiot}; retained messages are never batched.
 * - `wifi`, `ethernet`: QoS 1 unless the publish says `qos: 0`.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `transport` is not a Transport or `profile` is not
 *   one of `lora()`, `nbiot()`, `wifi()`, `ethernet()`.
 * @example
 * ```ts
 * const link = withLinkProfile(new MemoryTransport({ broker, clientId: 'meter-9' }), nbiot({ maxBatch: 20 }));
 * ```
 */
export function withLinkProfile(transport: Transport, profile: LinkProfile): Transport {
  const t = transport as Partial<Transport> | null | undefined;
  if (typeof t?.publish !== 'function' || typeof t.subscribe !== 'function' || typeof t.connect !== 'function') {
    throw new FleetError('INVALID_ARGUMENT', `withLinkProfile: the first argument must be a Transport (e.g. a MemoryTransport or MqttTransport), got ${t === null ? 'null' : typeof t}`);
  }
  const kind: unknown = typeof profile === 'object' && profile !== null ? profile.kind : undefined;
  switch (kind) {
    // A profile made by hand (or deserialised) is checked as the factory would: not a TypeError later.
    case 'lora':
      return new LoraLink(transport, lora(profile as LoraProfile));
    case 'nbiot':
      return new NbiotLink(transport, nbiot(profile as NbiotProfile));
    case 'wifi':
    case 'ethernet':
      return new IpLink(transport);
    default:
      throw new FleetError('INVALID_ARGUMENT', `withLinkProfile: unknown profile ${describeValue(profile)}${typeof kind === 'string' ? ` of kind ${describeValue(kind)}` : ''}; use lora(), nbiot(), wifi() or ethernet()`, { status: 400 });
  }
}

/** Passes everything through to the decorated transport. */
class LinkDecorator implements Transport {
  protected readonly inner: Transport;
  constructor(inner: Transport) {
    this.inner = inner;
  }
  get clientId(): string {
    return this.inner.clientId;
  }
  get state(): TransportState {
    return this.inner.state;
  }
  connect(): Promise<void> {
    return this.inner.connect();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    return this.inner.publish(topic, payload, options);
  }
  subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.inner.subscribe(filter, handler, options);
  }
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.inner.on(event, listener);
    return this;
  }
  once<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.inner.once(event, listener);
    return this;
  }
  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.inner.off(event, listener);
    return this;
  }
}

class IpLink extends LinkDecorator {
  override publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    return this.inner.publish(topic, payload, { ...options, qos: options?.qos ?? 1 });
  }
}

class LoraLink extends LinkDecorator {
  readonly #p: LoraProfile;
  #budgetMs: number;
  #refilledAt: number;

  constructor(inner: Transport, profile: LoraProfile) {
    super(inner);
    this.#p = profile;
    this.#budgetMs = profile.dutyCycle * profile.windowMs;
    this.#refilledAt = profile.clock.now();
  }

  /** Airtime (ms) still available now. */
  get budgetMs(): number {
    this.#refill();
    return this.#budgetMs;
  }

  #refill(): void {
    const now = this.#p.clock.now();
    const capacity = this.#p.dutyCycle * this.#p.windowMs;
    this.#budgetMs = Math.min(capacity, this.#budgetMs + Math.max(0, now - this.#refilledAt) * this.#p.dutyCycle);
    this.#refilledAt = now;
  }

  override publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = bytesOf(topic, payload, options);
    } catch (e) {
      return Promise.reject(e);
    }
    // A closed transport sends nothing: reject with its error and spend no airtime.
    if (this.inner.state === 'closed') return this.inner.publish(topic, bytes, options);
    const { maxPayloadBytes: cap, dataRate } = this.#p;
    if (bytes.byteLength > cap) {
      return Promise.reject(
        new FleetError('PAYLOAD_TOO_LARGE', `LoRa DR${dataRate} carries at most ${cap} bytes per uplink; this payload is ${bytes.byteLength} bytes. Use a compact codec (fleetkit/cbor), send fewer fields, or a faster data rate (DR3: 115 B, DR4+: 222 B)`, {
          status: 413,
          details: { size: bytes.byteLength, maxBytes: cap, dataRate, topic },
        }),
      );
    }
    const airtime = loraTimeOnAirMs(bytes.byteLength, dataRate);
    this.#refill();
    if (airtime > this.#budgetMs) {
      const retryAfterMs = Math.ceil((airtime - this.#budgetMs) / this.#p.dutyCycle);
      return Promise.reject(
        new FleetError('TOO_MANY_REQUESTS', `LoRa duty-cycle budget exhausted (${(this.#p.dutyCycle * 100).toFixed(2)} % over ${this.#p.windowMs} ms): this ${Math.round(airtime)} ms uplink may go in ${retryAfterMs} ms; send less often or at a faster data rate`, {
          status: 429,
          details: { airtimeMs: airtime, budgetMs: this.#budgetMs, retryAfterMs, topic },
        }),
      );
    }
    this.#budgetMs -= airtime;
    // Confirmed uplinks cost a downlink each and gateways' downlink time is scarce: critical only.
    const qos: QoS = options?.critical === true ? 1 : 0;
    return this.inner.publish(topic, bytes, { qos, retain: options?.retain === true });
  }
}

class NbiotLink extends LinkDecorator {
  readonly #p: NbiotProfile;
  readonly #batches = new Map<string, Batch>();

  constructor(inner: Transport, profile: NbiotProfile) {
    super(inner);
    this.#p = profile;
  }

  override async close(): Promise<void> {
    // Send what is batched before closing: a pending batch is data the caller already handed over.
    await Promise.allSettled([...this.#batches.keys()].map((topic) => this.#flush(topic)));
    await this.inner.close();
  }

  override publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = bytesOf(topic, payload, options);
    } catch (e) {
      return Promise.reject(e);
    }
    // A closed transport sends nothing: reject at once rather than after the batching delay.
    if (this.inner.state === 'closed') return this.inner.publish(topic, bytes, options);
    if (options?.retain === true) {
      void this.#flush(topic);
      return this.inner.publish(topic, bytes, options);
    }
    const frameCost = 4 + bytes.byteLength;
    const current = this.#batches.get(topic);
    if (current !== undefined && 6 + current.bytes + frameCost > this.#p.maxBatchBytes) void this.#flush(topic);
    let batch = this.#batches.get(topic);
    if (batch === undefined) {
      batch = { items: [], bytes: 0, qos: 0, timer: undefined };
      this.#batches.set(topic, batch);
      batch.timer = this.#p.clock.setTimeout(() => void this.#flush(topic), this.#p.maxDelayMs);
    }
    const b = batch;
    const promise = new Promise<void>((resolve, reject) => b.items.push({ bytes, resolve, reject }));
    b.bytes += frameCost;
    if (options?.qos === 1) b.qos = 1;
    if (b.items.length >= this.#p.maxBatch) void this.#flush(topic);
    return promise;
  }

  override subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Unsubscribe> {
    return this.inner.subscribe(
      filter,
      (m) => {
        const parts = decodeBatch(m.payload);
        if (parts === undefined) handler(m);
        else for (const payload of parts) handler({ ...m, payload });
      },
      options,
    );
  }

  async #flush(topic: string): Promise<void> {
    const batch = this.#batches.get(topic);
    if (batch === undefined) return;
    this.#batches.delete(topic);
    if (batch.timer !== undefined) this.#p.clock.clearTimeout(batch.timer);
    try {
      await this.inner.publish(topic, encodeBatch(batch.items.map((i) => i.bytes)), { qos: batch.qos });
      for (const i of batch.items) i.resolve();
    } catch (e) {
      for (const i of batch.items) i.reject(e);
    }
  }
}
