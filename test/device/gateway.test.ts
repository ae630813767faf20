// GatewayConnection on the memory broker: per-device topic scope, demultiplexing, shared-link loss,
// persistent children, closing, and argument errors.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceAclRules } from '../../src/cloud/mosquitto-acl.js';
import { deviceScope, filtersIntersect, GatewayConnection, type GatewayChild } from '../../src/device/gateway.js';
import { isFleetError } from '../../src/errors.js';
import { topicMatches } from '../../src/protocol/topic-filter.js';
import { waitUntil } from '../../src/testing/transport-contract.js';
import { MemoryBroker } from '../../src/transport/memory-broker.js';
import { MemoryTransport } from '../../src/transport/memory-transport.js';
import type { InboundMessage } from '../../src/transport/types.js';

const text = (m: InboundMessage): string => new TextDecoder().decode(m.payload);
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.close()));
});

function setup(options: { maxPendingPerChild?: number } = {}): { broker: MemoryBroker; gateway: GatewayConnection; cloud: MemoryTransport } {
  const broker = new MemoryBroker();
  const gateway = new GatewayConnection({ transport: new MemoryTransport({ broker, clientId: 'gw-1' }), tenantId: 'acme', ...options });
  const cloud = new MemoryTransport({ broker, clientId: 'cloud' });
  open.push(gateway, cloud);
  return { broker, gateway, cloud };
}

const forbidden = (e: unknown): boolean => isFleetError(e, 'FORBIDDEN');

