/**
 * The contract every `Transport` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isFleetError } from '../errors.js';
import type { InboundMessage, OfflineQueueOptions, QoS, Transport, TransportState } from '../transport/types.js';

/** What the contract asks a factory for. */
export interface TransportFactoryOptions {
  /** A client id unique to this test run. */
  readonly clientId: string;
  /** Clean (true) or persistent (false) session. */
  readonly clean: boolean;
  /** Offline-queue options to pass through, when given. */
  readonly queue?: OfflineQueueOptions;
}

/** Creates a transport, not yet connected, connected to the broker under test. */
export type TransportFactory = (options: TransportFactoryOptions) => Transport | Promise<Transport>;

/** Options of {@link transportContract}. */
export interface TransportContractOptions {
  /**
   * Title of the `describe` block.
   * @defaultValue 'Transport contract'
   */
  readonly name?: string;
  /**
   * Longest wait for an expected message (ms).
   * @defaultValue 5000
   */
  readonly timeoutMs?: number;
  /**
   * Whether the broker keeps persistent sessions (runs the offline-delivery test).
   * @defaultValue true
   */
  readonly persistentSessions?: boolean;
  /**
   * Number of fast-check runs for the property tests.
   * @defaultValue 15
   */
  readonly numRuns?: number;
}

interface Inbox {
  readonly messages: InboundMessage[];
  waitFor(count: number, what?: string): Promise<void>;
}

const text = (m: InboundMessage): string => new TextDecoder().decode(m.payload);

/**
 * Registers a vitest suite that checks `factory`'s transports against the `Transport` contract:
 * state events, QoS 0/1 delivery byte for byte and in order, MQTT wildcard and `$`-topic rules
 * (a client publish to `$SYS/…` reaches no subscriber and is not retained),
 * unsubscribe, retained messages (kept, cleared, handed once to every new handler — on a filter
 * already held or an overlapping one — and never again to earlier handlers), overlapping
 * subscriptions, topic validation, the offline queue
 * and its overflow policies, subscriptions restored and queued publishes sent after a lost link
 * (forced by a second connection with the same client id), persistent sessions, and close.
 *
 * Call it inside a test file (it uses `describe`/`it` from vitest and fast-check, optional peers).
 *
 * @param factory - creates an unconnected transport for a given client id and session kind
 * @param options - suite name, timeouts, features
 * @example
 * ```ts
 * import { transportContract } from 'fleetkit/testing';
 * import { MemoryBroker, MemoryTransport } from 'fleetkit/memory';
 * const broker = new MemoryBroker();
 * transportContract(({ clientId, clean, queue }) => new MemoryTransport({ broker, clientId, clean, ...(queue ? { queue } : {}) }));
 * ```
 */
