// FogGateway on the memory broker with a SimulatedClock: the reduction on a smart-building stream
// (and agreement with measureReduction and with `fleetkit calc fog-data-reduction`), injected
// faults forwarded raw with their findings, store-and-forward across uplink loss (in order, and
// bounded with drop-oldest).
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { fogDataReduction } from '../../src/calc/index.js';
import { runCli, type CliIo } from '../../src/cli/main.js';
import { FogGateway, GatewayConnection, type FogSensor } from '../../src/device/index.js';
import { FleetError } from '../../src/errors.js';
import { measureReduction, type TimedSample } from '../../src/fog/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { expectFleetError, hostileValues, thrownBy } from '../support/hostile.js';
import { createFleet } from '../../src/cloud/index.js';
import { TEMPLATE } from '../cloud/fleet-rig.js';
import { isFleetError } from '../../src/errors.js';
import { seededRandom } from '../../src/transport/backoff.js';

const DAY = 86_400_000;
const T0 = 1_700_000_000_000 - (1_700_000_000_000 % DAY); // midnight UTC
const open: { close(): Promise<void> }[] = [];
let fogs: FogGateway[] = [];
afterEach(async () => {
  for (const f of fogs) await f.stop();
  fogs = [];
  for (const c of open.splice(0).reverse()) await c.close();
});

const rng = seededRandom;

/**
 * A smaller building of the benchmark's smart-building stream (bench/ops.bench.ts): per kind a
 * few sensors, 1 s readings, the morning's occupancy ramp; deadband 2.5 σ of the noise (1 % for
 * valves). Each kind runs the detectors that make sense for it.
 */
interface Kind {
  readonly name: string;
  readonly count: number;
  readonly sigma: number;
  readonly gen: (t: number, j: number) => number;
  readonly sensor: Omit<FogSensor['config'], 'id' | 'intervalMs'>;
}
const occupancy = (t: number): number => Math.min(1, Math.max(0, (t - 7.5 * 3_600_000) / 3_600_000));
const KINDS: readonly Kind[] = [
  { name: 'temp', count: 6, sigma: 0.05, gen: (t, j) => 20 + 1.5 * occupancy(t) + 0.2 * Math.sin(t / 900_000 + j), sensor: { range: { min: -10, max: 50 }, detectors: ['range', 'stuck', 'spike', 'drift', 'gap'], drift: { threshold: 2.5 } } },
  { name: 'hum', count: 3, sigma: 0.3, gen: (t, j) => 42 + 6 * occupancy(t) + Math.sin(t / 1_200_000 + j), sensor: { range: { min: 0, max: 100 }, detectors: ['range', 'stuck', 'spike', 'gap'] } },
  { name: 'co2', count: 3, sigma: 8, gen: (t, j) => 420 + 500 * occupancy(t) * (1 + 0.2 * Math.sin(t / 600_000 + j)), sensor: { range: { min: 300, max: 5000 }, detectors: ['range', 'stuck', 'spike', 'gap'] } },
  { name: 'lux', count: 2, sigma: 3, gen: (t) => 600 * Math.max(0, Math.sin((Math.PI * (t - 6 * 3_600_000)) / (12 * 3_600_000))), sensor: { range: { min: -50, max: 100_000 }, detectors: ['range', 'gap'] } },
  { name: 'power', count: 1, sigma: 0.8, gen: (t, j) => 20 + 25 * occupancy(t) + 3 * Math.sin(t / 300_000 + j), sensor: { range: { min: -5, max: 500 }, detectors: ['range', 'stuck', 'spike', 'gap'] } },
  { name: 'valve', count: 3, sigma: 0, gen: (t, j) => (Math.floor(t / 1_800_000 + j) % 3) * 40, sensor: { range: { min: 0, max: 100 }, detectors: ['range', 'stuck', 'gap'], flatIsNormal: true } },
];

interface Building {
  readonly sensors: FogSensor[];
  /** The reading of sensor `i` at time-of-day `t` (deterministic per (i, step)). */
  sample(i: number, step: number): number;
}

