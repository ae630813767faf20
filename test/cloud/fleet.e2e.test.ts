// End to end: the fleet scenario (test/cloud/fleet-scenario.ts: provisioning, shadows, health, commands
// and a staged rollout that aborts and rolls back, then one that completes) with 1,000 scripted devices on the
// memory broker, and with 200 devices over MqttTransport against aedes and against mosquitto.
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker, MemoryTransport, type Transport } from '../../src/memory.js';
import { MqttTransport } from '../../src/mqtt.js';
import { startAedes } from '../support/aedes.js';
import { mosquittoEnabled, startMosquitto } from '../support/mosquitto.js';
import { closeScenario, runFleetScenario, type ScenarioReport } from './fleet-scenario.js';

const opened: Transport[] = [];
const cleanups: (() => Promise<void>)[] = [];
let report: ScenarioReport | undefined;
afterEach(async () => {
  await closeScenario(report, opened.splice(0));
  report = undefined;
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends Transport>(t: T): T {
  opened.push(t);
  return t;
}

describe('fleet end to end', () => {
  it('1,000 scripted devices on the memory broker', { timeout: 120_000 }, async () => {
    const broker = new MemoryBroker();
    report = await runFleetScenario({
      devices: 1_000,
      bad: 20,
      silent: 100,
      sick: 50,
      backend: new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 }),
      device: (id) => track(new MemoryTransport({ broker, clientId: id, queue: { maxMessages: 10_000 } })),
      stepTimeoutMs: 60_000,
    });
    // 980 provisioning answers + 20 refusals, one get and two update/accepted per live device (the template's desired write, the device's report), per silent device: diagnostics, then on its return diagnostics again (unacknowledged) and the queued blink.
    expect(report.received).toEqual({ prov: 1_000, get: 980, accepted: 1_960, cmd: 300 });
  });

  it('200 devices over MqttTransport against aedes', { timeout: 120_000 }, async () => {
    const aedes = await startAedes();
    cleanups.push(() => aedes.close());
    report = await runFleetScenario({
      devices: 200,
      bad: 5,
      silent: 20,
      sick: 10,
      backend: new MqttTransport({ url: aedes.url, clientId: 'backend', queue: { maxMessages: 100_000 } }),
      device: (id) => track(new MqttTransport({ url: aedes.url, clientId: id, queue: { maxMessages: 1_000 } })),
      stepTimeoutMs: 60_000,
    });
    expect(report.received).toEqual({ prov: 200, get: 195, accepted: 390, cmd: 60 });
  });

  it.skipIf(!mosquittoEnabled('the fleet end-to-end test over mosquitto'))('200 devices over MqttTransport against mosquitto', { timeout: 120_000 }, async () => {
    const mosquitto = await startMosquitto();
    cleanups.push(() => mosquitto.dispose());
    report = await runFleetScenario({
      devices: 200,
      bad: 5,
      silent: 20,
      sick: 10,
      backend: new MqttTransport({ url: mosquitto.url, clientId: 'backend', queue: { maxMessages: 100_000 } }),
      device: (id) => track(new MqttTransport({ url: mosquitto.url, clientId: id, queue: { maxMessages: 1_000 } })),
      stepTimeoutMs: 60_000,
    });
    expect(report.received).toEqual({ prov: 200, get: 195, accepted: 390, cmd: 60 });
  });
});
