// `fleetkit simulate` through the CLI entry (runCli with a captured CliIo): a short run on the
// embedded aedes broker whose summary adds up, the same seed giving the same summary, its HTML
// report opened in a real headless Chromium, an unreachable broker, usage errors and Ctrl-C.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, type CliIo } from '../../src/cli/main.js';
import { runSimulate, simulateOptions } from '../../src/cli/simulate/command.js';
import { fogSummary, type SimulationSummary } from '../../src/cli/simulate/simulation.js';
import type { FogReport } from '../../src/device/fog-gateway.js';
import { chromiumEnabled, withReportPage } from '../support/chromium.js';

function capture(): { io: CliIo; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return { io: { out: (t) => void (out += t), err: (t) => void (err += t), version: () => '0.0.0' }, out: () => out, err: () => err };
}

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const c = capture();
  const code = await runCli(args, c.io);
  return { code, out: c.out(), err: c.err() };
}

const dir = mkdtempSync(join(tmpdir(), 'fleetkit-simulate-'));
const reportFile = join(dir, 'report.html');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SHORT = ['simulate', '--devices', '500', '--buildings', '5', '--seed', '11', '--time-scale', '0'];
/** Everything but the run's measurements. */
const story = (s: SimulationSummary): Omit<SimulationSummary, 'run'> => {
  const { run: _run, ...rest } = s;
  return rest;
};

let first: SimulationSummary | undefined;

describe('fogSummary: the fleet figure from the gateways\' reports', () => {
  const report = (rawSamples: number, summaries: number, rawForwarded: number, stuck: number, drift: number): FogReport => {
    const rawBytes = rawSamples * 200;
    const forwardedBytes = summaries * 400 + rawForwarded * 200;
    return {
      rawSamples,
      summaries,
      rawForwarded,
      anomalySamples: rawForwarded,
      anomalyMessages: stuck + drift,
      rawBytes,
      forwardedBytes,
      reductionFraction: rawSamples === 0 ? 0 : 1 - forwardedBytes / rawBytes,
      exceptionFraction: rawSamples === 0 ? 0 : rawForwarded / rawSamples,
      anomalies: { out_of_range: 0, stuck, spike: 0, drift, gap: 0 },
      sent: summaries + rawForwarded + stuck + drift,
      sentBytes: 0,
      buffered: 0,
      dropped: 0,
    };
  };

  it('adds the bytes up and takes the reduction of the sums (not the mean of the fractions), with the per-gateway range', () => {
    const a = report(480, 30, 0, 0, 0); // 1 − 12000/96000 = 87.5 %
    const b = report(96, 6, 8, 1, 1); // 1 − 4000/19200 ≈ 79.2 %
    const s = fogSummary([a, b], ['stuck', undefined], 12);
    expect(s.reductionFraction).toBeCloseTo(1 - (a.forwardedBytes + b.forwardedBytes) / (a.rawBytes + b.rawBytes), 12);
    expect(s.reductionRange).toEqual([b.reductionFraction, a.reductionFraction]);
    expect(s).toMatchObject({ gateways: 2, sensors: 12, rawSamples: 576, summaries: 36, rawForwarded: 8, findings: 2, uplinkMessages: 46, injectedFaults: { stuck: 1, drift: 0 } });
    expect(s.anomalies).toEqual({ out_of_range: 0, stuck: 1, spike: 0, drift: 1, gap: 0 });
  });

  it('is all zeros without gateways or samples', () => {
    const s = fogSummary([], [], 0);
    expect(s).toMatchObject({ reductionFraction: 0, reductionRange: [0, 0], findings: 0, rawBytes: 0 });
    expect(fogSummary([report(0, 0, 0, 0, 0)], [undefined], 1).reductionFraction).toBe(0);
  });
});

