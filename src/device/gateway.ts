/**
 * Gateway mode: one `Transport` connection carrying many end devices (a building's fog gateway
 * speaking for its sensors). Each child gets a `Transport` view of its own: its publishes go over
 * the shared connection on its own per-device topics, so the cloud tier sees every device on its
 * topics as if it were connected itself; subscriptions are shared by filter on the connection and
 * demultiplexed by topic; a child's connect and disconnect are logical (sessions, session takeover
 * and persistent sessions are kept by the gateway). See docs/gateways.md.
 */
import { deviceAclRules } from '../cloud/mosquitto-acl.js';
import { describeValue } from '../describe-value.js';
import { FleetError, isFleetError } from '../errors.js';
import { assertTenantId } from '../ids.js';
import { topicMatches } from '../protocol/topic-filter.js';
import { assertThingName } from '../shadow/names.js';
import { BaseTransport, type OpenResult, type OutgoingMessage, type TransportOptions } from '../transport/base-transport.js';
import type { InboundMessage, MessageHandler, PublishOptions, QoS, SubscribeOptions, Transport, TransportState, Unsubscribe } from '../transport/types.js';

export type { Transport } from '../transport/types.js';

/**
 * Which topics a child may use:
 * - `device`: exactly the topics of its own device id and tenant, the rules `mosquittoAcl` grants a
 *   device (telemetry, heartbeat, command results, job status, provisioning request and shadow
 *   requests to write; its commands, jobs, provisioning answer and shadow responses to read). Any
 *   other publish or subscription is refused with `FORBIDDEN` before it reaches the broker.
 * - `any`: no restriction (the broker's ACL for the gateway's account still applies).
 */
export type GatewayTopicScope = 'device' | 'any';

/** Options of {@link GatewayConnection}. */
export interface GatewayConnectionOptions {
  /** The shared connection (its client id and credentials are the gateway's). */
  readonly transport: Transport;
  /** The tenant of the children (each child may name its own). */
  readonly tenantId?: string;
  /** @defaultValue `'device'` */
  readonly topicScope?: GatewayTopicScope;
  /**
   * QoS 1 messages kept for a child with a persistent session while it is disconnected; beyond
   * it the oldest is dropped (counted in {@link GatewayConnection.dropped}).
   * @defaultValue 1000
   */
  readonly maxPendingPerChild?: number;
}

/** Options of {@link GatewayConnection.child}. */
export interface GatewayChildOptions extends TransportOptions {
  /** The end device's id: its client id and the device level of its topics. */
  readonly deviceId: string;
  /** Its tenant. @defaultValue the gateway's `tenantId` */
  readonly tenantId?: string;
  /**
   * Clean session (true) or a persistent one whose subscriptions and QoS 1 messages the gateway
   * keeps while the child is disconnected (false).
   * @defaultValue true
   */
  readonly clean?: boolean;
}

/** One subscription of a session on the shared connection. */
interface SharedSub {
  readonly qos: QoS;
  readonly off: Promise<Unsubscribe | undefined>;
}

/** A child's session: what the broker would keep for a directly connected client. */
class Session {
  attached: GatewayChild | undefined;
  readonly subs = new Map<string, SharedSub>();
  readonly pending: InboundMessage[] = [];
  /** The last message handed on: overlapping filters deliver it once. */
  last: InboundMessage | undefined;
  constructor(
    readonly clientId: string,
    readonly clean: boolean,
    readonly readable: ((topic: string) => boolean) | undefined,
  ) {}

  maxQos(topic: string): QoS {
    let qos: QoS = 0;
    for (const [filter, sub] of this.subs) if (sub.qos > qos && topicMatches(filter, topic)) qos = sub.qos;
    return qos;
  }
}

/** @internal The topic rules of a device, as predicates. */
export interface Scope {
  readonly tenantId: string;
  writable(topic: string): boolean;
  readableFilter(filter: string): boolean;
  readable(topic: string): boolean;
}

