/**
 * Cloud-tier benchmarks, ours beside a named baseline in the same run:
 * - ShadowService over MqttTransport through mosquitto (device publishes `update`, receives
 *   `update/accepted`), 64 things in flight, vs a raw mqtt.js request/echo service on the same
 *   broker (one reply per request). Target ≥ 0.6× the echo.
 * - ShadowService end to end on the MemoryBroker (device publishes `update`, receives
 *   `update/accepted`; the service also publishes delta and documents), many things in parallel,
 *   vs a bare request/echo service on the same broker that answers each request with one publish
 *   (the ceiling). Target ≥ 100,000 updates/s.
 * - Heap per device of the memory stores at 60,000 devices (registry record + a 20-leaf shadow).
 */
import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { SimulatedClock } from '../src/clock.js';
import { ShadowService } from '../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores, type Transport } from '../src/memory.js';
import { MqttTransport } from '../src/mqtt.js';
import { findMosquitto, startMosquitto } from '../test/support/mosquitto.js';
import { applyShadowUpdate, type ShadowDocument } from '../src/shadow/index.js';
import { fmt, heapUsed, printTable, verdict } from './lib.js';

const THINGS = 1000;
const PER_THING = 60;
const ROUNDS = 3;
const QOS = (process.env.BENCH_QOS === "0" ? 0 : 1) as 0 | 1;

interface Loop {
  /** Runs THINGS × PER_THING updates, one outstanding per thing; resolves with updates/s. */
  run(round: number): Promise<number>;
  close(): Promise<void>;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

const thingName = (i: number): string => `bench-${String(i).padStart(5, '0')}`;

// THINGS devices, each a MemoryTransport subscribed to its own update/accepted, in a closed loop.
async function deviceLoop(broker: MemoryBroker, server: () => Promise<{ close(): Promise<void> }>): Promise<Loop> {
  const backend = await server();
  const devices: Transport[] = [];
  let done = 0;
  let resolveRound: (() => void) | undefined;
  const sent = new Int32Array(THINGS);
  const send = (i: number, round: number): void => {
    const n = sent[i] as number;
    sent[i] = n + 1;
    const body = `{"state":{"reported":{"temperatureC":${20 + (n % 10)},"rssiDbm":-${60 + (n % 7)},"uptimeS":${n},"round":${round}}},"clientToken":"c${n}"}`;
    void (devices[i] as Transport).publish(`$aws/things/${thingName(i)}/shadow/update`, body, { qos: QOS });
  };
  let round = 0;
  for (let i = 0; i < THINGS; i++) {
    const t = new MemoryTransport({ broker, clientId: `dev-${i}`, queue: { maxMessages: 10_000 } });
    await t.connect();
    await t.subscribe(`$aws/things/${thingName(i)}/shadow/update/accepted`, () => {
      done++;
      if (sent[i] as number < PER_THING * (round + 1)) send(i, round);
      else if (done === THINGS * PER_THING * (round + 1)) resolveRound?.();
    }, { qos: QOS });
    devices.push(t);
  }
  return {
    async run(r) {
      round = r;
      const start = performance.now();
      await new Promise<void>((resolve) => {
        resolveRound = resolve;
        for (let i = 0; i < THINGS; i++) send(i, r);
      });
      return (THINGS * PER_THING) / ((performance.now() - start) / 1000);
    },
    async close() {
      await Promise.all(devices.map((d) => d.close()));
      await backend.close();
    },
  };
}

async function shadowServiceLoop(): Promise<Loop> {
  const broker = new MemoryBroker();
  return deviceLoop(broker, async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const stores = createMemoryStores();
    for (let i = 0; i < THINGS; i++) await stores.devices.create({ tenantId: 'acme' }, { deviceId: thingName(i), tenantId: 'acme', state: 'active', since: 0 });
    const transport = new MemoryTransport({ broker, clientId: 'shadow-service', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    await transport.connect();
    const service = new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices, clock, qos: QOS });
    service.on('error', (e) => console.error(e));
    await service.start();
    return {
      async close() {
        await service.stop();
        await transport.close();
      },
    };
  });
}

