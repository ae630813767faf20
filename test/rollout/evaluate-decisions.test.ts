/**
 * The fields of evaluateRollout's decisions besides the reason: the state each decision leads to,
 * nextCheckAt (the earliest deadline, soak end or window opening), the abort verdict, the effects
 * of a halt (cancels and roll-backs), and the argument checks of evaluateRollout.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE, OK, fleet, rig } from './helpers.js';
import { createRolloutProgress, evaluateRollout, planRollout } from './imports.js';
import { spec } from './helpers.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);

describe('evaluateRollout decisions: state and nextCheckAt', () => {
  it('wait, advance, last-stage wait, complete', () => {
    const r = rig(fleet(200), { stages: [{ percent: 10, minSoakMs: 90 * MINUTE }, { percent: 100, minSoakMs: 0 }], deadlines: { pickupMs: 2 * HOUR } });
    const first = r.step(T0).decision;
    expect(first).toMatchObject({ decision: 'wait', state: 'running', stage: 0, nextCheckAt: T0 + 2 * HOUR });
    r.send(r.stageIds(0), OK, T0 + 30_000);
    expect(r.step(T0 + 60_000).decision).toMatchObject({ decision: 'wait', state: 'running', nextCheckAt: T0 + 30_000 + 90 * MINUTE });
    const advance = r.step(T0 + 30_000 + 90 * MINUTE).decision;
    expect(advance).toMatchObject({ decision: 'advance', state: 'running', stage: 1, nextCheckAt: T0 + 30_000 + 90 * MINUTE + 2 * HOUR });
    const ids = r.stageIds(1);
    r.send(ids.slice(1), OK, T0 + 100 * MINUTE);
    const last = r.step(T0 + 101 * MINUTE).decision;
    expect(last).toMatchObject({ decision: 'wait', state: 'running', stage: 1, nextCheckAt: T0 + 30_000 + 90 * MINUTE + 2 * HOUR });
    r.send(ids.slice(0, 1), OK, T0 + 102 * MINUTE);
    const done = r.step(T0 + 103 * MINUTE).decision;
    expect(done).toMatchObject({ decision: 'complete', state: 'completed', stage: 1 });
    expect('nextCheckAt' in done).toBe(false);
    expect(r.step(T0 + 104 * MINUTE).decision).toMatchObject({ decision: 'complete', state: 'completed', stage: 1 });
  });

  it('nextCheckAt is the earliest of the pick-up, run and boot deadlines still ahead', () => {
    const r = rig(fleet(30), { stages: [{ percent: 100 }], abort: { failureRate: 0.99 }, deadlines: { pickupMs: 3 * HOUR, runMs: 2 * HOUR, bootHealthMs: HOUR } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 1), ['picked_up'], T0 + MINUTE);
    expect(r.step(T0 + 2 * MINUTE).decision.nextCheckAt).toBe(T0 + MINUTE + 2 * HOUR);
    r.send(ids.slice(1, 2), ['picked_up', 'installed'], T0 + 3 * MINUTE);
    expect(r.step(T0 + 4 * MINUTE).decision.nextCheckAt).toBe(T0 + 3 * MINUTE + HOUR);
    r.send(ids.slice(1, 2), ['boot_confirmed'], T0 + 5 * MINUTE);
    expect(r.step(T0 + 6 * MINUTE).decision.nextCheckAt).toBe(T0 + MINUTE + 2 * HOUR);
  });

  it('pause (operator and holding) and nothing to update', () => {
    const p = rig(fleet(100), { stages: [{ percent: 100 }], deadlines: { pickupMs: HOUR } });
    p.step(T0);
    p.progress.operate({ type: 'pause' }, T0 + 1);
    expect(p.step(T0 + 2).decision).toMatchObject({ decision: 'pause', state: 'paused', stage: 0, nextCheckAt: T0 + HOUR });
    const h = rig(fleet(40), { stages: [{ percent: 50, minSoakMs: 0 }, { percent: 100 }], abort: { countUnreachable: false }, deadlines: { pickupMs: HOUR, runMs: 5 * HOUR } });
    const ids = h.step(T0).effects.dispatch.map((d) => d.deviceId);
    h.send(ids.slice(4), OK, T0 + MINUTE);
    h.send(ids.slice(0, 1), ['picked_up'], T0 + MINUTE);
    const held = h.step(T0 + HOUR).decision;
    expect(held).toMatchObject({ decision: 'pause', state: 'running', stage: 0, nextCheckAt: T0 + MINUTE + 5 * HOUR });
    expect(held.reason).toBe(
      'holding: stage 1 (50 %): 13 of 17 succeeded (76.47 %; 17 needed for 95.00 %), 0 failed, 1 in flight; at most 14 can succeed, so the stage can no longer reach its success threshold — cancel or roll back',
    );
    expect(rig(fleet(2, () => ({ state: 'maintenance' }))).step(T0).decision).toMatchObject({ decision: 'complete', state: 'completed', stage: 0 });
  });
});

describe('evaluateRollout decisions: aborts and halts', () => {
  it('an abort found at evaluation carries its verdict, cancels the queued jobs and names the next deadline', () => {
    const r = rig(fleet(50), { stages: [{ percent: 100 }], deadlines: { pickupMs: 2 * HOUR, bootHealthMs: 5 * MINUTE } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 40), ['picked_up', 'installed'], T0 + 1000);
    const d = evaluateRollout(r.plan, r.progress, { now: T0 + 1000 + 5 * MINUTE });
    expect(d).toMatchObject({ decision: 'abort', state: 'aborted', stage: 0, abort: { stage: 0, rule: 'failure-rate', failures: 40, total: 50, decided: 40 } });
    expect(d.nextCheckAt).toBe(T0 + 2 * HOUR);
    expect(d.effects.expire.map((e) => e.deviceId).sort()).toEqual(ids.slice(0, 40).sort());
    // The expired jobs are cancelled once, the ten never picked up too.
    expect(d.effects.cancel.map((e) => e.deviceId).sort()).toEqual([...ids].sort());
    expect(d.effects.rollBack).toEqual([]);
  });

  it('onAbort rollback: every device that got the image, up to the current stage, once', () => {
    const r = rig(fleet(100), { stages: [{ percent: 20, minSoakMs: 0 }, { percent: 60, minSoakMs: 0 }, { percent: 100 }], abort: { onAbort: 'rollback', failureRate: 0.05 } });
    const first = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(first, OK, T0 + 1);
    const second = r.step(T0 + 2).effects.dispatch.map((d) => d.deviceId);
    r.send(second.slice(0, 5), ['picked_up', 'installed'], T0 + 3);
    r.send(second.slice(5, 10), ['failed'], T0 + 3);
    const halt = r.step(T0 + 4);
    expect(halt.decision).toMatchObject({ decision: 'abort', state: 'aborted', stage: 1, abort: { rule: 'failure-rate', stage: 1 } });
    expect(halt.effects.rollBack.map((x) => x.deviceId).sort()).toEqual([...first, ...second.slice(0, 5)].sort());
    expect(halt.effects.cancel.map((x) => x.deviceId).sort()).toEqual(second.slice(10).sort());
    // Applied once: a later evaluation schedules nothing again.
    const later = r.step(T0 + 5);
    expect(later.effects.rollBack).toEqual([]);
    expect(later.effects.cancel).toEqual([]);
    expect(later.decision).toMatchObject({ decision: 'abort', state: 'aborted', stage: 1, abort: { rule: 'failure-rate' } });
  });
});

describe('evaluateRollout arguments', () => {
  const plan = planRollout(spec(fleet(10), { stages: [{ percent: 100 }] }));
  const progress = createRolloutProgress(plan);
  const caught = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    throw new Error('expected a throw');
  };
  it('names what is wrong', () => {
    expect(caught(() => evaluateRollout(plan, null as never, { now: T0 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      status: 400,
      message: 'evaluateRollout: progress must be the tracker from createRolloutProgress(plan), got null',
    });
    expect(caught(() => evaluateRollout(plan, {} as never, { now: T0 }))).toMatchObject({ message: 'evaluateRollout: progress must be the tracker from createRolloutProgress(plan), got object' });
    const planMessage = 'evaluateRollout: plan must be the plan the tracker was created from (a RolloutPlan from planRollout)';
    for (const bad of [null, 'plan', { rolloutId: 1, devices: [] }, { rolloutId: plan.rolloutId, devices: {} }]) {
      expect(caught(() => evaluateRollout(bad as never, progress, { now: T0 }))).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: planMessage });
    }
    const other = planRollout(spec(fleet(10), { rolloutId: 'other', stages: [{ percent: 100 }] }));
    expect(caught(() => evaluateRollout(other, progress, { now: T0 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      status: 400,
      message: 'evaluateRollout: the progress tracks rollout fw-2.0.0, not other; create it with createRolloutProgress(plan)',
    });
    const fewer = planRollout(spec(fleet(9), { stages: [{ percent: 100 }] }));
    expect(caught(() => evaluateRollout(fewer, progress, { now: T0 }))).toMatchObject({ message: 'evaluateRollout: the progress tracks rollout fw-2.0.0, not fw-2.0.0; create it with createRolloutProgress(plan)' });
    // A copy restored from JSON names the same rollout: accepted.
    expect(evaluateRollout(JSON.parse(JSON.stringify(plan)) as typeof plan, progress, { now: T0 }).decision).toBe('wait');
  });
});
