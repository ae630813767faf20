/**
 * Cloud-tier benchmarks, ours beside a named baseline in the same run:
 * - ShadowService end to end on the MemoryBroker (device publishes `update`, receives
 *   `update/accepted`; the service also publishes delta and documents), many things in parallel,
 *   vs a bare request/echo service on the same broker that answers each request with one publish
 *   (the ceiling). Target ≥ 100,000 updates/s.
 * - Heap per device of the memory stores at 60,000 devices (registry record + a 20-leaf shadow).
 */
import { SimulatedClock } from '../src/clock.js';
import { ShadowService } from '../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores, type Transport } from '../src/memory.js';
import { applyShadowUpdate } from '../src/shadow/index.js';
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

/** Runs the suite. */
export async function run(): Promise<void> {
  const ours = await shadowServiceLoop();
  const echo = await echoLoop();
  const a: number[] = [];
  const b: number[] = [];
  await ours.run(0); // warm-up rounds, not counted
  await echo.run(0);
  for (let r = 1; r <= ROUNDS; r++) {
    b.push(await echo.run(r));
    a.push(await ours.run(r));
  }
  await ours.close();
  await echo.close();
  const shadow = median(a);
  const baseline = median(b);
  printTable(`Shadow updates end to end on the MemoryBroker (${THINGS} things, 1 in flight each, QoS ${QOS}, median of ${ROUNDS} × ${fmt(THINGS * PER_THING)})`, [
    { path: 'bare request/echo (1 reply per request)', 'updates/s': fmt(baseline), ratio: '1.00×', verdict: '' },
    { path: 'ShadowService (accepted + documents, registry check, CAS)', 'updates/s': fmt(shadow), ratio: `${(shadow / baseline).toFixed(2)}×`, verdict: verdict(shadow >= 100_000, '≥ 100,000/s') },
  ]);
  const perDevice = await heapPerDevice();
  printTable('Memory stores at 60,000 devices (registry record + 20-leaf shadow)', [
    { what: 'heap per device', bytes: fmt(perDevice), verdict: 'report (issue target ≤ 4 KB includes health state)' },
  ]);
}
