/**
 * Operations core benchmarks: the full anomaly-detector set per sample and its state per sensor,
 * limiter decisions, and the data reduction of tumbling-window aggregation on a smart-building
 * telemetry stream. Each rate sits beside a named baseline measured in the same run.
 */
import { createSensorState, defineSensor, measureReduction, observeSensor, SensorBank, type SensorState } from '../src/fog/index.js';
import { createLimiter, decide, type LimiterState } from '../src/tenancy/index.js';
import { createFleet } from '../src/cloud/index.js';
import { defineProvisioningTemplate } from '../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport } from '../src/memory.js';
import { QuotaEnforcer } from '../src/tenancy/index.js';
import { fmt, heapUsed, printTable, verdict } from './lib.js';
import { seededRandom } from '../src/transport/backoff.js';

/** Heap plus ArrayBuffer backing stores (a Float64Array's numbers live outside the JS heap). */
function memoryUsed(): number {
  return heapUsed() + process.memoryUsage().arrayBuffers;
}

const rng = seededRandom;

const MIN = 60_000;
const T0 = 1_700_000_000_000;
const SENSORS = 1_000;
const STEPS = 2_000; // samples per sensor: 2,000,000 in all

/** Room temperatures: noise, occasional setpoint steps and spikes, one sensor in fifty drifting. */
function stream(): { values: Float64Array; times: Float64Array } {
  const r = rng(42);
  const values = new Float64Array(SENSORS * STEPS);
  const times = new Float64Array(SENSORS * STEPS);
  const level = Float64Array.from({ length: SENSORS }, () => 19 + 4 * r());
  for (let k = 0; k < STEPS; k++) {
    for (let j = 0; j < SENSORS; j++) {
      if (r() < 0.001) level[j] = (level[j] as number) + (r() < 0.5 ? -1 : 1);
      const noise = (r() + r() + r() - 1.5) * 0.1;
      const drift = j % 50 === 0 ? k * 0.002 : 0;
      const spike = r() < 0.0005 ? 3 : 0;
      values[k * SENSORS + j] = (level[j] as number) + noise + drift + spike;
      times[k * SENSORS + j] = T0 + k * MIN + j;
    }
  }
  return { values, times };
}

const TEMP = defineSensor({ id: 'temp', range: { min: -40, max: 85 }, intervalMs: MIN, drift: { threshold: 0.5 } });

