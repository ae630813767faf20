// AWS's own device SDK for JavaScript (aws-iot-device-sdk, its thingShadow client) against
// ShadowService over mosquitto with mutual TLS, unchanged: register, update, get, delete, delta,
// a 409 and the SDK's way back from it (get refreshes its version, the retried update succeeds).
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShadowService } from '../../src/cloud/index.js';
import { createMemoryStores } from '../../src/memory.js';
import { MqttTransport } from '../../src/mqtt.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';
import { waitFor } from './harness.js';

// The SDK is CommonJS without types; this is the part of its thingShadow API the test uses.
interface ThingShadowClient {
  register(thingName: string, options: Record<string, unknown>, callback: (err?: unknown, failed?: unknown) => void): void;
  update(thingName: string, state: Record<string, unknown>): string | null;
  get(thingName: string, clientToken?: string): string | null;
  delete(thingName: string, clientToken?: string): string | null;
  on(event: 'connect', listener: () => void): void;
  on(event: 'status', listener: (thing: string, status: 'accepted' | 'rejected', token: string, state: Record<string, unknown>) => void): void;
  on(event: 'delta', listener: (thing: string, state: Record<string, unknown>) => void): void;
  on(event: 'timeout' | 'error', listener: (...args: unknown[]) => void): void;
  end(force: boolean, callback?: () => void): void;
}
type ThingShadowFactory = (options: Record<string, unknown>) => ThingShadowClient;

const require = createRequire(import.meta.url);
const enabled = mosquittoEnabled('the aws-iot-device-sdk compatibility test');

describe.skipIf(!enabled)('aws-iot-device-sdk thingShadow against ShadowService over mosquitto (mutual TLS)', () => {
  let broker: TestMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('works unchanged: register, update, get, delta, a 409 and the retry, delete', async () => {
    const stores = createMemoryStores();
    const acme = { tenantId: 'acme' };
    // The certificate's CN is device-001: that is the thing the SDK speaks for.
    await stores.devices.create(acme, { deviceId: 'device-001', tenantId: 'acme', state: 'active', since: Date.now() });
    const serviceTransport = new MqttTransport({ url: broker.url, clientId: `shadow-service-sdk-${process.pid}` });
    const service = new ShadowService({ transport: serviceTransport, shadows: stores.shadows, devices: stores.devices });
    await serviceTransport.connect();
    await service.start();

    const { thingShadow } = require('aws-iot-device-sdk') as { thingShadow: ThingShadowFactory };
    const sdk = thingShadow({
      host: '127.0.0.1',
      servername: 'localhost', // the server certificate's DNS name (an IP address as SNI is deprecated)
      port: broker.tlsPort,
      protocol: 'mqtts',
      clientId: 'device-001',
      privateKey: Buffer.from(broker.certs.clientKey),
      clientCert: Buffer.from(broker.certs.clientCert),
      caCert: Buffer.from(broker.certs.caCert),
      baseReconnectTimeMs: 250,
      keepalive: 30,
    });
    const statuses = new Map<string, { status: string; state: Record<string, unknown> }>();
    const deltas: Array<Record<string, unknown>> = [];
    sdk.on('status', (_thing, status, token, state) => statuses.set(token, { status, state }));
    sdk.on('delta', (_thing, state) => deltas.push(state));
    const answer = async (token: string | null): Promise<{ status: string; state: Record<string, unknown> }> => {
      expect(token, 'the SDK refused to start the operation').not.toBeNull();
      await waitFor(() => statuses.has(token as string), `the SDK's answer to ${String(token)}`, 2_000_000);
      return statuses.get(token as string) as { status: string; state: Record<string, unknown> };
    };
    try {
      await new Promise<void>((resolve) => sdk.on('connect', () => resolve()));
      // persistentSubscribe: false — the SDK subscribes to accepted/rejected only around its own
      // operations, so it does not see other writers' accepted updates (a setup for the 409).
      await new Promise<void>((resolve, reject) => sdk.register('device-001', { persistentSubscribe: false }, (err) => (err === undefined || err === null ? resolve() : reject(err))));

      const first = await answer(sdk.update('device-001', { state: { reported: { led: 'off', fw: '1.0.0' } } }));
      expect(first).toMatchObject({ status: 'accepted', state: { state: { reported: { led: 'off', fw: '1.0.0' } }, version: 1 } });

      const got = await answer(sdk.get('device-001'));
      expect(got).toMatchObject({ status: 'accepted', state: { state: { reported: { led: 'off', fw: '1.0.0' } }, version: 1 } });

      // Another writer changes reported (no delta, so the SDK does not learn the new version)…
      await service.update(acme, 'device-001', { state: { reported: { temperatureC: 21.5 } } });
      // …so the SDK's next update carries its stale version 1: 409.
      const stale = await answer(sdk.update('device-001', { state: { reported: { led: 'on' } } }));
      expect(stale).toMatchObject({ status: 'rejected', state: { code: 409, message: 'Version conflict' } });
      // The SDK's way back: get refreshes its version, and the retried update is accepted.
      expect(await answer(sdk.get('device-001'))).toMatchObject({ status: 'accepted', state: { version: 2 } });
      const retried = await answer(sdk.update('device-001', { state: { reported: { led: 'on' } } }));
      expect(retried).toMatchObject({ status: 'accepted', state: { version: 3 } });

      // The application asks for a change: the SDK's delta event carries it.
      await service.update(acme, 'device-001', { state: { desired: { led: 'blink' } } });
      await waitFor(() => deltas.length > 0, 'a delta at the SDK', 2_000_000);
      expect(deltas[0]).toMatchObject({ state: { led: 'blink' }, version: 4 });

      const deleted = await answer(sdk.delete('device-001'));
      expect(deleted).toMatchObject({ status: 'accepted', state: { version: 4 } });
      const gone = await answer(sdk.get('device-001'));
      expect(gone).toMatchObject({ status: 'rejected', state: { code: 404, message: "No shadow exists with name: 'device-001'" } });
      expect(await stores.shadows.get(acme, 'device-001')).toEqual({ deleted: true, version: 4 });
    } finally {
      await new Promise<void>((resolve) => sdk.end(true, () => resolve()));
      await service.stop();
      await serviceTransport.close();
    }
  });
});
