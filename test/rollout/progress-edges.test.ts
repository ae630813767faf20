// The tracker's edges, each pinned by what it answers: stage queries outside the plan, reports a
// device may not send, operator actions repeated or refused, what a rollback touches and what an
// abort that is owed a rollback still rolls back.
import { describe, expect, it } from 'vitest';
import { FIRMWARE, fleet, spec } from './helpers.js';
import {
  createRolloutProgress,
  planRollout,
  saveRolloutProgress,
  stepRollout,
  type AbortCriteria,
  type RolloutPlan,
  type RolloutProgress,
  type RolloutSpec,
} from './imports.js';

const LONG = { pickupMs: 3_600_000, runMs: 3_600_000, bootHealthMs: 3_600_000 };

function started(extra: Partial<RolloutSpec> = {}, n = 20): { plan: RolloutPlan; p: RolloutProgress; stage0: string[] } {
  const plan = planRollout(spec(fleet(n), { stages: [{ percent: 50 }, { percent: 100 }], deadlines: LONG, ...extra }));
  const p = createRolloutProgress(plan);
  stepRollout(plan, p, { now: 1000 });
  return { plan, p, stage0: plan.devices.filter((d) => d.stage === 0).map((d) => d.id) };
}

const ok = (p: RolloutProgress, deviceId: string, types: readonly Parameters<RolloutProgress['report']>[0]['type'][], now: number): void => {
  for (const type of types) {
    const r = p.report({ deviceId, type }, now);
    if (!r.ok) throw r.error;
  }
};

describe('stage queries', () => {
  it('a stage index outside the plan is INVALID_ARGUMENT 400 naming the range', () => {
    const { p } = started();
    for (const bad of [2, -1, 0.5]) {
      for (const call of [() => p.stageCounts(bad), () => p.stageSize(bad)]) {
        expect(call).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', status: 400, message: `stageCounts(${bad}): the plan has stages 0–1; pass a stage index from plan.stages` }) as Error);
      }
    }
    const none = createRolloutProgress(planRollout(spec(fleet(3, () => ({ firmware: FIRMWARE.version })))));
    expect(() => none.stageCounts(0)).toThrow('stageCounts(0): the plan has no stages (no eligible device); pass a stage index from plan.stages');
  });
});

describe('reports', () => {
  it('a cancelled device that was never dispatched may not report; one that was may', () => {
    const { plan, p, stage0 } = started();
    const later = plan.devices.find((d) => d.stage === 1)!.id;
    expect(p.operate({ type: 'cancel' }, 2000).ok).toBe(true);
    const r = p.report({ deviceId: later, type: 'picked_up' }, 2001);
    expect(!r.ok && [r.error.code, r.error.status, r.error.message]).toEqual(['INVALID_TRANSITION', 409, `Device ${later} is cancelled and was never dispatched; a "picked_up" report is not valid now`]);
    expect(p.report({ deviceId: stage0[0]!, type: 'picked_up' }, 2002).ok).toBe(true);
  });

  it('a repeated report is accepted but not applied', () => {
    const { p, stage0 } = started();
    ok(p, stage0[0]!, ['picked_up'], 1001);
    const again = p.report({ deviceId: stage0[0]!, type: 'picked_up' }, 1002);
    expect(again.ok && [again.applied, again.from, again.to]).toEqual([false, 'in_progress', 'in_progress']);
  });

  it('the report that aborts says so, the next one does not', () => {
    const { p, stage0 } = started({ abort: { failureRate: 0, minSample: 1 } });
    const first = p.report({ deviceId: stage0[0]!, type: 'failed' }, 1001);
    expect(first.ok && first.aborted).toBe(true);
    expect(p.state).toBe('aborted');
    const second = p.report({ deviceId: stage0[1]!, type: 'failed' }, 1002);
    expect(second.ok && second.aborted).toBe(false);
  });

  it('a failure after a cancel latches no abort', () => {
    const { p, stage0 } = started({ abort: { failureRate: 0, minSample: 1 } });
    expect(p.operate({ type: 'cancel' }, 2000).ok).toBe(true);
    const r = p.report({ deviceId: stage0[0]!, type: 'failed' }, 2001);
    expect(r.ok && r.aborted).toBe(false);
    expect([p.state, p.abortVerdict]).toEqual(['cancelled', undefined]);
  });

  it('a withdrawn device that reports the new image is never rolled back', () => {
    const { p, stage0 } = started();
    ok(p, stage0[0]!, ['picked_up'], 1001);
    expect(p.operate({ type: 'withdraw', deviceId: stage0[0]! }, 1002).ok).toBe(true);
    expect(p.operate({ type: 'rollback' }, 1003).ok).toBe(true);
    const r = p.report({ deviceId: stage0[0]!, type: 'installed' }, 1004);
    expect(r.ok && r.rollBack).toEqual([]);
    expect(p.device(stage0[0]!)?.rollbackScheduled).toBe(false);
  });

  it('apply refuses what is not a decision', () => {
    const { p } = started();
    const r = p.apply(null as never);
    expect(!r.ok && [r.error.code, r.error.message]).toEqual(['INVALID_ARGUMENT', 'apply(decision): expected the decision object returned by evaluateRollout']);
  });
});

