import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEALTH_THRESHOLDS, evaluateHealth, healthSampleSchema, heartbeatStatus, nextHealthEvent, transition } from '../../src/lifecycle/index.js';
import type { DeviceSnapshot, HealthEvaluation, HealthSample } from '../../src/lifecycle/index.js';

const at = 1_000_000;
const rank = { good: 0, warning: 1, critical: 2 } as const;

describe('evaluateHealth', () => {
  it.each([
    [{ batteryPct: 50 }, 'good', []],
    [{ batteryPct: 20 }, 'good', []],
    [{ batteryPct: 19.9 }, 'warning', ['battery-low']],
    [{ batteryPct: 10 }, 'warning', ['battery-low']],
    [{ batteryPct: 9 }, 'critical', ['battery-low']],
    [{ rssiDbm: -85 }, 'warning', ['rssi-weak']],
    [{ rssiDbm: -95 }, 'critical', ['rssi-weak']],
    [{ freeHeapBytes: 20_000 }, 'warning', ['heap-low']],
    [{ freeHeapBytes: 8_000 }, 'critical', ['heap-low']],
    [{ lastReadingAt: at - 900_001 }, 'warning', ['data-stale']],
    [{ readings: Array.from({ length: 10 }, () => 21.5) }, 'warning', ['data-stuck']],
    [{ readings: [...Array.from({ length: 9 }, () => 21.5), 21.6] }, 'good', []],
    [{ batteryPct: Number.NaN }, 'warning', ['sample-invalid']],
    [{ batteryPct: 5, rssiDbm: -85, freeHeapBytes: 1_000_000 }, 'critical', ['battery-low', 'rssi-weak']],
  ])('%j → %s %j', (metrics, status, codes) => {
    const r = evaluateHealth({ at, ...metrics });
    expect(r.status).toBe(status);
    expect(r.reasons.map((x) => x.code)).toEqual(codes);
  });

  it('checks readings against a configured range', () => {
    const r = evaluateHealth({ at, readings: [20, 21, 400] }, { readingRange: { min: -40, max: 125 } });
    expect(r.reasons).toEqual([expect.objectContaining({ code: 'data-out-of-range', value: 400, threshold: 1 })]);
  });

  it('honours custom thresholds and refuses inconsistent ones', () => {
    expect(evaluateHealth({ at, batteryPct: 30 }, { batteryPct: { warning: 40, critical: 25 } }).status).toBe('warning');
    expect(() => evaluateHealth({ at }, { batteryPct: { warning: 10, critical: 20 } })).toThrow(/critical must be ≤ warning/);
    expect(() => evaluateHealth({ at }, { stuckAfter: 1 })).toThrow(/stuckAfter/);
  });

  it('a decommissioned device raises no alerts', () => {
    expect(evaluateHealth({ at, batteryPct: 1, rssiDbm: -120 }, {}, { state: 'decommissioned' })).toEqual({ status: 'good', reasons: [], suppressed: true });
  });

  it('property: status is the worst reason severity, and lower battery is never healthier', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: -120, max: -30 }), (a, b, rssi) => {
        const [lo, hi] = a < b ? [a, b] : [b, a];
        const low = evaluateHealth({ at, batteryPct: lo, rssiDbm: rssi });
        const high = evaluateHealth({ at, batteryPct: hi, rssiDbm: rssi });
        expect(rank[low.status]).toBeGreaterThanOrEqual(rank[high.status]);
        const worst = Math.max(0, ...low.reasons.map((r) => rank[r.severity]));
        expect(rank[low.status]).toBe(worst);
      }),
    );
  });

  it('rates malformed metrics sample-invalid and refuses a sample that is not an object', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ readings: 'abcdefghijkl' }, 'readings is not a list of numbers'],
      [{ readings: [1, '2', 3] }, 'readings is not a list of numbers'],
      [{ batteryPct: '5' }, 'battery is not a number'],
      [{ at: undefined, lastReadingAt: at - 10 * 900_000 }, 'staleness'],
      [{ lastReadingAt: { toString: 0 } }, 'staleness'],
      [{ lastReadingAt: String(at - 10 * 900_000) }, 'staleness'],
    ];
    for (const [metrics, message] of cases) {
      const r = evaluateHealth({ at, ...metrics } as unknown as HealthSample);
      expect(r.status).toBe('warning');
      expect(r.reasons).toEqual([expect.objectContaining({ code: 'sample-invalid', message: expect.stringContaining(message) as unknown })]);
    }
    for (const bad of [null, undefined, 42, 'sample', [1, 2]]) {
      expect(() => evaluateHealth(bad as unknown as HealthSample)).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    }
  });

  it('property: any values in a sample object are rated, never thrown', () => {
    const value = fc.oneof(fc.anything(), fc.double(), fc.array(fc.oneof(fc.double(), fc.string()), { maxLength: 12 }));
    const sampleArb = fc.record(
      { at: value, batteryPct: value, rssiDbm: value, freeHeapBytes: value, readings: value, lastReadingAt: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(sampleArb, (sample) => {
        const r = evaluateHealth(sample as unknown as HealthSample, { readingRange: { min: -40, max: 125 } });
        expect(['good', 'warning', 'critical']).toContain(r.status);
        const worst = Math.max(0, ...r.reasons.map((x) => rank[x.severity]));
        expect(rank[r.status]).toBe(worst);
      }),
    );
  });

  it('healthSampleSchema validates wire samples', () => {
    expect(healthSampleSchema.safeParse({ at, batteryPct: 101 }).success).toBe(false);
    expect(healthSampleSchema.safeParse({ at, batteryPct: 55, readings: [1, 2] }).success).toBe(true);
    expect(DEFAULT_HEALTH_THRESHOLDS.batteryPct).toEqual({ warning: 20, critical: 10 });
  });
});

