import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { isFleetError } from '../../src/errors.js';
import { exponentialBackoff, MemoryBroker, MemoryTransport, type InboundMessage, type MemoryBrokerClient, type MemoryFaults } from '../../src/memory.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const enc = (n: number): Uint8Array => new TextEncoder().encode(String(n));
const dec = (m: InboundMessage): number => Number(new TextDecoder().decode(m.payload));

async function pair(faults: MemoryFaults, seed = 1, clock = new SimulatedClock(0)) {
  const broker = new MemoryBroker({ seed, faults, clock });
  const pub = new MemoryTransport({ broker, clientId: 'pub', clock });
  const sub = new MemoryTransport({ broker, clientId: 'sub', clock, clean: false, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10, jitter: 'none' }) });
  const got: InboundMessage[] = [];
  await sub.subscribe('t/#', (m) => got.push(m), { qos: 1 });
  await pub.connect();
  await sub.connect();
  return { broker, pub, sub, got, clock };
}

describe('MemoryBroker fault injection', () => {
  it('surfaces duplicates as duplicate: true with the same messageId', async () => {
    const { pub, got, broker } = await pair({ duplicateRate: 0.3 });
    for (let i = 0; i < 200; i++) await pub.publish('t/x', enc(i), { qos: 1 });
    await flush();
    const dups = got.filter((m) => m.duplicate);
    expect(dups.length).toBe(broker.stats.duplicated);
    expect(dups.length).toBeGreaterThan(20);
    const firstById = new Map(got.filter((m) => !m.duplicate).map((m) => [m.messageId, dec(m)]));
    for (const d of dups) expect(firstById.get(d.messageId)).toBe(dec(d));
    expect(new Set(got.map((m) => m.messageId)).size).toBe(200);
  });

  it('surfaces reordering as a smaller messageId after a larger one, and loses nothing', async () => {
    const { pub, got, broker } = await pair({ reorderRate: 0.2 });
    for (let i = 0; i < 200; i++) await pub.publish('t/x', enc(i), { qos: 1 });
    broker.setFaults({}); // hands over a message still held back
    await flush();
    let inversions = 0;
    for (let i = 1; i < got.length; i++) if (got[i]!.messageId! < got[i - 1]!.messageId!) inversions++;
    expect(broker.stats.reordered).toBeGreaterThan(10);
    expect(inversions).toBeGreaterThan(10);
    expect(new Set(got.map(dec)).size).toBe(200);
  });

  it('loses only QoS 0 messages', async () => {
    const { pub, got, broker } = await pair({ lossRate: 0.5 });
    for (let i = 0; i < 100; i++) await pub.publish('t/q0', enc(i), { qos: 0 });
    for (let i = 0; i < 100; i++) await pub.publish('t/q1', enc(i), { qos: 1 });
    await flush();
    expect(got.filter((m) => m.topic === 't/q1').length).toBe(100);
    const q0 = got.filter((m) => m.topic === 't/q0').length;
    expect(q0).toBe(100 - broker.stats.lost);
    expect(q0).toBeLessThan(80);
  });

  it('delays deliveries on the injected clock', async () => {
    const { pub, got, clock } = await pair({ latencyMs: [100, 200] });
    await pub.publish('t/x', enc(1), { qos: 1 });
    await flush();
    expect(got).toEqual([]);
    clock.advance(99);
    await flush();
    expect(got).toEqual([]);
    clock.advance(101);
    await flush();
    expect(got.map(dec)).toEqual([1]);
  });

  it('forces disconnects; the client reconnects by its backoff and its persistent session keeps QoS 1', async () => {
    const { pub, sub, got, broker, clock } = await pair({ disconnectRate: 0.1 }, 3);
    const states: string[] = [];
    sub.on('state', (s) => states.push(s));
    for (let i = 0; i < 300; i++) {
      await pub.publish('t/x', enc(i), { qos: 1 });
      if (i % 10 === 0) clock.advance(10);
      await flush();
    }
    broker.setFaults({});
    clock.advance(10);
    await flush();
    expect(broker.stats.disconnects).toBeGreaterThan(5);
    expect(states.filter((s) => s === 'offline').length).toBe(broker.stats.disconnects);
    expect(sub.state).toBe('online');
    expect([...new Set(got.map(dec))].sort((a, b) => a - b)).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it('is reproducible: same seed, same faults (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const run = async (): Promise<(number | boolean | undefined)[]> => {
          const { pub, got } = await pair({ duplicateRate: 0.2, reorderRate: 0.2, lossRate: 0.2 }, seed);
          for (let i = 0; i < 30; i++) await pub.publish('t/x', enc(i), { qos: (i % 2) as 0 | 1 });
          await flush();
          return got.flatMap((m) => [m.messageId, m.duplicate]);
        };
        expect(await run()).toEqual(await run());
      }),
      { numRuns: 20 },
    );
  });

  it('refuses clients the authenticate hook rejects with AUTH_FAILED', async () => {
    const broker = new MemoryBroker({ authenticate: (_id, credentials) => credentials === 'secret' });
    const ok = new MemoryTransport({ broker, clientId: 'ok', credentials: 'secret' });
    const bad = new MemoryTransport({ broker, clientId: 'bad', credentials: 'guess' });
    await ok.connect();
    await expect(bad.connect()).rejects.toSatisfy((e: unknown) => isFleetError(e, 'AUTH_FAILED'));
    expect(bad.state).toBe('closed');
    await ok.close();
  });

  it('setFaults hands a held-back message over as it is, without faulting it again', async () => {
    const { pub, got, broker } = await pair({ reorderRate: 1 });
    await pub.publish('t/x', enc(1), { qos: 1 });
    await flush();
    expect(got).toEqual([]); // held back, waiting for a next delivery that never comes
    broker.setFaults({ reorderRate: 1 });
    await flush();
    expect(got.map(dec)).toEqual([1]);
    expect(broker.stats.reordered).toBe(1);
  });

  it('restores the subscriptions of a clean session after a forced disconnect', async () => {
    const clock = new SimulatedClock(0);
    const broker = new MemoryBroker({ clock });
    const pub = new MemoryTransport({ broker, clientId: 'pub', clock });
    const sub = new MemoryTransport({ broker, clientId: 'sub', clock, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10, jitter: 'none' }) });
    const got: number[] = [];
    await sub.subscribe('t/#', (m) => got.push(dec(m)), { qos: 1 });
    await Promise.all([pub.connect(), sub.connect()]);
    expect(broker.disconnect('sub')).toBe(true);
    expect(sub.state).toBe('offline');
    await pub.publish('t/x', enc(1), { qos: 1 }); // no session holds it: a clean session was discarded
    clock.advance(10);
    await flush();
    expect(sub.state).toBe('online');
    await pub.publish('t/x', enc(2), { qos: 1 });
    await flush();
    expect(got).toEqual([2]);
  });

  it('refuses bad input to publish and subscribe with a FleetError and changes nothing', async () => {
    const broker = new MemoryBroker();
    const t = new MemoryTransport({ broker, clientId: 'c' });
    await t.connect();
    expect(() => broker.publish('a/b', 'text' as unknown as Uint8Array, 0, false)).toThrow(expect.objectContaining({ code: 'INVALID_PAYLOAD' }));
    expect(() => broker.publish('a/b', new Uint8Array(1), 2 as 0, false)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => broker.publish('a/+', new Uint8Array(1), 0, false)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    expect(() => broker.subscribe('c', 'a/#', 3 as 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => broker.subscribe('nobody', 'a/#', 0)).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED' }));
    expect(broker.stats.published).toBe(0);
    await t.close();
  });

  it('rejects bad fault settings', () => {
    expect(() => new MemoryBroker({ faults: { lossRate: 2 } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => new MemoryBroker({ faults: { latencyMs: [5, 1] } })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('MemoryTransport offline queue and reconnects (model-based)', () => {
  type Model = { published: number[]; online: boolean };
  type Real = { broker: MemoryBroker; pub: MemoryTransport; got: InboundMessage[]; clock: SimulatedClock; next: number };

  class Publish implements fc.AsyncCommand<Model, Real> {
    check = (): boolean => true;
    async run(m: Model, r: Real): Promise<void> {
      const n = r.next++;
      m.published.push(n);
      void r.pub.publish('m/x', enc(n), { qos: 1 });
      await flush();
    }
    toString = (): string => 'publish';
  }
  class Drop implements fc.AsyncCommand<Model, Real> {
    check = (m: Readonly<Model>): boolean => m.online;
    async run(m: Model, r: Real): Promise<void> {
      expect(r.broker.disconnect('pub')).toBe(true);
      m.online = false;
      expect(r.pub.state).toBe('offline');
    }
    toString = (): string => 'drop';
  }
  class Tick implements fc.AsyncCommand<Model, Real> {
    check = (): boolean => true;
    async run(m: Model, r: Real): Promise<void> {
      r.clock.advance(50);
      await flush();
      m.online = r.pub.state === 'online';
      // Invariant: everything delivered so far is a prefix of what was published, in order.
      const seen = r.got.map(dec);
      expect(seen).toEqual(m.published.slice(0, seen.length));
    }
    toString = (): string => 'tick';
  }

  it('delivers every QoS 1 publish exactly once and in order across forced disconnects (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands([fc.constant(new Publish()), fc.constant(new Drop()), fc.constant(new Tick())], { maxCommands: 40 }), async (cmds) => {
        const clock = new SimulatedClock(0);
        const broker = new MemoryBroker({ clock });
        const pub = new MemoryTransport({ broker, clientId: 'pub', clock, backoff: exponentialBackoff({ initialMs: 40, jitter: 'none', maxMs: 40 }), queue: { maxMessages: 1000 } });
        const sub = new MemoryTransport({ broker, clientId: 'sub', clock });
        const got: InboundMessage[] = [];
        await sub.subscribe('m/#', (m) => got.push(m), { qos: 1 });
        await sub.connect();
        await pub.connect();
        const real: Real = { broker, pub, got, clock, next: 0 };
        const model: Model = { published: [], online: true };
        await fc.asyncModelRun(() => ({ model, real }), cmds);
        clock.advance(100);
        await flush();
        expect(got.map(dec)).toEqual(model.published);
        await pub.close();
        await sub.close();
      }),
      { numRuns: 60 },
    );
  });
});

describe('MemoryBroker keeps QoS 1 deliveries of a persistent session across reconnects (MQTT 3.1.1 §4.4)', () => {
  /** A bare broker client that records what it receives. */
  const recorder = (): { got: InboundMessage[]; client: MemoryBrokerClient } => {
    const got: InboundMessage[] = [];
    return { got, client: { deliver: (m) => got.push(m), disconnected: () => {} } };
  };
  const q1 = (broker: MemoryBroker, n: number): number => broker.publish('t/x', enc(n), 1, false);

  it('a delivery scheduled before a disconnect reaches the next connection, in order, and nothing stays queued (no latency)', async () => {
    const broker = new MemoryBroker();
    const first = recorder();
    broker.connect(first.client, { clientId: 'sub', clean: false });
    broker.subscribe('sub', 't/#', 1);
    q1(broker, 1); // scheduled for the current connection (delivered in a microtask)
    broker.disconnect('sub');
    q1(broker, 2); // parked: the client is offline
    const second = recorder();
    broker.connect(second.client, { clientId: 'sub', clean: false });
    q1(broker, 3);
    expect(broker.queuedFor('sub')).toBe(0);
    await flush();
    expect(first.got).toEqual([]);
    expect(second.got.map(dec)).toEqual([1, 2, 3]);
    expect(broker.queuedFor('sub')).toBe(0);
  });

  it('a delivery delayed by latency across a reconnect is not stranded in the offline queue', async () => {
    const clock = new SimulatedClock(0);
    const broker = new MemoryBroker({ clock, faults: { latencyMs: 100 } });
    const first = recorder();
    broker.connect(first.client, { clientId: 'sub', clean: false });
    broker.subscribe('sub', 't/#', 1);
    q1(broker, 1);
    clock.advance(50);
    broker.disconnect('sub');
    const second = recorder();
    broker.connect(second.client, { clientId: 'sub', clean: false });
    q1(broker, 2);
    clock.advance(200);
    await flush();
    expect(broker.queuedFor('sub')).toBe(0);
    expect(second.got.map(dec)).toEqual([1, 2]);
  });

  it('latency [0, 2000] with forced disconnects: all 500 QoS 1 messages arrive, none queued while online (issue scenario)', async () => {
    const clock = new SimulatedClock(0);
    const broker = new MemoryBroker({ seed: 1, clock, faults: { latencyMs: [0, 2000], disconnectRate: 0.02 } });
    const pub = new MemoryTransport({ broker, clientId: 'pub', clock });
    const sub = new MemoryTransport({ broker, clientId: 'sub', clock, clean: false, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10, jitter: 'none' }) });
    const got: InboundMessage[] = [];
    await sub.subscribe('t/#', (m) => got.push(m), { qos: 1 });
    await Promise.all([pub.connect(), sub.connect()]);
    let queuedWhileOnline = 0;
    for (let i = 0; i < 500; i++) {
      await pub.publish('t/x', enc(i), { qos: 1 });
      clock.advance(20);
      await flush();
      if (broker.connectedClients.includes('sub')) queuedWhileOnline = Math.max(queuedWhileOnline, broker.queuedFor('sub'));
    }
    broker.setFaults({});
    clock.advance(5000);
    await flush();
    expect(broker.stats.disconnects).toBeGreaterThan(0);
    expect(queuedWhileOnline).toBe(0);
    expect(broker.queuedFor('sub')).toBe(0);
    expect(got.map(dec)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});

describe('MemoryBroker delivery under random faults (model-based)', () => {
  /** What the test knows: every publish made, every publish acknowledged, and what arrived. */
  interface World {
    readonly clock: SimulatedClock;
    readonly broker: MemoryBroker;
    readonly pubs: readonly MemoryTransport[];
    readonly sub: MemoryTransport;
    readonly got: InboundMessage[];
    /** "publisher:seq" of every QoS 1 publish whose promise resolved (the broker's PUBACK). */
    readonly acked: Set<string>;
    readonly failures: unknown[];
    readonly ordered: boolean;
    next: number;
    qos1: number;
  }
  type Cmd = fc.AsyncCommand<object, World, false>;
  const backoff = (): ReturnType<typeof exponentialBackoff> => exponentialBackoff({ initialMs: 30, maxMs: 30, jitter: 'none' });
  const label = (m: InboundMessage): [number, number] => {
    const [p, s] = new TextDecoder().decode(m.payload).split(':');
    return [Number(p), Number(s)];
  };

  /** Checked after every command: the laws that hold at every moment, not just at the end. */
  const invariants = (w: World): void => {
    // Nothing waits in the offline queue of a session whose client is online.
    if (w.broker.connectedClients.includes('sub')) expect(w.broker.queuedFor('sub')).toBe(0);
    expect(w.failures).toEqual([]);
    if (!w.ordered) return;
    // Per publisher, first deliveries come in publish order (duplicates repeat an earlier one).
    const last = [-1, -1];
    for (const m of w.got) {
      if (m.duplicate) continue;
      const [p, s] = label(m);
      expect(s).toBeGreaterThan(last[p]!);
      last[p] = s;
    }
  };

  class Publish implements Cmd {
    constructor(readonly p: number, readonly qos: 0 | 1) {}
    check = (): boolean => true;
    async run(_m: object, w: World): Promise<void> {
      const key = `${this.p}:${w.next++}`;
      if (this.qos === 1) w.qos1++;
      w.pubs[this.p]!.publish('m/x', key, { qos: this.qos }).then(
        () => this.qos === 1 && w.acked.add(key),
        (e: unknown) => w.failures.push(e),
      );
      await flush();
      invariants(w);
    }
    toString = (): string => `publish(p${this.p}, qos ${this.qos})`;
  }
  class Drop implements Cmd {
    constructor(readonly clientId: string) {}
    check = (): boolean => true;
    async run(_m: object, w: World): Promise<void> {
      w.broker.disconnect(this.clientId);
      invariants(w);
      await flush();
      invariants(w);
    }
    toString = (): string => `drop(${this.clientId})`;
  }
  class Advance implements Cmd {
    constructor(readonly ms: number) {}
    check = (): boolean => true;
    async run(_m: object, w: World): Promise<void> {
      w.clock.advance(this.ms);
      invariants(w);
      await flush();
      invariants(w);
    }
    toString = (): string => `advance(${this.ms})`;
  }

  const faultsArb: fc.Arbitrary<MemoryFaults> = fc.record({
    latencyMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 300 }), fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 2000 })).map(([a, b]) => [Math.min(a, b), Math.max(a, b)] as const)),
    disconnectRate: fc.constantFrom(0, 0.02, 0.1),
    duplicateRate: fc.constantFrom(0, 0.1),
    reorderRate: fc.constantFrom(0, 0, 0.1),
  });
  const commandsArb = fc.commands<object, World, false>(
    [
      fc.tuple(fc.integer({ min: 0, max: 1 }), fc.constantFrom<0 | 1>(0, 1, 1, 1)).map(([p, q]) => new Publish(p, q)),
      fc.constantFrom('sub', 'pub-0', 'pub-1').map((id) => new Drop(id)),
      fc.integer({ min: 0, max: 500 }).map((ms) => new Advance(ms)),
    ],
    { maxCommands: 60 },
  );

  it('delivers every acknowledged QoS 1 message at least once, keeps per-publisher order without injected reordering, and queues nothing while online (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), faultsArb, commandsArb, async (seed, faults, cmds) => {
        const clock = new SimulatedClock(0);
        const broker = new MemoryBroker({ clock, seed, faults });
        const queue = { maxMessages: 10_000 };
        const pubs = [0, 1].map((i) => new MemoryTransport({ broker, clientId: `pub-${i}`, clock, backoff: backoff(), queue }));
        const sub = new MemoryTransport({ broker, clientId: 'sub', clock, clean: false, backoff: backoff() });
        const got: InboundMessage[] = [];
        await sub.subscribe('m/#', (m) => got.push(m), { qos: 1 });
        await Promise.all([sub.connect(), ...pubs.map((p) => p.connect())]);
        const world: World = { clock, broker, pubs, sub, got, acked: new Set(), failures: [], ordered: faults.reorderRate === 0, next: 0, qos1: 0 };
        await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
        // Stop injecting, let every reconnect and delayed delivery happen.
        broker.setFaults({});
        for (let i = 0; i < 10; i++) {
          clock.advance(2500);
          await flush();
        }
        invariants(world);
        expect([sub, ...pubs].map((t) => t.state)).toEqual(['online', 'online', 'online']);
        const delivered = new Set(got.filter((m) => m.qos === 1).map((m) => label(m).join(':')));
        for (const key of world.acked) expect(delivered).toContain(key);
        // Every QoS 1 publish was acknowledged in the end (nothing was left in a publisher's queue).
        expect(world.acked.size).toBe(world.qos1);
        await Promise.all([sub.close(), ...pubs.map((p) => p.close())]);
      }),
      { numRuns: 150 },
    );
  });
});

