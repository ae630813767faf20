// Each refusal of restoreRolloutProgress is its own: a snapshot broken in one way is refused by the
// check for that way, with the message that names the field (a corruption caught only by some later
// check would say the wrong thing). And what saveRolloutProgress writes, field by field.
import { describe, expect, it } from 'vitest';
import { errorOf, fleet, spec } from './helpers.js';
import {
  createRolloutProgress,
  planRollout,
  restoreRolloutProgress,
  saveRolloutProgress,
  stepRollout,
  type RolloutDevice,
  type RolloutPlan,
  type RolloutProgress,
  type RolloutProgressSnapshot,
  type RolloutSpec,
} from './imports.js';

const SPEC: Partial<RolloutSpec> = { stages: [{ percent: 50 }, { percent: 100 }], abort: { failureRate: 0.5 }, deadlines: { pickupMs: 300, runMs: 200, bootHealthMs: 100 } };
const planOf = (devices: RolloutDevice[] = fleet(20), extra: Partial<RolloutSpec> = {}): RolloutPlan => planRollout(spec(devices, { ...SPEC, ...extra }));

/** Stage 0 holds devices 0–6: 0 installing, 1 booting, 2–6 dispatched; stage 1 (7–19) pending. */
function tracker(): { plan: RolloutPlan; progress: RolloutProgress; good: RolloutProgressSnapshot } {
  const plan = planOf();
  const progress = createRolloutProgress(plan);
  stepRollout(plan, progress, { now: 1000 });
  const [first, second] = plan.devices;
  progress.report({ deviceId: first!.id, type: 'picked_up' }, 1001);
  progress.report({ deviceId: second!.id, type: 'picked_up' }, 1001);
  progress.report({ deviceId: second!.id, type: 'installed' }, 1002);
  return { plan, progress, good: saveRolloutProgress(progress) };
}

const at = (s: string, i: number, ch: string): string => s.slice(0, i) + ch + s.slice(i + 1);

