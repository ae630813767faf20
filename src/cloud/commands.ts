/**
 * Commands to devices: queued while a device is offline, delivered when it comes online,
 * idempotent by command id, acknowledged in the store's status vocabulary, expired on the clock.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { FleetError, isFleetError } from '../errors.js';
import type { JsonObject } from '../json.js';
import { jsonCodec } from '../protocol/codec.js';
import { commandAckWireSchema, type CommandAckMessage, type CommandRequestMessage } from '../protocol/command-wire.js';
import { commandTopic, safeParseTopic } from '../protocol/topics.js';
import type { CommandListOptions, CommandState, CommandStore, StoredCommand } from '../store/command-store.js';
import type { DeviceStore } from '../store/device-store.js';
import type { Page } from '../store/page.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import type { InboundMessage, QoS, Transport, Unsubscribe } from '../transport/types.js';
import { optionsOf, shareGroupFilter } from './arguments.js';
import type { EffectRunner } from './effect-runner.js';
import type { DevicePresence } from './health-monitor.js';
import { ThingLanes } from './thing-lanes.js';

/** Options of {@link CommandService}. */
export interface CommandServiceOptions {
  /** Where commands go and acknowledgements arrive (connect it yourself). */
  readonly transport: Transport;
  /** Where commands and their state live. */
  readonly commands: CommandStore;
  /** The registry: commands go only to registered, not decommissioned devices of the caller's tenant. */
  readonly devices: DeviceStore;
  /** Time and expiry timers. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /**
   * Who is online (a `HealthMonitor`). A command for an offline device is queued and delivered
   * when it comes online. Without it every device counts as online: commands are published at once
   * and the broker's session (QoS 1, persistent) is what holds them.
   */
  readonly presence?: DevicePresence;
  /**
   * The fleet's effect runner: the service executes `cancel-pending` (scope `commands`) for
   * decommissioned devices and records each command sent in the audit log.
   */
  readonly effects?: EffectRunner;
  /** Expiry of a command sent without `expiresAt` (ms after it was sent). @defaultValue 86400000 (24 hours) */
  readonly defaultTtlMs?: number;
  /** QoS of the command publications and the acknowledgement subscription. @defaultValue 1 */
  readonly qos?: QoS;
  /**
   * Subscribe to command acknowledgements through the MQTT shared subscription `$share/{shareGroup}/…`, so
   * several instances on one broker split them (mosquitto ≥ 1.6, EMQX, HiveMQ); state lives in
   * the shared stores.
   */
  readonly shareGroup?: string;
}

/** Options of {@link CommandService.sendCommand}. */
export interface SendCommandOptions {
  /** When the command expires (epoch ms, after now). @defaultValue now + `defaultTtlMs` */
  readonly expiresAt?: number;
  /**
   * The command id (1–64 of `[a-zA-Z0-9:_-]`): sending the same id again with the same device,
   * name and params returns the stored command and sends nothing. @defaultValue a random UUID
   */
  readonly commandId?: string;
  /** Who sends it, for the audit log. @defaultValue `'application'` */
  readonly actor?: string;
}

/** A command's state changed (an acknowledgement, delivery, expiry or cancellation). */
export interface CommandUpdatedEvent {
  /** The command as stored now. */
  readonly command: StoredCommand;
  /** Its state before. */
  readonly previous: CommandState;
}

/** An acknowledgement the service refused; nothing changed. */
export interface AckRejectedEvent {
  /** The topic. */
  readonly topic: string;
  /** The tenant in the topic, when it parsed. */
  readonly tenantId?: string;
  /** The device in the topic, when it parsed. */
  readonly deviceId?: string;
  /** Why. */
  readonly error: FleetError;
}

/** Every event of a {@link CommandService}. */
export interface CommandServiceEvents {
  /** A command was published to its device. */
  'command:sent': (command: StoredCommand) => void;
  /** A command's state changed. */
  'command:updated': (event: CommandUpdatedEvent) => void;
  /** An acknowledgement was refused (malformed, unknown command, another device's command, a step back). */
  'ack:rejected': (event: AckRejectedEvent) => void;
  /** A failure of the service itself (a store or a publish failed). */
  error: (error: FleetError) => void;
}

