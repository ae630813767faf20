/**
 * MemoryBroker, unit by unit, through its own API with bare clients: options, sessions, retained
 * messages, QoS, payload copies, the offline queue, deliveries in transit, and the exact draws of
 * fault injection (each enabled fault draws one number per delivery, in a documented order).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { FleetError, isFleetError } from '../../src/errors.js';
import { MemoryBroker, seededRandom, type InboundMessage, type MemoryBrokerClient, type MemoryFaults } from '../../src/memory.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const enc = (n: number | string): Uint8Array => new TextEncoder().encode(String(n));
const text = (m: InboundMessage): string => new TextDecoder().decode(m.payload);

interface Recorder {
  readonly got: InboundMessage[];
  readonly at: number[];
  readonly reasons: FleetError[];
  readonly link: MemoryBrokerClient;
}
function recorder(clock?: SimulatedClock, onMessage?: (m: InboundMessage) => void): Recorder {
  const got: InboundMessage[] = [];
  const at: number[] = [];
  const reasons: FleetError[] = [];
  return {
    got,
    at,
    reasons,
    link: {
      deliver: (m) => {
        got.push(m);
        at.push(clock?.now() ?? 0);
        onMessage?.(m);
      },
      disconnected: (r) => reasons.push(r),
    },
  };
}
function thrown(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    if (isFleetError(e)) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('MemoryBroker options', () => {
  it('refuses a rate outside [0, 1], naming the option, at construction and in setFaults', () => {
    for (const name of ['lossRate', 'duplicateRate', 'reorderRate', 'disconnectRate'] as const) {
      for (const bad of [NaN, -0.01, 1.01, Infinity]) {
        const e = thrown(() => new MemoryBroker({ faults: { [name]: bad } }));
        expect(e.code).toBe('INVALID_ARGUMENT');
        expect(e.message).toContain(`faults.${name} must be a probability in [0, 1], got ${String(bad)}`);
        expect(thrown(() => new MemoryBroker().setFaults({ [name]: bad })).message).toContain(`faults.${name}`);
      }
      for (const good of [0, 1]) expect(() => new MemoryBroker({ faults: { [name]: good } })).not.toThrow();
    }
  });

  it('refuses a latency that is not ms ≥ 0 or a [min, max] range', () => {
    for (const bad of [-1, NaN, Infinity, [5, 1], [-1, 2], [0, NaN], [0, Infinity]] as NonNullable<MemoryFaults['latencyMs']>[]) {
      const e = thrown(() => new MemoryBroker({ faults: { latencyMs: bad } }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain('faults.latencyMs must be ms ≥ 0 or a [min, max] range');
    }
    for (const good of [0, 5, [0, 0], [1, 1], [0, 10]] as NonNullable<MemoryFaults['latencyMs']>[]) expect(() => new MemoryBroker({ faults: { latencyMs: good } })).not.toThrow();
  });

  it('refuses a maxQueuedMessages that is not an integer ≥ 0', () => {
    for (const bad of [-1, 1.5, NaN]) {
      const e = thrown(() => new MemoryBroker({ maxQueuedMessages: bad }));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain(`maxQueuedMessages must be an integer ≥ 0, got ${String(bad)}`);
    }
    expect(() => new MemoryBroker({ maxQueuedMessages: 0 })).not.toThrow();
  });

  it('refuses options, faults, seeds, clocks and hooks of the wrong type, naming what is wrong', () => {
    const refused = (make: () => unknown): string => {
      const e = thrown(make);
      expect([e.code, e.status]).toEqual(['INVALID_ARGUMENT', 400]);
      return e.message;
    };
    for (const bad of [null, 'x', 5, []]) {
      expect(refused(() => new MemoryBroker(bad as never))).toMatch(/^new MemoryBroker\(options\): options must be an object such as \{ seed: 7, faults: \{ lossRate: 0\.01 \} \}/);
      if (bad !== null) expect(refused(() => new MemoryBroker({ faults: bad as never }))).toMatch(/^MemoryBroker: faults must be an object such as/); // null: the default
      expect(refused(() => new MemoryBroker().setFaults(bad as never))).toMatch(/^MemoryBroker: faults must be an object/);
    }
    for (const bad of [[1], [1, 2, 3], 'x', {}, [1, '2']]) {
      expect(refused(() => new MemoryBroker({ faults: { latencyMs: bad as never } }))).toMatch(/^MemoryBroker: faults\.latencyMs must be ms ≥ 0 or a \[min, max\] range, got /);
    }
    expect(refused(() => new MemoryBroker({ faults: { lossRate: '0.5' as never } }))).toBe('MemoryBroker: faults.lossRate must be a probability in [0, 1], got "0.5"');
    for (const bad of [1.5, '7', NaN]) expect(refused(() => new MemoryBroker({ seed: bad as never }))).toMatch(/^MemoryBroker: seed must be an integer, got /);
    expect(refused(() => new MemoryBroker({ authenticate: 'yes' as never }))).toBe('MemoryBroker: authenticate must be a function (clientId, credentials) => boolean, got "yes"');
    expect(refused(() => new MemoryBroker({ clock: {} as never }))).toMatch(/^MemoryBroker: clock must be a Clock/);
    expect(refused(() => new MemoryBroker({ maxQueuedMessages: -1 }))).toBe('MemoryBroker: maxQueuedMessages must be an integer ≥ 0, got -1');
    const broker = new MemoryBroker();
    expect(thrown(() => broker.publish('t', enc(1), 2 as 0, false)).status).toBe(400);
  });

  it('uses seed 1 by default', async () => {
    const pattern = async (seed?: number): Promise<boolean[]> => {
      const broker = new MemoryBroker({ ...(seed === undefined ? {} : { seed }), faults: { duplicateRate: 0.5 } });
      const sub = recorder();
      broker.connect(sub.link, { clientId: 's', clean: true });
      broker.subscribe('s', 't', 1);
      for (let i = 0; i < 40; i++) broker.publish('t', enc(i), 1, false);
      await flush();
      return sub.got.map((m) => m.duplicate);
    };
    expect(await pattern()).toEqual(await pattern(1));
    expect(await pattern()).not.toEqual(await pattern(2));
  });
});

describe('MemoryBroker fault draws (one per enabled fault per delivery, in a fixed order)', () => {
  const SEED = 99;
  const setup = (faults: MemoryFaults, clock?: SimulatedClock): { broker: MemoryBroker; sub: Recorder } => {
    const broker = new MemoryBroker({ seed: SEED, faults, ...(clock === undefined ? {} : { clock }) });
    const sub = recorder(clock);
    broker.connect(sub.link, { clientId: 's', clean: false });
    broker.subscribe('s', 't', 1);
    return { broker, sub };
  };

  it('duplicates: one draw per delivery', async () => {
    const { broker, sub } = setup({ duplicateRate: 0.5, lossRate: 0, reorderRate: 0, disconnectRate: 0 });
    const r = seededRandom(SEED);
    const expected: number[] = [];
    for (let i = 0; i < 40; i++) {
      broker.publish('t', enc(i), (i % 2) as 0 | 1, false); // a loss rate of 0 draws nothing, for QoS 0 too
      expected.push(i);
      if (r() < 0.5) expected.push(i);
    }
    await flush();
    expect(sub.got.map((m) => Number(text(m)))).toEqual(expected);
    expect(sub.got.filter((m) => m.duplicate).length).toBe(broker.stats.duplicated);
  });

  it('loss: one draw per QoS 0 delivery and none for QoS 1, then the duplicate draw', async () => {
    const { broker, sub } = setup({ lossRate: 0.5, duplicateRate: 0.25 });
    const r = seededRandom(SEED);
    const expected: string[] = [];
    for (let i = 0; i < 40; i++) {
      const qos = (i % 2) as 0 | 1;
      broker.publish('t', enc(i), qos, false);
      if (qos === 0 && r() < 0.5) continue;
      expected.push(String(i));
      if (r() < 0.25) expected.push(String(i));
    }
    await flush();
    expect(sub.got.map(text)).toEqual(expected);
    expect(broker.stats.lost).toBe(20 - sub.got.filter((m) => Number(text(m)) % 2 === 0 && !m.duplicate).length);
  });

  it('disconnect: one draw per delivery; the delivery that loses the draw waits in the session', async () => {
    const { broker, sub } = setup({ disconnectRate: 0.1 });
    const r = seededRandom(SEED);
    let first = -1;
    for (let i = 0; i < 40 && first < 0; i++) if (r() < 0.1) first = i;
    expect(first).toBeGreaterThan(0); // with this seed: some deliveries pass before one disconnects
    for (let i = 0; i <= first; i++) {
      broker.publish('t', enc(i), 1, false);
      await flush(); // handed over before the next publish
    }
    expect(sub.got.map(text)).toEqual(Array.from({ length: first }, (_, i) => String(i)));
    expect(sub.reasons.map((e) => [e.code, e.message])).toEqual([['NOT_CONNECTED', 'MemoryBroker dropped client "s" (injected fault)']]);
    expect(broker.queuedFor('s')).toBe(1);
    expect(broker.connectedClients).toEqual([]);
  });

  it('reorder: one draw per copy while nothing is held; the held one follows the next', async () => {
    const { broker, sub } = setup({ reorderRate: 0.3 });
    const r = seededRandom(SEED);
    const expected: number[] = [];
    let held: number | undefined;
    for (let i = 0; i < 40; i++) {
      broker.publish('t', enc(i), 1, false);
      if (held === undefined && r() < 0.3) {
        held = i;
        continue;
      }
      expected.push(i);
      if (held !== undefined) expected.push(held);
      held = undefined;
    }
    await flush();
    expect(sub.got.map((m) => Number(text(m)))).toEqual(expected);
  });

  it('latency: one draw per delivery; a delivery is due no earlier than the one ahead of it, and never waits for one taken back by a disconnect', async () => {
    const clock = new SimulatedClock(0);
    const { broker, sub } = setup({ latencyMs: [10, 110] }, clock);
    const r = seededRandom(SEED);
    const due: number[] = [];
    for (let i = 0; i < 20; i++) {
      broker.publish('t', enc(i), 1, false);
      due.push(Math.max(clock.now() + 10 + 100 * r(), due[i - 1] ?? 0));
      clock.advance(3);
    }
    clock.advance(200);
    await flush();
    expect(sub.got.map((m) => Number(text(m)))).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(sub.at).toEqual(due);
    // A long delay taken back by a disconnect does not hold up what the next connection gets.
    broker.setFaults({ latencyMs: 500 });
    broker.publish('t', enc('slow'), 1, false);
    r(); // its draw (a fixed latency draws too)
    broker.disconnectClient('s');
    broker.setFaults({ latencyMs: [10, 110] });
    const fast = 10 + 100 * r();
    const again = recorder(clock);
    broker.connect(again.link, { clientId: 's', clean: false });
    await flush();
    expect(again.got.map(text)).toEqual(['slow']);
    const start = clock.now();
    broker.publish('t', enc('fast'), 1, false);
    clock.advance(200);
    await flush();
    expect(again.got.map(text)).toEqual(['slow', 'fast']);
    expect(again.at[1]).toBe(start + fast);
  });
});

describe('MemoryBroker sessions', () => {
  it('lists connected clients, counts queued messages (0 for an unknown client), and drops only connected ones', () => {
    const broker = new MemoryBroker();
    const a = recorder();
    const b = recorder();
    broker.connect(a.link, { clientId: 'a', clean: true });
    broker.connect(b.link, { clientId: 'b', clean: false });
    expect(broker.connectedClients).toEqual(['a', 'b']);
    expect(broker.queuedFor('nobody')).toBe(0);
    expect(broker.disconnect('nobody')).toBe(false);
    expect(broker.disconnect('b')).toBe(true);
    expect(b.reasons.map((e) => [e.code, e.message])).toEqual([['NOT_CONNECTED', 'MemoryBroker dropped client "b" (forced disconnect)']]);
    expect(broker.disconnect('b')).toBe(false);
    expect(broker.connectedClients).toEqual(['a']);
    broker.disconnectClient('nobody');
    broker.disconnectClient('b');
    expect(broker.stats.disconnects).toBe(1);
  });

  it('resumes a persistent session (subscriptions kept) and starts fresh otherwise', async () => {
    const broker = new MemoryBroker();
    const link = recorder();
    expect(broker.connect(link.link, { clientId: 'p', clean: false })).toEqual({ sessionPresent: false });
    broker.subscribe('p', 't', 1);
    broker.disconnectClient('p');
    expect(broker.connect(link.link, { clientId: 'p', clean: false })).toEqual({ sessionPresent: true });
    broker.publish('t', enc(1), 1, false);
    await flush();
    expect(link.got.map(text)).toEqual(['1']);
    broker.disconnectClient('p');
    broker.publish('t', enc(2), 1, false); // kept for the persistent session…
    expect(broker.queuedFor('p')).toBe(1);
    expect(broker.connect(link.link, { clientId: 'p', clean: true })).toEqual({ sessionPresent: false }); // …and discarded with it
    broker.publish('t', enc(3), 1, false);
    await flush();
    expect(link.got.map(text)).toEqual(['1']);
    expect(broker.queuedFor('p')).toBe(0);
    broker.publish('t', enc(4), 0, false); // no subscription left to route it to
    expect(broker.stats.dropped).toBe(0);
    broker.subscribe('p', 'u', 1);
    broker.publish('u', enc(5), 1, false);
    await flush();
    expect(link.got.map(text)).toEqual(['1', '5']);
    broker.disconnectClient('p');
    expect(broker.connect(link.link, { clientId: 'p', clean: false })).toEqual({ sessionPresent: false });
  });

  it('a shared group prefers connected members, in client-id order whatever the join order; with none connected a persistent member queues', async () => {
    const broker = new MemoryBroker();
    const links = { c: recorder(), a: recorder(), b: recorder() };
    for (const id of ['c', 'a', 'b'] as const) {
      broker.connect(links[id].link, { clientId: id, clean: false });
      broker.subscribe(id, '$share/g/t', 1);
    }
    for (let i = 0; i < 6; i++) broker.publish('t', enc(i), 1, false);
    await flush();
    expect([links.a.got.map(text), links.b.got.map(text), links.c.got.map(text)]).toEqual([['0', '3'], ['1', '4'], ['2', '5']]);
    broker.disconnectClient('a');
    broker.disconnectClient('c');
    for (let i = 6; i < 10; i++) broker.publish('t', enc(i), 1, false);
    await flush();
    expect(links.b.got.map(text)).toEqual(['1', '4', '6', '7', '8', '9']);
    expect([broker.queuedFor('a'), broker.queuedFor('c')]).toEqual([0, 0]);
    broker.disconnectClient('b');
    for (let i = 10; i < 13; i++) broker.publish('t', enc(i), 1, false);
    expect(broker.queuedFor('a') + broker.queuedFor('b') + broker.queuedFor('c')).toBe(3);
  });

  it('forgets a clean session on disconnect: its subscriptions route nothing any more', async () => {
    const broker = new MemoryBroker();
    const c = recorder();
    broker.connect(c.link, { clientId: 'c', clean: true });
    broker.subscribe('c', 't', 1);
    broker.disconnectClient('c');
    broker.publish('t', enc(1), 1, false);
    broker.publish('t', enc(2), 0, false);
    broker.connect(c.link, { clientId: 'c', clean: true });
    await flush();
    expect(c.got).toEqual([]);
    expect(broker.stats.dropped).toBe(0);
  });

  it('hands a session to a second connection with the same id and disconnects the first', async () => {
    const broker = new MemoryBroker();
    const first = recorder();
    const second = recorder();
    broker.connect(first.link, { clientId: 'x', clean: false });
    broker.subscribe('x', 't', 1);
    broker.publish('t', enc(1), 1, false); // scheduled for the first connection
    expect(broker.connect(second.link, { clientId: 'x', clean: false })).toEqual({ sessionPresent: true });
    expect(first.reasons.map((e) => [e.code, e.message])).toEqual([['NOT_CONNECTED', 'Client "x" was taken over by a new connection with the same id']]);
    expect(broker.stats.disconnects).toBe(1);
    broker.publish('t', enc(2), 1, false);
    await flush();
    expect(first.got).toEqual([]);
    expect(second.got.map(text)).toEqual(['1', '2']);
  });

  it('keeps at most maxQueuedMessages QoS 1 messages for an offline session (the oldest go) and no QoS 0', async () => {
    const broker = new MemoryBroker({ maxQueuedMessages: 2 });
    const link = recorder();
    broker.connect(link.link, { clientId: 'p', clean: false });
    broker.subscribe('p', 't', 1);
    broker.disconnectClient('p');
    for (let i = 1; i <= 3; i++) broker.publish('t', enc(i), 1, false);
    broker.publish('t', enc('q0'), 0, false);
    expect(broker.queuedFor('p')).toBe(2);
    expect(broker.stats.dropped).toBe(2);
    broker.connect(link.link, { clientId: 'p', clean: false });
    await flush();
    expect(link.got.map(text)).toEqual(['2', '3']);
    const none = new MemoryBroker({ maxQueuedMessages: 0 });
    none.connect(link.link, { clientId: 'p', clean: false });
    none.subscribe('p', 't', 1);
    none.disconnectClient('p');
    none.publish('t', enc(1), 1, false);
    expect(none.queuedFor('p')).toBe(0);
    expect(none.stats.dropped).toBe(1);
  });
});

describe('MemoryBroker deliveries not yet handed over when a client disconnects', () => {
  it('a persistent session takes QoS 1 back (even if the client never returns before the batch runs) and drops QoS 0', async () => {
    const broker = new MemoryBroker();
    const link = recorder();
    broker.connect(link.link, { clientId: 'p', clean: false });
    broker.subscribe('p', 't', 1);
    broker.publish('t', enc(1), 1, false);
    broker.publish('t', enc('q0'), 0, false);
    broker.disconnectClient('p');
    await flush();
    expect(link.got).toEqual([]);
    expect(broker.queuedFor('p')).toBe(1);
    expect(broker.stats.dropped).toBe(1);
    expect(broker.stats.delivered).toBe(0);
    broker.connect(link.link, { clientId: 'p', clean: false });
    await flush();
    expect(link.got.map(text)).toEqual(['1']);
    expect(broker.stats.delivered).toBe(1);
  });

  it('a delivery held back for reordering is taken back too', async () => {
    const broker = new MemoryBroker({ faults: { reorderRate: 1 } });
    const link = recorder();
    broker.connect(link.link, { clientId: 'p', clean: false });
    broker.subscribe('p', 't', 1);
    broker.publish('t', enc(1), 1, false); // held: no next delivery to overtake it
    await flush();
    expect(link.got).toEqual([]);
    broker.disconnectClient('p');
    expect(broker.queuedFor('p')).toBe(1);
    broker.setFaults({});
    broker.connect(link.link, { clientId: 'p', clean: false });
    await flush();
    expect(link.got.map(text)).toEqual(['1']);
  });

  it('a clean session drops them, QoS 1 included', async () => {
    const broker = new MemoryBroker();
    const link = recorder();
    broker.connect(link.link, { clientId: 'c', clean: true });
    broker.subscribe('c', 't', 1);
    broker.publish('t', enc(1), 1, false);
    broker.disconnectClient('c');
    broker.connect(link.link, { clientId: 'c', clean: true });
    broker.subscribe('c', 't', 1);
    await flush();
    expect(link.got).toEqual([]);
    expect(broker.stats.dropped).toBe(1);
  });

  it('a handler that disconnects another client mid-batch takes back exactly that client’s remaining deliveries, in order', async () => {
    const broker = new MemoryBroker();
    const b = recorder();
    const c = recorder();
    const a = recorder(undefined, () => {
      broker.publish('b', enc('b4'), 1, false); // into the next batch
      broker.disconnect('b');
    });
    broker.connect(a.link, { clientId: 'a', clean: true });
    broker.connect(b.link, { clientId: 'b', clean: false });
    broker.connect(c.link, { clientId: 'c', clean: false });
    broker.subscribe('a', 'a', 1);
    broker.subscribe('b', 'b', 1);
    broker.subscribe('c', 'c', 1);
    // One batch: c0, b1 (handed over before the trigger), the trigger, then b3 and c3.
    broker.publish('c', enc('c0'), 1, false);
    broker.publish('b', enc('b1'), 1, false);
    broker.publish('a', enc('trigger'), 1, false);
    broker.publish('b', enc('b3'), 1, false);
    broker.publish('c', enc('c3'), 1, false);
    await flush();
    expect(b.got.map(text)).toEqual(['b1']);
    expect(c.got.map(text)).toEqual(['c0', 'c3']);
    expect(broker.queuedFor('b')).toBe(2);
    broker.connect(b.link, { clientId: 'b', clean: false });
    await flush();
    expect(b.got.map(text)).toEqual(['b1', 'b3', 'b4']);
  });

  it('a delivery made while others are delayed waits behind them, and batched ones go before delayed ones', async () => {
    const clock = new SimulatedClock(0);
    const broker = new MemoryBroker({ clock, faults: { latencyMs: 50 } });
    const link = recorder(clock);
    broker.connect(link.link, { clientId: 's', clean: true });
    broker.subscribe('s', 't', 1);
    broker.publish('t', enc(1), 1, false);
    broker.setFaults({});
    broker.publish('t', enc(2), 1, false);
    await flush();
    expect(link.got).toEqual([]);
    clock.advance(50);
    await flush();
    expect(link.got.map(text)).toEqual(['1', '2']);
    // A clock that fires timers before the microtask batch ran: the batched delivery still goes first.
    broker.publish('t', enc(3), 1, false);
    broker.setFaults({ latencyMs: 10 });
    broker.publish('t', enc(4), 1, false);
    clock.advance(10);
    expect(link.got.map(text)).toEqual(['1', '2', '3', '4']);
    await flush();
    expect(link.got.map(text)).toEqual(['1', '2', '3', '4']);
  });
});

describe('MemoryBroker subscriptions, retained messages and QoS', () => {
  it('unsubscribes (unknown clients and filters are ignored), also after subscribing twice to one filter', async () => {
    const broker = new MemoryBroker();
    const link = recorder();
    broker.connect(link.link, { clientId: 's', clean: true });
    broker.subscribe('s', 't', 0);
    broker.subscribe('s', 't', 1); // the same filter again: its QoS is updated, no second subscription
    broker.publish('t', enc(1), 1, false);
    await flush();
    expect(link.got.map((m) => [text(m), m.qos])).toEqual([['1', 1]]);
    broker.unsubscribe('s', 't');
    broker.unsubscribe('s', 't');
    broker.unsubscribe('nobody', 't');
    broker.publish('t', enc(2), 1, false);
    await flush();
    expect(link.got.map(text)).toEqual(['1']);
  });

  it('delivers the retained messages that match the filter, at min(QoS), flagged retain and not duplicate; an empty one clears', async () => {
    const broker = new MemoryBroker();
    const payload = enc('kept');
    broker.publish('r/a', payload, 1, true);
    payload.fill(0); // the publisher reuses its buffer: the retained copy is unaffected
    broker.publish('r/b', enc('other'), 1, true);
    broker.publish('x/a', enc('elsewhere'), 1, true);
    const link = recorder();
    broker.connect(link.link, { clientId: 's', clean: true });
    broker.subscribe('s', 'r/a', 0);
    await flush();
    expect(link.got.map((m) => ({ topic: m.topic, text: text(m), qos: m.qos, retain: m.retain, duplicate: m.duplicate }))).toEqual([
      { topic: 'r/a', text: 'kept', qos: 0, retain: true, duplicate: false },
    ]);
    broker.publish('r/a', new Uint8Array(0), 1, true);
    const late = recorder();
    broker.connect(late.link, { clientId: 'late', clean: true });
    broker.subscribe('late', 'r/#', 1);
    await flush();
    expect(late.got.map((m) => m.topic)).toEqual(['r/b']);
  });

  it('delivers once per session at the highest QoS of its matching filters, in either order, and min(publish, subscription) QoS', async () => {
    const broker = new MemoryBroker();
    const one = recorder();
    const two = recorder();
    broker.connect(one.link, { clientId: 'one', clean: true });
    broker.connect(two.link, { clientId: 'two', clean: true });
    broker.subscribe('one', 'a/#', 1);
    broker.subscribe('one', 'a/b', 0);
    broker.subscribe('two', 'a/#', 0);
    broker.subscribe('two', 'a/b', 1);
    broker.publish('a/b', enc(1), 1, false);
    broker.publish('a/b', enc(0), 0, false);
    await flush();
    const view = (r: Recorder): unknown[] => r.got.map((m) => [text(m), m.qos, m.retain, m.duplicate]);
    expect(view(one)).toEqual([
      ['1', 1, false, false],
      ['0', 0, false, false],
    ]);
    expect(view(two)).toEqual(view(one));
    const low = recorder();
    broker.connect(low.link, { clientId: 'low', clean: true });
    broker.subscribe('low', 'a/b', 0);
    broker.publish('a/b', enc(2), 1, false);
    await flush();
    expect(low.got.map((m) => m.qos)).toEqual([0]);
    expect(one.got.at(-1)?.qos).toBe(1);
  });

  it('numbers publishes 1, 2, 3… and counts them, and what it delivered', async () => {
    const broker = new MemoryBroker();
    const link = recorder();
    broker.connect(link.link, { clientId: 's', clean: true });
    broker.subscribe('s', 't', 1);
    expect([1, 2, 3].map((i) => broker.publish('t', enc(i), 1, false))).toEqual([1, 2, 3]);
    await flush();
    expect(link.got.map((m) => m.messageId)).toEqual([1, 2, 3]);
    expect(broker.stats).toMatchObject({ published: 3, delivered: 3, dropped: 0 });
  });
});

describe('MemoryBroker payload copies', () => {
  it('copies each payload on publish, small or large, across many slabs', async () => {
    const broker = new MemoryBroker();
    const link = recorder();
    broker.connect(link.link, { clientId: 's', clean: true });
    broker.subscribe('s', 't', 1);
    const buffer = new Uint8Array(100 * 1024);
    const sizes = [0, 1, 100, 2048, 2049, 100 * 1024, ...Array.from({ length: 150 }, (_, i) => 1000 + i)];
    for (const [i, n] of sizes.entries()) {
      const view = buffer.subarray(0, n);
      view.fill(i % 251);
      broker.publish('t', view, 1, false);
      buffer.fill(255); // reused by the publisher right away
    }
    await flush();
    expect(link.got.length).toBe(sizes.length);
    for (const [i, m] of link.got.entries()) {
      expect(m.payload.byteLength).toBe(sizes[i]);
      expect(m.payload.every((b) => b === i % 251)).toBe(true);
    }
  });
});

describe('MemoryBroker errors', () => {
  it('says what is wrong, with a status', () => {
    const broker = new MemoryBroker({ authenticate: (id) => id !== 'bad' });
    const link = recorder();
    expect(thrown(() => broker.connect(link.link, { clientId: 'bad', clean: true }))).toMatchObject({
      code: 'AUTH_FAILED',
      status: 401,
      details: { clientId: 'bad' },
      message: 'MemoryBroker refused client "bad": bad credentials',
    });
    expect(thrown(() => broker.subscribe('offline', 't', 0))).toMatchObject({ code: 'NOT_CONNECTED', status: 503, message: 'MemoryBroker: client "offline" is not connected; connect first' });
    expect(thrown(() => broker.publish('t', 'x' as unknown as Uint8Array, 0, false))).toMatchObject({ code: 'INVALID_PAYLOAD', status: 400 });
    expect(thrown(() => broker.publish('t', 'x' as unknown as Uint8Array, 0, false)).message).toContain('payload must be a Uint8Array, got string');
    expect(thrown(() => broker.publish('t', enc(1), 2 as 0, false)).message).toBe('MemoryBroker.publish: qos must be 0 or 1, got 2');
    broker.connect(link.link, { clientId: 's', clean: true });
    expect(thrown(() => broker.subscribe('s', 't', 2 as 0)).message).toBe('MemoryBroker.subscribe: qos must be 0 or 1, got 2');
    expect(thrown(() => broker.publish('$SYS/x', enc(1), 0, false, 's'))).toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
      details: { clientId: 's', topic: '$SYS/x' },
      message: 'MemoryBroker refused the publish of client "s" to "$SYS/x": not authorized; topics starting with $SYS are reserved for the broker',
    });
  });

  it('close drops every client, forgets deliveries not handed over, refuses further use, and is idempotent', async () => {
    const broker = new MemoryBroker();
    const a = recorder();
    const p = recorder();
    broker.connect(a.link, { clientId: 'a', clean: true });
    broker.connect(p.link, { clientId: 'p', clean: false });
    broker.connect(recorder().link, { clientId: 'offline', clean: false });
    broker.disconnectClient('offline');
    broker.subscribe('a', 't', 1);
    broker.publish('t', enc(1), 1, true);
    broker.close();
    broker.close();
    await flush();
    expect(a.got).toEqual([]);
    for (const r of [a, p]) expect(r.reasons.map((e) => [e.code, e.status, e.message])).toEqual([['TRANSPORT_CLOSED', 503, 'MemoryBroker closed']]);
    expect(broker.connectedClients).toEqual([]);
    expect(broker.queuedFor('p')).toBe(0);
    const closed = { code: 'TRANSPORT_CLOSED', status: 503, message: 'MemoryBroker is closed; create a new broker' };
    expect(thrown(() => broker.connect(a.link, { clientId: 'a', clean: true }))).toMatchObject(closed);
    expect(thrown(() => broker.publish('t', enc(1), 0, false))).toMatchObject(closed);
    expect(broker.stats.disconnects).toBe(2);
  });
});