describe('GatewayConnection', () => {
  it('a child publishes and subscribes on its own device topics only (device scope)', async () => {
    const { gateway, cloud } = setup();
    await cloud.connect();
    const seen: string[] = [];
    await cloud.subscribe('#', (m) => seen.push(m.topic), { qos: 1 });
    await cloud.subscribe('$aws/things/+/shadow/#', (m) => seen.push(m.topic), { qos: 1 });
    const a = gateway.child({ deviceId: 'sensor-a' });
    await a.connect();
    const mine = ['dt/acme/sensor-a/telemetry', 'dt/acme/sensor-a/heartbeat', 'cmd/acme/sensor-a/res/c-1', 'cmd/acme/sensor-a/job/j-1/status', '$aws/things/sensor-a/shadow/update', '$aws/things/sensor-a/shadow/name/cfg/get'];
    const others = ['dt/acme/sensor-b/telemetry', 'dt/globex/sensor-a/telemetry', 'cmd/acme/sensor-a/req/c-1', '$aws/things/sensor-b/shadow/update', '$aws/things/sensor-a/shadow/update/accepted', 'fk/anything'];
    for (const topic of others) await expect(a.publish(topic, '{}', { qos: 1 }), topic).rejects.toSatisfy(forbidden);
    for (const topic of mine) await a.publish(topic, '{}', { qos: 1 });
    await waitUntil(() => seen.length >= mine.length, 2000, 'the child\'s publishes');
    expect(seen.sort()).toEqual([...mine].sort());

    for (const filter of ['cmd/acme/sensor-b/req/+', 'dt/#', 'cmd/globex/sensor-a/req/+', '$aws/things/sensor-b/shadow/#']) {
      await expect(a.subscribe(filter, () => {}), filter).rejects.toSatisfy(forbidden);
    }
    // A wider filter that covers its own topics is accepted, and delivers only its own topics.
    const got: string[] = [];
    await a.subscribe('cmd/acme/+/req/+', (m) => got.push(m.topic), { qos: 1 });
    await a.subscribe('$aws/things/sensor-a/shadow/#', (m) => got.push(m.topic), { qos: 1 });
    const toOthers = ['cmd/acme/sensor-b/req/c-2', '$aws/things/sensor-b/shadow/update/accepted'];
    const toMe = ['cmd/acme/sensor-a/req/c-2', '$aws/things/sensor-a/shadow/update/delta'];
    for (const topic of [...toOthers, ...toMe]) await cloud.publish(topic, '{}', { qos: 1 });
    await waitUntil(() => got.length >= 2, 2000, 'the child\'s messages');
    await cloud.publish('cmd/acme/sensor-a/req/end', '{}', { qos: 1 });
    await waitUntil(() => got.includes('cmd/acme/sensor-a/req/end'), 2000, 'the sentinel');
    expect(got.sort()).toEqual([...toMe, 'cmd/acme/sensor-a/req/end'].sort());
  });

  it('demultiplexes: 100 children of one connection each receive exactly their own commands', async () => {
    const { gateway, cloud } = setup();
    await cloud.connect();
    const ids = Array.from({ length: 100 }, (_, i) => `dev-${String(i).padStart(3, '0')}`);
    const inbox = new Map<string, string[]>();
    const children: GatewayChild[] = [];
    for (const id of ids) {
      const child = gateway.child({ deviceId: id });
      children.push(child);
      inbox.set(id, []);
      await child.subscribe(`cmd/acme/${id}/req/+`, (m) => inbox.get(id)?.push(`${m.topic}=${text(m)}`), { qos: 1 });
      await child.connect();
    }
    for (const id of ids) for (const n of [1, 2]) await cloud.publish(`cmd/acme/${id}/req/c-${n}`, `${id}#${n}`, { qos: 1 });
    await waitUntil(() => [...inbox.values()].every((l) => l.length >= 2), 3000, 'every command');
    for (const id of ids) expect(inbox.get(id)).toEqual([`cmd/acme/${id}/req/c-1=${id}#1`, `cmd/acme/${id}/req/c-2=${id}#2`]);
    expect(gateway.children).toEqual(ids);
  });

  it('children go offline with the shared connection and come back with it, sending what they queued', async () => {
    const { broker, gateway, cloud } = setup();
    await cloud.connect();
    const got: string[] = [];
    await cloud.subscribe('dt/acme/+/telemetry', (m) => got.push(`${m.topic}=${text(m)}`), { qos: 1 });
    const a = gateway.child({ deviceId: 'a' });
    const b = gateway.child({ deviceId: 'b' });
    const commands: string[] = [];
    await a.subscribe('cmd/acme/a/req/+', (m) => commands.push(text(m)), { qos: 1 });
    await Promise.all([a.connect(), b.connect()]);
    const offline = Promise.all([a, b].map((c) => new Promise<void>((r) => c.on('state', (s) => s === 'offline' && r()))));
    expect(broker.disconnect('gw-1')).toBe(true);
    await offline;
    expect([a.state, b.state]).toEqual(['offline', 'offline']);
    const queued = [a.publish('dt/acme/a/telemetry', 'a1', { qos: 1 }), b.publish('dt/acme/b/telemetry', 'b1', { qos: 1 })];
    await Promise.all(queued);
    await waitUntil(() => got.length === 2, 5000, 'the queued telemetry');
    expect(got.sort()).toEqual(['dt/acme/a/telemetry=a1', 'dt/acme/b/telemetry=b1']);
    expect([a.state, b.state]).toEqual(['online', 'online']);
    // Subscriptions were restored.
    await cloud.publish('cmd/acme/a/req/c-9', 'again', { qos: 1 });
    await waitUntil(() => commands.length === 1, 2000, 'a command after the reconnect');
    expect(commands).toEqual(['again']);
  });

  it('keeps QoS 1 messages for a detached persistent child, bounded, dropping the oldest', async () => {
    const { gateway, cloud } = setup({ maxPendingPerChild: 3 });
    await cloud.connect();
    const first = gateway.child({ deviceId: 'p', clean: false });
    await first.subscribe('cmd/acme/p/req/+', () => {}, { qos: 1 });
    await first.connect();
    await first.close();
    expect(gateway.children).toEqual(['p']);
    for (let i = 1; i <= 5; i++) await cloud.publish(`cmd/acme/p/req/c-${i}`, String(i), { qos: 1 });
    await cloud.publish('cmd/acme/p/req/c-q0', 'qos0', { qos: 0 });
    const again = gateway.child({ deviceId: 'p', clean: false });
    const got: string[] = [];
    await again.subscribe('cmd/acme/p/req/+', (m) => got.push(text(m)), { qos: 1 });
    await again.connect();
    await waitUntil(() => got.length >= 3, 2000, 'the backlog');
    expect(got).toEqual(['3', '4', '5']);
    expect(gateway.dropped).toBe(2);
    // A clean child with the same id starts over: no backlog, no subscriptions.
    await again.close();
    await cloud.publish('cmd/acme/p/req/c-6', '6', { qos: 1 });
    const fresh = gateway.child({ deviceId: 'p' });
    const none: string[] = [];
    fresh.on('error', () => {});
    await fresh.connect();
    await fresh.subscribe('cmd/acme/p/req/+', (m) => none.push(text(m)), { qos: 1 });
    await cloud.publish('cmd/acme/p/req/c-7', '7', { qos: 1 });
    await waitUntil(() => none.length >= 1, 2000, 'a live command');
    expect(none).toEqual(['7']);
  });

  it('close() closes every child and the shared connection; no child after that', async () => {
    const { gateway } = setup();
    const a = gateway.child({ deviceId: 'a' });
    await a.connect();
    await gateway.close();
    expect(a.state).toBe('closed');
    expect(gateway.transport.state).toBe('closed');
    expect(() => gateway.child({ deviceId: 'b' })).toThrow(expect.objectContaining({ code: 'TRANSPORT_CLOSED' }));
    await gateway.close();
  });

  it('closes every child when the shared connection is closed for good (no endless reconnects)', async () => {
    const { gateway } = setup();
    const a = gateway.child({ deviceId: 'a' });
    await a.connect();
    const pending = a.publish('dt/acme/a/telemetry', 'x', { qos: 1 });
    await gateway.transport.close();
    await waitUntil(() => a.state === 'closed', 2000, 'the child to close');
    await pending.catch(() => undefined);
    expect(() => gateway.child({ deviceId: 'b' })).toThrow(expect.objectContaining({ code: 'TRANSPORT_CLOSED' }));
  });

  it('a child whose handler throws gets an error event; its siblings and the gateway are unaffected', async () => {
    const { gateway, cloud } = setup();
    await cloud.connect();
    const a = gateway.child({ deviceId: 'a' });
    const b = gateway.child({ deviceId: 'b' });
    const errors: string[] = [];
    a.on('error', (e) => errors.push(e.code));
    const got: string[] = [];
    await a.subscribe('cmd/acme/a/req/+', () => {
      throw new Error('hostile payload');
    });
    await a.subscribe('cmd/acme/a/req/+', (m) => got.push(`a:${text(m)}`));
    await b.subscribe('cmd/acme/b/req/+', (m) => got.push(`b:${text(m)}`));
    await Promise.all([a.connect(), b.connect()]);
    await cloud.publish('cmd/acme/a/req/x', '{not json', { qos: 1 });
    await cloud.publish('cmd/acme/b/req/y', 'fine', { qos: 1 });
    await waitUntil(() => got.length === 2, 2000, 'both deliveries');
    expect(got.sort()).toEqual(['a:{not json', 'b:fine']);
    expect(errors).toEqual(['INTERNAL']);
    expect([a.state, b.state, gateway.transport.state]).toEqual(['online', 'online', 'online']);
  });

  it('refuses bad options with FleetErrors that say what to pass', () => {
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker, clientId: 'gw-x' });
    const cases: [() => unknown, string][] = [
      [() => new GatewayConnection(null as never), 'INVALID_ARGUMENT'],
      [() => new GatewayConnection({ transport: {} as never }), 'INVALID_ARGUMENT'],
      [() => new GatewayConnection({ transport, topicScope: 'all' as never }), 'INVALID_ARGUMENT'],
      [() => new GatewayConnection({ transport, maxPendingPerChild: -1 }), 'INVALID_ARGUMENT'],
      [() => new GatewayConnection({ transport, tenantId: 'a/b' }), 'INVALID_NAME'],
      [() => new GatewayConnection({ transport }).child({ deviceId: 'd' }), 'INVALID_ARGUMENT'],
      [() => new GatewayConnection({ transport, tenantId: 't' }).child({ deviceId: 'a/b' }), 'INVALID_NAME'],
      [() => new GatewayConnection({ transport, tenantId: 't' }).child({ deviceId: 'd', clean: 'no' as never }), 'INVALID_ARGUMENT'],
      [() => new GatewayConnection({ transport, tenantId: 't' }).child(undefined as never), 'INVALID_ARGUMENT'],
    ];
    for (const [make, code] of cases) expect(make).toThrow(expect.objectContaining({ name: 'FleetError', code }));
  });
});

