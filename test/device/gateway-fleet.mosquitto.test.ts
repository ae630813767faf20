// The cloud tier does not see the gateways: the fleet end-to-end scenario (test/cloud/fleet-scenario.ts:
// provisioning with refusals, shadow sync, heartbeats, silence, degradation and recovery, queued
// commands) with its 200 devices carried by 4 gateway connections to mosquitto gives exactly the
// counts it gives with 200 direct connections (test/cloud/fleet.e2e.test.ts).
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayConnection } from '../../src/device/gateway.js';
import { MqttTransport } from '../../src/mqtt.js';
import type { Transport } from '../../src/memory.js';
import { mosquittoEnabled, startMosquitto } from '../support/mosquitto.js';
import { closeScenario, runFleetScenario, type ScenarioReport } from '../cloud/fleet-scenario.js';

const cleanups: (() => Promise<void>)[] = [];
let report: ScenarioReport | undefined;
const opened: Transport[] = [];
afterEach(async () => {
  await closeScenario(report, opened.splice(0));
  report = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('fleet end to end through gateways', () => {
  it.skipIf(!mosquittoEnabled('the fleet-through-gateways test over mosquitto'))('200 devices through 4 gateway connections to mosquitto', { timeout: 120_000 }, async () => {
    const mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.dispose());
    const gateways = Array.from({ length: 4 }, (_, g) => new GatewayConnection({ transport: new MqttTransport({ url: mosquitto.url, clientId: `gw-${g}`, queue: { maxMessages: 100_000 } }), tenantId: 'acme' }));
    cleanups.push(async () => void (await Promise.all(gateways.map((g) => g.close()))));
    let n = 0;
    report = await runFleetScenario({
      devices: 200,
      bad: 5,
      silent: 20,
      sick: 10,
      backend: new MqttTransport({ url: mosquitto.url, clientId: 'backend', queue: { maxMessages: 100_000 } }),
      device: (id) => {
        const child = (gateways[n++ % 4] as GatewayConnection).child({ deviceId: id, queue: { maxMessages: 1_000 } });
        opened.push(child);
        return child;
      },
      stepTimeoutMs: 60_000,
    });
    expect(report.received).toEqual({ prov: 200, get: 195, accepted: 390, cmd: 60 });
    expect(gateways.map((g) => g.children.length)).toEqual([50, 50, 50, 50]);
  });
});
