/**
 * The transactional outbox: messages that must leave the process after a state change are
 * written in the same transaction as the change, and a relay publishes them afterwards.
 */
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { FleetError } from '../errors.js';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { int } from './sql-common.js';

/** A message to send once the write it belongs to has committed. */
export interface OutboxMessage {
  /** The topic to publish on. */
  readonly topic: string;
  /** The payload (text, e.g. JSON). */
  readonly payload: string;
  /** MQTT QoS. @defaultValue 1 */
  readonly qos?: 0 | 1;
}

/** A committed message as the relay hands it to `publish`. */
export interface RelayedMessage extends OutboxMessage {
  /** Its position in the outbox (ascending in commit order of the rows' insertion). */
  readonly id: number;
  /** The tenant whose write enqueued it. */
  readonly tenantId: string;
  /** MQTT QoS. */
  readonly qos: 0 | 1;
}

/** Options of the store writes that can enqueue messages. */
export interface OutboxOptions {
  /** Messages committed with the write, and only if the write happens. */
  readonly outbox?: readonly OutboxMessage[];
}

/** @internal Checks outbox messages before a write (a bad one refuses the write). */
export function checkOutbox(api: string, options: OutboxOptions | undefined): readonly OutboxMessage[] {
  const messages = options?.outbox;
  if (messages === undefined) return [];
  if (!Array.isArray(messages)) throw new FleetError('INVALID_ARGUMENT', `${api}: options.outbox must be an array of { topic, payload, qos? }`, { status: 400 });
  for (const [i, m] of messages.entries()) {
    const ok =
      typeof m === 'object' &&
      m !== null &&
      typeof m.topic === 'string' &&
      m.topic.length > 0 &&
      m.topic.length <= 1024 &&
      typeof m.payload === 'string' &&
      (m.qos === undefined || m.qos === 0 || m.qos === 1);
    if (!ok) throw new FleetError('INVALID_ARGUMENT', `${api}: options.outbox[${i}] must be { topic: string (1–1024), payload: string, qos?: 0 | 1 }`, { status: 400 });
  }
  return messages;
}

/** @internal Inserts messages in the current (tenant) transaction, in order. */
export async function enqueue(tx: SqlExecutor, tenantId: string, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  await tx.query(
    'INSERT INTO fleetkit_outbox (tenant_id, topic, payload, qos) SELECT $1, t, p, q FROM unnest($2::text[], $3::text[], $4::smallint[]) WITH ORDINALITY AS u(t, p, q, n) ORDER BY n',
    [tenantId, messages.map((m) => m.topic), messages.map((m) => m.payload), messages.map((m) => m.qos ?? 1)],
  );
}

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions {
  /** Publishes one message; resolves once the broker has it (a rejection leaves the batch unsent). */
  readonly publish: (message: RelayedMessage) => Promise<void>;
  /** Most messages per batch (one transaction). @defaultValue 500 */
  readonly batchSize?: number;
  /** The clock {@link OutboxRelay.start}'s polling runs on. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** How long {@link OutboxRelay.start} waits after finding the outbox empty or failing (ms). @defaultValue 100 */
  readonly pollEveryMs?: number;
  /** Called with a failed batch while running (the batch stays unsent and is tried again). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Publishes committed outbox messages and marks them sent. Each batch is one transaction that
 * locks its rows (`FOR UPDATE SKIP LOCKED`, so two relays never take the same rows), publishes
 * them in id order, then marks them sent; if publishing fails or the process dies, the rows stay
 * unsent and the next batch (of this or another relay, also after a restart) publishes them again:
 * delivery is at-least-once, so consumers are idempotent (by shadow version, job id, command id).
 *
 * The driver must run as a role that is a member of `fleetkit_relay` (it sees every tenant's
 * messages and may only set `sent_at`): `openPGlite({ role: 'fleetkit_relay' })`, or a server login
 * granted `fleetkit_relay`.
 *
 * @example
 * ```ts
 * const relay = new OutboxRelay(relayDriver, { publish: (m) => transport.publish(m.topic, m.payload, { qos: m.qos }) });
 * await relay.drain();
 * ```
 */
export class OutboxRelay {
  readonly #db: SqlDriver;
  readonly #publish: (message: RelayedMessage) => Promise<void>;
  readonly #batch: number;
  readonly #clock: Clock;
  readonly #poll: number;
  readonly #onError: ((error: unknown) => void) | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #wake: (() => void) | undefined;

  /**
   * @param driver - the database, as a member of `fleetkit_relay`
   * @param options - how to publish, batch size
   */
  constructor(driver: SqlDriver, options: OutboxRelayOptions) {
    if (typeof options?.publish !== 'function') throw new FleetError('INVALID_ARGUMENT', 'OutboxRelay: pass { publish: (message) => Promise<void> }', { status: 400 });
    const batch = options.batchSize ?? 500;
    if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new FleetError('INVALID_ARGUMENT', `OutboxRelay: batchSize must be an integer from 1 to 10000, got ${String(batch)}`, { status: 400 });
    const poll = options.pollEveryMs ?? 100;
    if (!Number.isInteger(poll) || poll < 1) throw new FleetError('INVALID_ARGUMENT', `OutboxRelay: pollEveryMs must be an integer ≥ 1, got ${String(poll)}`, { status: 400 });
    this.#db = driver;
    this.#publish = options.publish;
    this.#batch = batch;
    this.#clock = options.clock ?? systemClock;
    this.#poll = poll;
    this.#onError = options.onError;
  }

  /** Whether {@link start} is running the relay. */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Relays continuously: a batch after a full batch at once, otherwise every `pollEveryMs` on the
   * clock (also after a failure, reported to `onError`). Idempotent. Run it on one instance (the
   * leader, see `followLeader`); two running relays are safe (`SKIP LOCKED`) but compete.
   */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#cycle();
  }

  /** Stops relaying and waits for the batch in progress. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
    await this.#loop;
  }

  async #cycle(): Promise<void> {
    while (this.#running) {
      let n = 0;
      try {
        n = await this.relayOnce();
      } catch (e) {
        this.#onError?.(e);
      }
      if (!this.#running) return;
      if (n >= this.#batch) continue;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = this.#clock.setTimeout(resolve, this.#poll);
      });
      this.#wake = undefined;
      this.#timer = undefined;
    }
  }

  /** Publishes one batch of unsent messages; resolves to how many were published and marked sent. */
  async relayOnce(): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const rows = (
        await tx.query<{ id: unknown; tenant_id: string; topic: string; payload: string; qos: unknown }>(
          'SELECT id, tenant_id, topic, payload, qos FROM fleetkit_outbox WHERE sent_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED',
          [this.#batch],
        )
      ).rows;
      if (rows.length === 0) return 0;
      const messages = rows.map((r): RelayedMessage => ({ id: int(r.id), tenantId: r.tenant_id, topic: r.topic, payload: r.payload, qos: int(r.qos) === 0 ? 0 : 1 }));
      // Handed over in id order; the publishes may be in flight together.
      await Promise.all(messages.map((m) => this.#publish(m)));
      await tx.query('UPDATE fleetkit_outbox SET sent_at = now() WHERE id = ANY($1::bigint[])', [messages.map((m) => m.id)]);
      return messages.length;
    });
  }

  /** Publishes batches until none is left; resolves to the total. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.relayOnce();
      total += n;
      if (n === 0) return total;
    }
  }
}
