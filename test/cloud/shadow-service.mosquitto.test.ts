// ShadowService over MqttTransport against a real mosquitto: the service on the plain listener,
// the device (CN=device-001) on the mutual-TLS listener, speaking raw AWS shadow topics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShadowService } from '../../src/cloud/index.js';
import { createMemoryStores } from '../../src/memory.js';
import { MqttTransport } from '../../src/mqtt.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';
import { waitFor } from './harness.js';

const enabled = mosquittoEnabled('the ShadowService + mosquitto integration test');

describe.skipIf(!enabled)('ShadowService over MqttTransport + mosquitto', () => {
  let broker: TestMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('serves update, delta, get, a 409, malformed input and delete to a mutual-TLS device', async () => {
    const stores = createMemoryStores();
    await stores.devices.create({ tenantId: 'acme' }, { deviceId: 'device-001', tenantId: 'acme', state: 'active', since: Date.now() });
    const serviceTransport = new MqttTransport({ url: broker.url, clientId: `shadow-service-${process.pid}`, queue: { maxMessages: 10_000 } });
    const device = new MqttTransport({
      url: broker.tlsUrl,
      clientId: 'device-001',
      tls: { ca: broker.certs.caCert, cert: broker.certs.clientCert, key: broker.certs.clientKey },
    });
    const service = new ShadowService({ transport: serviceTransport, shadows: stores.shadows, devices: stores.devices });
    try {
      await Promise.all([serviceTransport.connect(), device.connect()]);
      await service.start();
      const inbox: Array<{ kind: string; payload: Record<string, unknown> }> = [];
      await device.subscribe('$aws/things/device-001/shadow/+/+', (m) => {
        inbox.push({ kind: m.topic.split('/').slice(4).join('/'), payload: JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown> });
      }, { qos: 1 });
      const next = async (kind: string, token: string): Promise<Record<string, unknown>> => {
        let hit: Record<string, unknown> | undefined;
        await waitFor(() => {
          hit = inbox.find((m) => m.kind === kind && m.payload['clientToken'] === token)?.payload;
          return hit !== undefined;
        }, `${kind} ${token}`, 1_000_000);
        return hit as Record<string, unknown>;
      };
      const send = (op: string, body: unknown): Promise<void> => device.publish(`$aws/things/device-001/shadow/${op}`, typeof body === 'string' ? body : JSON.stringify(body), { qos: 1 });

      await send('update', { state: { desired: { led: 'on' } }, clientToken: 'c1' });
      expect(await next('update/accepted', 'c1')).toMatchObject({ version: 1, state: { desired: { led: 'on' } } });
      expect(await next('update/delta', 'c1')).toMatchObject({ version: 1, state: { led: 'on' } });
      await send('update', { state: { reported: { led: 'on' } }, version: 1, clientToken: 'c2' });
      expect(await next('update/documents', 'c2')).toMatchObject({ previous: { version: 1 }, current: { version: 2 } });
      await send('update', { state: { reported: { led: 'off' } }, version: 1, clientToken: 'c3' });
      expect(await next('update/rejected', 'c3')).toMatchObject({ code: 409, message: 'Version conflict' });
      await send('get', { clientToken: 'c4' });
      expect(await next('get/accepted', 'c4')).toMatchObject({ version: 2, state: { desired: { led: 'on' }, reported: { led: 'on' } } });
      await send('update', '{"state": nope, "clientToken": "c5"}');
      await send('update', { state: { desired: 7 }, clientToken: 'c6' });
      expect(await next('update/rejected', 'c6')).toMatchObject({ code: 400, message: 'Desired node must be an object' });
      await send('delete', { clientToken: 'c7' });
      expect(await next('delete/accepted', 'c7')).toMatchObject({ version: 2 });
      expect(await stores.shadows.get({ tenantId: 'acme' }, 'device-001')).toEqual({ deleted: true, version: 2 });
      // The unparseable request got its 400 too (without a token: it could not be read).
      expect(inbox.filter((m) => m.kind === 'update/rejected' && m.payload['clientToken'] === undefined).map((m) => m.payload['code'])).toEqual([400]);
    } finally {
      await service.stop();
      await Promise.allSettled([device.close(), serviceTransport.close()]);
    }
  });
});
