/**
 * BaseTransport laws checked through MemoryTransport (deterministic: no faults, flushed after
 * every step): every matching handler gets every message once, retained ones included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { topicMatches } from '../../src/protocol/topic-filter.js';
import { FleetError, isFleetError } from '../../src/errors.js';
import { BaseTransport, exponentialBackoff, MemoryBroker, MemoryTransport, type InboundMessage, type QoS } from '../../src/memory.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const text = (m: InboundMessage): string => `${m.topic}=${new TextDecoder().decode(m.payload)}`;

describe('BaseTransport and retained messages', () => {
  it('a handler added while offline to a filter the resumed persistent session holds gets the retained messages, once', async () => {
    const clock = new SimulatedClock(0);
    const broker = new MemoryBroker({ clock });
    const pub = new MemoryTransport({ broker, clientId: 'pub', clock });
    const sub = new MemoryTransport({ broker, clientId: 'sub', clock, clean: false, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10, jitter: 'none' }) });
    await Promise.all([pub.connect(), sub.connect()]);
    await pub.publish('r/1', 'one', { qos: 1, retain: true });
    const a: string[] = [];
    const b: string[] = [];
    await sub.subscribe('r/#', (m) => a.push(text(m)), { qos: 1 });
    await flush();
    broker.disconnect('sub');
    await sub.subscribe('r/#', (m) => b.push(text(m)), { qos: 1 });
    clock.advance(10);
    await flush();
    expect(sub.state).toBe('online');
    await pub.publish('r/2', 'two', { qos: 1 });
    await flush();
    expect(a).toEqual(['r/1=one', 'r/2=two']);
    expect(b).toEqual(['r/1=one', 'r/2=two']);
  });

  it('after a reconnect with a fresh session every handler is subscribed afresh and gets the retained messages again', async () => {
    const clock = new SimulatedClock(0);
    const broker = new MemoryBroker({ clock });
    const pub = new MemoryTransport({ broker, clientId: 'pub', clock });
    const sub = new MemoryTransport({ broker, clientId: 'sub', clock, backoff: exponentialBackoff({ initialMs: 10, maxMs: 10, jitter: 'none' }) });
    await Promise.all([pub.connect(), sub.connect()]);
    await pub.publish('r/1', 'one', { qos: 1, retain: true });
    const got: InboundMessage[] = [];
    await sub.subscribe('r/#', (m) => got.push(m), { qos: 1 });
    await flush();
    broker.disconnect('sub');
    clock.advance(10);
    await flush();
    expect(got.map((m) => [text(m), m.retain])).toEqual([
      ['r/1=one', true],
      ['r/1=one', true],
    ]);
  });

  it('a handler registered by another handler while a message is dispatched still gets its retained message', async () => {
    const broker = new MemoryBroker();
    const pub = new MemoryTransport({ broker, clientId: 'pub' });
    const sub = new MemoryTransport({ broker, clientId: 'sub' });
    await Promise.all([pub.connect(), sub.connect()]);
    await pub.publish('r/1', 'one', { qos: 1, retain: true });
    const late: string[] = [];
    let added = false;
    await sub.subscribe('r/#', () => {
      if (added) return;
      added = true;
      void sub.subscribe('r/1', (m) => late.push(text(m)));
    });
    await flush();
    await flush();
    expect(late).toEqual(['r/1=one']);
  });

  type Step = { kind: 'subscribe'; filter: string } | { kind: 'unsubscribe'; index: number } | { kind: 'publish'; topic: string; retain: boolean; empty: boolean };
  const topics = ['a', 'a/b', 'a/c', 'a/b/c', 'x/b'];
  const filters = ['#', 'a', 'a/#', 'a/+', 'a/b', '+/b', 'a/b/c', '+/+/+', 'x/#'];
  const stepArb: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('subscribe' as const), filter: fc.constantFrom(...filters) }),
    fc.record({ kind: fc.constant('unsubscribe' as const), index: fc.nat(20) }),
    fc.record({ kind: fc.constant('publish' as const), topic: fc.constantFrom(...topics), retain: fc.boolean(), empty: fc.boolean() }),
  );

  it('every matching handler gets every message once: the retained ones present when it subscribed, then every live one (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 40 }), fc.boolean(), async (steps, sameClient) => {
        const broker = new MemoryBroker();
        const pub = new MemoryTransport({ broker, clientId: 'pub' });
        const sub = sameClient ? pub : new MemoryTransport({ broker, clientId: 'sub' });
        await Promise.all([pub.connect(), sub.connect()]);
        const retained = new Map<string, string>();
        const handlers: { filter: string; got: string[]; expected: string[]; off: () => Promise<void>; active: boolean }[] = [];
        let n = 0;
        for (const step of steps) {
          if (step.kind === 'subscribe') {
            const h = { filter: step.filter, got: [] as string[], expected: [] as string[], off: async () => {}, active: true };
            for (const [topic, label] of retained) if (topicMatches(step.filter, topic)) h.expected.push(label);
            h.off = await sub.subscribe(step.filter, (m) => h.got.push(text(m)), { qos: 1 });
            handlers.push(h);
          } else if (step.kind === 'unsubscribe') {
            const h = handlers[step.index];
            if (h === undefined || !h.active) continue;
            h.active = false;
            await h.off();
          } else {
            const payload = step.empty ? '' : String(++n);
            const label = `${step.topic}=${payload}`;
            for (const h of handlers) if (h.active && topicMatches(h.filter, step.topic)) h.expected.push(label);
            if (step.retain) {
              if (step.empty) retained.delete(step.topic);
              else retained.set(step.topic, label);
            }
            await pub.publish(step.topic, payload, { qos: 1, retain: step.retain });
          }
          await flush();
        }
        for (const h of handlers) expect([...h.got].sort()).toEqual([...h.expected].sort());
        await Promise.all([pub.close(), sub.close()]);
      }),
      { numRuns: 300 },
    );
  });
});

/** A link whose QoS 0 writes complete when the test says so (in order), or at once. */
class ScriptedTransport extends BaseTransport {
  mode: 'now' | 'later' | 'fail-now' | 'throw' = 'now';
  readonly pending: ((error?: FleetError) => void)[] = [];
  constructor() {
    super('ScriptedTransport', 'scripted', { autoReconnect: false });
    this._qos0InOrder = true;
  }
  protected _open(): Promise<{ sessionPresent: boolean }> {
    return Promise.resolve({ sessionPresent: false });
  }
  protected _send(_m: unknown, done: (error?: FleetError) => void): void {
    if (this.mode === 'now') done();
    else if (this.mode === 'fail-now') done(new FleetError('NOT_CONNECTED', 'no link'));
    else if (this.mode === 'throw') throw new Error('boom');
    else this.pending.push(done);
  }
  protected _subscribeRemote(_f: readonly { filter: string; qos: QoS }[]): Promise<void> {
    return Promise.resolve();
  }
  protected _unsubscribeRemote(): Promise<void> {
    return Promise.resolve();
  }
  protected _end(): Promise<void> {
    return Promise.resolve();
  }
  complete(error?: FleetError): void {
    (this.pending.shift() as (error?: FleetError) => void)(error);
  }
  drop(): void {
    this._linkLost(new FleetError('NOT_CONNECTED', 'link dropped'));
  }
}