/**
 * True when some topic matches both filters (MQTT rules: `+` one level, `#` the rest, a leading
 * wildcard never matches a `$` topic).
 *
 * @throws FleetError `INVALID_ARGUMENT` when either is not a string.
 */
export function filtersIntersect(a: string, b: string): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') {
    throw new FleetError('INVALID_ARGUMENT', `filtersIntersect(a, b): pass two topic filters (strings), got ${describeValue(a)}, ${describeValue(b)}`, { status: 400 });
  }
  const x = a.split('/');
  const y = b.split('/');
  // A leading wildcard never matches a `$` topic.
  const dollar = (l: string | undefined): boolean => l !== undefined && l.startsWith('$');
  if ((dollar(x[0]) && (y[0] === '+' || y[0] === '#')) || (dollar(y[0]) && (x[0] === '+' || x[0] === '#'))) return false;
  for (let i = 0; ; i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') return true;
    if (p === undefined || q === undefined) return p === q;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
}

// The device rules as templates (the tenant and device levels as markers), built once: a scope
// then holds only its two ids, not a dozen topic strings per child.
const TENANT = 1;
const DEVICE = 2;
type TemplateLevel = string | typeof TENANT | typeof DEVICE;
const T_MARK = 'fleetkit-tenant-marker';
const D_MARK = 'fleetkit-device-marker';
const TEMPLATES = deviceAclRules(T_MARK, D_MARK).map(([access, topic]) => ({
  access,
  levels: topic.split('/').map((l): TemplateLevel => (l === T_MARK ? TENANT : l === D_MARK ? DEVICE : l)),
}));
const WRITE = TEMPLATES.filter((t) => t.access === 'write').map((t) => t.levels);
const READ = TEMPLATES.filter((t) => t.access === 'read').map((t) => t.levels);

/** True when `topic` (no wildcards) matches the template for this tenant and device. */
function topicFits(template: readonly TemplateLevel[], levels: readonly string[], tenantId: string, deviceId: string): boolean {
  if (template.length !== levels.length) return false;
  for (let i = 0; i < levels.length; i++) {
    const t = template[i] as TemplateLevel;
    const l = levels[i] as string;
    if (t === '+') continue;
    if (l !== (t === TENANT ? tenantId : t === DEVICE ? deviceId : t)) return false;
  }
  return true;
}

/** True when some topic matches both `filter` and the template for this tenant and device. */
function filterFits(template: readonly TemplateLevel[], levels: readonly string[], tenantId: string, deviceId: string): boolean {
  const first = levels[0];
  // A leading wildcard never matches a `$` topic (every template starts with a literal level).
  if ((first === '+' || first === '#') && typeof template[0] === 'string' && template[0].startsWith('$')) return false;
  for (let i = 0; ; i++) {
    const l = levels[i];
    const t = template[i];
    if (l === '#') return true;
    if (l === undefined || t === undefined) return l === t;
    if (l === '+' || t === '+') continue;
    const want = t === TENANT ? tenantId : t === DEVICE ? deviceId : t;
    if (l !== want) return false;
  }
}

/** @internal The topic rules of a device (exported for tests). */
export function deviceScope(tenantId: string, deviceId: string): Scope {
  const t = assertTenantId(tenantId);
  const d = assertThingName(deviceId);
  return {
    tenantId: t,
    writable: (topic) => {
      const levels = topic.split('/');
      return WRITE.some((tpl) => topicFits(tpl, levels, t, d));
    },
    readableFilter: (filter) => {
      const levels = filter.split('/');
      return READ.some((tpl) => filterFits(tpl, levels, t, d));
    },
    readable: (topic) => {
      const levels = topic.split('/');
      return READ.some((tpl) => topicFits(tpl, levels, t, d));
    },
  };
}

function forbidden(deviceId: string, what: string, allowed: string): FleetError {
  return new FleetError('FORBIDDEN', `Gateway child "${deviceId}" may not ${what}: a child uses only its own device's topics (${allowed}); see docs/gateways.md`, { status: 403, details: { deviceId } });
}