describe('fleetkit simulate: a short run', () => {
  it('runs the whole story on the embedded broker and its summary adds up', { timeout: 120_000 }, async () => {
    const r = await run(...SHORT, '--json', '--report', reportFile);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as SimulationSummary;
    first = s;
    expect(s.interrupted).toBe(false);
    expect(s.run.broker).toMatch(/^aedes \(embedded\) mqtt:\/\/127\.0\.0\.1:\d+$/);
    // 500 sensors are all on the wire: every one asked to be provisioned and got an answer.
    expect(s.fleet).toEqual({ buildings: 5, gateways: 5, sensors: 500, wireSensors: 500, modeledSensors: 0 });
    expect(s.provisioning.accepted + s.provisioning.refused).toBe(500);
    expect(s.provisioning.refused).toBeGreaterThan(0);
    expect(s.provisioning.refusedByCode).toEqual({ ENROLLMENT_INVALID: s.provisioning.refused });
    expect(s.provisioning.gatewaysAccepted).toBe(5);
    expect(s.configuration).toEqual({ gateways: 5, inSync: 5 });
    // The registry holds the gateways and the accepted sensors, in some state each.
    const total = (rec: Readonly<Record<string, number>>): number => Object.values(rec).reduce((a, n) => a + n, 0);
    expect(total(s.byState)).toBe(5 + s.provisioning.accepted);
    expect(total(s.byHealth)).toBe(total(s.byState));
    expect(total(s.byFirmware)).toBe(total(s.byState));
    // Health: some sensors went silent and were flagged, some came back.
    expect(s.health.flaggedSilent).toBeGreaterThan(0);
    expect(s.health.silenceEnded).toBeGreaterThan(0);
    expect(s.health.silenceEnded).toBeLessThan(s.health.flaggedSilent);
    expect(s.health.recovered).toBeGreaterThan(0);
    // The sensors still silent after the soak were put in maintenance (rollouts skip them).
    expect(s.health.sentToMaintenance).toBe(s.health.flaggedSilent - s.health.silenceEnded);
    expect(s.byState['maintenance']).toBe(s.health.sentToMaintenance);
    // 2.2.0: the canary's failures abort it with the numbers in the reason, and the devices that took it are rolled back.
    const [bad, good] = s.rollouts;
    expect(bad?.firmwareVersion).toBe('2.2.0');
    expect(bad?.outcome).toBe('aborted');
    const canary = bad?.stages[0];
    expect(canary?.failed).toBeGreaterThan(0);
    expect(canary!.failed / canary!.targeted).toBeGreaterThan(bad!.abortThreshold);
    expect(bad?.abortReason).toMatch(/^canary: \d+ failures? of \d+ devices = [\d.]+ % > the 5\.00 % abort threshold$/);
    expect(canary?.decision).toMatch(/^abort: /);
    expect(bad?.rolledBackDevices).toBeGreaterThanOrEqual(canary!.succeeded);
    expect(bad?.stages.slice(1).every((st) => st.succeeded + st.failed === 0)).toBe(true);
    // 2.2.1 completes through every stage.
    expect(good?.firmwareVersion).toBe('2.2.1');
    expect(good?.outcome).toBe('completed');
    expect(good?.stages.map((st) => st.percent).slice(1)).toEqual([10, 50, 100]);
    expect(good?.stages.every((st) => st.failed === 0 && st.succeeded > 0)).toBe(true);
    expect(good?.stages.at(-1)?.decision).toMatch(/^complete: /);
    expect(s.byFirmware['2.2.1']).toBe(good!.stages.reduce((a, st) => a + st.succeeded, 0));
    // A few sensors decommissioned at the end.
    expect(s.decommissioned).toBe(3);
    expect(s.byState['decommissioned']).toBe(3);
    // Messages: per phase, adding up to the total; every phase but decommissioning used the broker.
    expect(Object.keys(s.messagesByPhase)).toEqual(['provisioning', 'configuration', 'soak', 'rollout 2.2.0', 'rollout 2.2.1', 'decommissioning']);
    expect(total(s.messagesByPhase)).toBe(s.messages);
    for (const [phase, n] of Object.entries(s.messagesByPhase)) if (phase !== 'decommissioning') expect(n, phase).toBeGreaterThan(0);
    // The fog gateways over the wire sensors: a reduction on the calculator's byte model, within
    // 0–100 % and between the gateways' own figures, and at least one finding per injected fault.
    const fog = s.fog;
    expect(fog.gateways).toBe(5);
    expect(fog.sensors).toBeGreaterThan(0);
    expect(fog.sensors).toBeLessThanOrEqual(s.provisioning.accepted);
    expect(fog.injectedFaults).toEqual({ stuck: 1, drift: 1 });
    expect(fog.rawBytes).toBe(fog.rawSamples * 200);
    expect(fog.forwardedBytes).toBe(fog.summaries * 400 + fog.rawForwarded * 200);
    expect(fog.reductionFraction).toBeCloseTo(1 - fog.forwardedBytes / fog.rawBytes, 12);
    expect(fog.reductionFraction).toBeGreaterThan(0);
    expect(fog.reductionFraction).toBeLessThan(1);
    expect(fog.reductionRange[0]).toBeLessThanOrEqual(fog.reductionFraction);
    expect(fog.reductionRange[1]).toBeGreaterThanOrEqual(fog.reductionFraction);
    // A sample an hour for two days, one summary per sensor per day-window the soak touched.
    expect(fog.rawSamples).toBe(fog.sensors * 48);
    expect(fog.summaries).toBeGreaterThanOrEqual(2 * fog.sensors);
    expect(fog.summaries).toBeLessThanOrEqual(3 * fog.sensors);
    expect(fog.anomalies['stuck']).toBeGreaterThanOrEqual(fog.injectedFaults.stuck);
    expect(fog.anomalies['drift']).toBeGreaterThanOrEqual(fog.injectedFaults.drift);
    expect(fog.findings).toBe(total(fog.anomalies));
    expect(fog.findings).toBeGreaterThanOrEqual(fog.injectedFaults.stuck + fog.injectedFaults.drift);
    // Everything the fog gateways forwarded went over the broker, in the soak.
    expect(fog.uplinkMessages).toBe(fog.summaries + fog.rawForwarded + fog.findings);
    expect([fog.buffered, fog.dropped]).toEqual([0, 0]);
    // The HTML report shows the same figures.
    const html = readFileSync(reportFile, 'utf8');
    expect(html).toContain('<h2>Fog gateways</h2>');
    expect(html).toContain(`<td>data reduction achieved</td><td>${(fog.reductionFraction * 100).toFixed(1)} %</td>`);
    expect(html).toContain(`<td>findings: stuck</td><td class="num">${fog.anomalies['stuck']}</td>`);
    expect(s.messagesByPhase['soak']).toBeGreaterThan(fog.uplinkMessages);
    // At least a request and an answer per sensor, and a challenge round trip per gateway.
    expect(s.messagesByPhase['provisioning']).toBeGreaterThanOrEqual(2 * 500 + 4 * 5);
    expect(s.run.wallMs).toBeGreaterThan(0);
    expect(s.run.peakRssBytes).toBeGreaterThan(10 * 1_048_576);
    expect(s.run.messagesPerSecond).toBeGreaterThan(0);
  });

  it('the same seed tells the same story, on the embedded broker and in process alike', { timeout: 120_000 }, async () => {
    expect(first).toBeDefined();
    const again = await run(...SHORT, '--json', '--transport', 'memory');
    expect(again.code, again.err).toBe(0);
    const s = JSON.parse(again.out) as SimulationSummary;
    expect(s.run.broker).toMatch(/^memory/);
    expect(story(s)).toEqual(story(first!));
    const other = await run(...SHORT.slice(0, -4), '--seed', '12', '--time-scale', '0', '--json', '--transport', 'memory');
    expect(story(JSON.parse(other.out) as SimulationSummary)).not.toEqual(story(first!));
  });

  it('models most sensors by their gateway when asked (--wire-share): the registry still holds every sensor', { timeout: 120_000 }, async () => {
    const r = await run('simulate', '--devices', '600', '--buildings', '4', '--seed', '5', '--time-scale', '0', '--wire-share', '0.25', '--transport', 'memory', '--json');
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out) as SimulationSummary;
    expect(s.fleet.wireSensors + s.fleet.modeledSensors).toBe(600);
    expect(s.fleet.modeledSensors).toBeGreaterThan(300);
    expect(s.provisioning.accepted + s.provisioning.refused).toBe(s.fleet.wireSensors);
    expect(Object.values(s.byState).reduce((a, n) => a + n, 0)).toBe(4 + s.provisioning.accepted + s.fleet.modeledSensors);
    expect(s.rollouts.map((x) => x.outcome)).toEqual(['aborted', 'completed']);
    // Only wire sensors go through the fog gateways.
    expect(s.fog.sensors).toBeGreaterThan(0);
    expect(s.fog.sensors).toBeLessThanOrEqual(s.provisioning.accepted);
  });

  it('prints the summary table on stdout and plain progress lines on stderr when stderr is not a terminal', { timeout: 120_000 }, async () => {
    const c = capture();
    const code = await runSimulate(['--devices', '200', '--buildings', '2', '--time-scale', '0', '--transport', 'memory'], c.io, { tty: false });
    expect(code).toBe(0);
    for (const heading of ['Provisioning', 'Health', 'Devices at the end', 'Rollout fw-2-2-0 (firmware 2.2.0): aborted', 'Rollout fw-2-2-1 (firmware 2.2.1): completed', 'Messages carried by the broker', 'wall time', 'peak RSS']) {
      expect(c.out()).toContain(heading);
    }
    const lines = c.err().trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.every((l) => /^\[\s*[\d.]+ h\] [a-z0-9. ]+: [\d,]+\/[\d,]+/.test(l))).toBe(true);
    expect(c.err()).not.toMatch(/\u001b\[/); // no escape codes off a terminal
  });
});

