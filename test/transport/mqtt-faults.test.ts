/**
 * Fault tests with real sockets against Debian's mosquitto: a broker restart in the middle of
 * 10,000 QoS 1 messages, and mutual-TLS clients that must fail fast with AUTH_FAILED.
 */
import { createSecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFleetError, type FleetError } from '../../src/errors.js';
import { exponentialBackoff, MqttTransport, type MqttTlsOptions, type TransportState } from '../../src/mqtt.js';
import { waitUntil } from '../../src/testing/index.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';

const enabled = mosquittoEnabled('the mosquitto fault tests');

describe.skipIf(!enabled)('MqttTransport against mosquitto faults', () => {
  describe('broker restart (persistence true, stopped with SIGTERM so it saves its store)', () => {
    let broker: TestMosquitto;
    beforeAll(async () => {
      broker = await startMosquitto({ persistence: true });
    });
    afterAll(async () => {
      await broker?.dispose();
    });

    it('loses none of 10,000 QoS 1 messages when mosquitto stops mid-stream and starts again', async () => {
      const N = 10_000;
      const backoff = (): ReturnType<typeof exponentialBackoff> => exponentialBackoff({ initialMs: 50, maxMs: 400 });
      const sub = new MqttTransport({ url: broker.url, clientId: 'restart-sub', clean: false, backoff: backoff() });
      const pub = new MqttTransport({ url: broker.url, clientId: 'restart-pub', clean: false, backoff: backoff(), maxInFlight: 200, queue: { maxMessages: N } });
      const counts = new Uint16Array(N);
      let received = 0;
      let duplicates = 0;
      await sub.subscribe(
        'restart/t',
        (m) => {
          const seq = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).getUint32(0);
          if (counts[seq]! > 0) duplicates++;
          else received++;
          counts[seq]!++;
        },
        { qos: 1 },
      );
      const subStates: TransportState[] = [];
      sub.on('state', (s) => subStates.push(s));
      try {
        await sub.connect();
        await pub.connect();
        const sends: Promise<void>[] = [];
        const send = (i: number): void => {
          const payload = new Uint8Array(64);
          new DataView(payload.buffer).setUint32(0, i);
          sends.push(pub.publish('restart/t', payload, { qos: 1 }));
        };
        // 7,000 while the broker runs (the stop lands in the middle of them), 3,000 while it is down.
        const DURING_OUTAGE = 3000;
        for (let i = 0; i < N - DURING_OUTAGE; i++) send(i);
        await waitUntil(() => received >= 2000, 20_000, '2,000 messages before the restart');
        const receivedBeforeStop = received;
        await broker.stop('SIGTERM');
        await waitUntil(() => pub.state !== 'online' && sub.state !== 'online', 5000, 'both clients to notice');
        const queuedAtStop = pub.queued;
        for (let i = N - DURING_OUTAGE; i < N; i++) send(i);
        expect(pub.state).not.toBe('online');
        expect(pub.queued).toBe(queuedAtStop + DURING_OUTAGE); // the publisher queues while offline
        await broker.start();
        await Promise.all(sends);
        await waitUntil(() => received === N, 30_000, `all ${N} messages (have ${received})`);
        const lost = counts.reduce((n, c) => n + (c === 0 ? 1 : 0), 0);
        expect(lost).toBe(0);
        expect(receivedBeforeStop).toBeLessThan(N);
        expect(subStates).toContain('offline');
        console.info(`broker restart: ${N} sent (${DURING_OUTAGE} while the broker was down), 0 lost, ${duplicates} duplicate deliveries (at-least-once), ${receivedBeforeStop} arrived before the stop`);
      } finally {
        await pub.close();
        await sub.close();
      }
    }, 90_000);
  });

  describe('mutual TLS', () => {
    let broker: TestMosquitto;
    beforeAll(async () => {
      broker = await startMosquitto();
    });
    afterAll(async () => {
      await broker?.dispose();
    });

    const refused = async (clientId: string, tls: MqttTlsOptions): Promise<{ error: FleetError; connectingAfter: number }> => {
      const t = new MqttTransport({ url: broker.tlsUrl, clientId, tls, backoff: exponentialBackoff({ initialMs: 10, maxMs: 20 }) });
      let connecting = 0;
      t.on('state', (s) => {
        if (s === 'connecting') connecting++;
      });
      const started = Date.now();
      let error: unknown;
      try {
        await t.connect();
      } catch (e) {
        error = e;
      }
      const elapsed = Date.now() - started;
      expect(isFleetError(error, 'AUTH_FAILED')).toBe(true);
      expect(elapsed).toBeLessThan(5000);
      expect(t.state).toBe('closed');
      // With a 10–20 ms backoff a retry loop would have made many attempts by now.
      await new Promise((r) => setTimeout(r, 500));
      await t.close();
      return { error: error as FleetError, connectingAfter: connecting };
    };

    it('refuses a client without a certificate with AUTH_FAILED, without retrying', async () => {
      const { error, connectingAfter } = await refused('no-cert', { ca: broker.certs.caCert });
      expect(connectingAfter).toBe(1);
      expect(error.message).toMatch(/TLS authentication/);
    });

    it('refuses a client whose certificate comes from another CA with AUTH_FAILED, without retrying', async () => {
      const { connectingAfter } = await refused('wrong-ca', { ca: broker.certs.caCert, cert: broker.certs.otherClientCert, key: broker.certs.otherClientKey });
      expect(connectingAfter).toBe(1);
    });

    it('refuses a broker whose certificate the client does not trust with AUTH_FAILED', async () => {
      const { connectingAfter } = await refused('untrusted-broker', { ca: broker.certs.otherCaCert, cert: broker.certs.clientCert, key: broker.certs.clientKey });
      expect(connectingAfter).toBe(1);
    });

    it('connects many clients through one shared SecureContext', async () => {
      const secureContext = createSecureContext({ ca: broker.certs.caCert, cert: broker.certs.clientCert, key: broker.certs.clientKey });
      const clients = Array.from({ length: 20 }, (_, i) => new MqttTransport({ url: broker.tlsUrl, clientId: `shared-${i}`, tls: { secureContext } }));
      try {
        await Promise.all(clients.map((c) => c.connect()));
        expect(clients.every((c) => c.state === 'online')).toBe(true);
        const got: string[] = [];
        await clients[0]!.subscribe('shared/#', (m) => got.push(m.topic), { qos: 1 });
        await Promise.all(clients.slice(1).map((c, i) => c.publish(`shared/${i}`, 'x', { qos: 1 })));
        await waitUntil(() => got.length === clients.length - 1, 5000, 'one message per client');
        expect(new Set(got).size).toBe(clients.length - 1);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    });
  });
});
