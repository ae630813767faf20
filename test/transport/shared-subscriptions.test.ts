// Shared subscriptions ($share/{group}/{filter}): each message reaches exactly one member of a group
// — on the memory broker (a model-based property) and on a real mosquitto — while ordinary
// subscribers still get every message.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { MqttTransport } from '../../src/mqtt.js';
import { assertTopicFilter, matchingFilter, parseSharedFilter, sharedFilter } from '../../src/protocol/index.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('shared subscription filters', () => {
  it('accepts $share/{group}/{filter} with a valid group and filter, and refuses the rest with what to fix', () => {
    for (const ok of ['$share/g/dt/#', '$share/shadow-service/$aws/things/+/shadow/update', '$share/a/+', '$share/x/a/b']) expect(assertTopicFilter(ok)).toBe(ok);
    for (const bad of ['$share/g', '$share//dt/#', '$share/g/', '$share/+/dt', '$share/g#/dt', '$share/g/a/#/b', '$share/g/a+']) {
      expect(() => assertTopicFilter(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }) as Error);
    }
    expect(parseSharedFilter('$share/g/dt/+/x')).toEqual({ group: 'g', filter: 'dt/+/x' });
    expect(parseSharedFilter('dt/+/x')).toBeUndefined();
    expect(matchingFilter('$share/g/dt/#')).toBe('dt/#');
    expect(matchingFilter('dt/#')).toBe('dt/#');
    expect(() => sharedFilter('a/b', 'dt/#')).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }) as Error);
  });

  it('property: sharedFilter and parseSharedFilter are inverse for every valid group and filter', () => {
    const level = fc.stringMatching(/^[a-z0-9_$-]{0,6}$/);
    const filter = fc.tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 1, maxLength: 5 }), fc.boolean()).map(([ls, hash]) => [...ls, ...(hash ? ['#'] : [])].join('/')).filter((f) => f.length > 0);
    const group = fc.stringMatching(/^[a-zA-Z0-9_:.-]{1,12}$/);
    fc.assert(
      fc.property(group, filter, (g, f) => {
        const s = sharedFilter(g, f);
        expect(parseSharedFilter(s)).toEqual({ group: g, filter: f });
        expect(matchingFilter(s)).toBe(f);
      }),
    );
  });
});

