/**
 * MqttTransport against Debian's mosquitto: what mosquitto does with a client publish to $SYS
 * (MemoryBroker mirrors it), and how MqttTransport reports a PUBACK that refuses a message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { MqttTransport, type InboundMessage } from '../../src/mqtt.js';
import { waitUntil } from '../../src/testing/index.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';

const enabled = mosquittoEnabled('the MqttTransport + mosquitto $SYS tests');

describe.skipIf(!enabled)('MqttTransport + mosquitto: publishes to $SYS', () => {
  let broker: TestMosquitto;
  const open: MqttTransport[] = [];
  const online = async (clientId: string, protocolVersion: 4 | 5): Promise<MqttTransport> => {
    const t = new MqttTransport({ url: broker.url, clientId, protocolVersion });
    open.push(t);
    await t.connect();
    return t;
  };
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await Promise.allSettled(open.map((t) => t.close()));
    await broker?.dispose();
  });

  it('MQTT 5: a QoS 1 publish to $SYS/…, $SYS or $SYSTEM/… rejects with FORBIDDEN (PUBACK 0x87), the link stays up, nothing is delivered', async () => {
    const sub = await online('sys-sub-5', 5);
    const got: InboundMessage[] = [];
    for (const f of ['$SYS/fleetkit/#', '$SYS', '$SYSTEM/#']) await sub.subscribe(f, (m) => got.push(m), { qos: 1 });
    const pub = await online('sys-pub-5', 5);
    for (const topic of ['$SYS/fleetkit/x', '$SYS', '$SYSTEM/x']) {
      let error: unknown;
      await pub.publish(topic, 'x', { qos: 1 }).catch((e: unknown) => (error = e));
      expect(isFleetError(error, 'FORBIDDEN')).toBe(true);
      expect((error as { status?: number }).status).toBe(403);
      expect((error as { details?: unknown }).details).toEqual({ reasonCode: 0x87, topic });
    }
    expect(pub.state).toBe('online');
    const end: string[] = [];
    await sub.subscribe('fleetkit-sys/end', (m) => end.push(m.topic), { qos: 1 });
    await pub.publish('fleetkit-sys/end', 'end', { qos: 1 });
    await waitUntil(() => end.length === 1, 5000, 'the sentinel');
    expect(got).toEqual([]);
  });

  it('MQTT 3.1.1: mosquitto acknowledges a QoS 1 publish to $SYS/… (3.1.1 has no refusal code) and drops it', async () => {
    const sub = await online('sys-sub-4', 4);
    const got: InboundMessage[] = [];
    await sub.subscribe('$SYS/fleetkit/#', (m) => got.push(m), { qos: 1 });
    const pub = await online('sys-pub-4', 4);
    await pub.publish('$SYS/fleetkit/y', 'x', { qos: 1 });
    const end: string[] = [];
    await sub.subscribe('fleetkit-sys/end4', (m) => end.push(m.topic), { qos: 1 });
    await pub.publish('fleetkit-sys/end4', 'end', { qos: 1 });
    await waitUntil(() => end.length === 1, 5000, 'the sentinel');
    expect(got).toEqual([]);
    expect(pub.state).toBe('online');
  });
});
