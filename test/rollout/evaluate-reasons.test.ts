/**
 * evaluateRollout's reasons carry the numbers behind each decision (operators read them in the
 * report): every branch pinned to its exact sentence, durations at their unit boundaries,
 * times in ISO form (and in ms outside the Date range), and nextCheckAt where it is computed.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE, OK, fleet, rig } from './helpers.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday, 12:00 UTC

describe('evaluateRollout reasons', () => {
  it('a stage from its first dispatch to the advance: progress, soak and the next stage', () => {
    const r = rig(fleet(200), { stages: [{ percent: 10, minSoakMs: 90 * MINUTE }, { percent: 100, minSoakMs: 0 }] });
    expect(r.step(T0).decision.reason).toBe('stage 1 (10 %): 0 of 11 succeeded (0.00 %; 11 needed for 95.00 %), 0 failed, 0 in flight; dispatching 11');
    r.send(r.stageIds(0).slice(0, 1), OK, T0 + 1000);
    expect(r.step(T0 + 2000).decision.reason).toBe('stage 1 (10 %): 1 of 11 succeeded (9.09 %; 11 needed for 95.00 %), 0 failed, 10 in flight');
    r.send(r.stageIds(0).slice(1), OK, T0 + 30_000);
    const soaking = r.step(T0 + 66_000).decision;
    expect(soaking.reason).toBe('stage 1 (10 %): 11 of 11 succeeded (100.00 %; 11 needed for 95.00 %), 0 failed, 0 in flight; soaking 36 s of 1.5 h');
    expect(soaking.nextCheckAt).toBe(T0 + 30_000 + 90 * MINUTE);
    const advance = r.step(T0 + 30_000 + 90 * MINUTE).decision;
    expect(advance.reason).toBe(
      'stage 1 (10 %): 11 of 11 succeeded (100.00 %; 11 needed for 95.00 %), 0 failed, 0 in flight, soaked 1.5 h of 1.5 h: starting stage 2 (100 %) with 189 devices; dispatching 189',
    );
    const ids = r.stageIds(1);
    r.send(ids.slice(1), OK, T0 + 100 * MINUTE);
    expect(r.step(T0 + 101 * MINUTE).decision.reason).toBe(
      'stage 2 (100 %): 188 of 189 succeeded (99.47 %; 180 needed for 95.00 %), 0 failed, 1 in flight: the last stage passed its gates; waiting for 1 device to finish',
    );
    r.send(ids.slice(0, 1), OK, T0 + 102 * MINUTE);
    expect(r.step(T0 + 103 * MINUTE).decision.reason).toBe('completed: 200 of 200 devices run 2.0.0; stage 2 (100 %): 189 of 189 succeeded (100.00 %; 180 needed for 95.00 %), 0 failed, 0 in flight');
    expect(r.step(T0 + 104 * MINUTE).decision.reason).toBe('completed: 200 devices targeted');
  });

  it('durations: seconds below a minute, minutes below an hour, hours with one decimal', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100, minSoakMs: 2 * HOUR }] });
    r.send(r.step(T0).effects.dispatch.map((d) => d.deviceId), OK, T0);
    const soak = (elapsed: number): string => /soaking (.*) of 2\.0 h/.exec(r.step(T0 + elapsed).decision.reason)?.[1] ?? '';
    expect(soak(0)).toBe('0 s');
    expect(soak(59_400)).toBe('59 s');
    expect(soak(60_000)).toBe('1 min');
    expect(soak(12 * MINUTE + 29_000)).toBe('12 min');
    expect(soak(HOUR - 1)).toBe('60 min');
    expect(soak(HOUR)).toBe('1.0 h');
    expect(soak(HOUR + 15 * MINUTE)).toBe('1.3 h');
  });

  it('held dispatches say why: the rate limit (and when it frees up), the maintenance windows (and when they open)', () => {
    const q = rig(fleet(300), { stages: [{ percent: 100 }], rateLimit: { devicesPerMinute: 100 } });
    q.step(T0);
    const limited = q.step(T0 + 1000).decision;
    expect(limited.reason).toBe('stage 1 (100 %): 0 of 300 succeeded (0.00 %; 285 needed for 95.00 %), 0 failed, 100 in flight; dispatching 0, 200 held: rate limit of 100 devices per minute reached');
    expect(limited.nextCheckAt).toBe(T0 + MINUTE);
    const w = rig(fleet(10), { stages: [{ percent: 100 }], maintenanceWindows: [{ start: '22:00', end: '23:00' }] });
    const closed = w.step(T0).decision;
    expect(closed.reason).toBe(
      'stage 1 (100 %): 0 of 10 succeeded (0.00 %; 10 needed for 95.00 %), 0 failed, 0 in flight; dispatching 0, 10 held: outside the maintenance windows (next opens 2026-01-05T22:00:00.000Z)',
    );
    expect(closed.nextCheckAt).toBe(Date.UTC(2026, 0, 5, 22));
  });

  it('operator states: paused, cancelled, rolled back, with their times and what is still in flight', () => {
    const p = rig(fleet(100), { stages: [{ percent: 100 }] });
    p.step(T0);
    p.progress.operate({ type: 'pause' }, T0 + 1);
    expect(p.step(T0 + 2).decision.reason).toBe('paused by the operator at 2026-01-05T12:00:00.001Z; 100 devices in flight');
    p.progress.operate({ type: 'cancel' }, T0 + 3);
    expect(p.step(T0 + 4).decision.reason).toBe('cancelled by the operator at 2026-01-05T12:00:00.003Z; 100 devices still in flight');
    const b = rig(fleet(100), { stages: [{ percent: 100 }] });
    b.step(T0);
    b.progress.operate({ type: 'rollback' }, T0 + 3);
    expect(b.step(T0 + 4).decision.reason).toBe('rolled back by the operator at 2026-01-05T12:00:00.003Z');
  });

  it('an abort recorded by a report, and one found at evaluation (boot deadlines), with the devices in flight', () => {
    const a = rig(fleet(100), { stages: [{ percent: 100 }], abort: { failureRate: 0.01 } });
    const ids = a.step(T0).effects.dispatch.map((d) => d.deviceId);
    a.send(ids.slice(0, 2), ['failed'], T0 + 5);
    const reason = 'stage 1 (100 %): 2 failures of 100 devices = 2.00 % > the 1.00 % abort threshold';
    expect(a.step(T0 + 6).decision.reason).toBe(`aborted at 2026-01-05T12:00:00.005Z: ${reason}; 98 devices still in flight`);
    expect(a.step(T0 + 7).decision.reason).toBe(`aborted at 2026-01-05T12:00:00.005Z: ${reason}`);

    const t = rig(fleet(50), { stages: [{ percent: 100 }] });
    const all = t.step(T0).effects.dispatch.map((d) => d.deviceId);
    t.send(all.slice(0, 40), ['picked_up', 'installed'], T0 + 1000);
    const late = t.step(T0 + 1000 + 5 * MINUTE).decision;
    expect(late.decision).toBe('abort');
    expect(late.reason).toBe('aborting: stage 1 (100 %): 40 failures of 50 devices = 80.00 % > the 0.10 % abort threshold; 10 devices still in flight');
  });

  it('nothing to update', () => {
    expect(rig(fleet(3, () => ({ state: 'decommissioned' }))).step(T0).decision.reason).toBe('nothing to update: no eligible device (3 skipped)');
  });

  it('times outside the Date range are written in ms, the range itself in ISO form', () => {
    const edge = 8.64e15;
    const p = rig(fleet(10), { stages: [{ percent: 100 }] });
    p.step(edge - 10);
    p.progress.operate({ type: 'pause' }, edge);
    expect(p.step(edge).decision.reason).toBe('paused by the operator at +275760-09-13T00:00:00.000Z; 10 devices in flight');
    const q = rig(fleet(10), { stages: [{ percent: 100 }] });
    q.step(edge);
    q.progress.operate({ type: 'pause' }, edge + 1);
    expect(q.step(edge + 1).decision.reason).toBe(`paused by the operator at ${edge + 1} ms; 10 devices in flight`);
  });
});