describe('BaseTransport QoS 0 sends on an in-order link', () => {
  const settled = (p: Promise<void>): Promise<string> =>
    p.then(
      () => 'ok',
      (e: unknown) => (isFleetError(e) ? e.code : 'other'),
    );

  it('resolves at once when the link writes at once, and reports a link that refuses or throws', async () => {
    const t = new ScriptedTransport();
    await t.connect();
    expect(await settled(t.publish('a/b', 'x'))).toBe('ok');
    t.mode = 'fail-now';
    expect(await settled(t.publish('a/b', 'x'))).toBe('NOT_CONNECTED');
    t.mode = 'throw';
    expect(await settled(t.publish('a/b', 'x'))).toBe('INTERNAL');
    await t.close();
  });

  it('settles sends the link completes later in send order, each with its own outcome', async () => {
    const t = new ScriptedTransport();
    await t.connect();
    t.mode = 'later';
    const results = [t.publish('a/b', '1'), t.publish('a/b', '2'), t.publish('a/b', '3')].map(settled);
    t.mode = 'now';
    const between = settled(t.publish('a/b', 'written at once'));
    t.complete();
    t.complete(new FleetError('NOT_CONNECTED', 'lost'));
    t.complete();
    expect(await Promise.all(results)).toEqual(['ok', 'NOT_CONNECTED', 'ok']);
    expect(await between).toBe('ok');
    await t.close();
  });

  it('rejects the sends still waiting when the link drops, and when the transport closes', async () => {
    const t = new ScriptedTransport();
    await t.connect();
    t.mode = 'later';
    const dropped = [t.publish('a/b', '1'), t.publish('a/b', '2')].map(settled);
    t.drop();
    expect(await Promise.all(dropped)).toEqual(['NOT_CONNECTED', 'NOT_CONNECTED']);
    await t.connect();
    const closed = settled(t.publish('a/b', '3'));
    await t.close();
    expect(await closed).toBe('TRANSPORT_CLOSED');
  });
});