/** What a {@link GatewayChild} needs from its gateway. */
interface GatewayLink {
  attach(child: GatewayChild): Promise<OpenResult>;
  detach(child: GatewayChild): void;
  send(child: GatewayChild, message: OutgoingMessage, done: (error?: FleetError) => void): void;
  subscribe(child: GatewayChild, filters: readonly { filter: string; qos: QoS }[]): Promise<void>;
  unsubscribe(child: GatewayChild, filters: readonly string[]): Promise<void>;
}

/**
 * The `Transport` view of one end device behind a {@link GatewayConnection}. It behaves as a
 * transport of its own (state machine, offline queue, reconnects, subscriptions restored), but
 * its link is the gateway's shared connection. Create it with {@link GatewayConnection.child}.
 */
export class GatewayChild extends BaseTransport {
  /** The device's tenant (undefined for an unrestricted child without one). */
  readonly tenantId: string | undefined;
  /** Clean or persistent session. */
  readonly clean: boolean;
  readonly #link: GatewayLink;
  readonly #scope: Scope | undefined;

  /** @internal Use {@link GatewayConnection.child}. */
  constructor(link: GatewayLink, options: GatewayChildOptions, scope: Scope | undefined, clean: boolean) {
    if (typeof link !== 'object' || link === null || typeof link.attach !== 'function' || typeof options !== 'object' || options === null) {
      throw new FleetError('INVALID_ARGUMENT', 'new GatewayChild(…): create child views with gateway.child({ deviceId }) on a GatewayConnection', { status: 400 });
    }
    super('GatewayChild', options.deviceId, options);
    this.#link = link;
    this.#scope = scope;
    this.tenantId = scope?.tenantId ?? options.tenantId;
    this.clean = clean;
  }

  /** @internal The scope's read check (undefined: unrestricted). */
  get _readable(): ((topic: string) => boolean) | undefined {
    return this.#scope?.readable;
  }

  /**
   * Publishes `payload` to `topic` over the gateway's shared connection (see `Transport.publish`).
   * In the `device` scope a topic that is not one the device may write is refused with
   * `FORBIDDEN` (403) before it reaches the broker.
   *
   * @throws FleetError `FORBIDDEN`, and everything `Transport.publish` throws.
   */
  override publish(topic: string, payload: Uint8Array | string, options?: PublishOptions): Promise<void> {
    if (this.#scope !== undefined && typeof topic === 'string' && this.state !== 'closed' && !this.#scope.writable(topic)) {
      return Promise.reject(forbidden(this.clientId, `publish to "${topic.slice(0, 200)}"`, `dt/${this.#scope.tenantId}/${this.clientId}/…, cmd/${this.#scope.tenantId}/${this.clientId}/res/…, $aws/things/${this.clientId}/shadow/…`));
    }
    return super.publish(topic, payload, options);
  }

  /**
   * Subscribes `handler` to `filter` through the gateway's shared connection (see
   * `Transport.subscribe`). In the `device` scope a filter that cannot match any topic the device
   * may read is refused with `FORBIDDEN` (403); a wider one is accepted and delivers only the
   * device's own topics.
   *
   * @returns a function that removes this handler
   * @throws FleetError `FORBIDDEN`, and everything `Transport.subscribe` throws.
   */
  override subscribe(filter: string, handler: MessageHandler, options?: SubscribeOptions): Promise<Unsubscribe> {
    if (this.#scope !== undefined && typeof filter === 'string' && this.state !== 'closed' && !this.#scope.readableFilter(filter)) {
      return Promise.reject(forbidden(this.clientId, `subscribe to "${filter.slice(0, 200)}"`, `cmd/${this.#scope.tenantId}/${this.clientId}/req/+, …/job/+, …/prov/res, $aws/things/${this.clientId}/shadow/+/+`));
    }
    return super.subscribe(filter, handler, options);
  }

  /** @internal The gateway hands a message on. */
  _receive(message: InboundMessage): void {
    this._deliver(message);
  }

  /** @internal The gateway took the logical link away (shared link lost, or a session takeover). */
  _lose(reason: FleetError): void {
    this._linkLost(reason);
  }

