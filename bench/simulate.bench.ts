/**
 * The default `fleetkit simulate` run (60,000 sensors in 250 buildings on the embedded aedes
 * broker, seed 1, as fast as the machine allows): wall time, CPU time and peak RSS against the
 * issue's targets (≤ 60 s, ≤ 2 GB), the broker messages per phase and per second — beside the
 * baseline of the same run: raw mqtt.js QoS 1 publishes (100 B, ≤ 500 in flight) from one client
 * to another through an embedded aedes broker of the same kind, the broker's ceiling here.
 *
 * `FLEETKIT_BENCH_SIM_DEVICES` / `FLEETKIT_BENCH_SIM_BUILDINGS` change the fleet;
 * `npm run bench simulate` runs this suite alone.
 */
import { createServer, type AddressInfo } from 'node:net';
import { resourceUsage } from 'node:process';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { runSimulation } from '../src/cli/simulate/simulation.js';
import { fmt, printTable, verdict } from './lib.js';

const DEVICES = Number(process.env['FLEETKIT_BENCH_SIM_DEVICES'] ?? 60_000);
const BUILDINGS = Number(process.env['FLEETKIT_BENCH_SIM_BUILDINGS'] ?? 250);
const RAW_MESSAGES = 50_000;
const WINDOW = 500;

/** Raw mqtt.js QoS 1 through an embedded aedes: messages per second. */
async function rawAedes(): Promise<number> {
  const broker = await Aedes.createBroker();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const sub = await mqtt.connectAsync(url, { clientId: 'raw-sub' });
  const pub = await mqtt.connectAsync(url, { clientId: 'raw-pub' });
  for (const c of [sub, pub]) (c.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
  await sub.subscribeAsync('raw/+', { qos: 1 });
  const payload = Buffer.alloc(100, 1);
  let received = 0;
  let sent = 0;
  let acked = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    sub.on('message', () => {
      if (++received === RAW_MESSAGES) resolve();
    });
    const pump = (): void => {
      while (sent < RAW_MESSAGES && sent - acked < WINDOW) {
        sent++;
        pub.publish(`raw/${sent % 16}`, payload, { qos: 1 }, () => {
          acked++;
          pump();
        });
      }
    };
    pump();
  });
  const seconds = (performance.now() - start) / 1000;
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return RAW_MESSAGES / seconds;
}

/** Runs the suite. */
export async function run(): Promise<void> {
  const baseline = await rawAedes();
  const cpu0 = resourceUsage();
  const { summary: s } = await runSimulation({ devices: DEVICES, buildings: BUILDINGS, seed: 1, timeScale: 0, broker: { kind: 'embedded' } });
  const cpu1 = resourceUsage();
  const cpuS = (cpu1.userCPUTime - cpu0.userCPUTime + cpu1.systemCPUTime - cpu0.systemCPUTime) / 1e6;
  const wallS = s.run.wallMs / 1000;
  const rssMb = s.run.peakRssBytes / 1_048_576;
  const ours = s.run.messagesPerSecond;
  printTable(`fleetkit simulate, default run: ${fmt(DEVICES)} sensors (${fmt(s.fleet.wireSensors)} on the wire, ${fmt(s.fleet.modeledSensors)} modeled by their gateway) in ${fmt(BUILDINGS)} buildings, embedded aedes, seed 1`, [
    { benchmark: 'wall time', ours: `${wallS.toFixed(1)} s`, baseline: '—', ratio: '—', verdict: verdict(wallS <= 60, '≤ 60 s') },
    { benchmark: 'CPU time (user + system, this process: broker, backend, gateways)', ours: `${cpuS.toFixed(1)} s`, baseline: '—', ratio: '—', verdict: '—' },
    { benchmark: 'peak RSS', ours: `${fmt(rssMb)} MB`, baseline: '—', ratio: '—', verdict: verdict(rssMb <= 2048, '≤ 2 GB') },
    {
      benchmark: 'broker messages per second (whole run, every service and device in this process)',
      ours: fmt(ours),
      baseline: `${fmt(baseline)} (raw mqtt.js QoS 1, 100 B, same broker)`,
      ratio: `${(ours / baseline).toFixed(3)}×`,
      verdict: '—',
    },
  ]);
  printTable(
    'where the time and the messages go, per phase',
    Object.keys(s.messagesByPhase).map((phase) => ({
      phase,
      'wall time': `${((s.run.phaseMs[phase] ?? 0) / 1000).toFixed(1)} s`,
      messages: fmt(s.messagesByPhase[phase] ?? 0),
      'messages/s': fmt((s.messagesByPhase[phase] ?? 0) / Math.max(0.001, (s.run.phaseMs[phase] ?? 0) / 1000)),
    })),
  );
}
