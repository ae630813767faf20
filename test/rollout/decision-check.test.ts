/**
 * progress.apply refuses an edited or forged decision with a message naming the field and the
 * device at fault: each check of decision-check.ts pinned to its exact message, and a refusal
 * leaves the tracker (and the marks used to spot repeats) as it was.
 */
import { describe, expect, it } from 'vitest';
import { fleet, rig } from './helpers.js';
import { evaluateRollout } from './imports.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const TAIL = '; apply the decision evaluateRollout returned, unchanged';

function setup() {
  const r = rig(fleet(20), { stages: [{ percent: 50, minSoakMs: 0 }, { percent: 100 }] });
  const d = evaluateRollout(r.plan, r.progress, { now: T0 });
  const first = d.effects.dispatch[0]!;
  const later = r.plan.devices.find((x) => x.stage === 1)!;
  return { r, d, first, later };
}

const verdict = { stage: 0, rule: 'failure-rate', failures: 1, total: 10, decided: 1, at: T0, reason: 'x' };

describe('apply(decision): the checks of an edited decision', () => {
  const { d, first, later } = setup();
  const refs = (list: 'dispatch' | 'expire' | 'cancel' | 'rollBack', value: unknown) => ({ ...d, effects: { ...d.effects, [list]: value } });
  const cases: [string, unknown, string][] = [
    ['now NaN', { ...d, now: Number.NaN }, 'now: expected a finite epoch-ms number'],
    ['now a string', { ...d, now: '1' }, 'now: expected a finite epoch-ms number'],
    ['unknown kind', { ...d, decision: 'explode' }, 'decision: expected wait, advance, complete, pause or abort'],
    ['stage below 0', { ...d, stage: -1 }, 'stage: expected a stage index below 2'],
    ['stage = stage count', { ...d, stage: 2 }, 'stage: expected a stage index below 2'],
    ['fractional stage', { ...d, stage: 0.5 }, 'stage: expected a stage index below 2'],
    ['advance to the current stage', { ...d, decision: 'advance', stage: 0 }, 'stage: an advance goes to stage 1, not 0'],
    ['abort null', { ...d, abort: null }, 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }'],
    ['abort stage out of range', { ...d, abort: { ...verdict, stage: 2 } }, 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }'],
    ['abort rule unknown', { ...d, abort: { ...verdict, rule: 'x' } }, 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }'],
    ['abort reason not a string', { ...d, abort: { ...verdict, reason: 1 } }, 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }'],
    ['abort at not a number', { ...d, abort: { ...verdict, at: '1' } }, 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }'],
    ['no effects', { ...d, effects: undefined }, 'effects: expected { dispatch, cancel, rollBack, expire } arrays'],
    ['a list that is not an array', refs('rollBack', {}), 'effects: expected { dispatch, cancel, rollBack, expire } arrays'],
    ['a device dispatched twice', refs('dispatch', [...d.effects.dispatch, first]), `effects.dispatch.${d.effects.dispatch.length}: device ${first.deviceId} appears twice`],
    ['an unknown device', refs('dispatch', [first, { deviceId: 'ghost', tenantId: 'acme', stage: 0 }]), 'effects.dispatch.1: device "ghost" is not in the plan'],
    ['a ref without a deviceId', refs('dispatch', [{ id: 'x' }]), 'effects.dispatch.0: expected { deviceId, tenantId, stage }'],
    ['a ref that is null', refs('cancel', [null]), 'effects.cancel.0: expected { deviceId, tenantId, stage }'],
    ['a device of a stage not started', refs('dispatch', [{ deviceId: later.id, tenantId: later.tenantId, stage: 1 }]), `effects.dispatch.0: device ${later.id} belongs to stage 1, which has not started`],
    ['expiring a device not dispatched yet', refs('expire', [{ ...first, status: 'unreachable' }]), `effects.expire.0: device ${first.deviceId} is not waiting on a "unreachable" deadline`],
    ['an unknown device cancelled', refs('cancel', [{ deviceId: 'ghost' }]), 'effects.cancel.0: device "ghost" is not in the plan'],
    ['an unknown device rolled back', refs('rollBack', [first, { deviceId: 'ghost' }]), 'effects.rollBack.1: device "ghost" is not in the plan'],
  ];
  it.each(cases)('%s', (_, edited, message) => {
    const { r } = setup();
    const before = JSON.stringify([r.progress.revision, r.progress.stageCounts(0), r.progress.stageCounts(1)]);
    const out = r.progress.apply(edited as typeof d);
    expect(!out.ok && out.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: `apply(decision): ${message}${TAIL}` });
    expect(JSON.stringify([r.progress.revision, r.progress.stageCounts(0), r.progress.stageCounts(1)])).toBe(before);
    // The refusal left no device marked: the decision as evaluated still applies.
    expect(r.progress.apply(evaluateRollout(r.plan, r.progress, { now: T0 })).ok).toBe(true);
  });

  it('a valid abort verdict passes the check', () => {
    const { r, d: fresh } = setup();
    expect(r.progress.apply({ ...fresh, abort: verdict } as typeof fresh).ok).toBe(true);
  });

  it('an advance may dispatch the devices of the stage it starts, not those of a later one', () => {
    const r = rig(fleet(30), { stages: [{ percent: 30, minSoakMs: 0 }, { percent: 60, minSoakMs: 0 }, { percent: 100 }] });
    const canary = r.step(T0).effects.dispatch.map((x) => x.deviceId);
    r.send(canary, ['picked_up', 'installed', 'boot_confirmed'], T0 + 1);
    const adv = evaluateRollout(r.plan, r.progress, { now: T0 + 2 });
    expect(adv.decision).toBe('advance');
    const third = r.plan.devices.find((x) => x.stage === 2)!;
    const forged = { ...adv, effects: { ...adv.effects, dispatch: [...adv.effects.dispatch, { deviceId: third.id, tenantId: third.tenantId, stage: 2 }] } };
    const out = r.progress.apply(forged);
    expect(!out.ok && out.error.message).toBe(`apply(decision): effects.dispatch.${adv.effects.dispatch.length}: device ${third.id} belongs to stage 2, which has not started${TAIL}`);
    expect(r.progress.apply(adv).ok).toBe(true);
  });

  it('expiry: unreachable only for a dispatched device, timed_out only for one installing or booting', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }] });
    const ids = r.step(T0).effects.dispatch.map((x) => x.deviceId);
    r.send([ids[1]!], ['picked_up'], T0 + 1);
    r.send([ids[2]!], ['picked_up', 'installed'], T0 + 1);
    const ref = (id: string) => r.plan.devices.find((x) => x.id === id)!;
    const at = (id: string, status: string) => ({ deviceId: id, tenantId: 'acme', stage: ref(id).stage, status });
    const base = evaluateRollout(r.plan, r.progress, { now: T0 + 2 });
    const tryExpire = (e: unknown) => r.progress.apply({ ...base, revision: r.progress.revision, effects: { ...base.effects, expire: [e] } } as typeof base);
    const refused = (id: string, kind: unknown) => `apply(decision): effects.expire.0: device ${id} is not waiting on a ${typeof kind === 'string' ? `"${kind}"` : String(kind)} deadline${TAIL}`;
    for (const [id, kind] of [[ids[0]!, 'timed_out'], [ids[1]!, 'unreachable'], [ids[2]!, 'unreachable'], [ids[0]!, 'lost'], [ids[0]!, undefined]] as const) {
      const out = tryExpire(at(id, kind as string));
      expect(!out.ok && out.error.message).toBe(refused(id, kind));
    }
    expect(tryExpire(at(ids[2]!, 'timed_out')).ok).toBe(true);
    expect(tryExpire(at(ids[1]!, 'timed_out')).ok).toBe(true);
    expect(tryExpire(at(ids[0]!, 'unreachable')).ok).toBe(true);
  });
});