  /** @internal */
  protected _open(): Promise<OpenResult> {
    return this.#link.attach(this);
  }

  /** @internal */
  protected _send(message: OutgoingMessage, done: (error?: FleetError) => void): void {
    this.#link.send(this, message, done);
  }

  /** @internal */
  protected _subscribeRemote(filters: readonly { filter: string; qos: QoS }[]): Promise<void> {
    return this.#link.subscribe(this, filters);
  }

  /** @internal */
  protected _unsubscribeRemote(filters: readonly string[]): Promise<void> {
    return this.#link.unsubscribe(this, filters);
  }

  /** @internal */
  protected _end(): Promise<void> {
    this.#link.detach(this);
    return Promise.resolve();
  }
}

function notConnected(why: string): FleetError {
  return new FleetError('NOT_CONNECTED', why, { status: 503, captureStack: false });
}

/**
 * One shared `Transport` connection carrying many end devices. {@link GatewayConnection.child}
 * hands out a {@link GatewayChild} per device: a `Transport` whose publishes go over the shared
 * connection on the device's own topics, and whose subscriptions become subscriptions of the
 * shared connection (one per filter, however many children hold it), demultiplexed by topic back
 * to the children that subscribed.
 *
 * - A child's `connect()` is logical: it connects the shared connection if needed and attaches the
 *   child's session; `close()` detaches it. A second child with the same device id takes the
 *   session over (the first goes offline and reconnects by its backoff), as on an MQTT broker.
 * - A persistent child (`clean: false`) keeps its subscriptions while detached; QoS 1 messages
 *   for it wait (bounded) and are delivered when it connects again.
 * - When the shared connection goes offline, every attached child goes offline; each reconnects
 *   (by its own backoff) once the shared connection is back. When it is closed (by its owner, or
 *   after refused credentials), the gateway closes: every child view is closed.
 * - In the default `device` topic scope a child may use only its own device's topics; the broker
 *   enforces the same per gateway with `mosquittoAcl({ gateways })`.
 *
 * @example
 * ```ts
 * const gateway = new GatewayConnection({ transport: new MqttTransport({ url, clientId: 'gw-7', username: 'gw-7' }), tenantId: 'acme' });
 * const sensor = gateway.child({ deviceId: 'sensor-0042' });
 * await sensor.connect();
 * await sensor.publish('dt/acme/sensor-0042/telemetry', jsonCodec.encode({ ts: Date.now(), values: { t: 21.5 } }), { qos: 1 });
 * ```
 */
export class GatewayConnection {
  /** The shared connection. */
  readonly transport: Transport;
  readonly #tenantId: string | undefined;
  readonly #scope: GatewayTopicScope;
  readonly #maxPending: number;
  readonly #sessions = new Map<string, Session>();
  readonly #views = new Set<GatewayChild>();
  #dropped = 0;
  #closed = false;

  /**
   * @param options - the shared transport, the children's tenant, the topic scope
   * @throws FleetError `INVALID_ARGUMENT` for options that are not an object or a bad option,
   *   `INVALID_NAME` for an invalid tenant id.
   */
  constructor(options: GatewayConnectionOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new FleetError('INVALID_ARGUMENT', `new GatewayConnection(options): options must be an object such as { transport, tenantId: 'acme' }, got ${describeValue(options)}`, { status: 400 });
    }
    const t = options.transport as Partial<Transport> | undefined;
    if (typeof t !== 'object' || t === null || typeof t.publish !== 'function' || typeof t.subscribe !== 'function' || typeof t.connect !== 'function' || typeof t.on !== 'function') {
      throw new FleetError('INVALID_ARGUMENT', `new GatewayConnection(options): options.transport must be a Transport (MqttTransport, MemoryTransport, …), got ${describeValue(options.transport)}`, { status: 400 });
    }
    const scope = options.topicScope ?? 'device';
    if (scope !== 'device' && scope !== 'any') throw new FleetError('INVALID_ARGUMENT', `new GatewayConnection(options): topicScope must be "device" or "any", got ${describeValue(scope)}`, { status: 400 });
    const maxPending = options.maxPendingPerChild ?? 1000;
    if (!Number.isInteger(maxPending) || maxPending < 0) throw new FleetError('INVALID_ARGUMENT', `new GatewayConnection(options): maxPendingPerChild must be an integer ≥ 0, got ${describeValue(maxPending)}`, { status: 400 });
    this.transport = options.transport;
    this.#tenantId = options.tenantId === undefined ? undefined : assertTenantId(options.tenantId);
    this.#scope = scope;
    this.#maxPending = maxPending;
    this.transport.on('state', this.#onState);
  }

