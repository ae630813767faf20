// Quotas end to end on the memory broker with a SimulatedClock: a tenant flooding at 10× its
// quota is throttled while a quiet tenant is not and is served exactly as when alone; throttled
// shadow updates get AWS's 429 on /rejected with retryAfterMs and change nothing; application
// calls over the API quota throw TOO_MANY_REQUESTS; the meter equals what the broker carried.
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, QuotaEnforcer, type Fleet } from '../../src/cloud/index.js';
import { isFleetError } from '../../src/errors.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { settle, T0, TEMPLATE } from './fleet-rig.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

const QUOTAS = [
  { tenantId: 'noisy', messagesPerSecond: 10, shadowUpdatesPerSecond: 2, apiCallsPerSecond: 5 },
  { tenantId: 'quiet', messagesPerSecond: 10, shadowUpdatesPerSecond: 2, apiCallsPerSecond: 5 },
];

interface Setup {
  readonly fleet: Fleet;
  readonly quotas: QuotaEnforcer;
  readonly clock: SimulatedClock;
  readonly broker: MemoryBroker;
  /** Telemetry messages the broker carried, per tenant (counted by an independent subscriber). */
  readonly carried: Map<string, number>;
  publisher(id: string): Promise<MemoryTransport>;
  idle(): Promise<void>;
}

async function setup(): Promise<Setup> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  open.push(backend);
  const quotas = new QuotaEnforcer({ tenants: QUOTAS });
  const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false }, quotas });
  open.push(fleet);
  const tap = new MemoryTransport({ broker, clientId: 'tap', queue: { maxMessages: 1_000_000 } });
  open.push(tap);
  await tap.connect();
  const carried = new Map<string, number>();
  await tap.subscribe('dt/+/+/+', (m) => {
    const tenant = m.topic.split('/')[1] as string;
    carried.set(tenant, (carried.get(tenant) ?? 0) + 1);
  }, { qos: 1 });
  return {
    fleet,
    quotas,
    clock,
    broker,
    carried,
    async publisher(id) {
      const t = new MemoryTransport({ broker, clientId: id, queue: { maxMessages: 100_000 }, maxInFlight: 10_000 });
      open.push(t);
      await t.connect();
      return t;
    },
    idle: () => settle(() => fleet.health.busyDevices > 0 || fleet.shadows.busyThings > 0),
  };
}

/**
 * 10 virtual seconds in 100 ms steps: the quiet tenant's device sends one telemetry message every
 * 200 ms (half its quota); with `flood`, the noisy tenant's two devices send 10 messages per step
 * in all (100/s, 10× its quota).
 */
async function scenario(flood: boolean): Promise<{ s: Setup; sent: { quiet: number; noisy: number } }> {
  const s = await setup();
  await s.fleet.registry.register({ tenantId: 'quiet' }, { deviceId: 'q1' });
  await s.fleet.registry.register({ tenantId: 'noisy' }, { deviceId: 'n1' });
  await s.fleet.registry.register({ tenantId: 'noisy' }, { deviceId: 'n2' });
  const q1 = await s.publisher('q1');
  const n = [await s.publisher('n1'), await s.publisher('n2')];
  const sent = { quiet: 0, noisy: 0 };
  for (let step = 0; step < 100; step++) {
    const ts = s.clock.now();
    if (step % 2 === 0) await q1.publish('dt/quiet/q1/telemetry', JSON.stringify({ ts, seq: sent.quiet++, values: { t: 21 } }), { qos: 1 });
    if (flood) {
      for (let k = 0; k < 10; k++) {
        const dev = k % 2;
        await (n[dev] as MemoryTransport).publish(`dt/noisy/n${dev + 1}/telemetry`, JSON.stringify({ ts, values: { t: 21 } }), { qos: 1 });
        sent.noisy++;
      }
    }
    await s.idle();
    s.clock.advance(100);
  }
  await s.idle();
  return { s, sent };
}

