// The ACL file generated from the registry, enforced by a real mosquitto: a mutual-TLS device
// (CN = its device id) may use its own topics and nothing of another device or tenant.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoAcl } from '../../src/cloud/mosquitto-acl.js';
import { generateCerts, type TestCerts } from '../support/certs.js';
import { findMosquitto, freePort, mosquittoEnabled } from '../support/mosquitto.js';
import { waitFor } from './harness.js';

const enabled = mosquittoEnabled('the generated-ACL + mosquitto integration test');

describe.skipIf(!enabled)('mosquittoAcl enforced by mosquitto', () => {
  let dir: string;
  let certs: TestCerts;
  let child: ChildProcess | undefined;
  let port = 0;
  let tlsPort = 0;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetkit-acl-'));
    certs = generateCerts(dir);
    port = await freePort();
    tlsPort = await freePort();
    const acl = mosquittoAcl(
      [
        { deviceId: 'device-001', tenantId: 'acme', state: 'active' },
        { deviceId: 'device-002', tenantId: 'acme', state: 'active' },
        { deviceId: 'device-003', tenantId: 'globex', state: 'active' },
      ],
      { provisioning: false },
    );
    // The test's observer connects anonymously on the plain listener and may use everything:
    // `topic` lines before the first `user` line apply to anonymous clients.
    writeFileSync(join(dir, 'acl'), `topic readwrite #\ntopic readwrite $aws/things/#\n${acl}`, { mode: 0o644 });
    const conf = [
      'per_listener_settings false',
      'allow_anonymous true',
      'persistence false',
      'log_dest stderr',
      'log_type error',
      `acl_file ${join(dir, 'acl')}`,
      `listener ${port} 127.0.0.1`,
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${join(dir, 'ca.crt')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
    ];
    writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`, { mode: 0o644 });
    child = spawn(findMosquitto() as string, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    if (child?.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function client(options: Parameters<typeof connect>[1]): Promise<MqttClient> {
    for (let attempt = 0; ; attempt++) {
      try {
        const c = await new Promise<MqttClient>((resolve, reject) => {
          const m = connect({ reconnectPeriod: 0, connectTimeout: 2000, protocolVersion: 5, ...options });
          m.once('connect', () => resolve(m));
          m.once('error', (e) => {
            m.end(true);
            reject(e);
          });
        });
        clients.push(c);
        return c;
      } catch (e) {
        if (attempt > 50) throw e; // the broker may still be starting
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  it('a device publishes and subscribes only on its own topics', async () => {
    const observer = await client({ host: '127.0.0.1', port, clientId: 'observer' });
    const seen: string[] = [];
    observer.on('message', (topic) => seen.push(topic));
    await observer.subscribeAsync(['#', '$aws/things/#'], { qos: 1 });
    const device = await client({ host: '127.0.0.1', port: tlsPort, protocol: 'mqtts', clientId: 'device-001', ca: certs.caCert, cert: certs.clientCert, key: certs.clientKey });

    const mine = ['dt/acme/device-001/telemetry', '$aws/things/device-001/shadow/update', '$aws/things/device-001/shadow/name/cfg/update', 'cmd/acme/device-001/res/c-1'];
    const others = [
      'dt/acme/device-002/telemetry',
      '$aws/things/device-002/shadow/update',
      '$aws/things/device-002/shadow/name/cfg/update',
      'cmd/acme/device-002/res/c-1',
      'cmd/acme/device-001/req/c-1', // its own command topic is read-only
      'dt/globex/device-001/telemetry', // its own id under another tenant
      '$aws/things/device-003/shadow/update',
    ];
    // MQTT 5: the broker answers a denied QoS 1 publish with reason code 135 (not authorized).
    const outcome = async (topic: string): Promise<string> =>
      device.publishAsync(topic, '{}', { qos: 1 }).then(
        () => 'delivered',
        (e: unknown) => `refused ${String((e as { code?: unknown }).code)}`,
      );
    for (const topic of others) expect(await outcome(topic), topic).toBe('refused 135');
    for (const topic of mine) expect(await outcome(topic), topic).toBe('delivered');
    await waitFor(() => mine.every((t) => seen.includes(t)), 'the device\'s own publishes');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.sort()).toEqual([...mine].sort());

    // Reading: whatever the device subscribes to, the broker delivers only its own topics.
    const received: string[] = [];
    device.on('message', (topic) => received.push(topic));
    await device.subscribeAsync(['$aws/things/+/shadow/+/+', 'cmd/+/+/req/+', 'dt/#'], { qos: 1 });
    const toMe = ['$aws/things/device-001/shadow/update/accepted', 'cmd/acme/device-001/req/c-2'];
    const notToMe = ['$aws/things/device-002/shadow/update/accepted', 'cmd/acme/device-002/req/c-2', 'cmd/globex/device-003/req/c-2', 'dt/acme/device-002/telemetry'];
    for (const topic of [...notToMe, ...toMe]) await observer.publishAsync(topic, '{}', { qos: 1 });
    await waitFor(() => toMe.every((t) => received.includes(t)), 'the device\'s own messages');
    await new Promise((r) => setTimeout(r, 200));
    expect(received.sort()).toEqual([...toMe].sort());
  });
});