// How far along a command is; a state never moves to a lower (or, once final, any other) rank.
const RANK: Readonly<Record<CommandState, number>> = { queued: 0, sent: 1, received: 2, executing: 3, succeeded: 4, failed: 4, rejected: 4, expired: 4 };
const FINAL = 4;
const OPEN: readonly CommandState[] = ['queued', 'sent', 'received', 'executing'];
// Not yet started on the device: these expire; an executing command waits for its result.
const EXPIRABLE: ReadonlySet<CommandState> = new Set<CommandState>(['queued', 'sent', 'received']);
// Not known to have reached the device: these are (re)delivered when it comes online.
const UNDELIVERED: ReadonlySet<CommandState> = new Set<CommandState>(['queued', 'sent']);

const key = (tenantId: string, id: string): string => `${tenantId}\u0000${id}`;

/**
 * Sends commands to devices on `cmd/{tenantId}/{deviceId}/req/{commandId}` and tracks their
 * acknowledgements on `…/res/{commandId}`.
 *
 * - **Online** means what the {@link DevicePresence} (the `HealthMonitor`) says: heard from (a
 *   heartbeat or telemetry) within the heartbeat interval + grace. A command for an offline device
 *   is stored `queued`; when the device comes online its `queued` and `sent` commands are published
 *   (again, for `sent` ones whose delivery is not confirmed — devices deduplicate by command id).
 * - **Idempotent by id**: the same command id with the same device, name and params returns the
 *   stored command and publishes nothing; with other content it is `ALREADY_EXISTS`.
 * - **Acknowledgements** move a command forward only: `sent` → `received` → `executing` →
 *   `succeeded` | `failed` | `rejected` (steps may be skipped; a repeated or late acknowledgement
 *   is ignored and reported as `ack:rejected`). An acknowledgement for a command of another device
 *   or tenant is refused.
 * - **Expiry** on the clock at `expiresAt`: a command not yet `executing` becomes `expired` (an
 *   executing one waits for its result). Decommissioning cancels open commands (`expired` with
 *   error code `CANCELLED`).
 *
 * @example
 * ```ts
 * const commands = new CommandService({ transport, commands: stores.commands, devices: stores.devices, presence: health, clock });
 * await commands.start();
 * await commands.sendCommand({ tenantId: 'acme' }, 'pump-7', 'set-interval', { seconds: 30 }, { expiresAt: clock.now() + 3_600_000 });
 * ```
 */
export class CommandService extends EventEmitter<CommandServiceEvents> {
  readonly #transport: Transport;
  readonly #commands: CommandStore;
  readonly #devices: DeviceStore;
  readonly #clock: Clock;
  readonly #presence: DevicePresence | undefined;
  readonly #effects: EffectRunner | undefined;
  readonly #ttl: number;
  readonly #qos: QoS;
  readonly #share: (filter: string) => string;
  readonly #lanes: ThingLanes;
  // Open commands per device (tenant + device → command ids), and their expiry timers.
  readonly #open = new Map<string, Set<string>>();
  readonly #timers = new Map<string, TimerHandle>();
  #subscription: Unsubscribe | undefined;
  #offPresence: (() => void) | undefined;
  readonly #offEffects: (() => void) | undefined;

