/**
 * An in-process MQTT-like broker: topic filters with MQTT semantics, retained messages,
 * persistent sessions that hold QoS 1 messages for offline clients, and seeded fault injection
 * (latency on an injected clock, loss of QoS 0, duplicates, reordering, forced disconnects).
 */
import { systemClock, type Clock } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { assertTopicFilter, assertTopicName, parseSharedFilter, topicMatches } from '../protocol/topic-filter.js';
import { seededRandom } from './backoff.js';
import { clockOption, invalidOption, optionsObject } from './options.js';
import { TopicTrie } from './topic-trie.js';
import type { InboundMessage, QoS } from './types.js';

/**
 * Faults the broker injects, each decided by its seeded random source. Rates are probabilities in
 * [0, 1]. For each delivery to an online client, every fault whose rate is above 0 draws one
 * number, in this order: disconnect, loss (QoS 0 only), duplicate, reorder (per copy, unless a
 * delivery is already held), then a latency range draws one per copy handed on. So the same seed
 * and the same calls give the same faults, and a fault left at 0 changes nothing.
 */
export interface MemoryFaults {
  /**
   * Delivery delay in ms: a fixed value or a `[min, max]` range drawn per delivery (timers on the
   * broker's clock). Like one network connection, latency never reorders a client's deliveries:
   * a delivery is handed over no earlier than the one ahead of it (only `reorderRate` reorders).
   * @defaultValue 0
   */
  readonly latencyMs?: number | readonly [number, number];
  /**
   * Probability that a QoS 0 delivery is lost (QoS 1 is never lost).
   * @defaultValue 0
   */
  readonly lossRate?: number;
  /**
   * Probability that a delivery arrives twice; the copy has `duplicate: true` and the same `messageId`.
   * @defaultValue 0
   */
  readonly duplicateRate?: number;
  /**
   * Probability that a delivery is held back and handed over right after the next delivery to the
   * same client (or when faults are changed with `setFaults`, or parked in the session when the
   * client disconnects).
   * @defaultValue 0
   */
  readonly reorderRate?: number;
  /**
   * Probability that a delivery instead disconnects its receiving client. QoS 1 deliveries not yet
   * handed over, this one included, then wait in a persistent session in their order and reach the
   * client's next connection first; QoS 0 ones are lost.
   * @defaultValue 0
   */
  readonly disconnectRate?: number;
}

/** Options of {@link MemoryBroker}. */
export interface MemoryBrokerOptions {
  /**
   * Clock for injected latency.
   * @defaultValue systemClock
   */
  readonly clock?: Clock;
  /**
   * Seed of the fault-injection random source, an integer (same seed and same calls, same faults).
   * @defaultValue 1
   */
  readonly seed?: number;
  /** Faults to inject from the start (see {@link MemoryBroker.setFaults}). */
  readonly faults?: MemoryFaults;
  /**
   * Most QoS 1 messages a persistent session holds while its client is offline; beyond it the
   * oldest are dropped and counted in `stats.dropped`.
   * @defaultValue 100000
   */
  readonly maxQueuedMessages?: number;
  /**
   * Decides whether a client may connect; return false to refuse with `AUTH_FAILED`.
   * @defaultValue every client is accepted
   */
  readonly authenticate?: (clientId: string, credentials: unknown) => boolean;
}

/** Counters of what the broker did. */
export interface MemoryBrokerStats {
  /** Messages published. */
  published: number;
  /** Messages handed to clients (duplicates included). */
  delivered: number;
  /** QoS 0 deliveries lost by fault injection. */
  lost: number;
  /** Extra copies delivered by fault injection. */
  duplicated: number;
  /** Deliveries held back by fault injection. */
  reordered: number;
  /** Clients disconnected by fault injection or {@link MemoryBroker.disconnect}. */
  disconnects: number;
  /** QoS 1 messages dropped from full offline sessions, and QoS 0 messages for offline clients. */
  dropped: number;
  /** Client publishes refused: topics starting with `$SYS` are the broker's own (as in mosquitto). */
  refused: number;
}