describe('MemoryBroker refuses client publishes to $SYS topics, as mosquitto does', () => {
  // mosquitto 2.0 refuses a client PUBLISH to any topic whose first four characters are "$SYS"
  // ("$SYS", "$SYS/…", even "$SYSTEM/…"): nothing is delivered or retained, MQTT 5 answers a
  // QoS 1 publish with PUBACK 0x87 "Not authorized", and the connection stays up.
  const refused = ['$SYS', '$SYS/broker/uptime', '$SYS/fleetkit/x', '$SYSTEM/x'];

  it('refuses them with FORBIDDEN (403), delivers and retains nothing, and counts them', async () => {
    const broker = new MemoryBroker();
    const got: InboundMessage[] = [];
    broker.connect({ deliver: (m) => got.push(m), disconnected: () => {} }, { clientId: 'sub', clean: true });
    for (const f of ['$SYS', '$SYS/#', '$SYSTEM/#']) broker.subscribe('sub', f, 1);
    for (const topic of refused) {
      for (const qos of [0, 1] as const) {
        expect(() => broker.publish(topic, enc(1), qos, true, 'device-1')).toThrow(expect.objectContaining({ code: 'FORBIDDEN', status: 403 }));
      }
    }
    await flush();
    expect(got).toEqual([]);
    expect(broker.stats.refused).toBe(refused.length * 2);
    expect(broker.stats.published).toBe(0);
    broker.subscribe('sub', '$SYS/#', 1); // nothing was retained either
    await flush();
    expect(got).toEqual([]);
  });

  it('lets the broker itself publish there, and clients publish to other $-topics', async () => {
    const broker = new MemoryBroker();
    const got: string[] = [];
    broker.connect({ deliver: (m) => got.push(m.topic), disconnected: () => {} }, { clientId: 'sub', clean: true });
    for (const f of ['$SYS/#', '$sys/#', '$aws/#']) broker.subscribe('sub', f, 1);
    broker.publish('$SYS/broker/uptime', enc(1), 0, false);
    broker.publish('$sys/x', enc(1), 1, false, 'device-1');
    broker.publish('$aws/things/t/shadow/update', enc(1), 1, false, 'device-1');
    await flush();
    expect(got).toEqual(['$SYS/broker/uptime', '$sys/x', '$aws/things/t/shadow/update']);
  });

  it('through MemoryTransport: QoS 0 and QoS 1 publishes reject with FORBIDDEN, and the link stays up', async () => {
    const broker = new MemoryBroker();
    const t = new MemoryTransport({ broker, clientId: 'device-1' });
    const got: InboundMessage[] = [];
    await t.connect();
    await t.subscribe('$SYS/#', (m) => got.push(m), { qos: 1 });
    await expect(t.publish('$SYS/fleetkit/x', 'x', { qos: 1 })).rejects.toSatisfy((e: unknown) => isFleetError(e, 'FORBIDDEN'));
    // The in-process broker can say so even for QoS 0 (over MQTT, QoS 0 has no acknowledgement to carry it).
    await expect(t.publish('$SYS/fleetkit/x', 'x', { qos: 0 })).rejects.toSatisfy((e: unknown) => isFleetError(e, 'FORBIDDEN'));
    await flush();
    expect(got).toEqual([]);
    expect(t.state).toBe('online');
    expect(broker.stats.refused).toBe(2);
    await t.close();
  });
});
