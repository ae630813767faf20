/**
 * Transport benchmarks, ours beside a named baseline in the same run:
 * - MqttTransport + jsonCodec vs raw mqtt.js (JSON.stringify/parse) through the same mosquitto,
 *   QoS 1 × 1 KB (target ≥ 0.9× raw) and QoS 0 × 100 B (target ≥ 0.95× raw), ≤ 500 messages in
 *   flight on both sides; the ratio is the median over 11 rounds of ours/raw, each round running
 *   both back to back (order alternating), with the CPU time per message beside it;
 * - jsonCodec vs cborCodec on a 17-leaf telemetry document (size, encode and decode rate, median
 *   of interleaved rounds; target: cborCodec decodes at least as fast as jsonCodec);
 * - MemoryTransport QoS 0 fan-out to one subscriber (target ≥ 1,000,000 msg/s), beside a bare
 *   eventemitter3 emit as the floor of in-process dispatch;
 * - a 60,000-device fleet on one MemoryBroker: connect, subscribe, one round trip each.
 */
import { EventEmitter } from 'eventemitter3';
import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { cborCodec } from '../src/cbor.js';
import { MemoryBroker, MemoryTransport } from '../src/memory.js';
import { MqttTransport } from '../src/mqtt.js';
import { commandTopic, fleetTopicFilter, jsonCodec, telemetryTopic } from '../src/protocol/index.js';
import { findMosquitto, startMosquitto } from '../test/support/mosquitto.js';
import { fmt, heapUsed, measure, printTable, time, verdict } from './lib.js';

const WINDOW = 500;
const ROUNDS = 11;
const CODEC_ROUNDS = 7;

const telemetry = {
  ts: 1_700_000_000_000,
  seq: 123_456,
  values: {
    temperatureC: 21.53,
    humidityPct: 44.2,
    pressureHpa: 1013.25,
    co2Ppm: 612,
    batteryPct: 87,
    rssiDbm: -71,
    snrDb: 7.5,
    uptimeS: 864_000,
    firmware: '2.4.1',
    door: false,
    pump: { running: true, rpm: 1480, currentA: 3.2 },
    location: { lat: 52.5201, lon: 13.4049 },
  },
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

function docOfSize(bytes: number): Record<string, unknown> {
  const base = { ts: 1_700_000_000_000, seq: 0, values: { pad: '' } };
  const overhead = JSON.stringify(base).length;
  return { ...base, values: { pad: 'x'.repeat(Math.max(0, bytes - overhead)) } };
}

/** Publishes `n` messages with at most WINDOW outstanding; resolves when the subscriber has all. */
async function pump(n: number, send: (i: number) => Promise<void>, received: () => number): Promise<number> {
  const start = performance.now();
  let next = 0;
  let outstanding = 0;
  await new Promise<void>((resolve, reject) => {
    const fill = (): void => {
      while (outstanding < WINDOW && next < n) {
        outstanding++;
        send(next++).then(() => {
          outstanding--;
          fill();
        }, reject);
      }
      if (next >= n && outstanding === 0) resolve();
    };
    fill();
  });
  for (let i = 0; received() < n && i < 2000; i++) await new Promise((r) => setTimeout(r, 5));
  if (received() < n) throw new Error(`only ${received()} of ${n} messages arrived`);
  return n / ((performance.now() - start) / 1000);
}

async function rawRun(url: string, n: number, qos: 0 | 1, doc: Record<string, unknown>, round: number): Promise<number> {
  const topic = `bench/raw/${qos}/${round}`;
  const open = (id: string): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const c = mqttConnect(url, { clientId: id, reconnectPeriod: 0 });
      c.once('connect', () => {
        (c.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
        resolve(c);
      });
      c.once('error', reject);
    });
  const pub = await open(`raw-pub-${qos}-${round}`);
  const sub = await open(`raw-sub-${qos}-${round}`);
  let got = 0;
  sub.on('message', (_t, payload) => {
    JSON.parse(payload.toString());
    got++;
  });
  await sub.subscribeAsync(topic, { qos });
  const rate = await pump(
    n,
    (i) =>
      new Promise<void>((resolve, reject) => {
        pub.publish(topic, JSON.stringify({ ...doc, seq: i }), { qos }, (e) => (e ? reject(e) : resolve()));
      }),
    () => got,
  );
  await pub.endAsync();
  await sub.endAsync();
  return rate;
}

async function oursRun(url: string, n: number, qos: 0 | 1, doc: Record<string, unknown>, round: number): Promise<number> {
  const topic = `bench/ours/${qos}/${round}`;
  const pub = new MqttTransport({ url, clientId: `ours-pub-${qos}-${round}`, maxInFlight: WINDOW, queue: { maxMessages: WINDOW * 2 } });
  const sub = new MqttTransport({ url, clientId: `ours-sub-${qos}-${round}` });
  await pub.connect();
  await sub.connect();
  let got = 0;
  await sub.subscribe(
    topic,
    (m) => {
      jsonCodec.decode(m.payload);
      got++;
    },
    { qos },
  );
  const rate = await pump(n, (i) => pub.publish(topic, jsonCodec.encode({ ...doc, seq: i }), { qos }), () => got);
  await pub.close();
  await sub.close();
  return rate;
}