/** A connected client as the broker sees it (implemented by `MemoryTransport`). */
export interface MemoryBrokerClient {
  /** Receives one message. */
  deliver(message: InboundMessage): void;
  /** Told that the broker dropped the connection. */
  disconnected(reason: FleetError): void;
}

/** Options of {@link MemoryBroker.connect}. */
export interface MemoryConnectOptions {
  readonly clientId: string;
  /** Start a fresh session (true) or resume a persistent one (false). */
  readonly clean: boolean;
  /** Passed to the `authenticate` option. */
  readonly credentials?: unknown;
}

interface Session {
  readonly clientId: string;
  readonly clean: boolean;
  client: MemoryBrokerClient | undefined;
  readonly filters: Map<string, SubscriptionRef>;
  /** QoS 1 messages kept while the client is offline; always empty while it is online. */
  offline: InboundMessage[];
  held: InboundMessage | undefined;
  /**
   * Deliveries waiting for the next microtask batch. With `transit` they form the session's
   * outbound stream: batched ones first, then the delayed ones, handed over strictly in order.
   */
  batched: number;
  /** Deliveries delayed by injected latency, in the order they will be handed over. */
  transit: Transit[];
  /** The latest due time in `transit`: a delivery is never due before the one ahead of it. */
  lastDue: number;
}

/** One delayed delivery; `done` once handed over or moved back to the session on disconnect. */
interface Transit {
  readonly message: InboundMessage;
  done: boolean;
}

interface SubscriptionRef {
  readonly session: Session;
  readonly filter: string;
  /** The key in the subscription trie: the filter, or a shared subscription's inner filter. */
  readonly key: string;
  /** The share group of a shared subscription (`$share/{group}/{filter}`). */
  readonly group?: string;
  qos: QoS;
}

// The transit list of a session with nothing in transit (most of them): shared, frozen, replaced on the first push.
const NO_TRANSIT = Object.freeze([]) as unknown as Transit[];
const SLAB_BYTES = 64 * 1024;
const SLAB_MAX_COPY = 2048;

function rate(name: string, value: unknown): number {
  const v = value ?? 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw invalidOption('MemoryBroker', `faults.${name} must be a probability in [0, 1], got ${describeValue(value)}`);
  return v;
}

function checkQos(operation: 'publish' | 'subscribe', qos: unknown): void {
  if (qos !== 0 && qos !== 1) throw new FleetError('INVALID_ARGUMENT', `MemoryBroker.${operation}: qos must be 0 or 1, got ${describeValue(qos)}`, { status: 400 });
}

interface ResolvedFaults {
  latency: readonly [number, number];
  loss: number;
  duplicate: number;
  reorder: number;
  disconnect: number;
  any: boolean;
}

function resolveFaults(faults: unknown): ResolvedFaults {
  if (typeof faults !== 'object' || faults === null || Array.isArray(faults)) {
    throw invalidOption('MemoryBroker', `faults must be an object such as { lossRate: 0.01, latencyMs: [5, 50] } ({} for none), got ${describeValue(faults)}`);
  }
  const f = faults as MemoryFaults;
  const l: unknown = f.latencyMs ?? 0;
  const latency: readonly unknown[] = typeof l === 'number' ? [l, l] : Array.isArray(l) && l.length === 2 ? [l[0], l[1]] : [Number.NaN, Number.NaN];
  if (!latency.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0) || (latency[0] as number) > (latency[1] as number)) {
    throw invalidOption('MemoryBroker', `faults.latencyMs must be ms ≥ 0 or a [min, max] range, got ${describeValue(l)}`);
  }
  const [min, max] = latency as [number, number];
  const r = {
    latency: [min, max] as const,
    loss: rate('lossRate', f.lossRate),
    duplicate: rate('duplicateRate', f.duplicateRate),
    reorder: rate('reorderRate', f.reorderRate),
    disconnect: rate('disconnectRate', f.disconnectRate),
  };
  return { ...r, any: max > 0 || r.loss > 0 || r.duplicate > 0 || r.reorder > 0 || r.disconnect > 0 };
}