describe('heartbeatStatus', () => {
  const opts = { intervalMs: 60_000, graceMs: 15_000, missesToDegrade: 3 };

  it.each([
    [0, 'on-time', 0, undefined],
    [60_000, 'on-time', 0, undefined],
    [70_000, 'late', 0, undefined],
    [75_001, 'missed', 1, undefined],
    [135_001, 'missed', 2, undefined],
    [195_001, 'missed', 3, 'health_check_failed'],
    [600_000, 'silent', 9, 'health_check_failed'],
  ])('%i ms after the last beat → %s (%i missed, %s)', (elapsed, status, missed, event) => {
    const r = heartbeatStatus(at, at + elapsed, opts);
    expect(r).toMatchObject({ status, missed, event, sinceLastMs: elapsed, flagged: status === 'silent' });
  });

  it('flags a device silent for 10 minutes by default', () => {
    expect(heartbeatStatus(at, at + 599_999).flagged).toBe(false);
    expect(heartbeatStatus(at, at + 600_000).flagged).toBe(true);
  });

  it('suggests auto_recovery for a degraded device beating on time, and nothing for other states', () => {
    expect(heartbeatStatus(at, at + 1_000, { state: 'degraded' }).event).toBe('auto_recovery');
    expect(heartbeatStatus(at, at + 70_000, { state: 'degraded' }).event).toBeUndefined();
    expect(heartbeatStatus(at, at + 999_000, { state: 'maintenance' }).event).toBeUndefined();
    expect(heartbeatStatus(at, at + 999_000, { state: 'decommissioned' })).toMatchObject({ flagged: false, event: undefined, suppressed: true });
  });

  it('treats a lastSeen in the future as just seen and refuses bad options', () => {
    expect(heartbeatStatus(at + 5_000, at)).toMatchObject({ status: 'on-time', sinceLastMs: 0 });
    expect(() => heartbeatStatus(Number.NaN, at)).toThrow(/finite/);
    expect(() => heartbeatStatus(at, at, { intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => heartbeatStatus(at, at, { missesToDegrade: 1.5 })).toThrow(/missesToDegrade/);
    // null options mean the defaults (as from JSON), not a TypeError
    expect(heartbeatStatus(at, at + 600_000, null as unknown as undefined)).toMatchObject({ status: 'silent', flagged: true });
    expect(evaluateHealth({ at, batteryPct: 5 }, {}, null as unknown as undefined).status).toBe('critical');
  });

  it('property: misses never decrease as silence grows', () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.nat(10_000_000), (x, y) => {
        const [a, b] = x < y ? [x, y] : [y, x];
        expect(heartbeatStatus(0, b).missed).toBeGreaterThanOrEqual(heartbeatStatus(0, a).missed);
      }),
    );
  });

  it('drives the lifecycle: N misses degrade, the first good heartbeat recovers', () => {
    let device: DeviceSnapshot = { deviceId: 'd', tenantId: 't', state: 'active', since: at };
    const lastSeen = at;
    const events: string[] = [];
    for (let now = at; now <= at + 400_000; now += 30_000) {
      const hb = heartbeatStatus(lastSeen, now, { ...opts, state: device.state });
      if (hb.event === undefined) continue;
      const r = transition(device, { type: hb.event, actor: 'monitor' }, { now });
      if (r.ok) {
        device = r.next;
        events.push(hb.event);
      }
    }
    expect(device.state).toBe('degraded');
    const beat = heartbeatStatus(at + 400_000, at + 400_000, { ...opts, state: device.state });
    expect(beat.event).toBe('auto_recovery');
    const back = transition(device, { type: 'auto_recovery' }, { now: at + 400_000 });
    expect(back.ok && back.next.state).toBe('active');
    expect(events).toEqual(['health_check_failed']);
  });
});

