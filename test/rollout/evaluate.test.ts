import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE, OK, fleet, rig } from './helpers.js';
import { DEVICE_STATUSES, evaluateRollout, isFleetError, isTerminalStatus } from './imports.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0); // a Monday, 12:00 UTC

describe('evaluateRollout: stages and gates', () => {
  it('dispatches the canary, waits for successes and the soak, then advances', () => {
    const r = rig(fleet(1000));
    const first = r.step(T0);
    expect(first.decision.decision).toBe('wait');
    const canary = r.stageIds(0);
    expect(first.effects.dispatch.map((d) => d.deviceId)).toEqual(canary);
    r.send(canary, OK, T0 + MINUTE);
    const soaking = r.step(T0 + 2 * MINUTE);
    expect(soaking.decision.decision).toBe('wait');
    expect(soaking.decision.reason).toContain('soaking');
    expect(soaking.decision.stats[0]!.succeeded).toBe(canary.length);
    // The soak counts from the moment the threshold was reached (T0 + 1 min), not from dispatch.
    expect(r.step(T0 + 24 * HOUR).decision.decision).toBe('wait');
    const advance = r.step(T0 + MINUTE + 24 * HOUR);
    expect(advance.decision.decision).toBe('advance');
    expect(advance.decision.stage).toBe(1);
    expect(advance.effects.dispatch.map((d) => d.deviceId)).toEqual(r.stageIds(1));
    expect(r.progress.currentStage).toBe(1);
  });

  it('runs to completion and only completes once every device is terminal', () => {
    const r = rig(fleet(300), { stages: [{ percent: 10, minSoakMs: 0 }, { percent: 100 }] });
    let now = T0;
    r.send(r.step(now).effects.dispatch.map((d) => d.deviceId), OK, (now += 1000));
    const adv = r.step((now += 1000));
    expect(adv.decision.decision).toBe('advance');
    const ids = adv.effects.dispatch.map((d) => d.deviceId);
    const [late, ...rest] = ids;
    r.send(rest, OK, (now += 1000));
    // 95 % succeeded: the last stage passed its gates, but one device is still in flight.
    const waiting = r.step((now += 1000));
    expect(waiting.decision.decision).toBe('wait');
    expect(waiting.decision.reason).toContain('waiting for 1 device to finish');
    r.send([late!], OK, (now += 1000));
    const done = r.step((now += 1000));
    expect(done.decision.decision).toBe('complete');
    expect(r.progress.state).toBe('completed');
    expect(r.step((now += HOUR)).decision.decision).toBe('complete');
  });

  it('never records success before the post-boot check', () => {
    const r = rig(fleet(50), { stages: [{ percent: 100 }] });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids, ['picked_up', 'installed'], T0 + 1000);
    const d = r.step(T0 + 2000).decision;
    expect(d.stats[0]!.succeeded).toBe(0);
    expect(d.stats[0]!.byStatus.in_progress).toBe(50);
    expect(r.progress.device(ids[0]!)).toMatchObject({ status: 'in_progress', phase: 'booting', installedVersion: '2.0.0' });
    // No confirmation within bootHealthMs (5 min): timed out, a failure, abort.
    const late = r.step(T0 + 1000 + 5 * MINUTE);
    expect(late.effects.expire).toHaveLength(50);
    expect(late.effects.expire.every((e) => e.status === 'timed_out')).toBe(true);
    expect(late.decision.decision).toBe('abort');
  });

  it('turns silent devices unreachable at the pick-up deadline and cancels their jobs', () => {
    const r = rig(fleet(40), { stages: [{ percent: 100 }], abort: { countUnreachable: false }, deadlines: { pickupMs: HOUR } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    const silent = ids.slice(0, 2);
    r.send(ids.slice(2), OK, T0 + MINUTE);
    const before = r.step(T0 + HOUR - 1);
    expect(before.effects.expire).toEqual([]);
    expect(before.decision.nextCheckAt).toBe(T0 + HOUR);
    const at = r.step(T0 + HOUR);
    expect(at.effects.expire.map((e) => e.deviceId)).toEqual(silent);
    expect(at.effects.cancel.map((e) => e.deviceId)).toEqual(silent);
    expect(r.progress.statusOf(silent[0]!)).toBe('unreachable');
    // Not counted as failures here, and 38 of 40 = 95 % succeeded: the rollout completes.
    expect(at.decision.decision).toBe('complete');
  });

  it('holds (pause) when a stage can no longer reach its success threshold', () => {
    const r = rig(fleet(40), { stages: [{ percent: 50, minSoakMs: 0 }, { percent: 100 }], abort: { countUnreachable: false }, deadlines: { pickupMs: HOUR } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(3), OK, T0 + MINUTE);
    const held = r.step(T0 + HOUR);
    expect(held.decision.decision).toBe('pause');
    expect(held.decision.reason).toContain('can no longer reach its success threshold');
    expect(held.effects.dispatch).toEqual([]);
    // Resuming does not skip the stage: it is still held.
    expect(r.progress.operate({ type: 'resume' }, T0 + HOUR + 1).ok).toBe(true);
    expect(r.step(T0 + 2 * HOUR).decision.decision).toBe('pause');
    expect(r.progress.currentStage).toBe(0);
  });
});

describe('evaluateRollout: abort rules', () => {
  it('failure rate: with 10,000 devices the first canary failure aborts (1 of ~100 > 0.1 %)', () => {
    const r = rig(fleet(10_000));
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 10), OK, T0 + MINUTE);
    const out = r.progress.report({ deviceId: ids[10]!, type: 'failed', reason: 'flash write error' }, T0 + MINUTE);
    expect(out.ok && out.aborted).toBe(true);
    const { decision, effects } = r.step(T0 + 2 * MINUTE);
    expect(decision.decision).toBe('abort');
    expect(decision.abort?.rule).toBe('failure-rate');
    expect(decision.reason).toContain(`1 failure of ${ids.length} devices`);
    expect(decision.reason).toContain('> the 0.10 % abort threshold');
    // Queued jobs are cancelled; undispatched devices too; nothing is dispatched again.
    expect(effects.cancel).toHaveLength(ids.length - 11);
    expect(r.progress.stageCounts(1).cancelled).toBe(r.plan.stages[1]!.size);
    expect(r.step(T0 + 48 * HOUR).effects.dispatch).toEqual([]);
  });

  it('min sample: failures / decided ≥ threshold once minSample outcomes are in', () => {
    const r = rig(fleet(1000), { stages: [{ percent: 100 }], abort: { failureRate: 0.05, minSample: 20 } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send([ids[0]!], ['failed'], T0 + 1);
    r.send(ids.slice(1, 19), OK, T0 + 2);
    // 1 failure of 19 decided: below minSample, and 1 / 1000 is far below 5 %.
    expect(r.step(T0 + 3).decision.decision).toBe('wait');
    r.send([ids[19]!], OK, T0 + 4);
    const d = r.step(T0 + 5).decision;
    expect(d.decision).toBe('abort');
    expect(d.abort).toMatchObject({ rule: 'min-sample', failures: 1, decided: 20, total: 1000 });
    expect(d.reason).toContain('1 failure of 20 devices with an outcome = 5.00 %');
  });

  it('max failures: an absolute cap', () => {
    const r = rig(fleet(1000), { stages: [{ percent: 100 }], abort: { failureRate: 0.5, maxFailures: 3 } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 2), ['picked_up', 'failed'], T0 + 1);
    expect(r.step(T0 + 2).decision.decision).toBe('wait');
    r.send([ids[2]!], ['picked_up', 'installed', 'rolled_back'], T0 + 3);
    const d = r.step(T0 + 4).decision;
    expect(d.abort).toMatchObject({ rule: 'max-failures', failures: 3 });
    expect(r.progress.device(ids[2]!)?.installedVersion).toBe('1.0.0');
  });

  it('counts timeouts, unreachable and rejected devices as failures unless told otherwise', () => {
    for (const [abort, expected] of [
      [{}, 'abort'],
      [{ countRejected: false }, 'wait'],
    ] as const) {
      const r = rig(fleet(100), { stages: [{ percent: 100 }], abort });
      const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
      r.send([ids[0]!], ['rejected'], T0 + 1);
      expect(r.step(T0 + 2).decision.decision).toBe(expected);
    }
    const r = rig(fleet(100), { stages: [{ percent: 100 }], abort: { countTimeouts: false }, deadlines: { runMs: MINUTE } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send([ids[0]!], ['picked_up'], T0 + 1);
    const d = r.step(T0 + 1 + MINUTE);
    expect(d.effects.expire).toEqual([expect.objectContaining({ deviceId: ids[0], status: 'timed_out' })]);
    expect(d.decision.decision).toBe('wait');
  });

  it('keeps evaluating earlier stages after a later one started', () => {
    const r = rig(fleet(1000), { stages: [{ percent: 10, minSoakMs: 0 }, { percent: 100 }] });
    const canary = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    const straggler = canary.at(-1)!;
    r.send(canary.slice(0, -1), OK, T0 + 1);
    r.send([straggler], ['picked_up', 'installed'], T0 + 1);
    expect(r.step(T0 + 2).decision.decision).toBe('advance');
    r.send([straggler], ['rolled_back'], T0 + 3);
    const d = r.step(T0 + 4).decision;
    expect(d.decision).toBe('abort');
    expect(d.stage).toBe(0);
    expect(d.abort?.stage).toBe(0);
  });

  it('abort is sticky: later successes do not undo it', () => {
    const r = rig(fleet(200), { stages: [{ percent: 100 }], abort: { failureRate: 0.2, minSample: 5 } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send([ids[0]!], ['failed'], T0 + 1);
    r.send(ids.slice(1, 5), OK, T0 + 1);
    expect(r.progress.state).toBe('aborted');
    expect(r.step(T0 + 2).decision.decision).toBe('abort');
    // Queued devices were cancelled by the abort, so their late reports change no counter.
    const later = r.progress.report({ deviceId: ids[6]!, type: 'boot_confirmed' }, T0 + 3);
    expect(later.ok && later.applied).toBe(false);
    expect(r.step(T0 + 4).decision.decision).toBe('abort');
    expect(r.progress.operate({ type: 'resume' }, T0 + 5).ok).toBe(false);
  });

  it('onAbort "rollback" schedules the previous firmware for every device that got the image', () => {
    const r = rig(fleet(200), { stages: [{ percent: 100 }], abort: { onAbort: 'rollback' } });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 3), OK, T0 + 1);
    r.send([ids[3]!], ['picked_up', 'installed'], T0 + 1);
    r.send([ids[4]!], ['failed'], T0 + 1);
    const { effects } = r.step(T0 + 2);
    expect(effects.rollBack.map((x) => x.deviceId).sort()).toEqual(ids.slice(0, 4).sort());
    expect(effects.rollBack.every((x) => x.toVersion === '1.0.0')).toBe(true);
  });
});

describe('operator actions', () => {
  it('pause stops dispatching while in-flight devices carry on; resume continues', () => {
    const r = rig(fleet(400), { stages: [{ percent: 100 }], rateLimit: { devicesPerMinute: 100 } });
    const first = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    expect(first).toHaveLength(100);
    expect(r.progress.operate({ type: 'pause' }, T0 + 1).ok).toBe(true);
    r.send(first, OK, T0 + 2);
    const paused = r.step(T0 + 5 * MINUTE);
    expect(paused.decision.decision).toBe('pause');
    expect(paused.decision.reason).toContain('paused by the operator');
    expect(paused.effects.dispatch).toEqual([]);
    expect(paused.decision.stats[0]!.succeeded).toBe(100);
    expect(r.progress.operate({ type: 'resume' }, T0 + 6 * MINUTE).ok).toBe(true);
    expect(r.step(T0 + 6 * MINUTE).effects.dispatch).toHaveLength(100);
  });

  it('cancel stops for good and cancels undispatched devices; in-flight jobs continue', () => {
    const r = rig(fleet(100), { stages: [{ percent: 50 }, { percent: 100 }] });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    const result = r.progress.operate({ type: 'cancel' }, T0 + 1);
    expect(result.ok && result.state).toBe('cancelled');
    expect(r.progress.stageCounts(1).cancelled).toBe(r.plan.stages[1]!.size);
    expect(r.progress.statusOf(ids[0]!)).toBe('dispatched');
    r.send([ids[0]!], OK, T0 + 2);
    const d = r.step(T0 + 3);
    expect(d.decision).toMatchObject({ decision: 'abort', state: 'cancelled' });
    expect(d.decision.reason).toContain('cancelled by the operator');
    expect(d.effects.dispatch).toEqual([]);
    expect(r.progress.operate({ type: 'resume' }, T0 + 4).ok).toBe(false);
  });

  it('rollback covers exactly the devices that received the image, including ones that report it later', () => {
    const r = rig(fleet(400), { stages: [{ percent: 25, minSoakMs: 0 }, { percent: 100 }] });
    const canary = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(canary, OK, T0 + 1);
    const second = r.step(T0 + 2).effects.dispatch.map((d) => d.deviceId);
    r.send(second.slice(0, 10), OK, T0 + 3);
    r.send(second.slice(10, 12), ['picked_up'], T0 + 3);
    r.send(second.slice(12, 14), ['picked_up', 'installed', 'rolled_back'], T0 + 3);
    const result = r.progress.operate({ type: 'rollback' }, T0 + 4);
    if (!result.ok) throw result.error;
    expect(result.state).toBe('rolled_back');
    expect(result.effects.rollBack.map((x) => x.deviceId).sort()).toEqual([...canary, ...second.slice(0, 10)].sort());
    expect(result.effects.cancel).toHaveLength(second.length - 14);
    // An in-flight device that installs after the rollback is caught when it reports.
    const late = r.progress.report({ deviceId: second[10]!, type: 'installed' }, T0 + 5);
    expect(late.ok && late.rollBack.map((x) => x.deviceId)).toEqual([second[10]]);
    expect(r.step(T0 + 6).decision).toMatchObject({ decision: 'abort', state: 'rolled_back' });
  });

  it('rollback of chosen stages only touches those stages, and never schedules a device twice', () => {
    const r = rig(fleet(400), { stages: [{ percent: 25, minSoakMs: 0 }, { percent: 100 }] });
    const canary = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(canary, OK, T0 + 1);
    const second = r.step(T0 + 2).effects.dispatch.map((d) => d.deviceId);
    r.send(second, OK, T0 + 3);
    const one = r.progress.operate({ type: 'rollback', stages: [1] }, T0 + 4);
    const both = r.progress.operate({ type: 'rollback', stages: [0, 1] }, T0 + 5);
    if (!one.ok || !both.ok) throw new Error('rollback refused');
    expect(one.effects.rollBack.map((x) => x.deviceId).sort()).toEqual([...second].sort());
    expect(both.effects.rollBack.map((x) => x.deviceId).sort()).toEqual([...canary].sort());
    const bad = r.progress.operate({ type: 'rollback', stages: [7] }, T0 + 6);
    expect(!bad.ok && bad.error.code).toBe('INVALID_ARGUMENT');
  });

  it('resume never moves past an errored stage: a failure while paused aborts, and resume is refused', () => {
    const r = rig(fleet(1000), { stages: [{ percent: 10, minSoakMs: 0 }, { percent: 100 }] });
    const canary = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    expect(r.progress.operate({ type: 'pause' }, T0 + 1).ok).toBe(true);
    // Every canary device but one succeeds: the success threshold is met...
    r.send(canary.slice(1), OK, T0 + 2);
    // ...but the last one fails while the rollout is paused.
    r.send([canary[0]!], ['picked_up', 'failed'], T0 + 3);
    const resumed = r.progress.operate({ type: 'resume' }, T0 + 4);
    expect(!resumed.ok && resumed.error.code).toBe('INVALID_OPERATION');
    expect(!resumed.ok && resumed.error.message).toContain('1 failure of');
    const d = r.step(T0 + 5);
    expect(d.decision).toMatchObject({ decision: 'abort', stage: 0 });
    expect(d.effects.dispatch).toEqual([]);
    expect(r.progress.currentStage).toBe(0);
    expect(r.progress.stageCounts(1).dispatched).toBe(0);
  });

  it('an operator rollback of chosen stages still honours a latched onAbort "rollback"', () => {
    const r = rig(fleet(400), { stages: [{ percent: 25, minSoakMs: 0 }, { percent: 100 }], abort: { onAbort: 'rollback', failureRate: 0.05 } });
    const canary = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    r.send(canary, OK, T0 + 1);
    const second = r.step(T0 + 2).effects.dispatch.map((d) => d.deviceId);
    r.send(second.slice(0, 20), OK, T0 + 3);
    r.send(second.slice(20, 40), ['picked_up', 'failed'], T0 + 3);
    expect(r.progress.state).toBe('aborted'); // latched by the reports, not applied yet
    const result = r.progress.operate({ type: 'rollback', stages: [1] }, T0 + 4);
    if (!result.ok) throw result.error;
    expect(result.effects.rollBack.map((x) => x.deviceId).sort()).toEqual([...canary, ...second.slice(0, 20)].sort());
  });

  it('refuses actions that make no sense in the current state', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }] });
    r.send(r.step(T0).effects.dispatch.map((d) => d.deviceId), OK, T0 + 1);
    expect(r.step(T0 + 2).decision.decision).toBe('complete');
    for (const type of ['pause', 'resume', 'cancel'] as const) {
      const res = r.progress.operate({ type }, T0 + 3);
      expect(!res.ok && res.error).toMatchObject({ code: 'INVALID_OPERATION', status: 409, details: { state: 'completed' }, message: `Cannot ${type} rollout fw-2.0.0: it is completed` });
    }
    const unknown = r.progress.operate({ type: 'explode' } as never, T0 + 3);
    expect(!unknown.ok && unknown.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: 'Unknown operator action "explode"; use pause, resume, cancel, rollback or withdraw' });
    const notNow = r.progress.operate({ type: 'pause' }, Number.NaN);
    expect(!notNow.ok && notNow.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: 'operate(…, now): now must be a finite epoch-ms number, got NaN' });
  });

  it('refuses a rollback of stages that are not stage indices, holes in the list included, changing nothing', () => {
    const r = rig(fleet(10), { stages: [{ percent: 50 }, { percent: 100 }] });
    r.step(T0);
    const revision = r.progress.revision;
    // eslint-disable-next-line no-sparse-arrays
    for (const stages of [[, 0], [0, 2], [0.5], 'all', [-1]]) {
      const res = r.progress.operate({ type: 'rollback', stages } as never, T0 + 1);
      expect(res.ok).toBe(false);
      expect(!res.ok && res.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: expect.stringContaining('rollback stages must be stage indices 0–1') });
    }
    expect(r.progress.revision).toBe(revision);
    expect(r.progress.state).toBe('running');
  });
});