describe('apply(decision): more edits', () => {
  it('the first problem of a list is reported, not a later one', () => {
    const { r, d } = setup();
    const out = r.progress.apply({ ...d, effects: { ...d.effects, dispatch: [{ deviceId: 'ghost-1' }, { deviceId: 'ghost-2' }] } } as unknown as typeof d);
    expect(!out.ok && out.error.message).toBe(`apply(decision): effects.dispatch.0: device "ghost-1" is not in the plan${TAIL}`);
  });

  it('a device dispatched by an earlier decision cannot be dispatched again', () => {
    const { r, d, first } = setup();
    expect(r.progress.apply(d).ok).toBe(true);
    const again = evaluateRollout(r.plan, r.progress, { now: T0 + 1 });
    const out = r.progress.apply({ ...again, effects: { ...again.effects, dispatch: [first] } });
    expect(!out.ok && out.error.message).toBe(`apply(decision): effects.dispatch.0: device ${first.deviceId} was already dispatched${TAIL}`);
  });

  it('only an advance opens the next stage: a wait naming that stage does not', () => {
    const { r, d, later } = setup();
    const out = r.progress.apply({ ...d, stage: 1, effects: { ...d.effects, dispatch: [{ deviceId: later.id, tenantId: later.tenantId, stage: 1 }] } });
    expect(!out.ok && out.error.message).toBe(`apply(decision): effects.dispatch.0: device ${later.id} belongs to stage 1, which has not started${TAIL}`);
  });

  it('an expiry of an unknown kind is refused whatever the device is doing', () => {
    const r = rig(fleet(10), { stages: [{ percent: 100 }] });
    const ids = r.step(T0).effects.dispatch.map((x) => x.deviceId);
    r.send([ids[1]!], ['picked_up'], T0 + 1);
    r.send([ids[2]!], ['picked_up', 'installed'], T0 + 1);
    const base = evaluateRollout(r.plan, r.progress, { now: T0 + 2 });
    for (const id of ids.slice(0, 3)) {
      const out = r.progress.apply({ ...base, effects: { ...base.effects, expire: [{ deviceId: id, tenantId: 'acme', stage: 0, status: 'lost' as never }] } });
      expect(!out.ok && out.error.message).toBe(`apply(decision): effects.expire.0: device ${id} is not waiting on a "lost" deadline${TAIL}`);
    }
  });
});
