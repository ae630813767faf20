// Gateways over a real mosquitto with the generated ACL: 200 end devices through 4 gateway
// connections exchange heartbeats, telemetry, commands and acks (in the ESP32 protocol's canonical
// form) with a cloud-side subscriber, every message on its device's own topics; and the broker
// refuses a gateway's publish for a device that is not its child.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoAcl, type AclDevice } from '../../src/cloud/mosquitto-acl.js';
import { buildEsp32, parseEsp32 } from '../../src/device/esp32/index.js';
import { GatewayConnection, type GatewayChild } from '../../src/device/gateway.js';
import { isFleetError } from '../../src/errors.js';
import { jsonCodec } from '../../src/protocol/codec.js';
import { parseTopic } from '../../src/protocol/topics.js';
import { waitUntil } from '../../src/testing/transport-contract.js';
import { MqttTransport } from '../../src/transport/mqtt-transport.js';
import type { InboundMessage } from '../../src/transport/types.js';
import { findMosquitto, freePort, mosquittoEnabled } from '../support/mosquitto.js';

const enabled = mosquittoEnabled('the gateway + mosquitto integration test');
const DEVICES = 200;
const GATEWAYS = 4;
const T0 = 1_764_105_600_000;
const deviceId = (i: number): string => `dev-${String(i).padStart(3, '0')}`;
const gatewayOf = (i: number): number => Math.floor(i / (DEVICES / GATEWAYS));