describe('restoreRolloutProgress: one check per corruption', () => {
  const { plan, good } = tracker();
  const id = (i: number): string => plan.devices[i]!.id;

  it('the tracker the cases start from', () => {
    expect([good.status, good.flags, good.cursor, plan.stages.map((s) => [s.start, s.end])]).toEqual(['2a111110000000000000', '13111110000000000000', [7, 7], [[0, 7], [7, 20]]]);
    expect(good.queues).toEqual({ pickup: { ids: [2, 3, 4, 5, 6], due: [1300, 1300, 1300, 1300, 1300] }, run: { ids: [0, 1], due: [1201, 1201] }, boot: { ids: [1], due: [1102] } });
  });

  const pickup = good.queues.pickup;
  const cases: Array<[string, unknown, string]> = [
    ['status too short', { ...good, status: good.status.slice(1) }, 'status and flags must have one character per device (20)'],
    ['flags too short', { ...good, flags: good.flags.slice(1) }, 'status and flags must have one character per device (20)'],
    ['cursor per stage', { ...good, cursor: [7] }, 'cursor must have one entry per stage (2), got 1'],
    ['startedAt per stage', { ...good, startedAt: [1000] }, 'startedAt must have one entry per stage (2), got 1'],
    ['thresholdAt per stage', { ...good, thresholdAt: [null, null, null] }, 'thresholdAt must have one entry per stage (2), got 3'],
    ['rollbackStages per stage', { ...good, rollbackStages: [0] }, 'rollbackStages must have one entry per stage (2), got 1'],
    ['a stage past the last', { ...good, stage: 2 }, "stage 2 is outside the plan's 2 stages"],
    ['rate arrays', { ...good, rate: { times: [1000, 2000], counts: [7] } }, 'rate.times and rate.counts differ in length'],
    ['paused without pausedAt', { ...good, state: 'paused' }, 'a paused rollout needs pausedAt'],
    ['aborted without a verdict', { ...good, state: 'aborted' }, 'an aborted rollout needs its abort verdict'],
    ['a pending device with flags', { ...good, flags: at(good.flags, 7, '1') }, `device index 7 (${id(7)}): status 0 contradicts its flags 1`],
    ['a dispatched status without the dispatched flag', { ...good, flags: at(good.flags, 2, '0') }, `device index 2 (${id(2)}): status 1 contradicts its flags 0`],
    ['image flags on a device never dispatched', { ...good, status: at(good.status, 7, '9'), flags: at(good.flags, 7, '2') }, `device index 7 (${id(7)}) has image flags but was never dispatched`],
    ['withdrawn while installing', { ...good, flags: at(good.flags, 0, '9') }, `device index 0 (${id(0)}) is withdrawn but its status 2 is still open (a withdrawn device is cancelled or keeps its outcome)`],
    ['withdrawn while booting', { ...good, flags: at(good.flags, 1, 'b') }, `device index 1 (${id(1)}) is withdrawn but its status a is still open (a withdrawn device is cancelled or keeps its outcome)`],
    ['withdrawn while dispatched', { ...good, flags: at(good.flags, 2, '9') }, `device index 2 (${id(2)}) is withdrawn but its status 1 is still open (a withdrawn device is cancelled or keeps its outcome)`],
    ['a cursor past its stage', { ...good, cursor: [8, 7] }, "cursor.0 (8) is outside stage 0's devices 0–7"],
    ['a cursor before its stage', { ...good, cursor: [7, 6] }, "cursor.1 (6) is outside stage 1's devices 7–20"],
    ['a cursor past a pending device', { ...good, cursor: [7, 9] }, 'cursor.1 (9) skips pending device index 7'],
    ['queue arrays', { ...good, queues: { ...good.queues, run: { ids: [0, 1], due: [1201] } } }, 'queues.run: ids and due differ in length (2 vs 1)'],
    ['more entries than devices', { ...good, queues: { ...good.queues, pickup: { ids: Array.from({ length: 21 }, (_, i) => i), due: Array.from({ length: 21 }, () => 1300) } } }, 'queues.pickup: 21 entries for 20 devices'],
    ['an index past the plan', { ...good, queues: { ...good.queues, pickup: { ids: [...pickup.ids, 20], due: [...pickup.due, 1300] } } }, "queues.pickup.ids.5: device index 20 is outside the plan's 20 devices"],
    ['a device queued twice', { ...good, queues: { ...good.queues, pickup: { ids: [...pickup.ids, 6], due: [...pickup.due, 1300] } } }, 'queues.pickup.ids.5: device index 6 is queued twice'],
    ['due times going back', { ...good, queues: { ...good.queues, pickup: { ids: pickup.ids, due: [1300, 1300, 1300, 1300, 1299] } } }, 'queues.pickup.due.4: due times must not decrease'],
    ['a dispatched device without its pickup deadline', { ...good, queues: { ...good.queues, pickup: { ids: [2, 3, 4, 5], due: [1300, 1300, 1300, 1300] } } }, "queues.pickup: device index 6 has the queue's status but no deadline entry"],
    ['an installing device without its run deadline', { ...good, queues: { ...good.queues, run: { ids: [1], due: [1201] } } }, "queues.run: device index 0 has the queue's status but no deadline entry"],
    ['a booting device without its boot deadline', { ...good, queues: { ...good.queues, boot: { ids: [], due: [] } } }, "queues.boot: device index 1 has the queue's status but no deadline entry"],
    ['the device count alone', { ...good, devices: 21 }, 'the snapshot was saved for another plan of rollout "fw-2.0.0" (devices or stages differ)'],
    ['the fingerprint alone', { ...good, planHash: '0000000000000000' }, 'the snapshot was saved for another plan of rollout "fw-2.0.0" (devices or stages differ)'],
    ['another rollout', { ...good, rolloutId: 'fw-9' }, 'the snapshot is of rollout "fw-9", not "fw-2.0.0"'],
  ];
  for (const [name, snapshot, message] of cases) {
    it(name, () => {
      const e = errorOf(() => restoreRolloutProgress(plan, snapshot));
      expect([e.code, e.status, e.message]).toEqual(['INVALID_SNAPSHOT', 400, `restoreRolloutProgress: ${message}`]);
    });
  }

  it('a snapshot of another plan of the same rollout and size: any device field, the firmware, the stages', () => {
    const variants: RolloutPlan[] = [
      planOf(fleet(20, (i) => (i === 3 ? { tenantId: 'other' } : {}))),
      planOf(fleet(20, (i) => (i === 3 ? { firmware: '0.9.0' } : {}))),
      planRollout(spec(fleet(20), { ...SPEC, firmware: { ...spec([]).firmware, version: '2.0.1' }, seed: 'fw-2.0.0/2.0.0' })),
      planOf(fleet(20, (i) => (i === 3 ? { id: 'renamed' } : {}))),
      planOf(fleet(20), { stages: [{ percent: 30 }, { percent: 100 }] }),
    ];
    for (const other of variants) {
      expect(other.devices).toHaveLength(20);
      expect(errorOf(() => restoreRolloutProgress(other, good)).message).toBe('restoreRolloutProgress: the snapshot was saved for another plan of rollout "fw-2.0.0" (devices or stages differ)');
    }
  });

  it('a fingerprint is 16 hex digits for every plan', () => {
    for (let n = 1; n <= 120; n++) expect(saveRolloutProgress(createRolloutProgress(planOf(fleet(n)))).planHash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('what is not a snapshot names the first bad field, or the root, and lists at most 10 issues', () => {
    const revision = errorOf(() => restoreRolloutProgress(plan, { ...good, revision: -1 }));
    expect(revision.message).toMatch(/^restoreRolloutProgress: not a tracker snapshot: revision: .+; pass what saveRolloutProgress returned$/);
    expect((revision.details?.['issues'] as Array<{ path: string }>)[0]?.path).toBe('revision');
    const nested = errorOf(() => restoreRolloutProgress(plan, { ...good, queues: { ...good.queues, pickup: { ids: [-1], due: [1] } } }));
    expect(nested.message).toContain('not a tracker snapshot: queues.pickup.ids.0: ');
    expect((nested.details?.['issues'] as Array<{ path: string; message: string }>)[0]).toEqual({ path: 'queues.pickup.ids.0', message: expect.any(String) as string });
    expect(errorOf(() => restoreRolloutProgress(plan, 42)).message).toContain('not a tracker snapshot: (root): ');
    const empty = errorOf(() => restoreRolloutProgress(plan, {}));
    expect(empty.details?.['issues']).toHaveLength(10);
    expect(empty.status).toBe(400);
  });

  it('another format version says which, in the message and the details; without the format it is just not a snapshot', () => {
    const two = errorOf(() => restoreRolloutProgress(plan, { ...good, version: 2 }));
    expect(two.message).toBe('restoreRolloutProgress: the snapshot has format version 2; this fleetkit reads version 1');
    expect(two.details).toEqual({ version: 2 });
    expect(errorOf(() => restoreRolloutProgress(plan, { ...good, version: '1' })).details).toEqual({ version: '1' });
    const odd = errorOf(() => restoreRolloutProgress(plan, { ...good, version: [1] }));
    expect(typeof odd.details?.['version']).toBe('string');
    expect(errorOf(() => restoreRolloutProgress(plan, { version: 2 })).message).toContain('not a tracker snapshot');
  });
});

describe('saveRolloutProgress writes', () => {
  it('nulls for a tracker that has seen nothing', () => {
    const snap = saveRolloutProgress(createRolloutProgress(planOf()));
    expect(snap).toMatchObject({ revision: 0, now: null, pausedAt: null, haltedAt: null, haltApplied: false, startedAt: [null, null], thresholdAt: [null, null], rollbackStages: [0, 0], rate: { times: [], counts: [] } });
  });

  it('the time it has seen, the stages under rollback and when it paused', () => {
    const { plan, progress } = tracker();
    expect(saveRolloutProgress(progress).now).toBe(1002);
    expect(progress.operate({ type: 'pause' }, 1500).ok).toBe(true);
    expect(saveRolloutProgress(progress)).toMatchObject({ state: 'paused', pausedAt: 1500, now: 1500 });
    expect(progress.operate({ type: 'rollback', stages: [0] }, 1600).ok).toBe(true);
    expect(saveRolloutProgress(progress).rollbackStages).toEqual([1, 0]);
    expect(restoreRolloutProgress(plan, JSON.parse(JSON.stringify(saveRolloutProgress(progress)))).revision).toBe(progress.revision);
  });

  it('only the dispatch batches still inside the one-minute rate window', () => {
    const plan = planOf(fleet(20), { stages: [{ percent: 100 }], rateLimit: { devicesPerMinute: 2 }, deadlines: { pickupMs: 3_600_000, runMs: 3_600_000, bootHealthMs: 3_600_000 } });
    const progress = createRolloutProgress(plan);
    expect(stepRollout(plan, progress, { now: 0 }).effects.dispatch).toHaveLength(2);
    expect(saveRolloutProgress(progress)).toMatchObject({ rate: { times: [0], counts: [2] }, startedAt: [0], cursor: [2] });
    expect(stepRollout(plan, progress, { now: 30_000 }).effects.dispatch).toHaveLength(0);
    expect(stepRollout(plan, progress, { now: 60_000 }).effects.dispatch).toHaveLength(2);
    expect(saveRolloutProgress(progress)).toMatchObject({ rate: { times: [60_000], counts: [2] }, startedAt: [0], cursor: [4] });
  });

  it('refuses what is not a tracker with INVALID_ARGUMENT 400', () => {
    for (const junk of [null, {}, { status: new Uint8Array(1) }, { status: new Uint8Array(1), plan: 'x' }]) {
      const e = errorOf(() => saveRolloutProgress(junk as unknown as RolloutProgress));
      expect([e.code, e.status, e.message]).toEqual(['INVALID_ARGUMENT', 400, 'saveRolloutProgress(progress): expected a tracker from createRolloutProgress']);
    }
  });
});