describe('nextHealthEvent', () => {
  const good: HealthEvaluation = { status: 'good', reasons: [], suppressed: false };
  const warning: HealthEvaluation = { status: 'warning', reasons: [], suppressed: false };
  const critical: HealthEvaluation = { status: 'critical', reasons: [], suppressed: false };
  const onTime = heartbeatStatus(0, 1_000, { state: 'degraded' });
  const missing = heartbeatStatus(0, 500_000);

  it('degrades an active device on critical health or missed heartbeats', () => {
    expect(nextHealthEvent('active', { health: critical })).toBe('health_check_failed');
    expect(nextHealthEvent('active', { heartbeat: missing })).toBe('health_check_failed');
    expect(nextHealthEvent('active', { health: warning, heartbeat: onTime })).toBeUndefined();
  });

  it('recovers a degraded device only when everything given is fully healthy', () => {
    expect(nextHealthEvent('degraded', { health: good, heartbeat: onTime })).toBe('auto_recovery');
    expect(nextHealthEvent('degraded', { health: warning, heartbeat: onTime })).toBeUndefined();
    expect(nextHealthEvent('degraded', { health: good, heartbeat: missing })).toBeUndefined();
    expect(nextHealthEvent('degraded', {})).toBeUndefined();
  });

  it('sends nothing for other states', () => {
    for (const state of ['unprovisioned', 'provisioning', 'maintenance', 'decommissioned'] as const) {
      expect(nextHealthEvent(state, { health: critical, heartbeat: missing })).toBeUndefined();
    }
  });
});

