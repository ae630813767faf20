/**
 * Device-tier benchmarks, ours beside a named baseline in the same run:
 * - Virtual devices on a SimulatedClock: N VirtualDevices (the lab ESP32: heartbeat 10 s, telemetry
 *   30 s, health 5 s, shadow sync 15 s, configuration check 60 s) on MemoryTransports to one
 *   MemoryBroker with a backend subscribed to every heartbeat and telemetry message, over one
 *   simulated day in 10 s steps. Reported as device-seconds simulated per wall-second, against a
 *   bare loop of the same five timers per device (callbacks that only reschedule themselves and
 *   count) on the same SimulatedClock, stepped the same way.
 * - Heap per virtual device at M devices (transport, broker session and subscriptions, agent and
 *   device state, timers), beside the transport and its subscriptions alone. Target ≤ 10 KB.
 *   Measured on the built package (dist/, rebuilt when older than src/), the code users run: the
 *   tsx loader this script runs under names every arrow function with Object.defineProperty,
 *   which moves its properties out of line (≈ 250 B per closure, ≈ 3 KB per device), a cost the
 *   published build does not have.
 *
 * `FLEETKIT_BENCH_DEVICES` (default 1,000) and `FLEETKIT_BENCH_MEMORY_DEVICES` (default 60,000) set N and M;
 * `FLEETKIT_BENCH_PART=day` or `=memory` runs one part only. At 60,000 devices the heap needs
 * about 2 GB: `node --expose-gc --max-old-space-size=4096 --import tsx bench/run.ts device`.
 */
import { SimulatedClock } from '../src/clock.js';
import { VirtualDevice } from '../src/device/index.js';
import { MemoryBroker, MemoryTransport } from '../src/memory.js';
import { fleetTopicFilter, shadowResponseFilter } from '../src/protocol/topics.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, heapUsed, printTable, verdict } from './lib.js';

const DAY_MS = 86_400_000;
const STEP_MS = 10_000;
const T0 = 1_700_000_000_000;
const N = Number(process.env['FLEETKIT_BENCH_DEVICES'] ?? 1_000);
const PART = process.env['FLEETKIT_BENCH_PART'];
const M = Number(process.env['FLEETKIT_BENCH_MEMORY_DEVICES'] ?? 60_000);

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Steps `clock` through one day, one macrotask turn per step (deliveries run between steps). */
async function day(clock: SimulatedClock): Promise<number> {
  const start = performance.now();
  for (let t = 0; t < DAY_MS; t += STEP_MS) {
    clock.advance(STEP_MS);
    await turn();
  }
  return performance.now() - start;
}

/** The baseline: five self-rescheduling timers per device that only count, on the same clock type. */
async function bareTimers(n: number): Promise<{ ms: number; fired: number }> {
  const clock = new SimulatedClock(T0);
  let fired = 0;
  const periods = [10_000, 30_000, 5_000, 15_000, 60_000];
  for (let i = 0; i < n; i++) {
    for (const every of periods) {
      let due = clock.now() + every;
      const tick = (): void => {
        due += every;
        clock.setTimeout(tick, due - clock.now());
        fired++;
      };
      clock.setTimeout(tick, every);
    }
  }
  const ms = await day(clock);
  return { ms, fired };
}

async function virtualFleet(n: number): Promise<{ ms: number; heartbeats: number; telemetry: number }> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  await backend.connect();
  let heartbeats = 0;
  let telemetry = 0;
  await backend.subscribe(fleetTopicFilter('heartbeat', { tenantId: 'acme' }), () => void heartbeats++, { qos: 1 });
  await backend.subscribe(fleetTopicFilter('telemetry', { tenantId: 'acme' }), () => void telemetry++, { qos: 1 });
  const devices: VirtualDevice[] = [];
  for (let i = 0; i < n; i++) {
    const transport = new MemoryTransport({ broker, clientId: `esp-${i}`, clock });
    const device = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: `esp-${i}`, seed: i });
    devices.push(device);
    await device.boot();
  }
  await turn();
  const ms = await day(clock);
  for (let i = 0; i < 4; i++) await turn();
  const expected = n * 8_640;
  if (heartbeats !== expected) throw new Error(`expected ${expected} heartbeats, the backend got ${heartbeats}`);
  await Promise.all(devices.map((d) => d.shutdown()));
  return { ms, heartbeats, telemetry };
}