function building(): Building {
  const sensors: FogSensor[] = [];
  const info: { kind: Kind; j: number }[] = [];
  for (const kind of KINDS) {
    for (let j = 0; j < kind.count; j++) {
      sensors.push({ config: { ...kind.sensor, id: `${kind.name}-${j}`, intervalMs: 1000 } as FogSensor['config'], deadband: kind.sigma === 0 ? 1 : 2.5 * kind.sigma });
      info.push({ kind, j });
    }
  }
  const r = rng(2024);
  const cache = new Map<number, number>();
  return {
    sensors,
    sample(i, step) {
      const key = step * sensors.length + i;
      let noise = cache.get(key);
      if (noise === undefined) {
        noise = (r() + r() + r() - 1.5) * 2;
        cache.set(key, noise);
      }
      const { kind, j } = info[i] as { kind: Kind; j: number };
      const t = 6 * 3_600_000 + step * 1000;
      return kind.gen(t, j) + kind.sigma * noise;
    },
  };
}

interface Uplink {
  readonly clock: SimulatedClock;
  readonly gateway: GatewayConnection;
  /** Telemetry the cloud side received, in arrival order. */
  readonly got: { topic: string; sensor: string; ts: number; seq: number; values: Record<string, unknown> }[];
  /** Takes the uplink down (forced disconnect; reconnects fail) or brings it back. */
  setDown(down: boolean): void;
  settle(): Promise<void>;
}

async function uplink(): Promise<Uplink> {
  const clock = new SimulatedClock(T0 + 6 * 3_600_000);
  const broker = new MemoryBroker();
  let down = false;
  // The gateway's own view of the broker: while down, connection attempts fail as a lost link would.
  const link = {
    connect: (...a: Parameters<MemoryBroker['connect']>) => {
      if (down) throw new FleetError('NOT_CONNECTED', 'uplink down');
      return broker.connect(...a);
    },
    publish: (...a: Parameters<MemoryBroker['publish']>) => broker.publish(...a),
    subscribe: (...a: Parameters<MemoryBroker['subscribe']>) => broker.subscribe(...a),
    unsubscribe: (...a: Parameters<MemoryBroker['unsubscribe']>) => broker.unsubscribe(...a),
    disconnectClient: (...a: Parameters<MemoryBroker['disconnectClient']>) => broker.disconnectClient(...a),
  } as unknown as MemoryBroker;
  const transport = new MemoryTransport({ broker: link, clientId: 'gw-1', clock, queue: { maxMessages: 100_000 }, maxInFlight: 1000 });
  const gateway = new GatewayConnection({ transport, tenantId: 'acme' });
  open.push(gateway);
  const cloud = new MemoryTransport({ broker, clientId: 'cloud', queue: { maxMessages: 1_000_000 } });
  open.push(cloud);
  await cloud.connect();
  const got: Uplink['got'] = [];
  const decoder = new TextDecoder();
  await cloud.subscribe('dt/acme/+/telemetry', (m) => {
    const body = JSON.parse(decoder.decode(m.payload)) as { ts: number; seq: number; values: Record<string, unknown> };
    got.push({ topic: m.topic, sensor: m.topic.split('/')[2] as string, ...body });
  }, { qos: 1 });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 12; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    clock,
    gateway,
    got,
    setDown(d) {
      down = d;
      if (d) broker.disconnect('gw-1');
    },
    settle,
  };
}

/** Feeds `steps` seconds of the building into the gateway, one reading per sensor per second. */
async function feed(u: Uplink, fog: FogGateway, b: Building, from: number, steps: number, tweak?: (i: number, step: number, v: number) => number | undefined): Promise<void> {
  for (let step = from; step < from + steps; step++) {
    for (let i = 0; i < b.sensors.length; i++) {
      const v = b.sample(i, step);
      const x = tweak === undefined ? v : tweak(i, step, v);
      if (x !== undefined) fog.observe(b.sensors[i]?.config.id as string, x);
    }
    u.clock.advance(1000);
    if (step % 20 === 0) await u.settle();
  }
  await u.settle();
}