describe('filtersIntersect', () => {
  const level = fc.constantFrom('a', 'b', '$s');
  const topic = fc.array(level, { minLength: 1, maxLength: 4 }).map((l) => l.join('/'));
  const filter = fc
    .tuple(fc.array(fc.constantFrom('a', 'b', '$s', '+'), { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'));

  it('is true exactly when some topic matches both filters (checked over every topic of the alphabet, up to 5 levels)', () => {
    const universe: string[] = [];
    const grow = (prefix: string[], depth: number): void => {
      if (prefix.length > 0) universe.push(prefix.join('/'));
      if (depth === 5) return;
      for (const l of ['a', 'b', '$s', 'c']) grow([...prefix, l], depth + 1);
    };
    grow([], 0);
    fc.assert(
      fc.property(filter, filter, (f, g) => {
        const witness = universe.some((t) => topicMatches(f, t) && topicMatches(g, t));
        expect(filtersIntersect(f, g)).toBe(witness);
      }),
      { numRuns: 500 },
    );
  });

  it('every filter intersects a topic it matches', () => {
    fc.assert(fc.property(filter, topic, (f, t) => !topicMatches(f, t) || filtersIntersect(f, t)));
  });
});

describe('the device scope of a child', () => {
  // Topics and filters built from the ids in play, the tree's fixed words and wildcards.
  const ids = fc.constantFrom('acme', 'globex', 'd1', 'd2');
  const word = fc.oneof(ids, fc.constantFrom('dt', 'cmd', '$aws', 'things', 'shadow', 'name', 'cfg', 'telemetry', 'heartbeat', 'req', 'res', 'job', 'status', 'prov', 'get', 'update', 'delete', 'accepted', 'delta', 'x'));
  const topic = fc.array(word, { minLength: 1, maxLength: 7 }).map((l) => l.join('/'));
  const filter = fc.tuple(fc.array(fc.oneof(word, fc.constant('+')), { minLength: 1, maxLength: 7 }), fc.boolean()).map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'));

  it('allows exactly what the device ACL rules allow (publish, subscribe, delivery)', () => {
    fc.assert(
      fc.property(fc.constantFrom('acme', 'globex'), fc.constantFrom('d1', 'd2'), topic, filter, (tenant, device, t, f) => {
        const rules = deviceAclRules(tenant, device);
        const write = rules.filter(([a]) => a === 'write').map(([, p]) => p);
        const read = rules.filter(([a]) => a === 'read').map(([, p]) => p);
        const scope = deviceScope(tenant, device);
        expect(scope.writable(t)).toBe(write.some((p) => topicMatches(p, t)));
        expect(scope.readable(t)).toBe(read.some((p) => topicMatches(p, t)));
        expect(scope.readableFilter(f)).toBe(read.some((p) => filtersIntersect(p, f)));
      }),
      { numRuns: 2000 },
    );
  });

  it('allows the device\'s own topics (a fixed corpus, so the property above is not vacuous)', () => {
    const s = deviceScope('acme', 'd1');
    expect(['dt/acme/d1/telemetry', 'cmd/acme/d1/res/c', '$aws/things/d1/shadow/update', '$aws/things/d1/shadow/name/cfg/get'].every(s.writable)).toBe(true);
    expect(['cmd/acme/d1/req/c', 'cmd/acme/d1/job/j', '$aws/things/d1/shadow/update/delta'].every(s.readable)).toBe(true);
    expect(['cmd/acme/+/req/+', '$aws/things/d1/shadow/#', '#', 'cmd/#'].every(s.readableFilter)).toBe(true);
    expect(['dt/acme/d2/telemetry', 'cmd/acme/d1/req/c', 'dt/globex/d1/telemetry'].some(s.writable)).toBe(false);
    expect(['cmd/acme/d2/req/+', '+/things/d1/shadow/+/+', 'dt/#'].some(s.readableFilter)).toBe(false);
  });
});