function timeSync(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

function detectorRows(): Record<string, string>[] {
  const { values, times } = stream();
  const n = values.length;
  let findings = 0;
  const pass = (): number => {
    const states: SensorState[] = Array.from({ length: SENSORS }, () => createSensorState(TEMP));
    return timeSync(() => {
      for (let i = 0; i < n; i++) findings += observeSensor(states[i % SENSORS] as SensorState, values[i] as number, times[i] as number).length;
    });
  };
  // Baseline: a plain streaming loop over the same samples keeping min, max and mean per sensor.
  const base = (): number => {
    const stats = Array.from({ length: SENSORS }, () => ({ min: Infinity, max: -Infinity, sum: 0, count: 0 }));
    const ms = timeSync(() => {
      for (let i = 0; i < n; i++) {
        const s = stats[i % SENSORS] as { min: number; max: number; sum: number; count: number };
        const v = values[i] as number;
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
        s.sum += v;
        s.count++;
      }
    });
    if (stats[0]?.count === -1) console.log(stats[0]);
    return ms;
  };
  const bankPass = (): number => {
    const bank = new SensorBank(Array.from({ length: SENSORS }, () => TEMP));
    return timeSync(() => {
      for (let i = 0; i < n; i++) findings += bank.observe(i % SENSORS, values[i] as number, times[i] as number).length;
    });
  };
  pass();
  bankPass();
  base();
  findings = 0;
  const ours = Math.min(pass(), pass(), pass());
  const found = findings / 3;
  const banked = Math.min(bankPass(), bankPass(), bankPass());
  const bankRate = n / (banked / 1000);
  const plain = Math.min(base(), base(), base());
  const rate = n / (ours / 1000);
  const plainRate = n / (plain / 1000);
  return [
    { case: `full detector set (range, stuck, spike, drift, gap), ${fmt(n)} samples, ${fmt(SENSORS)} sensors`, 'samples/s': fmt(rate), 'vs baseline': `${fmt(plainRate / rate, 1)}× slower`, findings: fmt(found), target: verdict(rate >= 5_000_000, '≥ 5,000,000/s') },
    { case: 'the same through a SensorBank (one array for all sensors)', 'samples/s': fmt(bankRate), 'vs baseline': `${fmt(plainRate / bankRate, 1)}× slower`, findings: '', target: verdict(bankRate >= 5_000_000, '≥ 5,000,000/s') },
    { case: 'baseline: plain streaming min/max/mean per sensor', 'samples/s': fmt(plainRate), 'vs baseline': '1.0×', findings: '', target: '' },
  ];
}

function stateRows(): Record<string, string>[] {
  const N = 100_000;
  const r = rng(7);
  const before = memoryUsed();
  const shared: SensorState[] = new Array<SensorState>(N);
  for (let i = 0; i < N; i++) shared[i] = createSensorState(TEMP);
  // Feed each past the warm-up so every field holds its steady-state representation.
  for (let k = 0; k < 40; k++) for (let i = 0; i < N; i++) observeSensor(shared[i] as SensorState, 21 + r() * 0.1, T0 + k * MIN);
  const sharedBytes = (memoryUsed() - before) / N;
  const before2 = memoryUsed();
  const bank = new SensorBank(Array.from({ length: N }, () => TEMP));
  for (let k = 0; k < 40; k++) for (let i = 0; i < N; i++) bank.observe(i, 21 + r() * 0.1, T0 + k * MIN);
  const bankBytes = (memoryUsed() - before2) / N;
  if (shared.length + bank.size === 0) console.log('');
  return [
    { case: 'SensorBank of 100,000 sensors, one configuration per sensor type (after warm-up)', 'bytes/sensor': fmt(bankBytes), target: verdict(bankBytes <= 256, '≤ 256 B') },
    { case: '100,000 separate SensorState objects (each with its own Float64Array), shared configuration', 'bytes/sensor': fmt(sharedBytes), target: '' },
  ];
}

function limiterRows(): Record<string, string>[] {
  const L = 1_024;
  const N = 20_000_000;
  let allowed = 0;
  const ours = (): number => {
    const states: LimiterState[] = Array.from({ length: L }, () => createLimiter({ ratePerSecond: 100, burst: 20 }));
    return timeSync(() => {
      for (let i = 0; i < N; i++) {
        const k = i & (L - 1);
        const d = decide(states[k] as LimiterState, 1, T0 + (i >>> 10));
        if (d.allowed) allowed++;
        states[k] = d.next;
      }
    });
  };
  // Baseline: the same loop with only the GCRA arithmetic on a Float64Array of arrival times.
  const base = (): number => {
    const tat = new Float64Array(L);
    const interval = 10_000;
    const tolerance = 20 * interval;
    return timeSync(() => {
      for (let i = 0; i < N; i++) {
        const k = i & (L - 1);
        const nowUs = (T0 + (i >>> 10)) * 1000;
        const t = tat[k] as number;
        const next = (t > nowUs ? t : nowUs) + interval;
        if (next <= nowUs + tolerance) {
          tat[k] = next;
          allowed++;
        }
      }
    });
  };
  ours();
  base();
  const o = Math.min(ours(), ours(), ours());
  const b = Math.min(base(), base(), base());
  const rate = N / (o / 1000);
  const baseRate = N / (b / 1000);
  if (allowed === -1) console.log(allowed);
  return [
    { case: `decide(state, 1, now) × ${fmt(N)} over ${fmt(L)} limiters (validated, new state value per decision)`, 'decisions/s': fmt(rate), 'vs baseline': `${fmt(baseRate / rate, 1)}× slower`, target: verdict(rate >= 10_000_000, '≥ 10,000,000/s') },
    { case: 'baseline: the same loop, GCRA arithmetic only (typed array, no checks, no allocation)', 'decisions/s': fmt(baseRate), 'vs baseline': '1.0×', target: '' },
  ];
}

/**
 * A smart-building stream as the calculator's defaults describe it (1 s readings, 60 s windows,
 * 200 B raw, 400 B summary): per floor, room temperatures, humidity, CO2 (occupancy-driven), lux,
 * electrical power and valve positions, over a working morning (6:00–10:00, when occupancy, CO2 and
 * lux change). Raw samples are forwarded by exception when they leave a deadband of 2.5 σ of the
 * sensor's noise (1 % for valve positions).
 */
function reductionRows(): Record<string, string>[] {
  const r = rng(2024);
  const g = (): number => (r() + r() + r() - 1.5) * 2; // ≈ N(0, 1)
  const DAY = 86_400_000;
  const STEP = 1_000;
  const FROM = 6 * 3_600_000;
  const SPAN = 4 * 3_600_000;
  const occupancy = (t: number): number => Math.min(1, Math.max(0, (t - 7.5 * 3_600_000) / 3_600_000));
  const kinds = [
    { name: 'temperature °C', count: 60, sigma: 0.05, gen: (t: number, j: number) => 20 + 1.5 * occupancy(t) + 0.2 * Math.sin(t / 900_000 + j) },
    { name: 'humidity %RH', count: 30, sigma: 0.3, gen: (t: number, j: number) => 42 + 6 * occupancy(t) + Math.sin(t / 1_200_000 + j) },
    { name: 'CO2 ppm', count: 30, sigma: 8, gen: (t: number, j: number) => 420 + 500 * occupancy(t) * (1 + 0.2 * Math.sin(t / 600_000 + j)) },
    { name: 'lux', count: 20, sigma: 3, gen: (t: number) => 600 * Math.max(0, Math.sin((Math.PI * (t - 6 * 3_600_000)) / (12 * 3_600_000))) },
    { name: 'power kW', count: 10, sigma: 0.8, gen: (t: number, j: number) => 20 + 25 * occupancy(t) + 3 * Math.sin(t / 300_000 + j) },
    { name: 'valve %', count: 30, sigma: 0, gen: (t: number, j: number) => (Math.floor(t / 1_800_000 + j) % 3) * 40 },
  ];
  const rows: Record<string, string>[] = [];
  let raw = 0;
  let out = 0;
  for (const k of kinds) {
    let kRaw = 0;
    let kOut = 0;
    let exceptions = 0;
    let samplesIn = 0;
    const band = k.sigma === 0 ? 1 : 2.5 * k.sigma;
    for (let j = 0; j < k.count; j++) {
      const samples = Array.from({ length: SPAN / STEP }, (_, i) => {
        const t = FROM + i * STEP;
        return { at: T0 - (T0 % DAY) + t, value: k.gen(t, j) + k.sigma * g() };
      });
      const m = measureReduction(samples, { windowMs: 60_000, deadband: band });
      kRaw += m.rawBytes;
      kOut += m.forwardedBytes;
      exceptions += m.exceptions;
      samplesIn += m.rawSamples;
    }
    raw += kRaw;
    out += kOut;
    rows.push({ stream: `${k.count} × ${k.name}, deadband ${fmt(band, 2)}`, 'raw MB': fmt(kRaw / 1e6, 1), 'forwarded MB': fmt(kOut / 1e6, 2), exceptions: `${fmt((100 * exceptions) / samplesIn, 1)} %`, reduction: `${fmt(100 * (1 - kOut / kRaw), 1)} %`, target: '' });
  }
  const total = 1 - out / raw;
  rows.push({ stream: 'building: 180 sensors, 4 h, 1 s readings, 60 s windows', 'raw MB': fmt(raw / 1e6, 1), 'forwarded MB': fmt(out / 1e6, 2), exceptions: '', reduction: `${fmt(100 * total, 1)} %`, target: verdict(total >= 0.8 && total <= 0.92, '80–92 % (the published range)') });
  return rows;
}

/**
 * Tenant isolation under a flood, in wall-clock time on the memory broker: a quiet tenant's device
 * sends 200 shadow updates/s (half its quota) and times each from publish to its
 * `/update/accepted`; the noisy tenant's 10 devices flood at 10× their tenant's quota (1,000
 * telemetry messages/s against 100/s, 100 shadow updates/s against 10/s). Three phases — the quiet
 * tenant alone, with the flood under quotas, and (the contrast) with the same flood and no quotas —
 * run interleaved in 16 rounds of 0.5 s, so that other load on the machine falls on all three
 * alike; the p99 compared is that of the best round (the median round is shown beside it). The noisy tenant's accepted updates include the burst refilled between its rounds.
 */
async function isolationRows(): Promise<Record<string, string>[]> {
  const template = defineProvisioningTemplate({ name: 'bench', desiredConfig: {}, policies: [], home: { rules: [], fallback: { region: 'eu', endpoint: 'mqtts://x' }, topics: {} } });
  const ROUNDS = 16;
  const ROUND_MS = 500;
  interface Rig {
    readonly q: MemoryTransport;
    readonly n: MemoryTransport;
    readonly sentAt: Map<string, number>;
    latencies: number[];
    noisyAccepted: number;
    close(): Promise<void>;
  }
  const rig = async (enforce: boolean): Promise<Rig> => {
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    const quotas = enforce
      ? new QuotaEnforcer({ tenants: [{ tenantId: 'noisy', messagesPerSecond: 100, shadowUpdatesPerSecond: 10 }, { tenantId: 'quiet', messagesPerSecond: 100, shadowUpdatesPerSecond: 400 }] })
      : undefined;
    const fleet = await createFleet({ transport: backend, template, health: { certificates: false }, ...(quotas === undefined ? {} : { quotas }) });
    await fleet.registry.register({ tenantId: 'quiet' }, { deviceId: 'q1' });
    for (let i = 0; i < 10; i++) await fleet.registry.register({ tenantId: 'noisy' }, { deviceId: `n${i}` });
    const q = new MemoryTransport({ broker, clientId: 'q1', queue: { maxMessages: 100_000 }, maxInFlight: 10_000 });
    const n = new MemoryTransport({ broker, clientId: 'noisy', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    await q.connect();
    await n.connect();
    const r: Rig = {
      q,
      n,
      sentAt: new Map(),
      latencies: [],
      noisyAccepted: 0,
      async close() {
        await fleet.close();
        await q.close();
        await n.close();
        await backend.close();
      },
    };
    const decoder = new TextDecoder();
    await q.subscribe('$aws/things/q1/shadow/update/accepted', (m) => {
      const token = (JSON.parse(decoder.decode(m.payload)) as { clientToken?: string }).clientToken;
      const t = token === undefined ? undefined : r.sentAt.get(token);
      if (t !== undefined) r.latencies.push(performance.now() - t);
    }, { qos: 1 });
    await n.subscribe('$aws/things/+/shadow/update/accepted', (m) => {
      if (!m.topic.startsWith('$aws/things/q1/')) r.noisyAccepted++;
    }, { qos: 0 });
    return r;
  };
  let k = 0;
  const round = async (r: Rig, flood: boolean, record: number[]): Promise<void> => {
    const start = performance.now();
    let nextQuiet = start;
    let nextFlood = start;
    let tick = 0;
    r.latencies = record;
    while (performance.now() - start < ROUND_MS) {
      const now = performance.now();
      if (now >= nextQuiet) {
        nextQuiet += 5; // 200 updates/s
        const token = `c${k++}`;
        r.sentAt.set(token, performance.now());
        void r.q.publish('$aws/things/q1/shadow/update', JSON.stringify({ state: { reported: { n: k } }, clientToken: token }), { qos: 1 });
      }
      if (flood && now >= nextFlood) {
        // Per millisecond one message, and an update every 10 ms: 10× the noisy tenant's quotas,
        // spread as the traffic of many devices is.
        nextFlood += 1;
        tick++;
        void r.n.publish(`dt/noisy/n${tick % 10}/telemetry`, JSON.stringify({ ts: Date.now(), values: { t: tick } }), { qos: 1 });
        if (tick % 10 === 0) void r.n.publish(`$aws/things/n${(tick / 10) % 10}/shadow/update`, JSON.stringify({ state: { reported: { n: tick } } }), { qos: 1 });
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the round's answers arrive
  };
  const enforced = await rig(true);
  const open = await rig(false);
  const alone: number[][] = [];
  const loaded: number[][] = [];
  const unprotected: number[][] = [];
  await round(enforced, true, []); // warm-up
  await round(open, true, []);
  enforced.noisyAccepted = 0;
  open.noisyAccepted = 0;
  for (let i = 0; i < ROUNDS; i++) {
    alone.push([]);
    loaded.push([]);
    unprotected.push([]);
    await round(enforced, false, alone.at(-1) as number[]);
    await round(enforced, true, loaded.at(-1) as number[]);
    await round(open, true, unprotected.at(-1) as number[]);
  }
  await enforced.close();
  await open.close();
  const pct = (xs: number[], p: number): number => {
    const sorted = [...xs].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  };
  const seconds = (ROUNDS * ROUND_MS) / 1000;
  // The p99 of each round, then the best round, as every rate in this suite is the best of
  // repeated runs: other processes' load on a shared machine is filtered out, the flood in this
  // process is not. The median over the rounds is shown beside it.
  const p99 = (rounds: number[][]): number => Math.min(...rounds.map((xs) => pct(xs, 99)));
  const p99Median = (rounds: number[][]): number => pct(rounds.map((xs) => pct(xs, 99)), 50);
  const row = (name: string, rounds: number[][], accepted: string, target: string): Record<string, string> => ({
    case: name,
    'quiet p50 ms': fmt(pct(rounds.flat(), 50), 3),
    'quiet p99 ms (best round)': fmt(p99(rounds), 3),
    'median round': fmt(p99Median(rounds), 3),
    samples: fmt(rounds.flat().length),
    'noisy updates accepted/s': accepted,
    'p99 vs alone': `${fmt(p99(rounds) / p99(alone), 2)}×`,
    target,
  });
  const ratio = p99(loaded) / p99(alone);
  return [
    row('quiet tenant alone (200 shadow updates/s)', alone, '', ''),
    row('noisy tenant flooding at 10× its quota, quotas enforced', loaded, fmt(enforced.noisyAccepted / seconds, 1), verdict(ratio <= 2, '≤ 2× alone')),
    row('contrast: the same flood, no quotas', unprotected, fmt(open.noisyAccepted / seconds, 1), ''),
  ];
}

/** Runs the suite. */
export async function run(): Promise<void> {
  if (process.env['FLEETKIT_BENCH_ONLY'] === 'detectors') {
    printTable('ops: anomaly detection throughput (one core)', detectorRows());
    return;
  }
  if (process.env['FLEETKIT_BENCH_ONLY'] === 'isolation') {
    printTable('ops: tenant isolation under a 10× flood (wall clock, memory broker)', await isolationRows());
    return;
  }
  printTable('ops: anomaly detection throughput (one core)', detectorRows());
  printTable('ops: detector state per sensor', stateRows());
  printTable('ops: limiter decisions', limiterRows());
  printTable('ops: fog aggregation data reduction (smart-building morning)', reductionRows());
  printTable('ops: tenant isolation under a 10× flood (wall clock, memory broker)', await isolationRows());
}
