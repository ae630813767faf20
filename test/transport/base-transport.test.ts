/**
 * BaseTransport laws checked through MemoryTransport (deterministic: no faults, flushed after
 * every step): every matching handler gets every message once, retained ones included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { topicMatches } from '../../src/protocol/topic-filter.js';
import { FleetError, isFleetError } from '../../src/errors.js';
import { BaseTransport, exponentialBackoff, MemoryBroker, MemoryTransport, type InboundMessage, type QoS, type TransportOptions } from '../../src/memory.js';
import { expectFleetError, hostileValues } from '../support/hostile.js';

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

/** A transport that never opens a link: only its constructor is under test. */
class BareTransport extends BaseTransport {
  constructor(owner: string, clientId: string, options?: TransportOptions) {
    super(owner, clientId, options as TransportOptions);
  }
  protected _open(): Promise<{ sessionPresent: boolean }> {
    return Promise.resolve({ sessionPresent: false });
  }
  protected _send(_m: unknown, done: (error?: FleetError) => void): void {
    done();
  }
  protected _subscribeRemote(): Promise<void> {
    return Promise.resolve();
  }
  protected _unsubscribeRemote(): Promise<void> {
    return Promise.resolve();
  }
  protected _end(): Promise<void> {
    return Promise.resolve();
  }
}

