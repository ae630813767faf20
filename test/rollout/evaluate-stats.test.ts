/**
 * evaluateRollout's per-stage statistics as exact values, deadline expirations included: every
 * status count, the failure and success rates, what counts as a failure under each abort flag,
 * the soak clock, and the next check time.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE, OK, fleet, rig } from './helpers.js';
import type { AbortCriteria } from './imports.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

/** 20 devices: 10 succeeded, 2 failed, 1 rejected, 2 installing, 2 booting past their boot deadline, 3 never picked up. */
function scenario(abort: AbortCriteria = {}) {
  const r = rig(fleet(20), { stages: [{ percent: 100, minSoakMs: HOUR }], abort: { failureRate: 0.9, ...abort }, deadlines: { pickupMs: HOUR, runMs: 2 * HOUR, bootHealthMs: 10 * MINUTE } });
  const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
  r.send(ids.slice(0, 10), OK, T0 + MINUTE);
  r.send(ids.slice(10, 12), ['picked_up', 'failed'], T0 + MINUTE);
  r.send(ids.slice(12, 13), ['rejected'], T0 + MINUTE);
  r.send(ids.slice(13, 15), ['picked_up'], T0 + MINUTE);
  r.send(ids.slice(15, 17), ['picked_up', 'installed'], T0 + MINUTE);
  return { r, ids };
}

describe('evaluateRollout stage statistics', () => {
  it('counts every status with the expirations due now, and every outcome as a failure by default', () => {
    const { r, ids } = scenario();
    const d = r.step(T0 + HOUR).decision;
    expect(d.stats).toEqual([
      {
        stage: 0,
        name: 'stage 1 (100 %)',
        total: 20,
        withdrawn: 0,
        pending: 0,
        dispatched: 20,
        inFlight: 2,
        succeeded: 10,
        failed: 8,
        decided: 18,
        byStatus: { pending: 0, dispatched: 0, in_progress: 2, succeeded: 10, failed: 2, rejected: 1, timed_out: 2, rolled_back: 0, unreachable: 3, cancelled: 0 },
        failureRate: 0.4,
        observedFailureRate: 8 / 18,
        successRate: 0.5,
        requiredSuccesses: 19,
        minSoakMs: HOUR,
        soakElapsedMs: 0,
        startedAt: T0,
      },
    ]);
    expect(d.effects.expire.map((e) => [e.deviceId, e.status]).sort()).toEqual(
      [...ids.slice(17).map((id) => [id, 'unreachable']), ...ids.slice(15, 17).map((id) => [id, 'timed_out'])].sort(),
    );
    // The installing devices are due at their run deadline: the next time to look.
    expect(d.nextCheckAt).toBe(T0 + MINUTE + 2 * HOUR);
  });

  it('each abort flag takes its kind out of the failures', () => {
    const failed = (abort: AbortCriteria): number => scenario(abort).r.step(T0 + HOUR).decision.stats[0]!.failed;
    expect(failed({ countUnreachable: false })).toBe(5);
    expect(failed({ countTimeouts: false })).toBe(6);
    expect(failed({ countRejected: false })).toBe(7);
    expect(failed({ countUnreachable: false, countTimeouts: false, countRejected: false })).toBe(2);
  });

  it('before any outcome the observed failure rate is 0; the soak counts from the threshold', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100, minSoakMs: HOUR }] });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    const first = r.step(T0 + 1).decision.stats[0]!;
    expect(first).toMatchObject({ decided: 0, observedFailureRate: 0, failureRate: 0, successRate: 0, soakElapsedMs: 0, inFlight: 10, dispatched: 10 });
    expect(first.thresholdReachedAt).toBeUndefined();
    r.send(ids, OK, T0 + MINUTE);
    const later = r.step(T0 + 25 * MINUTE).decision.stats[0]!;
    expect(later).toMatchObject({ succeeded: 10, successRate: 1, observedFailureRate: 0, soakElapsedMs: 24 * MINUTE, thresholdReachedAt: T0 + MINUTE, startedAt: T0 });
    const before = rig(fleet(10), { stages: [{ percent: 100 }] }).step(T0).decision.stats[0]!;
    expect('startedAt' in before).toBe(false);
    expect('thresholdReachedAt' in before).toBe(false);
  });
});

describe('rate limit window', () => {
  it('a dispatch counts against the limit for exactly 60 s; the budget is what the window leaves', () => {
    const r = rig(fleet(300), { stages: [{ percent: 100 }], rateLimit: { devicesPerMinute: 100 } });
    expect(r.step(T0).effects.dispatch).toHaveLength(100);
    expect(r.step(T0 + 30_000).effects.dispatch).toHaveLength(0);
    const held = r.step(T0 + 59_999).decision;
    expect(held.effects.dispatch).toHaveLength(0);
    expect(held.nextCheckAt).toBe(T0 + 60_000);
    expect(r.step(T0 + 60_000).effects.dispatch).toHaveLength(100);
    // 100 at T0 + 60 s: at T0 + 90 s nothing; at T0 + 120 s the rest.
    expect(r.step(T0 + 90_000).effects.dispatch).toHaveLength(0);
    expect(r.step(T0 + 120_000).effects.dispatch).toHaveLength(100);
  });

  it('a partly used window leaves the difference', () => {
    const r = rig(fleet(30), { stages: [{ percent: 100 }], rateLimit: { devicesPerMinute: 20 } });
    expect(r.step(T0).effects.dispatch).toHaveLength(20);
    expect(r.step(T0 + 60_000).effects.dispatch).toHaveLength(10);
  });
});