describe('FogGateway', () => {
  it('reduces the smart-building stream within 80–92 %, equal to measureReduction and to the calculator', async () => {
    const u = await uplink();
    const b = building();
    const fog = new FogGateway({ gateway: u.gateway, tenantId: 'acme', clock: u.clock, sensors: b.sensors });
    fogs.push(fog);
    await fog.start();
    const STEPS = 4 * 3600; // 6:00–10:00
    await feed(u, fog, b, 0, STEPS);
    fog.closeWindows(Infinity);
    await u.settle();
    const r = fog.report();
    expect(r.anomalyMessages).toBe(0); // a clean stream raises no finding
    expect(r.reductionFraction).toBeGreaterThanOrEqual(0.8);
    expect(r.reductionFraction).toBeLessThanOrEqual(0.92);
    // The same stream through the core's measureReduction, sensor by sensor.
    let exceptions = 0;
    let summaries = 0;
    b.sensors.forEach((s, i) => {
      const samples: TimedSample[] = Array.from({ length: STEPS }, (_, step) => ({ value: b.sample(i, step), at: T0 + 6 * 3_600_000 + step * 1000 }));
      const m = measureReduction(samples, { windowMs: 60_000, deadband: s.deadband ?? Infinity });
      exceptions += m.exceptions;
      summaries += m.summaries;
    });
    expect(r.rawForwarded).toBe(exceptions);
    expect(r.summaries).toBe(summaries);
    expect(r.rawSamples).toBe(STEPS * b.sensors.length);
    // Everything forwarded arrived, once.
    expect(r.buffered).toBe(0);
    expect(u.got.length).toBe(r.summaries + r.rawForwarded);
    expect(r.sent).toBe(u.got.length);
    // The calculator on the measured exception fraction gives the gateway's reduction …
    const calc = fogDataReduction({ devices: b.sensors.length, sampleIntervalSeconds: 1, windowSeconds: 60, exceptionFraction: r.exceptionFraction });
    expect(calc.reductionFraction).toBeCloseTo(r.reductionFraction, 12);
    expect(calc.withinPublishedRange).toBe(true);
    // … and so does the command line.
    let out = '';
    const io: CliIo = { out: (t) => void (out += t), err: () => undefined, version: () => '0.0.0' };
    const code = await runCli(['calc', 'fog-data-reduction', '--devices', String(b.sensors.length), '--exception-fraction', String(r.exceptionFraction), '--json'], io);
    expect(code).toBe(0);
    expect((JSON.parse(out) as { reductionFraction: number }).reductionFraction).toBeCloseTo(r.reductionFraction, 12);
  });

  it('forwards injected faults raw with their findings: a spike, a stuck run, a gap', async () => {
    const u = await uplink();
    const b = building();
    const fog = new FogGateway({ gateway: u.gateway, tenantId: 'acme', clock: u.clock, sensors: b.sensors, anomalyContext: 3 });
    fogs.push(fog);
    const seen: string[] = [];
    fog.on('anomaly', (f) => seen.push(`${f.kind} ${f.sensorId} +${(f.at - T0 - 6 * 3_600_000) / 1000}`));
    await fog.start();
    const SPIKE = 300;
    const tweak = (i: number, step: number, v: number): number | undefined => {
      if (i === 0 && step === SPIKE) return v + 5; // temp-0: a 5 °C one-sample spike
      if (i === 1 && step >= 400 && step < 450) return 21.25; // temp-1: stuck for 50 samples, then live again
      if (i === 2 && step >= 500 && step < 510) return undefined; // temp-2: silent for 10 s
      return v;
    };
    await feed(u, fog, b, 0, 700, tweak);
    // The gap is reported by the clock tick one interval after the missing sample (+500 → +501).
    expect(seen).toEqual(['spike temp-0 +300', 'stuck temp-1 +429', 'gap temp-2 +501']);
    expect(fog.report().anomalies).toEqual({ out_of_range: 0, stuck: 1, spike: 1, drift: 0, gap: 1 });
    const of = (sensor: string) => u.got.filter((m) => m.sensor === sensor);
    // The spike: the finding and the raw samples around it (3 before, the spike, 3 after).
    const spike = of('temp-0');
    expect(spike.find((m) => m.values['fog'] === 'anomaly')?.values).toMatchObject({ kind: 'spike', evidence: { value: b.sample(0, SPIKE) + 5 } });
    const raw = spike.filter((m) => m.values['fog'] === 'raw' && m.values['reason'] === 'anomaly').map((m) => (m.ts - T0 - 6 * 3_600_000) / 1000);
    const deadband = spike.filter((m) => m.values['fog'] === 'raw' && m.values['reason'] === 'deadband').map((m) => (m.ts - T0 - 6 * 3_600_000) / 1000);
    // Each sample of 297–304 went out exactly once, as deadband exception or anomaly context:
    // 3 before the spike, the spike, the sample that confirmed it and 3 after that.
    const around = [...raw, ...deadband].filter((s) => s >= 296 && s <= 305).sort((x, y) => x - y);
    expect(around.filter((s) => s >= 297 && s <= 304)).toEqual([297, 298, 299, 300, 301, 302, 303, 304]);
    expect(raw.filter((s) => s < 297 || s > 304)).toEqual([]);
    expect(spike.find((m) => m.values['fog'] === 'raw' && m.ts === T0 + 6 * 3_600_000 + SPIKE * 1000)?.values['value']).toBeCloseTo(b.sample(0, SPIKE) + 5, 9);
    // The stuck run and the gap are forwarded as findings with their evidence.
    expect(of('temp-1').find((m) => m.values['fog'] === 'anomaly')?.values).toMatchObject({ kind: 'stuck', evidence: { samples: 30, min: 21.25, max: 21.25 } });
    expect(of('temp-2').find((m) => m.values['fog'] === 'anomaly')?.values).toMatchObject({ kind: 'gap' });
  });

  it('buffers across uplink loss and flushes in order when the uplink is back', async () => {
    const u = await uplink();
    const b = building();
    const fog = new FogGateway({ gateway: u.gateway, tenantId: 'acme', clock: u.clock, sensors: b.sensors });
    fogs.push(fog);
    await fog.start();
    await feed(u, fog, b, 0, 120);
    const before = u.got.length;
    expect(before).toBeGreaterThan(0);
    u.setDown(true);
    await feed(u, fog, b, 120, 300);
    expect(u.got.length).toBe(before); // nothing got through
    const waiting = fog.buffered;
    expect(waiting).toBeGreaterThan(0);
    u.setDown(false);
    await feed(u, fog, b, 420, 120); // the link and the children come back by their backoff (≤ 30 s)
    fog.closeWindows(Infinity);
    await u.settle();
    const r = fog.report();
    expect(r.dropped).toBe(0);
    expect(r.buffered).toBe(0);
    expect(u.got.length).toBe(r.summaries + r.rawForwarded);
    // In order: per sensor the uplink sequence numbers arrive 0, 1, 2, … without a gap or a repeat,
    // and across sensors in the order they were produced (times never go back).
    const bySensor = new Map<string, number[]>();
    for (const m of u.got) bySensor.set(m.sensor, [...(bySensor.get(m.sensor) ?? []), m.seq]);
    for (const seqs of bySensor.values()) expect(seqs).toEqual(seqs.map((_, k) => k));
    for (let k = 1; k < u.got.length; k++) expect(u.got[k]?.ts).toBeGreaterThanOrEqual(u.got[k - 1]?.ts as number);
  });

  it('bounds the buffer: while the uplink is down the oldest messages are dropped and counted', async () => {
    const u = await uplink();
    const b = building();
    const fog = new FogGateway({ gateway: u.gateway, tenantId: 'acme', clock: u.clock, sensors: b.sensors, maxBuffered: 50 });
    fogs.push(fog);
    const drops: number[] = [];
    fog.on('dropped', (e) => drops.push(e.dropped));
    await fog.start();
    u.setDown(true);
    await feed(u, fog, b, 0, 180);
    const produced = fog.report().summaries + fog.report().rawForwarded;
    expect(fog.buffered).toBe(50);
    expect(fog.report().dropped).toBe(produced - 50);
    expect(drops.at(-1)).toBe(produced - 50);
    u.setDown(false);
    await feed(u, fog, b, 180, 60);
    await u.settle();
    // Nothing arrives out of order, and every sequence number that never arrived was a drop
    // (the buffer stays bounded until the link and every child are back, so drops go on meanwhile).
    const bySensor = new Map<string, number[]>();
    for (const m of u.got) bySensor.set(m.sensor, [...(bySensor.get(m.sensor) ?? []), m.seq]);
    let missing = 0;
    for (const seqs of bySensor.values()) {
      for (let k = 1; k < seqs.length; k++) expect(seqs[k]).toBeGreaterThan(seqs[k - 1] as number);
      missing += (seqs.at(-1) as number) + 1 - seqs.length;
    }
    expect(missing).toBe(fog.report().dropped);
    expect(bySensor.size).toBe(b.sensors.length);
    expect(missing).toBe(fog.report().dropped);
    expect(fog.report().sent).toBe(u.got.length);
    expect(fog.report().sent + fog.report().dropped + fog.buffered).toBe(fog.report().summaries + fog.report().rawForwarded);
  });

  it('stop() summarises the open windows and sends them; with the uplink down it returns and counts them as buffered', async () => {
    for (const down of [false, true]) {
      const u = await uplink();
      const b = building();
      const fog = new FogGateway({ gateway: u.gateway, tenantId: 'acme', clock: u.clock, sensors: b.sensors });
      fogs.push(fog);
      await fog.start();
      await feed(u, fog, b, 0, 30); // half a window: no summary yet
      expect(fog.report().summaries).toBe(0);
      if (down) u.setDown(true);
      await fog.stop();
      await u.settle();
      const r = fog.report();
      expect(r.summaries).toBe(b.sensors.length);
      const summaries = u.got.filter((m) => m.values['fog'] === 'summary').length;
      if (down) {
        expect(summaries).toBe(0);
        expect(r.buffered).toBe(r.summaries + r.rawForwarded - r.sent);
        expect(r.buffered).toBeGreaterThanOrEqual(b.sensors.length);
      } else {
        expect(summaries).toBe(b.sensors.length);
        expect(r.buffered).toBe(0);
      }
    }
  });

  it('into the cloud tier: the fleet processes and meters exactly what the gateway sent, each sensor a device', async () => {
    const clock = new SimulatedClock(T0 + 6 * 3_600_000);
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    open.push(backend);
    const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false }, quotas: { defaults: { messagesPerSecond: 1000 } } });
    open.push(fleet);
    const b = building();
    for (const s of b.sensors) await fleet.registry.register({ tenantId: 'acme' }, { deviceId: s.config.id });
    const gateway = new GatewayConnection({ transport: new MemoryTransport({ broker, clientId: 'gw-1', clock, queue: { maxMessages: 100_000 } }), tenantId: 'acme' });
    open.push(gateway);
    const fog = new FogGateway({ gateway, tenantId: 'acme', clock, sensors: b.sensors });
    fogs.push(fog);
    await fog.start();
    const u = { clock, settle: async () => { for (let i = 0; i < 12; i++) await new Promise((r) => setImmediate(r)); } } as unknown as Uplink;
    await feed(u, fog, b, 0, 600);
    fog.closeWindows(Infinity);
    await u.settle();
    const r = fog.report();
    const net = fleet.health.network({ tenantId: 'acme' });
    expect(net.telemetry).toBe(r.sent);
    expect(net.lost).toBe(0);
    expect(fleet.quotas?.meter().tenants[0]).toMatchObject({ messages: r.sent, bytes: r.sentBytes, throttled: 0 });
    expect(fleet.health.devices({ tenantId: 'acme' }).map((d) => d.deviceId).sort()).toEqual(b.sensors.map((s) => s.config.id).sort());
  });

  it('refuses bad options and unknown sensors with typed errors', async () => {
    const u = await uplink();
    const sensors: FogSensor[] = [{ config: { id: 's1', range: { min: 0, max: 1 }, intervalMs: 1000 } }];
    expectFleetError(() => new FogGateway({ gateway: {} as GatewayConnection, tenantId: 'acme', sensors }), 'INVALID_ARGUMENT', 'GatewayConnection');
    expectFleetError(() => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors: [] }), 'INVALID_ARGUMENT', 'sensors');
    expectFleetError(() => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors: [...sensors, ...sensors] }), 'INVALID_ARGUMENT', 'twice');
    expectFleetError(() => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors, windowMs: 0 }), 'INVALID_ARGUMENT', 'windowMs');
    expectFleetError(() => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors: [{ config: { id: 's', range: { min: 1, max: 0 }, intervalMs: 1 } }] }), 'INVALID_INPUT');
    const fog = new FogGateway({ gateway: u.gateway, tenantId: 'acme', clock: u.clock, sensors });
    fogs.push(fog);
    expectFleetError(() => fog.observe('nope', 1), 'INVALID_ARGUMENT', 'unknown sensor');
    expectFleetError(() => fog.observe('s1', Number.NaN), 'INVALID_ARGUMENT', 'value');
    expect(fog.report().rawSamples).toBe(0);
    // Hostile values anywhere: a FleetError, never a TypeError or a conversion hook run.
    for (const { label, value } of hostileValues()) {
      const calls: (() => unknown)[] = [
        () => new FogGateway(value as never),
        () => new FogGateway({ gateway: u.gateway, tenantId: value as string, sensors }),
        () => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors: [{ config: value as never }] }),
        () => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors: [{ ...(sensors[0] as FogSensor), deadband: value as number }] }),
        () => new FogGateway({ gateway: u.gateway, tenantId: 'acme', sensors, maxBuffered: value as number }),
        () => fog.observe(value as string, 1),
        () => fog.observe('s1', value as number),
        () => fog.observe('s1', 1, value as number),
        () => fog.closeWindows(value as number),
      ];
      for (const call of calls) expect(isFleetError(thrownBy(call)), label).toBe(true);
    }
    expect(fog.report().rawSamples).toBe(0);
  });
});
