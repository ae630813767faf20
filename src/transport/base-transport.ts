/**
 * The machinery every concrete transport shares: the state machine and its events, the
 * subscription registry and its restoration on reconnect, the bounded offline queue, the bound on
 * in-flight QoS 1 publishes, and reconnects paced by a backoff strategy on an injected clock.
 * A concrete transport only opens links, sends, subscribes and reports what arrives.
 */
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError, isFleetError } from '../errors.js';
import { assertTopicFilter, assertTopicName, matchingFilter } from '../protocol/topic-filter.js';
import { exponentialBackoff, type BackoffStrategy } from './backoff.js';
import { booleanOption, clockOption, invalidOption, optionsObject } from './options.js';
import { PublishQueue, queueFull, resolveQueueOptions, type QueuedPublish } from './publish-queue.js';
import { TopicTrie } from './topic-trie.js';
import { utf8Bytes } from '../utf8.js';
import type {
  InboundMessage,
  MessageHandler,
  OfflineQueueOptions,
  PublishOptions,
  QoS,
  SubscribeOptions,
  Transport,
  TransportEvents,
  TransportState,
  Unsubscribe,
} from './types.js';

/** Options every transport accepts. */
export interface TransportOptions {
  /**
   * Time source for reconnect timers (inject a `SimulatedClock` in tests).
   * @defaultValue systemClock
   */
  readonly clock?: Clock;
  /**
   * Paces reconnect attempts.
   * @defaultValue exponentialBackoff() — 500 ms initial ceiling, ×2 per attempt, 30 s cap, full jitter
   */
  readonly backoff?: BackoffStrategy;
  /** The bounded queue for publishes made while offline or beyond `maxInFlight`. */
  readonly queue?: OfflineQueueOptions;
  /**
   * Most QoS 1 publishes awaiting their acknowledgement at once (flow control); more wait in the queue.
   * @defaultValue 100
   */
  readonly maxInFlight?: number;
  /**
   * Reconnect by itself after losing the link.
   * @defaultValue true
   */
  readonly autoReconnect?: boolean;
}

/** @internal A message handed to a concrete transport for sending. */
export interface OutgoingMessage {
  readonly topic: string;
  readonly payload: Uint8Array;
  readonly qos: QoS;
  readonly retain: boolean;
}

/** @internal What a concrete transport learns when a link opens. */
export interface OpenResult {
  /** The broker still held this client's session (subscriptions, queued messages). */
  readonly sessionPresent: boolean;
}

interface Subscription {
  readonly filter: string;
  readonly handler: MessageHandler;
  readonly qos: QoS;
  active: boolean;
  /** The delivery tick at which it was registered: it takes retained messages on topics not delivered since. */
  readonly since: number;
}

interface FilterEntry {
  qos: QoS;
  count: number;
  /** The broker holds this subscription at this QoS and no handler added since waits for a SUBSCRIBE. */
  remote: boolean;
}

const RESOLVED: Promise<void> = Promise.resolve();
/** Topics whose last delivery the transport remembers; past it the memory starts over. */
const SEEN_TOPICS = 100_000;

/** What a thrown value says, without running its code (it may come from a caller's handler). */
function messageOf(cause: unknown): string {
  try {
    if (cause instanceof Error && typeof cause.message === 'string') return cause.message;
  } catch {
    // A Proxy whose traps throw: describe it instead.
  }
  return describeValue(cause);
}

function backoffOption(owner: string, backoff: unknown): BackoffStrategy {
  if (backoff === undefined) return exponentialBackoff();
  if (typeof backoff === 'object' && backoff !== null) {
    const b = backoff as { next?: unknown; reset?: unknown };
    if (typeof b.next === 'function' && typeof b.reset === 'function') return backoff as BackoffStrategy;
  }
  throw invalidOption(owner, `backoff must be a BackoffStrategy { next(), reset(), attempt } such as exponentialBackoff(), got ${describeValue(backoff)}`);
}

function closedError(clientId: string): FleetError {
  return new FleetError('TRANSPORT_CLOSED', `Transport "${clientId}" is closed; create a new transport to connect again`, { status: 503 });
}

/**
 * Base class of fleetkit's transports. Subclass it to carry fleetkit over another link: implement
 * `_open`, `_send`, `_subscribeRemote`, `_unsubscribeRemote` and `_end`; call `_deliver` for
 * each inbound message and `_linkLost` when the link drops.
 */