/**
 * The in-process broker behind `MemoryTransport`. One broker, many transports; fast enough to
 * carry a simulated fleet of tens of thousands of devices.
 *
 * Deliveries are batched per microtask: `publish` never calls a handler synchronously, so a
 * handler that publishes does not recurse.
 *
 * @example
 * ```ts
 * const broker = new MemoryBroker({ seed: 7, faults: { duplicateRate: 0.1 } });
 * const a = new MemoryTransport({ broker, clientId: 'a' });
 * const b = new MemoryTransport({ broker, clientId: 'b' });
 * await a.connect(); await b.connect();
 * await b.subscribe('dt/#', (m) => console.log(m.messageId, m.duplicate));
 * await a.publish('dt/acme/d1/telemetry', '{}', { qos: 1 });
 * ```
 */
export class MemoryBroker {
  /** What the broker did so far. */
  readonly stats: MemoryBrokerStats = { published: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, disconnects: 0, dropped: 0, refused: 0 };
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #maxQueued: number;
  readonly #authenticate: ((clientId: string, credentials: unknown) => boolean) | undefined;
  readonly #sessions = new Map<string, Session>();
  readonly #subs = new TopicTrie<SubscriptionRef>();
  readonly #shareTurns = new Map<string, number>();
  #sharedCount = 0;
  readonly #retained = new Map<string, InboundMessage>();
  #faults: ResolvedFaults;
  #nextId = 0;
  // Pending deliveries as flat (session, message) pairs: no per-delivery object. A slot whose
  // session is undefined was taken back by a disconnect.
  #pending: (Session | InboundMessage | undefined)[] = [];
  // The batch being handed over and the index of its next pair (a handler may disconnect a client).
  #batch: (Session | InboundMessage | undefined)[] = [];
  #batchIndex = 0;
  #scheduled = false;
  #closed = false;
  #slab = new ArrayBuffer(SLAB_BYTES);
  #slabOffset = 0;

  /**
   * @param options - clock, seed, faults, session bound, authentication
   * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
   */
  constructor(options: MemoryBrokerOptions = {}) {
    const o = optionsObject<MemoryBrokerOptions>('new MemoryBroker(options)', options, '{ seed: 7, faults: { lossRate: 0.01 } }');
    this.#clock = clockOption('MemoryBroker', o.clock, systemClock);
    const seed: unknown = o.seed ?? 1;
    if (!Number.isInteger(seed)) throw invalidOption('MemoryBroker', `seed must be an integer, got ${describeValue(seed)}`);
    this.#random = seededRandom(seed as number);
    const maxQueued = o.maxQueuedMessages ?? 100_000;
    if (!Number.isInteger(maxQueued) || maxQueued < 0) {
      throw invalidOption('MemoryBroker', `maxQueuedMessages must be an integer ≥ 0, got ${describeValue(maxQueued)}`);
    }
    if (o.authenticate !== undefined && typeof o.authenticate !== 'function') {
      throw invalidOption('MemoryBroker', `authenticate must be a function (clientId, credentials) => boolean, got ${describeValue(o.authenticate)}`);
    }
    this.#maxQueued = maxQueued;
    this.#authenticate = o.authenticate;
    this.#faults = resolveFaults(o.faults ?? {});
  }

  /**
   * Replaces the injected faults (pass `{}` to stop injecting).
   *
   * @throws FleetError `INVALID_ARGUMENT` for `faults` that are not an object, a rate outside [0, 1] or a bad latency.
   */
  setFaults(faults: MemoryFaults): void {
    this.#faults = resolveFaults(faults);
    // Hand over messages held back for reordering, so `setFaults({})` drains everything. They
    // already went through fault injection once: deliver them as they are, not faulted again.
    // (Only an online session holds one: a disconnect parks it.)
    for (const session of this.#sessions.values()) {
      const held = session.held;
      session.held = undefined;
      if (held !== undefined) this.#schedule(session, held);
    }
  }