/** Runs `run` and returns its rate with the CPU time this process spent per message (µs). */
async function withCpu(n: number, run: () => Promise<number>): Promise<{ rate: number; cpuUs: number }> {
  const start = process.cpuUsage();
  const rate = await run();
  const used = process.cpuUsage(start);
  return { rate, cpuUs: (used.user + used.system) / n };
}

async function mqttBench(): Promise<void> {
  if (findMosquitto() === undefined) {
    console.log('\nNOTICE: mosquitto not installed — skipping the MqttTransport vs raw mqtt.js benchmark (apt-get install -y mosquitto openssl)');
    return;
  }
  const broker = await startMosquitto();
  try {
    const rows = [];
    for (const [label, qos, size, n, target] of [
      ['QoS 1 × 1 KB', 1, 1024, 20_000, 0.9],
      ['QoS 0 × 100 B', 0, 100, 30_000, 0.95],
    ] as const) {
      const doc = docOfSize(size);
      const raw: { rate: number; cpuUs: number }[] = [];
      const ours: { rate: number; cpuUs: number }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        // Both sides back to back in each round, the order alternating, so that neither always
        // runs on a warmer process and a burst of load from elsewhere hits both alike.
        if (r % 2 === 0) {
          raw.push(await withCpu(n, () => rawRun(broker.url, n, qos, doc, r)));
          ours.push(await withCpu(n, () => oursRun(broker.url, n, qos, doc, r)));
        } else {
          ours.push(await withCpu(n, () => oursRun(broker.url, n, qos, doc, r)));
          raw.push(await withCpu(n, () => rawRun(broker.url, n, qos, doc, r)));
        }
      }
      const perRound = ours.map((o, i) => o.rate / (raw[i] as { rate: number }).rate);
      const ratio = median(perRound);
      rows.push({
        case: label,
        'raw mqtt.js msg/s': fmt(median(raw.map((x) => x.rate))),
        'MqttTransport+json msg/s': fmt(median(ours.map((x) => x.rate))),
        'ratio (median of rounds)': `${ratio.toFixed(2)}×`,
        'rounds (ours/raw)': perRound.map((x) => x.toFixed(2)).join(' '),
        'CPU µs/msg raw / ours': `${median(raw.map((x) => x.cpuUs)).toFixed(1)} / ${median(ours.map((x) => x.cpuUs)).toFixed(1)}`,
        verdict: verdict(ratio >= target, `≥ ${target}× raw`),
      });
    }
    printTable(`MqttTransport + jsonCodec vs raw mqtt.js, same mosquitto (${ROUNDS} interleaved rounds, ≤ ${WINDOW} in flight; CPU: this process, publisher and subscriber)`, rows);
  } finally {
    await broker.dispose();
  }
}

function codecBench(): void {
  const json = jsonCodec.encode(telemetry);
  const cbor = cborCodec.encode(telemetry);
  const rawText = JSON.stringify(telemetry);
  const cases: Record<string, () => unknown> = {
    'raw encode': () => JSON.stringify(telemetry),
    'raw decode': () => JSON.parse(rawText),
    'json encode': () => jsonCodec.encode(telemetry),
    'json decode': () => jsonCodec.decode(json),
    'cbor encode': () => cborCodec.encode(telemetry),
    'cbor decode': () => cborCodec.decode(cbor),
  };
  // Interleaved rounds, so that a burst of load from elsewhere hits every case alike.
  const rates: Record<string, number[]> = {};
  for (let r = 0; r < CODEC_ROUNDS; r++) for (const [name, fn] of Object.entries(cases)) (rates[name] ??= []).push(measure(name, fn, { ms: 250 }).opsPerSec);
  const rate = (name: string): number => median(rates[name] ?? []);
  const decodeRatio = rate('cbor decode') / rate('json decode');
  printTable(`Codecs on a 17-leaf telemetry document (median of ${CODEC_ROUNDS} interleaved rounds)`, [
    { codec: 'raw JSON.stringify/parse (baseline)', bytes: fmt(Buffer.byteLength(rawText)), 'encode ops/s': fmt(rate('raw encode')), 'decode ops/s': fmt(rate('raw decode')), verdict: '—' },
    { codec: 'jsonCodec (UTF-8, JSON model, key checks)', bytes: fmt(json.byteLength), 'encode ops/s': fmt(rate('json encode')), 'decode ops/s': fmt(rate('json decode')), verdict: '—' },
    {
      codec: 'cborCodec (JSON model, one-pass decoder)',
      bytes: fmt(cbor.byteLength),
      'encode ops/s': fmt(rate('cbor encode')),
      'decode ops/s': `${fmt(rate('cbor decode'))} (${decodeRatio.toFixed(2)}× json)`,
      verdict: verdict(decodeRatio >= 1, 'decode ≥ jsonCodec'),
    },
  ]);
}

