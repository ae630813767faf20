// Several ShadowService instances on one real mosquitto, splitting the AWS shadow requests through a
// shared subscription. mosquitto 2.0 never delivers `$aws/…` topics to `$share/…` subscriptions, so
// the broker bridges to itself (mosquittoShadowBridge) and republishes the request topics under a
// plain prefix that the instances share (`requestPrefix`). Devices use the `$aws/…` topics as they are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoShadowBridge, ShadowService } from '../../src/cloud/index.js';
import { createMemoryStores } from '../../src/memory.js';
import { MqttTransport } from '../../src/mqtt.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';
import { waitFor } from './harness.js';

const enabled = mosquittoEnabled('the shadow bridge + shared subscription test');
const PREFIX = 'fleetkit/aws/';
const ctx = { tenantId: 'acme' };
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe.skipIf(!enabled)('ShadowService instances behind mosquitto’s shadow bridge', () => {
  let broker: TestMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto({ extraConfig: ({ port }) => mosquittoShadowBridge({ port, prefix: PREFIX }).config });
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('three instances split 400 updates of 40 things; every version accepted exactly once, named shadows too', { timeout: 60_000 }, async () => {
    const stores = createMemoryStores();
    const things = Array.from({ length: 40 }, (_, i) => `bridged-${i}`);
    for (const t of things) await stores.devices.create(ctx, { deviceId: t, tenantId: 'acme', state: 'active', since: Date.now() });
    const served = [0, 0, 0];
    const closers: { close(): Promise<void> }[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const transport = new MqttTransport({ url: broker.url, clientId: `svc-${i}-${process.pid}`, queue: { maxMessages: 10_000 } });
        await transport.connect();
        const service = new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices, shareGroup: 'shadows', requestPrefix: PREFIX });
        service.on('shadow:updated', () => void served[i]!++);
        service.on('error', (e) => {
          throw e;
        });
        await service.start();
        closers.push(transport, { close: () => service.stop() });
      }
      const device = new MqttTransport({ url: broker.url, clientId: `gateway-${process.pid}`, queue: { maxMessages: 10_000 } });
      await device.connect();
      closers.push(device);
      const accepted = new Map<string, number[]>();
      const rejected: string[] = [];
      await device.subscribe('$aws/things/+/shadow/update/accepted', (m) => {
        const t = m.topic.split('/')[2] as string;
        accepted.set(t, [...(accepted.get(t) ?? []), (JSON.parse(text(m.payload)) as { version: number }).version]);
      }, { qos: 1 });
      await device.subscribe('$aws/things/+/shadow/update/rejected', (m) => rejected.push(`${m.topic} ${text(m.payload)}`), { qos: 1 });
      const named: string[] = [];
      await device.subscribe('$aws/things/+/shadow/name/+/update/accepted', (m) => named.push(m.topic), { qos: 1 });

      // The bridge connects shortly after the broker starts: the first answer says it is up.
      const probe = things[0] as string;
      for (let i = 0; i < 100 && !accepted.has(probe); i++) {
        if (i % 10 === 0) await device.publish(`$aws/things/${probe}/shadow/update`, JSON.stringify({ state: { reported: { probe: i } } }), { qos: 1 });
        await new Promise((r) => setTimeout(r, 100));
      }
      await waitFor(() => accepted.has(probe), 'the bridge to forward a request', 200_000);
      const probes = accepted.get(probe)?.length ?? 0;
      accepted.delete(probe);

      // 10 updates per thing, 5 in flight at once per thing (under the per-thing limit of 10).
      for (let round = 0; round < 10; round += 5) {
        await Promise.all(things.flatMap((t) => Array.from({ length: 5 }, (_, k) => device.publish(`$aws/things/${t}/shadow/update`, JSON.stringify({ state: { reported: { n: round + k } } }), { qos: 1 }))));
      }
      await device.publish(`$aws/things/${probe}/shadow/name/config/update`, JSON.stringify({ state: { desired: { mode: 'eco' } } }), { qos: 1 });
      const total = (): number => [...accepted.values()].reduce((a, v) => a + v.length, 0);
      for (let i = 0; i < 400 && (total() < 400 || named.length < 1); i++) await new Promise((r) => setTimeout(r, 50));
      expect(rejected).toEqual([]);
      expect(total()).toBe(400);
      expect(named).toEqual([`$aws/things/${probe}/shadow/name/config/update/accepted`]);
      for (const t of things) {
        const first = t === probe ? probes + 1 : 1;
        expect([...(accepted.get(t) ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => first + i));
        expect((await stores.shadows.get(ctx, t))?.version).toBe(first + 9);
      }
      // mosquitto hands a shared subscription's messages round robin: every instance served some.
      for (const n of served) expect(n).toBeGreaterThan(20);
    } finally {
      for (const c of closers.reverse()) await c.close();
    }
  });

  it('a service that keeps the default prefix ignores the bridged copies (no request is served twice)', { timeout: 30_000 }, async () => {
    const stores = createMemoryStores();
    await stores.devices.create(ctx, { deviceId: 'plain-1', tenantId: 'acme', state: 'active', since: Date.now() });
    const transport = new MqttTransport({ url: broker.url, clientId: `svc-plain-${process.pid}` });
    const device = new MqttTransport({ url: broker.url, clientId: `dev-plain-${process.pid}` });
    const service = new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices });
    try {
      await Promise.all([transport.connect(), device.connect()]);
      await service.start();
      const versions: number[] = [];
      await device.subscribe('$aws/things/plain-1/shadow/update/accepted', (m) => versions.push((JSON.parse(text(m.payload)) as { version: number }).version), { qos: 1 });
      for (let i = 0; i < 3; i++) await device.publish('$aws/things/plain-1/shadow/update', JSON.stringify({ state: { reported: { i } } }), { qos: 1 });
      for (let i = 0; i < 100 && versions.length < 3; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 200));
      expect(versions).toEqual([1, 2, 3]);
    } finally {
      await service.stop();
      await device.close();
      await transport.close();
    }
  });
});