describe('quotas on the memory broker', () => {
  it('a tenant flooding at 10× its message quota is throttled; the quiet tenant is served as when alone', async () => {
    const alone = await scenario(false);
    const quietAlone = alone.s.fleet.health.network({ tenantId: 'quiet' });
    const { s, sent } = await scenario(true);
    const quiet = s.fleet.health.network({ tenantId: 'quiet' });
    const noisy = s.fleet.health.network({ tenantId: 'noisy' });

    // The quiet tenant: nothing throttled, every message processed, the same latency and counts as alone.
    expect(quiet.throttled).toBe(0);
    expect(quiet.telemetry).toBe(sent.quiet);
    expect(quiet).toEqual(quietAlone);
    // The noisy tenant: at most burst + rate × t of its 1,000 messages got through (10 + 10/s × 9.9 s).
    expect(sent.noisy).toBe(1000);
    expect(noisy.telemetry).toBeLessThanOrEqual(10 + 99);
    expect(noisy.telemetry).toBeGreaterThanOrEqual(99);
    expect(noisy.telemetry + noisy.throttled).toBe(sent.noisy);

    // Metering equals what the broker carried: admitted + throttled = carried, per tenant.
    const meter = s.quotas.meter();
    const of = (t: string) => meter.tenants.find((u) => u.tenantId === t);
    expect(of('quiet')).toMatchObject({ messages: s.carried.get('quiet'), throttled: 0 });
    expect((of('noisy')?.messages ?? 0) + (of('noisy')?.throttled ?? 0)).toBe(s.carried.get('noisy'));
    expect(of('noisy')?.messages).toBe(noisy.telemetry);
    expect(of('quiet')?.bytes).toBe(quiet.bytes);
  });

  it('a throttled shadow update gets /rejected 429 with retryAfterMs and changes nothing', async () => {
    const s = await setup();
    await s.fleet.registry.register({ tenantId: 'noisy' }, { deviceId: 'n1' });
    const d = await s.publisher('n1');
    const got: { topic: string; payload: Record<string, unknown> }[] = [];
    await d.subscribe('$aws/things/n1/shadow/update/+', (m) => got.push({ topic: m.topic, payload: JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown> }), { qos: 1 });
    for (let i = 1; i <= 4; i++) {
      await d.publish('$aws/things/n1/shadow/update', JSON.stringify({ state: { reported: { n: i } }, clientToken: `c${i}` }), { qos: 1 });
      await s.idle();
    }
    const accepted = got.filter((m) => m.topic.endsWith('/accepted'));
    const rejected = got.filter((m) => m.topic.endsWith('/rejected'));
    expect(accepted.map((m) => m.payload['clientToken'])).toEqual(['c1', 'c2']); // the burst: 2
    expect(rejected.map((m) => m.payload)).toEqual([
      { code: 429, message: 'Too Many Requests', timestamp: Math.floor(T0 / 1000), clientToken: 'c3', retryAfterMs: 500 },
      { code: 429, message: 'Too Many Requests', timestamp: Math.floor(T0 / 1000), clientToken: 'c4', retryAfterMs: 500 },
    ]);
    const doc = await s.fleet.stores.shadows.get({ tenantId: 'noisy' }, 'n1', undefined);
    expect(doc).toMatchObject({ version: 2, state: { reported: { n: 2 } } });
    // After the wait the same request is accepted.
    s.clock.advance(500);
    await d.publish('$aws/things/n1/shadow/update', JSON.stringify({ state: { reported: { n: 5 } }, clientToken: 'c5' }), { qos: 1 });
    await s.idle();
    expect(got.filter((m) => /\/(accepted|rejected)$/.test(m.topic)).at(-1)).toMatchObject({ topic: '$aws/things/n1/shadow/update/accepted', payload: { clientToken: 'c5' } });
    // Metered: 3 updates, 2 throttled, and the bytes of the stored document.
    expect(s.quotas.meter().tenants[0]).toMatchObject({ tenantId: 'noisy', shadowUpdates: 3, throttled: 2 });
    const stored = await s.fleet.stores.shadows.get({ tenantId: 'noisy' }, 'n1', undefined);
    const { state, metadata, version } = stored as unknown as { state: unknown; metadata: unknown; version: number };
    expect(s.quotas.storedBytes('noisy')).toBe(Buffer.byteLength(JSON.stringify({ state, metadata, version })));
    await s.fleet.shadows.delete({ tenantId: 'noisy' }, 'n1');
    expect(s.quotas.storedBytes('noisy')).toBe(0);
  });

  it('application calls over the API quota throw TOO_MANY_REQUESTS with retryAfterMs; the shadow is unchanged', async () => {
    const s = await setup();
    await s.fleet.registry.register({ tenantId: 'quiet' }, { deviceId: 'q1' });
    const ctx = { tenantId: 'quiet' };
    await s.fleet.shadows.update(ctx, 'q1', { state: { desired: { on: true } } });
    for (let i = 0; i < 4; i++) await s.fleet.shadows.get(ctx, 'q1'); // 5 calls: the burst
    const refused = await s.fleet.shadows.update(ctx, 'q1', { state: { desired: { on: false } } }).catch((e: unknown) => e);
    expect(isFleetError(refused, 'TOO_MANY_REQUESTS')).toBe(true);
    expect((refused as { status: number }).status).toBe(429);
    expect((refused as { details: Record<string, unknown> }).details).toMatchObject({ retryAfterMs: 200, resource: 'apiCalls', scope: 'tenant', tenantId: 'quiet' });
    const list = await s.fleet.shadows.list(ctx).catch((e: unknown) => e);
    expect(isFleetError(list, 'TOO_MANY_REQUESTS')).toBe(true);
    expect(await s.fleet.stores.shadows.get(ctx, 'q1', undefined)).toMatchObject({ version: 1, state: { desired: { on: true } } });
    s.clock.advance(200);
    expect((await s.fleet.shadows.get(ctx, 'q1')).version).toBe(1);
    expect(s.quotas.meter().tenants[0]).toMatchObject({ apiCalls: 6, shadowUpdates: 1, throttled: 2 });
  });

  it('an application update within the API quota but over the shadow-update quota: 429 naming shadowUpdates, the call still metered', async () => {
    const s = await setup();
    await s.fleet.registry.register({ tenantId: 'quiet' }, { deviceId: 'q1' });
    const ctx = { tenantId: 'quiet' };
    await s.fleet.shadows.update(ctx, 'q1', { state: { desired: { n: 1 } } });
    await s.fleet.shadows.update(ctx, 'q1', { state: { desired: { n: 2 } } });
    const refused = await s.fleet.shadows.update(ctx, 'q1', { state: { desired: { n: 3 } } }).catch((e: unknown) => e);
    expect(isFleetError(refused, 'TOO_MANY_REQUESTS')).toBe(true);
    expect((refused as { details: Record<string, unknown> }).details).toMatchObject({ retryAfterMs: 500, resource: 'shadowUpdates' });
    expect(await s.fleet.stores.shadows.get(ctx, 'q1', undefined)).toMatchObject({ version: 2, state: { desired: { n: 2 } } });
    expect(s.quotas.meter().tenants[0]).toMatchObject({ apiCalls: 3, shadowUpdates: 2, throttled: 1 });
  });

  it('per-device limits: one chatty device is throttled (scope "device") while its tenant’s other device is not', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 100_000 } });
    open.push(backend);
    const quotas = new QuotaEnforcer({ defaults: { messagesPerSecond: 100 }, perDevice: { messagesPerSecond: 1, messageBurst: 2 } });
    const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false }, quotas });
    open.push(fleet);
    await fleet.registry.register({ tenantId: 'acme' }, { deviceId: 'chatty' });
    await fleet.registry.register({ tenantId: 'acme' }, { deviceId: 'calm' });
    const events: string[] = [];
    fleet.health.on('message:throttled', (e) => events.push(`${e.deviceId} ${e.scope} ${e.retryAfterMs}`));
    const t = new MemoryTransport({ broker, clientId: 'devices' });
    open.push(t);
    await t.connect();
    for (let i = 0; i < 5; i++) await t.publish('dt/acme/chatty/telemetry', JSON.stringify({ ts: T0, values: { i } }), { qos: 1 });
    for (let i = 0; i < 2; i++) await t.publish('dt/acme/calm/telemetry', JSON.stringify({ ts: T0, values: { i } }), { qos: 1 });
    await settle(() => fleet.health.busyDevices > 0);
    expect(events).toEqual(['chatty device 1000', 'chatty device 1000', 'chatty device 1000']);
    expect(fleet.health.network({ tenantId: 'acme' })).toMatchObject({ telemetry: 4, throttled: 3 });
    expect(quotas.meter().tenants[0]).toMatchObject({ messages: 4, throttled: 3 });
  });

  it('createFleet builds the enforcer from options and refuses a malformed one', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend' });
    open.push(backend);
    const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false }, quotas: { defaults: { messagesPerSecond: 5 } } });
    open.push(fleet);
    expect(fleet.quotas?.quotaOf('any').messagesPerSecond).toBe(5);
    await expect(createFleet({ transport: backend, clock, template: TEMPLATE, quotas: 7 as unknown as QuotaEnforcer })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