describe.skipIf(!enabled)('gateways over mosquitto with the generated ACL', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  let url = '';
  const transports: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fleetkit-gateway-'));
    // mosquitto started as root drops to user "mosquitto", which must be able to read the files.
    chmodSync(dir, 0o755);
    const port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    const devices: AclDevice[] = Array.from({ length: DEVICES }, (_, i) => ({ deviceId: deviceId(i), tenantId: 'acme', state: 'active' as const }));
    devices.push({ deviceId: 'dev-lone', tenantId: 'acme', state: 'active' }, { deviceId: 'dev-retired', tenantId: 'acme', state: 'decommissioned' });
    const gateways = Array.from({ length: GATEWAYS }, (_, g) => ({
      username: `gw-${g}`,
      tenantId: 'acme',
      children: [...Array.from({ length: DEVICES }, (_, i) => i).filter((i) => gatewayOf(i) === g).map(deviceId), ...(g === 0 ? ['dev-retired'] : [])],
    }));
    const acl = mosquittoAcl(devices, { provisioning: false, gateways, backends: [{ username: 'fleet-backend', tenantId: 'acme' }] });
    writeFileSync(join(dir, 'acl'), acl, { mode: 0o644 });
    // No password file: mosquitto takes the user name as given, and the ACL applies to it.
    const conf = ['per_listener_settings false', 'allow_anonymous true', 'persistence false', 'max_queued_messages 100000', 'log_dest stderr', 'log_type error', `acl_file ${join(dir, 'acl')}`, `listener ${port} 127.0.0.1`];
    writeFileSync(join(dir, 'mosquitto.conf'), `${conf.join('\n')}\n`, { mode: 0o644 });
    child = spawn(findMosquitto() as string, ['-c', join(dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    // Wait until it accepts connections (bounded), failing with its own words if it exits.
    const { createConnection } = await import('node:net');
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = createConnection({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      if (up) break;
      if (i > 100) throw new Error(`mosquitto did not listen within 5 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await Promise.allSettled(transports.map((t) => t.close()));
    if (child?.exitCode === null) {
      const exited = new Promise((r) => child?.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  const mqtt = (clientId: string, username: string): MqttTransport => {
    const t = new MqttTransport({ url, clientId, username, protocolVersion: 5, connectTimeoutMs: 2000 });
    transports.push(t);
    return t;
  };

  it('200 devices through 4 gateway connections: every message on its own device topic, in both directions', async () => {
    const cloud = mqtt('cloud', 'fleet-backend');
    await cloud.connect();
    const up: InboundMessage[] = [];
    for (const filter of ['dt/acme/+/heartbeat', 'dt/acme/+/telemetry', 'cmd/acme/+/res/+']) await cloud.subscribe(filter, (m) => up.push(m), { qos: 1 });

    const gateways = Array.from({ length: GATEWAYS }, (_, g) => new GatewayConnection({ transport: mqtt(`gw-${g}`, `gw-${g}`), tenantId: 'acme' }));
    transports.push(...gateways);
    await Promise.all(gateways.map((g) => g.connect()));
    const received = new Map<string, string[]>();
    const children: GatewayChild[] = [];
    for (let i = 0; i < DEVICES; i++) {
      const id = deviceId(i);
      const c = (gateways[gatewayOf(i)] as GatewayConnection).child({ deviceId: id });
      children.push(c);
      received.set(id, []);
      await c.subscribe(
        `cmd/acme/${id}/req/+`,
        (m) => {
          const topic = parseTopic(m.topic);
          const commandId = topic.kind === 'command' ? topic.commandId : '?';
          const command = parseEsp32('command', jsonCodec.decode(m.payload), { commandId });
          received.get(id)?.push(`${m.topic}:${command.name}`);
          const ack = buildEsp32('ack', { commandId, status: 'succeeded', ts: T0 + i, result: { deviceId: id } });
          void c.publish(`cmd/acme/${id}/res/${commandId}`, jsonCodec.encode(ack), { qos: 1 });
        },
        { qos: 1 },
      );
      await c.connect();
    }
    await Promise.all(
      children.map(async (c, i) => {
        const id = deviceId(i);
        await c.publish(`dt/acme/${id}/heartbeat`, jsonCodec.encode(buildEsp32('heartbeat', { ts: T0, seq: i, batteryPct: 80, state: 'active', health: 'good' })), { qos: 1 });
        await c.publish(`dt/acme/${id}/telemetry`, jsonCodec.encode(buildEsp32('telemetry', { ts: T0, seq: i, values: { device: id } })), { qos: 1 });
      }),
    );
    for (let i = 0; i < DEVICES; i++) {
      const id = deviceId(i);
      await cloud.publish(`cmd/acme/${id}/req/c-${i}`, jsonCodec.encode(buildEsp32('command', { commandId: `c-${i}`, name: 'led_blink', params: { times: 1 }, issuedAt: T0 })), { qos: 1 });
    }
    await waitUntil(() => up.length >= 3 * DEVICES, 20_000, `${3 * DEVICES} device messages at the cloud`);

    const byKind = new Map<string, Map<string, unknown>>();
    for (const m of up) {
      const t = parseTopic(m.topic);
      if (t.kind !== 'heartbeat' && t.kind !== 'telemetry' && t.kind !== 'command-ack') throw new Error(`unexpected topic ${m.topic}`);
      const kind = t.kind === 'command-ack' ? 'ack' : t.kind;
      const perDevice = byKind.get(kind) ?? new Map<string, unknown>();
      byKind.set(kind, perDevice);
      expect(perDevice.has(t.deviceId), `a second ${kind} from ${t.deviceId}`).toBe(false);
      perDevice.set(t.deviceId, parseEsp32(kind, jsonCodec.decode(m.payload)));
    }
    for (let i = 0; i < DEVICES; i++) {
      const id = deviceId(i);
      expect(byKind.get('heartbeat')?.get(id)).toMatchObject({ seq: i, state: 'active' });
      expect(byKind.get('telemetry')?.get(id)).toMatchObject({ seq: i, values: { device: id } });
      expect(byKind.get('ack')?.get(id)).toMatchObject({ commandId: `c-${i}`, status: 'succeeded', result: { deviceId: id } });
      expect(received.get(id)).toEqual([`cmd/acme/${id}/req/c-${i}:led_blink`]);
    }
    expect(up.length).toBe(3 * DEVICES);
    expect(gateways.map((g) => g.children.length)).toEqual([50, 50, 50, 50]);
  });

  it('the broker refuses a gateway publish or read for a device that is not its child', async () => {
    const cloud = mqtt('cloud-2', 'fleet-backend');
    await cloud.connect();
    const seen: string[] = [];
    await cloud.subscribe('dt/acme/#', (m) => seen.push(m.topic), { qos: 1 });
    // The gateway's own connection, bypassing the local per-child check.
    const gw0 = mqtt('gw-0-raw', 'gw-0');
    await gw0.connect();
    for (const topic of ['dt/acme/dev-050/telemetry', 'dt/acme/dev-lone/telemetry', 'dt/acme/dev-retired/telemetry', 'dt/acme/gw-0/telemetry', 'dt/globex/dev-000/telemetry']) {
      await expect(gw0.publish(topic, '{}', { qos: 1 }), topic).rejects.toSatisfy((e: unknown) => isFleetError(e, 'FORBIDDEN'));
    }
    // A child view in the unrestricted scope gets the broker's refusal too.
    const loose = new GatewayConnection({ transport: mqtt('gw-0-loose', 'gw-0'), topicScope: 'any' });
    transports.push(loose);
    const rogue = loose.child({ deviceId: 'dev-100' });
    await rogue.connect();
    await expect(rogue.publish('dt/acme/dev-100/telemetry', '{}', { qos: 1 })).rejects.toSatisfy((e: unknown) => isFleetError(e, 'FORBIDDEN'));
    // Its own child's topic goes through.
    await gw0.publish('dt/acme/dev-001/telemetry', '{}', { qos: 1 });
    await waitUntil(() => seen.includes('dt/acme/dev-001/telemetry'), 5000, 'the allowed publish');
    // Reading: a wide subscription delivers only its children's commands.
    const got: string[] = [];
    await gw0.subscribe('cmd/acme/+/req/+', (m) => got.push(m.topic), { qos: 1 });
    for (const id of ['dev-060', 'dev-lone', 'dev-retired', 'dev-002']) await cloud.publish(`cmd/acme/${id}/req/x`, '{}', { qos: 1 });
    await waitUntil(() => got.includes('cmd/acme/dev-002/req/x'), 5000, 'its child\'s command');
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['cmd/acme/dev-002/req/x']);
    expect(seen).toEqual(['dt/acme/dev-001/telemetry']);
  });
});