/** The newest modification time of any file below `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** The built package's modules (built first when dist/ is missing or older than src/). */
async function builtPackage(): Promise<{ SimulatedClock: typeof SimulatedClock; VirtualDevice: typeof VirtualDevice; MemoryBroker: typeof MemoryBroker; MemoryTransport: typeof MemoryTransport }> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const dist = join(root, 'dist', 'device.js');
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest(join(root, 'src'))) execFileSync('npx', ['tsup', '--silent'], { cwd: root, stdio: 'inherit' });
  const [index, device, memory] = (await Promise.all([import(join(root, 'dist', 'index.js')), import(dist), import(join(root, 'dist', 'memory.js'))])) as [{ SimulatedClock: typeof SimulatedClock }, { VirtualDevice: typeof VirtualDevice }, { MemoryBroker: typeof MemoryBroker; MemoryTransport: typeof MemoryTransport }];
  return { SimulatedClock: index.SimulatedClock, VirtualDevice: device.VirtualDevice, MemoryBroker: memory.MemoryBroker, MemoryTransport: memory.MemoryTransport };
}

async function memory(m: number): Promise<{ device: number; transport: number }> {
  const { SimulatedClock, VirtualDevice, MemoryBroker, MemoryTransport } = await builtPackage();
  // Transport + broker session + the subscriptions a device agent holds, alone.
  let before = heapUsed();
  {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const keep: MemoryTransport[] = [];
    for (let i = 0; i < m; i++) {
      const t = new MemoryTransport({ broker, clientId: `esp-${i}`, clock });
      await t.connect();
      await t.subscribe(shadowResponseFilter(`esp-${i}`), () => undefined, { qos: 1 });
      await t.subscribe(fleetTopicFilter('command', { tenantId: 'acme', deviceId: `esp-${i}` }), () => undefined, { qos: 1 });
      keep.push(t);
    }
    const transport = (heapUsed() - before) / m;
    keep.length = 0;
    before = heapUsed();
    const devices: VirtualDevice[] = [];
    const clock2 = new SimulatedClock(T0);
    const broker2 = new MemoryBroker();
    for (let i = 0; i < m; i++) {
      const t = new MemoryTransport({ broker: broker2, clientId: `esp-${i}`, clock: clock2 });
      const d = new VirtualDevice({ transport: t, clock: clock2, tenantId: 'acme', deviceId: `esp-${i}`, seed: i });
      await d.boot();
      devices.push(d);
    }
    // One minute of running, so every loop has fired and allocated what it keeps.
    for (let s = 0; s < 6; s++) {
      clock2.advance(STEP_MS);
      await turn();
    }
    const device = (heapUsed() - before) / m;
    if (devices.length !== m || broker.stats === undefined) throw new Error('unreachable');
    return { device, transport };
  }
}

/** Runs the device benchmarks. */
export async function run(): Promise<void> {
  if (PART !== 'memory') await dayBench();
  if (PART !== 'day') await memoryBench();
}

async function dayBench(): Promise<void> {
  const base = await bareTimers(N);
  const ours = await virtualFleet(N);
  const deviceSeconds = (N * DAY_MS) / 1000;
  const baseRate = deviceSeconds / (base.ms / 1000);
  const ourRate = deviceSeconds / (ours.ms / 1000);
  printTable(`${fmt(N)} virtual devices × one simulated day on a SimulatedClock (10 s steps)`, [
    { case: `bare loop: 5 self-rescheduling timers per device (${fmt(base.fired)} callbacks)`, 'wall ms': fmt(base.ms), 'device-s / wall-s': fmt(baseRate), ratio: '1.00×' },
    {
      case: `VirtualDevice fleet (${fmt(ours.heartbeats)} heartbeats + ${fmt(ours.telemetry)} telemetry delivered)`,
      'wall ms': fmt(ours.ms),
      'device-s / wall-s': fmt(ourRate),
      ratio: `${fmt(ourRate / baseRate, 2)}×`,
    },
  ]);
}

async function memoryBench(): Promise<void> {
  const mem = await memory(M);
  printTable(`Heap per virtual device at ${fmt(M)} devices on one MemoryBroker (the built package)`, [
    { case: 'transport + broker session + the 2 subscriptions an agent holds, alone (baseline)', 'bytes / device': fmt(mem.transport), verdict: '—' },
    { case: 'VirtualDevice on its transport (all of it, after 1 simulated minute)', 'bytes / device': fmt(mem.device), verdict: verdict(mem.device <= 10_240, '≤ 10 KB') },
    { case: 'the difference: agent, device state, timers and what using the link adds', 'bytes / device': fmt(mem.device - mem.transport), verdict: verdict(mem.device - mem.transport <= 10_240, '≤ 10 KB') },
  ]);
}