describe('transport constructors check their options once, at construction', () => {
  it('MemoryTransport refuses options that are not an object, and a broker that is not a MemoryBroker', () => {
    for (const bad of [undefined, null, 5, 'pump-7', [] as unknown]) {
      expectFleetError(() => new MemoryTransport(bad as never), 'INVALID_ARGUMENT', 'new MemoryTransport(options): options must be an object such as { broker');
    }
    for (const broker of [undefined, null, {}, { connect: () => ({ sessionPresent: false }) }]) {
      expectFleetError(() => new MemoryTransport({ broker: broker as never, clientId: 'a' }), 'INVALID_ARGUMENT', 'MemoryTransport: options.broker must be a MemoryBroker');
    }
    expectFleetError(() => new MemoryTransport({ broker: new MemoryBroker(), clientId: 'a', clean: 'no' as never }), 'INVALID_ARGUMENT', 'MemoryTransport: clean must be true or false', 'got "no"');
  });

  it('the shared options: clock, backoff, queue, maxInFlight, autoReconnect and the client id', () => {
    const broker = new MemoryBroker();
    const make = (options: Record<string, unknown>) => () => new MemoryTransport({ broker, clientId: 'a', ...options });
    for (const clock of [5, null, {}, { now: () => 0, setTimeout: () => 0 }]) expectFleetError(make({ clock }), 'INVALID_ARGUMENT', 'MemoryTransport: clock must be a Clock');
    for (const backoff of [5, null, {}, { next: () => 1 }]) expectFleetError(make({ backoff }), 'INVALID_ARGUMENT', 'MemoryTransport: backoff must be a BackoffStrategy');
    for (const queue of [5, null, 'big']) expectFleetError(make({ queue }), 'INVALID_ARGUMENT', 'MemoryTransport: queue must be an object such as { maxMessages');
    expectFleetError(make({ autoReconnect: 'yes' }), 'INVALID_ARGUMENT', 'MemoryTransport: autoReconnect must be true or false', 'got "yes"');
    for (const { value, shown } of hostileValues()) {
      expectFleetError(make({ clientId: value }), 'INVALID_ARGUMENT', 'MemoryTransport: clientId', `got ${shown}`);
      expectFleetError(make({ maxInFlight: value }), 'INVALID_ARGUMENT', 'MemoryTransport: maxInFlight', `got ${shown}`);
      expectFleetError(make({ queue: { maxMessages: value } }), 'INVALID_ARGUMENT', 'MemoryTransport: queue.maxMessages', `got ${shown}`);
      expectFleetError(make({ queue: { overflow: value } }), 'INVALID_ARGUMENT', 'MemoryTransport: queue.overflow', `got ${shown}`);
    }
    expect(new MemoryTransport({ broker, clientId: 'ok', clock: new SimulatedClock(0), backoff: exponentialBackoff(), queue: {}, autoReconnect: false }).state).toBe('offline');
  });

  it('BaseTransport checks the owner name its subclass passes, and takes omitted options as the defaults', () => {
    for (const { value, shown } of hostileValues()) {
      expectFleetError(() => new BareTransport(value as string, 'c'), 'INVALID_ARGUMENT', 'BaseTransport: owner must be', `got ${shown}`);
      // An object without any option is the defaults (and none of its hooks runs); anything else is refused.
      if (typeof value === 'object') expect(new BareTransport('Bare', 'c', value as TransportOptions).state).toBe('offline');
      else expectFleetError(() => new BareTransport('Bare', 'c', value as TransportOptions), 'INVALID_ARGUMENT', 'Bare: options must be an object', `got ${shown}`);
    }
    expectFleetError(() => new BareTransport('Bare', 'c', null as never), 'INVALID_ARGUMENT', 'Bare: options must be an object', 'got null');
    expect(new BareTransport('Bare', 'c').clientId).toBe('c');
  });

  it('MemoryBroker refuses options that are not an object and describes bad ones without calling their hooks', () => {
    for (const bad of [null, 5, 'seeded', [] as unknown]) expectFleetError(() => new MemoryBroker(bad as never), 'INVALID_ARGUMENT', 'new MemoryBroker(options): options must be an object such as { seed');
    expectFleetError(() => new MemoryBroker({ clock: 5 as never }), 'INVALID_ARGUMENT', 'MemoryBroker: clock must be a Clock');
    expectFleetError(() => new MemoryBroker({ authenticate: true as never }), 'INVALID_ARGUMENT', 'MemoryBroker: authenticate must be a function', 'got true');
    expectFleetError(() => new MemoryBroker({ faults: 0.1 as never }), 'INVALID_ARGUMENT', 'MemoryBroker: faults must be an object such as { lossRate', 'got 0.1');
    for (const latencyMs of ['slow', [1], [5, 1], [1, Number.NaN], [1, 2, 3], {}]) expectFleetError(() => new MemoryBroker({ faults: { latencyMs: latencyMs as never } }), 'INVALID_ARGUMENT', 'MemoryBroker: faults.latencyMs');
    for (const { value, shown } of hostileValues()) {
      expectFleetError(() => new MemoryBroker({ seed: value as number }), 'INVALID_ARGUMENT', 'MemoryBroker: seed must be an integer', `got ${shown}`);
      expectFleetError(() => new MemoryBroker({ maxQueuedMessages: value as number }), 'INVALID_ARGUMENT', 'MemoryBroker: maxQueuedMessages', `got ${shown}`);
      expectFleetError(() => new MemoryBroker({ faults: { lossRate: value as number } }), 'INVALID_ARGUMENT', 'MemoryBroker: faults.lossRate', `got ${shown}`);
      expectFleetError(() => new MemoryBroker({ faults: { latencyMs: value as number } }), 'INVALID_ARGUMENT', 'MemoryBroker: faults.latencyMs', `got ${shown}`);
      expectFleetError(() => new MemoryBroker({ faults: { latencyMs: [0, value] as never } }), 'INVALID_ARGUMENT', 'MemoryBroker: faults.latencyMs', 'got an array');
    }
    expect(new MemoryBroker(undefined).stats.published).toBe(0);
  });
});

describe('BaseTransport and handlers that throw', () => {
  it('a handler that throws a value with no usable string form is reported as INTERNAL, and the other handlers still get the message', async () => {
    const broker = new MemoryBroker();
    const t = new MemoryTransport({ broker, clientId: 'sub' });
    await t.connect();
    const errors: unknown[] = [];
    t.on('error', (e) => errors.push(e));
    const got: string[] = [];
    for (const { value } of hostileValues()) {
      await t.subscribe('h/#', () => {
        throw value;
      });
    }
    await t.subscribe('h/#', (m) => got.push(text(m)));
    await t.publish('h/1', 'x');
    await flush();
    expect(got).toEqual(['h/1=x']);
    expect(errors).toHaveLength(hostileValues().length);
    for (const e of errors) expect(isFleetError(e, 'INTERNAL') && e.message.includes('A message handler for "h/#" threw')).toBe(true);
    await t.close();
  });
});