describe('dispatch limits', () => {
  it('respects the rate limit over any 60-second window', () => {
    const r = rig(fleet(500), { stages: [{ percent: 100 }], rateLimit: { devicesPerMinute: 120 } });
    expect(r.step(T0).effects.dispatch).toHaveLength(120);
    const held = r.step(T0 + 30_000);
    expect(held.effects.dispatch).toHaveLength(0);
    expect(held.decision.reason).toContain('rate limit of 120 devices per minute');
    expect(held.decision.nextCheckAt).toBe(T0 + 60_000);
    expect(r.step(T0 + 60_000).effects.dispatch).toHaveLength(120);
  });

  it('dispatches only inside maintenance windows', () => {
    const windows = [{ start: '22:00', end: '02:00', days: [1, 2, 3, 4, 5] }];
    const r = rig(fleet(50), { stages: [{ percent: 100 }], maintenanceWindows: windows });
    const noon = r.step(T0);
    expect(noon.effects.dispatch).toEqual([]);
    expect(noon.decision.nextCheckAt).toBe(Date.UTC(2026, 0, 5, 22, 0));
    expect(r.step(Date.UTC(2026, 0, 6, 1, 59)).effects.dispatch).toHaveLength(50);
  });
});

describe('the tracker', () => {
  it('refuses bad reports without changing anything', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }] });
    const rev = r.progress.revision;
    const cases = [
      r.progress.report({ deviceId: 'nope', type: 'failed' }, T0),
      r.progress.report({ deviceId: 'dev-0001', type: 'installed' }, T0),
      r.progress.report({ deviceId: 'dev-0001', type: 'exploded' } as never, T0),
      r.progress.report(null as never, T0),
      r.progress.report({ deviceId: 'dev-0001', type: 'failed' }, Number.NaN),
    ];
    expect(cases.map((c) => (c.ok ? 'ok' : c.error.code))).toEqual(['DEVICE_NOT_FOUND', 'INVALID_TRANSITION', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    const errors = cases.map((c) => (c.ok ? undefined : c.error));
    expect(errors[0]).toMatchObject({ status: 404, details: { deviceId: 'nope' }, message: 'Device "nope" is not part of rollout fw-2.0.0' });
    expect(errors[1]).toMatchObject({
      status: 409,
      details: { deviceId: 'dev-0001', status: 'pending', report: 'installed' },
      message: 'Device dev-0001 is pending and was never dispatched; a "installed" report is not valid now',
    });
    expect(errors[2]).toMatchObject({ status: 400, message: expect.stringMatching(/^Invalid device report: .+; expected \{ deviceId: string, type: picked_up \| installed \| boot_confirmed \| failed \| rejected \| rolled_back \}$/) });
    expect(errors[3]).toMatchObject({ status: 400 });
    expect(errors[4]).toMatchObject({ status: 400, message: 'report(…, now): now must be a finite epoch-ms number, got NaN' });
    expect(r.progress.revision).toBe(rev);
    expect(r.progress.statusOf('dev-0001')).toBe('pending');
  });

  it('refuses a stale decision and a decision for another rollout', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }] });
    const d = evaluateRollout(r.plan, r.progress, { now: T0 });
    expect(r.progress.apply(d).ok).toBe(true);
    const again = r.progress.apply(d);
    expect(!again.ok && again.error).toMatchObject({ code: 'INVALID_OPERATION', status: 409, message: `Stale decision: computed on revision ${d.revision}, the tracker is at ${r.progress.revision}; evaluate again and apply at once` });
    const foreign = r.progress.apply({ ...d, rolloutId: 'other' });
    expect(!foreign.ok && foreign.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: 'The decision is for rollout "other", not fw-2.0.0; apply it to that rollout\'s tracker' });
    const other = rig(fleet(10), { rolloutId: 'other', stages: [{ percent: 100 }] });
    expect(() => evaluateRollout(other.plan, r.progress, { now: T0 })).toThrow(/tracks rollout fw-2.0.0/);
    let thrown: unknown;
    try {
      evaluateRollout(r.plan, r.progress, { now: Number.POSITIVE_INFINITY });
    } catch (e) {
      thrown = e;
    }
    expect(isFleetError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect(thrown).toMatchObject({ status: 400, message: 'evaluateRollout: options.now must be a finite epoch-ms number, got Infinity' });
  });

  it('refuses a decision that names unknown devices, dispatches twice or was edited, changing nothing', () => {
    const r = rig(fleet(20), { stages: [{ percent: 50, minSoakMs: 0 }, { percent: 100 }] });
    const d = evaluateRollout(r.plan, r.progress, { now: T0 });
    const first = d.effects.dispatch[0]!;
    const later = r.plan.devices.find((x) => x.stage === 1)!;
    const edits: unknown[] = [
      null,
      { ...d, effects: { ...d.effects, dispatch: [...d.effects.dispatch, first] } },
      { ...d, effects: { ...d.effects, dispatch: [{ deviceId: 'ghost', tenantId: 'acme', stage: 0 }] } },
      { ...d, effects: { ...d.effects, dispatch: [{ deviceId: later.id, tenantId: later.tenantId, stage: 1 }] } },
      { ...d, effects: { ...d.effects, expire: [{ ...first, status: 'unreachable' }] } },
      { ...d, effects: { ...d.effects, cancel: [{ deviceId: 'ghost' }] } },
      { ...d, effects: undefined },
      { ...d, decision: 'advance', stage: 5 },
      { ...d, decision: 'explode' },
      { ...d, now: Number.NaN },
    ];
    const before = JSON.stringify([r.progress.revision, r.progress.stageCounts(0), r.progress.stageCounts(1)]);
    for (const edited of edits) {
      const out = r.progress.apply(edited as typeof d);
      expect(!out.ok && out.error.code).toBe('INVALID_ARGUMENT');
      expect(JSON.stringify([r.progress.revision, r.progress.stageCounts(0), r.progress.stageCounts(1)])).toBe(before);
    }
    // Paused: a decision that dispatches is refused.
    expect(r.progress.operate({ type: 'pause' }, T0).ok).toBe(true);
    const paused = r.progress.apply({ ...d, revision: r.progress.revision });
    expect(!paused.ok && paused.error.message).toContain('not running');
    expect(r.progress.operate({ type: 'resume' }, T0).ok).toBe(true);
    expect(r.progress.apply(evaluateRollout(r.plan, r.progress, { now: T0 })).ok).toBe(true);
  });

  it('finishes an evaluation outside the maintenance windows at a time far beyond the Date range', () => {
    const r = rig(fleet(5), { stages: [{ percent: 100 }], maintenanceWindows: [{ start: '02:00', end: '03:00', days: [1] }] });
    const d = evaluateRollout(r.plan, r.progress, { now: 1e300 });
    expect(d.effects.dispatch).toEqual([]);
    expect(d.reason).toContain('outside the maintenance windows');
  });

  it('explains decisions even for times beyond the Date range', () => {
    const r = rig(fleet(5), { stages: [{ percent: 100 }] });
    const far = 1e16; // finite, but past what Date can format
    expect(r.progress.operate({ type: 'pause' }, far).ok).toBe(true);
    const d = evaluateRollout(r.plan, r.progress, { now: far });
    expect(d.decision).toBe('pause');
    expect(d.reason).toContain(`${far} ms`);
  });

  it('evaluateRollout refuses a missing tracker or plan with INVALID_ARGUMENT', () => {
    const r = rig(fleet(5), { stages: [{ percent: 100 }] });
    const calls: (() => unknown)[] = [
      () => evaluateRollout(r.plan, null as never, { now: T0 }),
      () => evaluateRollout(r.plan, {} as never, { now: T0 }),
      () => evaluateRollout(undefined as never, r.progress, { now: T0 }),
      () => evaluateRollout(r.plan, r.progress, undefined as never),
    ];
    for (const call of calls) {
      let thrown: unknown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      expect(isFleetError(thrown, 'INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('accepts a boot confirmation even when earlier messages were lost', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }] });
    const ids = r.step(T0).effects.dispatch.map((d) => d.deviceId);
    const out = r.progress.report({ deviceId: ids[0]!, type: 'boot_confirmed' }, T0 + 1);
    expect(out.ok && [out.from, out.to]).toEqual(['dispatched', 'succeeded']);
    const dup = r.progress.report({ deviceId: ids[0]!, type: 'boot_confirmed' }, T0 + 2);
    expect(dup.ok && dup.applied).toBe(false);
  });

  it('isTerminalStatus is true exactly for the outcome statuses', () => {
    expect(DEVICE_STATUSES.filter((st) => !isTerminalStatus(st))).toEqual(['pending', 'dispatched', 'in_progress']);
    expect(isTerminalStatus('exploded' as never)).toBe(false);
  });
});