  /** The device ids with a session (attached, or persistent and detached), sorted. */
  get children(): readonly string[] {
    return [...this.#sessions.keys()].sort();
  }

  /** QoS 1 messages dropped from full backlogs of detached persistent children. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Connects the shared connection (children connect it on their own first `connect()`). */
  connect(): Promise<void> {
    return this.transport.connect();
  }

  /**
   * A `Transport` view for one end device. Each call makes a new view (two views with one device
   * id take the session from each other on connect, as two MQTT clients with one client id do).
   *
   * @throws FleetError `INVALID_ARGUMENT` for bad options, `INVALID_NAME` for an invalid device or
   *   tenant id (in the `device` scope, where a tenant is required), `TRANSPORT_CLOSED` after
   *   {@link GatewayConnection.close}.
   */
  child(options: GatewayChildOptions): GatewayChild {
    if (this.#closed) throw new FleetError('TRANSPORT_CLOSED', 'GatewayConnection.child: the gateway is closed; create a new GatewayConnection', { status: 503 });
    if (typeof options !== 'object' || options === null) {
      throw new FleetError('INVALID_ARGUMENT', `GatewayConnection.child(options): options must be an object such as { deviceId: 'sensor-1' }, got ${describeValue(options)}`, { status: 400 });
    }
    const clean = options.clean ?? true;
    if (typeof clean !== 'boolean') throw new FleetError('INVALID_ARGUMENT', `GatewayConnection.child(options): clean must be a boolean, got ${describeValue(clean)}`, { status: 400 });
    let scope: Scope | undefined;
    if (this.#scope === 'device') {
      const tenantId = options.tenantId ?? this.#tenantId;
      if (tenantId === undefined) throw new FleetError('INVALID_ARGUMENT', 'GatewayConnection.child(options): in the "device" topic scope a child needs a tenant: pass tenantId here or to the GatewayConnection', { status: 400 });
      scope = deviceScope(tenantId, options.deviceId);
    }
    const view = new GatewayChild(this.#link, options, scope, clean);
    this.#views.add(view);
    view.on('state', (s: TransportState) => {
      if (s === 'closed') this.#views.delete(view);
    });
    return view;
  }

  /** Closes every child view, drops every session and closes the shared connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.transport.off('state', this.#onState);
    await Promise.allSettled([...this.#views].map((v) => v.close()));
    for (const session of [...this.#sessions.values()]) this.#discard(session);
    await this.transport.close();
  }

  readonly #onState = (state: TransportState): void => {
    if (state === 'online' || state === 'connecting') return;
    if (state === 'closed') {
      // Closed for good (closed by its owner, or refused credentials): no child can connect again.
      void this.close();
      return;
    }
    const reason = notConnected(`the gateway's shared connection "${this.transport.clientId}" is ${state}`);
    for (const session of this.#sessions.values()) {
      const child = session.attached;
      if (child === undefined) continue;
      session.attached = undefined;
      if (session.clean) this.#discard(session);
      child._lose(reason);
    }
  };

  #discard(session: Session): void {
    if (this.#sessions.get(session.clientId) === session) this.#sessions.delete(session.clientId);
    for (const sub of session.subs.values()) void sub.off.then((off) => off?.()).catch(() => undefined);
    session.subs.clear();
    session.pending.length = 0;
  }

  #deliver(session: Session, message: InboundMessage): void {
    if (session.last === message) return;
    session.last = message;
    if (session.readable !== undefined && !session.readable(message.topic)) return;
    const qos = Math.min(message.qos, session.maxQos(message.topic)) as QoS;
    const m = qos === message.qos ? message : { ...message, qos };
    const child = session.attached;
    if (child !== undefined) {
      child._receive(m);
      return;
    }
    if (session.clean || qos !== 1 || m.retain) return;
    if (session.pending.length >= this.#maxPending) {
      if (this.#maxPending === 0) {
        this.#dropped++;
        return;
      }
      session.pending.shift();
      this.#dropped++;
    }
    session.pending.push(m);
  }

  #subscribeOne(session: Session, filter: string, qos: QoS): Promise<void> {
    const handler = (m: InboundMessage): void => this.#deliver(session, m);
    const off = this.transport.subscribe(filter, handler, { qos });
    const previous = session.subs.get(filter);
    const entry: SharedSub = { qos, off: off.then((u) => u, () => undefined) };
    session.subs.set(filter, entry);
    return off.then(
      () => {
        // The new handler took the retained messages; the old one would only repeat live ones.
        if (previous !== undefined) void previous.off.then((u) => u?.()).catch(() => undefined);
      },
      (error: unknown) => {
        if (session.subs.get(filter) === entry) {
          if (previous === undefined) session.subs.delete(filter);
          else session.subs.set(filter, previous);
        }
        throw isFleetError(error) ? error : new FleetError('INTERNAL', `subscribe failed: ${describeValue(error)}`, { cause: error });
      },
    );
  }

  readonly #link: GatewayLink = {
    attach: async (child) => {
      if (this.#closed) throw new FleetError('TRANSPORT_CLOSED', 'the gateway is closed', { status: 503 });
      await this.transport.connect();
      let session = this.#sessions.get(child.clientId);
      const previous = session?.attached;
      if (session !== undefined && previous !== undefined && previous !== child) {
        session.attached = undefined;
        previous._lose(notConnected(`gateway child "${child.clientId}": the session was taken over by another connection with the same client id`));
      }
      let sessionPresent = false;
      if (session === undefined || child.clean || session.clean) {
        if (session !== undefined) this.#discard(session);
        session = new Session(child.clientId, child.clean, child._readable);
        this.#sessions.set(child.clientId, session);
      } else sessionPresent = true;
      session.attached = child;
      if (session.pending.length > 0) {
        const backlog = session.pending.splice(0);
        const s = session;
        queueMicrotask(() => {
          for (const m of backlog) if (s.attached === child) child._receive(m);
        });
      }
      return { sessionPresent };
    },
    detach: (child) => {
      const session = this.#sessions.get(child.clientId);
      if (session === undefined || session.attached !== child) return;
      session.attached = undefined;
      if (session.clean) this.#discard(session);
    },
    send: (child, message, done) => {
      const session = this.#sessions.get(child.clientId);
      if (session?.attached !== child) {
        done(notConnected(`gateway child "${child.clientId}" is not attached`));
        return;
      }
      this.transport.publish(message.topic, message.payload, { qos: message.qos, retain: message.retain }).then(
        () => done(),
        (error: unknown) => done(isFleetError(error) ? error : new FleetError('INTERNAL', `publish failed: ${describeValue(error)}`, { cause: error })),
      );
    },
    subscribe: async (child, filters) => {
      const session = this.#sessions.get(child.clientId);
      if (session?.attached !== child) throw notConnected(`gateway child "${child.clientId}" is not attached`);
      await Promise.all(filters.map(({ filter, qos }) => this.#subscribeOne(session, filter, qos)));
    },
    unsubscribe: async (child, filters) => {
      const session = this.#sessions.get(child.clientId);
      if (session?.attached !== child) throw notConnected(`gateway child "${child.clientId}" is not attached`);
      await Promise.all(
        filters.map(async (filter) => {
          const sub = session.subs.get(filter);
          session.subs.delete(filter);
          const off = await sub?.off;
          await off?.();
        }),
      );
    },
  };
}