async function echoLoop(): Promise<Loop> {
  const broker = new MemoryBroker();
  return deviceLoop(broker, async () => {
    const transport = new MemoryTransport({ broker, clientId: 'echo', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    await transport.connect();
    await transport.subscribe('$aws/things/+/shadow/update', (m) => {
      void transport.publish(`${m.topic}/accepted`, m.payload, { qos: QOS });
    }, { qos: QOS });
    return { close: () => transport.close() };
  });
}

/**
 * The same request stream through the shadow core alone, in one synchronous loop: parse the
 * request, applyShadowUpdate, serialise `accepted` and `documents`. No transport, no broker, no
 * store, no registry: the floor a service on this machine cannot beat, whatever it does around it.
 */
function coreFloor(round: number): number {
  const docs: (ShadowDocument | undefined)[] = new Array<ShadowDocument | undefined>(THINGS).fill(undefined);
  let bytes = 0;
  const start = performance.now();
  for (let n = 0; n < PER_THING; n++) {
    for (let i = 0; i < THINGS; i++) {
      const body = `{"state":{"reported":{"temperatureC":${20 + (n % 10)},"rssiDbm":-${60 + (n % 7)},"uptimeS":${n},"round":${round}}},"clientToken":"c${n}"}`;
      const r = applyShadowUpdate(docs[i], JSON.parse(body) as unknown, { now: 1_700_000_000_000 + n });
      if (!r.ok) throw new Error('the core refused a benchmark update');
      docs[i] = r.document;
      bytes += JSON.stringify(r.accepted).length + JSON.stringify(r.documents).length;
    }
  }
  if (bytes === 0) throw new Error('nothing serialised');
  return (THINGS * PER_THING) / ((performance.now() - start) / 1000);
}

async function heapPerDevice(): Promise<number> {
  const n = 60_000;
  const before = heapUsed();
  const stores = createMemoryStores();
  const ctx = { tenantId: 'acme' };
  const reported = { temperatureC: 21.5, humidityPct: 44, pressureHpa: 1013, co2Ppm: 612, batteryPct: 87, rssiDbm: -71, snrDb: 7.5, uptimeS: 864_000, firmware: '2.4.1', door: false };
  const desired = { intervalS: 60, led: 'on', mode: 'eco', thresholds: { high: 30, low: 5 }, sampling: [1, 2, 3], fan: { on: true, pct: 40 } };
  for (let i = 0; i < n; i++) {
    const id = thingName(i);
    await stores.devices.create(ctx, { deviceId: id, tenantId: 'acme', state: 'active', since: 1_700_000_000_000, firmwareVersion: '2.4.1', tags: ['north'], health: 'good', lastSeen: 1_700_000_000_000 });
    const r = applyShadowUpdate(undefined, { state: { reported: { ...reported, uptimeS: i }, desired } }, { now: 1_700_000_000_000 });
    if (r.ok) await stores.shadows.compareAndSet(ctx, id, undefined, 0, r.document);
  }
  const bytes = (heapUsed() - before) / n;
  if (stores.devices.size !== n) throw new Error('registry incomplete');
  return bytes;
}

const MQTT_THINGS = 64;
const MQTT_UPDATES = 12_000;

function openRaw(url: string, clientId: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqttConnect(url, { clientId, reconnectPeriod: 0 });
    c.once('connect', () => {
      (c.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
      resolve(c);
    });
    c.once('error', reject);
  });
}

// The same load for both servers: one raw mqtt.js client speaking for MQTT_THINGS things, one
// update in flight per thing, QoS 1 both ways; resolves with updates/s (publish → accepted).
async function mqttLoad(url: string, tag: string): Promise<number> {
  const client = await openRaw(url, `load-${tag}`);
  await client.subscribeAsync('$aws/things/+/shadow/update/accepted', { qos: 1 });
  const sent = new Int32Array(MQTT_THINGS);
  let done = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const send = (i: number): void => {
      const n = sent[i] as number;
      sent[i] = n + 1;
      client.publish(`$aws/things/mq-${i}/shadow/update`, `{"state":{"reported":{"temperatureC":${20 + (n % 10)},"uptimeS":${n}}},"clientToken":"c${n}"}`, { qos: 1 });
    };
    client.on('message', (topic) => {
      done++;
      const i = Number(topic.split('/')[2]?.slice(3));
      if (done >= MQTT_UPDATES) resolve();
      else if ((sent[i] as number) * MQTT_THINGS < MQTT_UPDATES + MQTT_THINGS) send(i);
    });
    for (let i = 0; i < MQTT_THINGS; i++) send(i);
  });
  const rate = done / ((performance.now() - start) / 1000);
  await client.endAsync();
  return rate;
}

