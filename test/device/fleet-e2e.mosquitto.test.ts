// The device tier's end-to-end story (test/device/fleet-story.ts) over a real mosquitto: 200
// VirtualDevices carried by 4 gateway connections of 50 children each, the backend on its own
// MqttTransport. The devices that go offline are the children of one gateway whose uplink drops
// (the broker hands its client id to another connection) and comes back.
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayConnection, type GatewayChild } from '../../src/device/gateway.js';
import { MqttTransport } from '../../src/mqtt.js';
import { mosquittoEnabled, startMosquitto } from '../support/mosquitto.js';
import { runFleetStory, until, type FleetStory } from './fleet-story.js';

const cleanups: (() => Promise<void>)[] = [];
let story: FleetStory | undefined;
afterEach(async () => {
  await story?.close();
  story = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

const GATEWAYS = 4;

describe('the device tier end to end over mosquitto through gateways', () => {
  it.skipIf(!mosquittoEnabled('the device-tier end-to-end test over mosquitto'))('200 virtual devices through 4 gateways × 50 children', { timeout: 180_000 }, async () => {
    const mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.dispose());
    const gateways = Array.from({ length: GATEWAYS }, (_, g) => new GatewayConnection({ transport: new MqttTransport({ url: mosquitto.url, clientId: `gw-${g}`, autoReconnect: false, queue: { maxMessages: 100_000 } }), tenantId: 'acme' }));
    cleanups.push(async () => void (await Promise.all(gateways.map((g) => g.close()))));
    const children = new Map<string, GatewayChild>();
    const gatewayOf = (i: number): number => i % GATEWAYS;
    const dropped = gateways[GATEWAYS - 1] as GatewayConnection;
    const started = Date.now();
    story = await runFleetStory({
      devices: 200,
      bad: 4,
      backend: new MqttTransport({ url: mosquitto.url, clientId: 'fleet-backend', queue: { maxMessages: 1_000_000 } }),
      device: (id, i) => {
        const child = (gateways[gatewayOf(i)] as GatewayConnection).child({ deviceId: id, autoReconnect: false, queue: { maxMessages: 10_000 } });
        children.set(id, child);
        return child;
      },
      // Every live child of the last gateway.
      offline: Array.from({ length: 200 }, (_, i) => i).filter((i) => i >= 4 && gatewayOf(i) === GATEWAYS - 1),
      goOffline: async (ids) => {
        // Another connection with the gateway's client id: mosquitto drops the gateway's uplink.
        const intruder = new MqttTransport({ url: mosquitto.url, clientId: dropped.transport.clientId, autoReconnect: false });
        await intruder.connect();
        await until(() => dropped.transport.state === 'offline' && ids.every((id) => children.get(id)?.state === 'offline'), 'the gateway uplink to drop', 10_000);
        await intruder.close();
      },
      comeBack: async (ids) => {
        await Promise.all(ids.map((id) => children.get(id)!.connect()));
      },
      stepTimeoutMs: 60_000,
    });
    console.log(`fleet-e2e (mosquitto, gateways): ${JSON.stringify(story.report)} in ${Date.now() - started} ms`);
    // Each gateway carries 50 sessions; the dropped uplink discarded the clean session of the one
    // refused (never started) device on the last gateway, which did not connect again.
    expect(gateways.map((g) => g.children.length)).toEqual([50, 50, 50, 49]);
    expect(story.report.offline.devices).toBe(49);
  });
});