describe('health and heartbeat: exact reasons, messages and boundaries', () => {
  it('each lower-limit reason carries its value, the threshold it crossed and a message in its unit', () => {
    expect(evaluateHealth({ at, batteryPct: 8, rssiDbm: -85, freeHeapBytes: 20_000 }).reasons).toEqual([
      { code: 'battery-low', severity: 'critical', value: 8, threshold: 10, message: 'battery 8 % is below 10 %' },
      { code: 'rssi-weak', severity: 'warning', value: -85, threshold: -80, message: 'RSSI -85 dBm is below -80 dBm' },
      { code: 'heap-low', severity: 'warning', value: 20_000, threshold: 32_768, message: 'free heap 20000 B is below 32768 B' },
    ]);
    expect(evaluateHealth({ at, rssiDbm: -95, freeHeapBytes: 1 }).reasons.map((r) => [r.severity, r.threshold, r.message])).toEqual([
      ['critical', -90, 'RSSI -95 dBm is below -90 dBm'],
      ['critical', 16_384, 'free heap 1 B is below 16384 B'],
    ]);
    expect(evaluateHealth({ at, batteryPct: 50 })).toEqual({ status: 'good', reasons: [], suppressed: false });
  });

  it('a metric that is not a finite number is sample-invalid with its value (NaN when it is no number at all)', () => {
    const [inf] = evaluateHealth({ at, batteryPct: Infinity }).reasons;
    expect(inf).toEqual({ code: 'sample-invalid', severity: 'warning', value: Infinity, threshold: 0, message: 'battery is not a number' });
    const [text] = evaluateHealth({ at, rssiDbm: '-85' as never }).reasons;
    expect(text?.message).toBe('RSSI is not a number');
    expect(text?.value).toBeNaN();
  });

  it('rates staleness only from numeric times, strictly after the limit, with the age in seconds', () => {
    expect(evaluateHealth({ at, lastReadingAt: at - 900_000 }).reasons).toEqual([]);
    expect(evaluateHealth({ at, lastReadingAt: at - 900_400 }).reasons).toEqual([
      { code: 'data-stale', severity: 'warning', value: 900_400, threshold: 900_000, message: 'the newest reading is 900 s old' },
    ]);
    for (const sample of [{ at: String(at), lastReadingAt: at - 1 }, { at, lastReadingAt: String(at) }]) {
      const [r] = evaluateHealth(sample as never).reasons;
      expect(r?.code).toBe('sample-invalid');
      expect(r?.message).toBe('at and lastReadingAt must both be finite epoch-ms times to rate staleness');
    }
  });

  it('a stuck sensor is judged on the last readings only, with the stuck value', () => {
    const readings = [1, 2, ...Array.from({ length: 10 }, () => 7)];
    expect(evaluateHealth({ at, readings }).reasons).toEqual([
      { code: 'data-stuck', severity: 'warning', value: 7, threshold: 10, message: 'the last 10 readings are all 7' },
    ]);
    expect(evaluateHealth({ at, readings: [0, 0, 0] }, { stuckAfter: 3 }).reasons[0]).toMatchObject({ value: 0, threshold: 3, message: 'the last 3 readings are all 0' });
  });

  it('the reading range includes its ends, counts the readings outside and reports the last of them', () => {
    const readingRange = { min: 0, max: 10 };
    expect(evaluateHealth({ at, readings: [0, 5, 10] }, { readingRange }).reasons).toEqual([]);
    expect(evaluateHealth({ at }, { readingRange }).reasons).toEqual([]);
    expect(evaluateHealth({ at, readings: [-1, 5, 11, 3] }, { readingRange }).reasons).toEqual([
      { code: 'data-out-of-range', severity: 'warning', value: 11, threshold: 2, message: '2 reading(s) outside [0, 10]' },
    ]);
    // readings that are not numbers are one sample-invalid reason, not also out of range
    expect(evaluateHealth({ at, readings: 'abc' as never }, { readingRange }).reasons.map((r) => r.code)).toEqual(['sample-invalid']);
  });

  it('thresholds may set critical equal to warning and min equal to max; anything inconsistent is named', () => {
    expect(evaluateHealth({ at, batteryPct: 9 }, { batteryPct: { warning: 10, critical: 10 } }).reasons[0]).toMatchObject({ severity: 'critical', threshold: 10 });
    expect(evaluateHealth({ at, readings: [5, 6] }, { readingRange: { min: 5, max: 5 } }).reasons[0]).toMatchObject({ threshold: 1, value: 6 });
    for (const [thresholds, issue] of [
      [{ batteryPct: { warning: 10, critical: 11 } }, 'batteryPct: critical must be ≤ warning'],
      [{ readingRange: { min: 2, max: 1 } }, 'readingRange: min must be ≤ max'],
    ] as const) {
      try {
        evaluateHealth({ at }, thresholds);
        expect.unreachable();
      } catch (e) {
        expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: `evaluateHealth: invalid thresholds: ${issue}` });
      }
    }
  });

  it('a sample that is not an object is INVALID_INPUT naming its type', () => {
    for (const [sample, type] of [[null, 'null'], [5, 'number'], [[1], 'object'], ['x', 'string']] as const) {
      try {
        evaluateHealth(sample as never);
        expect.unreachable();
      } catch (e) {
        expect(e).toMatchObject({ code: 'INVALID_INPUT', status: 400, details: { type } });
        expect((e as Error).message).toBe(
          'evaluateHealth: the sample must be an object { at, batteryPct?, rssiDbm?, freeHeapBytes?, readings?, lastReadingAt? }; validate wire samples with healthSampleSchema',
        );
      }
    }
  });

  it('heartbeat options: zero grace and one miss are allowed; infinite or zero limits are not, and the error shows them', () => {
    expect(heartbeatStatus(at, at + 60_001, { graceMs: 0, missesToDegrade: 1 })).toMatchObject({ status: 'missed', missed: 1, event: 'health_check_failed' });
    // exactly one interval plus the grace is still not a miss
    expect(heartbeatStatus(at, at + 75_000)).toMatchObject({ status: 'late', missed: 0 });
    expect(heartbeatStatus(at, at + 75_001, { intervalMs: 60_000, graceMs: 15_000 })).toMatchObject({ missed: 1 });
    expect(heartbeatStatus(at, at + 130_000, { intervalMs: 60_000, graceMs: 5_000 }).missed).toBe(2);
    for (const bad of [{ intervalMs: Infinity }, { graceMs: Infinity }, { graceMs: -1 }, { missesToDegrade: 0 }, { silentAfterMs: 0 }, { silentAfterMs: Infinity }]) {
      try {
        heartbeatStatus(at, at, bad);
        expect.unreachable();
      } catch (e) {
        expect(e).toMatchObject({
          code: 'INVALID_ARGUMENT',
          status: 400,
          message: 'heartbeatStatus: intervalMs must be > 0, graceMs ≥ 0, missesToDegrade an integer ≥ 1 and silentAfterMs > 0',
          details: { intervalMs: 60_000, graceMs: 15_000, missesToDegrade: 3, silentAfterMs: 600_000, ...bad },
        });
      }
    }
    try {
      heartbeatStatus(at, '5' as never);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: `heartbeatStatus: lastSeen and now must be finite epoch-ms times (got ${at}, "5")` });
    }
  });

  it('nextHealthEvent: each signal alone can decide, and a missing one never blocks recovery', () => {
    const onTime = heartbeatStatus(at, at + 1_000, { state: 'degraded' });
    const late = heartbeatStatus(at, at + 70_000, { state: 'degraded' });
    const good = evaluateHealth({ at, batteryPct: 90 });
    expect(nextHealthEvent('active', { heartbeat: heartbeatStatus(at, at + 1_000) })).toBeUndefined();
    expect(nextHealthEvent('degraded', {})).toBeUndefined();
    expect(nextHealthEvent('degraded', { heartbeat: onTime })).toBe('auto_recovery');
    expect(nextHealthEvent('degraded', { health: good })).toBe('auto_recovery');
    expect(nextHealthEvent('degraded', { heartbeat: late })).toBeUndefined();
    expect(nextHealthEvent('degraded', { heartbeat: onTime, health: evaluateHealth({ at, batteryPct: 15 }) })).toBeUndefined();
  });
});