describe('operator actions', () => {
  it('a repeated pause or cancel changes nothing; resume and the first pause or cancel move the revision', () => {
    const { p } = started();
    const r0 = p.revision;
    p.operate({ type: 'pause' }, 2000);
    expect(p.revision).toBe(r0 + 1);
    p.operate({ type: 'pause' }, 2001);
    expect(p.revision).toBe(r0 + 1);
    p.operate({ type: 'resume' }, 2002);
    expect([p.state, p.revision]).toEqual(['running', r0 + 2]);
    p.operate({ type: 'cancel' }, 2003);
    p.operate({ type: 'cancel' }, 2004);
    expect([p.state, p.revision]).toEqual(['cancelled', r0 + 3]);
  });

  it('an action refused on an aborted rollout gives the abort reason', () => {
    const { p, stage0 } = started({ abort: { failureRate: 0, minSample: 1, onAbort: 'halt' } });
    ok(p, stage0[0]!, ['failed'], 1001);
    const r = p.operate({ type: 'pause' }, 1002);
    expect(!r.ok && [r.error.code, r.error.status, r.error.details]).toEqual(['INVALID_OPERATION', 409, { state: 'aborted' }]);
    expect(!r.ok && r.error.message).toBe(`Cannot pause rollout fw-2.0.0: it is aborted (${p.abortVerdict!.reason})`);
  });

  it('withdraw: the id must be a device of the plan', () => {
    const { p } = started();
    const bad = p.operate({ type: 'withdraw', deviceId: 7 } as never, 2000);
    expect(!bad.ok && [bad.error.code, bad.error.message]).toEqual(['INVALID_ARGUMENT', 'withdraw: deviceId must be the id of a device of the plan, got 7']);
    const unknown = p.operate({ type: 'withdraw', deviceId: 'ghost' }, 2000);
    expect(!unknown.ok && [unknown.error.code, unknown.error.status, unknown.error.message, unknown.error.details]).toEqual(['DEVICE_NOT_FOUND', 404, 'Device "ghost" is not part of rollout fw-2.0.0; nothing to withdraw', { deviceId: 'ghost' }]);
  });

  it('withdraw: a booting device is cancelled and its job withdrawn', () => {
    const { p, stage0 } = started();
    ok(p, stage0[0]!, ['picked_up', 'installed'], 1001);
    expect(p.device(stage0[0]!)?.phase).toBe('booting');
    const r = p.operate({ type: 'withdraw', deviceId: stage0[0]! }, 1002);
    expect(r.ok && r.effects.cancel.map((d) => d.deviceId)).toEqual([stage0[0]]);
    expect(p.statusOf(stage0[0]!)).toBe('cancelled');
  });
});

describe('rollback', () => {
  it('cancels the queued jobs by id, and keeps the time of the first halt', () => {
    const { p, stage0 } = started();
    ok(p, stage0[0]!, ['picked_up'], 1001);
    const r = p.operate({ type: 'rollback' }, 2000);
    expect(r.ok && [...r.effects.cancel.map((d) => d.deviceId)].sort()).toEqual(stage0.slice(1).sort());
    expect(p.operate({ type: 'rollback' }, 3000).ok).toBe(true);
    expect(saveRolloutProgress(p).haltedAt).toBe(2000);
  });

  it('of chosen stages touches only their devices', () => {
    const { plan, p, stage0 } = started({ stages: [{ percent: 50, minSoakMs: 0, successThreshold: 0.1 }, { percent: 100 }] });
    for (const id of stage0) ok(p, id, ['picked_up', 'installed', 'boot_confirmed'], 1001);
    const next = stepRollout(plan, p, { now: 2000 });
    expect(next.decision.decision).toBe('advance');
    const stage1 = plan.devices.filter((d) => d.stage === 1);
    ok(p, stage1[0]!.id, ['picked_up', 'installed'], 2001);
    const r = p.operate({ type: 'rollback', stages: [0] }, 3000);
    expect(r.ok && [...r.effects.rollBack.map((d) => d.deviceId)].sort()).toEqual([...stage0].sort());
    expect(p.device(stage1[0]!.id)?.rollbackScheduled).toBe(false);
    expect(p.device(stage0[0]!)?.rollbackScheduled).toBe(true);
  });

  it('an abort owed a rollback still rolls back the started stages whatever stages the operator names', () => {
    const run = (onAbort: AbortCriteria['onAbort']): string[] => {
      const { p, stage0 } = started({ abort: { failureRate: 0.5, minSample: 2, onAbort } });
      ok(p, stage0[0]!, ['picked_up', 'installed', 'boot_confirmed'], 1001);
      ok(p, stage0[1]!, ['failed'], 1002);
      ok(p, stage0[2]!, ['failed'], 1003);
      expect(p.state).toBe('aborted');
      const r = p.operate({ type: 'rollback', stages: [] }, 1004);
      return r.ok ? r.effects.rollBack.map((d) => d.deviceId) : [];
    };
    const { stage0 } = started();
    expect(run('rollback')).toEqual([stage0[0]]);
    expect(run('halt')).toEqual([]);
  });
});
