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