export function transportContract(factory: TransportFactory, options: TransportContractOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 5000;
  const numRuns = options.numRuns ?? 15;
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  let serial = 0;
  const open: Transport[] = [];

  const prefix = (): string => `fk-contract/${run}/${++serial}`;
  const make = async (clean = true, queue?: OfflineQueueOptions, clientId = `fk-${run}-${++serial}`): Promise<Transport> => {
    const t = await factory({ clientId, clean, ...(queue === undefined ? {} : { queue }) });
    open.push(t);
    return t;
  };
  const online = async (clean = true): Promise<Transport> => {
    const t = await make(clean);
    await t.connect();
    return t;
  };
  const inbox = async (t: Transport, filter: string, qos: QoS = 1): Promise<Inbox> => {
    const messages: InboundMessage[] = [];
    await t.subscribe(filter, (m) => messages.push(m), { qos });
    return { messages, waitFor: (count, what) => waitUntil(() => messages.length >= count, timeoutMs, what ?? `${count} message(s) on ${filter}`) };
  };

  describe(options.name ?? 'Transport contract', () => {
    afterEach(async () => {
      const all = open.splice(0);
      await Promise.allSettled(all.map((t) => t.close()));
    });

    it('goes connecting → online on connect() and closed on close(), emitting state events', async () => {
      const t = await make();
      const states: TransportState[] = [];
      t.on('state', (s) => states.push(s));
      expect(t.state).toBe('offline');
      await t.connect();
      expect(t.state).toBe('online');
      await t.connect(); // idempotent while online
      await t.close();
      await t.close(); // idempotent
      expect(states).toEqual(['connecting', 'online', 'closed']);
    });

    it('delivers QoS 1 payloads byte for byte and in publish order (property)', async () => {
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const box = await inbox(sub, `${p}/#`, 1);
      let expected: Uint8Array[] = [];
      await fc.assert(
        fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 512 }), { minLength: 1, maxLength: 20 }), async (payloads) => {
          const start = box.messages.length;
          await Promise.all(payloads.map((b) => pub.publish(`${p}/data`, b, { qos: 1 })));
          await box.waitFor(start + payloads.length);
          const got = box.messages.slice(start).map((m) => Array.from(m.payload));
          expect(got).toEqual(payloads.map((b) => Array.from(b)));
          expected = payloads;
        }),
        { numRuns },
      );
      expect(expected.length).toBeGreaterThan(0);
      expect(box.messages.every((m) => m.qos === 1 && m.topic === `${p}/data`)).toBe(true);
    });

    it('delivers QoS 0 and downgrades to the subscription QoS', async () => {
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const box = await inbox(sub, `${p}/q0`, 0);
      await pub.publish(`${p}/q0`, 'zero', { qos: 0 });
      await pub.publish(`${p}/q0`, 'one', { qos: 1 });
      await box.waitFor(2);
      expect(box.messages.map(text).sort()).toEqual(['one', 'zero']);
      expect(box.messages.every((m) => m.qos === 0)).toBe(true);
    });

    it('matches + and # like MQTT', async () => {
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const plus = await inbox(sub, `${p}/+/x`);
      const hash = await inbox(sub, `${p}/a/#`);
      const topics = [`${p}/a/x`, `${p}/a/b/x`, `${p}/a`, `${p}/b/x`, `${p}/b/y`];
      for (const topic of topics) await pub.publish(topic, topic, { qos: 1 });
      await pub.publish(`${p}/a/end`, 'end', { qos: 1 });
      await hash.waitFor(4, 'the sentinel');
      expect(plus.messages.map((m) => m.topic).sort()).toEqual([`${p}/a/x`, `${p}/b/x`].sort());
      expect(hash.messages.map((m) => m.topic).sort()).toEqual([`${p}/a`, `${p}/a/b/x`, `${p}/a/end`, `${p}/a/x`].sort());
    });

    it('does not match $-topics with a leading wildcard, but does with an explicit first level', async () => {
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const thing = `fk-${run}-${serial}`;
      const dollarTopic = `$aws/things/${thing}/shadow/update`;
      const all = await inbox(sub, '#');
      const wild = await inbox(sub, '+/things/+/shadow/update');
      const explicit = await inbox(sub, `$aws/things/${thing}/shadow/+`);
      await pub.publish(dollarTopic, '{}', { qos: 1 });
      await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
      await explicit.waitFor(1);
      await waitUntil(() => all.messages.some((m) => m.topic === `${p}/sentinel`), timeoutMs, 'the sentinel');
      expect(explicit.messages.map((m) => m.topic)).toEqual([dollarTopic]);
      expect(all.messages.filter((m) => m.topic.startsWith('$'))).toEqual([]);
      expect(wild.messages).toEqual([]);
    });

    it('stops delivering after unsubscribe, to that handler only', async () => {
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const gone: InboundMessage[] = [];
      const off = await sub.subscribe(`${p}/t`, (m) => gone.push(m), { qos: 1 });
      const kept = await inbox(sub, `${p}/t`);
      await pub.publish(`${p}/t`, 'before', { qos: 1 });
      await kept.waitFor(1);
      await waitUntil(() => gone.length === 1, timeoutMs, 'the first message');
      await off();
      await off(); // idempotent
      await pub.publish(`${p}/t`, 'after', { qos: 1 });
      await kept.waitFor(2);
      expect(gone.map(text)).toEqual(['before']);
      expect(kept.messages.map(text)).toEqual(['before', 'after']);
    });

    it('gives each matching handler the message once, even for overlapping filters', async () => {
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const a = await inbox(sub, `${p}/#`);
      const b = await inbox(sub, `${p}/+`);
      const c = await inbox(sub, `${p}/one`);
      await pub.publish(`${p}/one`, 'x', { qos: 1 });
      await pub.publish(`${p}/two`, 'y', { qos: 1 });
      await a.waitFor(2);
      await b.waitFor(2);
      await c.waitFor(1);
      expect(a.messages.map(text)).toEqual(['x', 'y']);
      expect(b.messages.map(text)).toEqual(['x', 'y']);
      expect(c.messages.map(text)).toEqual(['x']);
    });

    it('keeps retained messages for later subscribers and clears them with an empty payload', async () => {
      const pub = await online();
      const p = prefix();
      await pub.publish(`${p}/r`, 'kept', { qos: 1, retain: true });
      const late = await online();
      const box = await inbox(late, `${p}/r`);
      await box.waitFor(1);
      expect(box.messages.map((m) => [text(m), m.retain])).toEqual([['kept', true]]);
      await pub.publish(`${p}/r`, new Uint8Array(0), { qos: 1, retain: true });
      await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
      const later = await online();
      const cleared = await inbox(later, `${p}/r`);
      const sentinel = await inbox(later, `${p}/sentinel`);
      await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
      await sentinel.waitFor(1);
      expect(cleared.messages.filter((m) => m.payload.byteLength > 0)).toEqual([]);
    });

    describe('retained messages reach each handler once (MQTT-3.8.4: re-sent on every SUBSCRIBE)', () => {
      const view = (p: string, box: Inbox): string[] => box.messages.map((m) => `${m.topic.slice(p.length)}=${text(m)}${m.retain ? ' (retained)' : ''}`).sort();
      /** Retains r/1 before the first handler subscribes and r/2 while it is subscribed (it sees that one live). */
      const setup = async (): Promise<{ pub: Transport; sub: Transport; p: string; first: Inbox }> => {
        const pub = await online();
        const sub = await online();
        const p = prefix();
        await pub.publish(`${p}/r/1`, 'one', { qos: 1, retain: true });
        const first = await inbox(sub, `${p}/r/#`);
        await first.waitFor(1, 'the retained message for the first handler');
        await pub.publish(`${p}/r/2`, 'two', { qos: 1, retain: true });
        await first.waitFor(2, 'the live message');
        return { pub, sub, p, first };
      };
      /** Sends a sentinel after everything: whatever the broker re-sent was dispatched before it. */
      const settle = async (pub: Transport, p: string, boxes: Inbox[]): Promise<void> => {
        await pub.publish(`${p}/r/end`, 'end', { qos: 1 });
        for (const box of boxes) await waitUntil(() => box.messages.some((m) => m.topic === `${p}/r/end`), timeoutMs, 'the sentinel');
      };
      const clear = async (pub: Transport, p: string): Promise<void> => {
        await pub.publish(`${p}/r/1`, new Uint8Array(0), { qos: 1, retain: true });
        await pub.publish(`${p}/r/2`, new Uint8Array(0), { qos: 1, retain: true });
      };

      it('a second handler on a filter the transport already holds gets them; the first does not get them again', async () => {
        const { pub, sub, p, first } = await setup();
        const second = await inbox(sub, `${p}/r/#`);
        await second.waitFor(2, 'both retained messages for the second handler');
        await settle(pub, p, [first, second]);
        expect(view(p, first)).toEqual(['/r/1=one (retained)', '/r/2=two', '/r/end=end']);
        expect(view(p, second)).toEqual(['/r/1=one (retained)', '/r/2=two (retained)', '/r/end=end']);
        await clear(pub, p);
      });

      it('a handler on an overlapping filter gets them; earlier handlers do not get them again', async () => {
        const { pub, sub, p, first } = await setup();
        const overlapping = await inbox(sub, `${p}/r/+`, 0);
        await overlapping.waitFor(2, 'both retained messages for the overlapping handler');
        await settle(pub, p, [first, overlapping]);
        expect(view(p, first)).toEqual(['/r/1=one (retained)', '/r/2=two', '/r/end=end']);
        expect(view(p, overlapping)).toEqual(['/r/1=one (retained)', '/r/2=two (retained)', '/r/end=end']);
        await clear(pub, p);
      });
    });

    it('never delivers nor retains a client publish to $SYS/… (reserved for the broker)', async () => {
      // Brokers refuse it in their own way (mosquitto drops it, or answers an MQTT 5 QoS 1 publish
      // with "Not authorized"; aedes closes the connection): whatever the way, no subscriber sees it.
      const pub = await online();
      const sub = await online();
      const p = prefix();
      const sys = `$SYS/${p}`;
      const box = await inbox(sub, `${sys}/#`);
      const sentinel = await inbox(sub, `${p}/sentinel`);
      await pub.publish(`${sys}/x`, 'forged', { qos: 0, retain: true }).catch(() => {});
      // Sent on the same link after the forged one (after a reconnect, if the broker dropped the link).
      await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
      await sentinel.waitFor(1, 'the sentinel');
      const late = await online();
      const lateBox = await inbox(late, `${sys}/#`);
      const lateSentinel = await inbox(late, `${p}/sentinel`);
      await pub.publish(`${p}/sentinel`, 'end', { qos: 1 });
      await lateSentinel.waitFor(1, 'the second sentinel');
      expect(box.messages).toEqual([]);
      expect(lateBox.messages).toEqual([]);
    });

    it('rejects invalid topics and filters with INVALID_TOPIC', async () => {
      const t = await online();
      for (const topic of ['', 'a/+/b', 'a/#']) {
        await expect(t.publish(topic, 'x')).rejects.toSatisfy((e: unknown) => isFleetError(e, 'INVALID_TOPIC'));
      }
      for (const filter of ['', 'a/#/b', 'a/b#', 'a+/b']) {
        await expect(t.subscribe(filter, () => {})).rejects.toSatisfy((e: unknown) => isFleetError(e, 'INVALID_TOPIC'));
      }
    });

    it('queues publishes made before connect and sends them once online', async () => {
      const sub = await online();
      const p = prefix();
      const box = await inbox(sub, `${p}/q`);
      const pub = await make();
      const sent = [pub.publish(`${p}/q`, '1', { qos: 1 }), pub.publish(`${p}/q`, '2', { qos: 0 }), pub.publish(`${p}/q`, '3', { qos: 1 })];
      await pub.connect();
      await Promise.all(sent);
      await box.waitFor(3);
      // MQTT orders messages within one QoS level; across levels a broker may interleave.
      expect(box.messages.map(text).sort()).toEqual(['1', '2', '3']);
      expect(box.messages.filter((m) => text(m) !== '2').map(text)).toEqual(['1', '3']);
    });

    it('bounds the offline queue: "reject" refuses the new message, "drop-oldest" evicts the first', async () => {
      const p = prefix();
      const strict = await make(true, { maxMessages: 2, overflow: 'reject' });
      const kept = [strict.publish(`${p}/a`, '1'), strict.publish(`${p}/a`, '2')];
      await expect(strict.publish(`${p}/a`, '3')).rejects.toSatisfy((e: unknown) => isFleetError(e, 'QUEUE_FULL'));
      const lossy = await make(true, { maxMessages: 2, overflow: 'drop-oldest' });
      const first = lossy.publish(`${p}/b`, '1');
      const rest = [lossy.publish(`${p}/b`, '2'), lossy.publish(`${p}/b`, '3')];
      await expect(first).rejects.toSatisfy((e: unknown) => isFleetError(e, 'QUEUE_FULL'));
      await strict.close();
      await lossy.close();
      for (const pending of [...kept, ...rest]) await expect(pending).rejects.toSatisfy((e: unknown) => isFleetError(e, 'TRANSPORT_CLOSED'));
    });

    it('rejects use after close with TRANSPORT_CLOSED', async () => {
      const t = await online();
      await t.close();
      expect(t.state).toBe('closed');
      await expect(t.publish('a/b', 'x')).rejects.toSatisfy((e: unknown) => isFleetError(e, 'TRANSPORT_CLOSED'));
      await expect(t.subscribe('a/b', () => {})).rejects.toSatisfy((e: unknown) => isFleetError(e, 'TRANSPORT_CLOSED'));
      await expect(t.connect()).rejects.toSatisfy((e: unknown) => isFleetError(e, 'TRANSPORT_CLOSED'));
    });

    it('restores its subscriptions and sends what it queued after losing the link (session takeover)', async () => {
      const p = prefix();
      const clientId = `fk-${run}-drop-${++serial}`;
      const t = await make(true, undefined, clientId);
      await t.connect();
      const box = await inbox(t, `${p}/d`);
      let queuedWhileOffline: Promise<void> | undefined;
      t.on('state', (s) => {
        // Published the moment the link is known lost: it must wait in the offline queue.
        if (s === 'offline' && queuedWhileOffline === undefined) queuedWhileOffline = t.publish(`${p}/d`, 'while-offline', { qos: 1 });
      });
      // MQTT: a second connection with the same client id takes the session over and the broker
      // drops the first link, which then reconnects by its backoff with a fresh clean session.
      const intruder = await make(true, undefined, clientId);
      await intruder.connect();
      await waitUntil(() => queuedWhileOffline !== undefined, timeoutMs, 'the first link to drop');
      await intruder.close();
      await queuedWhileOffline;
      await box.waitFor(1, 'the message queued while offline');
      const pub = await online();
      await pub.publish(`${p}/d`, 'after', { qos: 1 });
      await box.waitFor(2, 'a message published after the reconnect');
      expect(box.messages.map(text)).toEqual(['while-offline', 'after']);
      expect(t.state).toBe('online');
    });

    if (options.persistentSessions !== false) {
      it('holds QoS 1 messages for an offline persistent session and delivers them on reconnect', async () => {
        const p = prefix();
        const clientId = `fk-${run}-persist-${serial}`;
        const first = await make(false, undefined, clientId);
        await first.subscribe(`${p}/p`, () => {}, { qos: 1 });
        await first.connect();
        await first.close();
        const pub = await online();
        for (let i = 0; i < 5; i++) await pub.publish(`${p}/p`, String(i), { qos: 1 });
        const again = await make(false, undefined, clientId);
        const box = await inbox(again, `${p}/p`); // registered before connect: the backlog arrives right after CONNACK
        await again.connect();
        await box.waitFor(5);
        expect([...new Set(box.messages.map(text))]).toEqual(['0', '1', '2', '3', '4']);
      });
    }
  });
}

/** Polls `condition` every 5 ms until true, failing after `timeoutMs` with `what`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