describe('shared subscriptions on the MemoryBroker', () => {
  it('each message goes to exactly one group member, round robin; an ordinary subscriber gets all; no retained replay', async () => {
    const broker = new MemoryBroker();
    const got = new Map<string, string[]>();
    const members: MemoryTransport[] = [];
    const publisher = new MemoryTransport({ broker, clientId: 'pub' });
    await publisher.connect();
    await publisher.publish('dt/acme/d0/telemetry', 'retained', { qos: 1, retain: true });
    for (const id of ['m1', 'm2', 'm3', 'plain']) {
      const t = new MemoryTransport({ broker, clientId: id });
      await t.connect();
      got.set(id, []);
      await t.subscribe(id === 'plain' ? 'dt/+/+/telemetry' : '$share/workers/dt/+/+/telemetry', (m) => got.get(id)?.push(new TextDecoder().decode(m.payload)), { qos: 1 });
      members.push(t);
    }
    await settle();
    expect(got.get('plain')).toEqual(['retained']);
    for (const id of ['m1', 'm2', 'm3']) expect(got.get(id)).toEqual([]);
    got.set('plain', []);
    for (let i = 0; i < 300; i++) await publisher.publish(`dt/acme/d${i % 7}/telemetry`, `m${i}`, { qos: 1 });
    await settle();
    expect(got.get('plain')).toHaveLength(300);
    const shared = ['m1', 'm2', 'm3'].flatMap((id) => got.get(id) ?? []);
    expect(shared.sort()).toEqual([...(got.get('plain') ?? [])].sort());
    for (const id of ['m1', 'm2', 'm3']) expect(got.get(id)).toHaveLength(100);
    await members[0]?.close();
    for (const id of got.keys()) got.set(id, []);
    for (let i = 0; i < 10; i++) await publisher.publish('dt/acme/d1/telemetry', `n${i}`, { qos: 1 });
    await settle();
    expect(got.get('m1')).toEqual([]);
    expect([...(got.get('m2') ?? []), ...(got.get('m3') ?? [])].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`).sort());
    await Promise.all([publisher, ...members].map((t) => t.close()));
  });

  it('property: with any members joining and leaving, every message reaches exactly one connected member of each group', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.record({ op: fc.constant('pub' as const), n: fc.integer({ min: 1, max: 5 }) }), fc.record({ op: fc.constantFrom('join' as const, 'leave' as const), who: fc.integer({ min: 0, max: 3 }), group: fc.constantFrom('a', 'b') })), { maxLength: 25 }),
        async (ops) => {
          const broker = new MemoryBroker();
          const publisher = new MemoryTransport({ broker, clientId: 'pub' });
          await publisher.connect();
          const live = new Map<string, MemoryTransport>();
          const got: { member: string; group: string; body: string }[] = [];
          let seq = 0;
          for (const op of ops) {
            if (op.op === 'pub') {
              const bodies = Array.from({ length: op.n }, () => `x${seq++}`);
              for (const b of bodies) await publisher.publish('s/t', b, { qos: 1 });
              await settle();
              for (const group of ['a', 'b']) {
                const inGroup = [...live.keys()].filter((k) => k.startsWith(`${group}:`));
                const receivedHere = got.filter((g) => g.group === group && bodies.includes(g.body));
                // exactly once per group when it has a member, never otherwise
                expect(receivedHere.map((g) => g.body).sort()).toEqual(inGroup.length > 0 ? [...bodies].sort() : []);
                for (const g of receivedHere) expect(inGroup).toContain(g.member);
              }
            } else {
              const key = `${op.group}:${op.who}`;
              const current = live.get(key);
              if (op.op === 'join' && current === undefined) {
                const t = new MemoryTransport({ broker, clientId: key });
                await t.connect();
                await t.subscribe(`$share/${op.group}/s/+`, (m) => got.push({ member: key, group: op.group, body: new TextDecoder().decode(m.payload) }), { qos: 1 });
                live.set(key, t);
              } else if (op.op === 'leave' && current !== undefined) {
                await current.close();
                live.delete(key);
              }
            }
          }
          await Promise.all([publisher, ...live.values()].map((t) => t.close()));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe.skipIf(!mosquittoEnabled('the shared-subscription test over mosquitto'))('shared subscriptions over mosquitto', () => {
  let broker: TestMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('two MqttTransports in one group split the messages, each exactly once', { timeout: 30_000 }, async () => {
    const got = new Map<string, string[]>([
      ['a', []],
      ['b', []],
    ]);
    const members = await Promise.all(
      ['a', 'b'].map(async (id) => {
        const t = new MqttTransport({ url: broker.url, clientId: `share-${id}-${process.pid}` });
        await t.connect();
        await t.subscribe('$share/svc/dt/+/+/telemetry', (m) => got.get(id)?.push(new TextDecoder().decode(m.payload)), { qos: 1 });
        return t;
      }),
    );
    const pub = new MqttTransport({ url: broker.url, clientId: `share-pub-${process.pid}` });
    await pub.connect();
    for (let i = 0; i < 200; i++) await pub.publish(`dt/acme/d${i % 5}/telemetry`, `m${i}`, { qos: 1 });
    const all = (): string[] => [...(got.get('a') ?? []), ...(got.get('b') ?? [])];
    for (let i = 0; i < 500 && all().length < 200; i++) await new Promise((r) => setTimeout(r, 10));
    expect(all().sort()).toEqual(Array.from({ length: 200 }, (_, i) => `m${i}`).sort());
    expect(got.get('a')?.length).toBeGreaterThan(0);
    expect(got.get('b')?.length).toBeGreaterThan(0);
    await Promise.all([pub, ...members].map((t) => t.close()));
  });
});