  /** Client ids with a live connection. */
  get connectedClients(): string[] {
    return [...this.#sessions.values()].filter((s) => s.client !== undefined).map((s) => s.clientId);
  }

  /** Messages a persistent session holds for its offline client (0 when unknown). */
  queuedFor(clientId: string): number {
    return this.#sessions.get(clientId)?.offline.length ?? 0;
  }

  /**
   * Attaches a client. A second connection with the same client id takes the session over and
   * disconnects the first one, as in MQTT.
   *
   * @returns whether a previous session was resumed
   * @throws FleetError `AUTH_FAILED` (401) when `authenticate` refuses, `TRANSPORT_CLOSED` after {@link MemoryBroker.close}.
   */
  connect(client: MemoryBrokerClient, options: MemoryConnectOptions): { sessionPresent: boolean } {
    if (this.#closed) throw new FleetError('TRANSPORT_CLOSED', 'MemoryBroker is closed; create a new broker', { status: 503 });
    const { clientId, clean } = options;
    if (this.#authenticate !== undefined && !this.#authenticate(clientId, options.credentials)) {
      throw new FleetError('AUTH_FAILED', `MemoryBroker refused client "${clientId}": bad credentials`, { status: 401, details: { clientId } });
    }
    const existing = this.#sessions.get(clientId);
    if (existing?.client !== undefined) this.#drop(existing, new FleetError('NOT_CONNECTED', `Client "${clientId}" was taken over by a new connection with the same id`));
    const sessionPresent = existing !== undefined && !clean && !existing.clean;
    let session: Session;
    if (sessionPresent) session = existing;
    else {
      if (existing !== undefined) this.#discard(existing);
      session = { clientId, clean, client: undefined, filters: new Map(), offline: [], held: undefined, batched: 0, transit: NO_TRANSIT, lastDue: 0 };
      this.#sessions.set(clientId, session);
    }
    session.client = client;
    const backlog = session.offline;
    session.offline = [];
    for (const m of backlog) this.#schedule(session, m);
    return { sessionPresent };
  }

  /**
   * Detaches a client (a clean session is discarded, a persistent one kept). Deliveries not yet
   * handed over go back to a persistent session in their order (QoS 1) and reach the client's
   * next connection first; QoS 0 ones are dropped.
   */
  disconnectClient(clientId: string): void {
    const session = this.#sessions.get(clientId);
    if (session?.client === undefined) return;
    session.client = undefined;
    if (session.batched > 0) for (const m of this.#takeBatched(session)) this.#park(session, m);
    const transit = session.transit;
    session.transit = NO_TRANSIT;
    for (const t of transit) {
      t.done = true;
      this.#park(session, t.message);
    }
    if (session.held !== undefined) this.#park(session, session.held);
    session.held = undefined;
    if (session.clean) this.#discard(session);
  }

  /**
   * Drops a client's connection as a network failure would (a forced disconnect); the client
   * is told and reconnects by its own backoff.
   *
   * @returns false when the client was not connected
   */
  disconnect(clientId: string): boolean {
    const session = this.#sessions.get(clientId);
    if (session?.client === undefined) return false;
    this.#drop(session, new FleetError('NOT_CONNECTED', `MemoryBroker dropped client "${clientId}" (forced disconnect)`));
    return true;
  }

  /**
   * Adds a subscription for a connected client and delivers matching retained messages.
   *
   * @throws FleetError `INVALID_TOPIC` for a bad filter, `INVALID_ARGUMENT` for a QoS other than
   *   0 or 1, `NOT_CONNECTED` when the client is not connected.
   */
  subscribe(clientId: string, filter: string, qos: QoS): void {
    assertTopicFilter(filter);
    checkQos('subscribe', qos);
    const session = this.#online(clientId);
    const existing = session.filters.get(filter);
    const shared = parseSharedFilter(filter);
    if (existing === undefined) {
      const ref: SubscriptionRef = shared === undefined ? { session, filter, key: filter, qos } : { session, filter, key: shared.filter, group: shared.group, qos };
      session.filters.set(filter, ref);
      this.#subs.add(ref.key, ref);
      if (ref.group !== undefined) this.#sharedCount++;
    } else existing.qos = qos;
    // As MQTT 5 says (3.8.4), a shared subscription gets no retained messages when it is made.
    if (shared !== undefined) return;
    for (const [topic, m] of this.#retained) {
      if (topicMatches(filter, topic)) this.#route(session, m.qos > qos ? { ...m, qos } : m);
    }
  }

  /** Removes a subscription. */
  unsubscribe(clientId: string, filter: string): void {
    const ref = this.#sessions.get(clientId)?.filters.get(filter);
    if (ref === undefined) return;
    ref.session.filters.delete(filter);
    this.#subs.remove(ref.key, ref);
    if (ref.group !== undefined) this.#sharedCount--;
  }

  /**
   * Publishes a message from the client `clientId` (as `MemoryTransport` does), or from the broker
   * itself when `clientId` is undefined. As in mosquitto, a client may not publish to a topic whose
   * first four characters are `$SYS` (`$SYS`, `$SYS/…`, also `$SYSTEM/…`): nothing is delivered
   * or retained, the refusal is counted in `stats.refused` and thrown (MQTT 5's PUBACK 0x87
   * "Not authorized"); the broker itself may publish there.
   *
   * @returns the message id assigned
   * @throws FleetError `INVALID_TOPIC`, `INVALID_PAYLOAD` (not a Uint8Array), `INVALID_ARGUMENT`
   *   (a QoS other than 0 or 1), `FORBIDDEN` (403, a client publish to `$SYS…`), `TRANSPORT_CLOSED`.
   */
  publish(topic: string, payload: Uint8Array, qos: QoS, retain: boolean, clientId?: string): number {
    if (this.#closed) throw new FleetError('TRANSPORT_CLOSED', 'MemoryBroker is closed; create a new broker', { status: 503 });
    assertTopicName(topic);
    if (!(payload instanceof Uint8Array)) {
      throw new FleetError('INVALID_PAYLOAD', `MemoryBroker.publish: payload must be a Uint8Array, got ${typeof payload}; encode values with a codec`, { status: 400 });
    }
    checkQos('publish', qos);
    if (clientId !== undefined && topic.startsWith('$SYS')) {
      this.stats.refused++;
      throw new FleetError('FORBIDDEN', `MemoryBroker refused the publish of client "${clientId}" to "${topic}": not authorized; topics starting with $SYS are reserved for the broker`, {
        status: 403,
        details: { clientId, topic },
      });
    }
    const messageId = ++this.#nextId;
    this.stats.published++;
    if (retain) {
      // A retained message lives long: give it its own buffer rather than pin a slab.
      if (payload.byteLength === 0) this.#retained.delete(topic);
      else this.#retained.set(topic, { topic, payload: payload.slice(), qos, retain: true, duplicate: false, messageId });
    }
    let refs = this.#subs.match(topic);
    if (refs.length === 0) return messageId;
    if (this.#sharedCount > 0) refs = this.#pickShared(refs);
    // One copy per delivered publish, so the publisher may reuse its buffer; subscribers share it read-only.
    const bytes = this.#copy(payload);
    if (refs.length === 1) {
      const ref = refs[0] as SubscriptionRef;
      const subQos = ref.qos;
      this.#route(ref.session, { topic, payload: bytes, qos: qos < subQos ? qos : subQos, retain: false, duplicate: false, messageId });
      return messageId;
    }
    // Several filters of one session may match: MQTT delivers once, at the highest QoS.
    const best = new Map<Session, QoS>();
    for (const ref of refs) {
      const q = ref.qos;
      const prev = best.get(ref.session);
      if (prev === undefined || q > prev) best.set(ref.session, q);
    }
    for (const [session, subQos] of best) {
      this.#route(session, { topic, payload: bytes, qos: qos < subQos ? qos : subQos, retain: false, duplicate: false, messageId });
    }
    return messageId;
  }

  /** Stops the broker: every client is disconnected and further connects fail. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Nothing is handed over any more: forget pending deliveries before dropping the clients.
    this.#batch.fill(undefined, this.#batchIndex);
    this.#pending = [];
    for (const session of this.#sessions.values()) {
      session.batched = 0;
      if (session.client !== undefined) this.#drop(session, new FleetError('TRANSPORT_CLOSED', 'MemoryBroker closed', { status: 503 }));
    }
    this.#sessions.clear();
    this.#retained.clear();
  }

  // Shared subscriptions: each message matching a group's filter goes to one member of the group,
  // round robin, preferring members that are connected (an offline persistent member queues it).
  #pickShared(refs: readonly SubscriptionRef[]): readonly SubscriptionRef[] {
    let groups: Map<string, SubscriptionRef[]> | undefined;
    const out: SubscriptionRef[] = [];
    for (const ref of refs) {
      if (ref.group === undefined) {
        out.push(ref);
        continue;
      }
      groups ??= new Map();
      const id = `${ref.group}\u0000${ref.key}`;
      const members = groups.get(id);
      if (members === undefined) groups.set(id, [ref]);
      else members.push(ref);
    }
    if (groups === undefined) return refs;
    for (const [id, members] of groups) {
      const online = members.filter((m) => m.session.client !== undefined);
      const pool = online.length > 0 ? online : members;
      // Order by client id so the rotation does not depend on the trie's internal order.
      pool.sort((a, b) => (a.session.clientId < b.session.clientId ? -1 : a.session.clientId > b.session.clientId ? 1 : 0));
      const turn = this.#shareTurns.get(id) ?? 0;
      this.#shareTurns.set(id, turn + 1);
      out.push(pool[turn % pool.length] as SubscriptionRef);
    }
    return out;
  }

  // Small payloads are copied into a shared 64 KiB slab: allocating one ArrayBuffer per message
  // costs ten times more than the copy itself and dominated the delivery path.
  #copy(payload: Uint8Array): Uint8Array {
    const n = payload.byteLength;
    if (n > SLAB_MAX_COPY) return payload.slice();
    if (this.#slabOffset + n > SLAB_BYTES) {
      this.#slab = new ArrayBuffer(SLAB_BYTES);
      this.#slabOffset = 0;
    }
    const view = new Uint8Array(this.#slab, this.#slabOffset, n);
    view.set(payload);
    this.#slabOffset += n;
    return view;
  }

  #online(clientId: string): Session {
    const session = this.#sessions.get(clientId);
    if (session?.client === undefined) throw new FleetError('NOT_CONNECTED', `MemoryBroker: client "${clientId}" is not connected; connect first`, { status: 503 });
    return session;
  }

  #discard(session: Session): void {
    for (const ref of session.filters.values()) {
      this.#subs.remove(ref.key, ref);
      if (ref.group !== undefined) this.#sharedCount--;
    }
    session.filters.clear();
    this.#sessions.delete(session.clientId);
  }

  #drop(session: Session, reason: FleetError): void {
    const client = session.client;
    this.stats.disconnects++;
    this.disconnectClient(session.clientId);
    client?.disconnected(reason);
  }

  /** Delivers to an online session (with faults) or parks QoS 1 in an offline persistent session. */
  #route(session: Session, m: InboundMessage): void {
    if (session.client === undefined) {
      this.#park(session, m);
      return;
    }
    const f = this.#faults;
    if (!f.any) {
      this.#schedule(session, m);
      return;
    }
    this.#routeWithFaults(session, m, f);
  }

  #routeWithFaults(session: Session, m: InboundMessage, f: ResolvedFaults): void {
    const rnd = this.#random;
    if (f.disconnect > 0 && rnd() < f.disconnect) {
      this.#drop(session, new FleetError('NOT_CONNECTED', `MemoryBroker dropped client "${session.clientId}" (injected fault)`));
      this.#park(session, m);
      return;
    }
    if (m.qos === 0 && f.loss > 0 && rnd() < f.loss) {
      this.stats.lost++;
      return;
    }
    const copies = f.duplicate > 0 && rnd() < f.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      const out = c === 0 ? m : { ...m, duplicate: true };
      if (f.reorder > 0 && session.held === undefined && rnd() < f.reorder) {
        // Hold it: the next delivery to this session overtakes it.
        this.stats.reordered++;
        session.held = out;
        continue;
      }
      this.#delay(session, out, f);
      const held = session.held;
      if (held !== undefined) {
        session.held = undefined;
        this.#delay(session, held, f);
      }
    }
  }

  #delay(session: Session, m: InboundMessage, f: ResolvedFaults): void {
    const [lo, hi] = f.latency;
    if (hi <= 0) {
      this.#schedule(session, m);
      return;
    }
    this.#enter(session, m, lo + (hi - lo) * this.#random());
  }

  /**
   * Puts `m` in transit, due `ms` from now but never before the delivery ahead of it: like one
   * network connection, latency delays a client's stream without reordering it.
   */
  #enter(session: Session, m: InboundMessage, ms: number): void {
    const now = this.#clock.now();
    const due = session.transit.length > 0 && session.lastDue > now + ms ? session.lastDue : now + ms;
    session.lastDue = due;
    const t: Transit = { message: m, done: false };
    if (session.transit === NO_TRANSIT) session.transit = [];
    session.transit.push(t);
    this.#clock.setTimeout(() => this.#arrive(session, t), due - now);
  }

