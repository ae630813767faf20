import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { createSensorState, defineSensor, observeSensor, restoreSensorState, SensorBank, tickSensor, type Finding, type SensorConfigInput } from '../../src/fog/index.js';
import { medianOfFive } from '../../src/fog/detectors.js';
import { gaussian, rng, series, type Point } from './series.js';

const MIN = 60_000;
const SIGMA = 0.05;
/** A room temperature sensor: 21 °C ± 0.05 every minute. */
const TEMP: SensorConfigInput = { id: 'temp-1', range: { min: -40, max: 85 }, intervalMs: MIN, drift: { threshold: 0.3 }, stuck: { samples: 20, tolerance: 0 } };
/** The fixed seed corpus: every statement below holds for each of these seeds. */
const SEEDS = Array.from({ length: 25 }, (_, i) => 1_000 + i * 7_919);

interface Seen { readonly index: number; readonly finding: Finding }

/** Feeds `points` in order, ticking every `tickMs` between samples; returns every finding with the index of the sample it came at (or just before, for ticks). */
function run(config: SensorConfigInput, points: readonly Point[], tickMs = MIN / 4): Seen[] {
  const s = createSensorState(config);
  const seen: Seen[] = [];
  let prev: number | undefined;
  points.forEach((p, index) => {
    if (prev !== undefined) for (let t = prev + tickMs; t < p.at; t += tickMs) for (const finding of tickSensor(s, t)) seen.push({ index, finding });
    for (const finding of observeSensor(s, p.value, p.at)) seen.push({ index, finding });
    prev = p.at;
  });
  return seen;
}
const kinds = (seen: readonly Seen[]): string[] => seen.map((s) => s.finding.kind);

describe('median of five', () => {
  it('equals the middle of the sorted five', () => {
    fc.assert(fc.property(fc.array(fc.double({ noNaN: true }), { minLength: 5, maxLength: 5 }), (xs) => {
      const [a, b, c, d, e] = xs as [number, number, number, number, number];
      // === rather than Object.is: −0 and +0 are the same median
      expect(medianOfFive(a, b, c, d, e) === [...xs].sort((x, y) => x - y)[2]).toBe(true);
    }));
  });
});

describe('detectors on injected faults (fixed seed corpus)', () => {
  it('drift of slope s: found within threshold ÷ s + 2 ÷ α samples of its start, nothing before', () => {
    for (const seed of SEEDS) {
      for (const slope of [0.001, 0.004, 0.02]) {
        const start = 400;
        const pts = series(seed, 4_000, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => v + (i >= start ? (i - start) * slope : 0) });
        const seen = run(TEMP, pts);
        const first = seen[0];
        expect(first?.finding.kind, `seed ${seed} slope ${slope}`).toBe('drift');
        expect(first!.index).toBeGreaterThanOrEqual(start);
        expect(first!.index - start).toBeLessThanOrEqual(Math.ceil(0.3 / slope + 64));
      }
    }
  });

  it('a stuck segment: found within N + 1 samples of its start', () => {
    for (const seed of SEEDS) {
      const start = 300;
      const pts = series(seed, 600, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => (i >= start && i < start + 100 ? 21.37 : v) });
      const seen = run(TEMP, pts).filter((s) => s.finding.kind === 'stuck');
      expect(seen.length, `seed ${seed}`).toBe(1);
      expect(seen[0]!.index - start).toBeLessThanOrEqual(20);
      expect(seen[0]!.finding).toMatchObject({ evidence: { samples: 20, min: 21.37, max: 21.37 } });
    }
  });

  it('a stuck segment, then noise again: the stuck finding and nothing else (the flat stretch does not shrink the spike scale)', () => {
    for (const seed of SEEDS) {
      const start = 300;
      // Frozen at a value of its own (a clear step, 12 σ: a level shift, not a drift) and frozen at
      // its last reading, each for 100 samples.
      const frozen = series(seed, 800, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => (i >= start && i < start + 100 ? 21.6 : v) });
      let last = 0;
      const held = series(seed, 800, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => (i < start ? (last = v) : i < start + 100 ? last : v) });
      for (const pts of [frozen, held]) expect(kinds(run(TEMP, pts)), `seed ${seed}`).toEqual(['stuck']);
    }
  });

  it('spikes of 12–30 σ: each found at the next sample, with its evidence; no other finding', () => {
    for (const seed of SEEDS) {
      const r = rng(seed);
      const at = new Map<number, number>();
      for (let k = 0; k < 20; k++) at.set(100 + k * 97 + Math.floor(r() * 40), (r() < 0.5 ? -1 : 1) * SIGMA * (12 + 18 * r()));
      const pts = series(seed, 2_200, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => v + (at.get(i) ?? 0) });
      const seen = run(TEMP, pts);
      expect(kinds(seen).every((k) => k === 'spike'), `seed ${seed}: ${kinds(seen).join(',')}`).toBe(true);
      expect(seen.map((s) => s.index - 1)).toEqual([...at.keys()].sort((a, b) => a - b));
      for (const s of seen) expect(s.finding.at).toBe(pts[s.index - 1]!.at);
    }
  });

  it('gaps: reported from a tick within two intervals of the missing sample, once per gap', () => {
    for (const seed of SEEDS) {
      const r = rng(seed);
      const missing = new Set<number>();
      for (let k = 0; k < 10; k++) {
        const from = 100 + k * 150 + Math.floor(r() * 50);
        const len = 1 + Math.floor(r() * 5);
        for (let i = from; i < from + len; i++) missing.add(i);
      }
      const pts = series(seed, 1_700, { level: 21, sigma: SIGMA, intervalMs: MIN }).filter((_, i) => !missing.has(i));
      const seen = run(TEMP, pts);
      const gaps = seen.filter((s) => s.finding.kind === 'gap');
      expect(seen.length, `seed ${seed}: ${kinds(seen).join(',')}`).toBe(gaps.length);
      expect(gaps.length).toBe(10);
      for (const g of gaps) {
        if (g.finding.kind !== 'gap') continue;
        expect(g.finding.at - g.finding.evidence.expectedAt).toBeLessThanOrEqual(2 * MIN);
        expect(g.finding.at - g.finding.evidence.expectedAt).toBeGreaterThan(0);
      }
    }
  });

  it('out of range (and NaN): once per excursion, and such samples feed no other detector', () => {
    const pts = series(1, 200, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => (i >= 100 && i < 110 ? 900 : i === 150 ? Number.NaN : v) });
    const seen = run(TEMP, pts);
    expect(seen.map((s) => [s.finding.kind, s.index])).toEqual([['out_of_range', 100], ['out_of_range', 150]]);
  });
});