describe.skipIf(!chromiumEnabled('the simulation report test'))('the report of a short run in a real browser', () => {
  it('renders with no console error; every chart drew its paths and has its axis labels', { timeout: 60_000 }, async () => {
    expect(first).toBeDefined();
    const html = readFileSync(reportFile, 'utf8');
    expect(html).toContain('Smart-building fleet');
    await withReportPage(reportFile, async ({ problems, charts }) => {
      expect(charts.map((c) => c.id)).toEqual(['chart-rollout-reached', 'chart-failure-rate', 'chart-health', 'chart-states']);
      for (const c of charts) {
        expect(c.paths, c.id).toBeGreaterThan(0);
        expect(c.drawn, c.id).toBe(c.paths);
        expect(c.axisLabels.length, c.id).toBeGreaterThan(0);
        expect(c.axisLabels.every((t) => t.length > 0), c.id).toBe(true);
        expect(c.ticks, c.id).toBeGreaterThan(2);
      }
      // Both rollouts reached devices; the failure-rate chart has a line and a threshold per rollout; four health series.
      expect(charts[0]?.paths).toBe(2);
      expect(charts[1]?.paths).toBe(4);
      expect(charts[2]?.paths).toBe(4);
      expect(problems).toEqual([]);
    });
  });
});

describe('fleetkit simulate: failures and usage', () => {
  it('an unreachable broker is one line on stderr and exit code 1', { timeout: 30_000 }, async () => {
    // A port nobody listens on: take a free one and close it again.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const r = await run('simulate', '--devices', '20', '--buildings', '1', '--broker', `mqtt://127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(r.err).toContain(`cannot reach the broker at mqtt://127.0.0.1:${port}`);
    expect(r.err).not.toMatch(/\n\s+at /);
    const json = await run('simulate', '--devices', '20', '--buildings', '1', '--broker', `mqtt://127.0.0.1:${port}`, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.err)).toMatchObject({ error: { code: 'BROKER_UNAVAILABLE' } });
  });

  it('refuses bad flags with exit code 2 and one line naming the flag', async () => {
    const cases: [string[], string][] = [
      [['--devices', '0'], '--devices'],
      [['--devices', '19'], '--devices'],
      [['--devices', 'many'], '--devices'],
      [['--devices', '30', '--buildings', '31'], '--buildings'],
      [['--time-scale', '-1'], '--time-scale'],
      [['--wire-share', '1.5'], '--wire-share'],
      [['--transport', 'tcp'], '--transport'],
      [['--broker', 'http://x'], '--broker'],
      [['--broker', 'mqtt://h:1', '--transport', 'memory'], '--broker'],
      [['--ca', 'ca.pem'], '--ca'],
      [['--broker', 'mqtts://h:1', '--cert', 'c.pem'], '--cert'],
      [['--colour'], '--colour'],
    ];
    for (const [args, flag] of cases) {
      const r = await run('simulate', ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.out).toBe('');
      expect(r.err.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err, args.join(' ')).toContain(flag);
    }
  });

  it('runSimulation refuses options out of range with INVALID_ARGUMENT before starting anything', async () => {
    const { runSimulation } = await import('../../src/cli/simulate/simulation.js');
    const base = { devices: 100, buildings: 2, seed: 1, timeScale: 0, broker: { kind: 'memory' } } as const;
    for (const bad of [{ devices: 19 }, { devices: 20.5 }, { buildings: 0 }, { buildings: 101 }, { seed: -1 }, { timeScale: Number.NaN }, { wireShare: 2 }]) {
      await expect(runSimulation({ ...base, ...bad }), JSON.stringify(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
  });

  it('reads the defaults of the issue: 60,000 sensors in 250 buildings on the embedded broker', () => {
    const { options } = simulateOptions([]);
    expect(options).toMatchObject({ devices: 60_000, buildings: 250, seed: 1, broker: { kind: 'embedded' } });
    expect(simulateOptions(['--devices', '60,000', '--wire-share', '25%']).options).toMatchObject({ devices: 60_000, wireShare: 0.25 });
  });

  it('--help describes every flag', async () => {
    const r = await run('simulate', '--help');
    expect(r.code).toBe(0);
    for (const flag of ['--devices', '--buildings', '--seed', '--time-scale', '--wire-share', '--broker', '--ca', '--cert', '--key', '--transport memory', '--json', '--report']) expect(r.out).toContain(flag);
    expect((await run('--help')).out).toContain('simulate');
  });

  it('Ctrl-C stops at the next step, closes everything and prints how far it got', { timeout: 60_000 }, async () => {
    const c = capture();
    const controller = new AbortController();
    const code = await runSimulate(['--devices', '300', '--buildings', '3', '--time-scale', '0', '--json'], c.io, {
      signal: controller.signal,
      tty: false,
      onProgress: (e) => {
        if (e.phase === 'soak' && e.done >= 5) controller.abort();
      },
    });
    expect(code).toBe(130);
    const s = JSON.parse(c.out()) as SimulationSummary;
    expect(s.interrupted).toBe(true);
    expect(Object.keys(s.messagesByPhase)).toEqual(['provisioning', 'configuration', 'soak']);
    expect(s.rollouts).toEqual([]);
    expect(s.provisioning.accepted + s.provisioning.refused).toBe(300);
  });
});