  /** Hands over `t` and everything ahead of it in the session's stream. */
  #arrive(session: Session, t: Transit): void {
    if (t.done) return;
    // Batched deliveries are ahead of every delayed one (reached only when a clock fires timers
    // before the microtask batch ran): move them to the front.
    if (session.batched > 0) session.transit = [...this.#takeBatched(session).map((message) => ({ message, done: false })), ...session.transit];
    while (!t.done) {
      const next = session.transit.shift() as Transit;
      next.done = true;
      this.#handOver(session, next.message);
    }
  }

  #park(session: Session, m: InboundMessage): void {
    if (m.qos === 1 && !session.clean) {
      session.offline.push(m);
      if (session.offline.length > this.#maxQueued) {
        session.offline.shift();
        this.stats.dropped++;
      }
    } else {
      this.stats.dropped++;
    }
  }

  #schedule(session: Session, m: InboundMessage): void {
    if (session.transit.length > 0) {
      // Behind a delayed delivery: wait for it, whatever the faults are now.
      this.#enter(session, m, 0);
      return;
    }
    session.batched++;
    this.#pending.push(session, m);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Removes the session's deliveries from the pending batches and returns them in order. */
  #takeBatched(session: Session): InboundMessage[] {
    const out: InboundMessage[] = [];
    for (const list of [this.#batch, this.#pending]) {
      for (let i = list === this.#batch ? this.#batchIndex : 0; i < list.length; i += 2) {
        if (list[i] !== session) continue;
        list[i] = undefined;
        out.push(list[i + 1] as InboundMessage);
      }
    }
    session.batched = 0;
    return out;
  }

  readonly #flush = (): void => {
    // Deliveries queued by handlers that publish go to a fresh batch in a later microtask.
    const batch = this.#pending;
    this.#pending = [];
    this.#scheduled = false;
    this.#batch = batch;
    try {
      for (let i = 0; i < batch.length; i += 2) {
        const session = batch[i];
        if (session === undefined) continue;
        this.#batchIndex = i + 2;
        (session as Session).batched--;
        this.#handOver(session as Session, batch[i + 1] as InboundMessage);
      }
    } finally {
      this.#batch = [];
      this.#batchIndex = 0;
    }
  };

  #handOver(session: Session, m: InboundMessage): void {
    this.stats.delivered++;
    (session.client as MemoryBrokerClient).deliver(m);
  }
}