describe('legitimate changes raise nothing (fixed seed corpus)', () => {
  it('setpoint steps of ±1 °C (20 σ), repeated', () => {
    for (const seed of SEEDS) {
      const pts = series(seed, 3_000, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => v + [0, 1, 2, 1, 0, -1][Math.floor(i / 500)]! });
      expect(kinds(run(TEMP, pts)), `seed ${seed}`).toEqual([]);
    }
  });

  it('a fan start: airflow steps up over two samples, then a fan stop', () => {
    const airflow: SensorConfigInput = { id: 'airflow-3', range: { min: 0, max: 5 }, intervalMs: 10_000, drift: { threshold: 0.1 }, stuck: { samples: 30 } };
    for (const seed of SEEDS) {
      const pts = series(seed, 2_000, { level: 0.2, sigma: 0.01, intervalMs: 10_000, shape: (i, v) => v + (i < 700 ? 0 : i === 700 ? 0.9 : i < 1500 ? 1.8 : 0) });
      expect(kinds(run(airflow, pts, 2_500)), `seed ${seed}`).toEqual([]);
    }
  });

  it('a battery swap: 3.0 V → 3.6 V over a slow discharge', () => {
    const battery: SensorConfigInput = { id: 'batt-9', range: { min: 2.0, max: 3.7 }, intervalMs: 15 * MIN, drift: { threshold: 0.15 } };
    for (const seed of SEEDS) {
      const pts = series(seed, 1_500, { level: 3.05, sigma: 0.004, intervalMs: 15 * MIN, shape: (i, v) => v - i * 0.00005 + (i >= 800 ? 0.6 : 0) });
      expect(kinds(run(battery, pts, 5 * MIN)), `seed ${seed}`).toEqual([]);
    }
  });

  it('LoRa sample-time jitter of ±20 % of the interval', () => {
    for (const seed of SEEDS) {
      const r = rng(seed ^ 0x5eed);
      const pts = series(seed, 3_000, { level: 21, sigma: SIGMA, intervalMs: MIN }).map((p) => ({ at: p.at + Math.round((r() - 0.5) * 0.4 * MIN), value: p.value }));
      expect(kinds(run(TEMP, pts)), `seed ${seed}`).toEqual([]);
    }
  });

  it('a commanded valve that is flat when closed (flatIsNormal), with open/close steps', () => {
    const valve: SensorConfigInput = { id: 'valve-2', range: { min: 0, max: 100 }, intervalMs: MIN, detectors: ['range', 'stuck', 'spike', 'gap'], flatIsNormal: true };
    const pts = Array.from({ length: 2_000 }, (_, i) => ({ at: i * MIN, value: [0, 0, 40, 40, 100, 0][Math.floor(i / 350)] ?? 0 }));
    expect(kinds(run(valve, pts))).toEqual([]);
    expect(kinds(run({ ...valve, flatIsNormal: false }, pts)).every((k) => k === 'stuck')).toBe(true);
  });
});