export abstract class BaseTransport implements Transport {
  /** The client id this transport connects with. */
  readonly clientId: string;
  /** @internal */
  protected readonly _clock: Clock;
  /**
   * True when `_send` calls `done` for a QoS 0 message either before it returns, or later in the
   * order the messages were sent, and never for a link already reported lost. QoS 0 publishes
   * made while online then take a lean path: one shared callback, no queue entry, and a
   * publish the link took at once resolves at once (no promise of its own).
   * @internal
   */
  protected _qos0InOrder = false;
  #state: TransportState = 'offline';
  readonly #events = new EventEmitter();
  readonly #backoff: BackoffStrategy;
  readonly #queue: PublishQueue;
  readonly #maxInFlight: number;
  readonly #autoReconnect: boolean;
  // The three sets below are made on first use: a simulated fleet has tens of thousands of transports.
  #inFlight: Set<QueuedPublish> | undefined;
  readonly #handlers = new TopicTrie<Subscription>();
  readonly #filters = new Map<string, FilterEntry>();
  #pendingUnsubscribe: Set<string> | undefined;
  #validTopics: Set<string> | undefined;
  // Retained messages are re-sent on every SUBSCRIBE, to every handler of the client: each goes
  // only to handlers registered after the last delivery on its topic (the others already have it).
  // Made on the first delivery: a simulated fleet has tens of thousands of transports.
  #lastDelivery: Map<string, number> | undefined;
  #tick = 0;
  #waiters: { resolve: () => void; reject: (e: FleetError) => void }[] = [];
  // The lean QoS 0 path (`_qos0InOrder`): sends the link has not completed yet, oldest first, and
  // the outcome of a send whose callback ran before `_send` returned (null: written).
  #qos0Waiting: { resolve: () => void; reject: (e: FleetError) => void }[] | undefined;
  #qos0Sending = false;
  #qos0Outcome: FleetError | null | undefined;
  #timer: TimerHandle | undefined;
  #attempting = false;
  #lostDuringAttempt: FleetError | undefined;
  #pumping = false;
  #closedBy: FleetError | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param owner - the class name, used in error messages
   * @param clientId - the client id
   * @param options - shared options (omitted: the defaults)
   * @throws FleetError `INVALID_ARGUMENT` for an `owner` that is not a non-empty string, `options`
   *   that are not an object, or a bad option.
   */
  protected constructor(owner: string, clientId: string, options: TransportOptions) {
    if (typeof owner !== 'string' || owner.length === 0) {
      throw invalidOption('BaseTransport', `owner must be the name of the transport class (a non-empty string, used in error messages), got ${describeValue(owner)}`);
    }
    const o = optionsObject<TransportOptions>(owner, options, '{ clock, backoff, queue: { maxMessages: 1000 }, maxInFlight: 100 }');
    if (typeof clientId !== 'string' || clientId.length === 0 || clientId.length > 256) {
      throw invalidOption(owner, `clientId must be a non-empty string of at most 256 characters, got ${describeValue(clientId)}`);
    }
    const maxInFlight = o.maxInFlight ?? 100;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 65_535) {
      throw invalidOption(owner, `maxInFlight must be an integer from 1 to 65535, got ${describeValue(maxInFlight)}`);
    }
    const queue = resolveQueueOptions(owner, o.queue);
    this.clientId = clientId;
    this._clock = clockOption(owner, o.clock, systemClock);
    this.#backoff = backoffOption(owner, o.backoff);
    this.#queue = new PublishQueue(queue.maxMessages, queue.overflow);
    this.#maxInFlight = maxInFlight;
    this.#autoReconnect = booleanOption(owner, 'autoReconnect', o.autoReconnect, true);
  }

  /** The current state. */
  get state(): TransportState {
    return this.#state;
  }

  /** {@inheritDoc Transport.on} */
  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.#events.on(event, listener);
    return this;
  }

  /** {@inheritDoc Transport.once} */
  once<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.#events.once(event, listener);
    return this;
  }

  /** {@inheritDoc Transport.off} */
  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Emits an event (the emitter is private so that only the transport emits). */
  #emit<E extends keyof TransportEvents>(event: E, ...args: Parameters<TransportEvents[E]>): void {
    this.#events.emit(event, ...args);
  }

  // A method, not a comparison, so TypeScript does not narrow the state across awaits.
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  /** Publishes waiting in the offline queue. */
  get queued(): number {
    return this.#queue.length;
  }

  /** QoS 1 publishes sent and not yet acknowledged. */
  get inFlight(): number {
    return this.#inFlight?.size ?? 0;
  }

  /** {@inheritDoc Transport.connect} */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedBy ?? closedError(this.clientId));
    if (this.#state === 'online') return RESOLVED;
    const promise = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (!this.#attempting && this.#timer === undefined) void this.#attempt();
    return promise;
  }

  /** {@inheritDoc Transport.close} */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = this.#shutdown(closedError(this.clientId), true);
    return this.#closing;
  }

  /** {@inheritDoc Transport.publish} */
  publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedBy ?? closedError(this.clientId));
    let bytes: Uint8Array;
    const qos = options?.qos ?? 0;
    const retain = options?.retain === true;
    try {
      // Devices publish to a handful of topics over and over: validate each one once.
      const valid = (this.#validTopics ??= new Set());
      if (!valid.has(topic)) {
        assertTopicName(topic);
        if (valid.size >= 1024) valid.clear();
        valid.add(topic);
      }
      if (qos !== 0 && qos !== 1) throw new FleetError('INVALID_ARGUMENT', `publish: qos must be 0 or 1, got ${describeValue(qos)}`, { status: 400 });
      if (typeof payload === 'string') bytes = utf8Bytes(payload);
      else if (payload instanceof Uint8Array) bytes = payload;
      else throw new FleetError('INVALID_PAYLOAD', `publish: payload must be a Uint8Array or a string, got ${typeof payload}; encode values with a codec`, { status: 400 });
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#state === 'online' && this.#queue.length === 0) {
      if (qos === 0 && this._qos0InOrder) return this.#sendQos0({ topic, payload: bytes, qos, retain });
      if (qos === 0 || (this.#inFlight?.size ?? 0) < this.#maxInFlight) {
        return new Promise<void>((resolve, reject) => this.#transmit({ topic, payload: bytes, qos, retain, resolve, reject }));
      }
    }
    return new Promise<void>((resolve, reject) => this.#enqueue({ topic, payload: bytes, qos, retain, resolve, reject }));
  }

  #sendQos0(message: OutgoingMessage): Promise<void> {
    this.#qos0Sending = true;
    this.#qos0Outcome = undefined;
    try {
      this._send(message, (this.#qos0Done ??= this.#completeQos0.bind(this)));
    } catch (cause) {
      this.#qos0Outcome = isFleetError(cause) ? cause : new FleetError('INTERNAL', `send failed: ${messageOf(cause)}`, { cause });
    } finally {
      this.#qos0Sending = false;
    }
    const outcome = this.#qos0Outcome;
    this.#qos0Outcome = undefined;
    if (outcome === null) return RESOLVED;
    if (outcome !== undefined) return Promise.reject(outcome);
    return new Promise<void>((resolve, reject) => (this.#qos0Waiting ??= []).push({ resolve, reject }));
  }

  /** The one `done` of every lean QoS 0 send: completes the current send, or the oldest waiting one. */
  #qos0Done: ((error?: FleetError) => void) | undefined;

  #completeQos0(error?: FleetError): void {
    if (this.#qos0Sending) {
      this.#qos0Outcome = error ?? null;
      return;
    }
    const waiting = this.#qos0Waiting?.shift();
    if (waiting === undefined) return;
    if (error === undefined) waiting.resolve();
    else waiting.reject(error);
  }

  /** Rejects the QoS 0 sends still waiting for a link that is gone. */
  #failQos0(error: FleetError): void {
    const waiting = this.#qos0Waiting;
    if (waiting === undefined || waiting.length === 0) return;
    this.#qos0Waiting = undefined;
    for (const w of waiting) w.reject(error);
  }

  /** {@inheritDoc Transport.subscribe} */
  async subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Unsubscribe> {
    if (this.#state === 'closed') throw this.#closedBy ?? closedError(this.clientId);
    assertTopicFilter(filter);
    if (typeof handler !== 'function') throw new FleetError('INVALID_ARGUMENT', `subscribe: handler must be a function, got ${typeof handler}`);
    const qos = options?.qos ?? 0;
    if (qos !== 0 && qos !== 1) throw new FleetError('INVALID_ARGUMENT', `subscribe: qos must be 0 or 1, got ${describeValue(qos)}`, { status: 400 });
    const sub: Subscription = { filter, handler, qos, active: true, since: ++this.#tick };
    this.#handlers.add(matchingFilter(filter), sub); // a shared subscription matches on its inner filter
    let entry = this.#filters.get(filter);
    if (entry === undefined) {
      entry = { qos, count: 0, remote: false };
      this.#filters.set(filter, entry);
    } else if (qos > entry.qos) entry.qos = qos;
    entry.count++;
    // Subscribe on the broker even when it holds the filter already: only a SUBSCRIBE makes it
    // send the retained messages (MQTT-3.8.4-3), which the new handler must get.
    entry.remote = false;
    this.#pendingUnsubscribe?.delete(filter);
    if (this.#state === 'online') {
      try {
        await this._subscribeRemote([{ filter, qos: entry.qos }]);
        if (this.#filters.get(filter) === entry) entry.remote = true;
      } catch (error) {
        if (isFleetError(error, 'FORBIDDEN') || this.#isClosed()) {
          this.#removeSubscription(sub);
          throw error;
        }
        // The link dropped meanwhile: the subscription is restored on reconnect.
      }
    }
    return () => this.#unsubscribe(sub);
  }

  async #unsubscribe(sub: Subscription): Promise<void> {
    if (!this.#removeSubscription(sub)) return;
    if (this.#filters.has(sub.filter)) return;
    if (this.#state !== 'online') {
      (this.#pendingUnsubscribe ??= new Set()).add(sub.filter);
      return;
    }
    try {
      await this._unsubscribeRemote([sub.filter]);
    } catch {
      // Lost link: a resumed session still holds it, so send it after reconnecting.
      if (!this.#isClosed() && !this.#filters.has(sub.filter)) (this.#pendingUnsubscribe ??= new Set()).add(sub.filter);
    }
  }

  /** Removes `sub` locally; returns false when it was already gone. */
  #removeSubscription(sub: Subscription): boolean {
    if (!sub.active) return false;
    sub.active = false;
    this.#handlers.remove(matchingFilter(sub.filter), sub);
    const entry = this.#filters.get(sub.filter);
    if (entry !== undefined && --entry.count === 0) this.#filters.delete(sub.filter);
    return true;
  }

  /**
   * Hands an inbound message to every matching handler. Call it from the concrete transport.
   * @internal
   */
  protected _deliver(message: InboundMessage): void {
    const topic = message.topic;
    const subs = this.#handlers.match(topic);
    // A retained message (the answer to a SUBSCRIBE) is for handlers registered after the last
    // delivery on its topic; a live one for every matching handler.
    const seen = (this.#lastDelivery ??= new Map());
    const after = message.retain ? (seen.get(topic) ?? 0) : -1;
    if (seen.size >= SEEN_TOPICS) seen.clear();
    seen.set(topic, ++this.#tick);
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i] as Subscription;
      if (!sub.active || sub.since < after) continue;
      try {
        sub.handler(message);
      } catch (cause) {
        this.#emit('error', new FleetError('INTERNAL', `A message handler for "${sub.filter}" threw on topic "${message.topic}": ${messageOf(cause)}`, { cause }));
      }
    }
  }

  /**
   * Reports that the link dropped. Call it from the concrete transport.
   * @internal
   */
  protected _linkLost(error: FleetError): void {
    // QoS 0 messages the lost link had not written yet never will be.
    this.#failQos0(error);
    if (this.#state === 'connecting') {
      this.#lostDuringAttempt ??= error;
      return;
    }
    if (this.#state !== 'online') return;
    this.#setState('offline');
    this.#emit('error', error);
    this.#scheduleReconnect();
  }

  /** Opens one link. Throw `AUTH_FAILED` for refused credentials (no retry follows). @internal */
  protected abstract _open(): Promise<OpenResult>;
  /** Sends one message; call `done` once written (QoS 0) or acknowledged (QoS 1). @internal */
  protected abstract _send(message: OutgoingMessage, done: (error?: FleetError) => void): void;
  /** Subscribes on the broker; reject with `FORBIDDEN` when refused. @internal */
  protected abstract _subscribeRemote(filters: readonly { filter: string; qos: QoS }[]): Promise<void>;
  /** Unsubscribes on the broker. @internal */
  protected abstract _unsubscribeRemote(filters: readonly string[]): Promise<void>;
  /** Closes the link for good and releases resources. @internal */
  protected abstract _end(): Promise<void>;

  #setState(next: TransportState): void {
    const previous = this.#state;
    if (previous === next) return;
    this.#state = next;
    this.#emit('state', next, previous);
  }

  async #attempt(): Promise<void> {
    if (this.#state === 'closed' || this.#attempting) return;
    this.#attempting = true;
    this.#lostDuringAttempt = undefined;
    this.#setState('connecting');
    try {
      const { sessionPresent } = await this._open();
      if (this.#isClosed()) return;
      await this.#restoreSubscriptions(sessionPresent);
      if (this.#lostDuringAttempt !== undefined) throw this.#lostDuringAttempt;
      if (this.#state as TransportState !== 'connecting') return;
      this.#backoff.reset();
      this.#setState('online');
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w.resolve();
      this.#pump();
    } catch (cause) {
      const error = isFleetError(cause) ? cause : new FleetError('NOT_CONNECTED', `Connection attempt failed: ${messageOf(cause)}`, { cause });
      this.#attemptFailed(error);
    } finally {
      this.#attempting = false;
    }
  }

  #attemptFailed(error: FleetError): void {
    if (this.#isClosed()) return;
    if (error.code === 'AUTH_FAILED') {
      // Retrying refused credentials only hammers the broker: stop here, for good.
      this.#emit('error', error);
      void this.#shutdown(error, false);
      return;
    }
    this.#setState('offline');
    this.#emit('error', error);
    this.#scheduleReconnect();
  }

  async #restoreSubscriptions(sessionPresent: boolean): Promise<void> {
    if (!sessionPresent) {
      for (const entry of this.#filters.values()) entry.remote = false;
      this.#pendingUnsubscribe = undefined;
      // Every filter is subscribed afresh: every handler takes the retained messages again.
      this.#lastDelivery?.clear();
    } else if (this.#pendingUnsubscribe !== undefined && this.#pendingUnsubscribe.size > 0) {
      const gone = [...this.#pendingUnsubscribe];
      this.#pendingUnsubscribe = undefined;
      await this._unsubscribeRemote(gone);
    }
    // Loop because subscribe() calls made while this runs add filters that are not yet remote.
    for (let round = 0; round < 16 && this.#state as TransportState === 'connecting'; round++) {
      const missing: { filter: string; qos: QoS; entry: FilterEntry }[] = [];
      for (const [filter, entry] of this.#filters) if (!entry.remote) missing.push({ filter, qos: entry.qos, entry });
      if (missing.length === 0) return;
      await this._subscribeRemote(missing.map(({ filter, qos }) => ({ filter, qos })));
      for (const m of missing) if (this.#filters.get(m.filter) === m.entry && m.entry.qos === m.qos) m.entry.remote = true;
    }
  }

  #scheduleReconnect(): void {
    if (!this.#autoReconnect || this.#state === 'closed' || this.#timer !== undefined) return;
    const delay = this.#backoff.next();
    this.#timer = this._clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#attempt();
    }, delay);
  }

  #enqueue(item: QueuedPublish): void {
    let evicted: QueuedPublish | undefined;
    try {
      evicted = this.#queue.push(item);
    } catch (error) {
      item.reject(error as FleetError);
      return;
    }
    if (evicted !== undefined) {
      const error = queueFull(this.#queue.maxMessages, evicted.topic, 'the oldest message was dropped (overflow policy "drop-oldest")');
      evicted.reject(error);
      this.#emit('error', error);
    }
  }

  #transmit(item: QueuedPublish): void {
    if (item.qos === 1) (this.#inFlight ??= new Set()).add(item);
    try {
      this._send(item, (error) => this.#settle(item, error));
    } catch (cause) {
      this.#settle(item, isFleetError(cause) ? cause : new FleetError('INTERNAL', `send failed: ${messageOf(cause)}`, { cause }));
    }
  }

  #settle(item: QueuedPublish, error: FleetError | undefined): void {
    if (item.qos === 1 && this.#inFlight?.delete(item) !== true) return;
    if (error === undefined) item.resolve();
    else item.reject(error);
    if (item.qos === 1) this.#pump();
  }

  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#state === 'online') {
        const head = this.#queue.peek();
        if (head === undefined) break;
        if (head.qos === 1 && (this.#inFlight?.size ?? 0) >= this.#maxInFlight) break;
        this.#queue.shift();
        this.#transmit(head);
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #shutdown(reason: FleetError, graceful: boolean): Promise<void> {
    if (this.#state === 'closed') return;
    this.#closedBy = reason;
    if (this.#timer !== undefined) this._clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#setState('closed');
    for (const item of this.#queue.drain()) item.reject(reason);
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(reason);
    try {
      await this._end();
    } catch (cause) {
      if (graceful) this.#emit('error', new FleetError('INTERNAL', `Closing transport "${this.clientId}" failed: ${messageOf(cause)}`, { cause }));
    }
    if (this.#inFlight !== undefined) for (const item of [...this.#inFlight]) this.#settle(item, reason);
    this.#failQos0(reason);
  }
}
