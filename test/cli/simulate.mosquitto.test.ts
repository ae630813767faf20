// `fleetkit simulate --broker …` against a real mosquitto: plain MQTT and mutual TLS (--ca --cert
// --key), each telling the same story as the in-process broker for the same seed.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/main.js';
import type { SimulationSummary } from '../../src/cli/simulate/simulation.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';

async function summary(...args: string[]): Promise<SimulationSummary> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), version: () => '0.0.0' };
  const code = await runCli(['simulate', '--devices', '300', '--buildings', '3', '--seed', '21', '--time-scale', '0', '--json', ...args], io);
  expect(code, err).toBe(0);
  return JSON.parse(out) as SimulationSummary;
}

const story = (s: SimulationSummary): Omit<SimulationSummary, 'run'> => {
  const { run: _run, ...rest } = s;
  return rest;
};

describe.skipIf(!mosquittoEnabled('the simulate-on-mosquitto tests'))('fleetkit simulate on mosquitto', () => {
  let broker: TestMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  it('runs the story over plain MQTT and mutual TLS, the same story as in process', { timeout: 180_000 }, async () => {
    const reference = await summary('--transport', 'memory');
    const plain = await summary('--broker', broker.url);
    expect(plain.run.broker).toBe(broker.url);
    expect(story(plain)).toEqual(story(reference));
    const d = broker.certs.dir;
    const tls = await summary('--broker', broker.tlsUrl, '--ca', join(d, 'ca.crt'), '--cert', join(d, 'client.crt'), '--key', join(d, 'client.key'));
    expect(tls.run.broker).toBe(broker.tlsUrl);
    expect(story(tls)).toEqual(story(reference));
    expect(reference.rollouts.map((r) => r.outcome)).toEqual(['aborted', 'completed']);
  });
});
