/**
 * Withdrawing a device from a rollout (`operate({ type: 'withdraw', deviceId })`, what a
 * decommissioned device gets): examples of every case — before dispatch, while its job is queued,
 * while it installs, after its outcome — the stage figures that shrink with it, the abort rules
 * on the remaining size, snapshots, and bad input.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE, OK, fleet, rig } from './helpers.js';
import { evaluateRollout, isFleetError, restoreRolloutProgress, saveRolloutProgress } from './imports.js';
import type { ProgressResult, RolloutProgress } from './imports.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

function withdraw(progress: RolloutProgress, deviceId: string, now: number): Extract<ProgressResult, { ok: true }> {
  const r = progress.operate({ type: 'withdraw', deviceId }, now);
  if (!r.ok) throw r.error;
  return r;
}

/** One stage of 10 devices needing 9 successes (90 %), soak 1 hour, deadlines of 1 hour. */
function tenDevices() {
  return rig(fleet(10), {
    stages: [{ percent: 100, minSoakMs: HOUR, successThreshold: 0.9 }],
    abort: { failureRate: 0.5 },
    deadlines: { pickupMs: HOUR, runMs: HOUR, bootHealthMs: HOUR },
  });
}

describe('withdrawing a device from a rollout', () => {
  it('before dispatch: the device is cancelled, never dispatched, and the stage needs the threshold of the remaining devices', () => {
    const r = tenDevices();
    const gone = r.plan.devices[3]!.id;
    const before = r.progress.revision;
    const w = withdraw(r.progress, gone, T0);
    expect(w.effects).toEqual({ dispatch: [], cancel: [], rollBack: [], expire: [] });
    expect(r.progress.revision).toBe(before + 1);
    expect(r.progress.device(gone)).toMatchObject({ status: 'cancelled', withdrawn: true });
    expect(r.progress.stageSize(0)).toBe(9);
    const first = r.step(T0);
    expect(first.effects.dispatch.map((d) => d.deviceId)).not.toContain(gone);
    expect(first.effects.dispatch).toHaveLength(9);
    // 90 % of 9 devices is 8.1: 9 successes; of the planned 10 it was 9 too — all 9 remaining must succeed.
    expect(first.decision.stats[0]).toMatchObject({ total: 9, withdrawn: 1, requiredSuccesses: 9, byStatus: expect.objectContaining({ cancelled: 1 }) });
    expect(first.decision.reason).toContain('of 9 succeeded');
    expect(first.decision.reason).toContain('1 withdrawn');
  });

  it('while queued or installing: the job is cancelled, no deadline expires it, and the stage completes with the others', () => {
    const r = tenDevices();
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    const [queued, installing, ...rest] = ids as [string, string, ...string[]];
    r.send([installing], ['picked_up'], T0 + MINUTE);
    const a = withdraw(r.progress, queued, T0 + 2 * MINUTE);
    expect(a.effects.cancel).toEqual([{ deviceId: queued, tenantId: 'acme', stage: 0 }]);
    const b = withdraw(r.progress, installing, T0 + 2 * MINUTE);
    expect(b.effects.cancel).toEqual([{ deviceId: installing, tenantId: 'acme', stage: 0 }]);
    expect(r.progress.statusOf(installing)).toBe('cancelled');
    // A late report of the withdrawn device changes no counter.
    const late = r.progress.report({ deviceId: installing, type: 'boot_confirmed' }, T0 + 3 * MINUTE);
    expect(late).toMatchObject({ ok: true, applied: false, to: 'cancelled' });
    r.send(rest, OK, T0 + 3 * MINUTE);
    // 8 remaining devices, 90 %: 7.2 → 8 successes; all 8 succeeded.
    const soaking = r.step(T0 + 3 * MINUTE).decision;
    expect(soaking.stats[0]).toMatchObject({ total: 8, withdrawn: 2, succeeded: 8, requiredSuccesses: 8, failed: 0 });
    expect(soaking.decision).toBe('wait');
    // Far past every pickup and run deadline: nothing expires (no unreachable, no timed_out).
    const done = r.step(T0 + 10 * HOUR);
    expect(done.effects.expire).toEqual([]);
    expect(done.decision.decision).toBe('complete');
    expect(done.decision.reason).toContain('8 of 8 devices (2 withdrawn)');
    expect(r.progress.stageCounts(0)).toMatchObject({ succeeded: 8, cancelled: 2, unreachable: 0, timed_out: 0 });
  });

  it('after an outcome: the device keeps it and still counts; it is never rolled back', () => {
    const r = tenDevices();
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send([ids[0]!], OK, T0 + MINUTE);
    r.send([ids[1]!], ['picked_up', 'failed'], T0 + MINUTE);
    expect(withdraw(r.progress, ids[0]!, T0 + 2 * MINUTE).effects.cancel).toEqual([]);
    expect(withdraw(r.progress, ids[1]!, T0 + 2 * MINUTE).effects.cancel).toEqual([]);
    expect(r.progress.device(ids[0]!)).toMatchObject({ status: 'succeeded', withdrawn: true, installedVersion: '2.0.0' });
    expect(r.progress.device(ids[1]!)).toMatchObject({ status: 'failed', withdrawn: true });
    expect(r.progress.stageSize(0)).toBe(10);
    const d = r.step(T0 + 2 * MINUTE).decision;
    expect(d.stats[0]).toMatchObject({ total: 10, withdrawn: 0, succeeded: 1, failed: 1, requiredSuccesses: 9 });
    const back = r.progress.operate({ type: 'rollback' }, T0 + 3 * MINUTE);
    expect(back.ok && back.effects.rollBack.map((x) => x.deviceId)).toEqual([]);
  });

  it('the abort rules use the remaining size: one failure of 10 is not above 10 %, one of 9 is', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }], abort: { failureRate: 0.1 } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send([ids[0]!], ['failed'], T0 + 1);
    expect(r.progress.state).toBe('running');
    const w = withdraw(r.progress, ids[9]!, T0 + 2);
    expect(w.state).toBe('aborted');
    expect(r.progress.abortVerdict).toMatchObject({ rule: 'failure-rate', failures: 1, total: 9 });
    const d = r.step(T0 + 3).decision;
    expect(d.decision).toBe('abort');
    expect(d.effects.cancel.map((c) => c.deviceId)).not.toContain(ids[9]);
  });

  it('withdrawal can reach the success threshold: the soak counts from the withdrawal', () => {
    const r = tenDevices();
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 8), OK, T0 + MINUTE);
    r.send([ids[8]!], ['picked_up', 'failed'], T0 + MINUTE);
    // 8 of 10 with 9 needed: the stage cannot pass while the 10th device is open… until it leaves.
    expect(r.step(T0 + 2 * MINUTE).decision.stats[0]!.thresholdReachedAt).toBeUndefined();
    withdraw(r.progress, ids[9]!, T0 + 5 * MINUTE);
    const d = r.step(T0 + 5 * MINUTE).decision;
    // 90 % of 9 = 8.1 → 9 needed; 8 succeeded + 1 failed: it can never pass → hold (not wait for a device that is gone).
    expect(d.stats[0]).toMatchObject({ total: 9, requiredSuccesses: 9, succeeded: 8 });
    expect(d.decision).toBe('pause');

    const s = rig(fleet(10), { stages: [{ percent: 100, minSoakMs: HOUR, successThreshold: 0.8 }], abort: { failureRate: 0.5 } });
    const sids = s.step(T0).effects.dispatch.map((x) => x.deviceId);
    s.send(sids.slice(0, 7), OK, T0 + MINUTE);
    s.send(sids.slice(7, 9), ['picked_up', 'failed'], T0 + MINUTE);
    // 7 of 10 < 8 needed; the last device leaves: 80 % of 9 = 7.2 → 8 needed still.
    withdraw(s.progress, sids[9]!, T0 + 2 * MINUTE);
    expect(s.step(T0 + 2 * MINUTE).decision.decision).toBe('pause');

    const u = rig(fleet(10), { stages: [{ percent: 100, minSoakMs: HOUR, successThreshold: 0.7 }], abort: { failureRate: 0.5 } });
    const uids = u.step(T0).effects.dispatch.map((x) => x.deviceId);
    u.send(uids.slice(0, 6), OK, T0 + MINUTE);
    // 6 of 10 < 7 needed; 3 devices leave: 70 % of 7 = 4.9 → 5 needed, reached now.
    for (const id of uids.slice(7, 10)) withdraw(u.progress, id, T0 + 2 * MINUTE);
    const reached = u.step(T0 + 2 * MINUTE).decision;
    expect(reached.stats[0]).toMatchObject({ total: 7, requiredSuccesses: 5, thresholdReachedAt: T0 + 2 * MINUTE });
    expect(reached.nextCheckAt).toBe(T0 + 2 * MINUTE + HOUR);
  });

  it('a stage whose devices were all withdrawn passes at once; an emptied last stage completes', () => {
    const r = rig(fleet(20), { stages: [{ count: 2, minSoakMs: HOUR }, { percent: 100, minSoakMs: HOUR }] });
    for (const id of r.stageIds(0)) withdraw(r.progress, id, T0);
    const first = r.step(T0);
    expect(first.decision.decision).toBe('advance');
    expect(first.decision.stats[0]).toMatchObject({ total: 0, withdrawn: 2, requiredSuccesses: 0, failureRate: 0, successRate: 0 });
    expect(first.effects.dispatch).toHaveLength(18);
    for (const id of r.stageIds(1)) withdraw(r.progress, id, T0 + 1);
    const last = r.step(T0 + 1).decision;
    expect(last.decision).toBe('complete');
    expect(last.reason).toContain('0 of 0 devices (20 withdrawn)');
  });

  it('is idempotent, refuses unknown devices and bad ids without changing anything', () => {
    const r = tenDevices();
    const id = r.plan.devices[0]!.id;
    withdraw(r.progress, id, T0);
    const snap = saveRolloutProgress(r.progress);
    const again = withdraw(r.progress, id, T0 + 1);
    expect(again.effects).toEqual({ dispatch: [], cancel: [], rollBack: [], expire: [] });
    expect(saveRolloutProgress(r.progress)).toEqual(snap);
    const unknown = r.progress.operate({ type: 'withdraw', deviceId: 'nope' }, T0 + 2);
    expect(!unknown.ok && unknown.error).toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
    expect(!unknown.ok && isFleetError(unknown.error)).toBe(true);
    const bad = r.progress.operate({ type: 'withdraw', deviceId: 42 } as never, T0 + 2);
    expect(!bad.ok && bad.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400 });
    const notNow = r.progress.operate({ type: 'withdraw', deviceId: id }, Number.NaN);
    expect(notNow.ok).toBe(false);
    expect(saveRolloutProgress(r.progress)).toEqual(snap);
  });

  it('works in a halted rollout too: a cancelled rollout still withdraws its in-flight device', () => {
    const r = tenDevices();
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.progress.operate({ type: 'cancel' }, T0 + 1);
    const w = withdraw(r.progress, ids[0]!, T0 + 2);
    expect(w).toMatchObject({ state: 'cancelled', effects: { cancel: [{ deviceId: ids[0] }] } });
  });

  it('snapshots keep withdrawals; snapshots without them restore as before', () => {
    const r = tenDevices();
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send([ids[0]!], OK, T0 + 1);
    withdraw(r.progress, ids[0]!, T0 + 2);
    withdraw(r.progress, ids[1]!, T0 + 2);
    const snap = JSON.parse(JSON.stringify(saveRolloutProgress(r.progress))) as ReturnType<typeof saveRolloutProgress>;
    const back = restoreRolloutProgress(r.plan, snap);
    expect(saveRolloutProgress(back)).toEqual(snap);
    expect(back.stageSize(0)).toBe(9);
    expect(back.device(ids[0]!)).toMatchObject({ status: 'succeeded', withdrawn: true });
    expect(back.device(ids[1]!)).toMatchObject({ status: 'cancelled', withdrawn: true });
    expect(evaluateRollout(r.plan, back, { now: T0 + 3 })).toEqual(evaluateRollout(r.plan, r.progress, { now: T0 + 3 }));

    // A snapshot written before withdrawal existed (flags 0–7 only) restores with every stage at its planned size.
    const old = rig(fleet(10), { stages: [{ percent: 100 }] });
    old.step(T0);
    const oldSnap = saveRolloutProgress(old.progress);
    expect(oldSnap.flags).toMatch(/^[0-7]*$/);
    const restored = restoreRolloutProgress(old.plan, oldSnap);
    expect(restored.stageSize(0)).toBe(10);
    expect(restored.device(old.plan.devices[0]!.id)?.withdrawn).toBe(false);

    // A withdrawn device whose status is still open is a corrupt snapshot.
    const corrupt = { ...snap, flags: `9${snap.flags.slice(1)}`, status: `1${snap.status.slice(1)}` };
    let error: unknown;
    try {
      restoreRolloutProgress(r.plan, corrupt);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_SNAPSHOT', message: expect.stringContaining('withdrawn') });
  });
});
