// Several service instances on one broker through shared subscriptions: the instances split the
// requests, and the store's compare-and-set keeps every thing's version chain whole — no update
// accepted twice, none lost, each device's view equal to the store.
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, ShadowService, type Fleet } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import { T0, TEMPLATE, waitFor } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
const closers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c.close();
});

describe('scale-out through shared subscriptions', () => {
  it('three ShadowService instances split 2,000 updates of 100 things; every version accepted exactly once', { timeout: 60_000 }, async () => {
    const broker = new MemoryBroker();
    const stores = createMemoryStores();
    const clock = new SimulatedClock(T0);
    const things = Array.from({ length: 100 }, (_, i) => `thing-${i}`);
    for (const t of things) await stores.devices.create(ctx, { deviceId: t, tenantId: 'acme', state: 'active', since: T0 });
    const served = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      const transport = new MemoryTransport({ broker, clientId: `svc-${i}`, queue: { maxMessages: 100_000 }, maxInFlight: 10_000 });
      await transport.connect();
      const service = new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices, clock, shareGroup: 'shadows' });
      service.on('shadow:updated', () => void served[i]!++);
      service.on('error', (e) => {
        throw e;
      });
      await service.start();
      closers.push(transport, { close: () => service.stop() });
    }
    const accepted = new Map<string, number[]>();
    const rejected: unknown[] = [];
    const devices = await Promise.all(
      things.map(async (t) => {
        const d = new MemoryTransport({ broker, clientId: t, queue: { maxMessages: 10_000 } });
        await d.connect();
        await d.subscribe(`$aws/things/${t}/shadow/update/accepted`, (m) => {
          const v = (JSON.parse(new TextDecoder().decode(m.payload)) as { version: number }).version;
          accepted.set(t, [...(accepted.get(t) ?? []), v]);
        }, { qos: 1 });
        await d.subscribe(`$aws/things/${t}/shadow/update/rejected`, (m) => rejected.push(new TextDecoder().decode(m.payload)), { qos: 1 });
        closers.push(d);
        return d;
      }),
    );
    // 20 updates per thing, several in flight at once (≤ 10, the per-thing limit, so none is refused 429).
    for (let round = 0; round < 20; round += 5) {
      await Promise.all(things.flatMap((t, i) => Array.from({ length: 5 }, (_, k) => devices[i]!.publish(`$aws/things/${t}/shadow/update`, JSON.stringify({ state: { reported: { n: round + k } } }), { qos: 1 }))));
    }
    await waitFor(() => [...accepted.values()].reduce((a, v) => a + v.length, 0) === 2_000, '2,000 accepted updates', 200_000);
    expect(rejected).toEqual([]);
    for (const t of things) {
      // Each version 1..20 accepted exactly once (instances may answer out of order across each other).
      expect([...(accepted.get(t) ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect((await stores.shadows.get(ctx, t))?.version).toBe(20);
    }
    expect(served.reduce((a, b) => a + b, 0)).toBe(2_000);
    for (const n of served) expect(n).toBeGreaterThan(400); // round robin: about a third each
  });

  it('two createFleet instances with one shareGroup: provisioning and shadows served once each', async () => {
    const broker = new MemoryBroker();
    const stores = createMemoryStores();
    const clock = new SimulatedClock(T0);
    const fleets: Fleet[] = [];
    for (let i = 0; i < 2; i++) {
      const fleet = await createFleet({ transport: new MemoryTransport({ broker, clientId: `backend-${i}` }), stores, clock, template: TEMPLATE, shareGroup: 'fleet', closeTransport: true, health: { certificates: false } });
      fleets.push(fleet);
      closers.push(fleet);
    }
    await fleets[0]!.registry.register(ctx, { deviceId: 'pump-7' });
    const d = new MemoryTransport({ broker, clientId: 'pump-7' });
    await d.connect();
    closers.push(d);
    const got: string[] = [];
    await d.subscribe('$aws/things/pump-7/shadow/update/accepted', (m) => got.push(new TextDecoder().decode(m.payload)), { qos: 1 });
    for (let i = 0; i < 10; i++) await d.publish('$aws/things/pump-7/shadow/update', JSON.stringify({ state: { reported: { i } } }), { qos: 1 });
    await waitFor(() => got.length === 10, 'ten accepted');
    expect(got.map((g) => (JSON.parse(g) as { version: number }).version).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect((await fleets[1]!.shadows.get(ctx, 'pump-7')).version).toBe(10);
    await expect(createFleet({ transport: new MemoryTransport({ broker, clientId: 'x' }), template: TEMPLATE, shareGroup: 'a/b' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('shareGroup') as unknown });
  });
});