async function mqttEcho(url: string, round: number): Promise<number> {
  const echo = await openRaw(url, `echo-${round}`);
  echo.on('message', (topic, payload) => echo.publish(`${topic}/accepted`, payload, { qos: 1 }));
  await echo.subscribeAsync('$aws/things/+/shadow/update', { qos: 1 });
  try {
    return await mqttLoad(url, `echo-${round}`);
  } finally {
    await echo.endAsync();
  }
}

async function mqttShadows(url: string, round: number): Promise<number> {
  const stores = createMemoryStores();
  for (let i = 0; i < MQTT_THINGS; i++) await stores.devices.create({ tenantId: 'acme' }, { deviceId: `mq-${i}`, tenantId: 'acme', state: 'active', since: 0 });
  const transport = new MqttTransport({ url, clientId: `shadow-service-${round}`, maxInFlight: 1000, queue: { maxMessages: 100_000 } });
  await transport.connect();
  const service = new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices });
  service.on('error', (e) => console.error(e));
  await service.start();
  try {
    return await mqttLoad(url, `shadow-${round}`);
  } finally {
    await service.stop();
    await transport.close();
  }
}

async function mqttBench(): Promise<void> {
  if (findMosquitto() === undefined) {
    console.log('\nNOTICE: mosquitto not installed — skipping the ShadowService over mosquitto benchmark (apt-get install -y mosquitto openssl)');
    return;
  }
  const broker = await startMosquitto();
  try {
    await mqttEcho(broker.url, 0); // warm-up
    await mqttShadows(broker.url, 0);
    const a: number[] = [];
    const b: number[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      b.push(await mqttEcho(broker.url, r));
      a.push(await mqttShadows(broker.url, r));
    }
    const ours = median(a);
    const echo = median(b);
    printTable(`Shadow updates end to end over mosquitto (${MQTT_THINGS} things in flight, QoS 1, median of ${ROUNDS} × ${fmt(MQTT_UPDATES)})`, [
      { path: 'raw mqtt.js request/echo (1 reply per request)', 'updates/s': fmt(echo), ratio: '1.00×', verdict: '' },
      { path: 'ShadowService on MqttTransport (accepted + documents)', 'updates/s': fmt(ours), ratio: `${(ours / echo).toFixed(2)}×`, verdict: verdict(ours >= 0.6 * echo, '≥ 0.6× echo') },
    ]);
  } finally {
    await broker.dispose();
  }
}

/** Runs the suite. */
export async function run(): Promise<void> {
  await mqttBench();
  const ours = await shadowServiceLoop();
  const echo = await echoLoop();
  const a: number[] = [];
  const b: number[] = [];
  const c: number[] = [];
  await ours.run(0); // warm-up rounds, not counted
  await echo.run(0);
  coreFloor(0);
  for (let r = 1; r <= ROUNDS; r++) {
    b.push(await echo.run(r));
    a.push(await ours.run(r));
    c.push(coreFloor(r));
  }
  await ours.close();
  await echo.close();
  const shadow = median(a);
  const baseline = median(b);
  const floor = median(c);
  printTable(`Shadow updates end to end on the MemoryBroker (${THINGS} things, 1 in flight each, QoS ${QOS}, median of ${ROUNDS} × ${fmt(THINGS * PER_THING)})`, [
    { path: 'bare request/echo (1 reply per request)', 'updates/s': fmt(baseline), ratio: '1.00×', verdict: '' },
    { path: 'shadow core alone (parse, applyShadowUpdate, JSON of accepted + documents; no transport or store)', 'updates/s': fmt(floor), ratio: `${(floor / baseline).toFixed(2)}×`, verdict: '' },
    { path: 'ShadowService (accepted + documents, registry check, CAS)', 'updates/s': fmt(shadow), ratio: `${(shadow / baseline).toFixed(2)}×`, verdict: verdict(shadow >= 100_000, '≥ 100,000/s') },
  ]);
  console.log(`ShadowService runs at ${(shadow / floor).toFixed(2)}× the shadow core alone; one request/echo round trip on this broker costs ${(1e6 / baseline).toFixed(1)} µs, the core alone ${(1e6 / floor).toFixed(1)} µs per update.`);
  const perDevice = await heapPerDevice();
  printTable('Memory stores at 60,000 devices (registry record + 20-leaf shadow)', [
    { what: 'heap per device', bytes: fmt(perDevice), verdict: 'report (issue target ≤ 4 KB includes health state)' },
  ]);
}