async function memoryBench(): Promise<void> {
  const N = 2_000_000;
  const payload = new Uint8Array(100);
  const broker = new MemoryBroker();
  const pub = new MemoryTransport({ broker, clientId: 'bench-pub' });
  const sub = new MemoryTransport({ broker, clientId: 'bench-sub' });
  await pub.connect();
  await sub.connect();
  let got = 0;
  await sub.subscribe('dt/+/+/telemetry', () => {
    got++;
  });
  const runOnce = async (): Promise<number> => {
    got = 0;
    const start = performance.now();
    for (let i = 0; i < N; i++) {
      void pub.publish('dt/acme/dev-1/telemetry', payload);
      // Let the broker's microtask batch run now and then, as an application's awaits would.
      if ((i & 4095) === 4095) await Promise.resolve();
    }
    await new Promise((r) => setImmediate(r));
    if (got !== N) throw new Error(`MemoryTransport delivered ${got} of ${N}`);
    return N / ((performance.now() - start) / 1000);
  };
  await runOnce(); // warm-up
  const ours = median([await runOnce(), await runOnce(), await runOnce()]);
  const ee = new EventEmitter();
  let eeGot = 0;
  ee.on('m', () => {
    eeGot++;
  });
  const floor = measure('eventemitter3 emit', () => ee.emit('m', payload), { ms: 700 });
  await pub.close();
  await sub.close();
  printTable('MemoryTransport QoS 0 fan-out to one subscriber (100 B, median of 3 × 2,000,000)', [
    { case: 'bare eventemitter3 emit (floor, no broker)', 'msg/s': fmt(floor.opsPerSec), verdict: eeGot > 0 ? '—' : '?' },
    { case: 'MemoryTransport publish → broker → handler', 'msg/s': fmt(ours), verdict: verdict(ours >= 1_000_000, '≥ 1,000,000 msg/s') },
  ]);
}

/**
 * A whole simulated fleet on one MemoryBroker: 60,000 devices connect and subscribe to their own
 * command topic, then one round trip each — a telemetry message up, a command down (QoS 1).
 * There is no off-the-shelf in-process broker to compare at this size, so the rows carry targets.
 */
async function fleetBench(): Promise<void> {
  const N = 60_000;
  const before = heapUsed();
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: 'fleet-backend' });
  await backend.connect();
  let up = 0;
  let down = 0;
  await backend.subscribe(fleetTopicFilter('telemetry', { tenantId: 'acme' }), () => void up++, { qos: 1 });
  const devices: MemoryTransport[] = [];
  const connectMs = await time(async () => {
    for (let i = 0; i < N; i++) {
      const device = new MemoryTransport({ broker, clientId: `dev-${i}` });
      devices.push(device);
      await device.connect();
      await device.subscribe(fleetTopicFilter('command', { tenantId: 'acme', deviceId: `dev-${i}` }), () => void down++, { qos: 1 });
    }
  });
  const perDeviceBytes = (heapUsed() - before) / N;
  const payload = jsonCodec.encode({ ts: 1_700_000_000_000, seq: 1, values: { temperatureC: 21.5 } });
  const roundMs = await time(async () => {
    const acks: Promise<void>[] = [];
    for (let i = 0; i < N; i++) acks.push((devices[i] as MemoryTransport).publish(telemetryTopic('acme', `dev-${i}`), payload, { qos: 1 }));
    for (let i = 0; i < N; i++) acks.push(backend.publish(commandTopic('acme', `dev-${i}`, 'c-1'), payload, { qos: 1 }));
    await Promise.all(acks);
    await new Promise((r) => setImmediate(r));
  });
  if (up !== N || down !== N) throw new Error(`fleet round trip delivered ${up} up and ${down} down of ${N}`);
  await Promise.all([backend.close(), ...devices.map((d) => d.close())]);
  printTable(`MemoryBroker carrying a ${fmt(N)}-device fleet (no baseline: targets)`, [
    { case: `${fmt(N)} devices connect + subscribe`, result: `${fmt(connectMs)} ms`, verdict: verdict(connectMs <= 5000, '≤ 5 s') },
    { case: `one round: ${fmt(N)} telemetry up + ${fmt(N)} commands down (QoS 1, distinct topics)`, result: `${fmt(roundMs)} ms`, verdict: verdict(roundMs <= 2000, '≤ 2 s') },
    { case: 'heap per connected device (transport + session + subscription)', result: `${fmt(perDeviceBytes / 1024, 1)} KiB`, verdict: verdict(perDeviceBytes <= 16 * 1024, '≤ 16 KiB') },
  ]);
}

/** Runs the transport benchmarks. */
export async function run(): Promise<void> {
  await memoryBench();
  await fleetBench();
  codecBench();
  await mqttBench();
}