describe('false positives on clean noise', () => {
  it('at most 1 finding per 100,000 samples over 1,000,000 samples (20 fixed seeds × 50,000)', () => {
    let findings = 0;
    let samples = 0;
    for (let k = 0; k < 20; k++) {
      const g = gaussian(77 + k * 104_729);
      const s = createSensorState({ ...TEMP, id: `t${k}` });
      for (let i = 0; i < 50_000; i++) {
        const at = 1_700_000_000_000 + i * MIN;
        findings += tickSensor(s, at - MIN / 2).length;
        findings += observeSensor(s, 21 + SIGMA * g(), at).length;
        samples++;
      }
    }
    expect(samples).toBe(1_000_000);
    expect(findings).toBeLessThanOrEqual(10);
  });
});

describe('sensor state', () => {
  it('a JSON round trip at any point continues with the same findings', () => {
    fc.assert(fc.property(fc.constantFrom(...SEEDS), fc.integer({ min: 0, max: 999 }), (seed, cut) => {
      const r = rng(seed);
      const pts = series(seed, 1_000, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => v + (r() < 0.01 ? 1 : 0) + (i > 600 ? (i - 600) * 0.004 : 0) });
      const whole = createSensorState(TEMP);
      const a: Finding[] = [];
      for (const p of pts) a.push(...observeSensor(whole, p.value, p.at));
      let s = createSensorState(TEMP);
      const b: Finding[] = [];
      pts.forEach((p, i) => {
        if (i === cut) s = restoreSensorState(JSON.parse(JSON.stringify(s)) as never);
        b.push(...observeSensor(s, p.value, p.at));
      });
      expect(b).toEqual(a);
    }), { numRuns: 30 });
  });

  it('a SensorBank gives the same findings as one SensorState per sensor, and survives a JSON round trip', () => {
    const configs = [TEMP, { ...TEMP, id: 'temp-2' }, { ...TEMP, id: 'valve', flatIsNormal: true }];
    const shared = defineSensor(TEMP);
    const bank = new SensorBank([...configs, shared, shared]);
    const states = [...configs, shared, shared].map((c) => createSensorState(c));
    const streams = [0, 1, 2, 3, 4].map((k) => series(SEEDS[k]!, 800, { level: 21, sigma: SIGMA, intervalMs: MIN, shape: (i, v) => v + (i > 300 ? (i - 300) * 0.004 : 0) + (i % 97 === 0 ? 1 : 0) }).filter((_, i) => i % 211 !== 5));
    let b = bank;
    const a: Finding[] = [];
    const c: Finding[] = [];
    for (let i = 0; i < 780; i++) {
      if (i === 400) b = SensorBank.fromJSON(JSON.parse(JSON.stringify(b)) as never);
      streams.forEach((st, k) => {
        const p = st[i];
        if (p === undefined) return;
        a.push(...tickSensor(states[k]!, p.at - MIN / 3), ...observeSensor(states[k]!, p.value, p.at));
      });
      c.push(...b.tick(streams[0]![i]!.at - MIN / 3));
      streams.forEach((st, k) => {
        const p = st[i];
        if (p !== undefined) c.push(...b.observe(k, p.value, p.at));
      });
    }
    expect(a.length).toBeGreaterThan(10);
    expect([...c].sort((x, y) => x.at - y.at || x.sensorId.localeCompare(y.sensorId) || x.kind.localeCompare(y.kind))).toEqual([...a].sort((x, y) => x.at - y.at || x.sensorId.localeCompare(y.sensorId) || x.kind.localeCompare(y.kind)));
    expect(b.toJSON().configs.length).toBe(4);
  });

  it('refuses malformed input with a FleetError', () => {
    const s = createSensorState(TEMP);
    expectFleetError(() => observeSensor({} as never, 1, 0), 'INVALID_ARGUMENT', 'SensorState');
    expectFleetError(() => observeSensor(s, '1' as never, 0), 'INVALID_ARGUMENT', 'value');
    expectFleetError(() => observeSensor(s, 1, -5), 'INVALID_ARGUMENT', 'at');
    expectFleetError(() => tickSensor(s, Number.NaN), 'INVALID_ARGUMENT', 'now');
    expectFleetError(() => createSensorState({ ...TEMP, range: { min: 5, max: 1 } }), 'INVALID_INPUT', 'min must be below max');
    expectFleetError(() => createSensorState({ ...TEMP, detectors: ['psychic' as never] }), 'INVALID_INPUT', 'detectors');
    expectFleetError(() => restoreSensorState({ config: TEMP, numbers: [] }), 'INVALID_INPUT', 'numbers');
    expectFleetError(() => new SensorBank([TEMP]).observe(1, 21, 0), 'INVALID_ARGUMENT', 'index');
  });
});