  /**
   * @param options - transport, stores, presence, clock and defaults
   * @throws FleetError `INVALID_ARGUMENT` for a missing transport or store, or a bad default.
   */
  constructor(options: CommandServiceOptions) {
    super();
    const bad = (what: string): never => {
      throw new FleetError('INVALID_ARGUMENT', `new CommandService: ${what}`, { status: 400 });
    };
    if (typeof options !== 'object' || options === null) bad('pass { transport, commands, devices, … }');
    if (typeof options.transport?.subscribe !== 'function') bad('transport must be a Transport');
    if (typeof options.commands?.createCommand !== 'function') bad('commands must be a CommandStore');
    if (typeof options.devices?.get !== 'function') bad('devices must be a DeviceStore');
    const ttl = options.defaultTtlMs ?? 86_400_000;
    if (!Number.isFinite(ttl) || ttl <= 0) bad(`defaultTtlMs must be a positive number of ms, got ${String(ttl)}`);
    const qos = options.qos ?? 1;
    if (qos !== 0 && qos !== 1) bad(`qos must be 0 or 1, got ${String(qos)}`);
    this.#transport = options.transport;
    this.#commands = options.commands;
    this.#devices = options.devices;
    this.#clock = options.clock ?? systemClock;
    this.#presence = options.presence;
    this.#effects = options.effects;
    this.#ttl = ttl;
    this.#share = shareGroupFilter('new CommandService', options.shareGroup);
    this.#qos = qos;
    this.#lanes = new ThingLanes(10_000, (e) => this.#failed(e));
    this.#offEffects = options.effects?.use('cancel-pending', async (ctx, effect) => {
      if (effect.scopes.includes('commands')) await this.cancelOpen(ctx, effect.deviceId, 'the device was decommissioned');
    });
  }

  /** Subscribes to `cmd/+/+/res/+` and to the presence signal. Idempotent. */
  async start(): Promise<void> {
    if (this.#subscription !== undefined) return;
    this.#subscription = await this.#transport.subscribe(this.#share('cmd/+/+/res/+'), this.#onAck, { qos: this.#qos });
    this.#offPresence = this.#presence?.onOnline((e) => this.#deliverOpen(e.tenantId, e.deviceId));
  }

  /** Unsubscribes, clears the expiry timers and waits for work in progress. */
  async stop(): Promise<void> {
    const sub = this.#subscription;
    this.#subscription = undefined;
    await sub?.();
    this.#offPresence?.();
    this.#offPresence = undefined;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
    await this.#lanes.idle();
  }

  /** {@link stop}, and detaches from the effect runner. */
  async close(): Promise<void> {
    await this.stop();
    this.#offEffects?.();
  }

  /** Number of devices with command work queued or running. */
  get busyDevices(): number {
    return this.#lanes.active;
  }

  /**
   * Sends a command: stored `queued`, published at once when the device is online (`sent`),
   * otherwise when it comes online.
   *
   * @returns the stored command (the existing one for a repeated command id)
   * @throws FleetError `DEVICE_NOT_FOUND`, `TENANT_MISMATCH` (another tenant's device), `FORBIDDEN`
   *   (decommissioned), `ALREADY_EXISTS` (the id is taken by another command), `INVALID_ARGUMENT`
   *   (an `expiresAt` not after now, bad name or params), `INVALID_NAME` (a bad command id).
   */
  async sendCommand(ctx: TenantContext, deviceId: string, name: string, params: JsonObject = {}, options: SendCommandOptions = {}): Promise<StoredCommand> {
    const tenantId = tenantOf(ctx, 'CommandService.sendCommand');
    const { commandId: givenId, expiresAt: givenExpiry, actor } = optionsOf('CommandService.sendCommand', options);
    const now = this.#clock.now();
    const commandId = givenId ?? randomUUID();
    commandTopic(tenantId, typeof deviceId === 'string' ? deviceId : '', commandId); // INVALID_NAME for a bad id
    const expiresAt = givenExpiry ?? now + this.#ttl;
    if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt) || expiresAt <= now) {
      throw new FleetError('INVALID_ARGUMENT', `CommandService.sendCommand: expiresAt must be an epoch-ms time after now (${now}), got ${String(expiresAt)}`, { status: 400 });
    }
    const device = await this.#devices.get(ctx, deviceId);
    if (device === undefined) throw new FleetError('DEVICE_NOT_FOUND', `CommandService.sendCommand: device "${deviceId}" is not registered in tenant "${tenantId}"`, { status: 404 });
    if (device.state === 'decommissioned') throw new FleetError('FORBIDDEN', `CommandService.sendCommand: device "${deviceId}" is decommissioned and takes no commands`, { status: 403 });
    const { command, created } = await this.#commands.createCommand(ctx, { tenantId, commandId, deviceId, name, params, createdAt: now, expiresAt, status: 'queued', updatedAt: now });
    if (!created) return command;
    this.#track(command);
    await this.#effects?.record(ctx, { tenantId, at: now, actor: actor ?? 'application', action: 'command.send', subject: deviceId, details: { commandId, name } });
    if (this.#presence === undefined || this.#presence.isOnline(tenantId, deviceId)) {
      try {
        return await this.#inLane(tenantId, deviceId, () => this.#deliver(command.tenantId, command.commandId));
      } catch (e) {
        // Stored and queued: it goes out when the device is next seen online.
        this.#failed(e);
      }
    }
    return command;
  }

  /** A command of the tenant, or `undefined`. */
  get(ctx: TenantContext, commandId: string): Promise<StoredCommand | undefined> {
    return this.#commands.getCommand(ctx, commandId);
  }

  /** The tenant's commands in pages (filters: device, state, expiring before). */
  list(ctx: TenantContext, options?: CommandListOptions): Promise<Page<StoredCommand>> {
    return this.#commands.listCommands(ctx, optionsOf('CommandService.list', options));
  }

  /**
   * Loads the tenant's open commands after a restart: arms their expiry timers and queues them for
   * delivery. Returns how many.
   */
  async recover(ctx: TenantContext): Promise<number> {
    tenantOf(ctx, 'CommandService.recover');
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await this.#commands.listCommands(ctx, { status: OPEN, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      for (const c of page.items) {
        this.#track(c);
        n++;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return n;
  }

  /**
   * Ends every open command of a device as `expired` with error `CANCELLED` (what the
   * `cancel-pending` effect does for a decommissioned device). Returns how many.
   */
  async cancelOpen(ctx: TenantContext, deviceId: string, reason: string): Promise<number> {
    const tenantId = tenantOf(ctx, 'CommandService.cancelOpen');
    const open: StoredCommand[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#commands.listCommands(ctx, { deviceId, status: OPEN, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
      open.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    let n = 0;
    for (const c of open) {
      const done = await this.#inLane(tenantId, deviceId, () => this.#move(tenantId, c.commandId, (cur) => (RANK[cur.status] < FINAL ? { status: 'expired', error: { code: 'CANCELLED', message: reason } } : undefined)));
      if (done !== undefined) n++;
    }
    return n;
  }

  // ── delivery ───────────────────────────────────────────────────────────────────────────────

  #deliverOpen(tenantId: string, deviceId: string): void {
    const ids = this.#open.get(key(tenantId, deviceId));
    if (ids === undefined) return;
    for (const commandId of [...ids]) void this.#inLane(tenantId, deviceId, () => this.#deliver(tenantId, commandId)).catch((e: unknown) => this.#failed(e));
  }

  // Publishes a command that has not reached its device, then records it `sent`.
  async #deliver(tenantId: string, commandId: string): Promise<StoredCommand> {
    const ctx = { tenantId };
    const c = await this.#commands.getCommand(ctx, commandId);
    if (c === undefined) throw new FleetError('INTERNAL', `command "${commandId}" vanished from the store`, { status: 500 });
    if (!UNDELIVERED.has(c.status)) return c;
    if (c.expiresAt !== undefined && this.#clock.now() >= c.expiresAt) return (await this.#expire(tenantId, commandId)) ?? c;
    const message: CommandRequestMessage = { commandId, name: c.name, params: c.params as CommandRequestMessage['params'], issuedAt: c.createdAt, ...(c.expiresAt === undefined ? {} : { expiresAt: c.expiresAt }) };
    await this.#transport.publish(commandTopic(tenantId, c.deviceId, commandId), jsonCodec.encode(message), { qos: this.#qos });
    const sent = c.status === 'queued' ? ((await this.#move(tenantId, commandId, (cur) => (cur.status === 'queued' ? { status: 'sent' } : undefined))) ?? c) : c;
    if (this.listenerCount('command:sent') > 0) this.emit('command:sent', sent);
    return sent;
  }

  // ── acknowledgements ──────────────────────────────────────────────────────────────────────

  readonly #onAck = (message: InboundMessage): void => {
    const parsed = safeParseTopic(message.topic);
    if (!parsed.ok || parsed.value.kind !== 'command-ack') {
      this.#ackRejected(message.topic, undefined, parsed.ok ? new FleetError('INVALID_TOPIC', 'not a command acknowledgement topic', { status: 400 }) : parsed.error);
      return;
    }
    const route = parsed.value;
    const ack = decodeAck(message.payload, route.commandId);
    if (ack instanceof FleetError) {
      this.#ackRejected(message.topic, route, ack);
      return;
    }
    void this.#inLane(route.tenantId, route.deviceId, async () => {
      const ctx = { tenantId: route.tenantId };
      const current = await this.#commands.getCommand(ctx, route.commandId);
      if (current === undefined || current.deviceId !== route.deviceId) {
        // Unknown here, or another device's command: the same answer, so nothing leaks.
        this.#ackRejected(message.topic, route, new FleetError('INVALID_REQUEST', `No command "${route.commandId}" for device "${route.deviceId}"`, { status: 404, captureStack: false }));
        return;
      }
      const next = advance(current.status, ack);
      if (typeof next === 'string') {
        this.#ackRejected(message.topic, route, new FleetError('INVALID_REQUEST', next, { status: 409, captureStack: false }));
        return;
      }
      await this.#move(route.tenantId, route.commandId, (cur) => {
        const n = advance(cur.status, ack);
        return typeof n === 'string' ? undefined : n;
      });
    }).catch((e: unknown) => this.#failed(e));
  };

  // ── state changes: read, decide, compare-and-set; one device at a time ────────────────────

  async #move(tenantId: string, commandId: string, decide: (current: StoredCommand) => Pick<StoredCommand, 'status'> & Partial<Pick<StoredCommand, 'result' | 'error'>> | undefined): Promise<StoredCommand | undefined> {
    const ctx = { tenantId };
    for (let attempt = 1; ; attempt++) {
      const current = await this.#commands.getCommand(ctx, commandId);
      if (current === undefined) return undefined;
      const change = decide(current);
      if (change === undefined) return undefined;
      try {
        const stored = await this.#commands.updateCommand(ctx, { ...current, ...change, updatedAt: this.#clock.now() }, current.version);
        if (RANK[stored.status] === FINAL) this.#untrack(stored);
        if (this.listenerCount('command:updated') > 0) this.emit('command:updated', { command: stored, previous: current.status });
        return stored;
      } catch (e) {
        if (!isFleetError(e, 'VERSION_CONFLICT') || attempt >= 8) throw e;
      }
    }
  }

  #expire(tenantId: string, commandId: string): Promise<StoredCommand | undefined> {
    return this.#move(tenantId, commandId, (cur) => (EXPIRABLE.has(cur.status) ? { status: 'expired', error: { code: 'EXPIRED', message: `not started before ${new Date(cur.expiresAt ?? 0).toISOString()}` } } : undefined));
  }

  #track(c: StoredCommand): void {
    if (RANK[c.status] === FINAL) return;
    const k = key(c.tenantId, c.deviceId);
    let ids = this.#open.get(k);
    if (ids === undefined) this.#open.set(k, (ids = new Set()));
    ids.add(c.commandId);
    const tk = key(c.tenantId, c.commandId);
    if (c.expiresAt !== undefined && !this.#timers.has(tk)) {
      this.#timers.set(
        tk,
        this.#clock.setTimeout(() => {
          this.#timers.delete(tk);
          void this.#inLane(c.tenantId, c.deviceId, () => this.#expire(c.tenantId, c.commandId)).catch((e: unknown) => this.#failed(e));
        }, c.expiresAt - this.#clock.now()),
      );
    }
  }

  #untrack(c: StoredCommand): void {
    const k = key(c.tenantId, c.deviceId);
    const ids = this.#open.get(k);
    ids?.delete(c.commandId);
    if (ids?.size === 0) this.#open.delete(k);
    const tk = key(c.tenantId, c.commandId);
    const t = this.#timers.get(tk);
    if (t !== undefined) this.#clock.clearTimeout(t);
    this.#timers.delete(tk);
  }

  #inLane<T>(tenantId: string, deviceId: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const admitted = this.#lanes.admit(key(tenantId, deviceId), async () => {
        try {
          resolve(await task());
        } catch (e) {
          reject(e);
        }
      });
      if (!admitted) reject(new FleetError('TOO_MANY_REQUESTS', `too much command work queued for device "${deviceId}"`, { status: 429 }));
    });
  }

  #ackRejected(topic: string, route: { readonly tenantId: string; readonly deviceId: string } | undefined, error: FleetError): void {
    if (this.listenerCount('ack:rejected') === 0) return;
    this.emit('ack:rejected', { topic, ...(route === undefined ? {} : { tenantId: route.tenantId, deviceId: route.deviceId }), error });
  }

  #failed(e: unknown): void {
    const error = isFleetError(e) ? e : new FleetError('INTERNAL', `Command service failure: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

function decodeAck(payload: Uint8Array, commandId: string): CommandAckMessage | FleetError {
  let value: unknown;
  try {
    value = jsonCodec.decode(payload);
  } catch (e) {
    return isFleetError(e) ? e : new FleetError('INVALID_PAYLOAD', 'not JSON', { status: 400 });
  }
  const r = commandAckWireSchema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    return new FleetError('INVALID_PAYLOAD', `Invalid command acknowledgement: ${i === undefined ? 'rejected by the schema' : `${i.path.map(String).join('.') || '(root)'}: ${i.message}`}`, { status: 400, captureStack: false });
  }
  if (r.data.commandId !== commandId) return new FleetError('INVALID_PAYLOAD', `The acknowledgement names command "${r.data.commandId}" but was sent on the topic of "${commandId}"`, { status: 400, captureStack: false });
  return r.data;
}

// The next state for an acknowledgement, or why it does not apply.
function advance(current: CommandState, ack: CommandAckMessage): (Pick<StoredCommand, 'status'> & Partial<Pick<StoredCommand, 'result' | 'error'>>) | string {
  if (RANK[current] === FINAL) return `Command is already ${current}; the "${ack.status}" acknowledgement is ignored`;
  if (RANK[ack.status] <= RANK[current]) return `Command is ${current}; "${ack.status}" would not move it forward (acknowledgements only advance)`;
  return { status: ack.status, ...(ack.result === undefined ? {} : { result: ack.result }), ...(ack.error === undefined ? {} : { error: ack.error }) };
}
