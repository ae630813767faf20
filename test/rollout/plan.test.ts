import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDevices } from '../../src/rollout/plan.js';
import { eligibleFleetArb, fleetArb, stagesArb } from './arbitraries.js';
import { errorOf, FIRMWARE, HOUR, fleet, spec } from './helpers.js';
import { FleetError, cohortLimit, cohortOf, isFleetError, planRollout, rolloutDeviceSchema, rolloutPlanSchema } from './imports.js';
import type { RolloutDevice, RolloutPlan, RolloutSpecInput, StageSpec, TargetFilter } from './imports.js';

function planError(input: unknown): string {
  try {
    planRollout(input as RolloutSpecInput);
  } catch (e) {
    if (isFleetError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  throw new Error('expected planRollout to throw');
}

describe('planRollout', () => {
  it('plans 10,000 devices into the default 1 → 10 → 50 → 100 % stages with their defaults', () => {
    const plan = planRollout(spec(fleet(10_000)));
    expect(plan.stages.map((s) => s.percent)).toEqual([1, 10, 50, 100]);
    expect(plan.stages.map((s) => s.minSoakMs)).toEqual([24 * HOUR, 4 * HOUR, 4 * HOUR, 0]);
    expect(plan.stages.every((s) => s.successThreshold === 0.95)).toBe(true);
    expect(plan.stages.at(-1)!.end).toBe(10_000);
    // The canary is the devices with cohort < 100: about 1 % of the fleet.
    const canary = plan.devices.slice(plan.stages[0]!.start, plan.stages[0]!.end);
    expect(canary.length).toBeGreaterThan(60);
    expect(canary.length).toBeLessThan(140);
    expect(plan.abort).toMatchObject({ failureRate: 0.001, countTimeouts: true, countUnreachable: true, onAbort: 'halt' });
    expect(plan.deadlines.bootHealthMs).toBe(5 * 60_000);
    expect(plan.seed).toBe('fw-2.0.0/2.0.0');
  });

  it('puts exactly the devices with cohort < p × 100 in the stages up to a p % stage, ordered by (cohort, id)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 400 }), fc.string({ minLength: 1, maxLength: 8 }), (n, seed) => {
        const devices = fleet(n);
        const plan = planRollout(spec(devices, { seed }));
        for (const stage of plan.stages) {
          if (stage.raisedToOne || stage.percent === undefined) continue;
          const limit = cohortLimit(stage.percent);
          const inside = new Set(plan.devices.slice(0, stage.end).map((d) => d.id));
          for (const d of devices) expect(inside.has(d.id)).toBe(cohortOf(seed, d.id) < limit);
        }
        for (let i = 1; i < plan.devices.length; i++) {
          const a = plan.devices[i - 1]!;
          const b = plan.devices[i]!;
          expect(a.stage < b.stage || (a.stage === b.stage && (a.cohort < b.cohort || (a.cohort === b.cohort && a.id < b.id)))).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('does not fill stages in creation order: reversing the fleet gives the same plan, skipped devices included', () => {
    const devices = fleet(500, (i) => ({ state: i % 7 === 0 ? 'maintenance' : 'active' }));
    const a = planRollout(spec(devices));
    const b = planRollout(spec([...devices].reverse()));
    expect(b).toEqual(a);
    expect(a.skipped.devices.length).toBeGreaterThan(1);
  });

  it('any permutation of the fleet gives a deep-equal plan', () => {
    const input = fleetArb(60).chain((devices) => fc.tuple(fc.constant(devices), fc.shuffledSubarray(devices, { minLength: devices.length, maxLength: devices.length })));
    fc.assert(
      fc.property(input, stagesArb, fc.option(fc.constantFrom<TargetFilter>({ tags: ['eu'] }, { anyTags: ['us', 'beta'] }, { fromVersions: ['1.0.0'] }), { nil: undefined }), ([devices, shuffled], stages, target) => {
        const extra = { stages, ...(target === undefined ? {} : { target }) };
        expect(planRollout(spec(shuffled, extra))).toEqual(planRollout(spec(devices, extra)));
      }),
      { numRuns: 200 },
    );
  });

  it('a percent stage holds the device whose cohort is one below its limit, not the one at the limit', () => {
    const seed = 'fw-2.0.0/2.0.0';
    const withCohort = (c: number): string => Array.from({ length: 200_000 }, (_, k) => `b-${k}`).find((id) => cohortOf(seed, id) === c)!;
    const below = withCohort(99);
    const at = withCohort(100);
    const devices = [...fleet(300), ...[below, at].map((id) => ({ id, tenantId: 'acme', firmware: '1.0.0', state: 'active' }))];
    for (const n of [devices.length, 1_500]) {
      const fleetN = n === devices.length ? devices : [...devices, ...fleet(n, (i) => ({ id: `x-${i}` }))];
      const plan = planRollout(spec(fleetN, { stages: [{ percent: 1 }, { percent: 100 }] }));
      const stageOf = stagesOf(plan);
      expect(stageOf.get(below)).toBe(0);
      expect(stageOf.get(at)).toBe(1);
      expect(plan.stages[0]!.requested).toBe(plan.devices.filter((d) => d.cohort < 100).length);
    }
  });

  it('orders small fleets (comparison sort) and large ones (counting sort) alike, and finds duplicates in both', () => {
    for (const n of [1_023, 1_024, 3_000]) {
      const devices = fleet(n, (i) => ({ state: i % 9 === 0 ? 'maintenance' : 'active' }));
      const plan = planRollout(spec(devices, { stages: [{ count: 7 }, { percent: 30 }, { percent: 100 }] }));
      expectWellFormed(plan);
      const expected = devices.filter((d) => d.state === 'active').map((d) => ({ id: d.id, cohort: cohortOf(plan.seed, d.id) }));
      expected.sort((x, y) => x.cohort - y.cohort || (x.id < y.id ? -1 : 1));
      expect(plan.devices.map((d) => d.id)).toEqual(expected.map((d) => d.id));
      const skipped = plan.skipped.devices.map((d) => cohortOf(plan.seed, d.id));
      expect(skipped).toEqual([...skipped].sort((x, y) => x - y));
      expect(planError(spec([...devices, devices[n - 1]!]))).toContain(`"${devices[n - 1]!.id}" appears more than once in spec.devices`);
    }
  });

  it('skips decommissioned, maintenance, untargeted and up-to-date devices, and counts them by reason', () => {
    const devices = fleet(100, (i) => ({
      state: i < 3 ? 'decommissioned' : i < 8 ? 'maintenance' : 'active',
      firmware: i >= 90 ? FIRMWARE.version : '1.0.0',
      tags: i % 2 === 0 ? ['eu'] : ['us'],
    }));
    const plan = planRollout(spec(devices, { target: { tags: ['eu'] } }));
    // States first (0–2 decommissioned, 3–7 maintenance), then the filter (the 46 odd "us" ids
    // among 8–99), then the version (even ids 90–98 are already on 2.0.0): 41 left.
    expect(plan.skipped.byReason).toEqual({ decommissioned: 3, maintenance: 5, 'not-targeted': 46, 'already-on-target': 5 });
    expect(plan.skipped.total).toBe(59);
    expect(plan.devices.length).toBe(41);
    expect(plan.notes.join('\n')).toContain('skipped 59 devices');
    expect(plan.skipped.devices.find((d) => d.id === 'dev-0001')?.reason).toBe('decommissioned');
  });

  it('applies every target filter condition', () => {
    const devices = fleet(12, (i) => ({ tenantId: i < 6 ? 'a' : 'b', tags: i % 3 === 0 ? ['x', 'y'] : ['x'], attributes: { model: i % 2 === 0 ? 'esp32' : 'nrf52' }, firmware: i % 4 === 0 ? '0.9.0' : '1.0.0' }));
    const ids = (target: NonNullable<Parameters<typeof spec>[1]>['target']): string[] =>
      planRollout(spec(devices, { ...(target === undefined ? {} : { target }) })).devices.map((d) => d.id).sort();
    expect(ids({ tenantIds: ['a'] })).toHaveLength(6);
    expect(ids({ tags: ['x', 'y'] })).toHaveLength(4);
    expect(ids({ anyTags: ['y', 'z'] })).toHaveLength(4);
    expect(ids({ attributes: { model: 'esp32' } })).toHaveLength(6);
    expect(ids({ attributes: { constructor: 'x' } })).toHaveLength(0);
    expect(ids({ fromVersions: ['0.9.0'] })).toHaveLength(3);
    expect(ids({ tenantIds: ['b'], attributes: { model: 'nrf52' }, tags: ['y'] })).toEqual(['dev-0009']);
  });

  it('gives a stage that would hold 0 devices one device, and says so', () => {
    const plan = planRollout(spec(fleet(20)));
    expect(plan.stages[0]!.size).toBeGreaterThanOrEqual(1);
    const raised = plan.stages.filter((s) => s.raisedToOne);
    expect(raised.length).toBeGreaterThan(0);
    for (const s of raised) expect(plan.notes.some((n) => n.includes(`${s.name} would hold 0 new devices`))).toBe(true);
    expect(plan.stages.every((s) => s.size >= 1)).toBe(true);
  });

  it('drops stages left with no device and says so', () => {
    const plan = planRollout(spec(fleet(2)));
    expect(plan.stages).toHaveLength(2);
    expect(plan.stages.map((s) => s.size)).toEqual([1, 1]);
    expect(plan.notes.filter((n) => n.includes('was dropped'))).toHaveLength(2);
  });

  it('supports absolute counts and mixes them with percents', () => {
    const plan = planRollout(spec(fleet(1000), { stages: [{ count: 5, minSoakMs: 60_000 }, { percent: 10 }, { count: 500 }, { percent: 100, successThreshold: 1 }] }));
    expect(plan.stages[0]!.size).toBe(5);
    expect(plan.stages[2]!.end).toBe(500);
    expect(plan.stages[3]!.end).toBe(1000);
    expect(plan.stages[3]!.requiredSuccesses).toBe(plan.stages[3]!.size);
    expect(plan.stages[0]!.minSoakMs).toBe(60_000);
  });

  it('computes the required successes with the same division the gate uses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 1000 }), (size, t) => {
        const threshold = t / 1000;
        const plan = planRollout(spec(fleet(size), { stages: [{ percent: 100, successThreshold: threshold }] }));
        const r = plan.stages[0]!.requiredSuccesses;
        expect(r / size >= threshold).toBe(true);
        if (r > 0) expect((r - 1) / size >= threshold).toBe(false);
      }),
      { numRuns: 40 },
    );
  });

  it('plans nothing (and says why) when no device is eligible', () => {
    const plan = planRollout(spec(fleet(3, () => ({ firmware: FIRMWARE.version }))));
    expect(plan.devices).toEqual([]);
    expect(plan.stages).toEqual([]);
    expect(plan.skipped.byReason['already-on-target']).toBe(3);
  });

  it('rejects malformed specs with INVALID_PLAN and a path', () => {
    expect(planError(null)).toMatch(/^INVALID_PLAN/);
    expect(planError({ ...spec(fleet(1)), firmware: { ...FIRMWARE, sha256: 'xyz' } })).toMatch(/INVALID_PLAN: .*firmware\.sha256.*64 hex/);
    expect(planError({ ...spec(fleet(1)), stages: [{ percent: 10, count: 3 }] })).toMatch(/exactly one of percent or count/);
    expect(planError({ ...spec(fleet(1)), stages: [{ percent: 10 }, { percent: 5 }] })).toMatch(/must be larger/);
    expect(planError({ ...spec(fleet(1)), devices: [{ id: '', tenantId: 't', firmware: '1', state: 'active' }] })).toMatch(/spec\.devices\.0\.id/);
    expect(planError({ ...spec(fleet(1)), devices: 'all' })).toMatch(/devices must be an array/);
    expect(planError({ ...spec(fleet(1)), unknownKey: 1 })).toMatch(/INVALID_PLAN/);
    expect(planError(spec([...fleet(3), fleet(2)[1]!]))).toMatch(/"dev-0001" appears more than once/);
    let thrown: unknown;
    try {
      planRollout({ ...spec(fleet(1)), firmware: { ...FIRMWARE, sha256: 'xyz' } });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_PLAN', status: 400, details: { issues: [{ path: ['firmware', 'sha256'], message: 'expected 64 hex digits' }] } });
    try {
      planRollout({ ...spec(fleet(2)), devices: [fleet(1)[0]!, { id: 'x' }] } as never);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'INVALID_PLAN', status: 400, message: expect.stringMatching(/^Invalid device in the rollout spec: spec\.devices\.1\.tenantId: /), details: { issues: expect.arrayContaining([expect.objectContaining({ path: ['tenantId'] })]) } });
  });

  it('never mutates the spec it is given', () => {
    const input = spec(fleet(50, (i) => ({ tags: [`t${i % 3}`] })), { stages: [{ percent: 10 }, { percent: 100 }] });
    const before = JSON.stringify(input);
    planRollout(input as RolloutSpecInput);
    expect(JSON.stringify(input)).toBe(before);
  });

  it("the fast device check accepts nothing the device schema refuses, and agrees on what it accepts", () => {
    const value = fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(undefined), fc.constant(null));
    const deviceLike = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 4 }), value),
        tenantId: fc.oneof(fc.string({ maxLength: 4 }), value),
        firmware: fc.oneof(fc.string({ maxLength: 4 }), value),
        state: fc.oneof(fc.string({ maxLength: 4 }), value),
        tags: fc.oneof(fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }), fc.array(value, { maxLength: 2 }), value),
        attributes: fc.oneof(fc.dictionary(fc.string({ maxLength: 3 }), value, { maxKeys: 3 }), value),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(deviceLike, (d) => {
        expect(plannerAccepts(d)).toBe(rolloutDeviceSchema.safeParse(d).success);
      }),
      { numRuns: 2000 },
    );
  });

  it('the fast device check at its edges: a valid device with one field set to a boundary or a wrong value', () => {
    const text = (max: number) => fc.string({ minLength: 1, maxLength: Math.min(max, 6) });
    const good = fc.record(
      {
        id: text(256),
        tenantId: text(256),
        firmware: text(128),
        state: text(64),
        tags: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
        attributes: fc.dictionary(fc.string({ maxLength: 3 }), fc.oneof(fc.string({ maxLength: 3 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean()), { maxKeys: 3 }),
      },
      { requiredKeys: ['id', 'tenantId', 'firmware', 'state'] },
    );
    const edges: unknown[] = [
      '', 'x', 'y'.repeat(64), 'y'.repeat(65), 'y'.repeat(128), 'y'.repeat(129), 'y'.repeat(256), 'y'.repeat(257),
      Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0, 1.5, true, false, null, undefined,
      [], ['a'], ['a', 1], [null], {}, { a: 1 }, { a: Number.NaN }, { a: null }, { a: [1] }, { a: { b: 1 } }, { a: Number.POSITIVE_INFINITY },
      new Date(0), new Map([['a', 1]]), Object.create(null) as object, 10n, Symbol('s'),
    ];
    const fields = ['id', 'tenantId', 'firmware', 'state', 'tags', 'attributes', 'tag', 'attribute'] as const;
    fc.assert(
      fc.property(good, fc.constantFrom(...fields), fc.nat(edges.length - 1), (device, field, e) => {
        const d: Record<string, unknown> = { ...device };
        const edge = edges[e];
        if (field === 'tag') d['tags'] = [...(device.tags ?? []), edge];
        else if (field === 'attribute') d['attributes'] = { ...device.attributes, k: edge };
        else d[field] = edge;
        expect(plannerAccepts(d), `${field} = edge #${e} (${typeof edge})`).toBe(rolloutDeviceSchema.safeParse(d).success);
      }),
      { numRuns: 3000 },
    );
  });
});

/** Whether the planner's device validation (fast check, then the schema) accepts `d`. */
function plannerAccepts(d: unknown): boolean {
  try {
    parseDevices([d]);
    return true;
  } catch {
    return false;
  }
}

/** stage of each device id in a plan */
const stagesOf = (plan: RolloutPlan): Map<string, number> => new Map(plan.devices.map((d) => [d.id, d.stage]));

/** Every law of a well-formed plan: it parses as a stored plan, and devices are in (stage, cohort, id) order. */
function expectWellFormed(plan: RolloutPlan): void {
  expect(rolloutPlanSchema.safeParse(JSON.parse(JSON.stringify(plan))).success).toBe(true);
  for (let i = 1; i < plan.devices.length; i++) {
    const a = plan.devices[i - 1]!;
    const b = plan.devices[i]!;
    expect(a.stage < b.stage || (a.stage === b.stage && (a.cohort < b.cohort || (a.cohort === b.cohort && a.id < b.id)))).toBe(true);
  }
}

/** For a percent stage s, a device with a cohort below its limit is in s or an earlier stage. */
function expectStickyByCohort(plan: RolloutPlan, devices: readonly { id: string; cohort: number; stage: number }[]): void {
  for (const d of devices) {
    for (const st of plan.stages) {
      if (st.percent !== undefined && d.cohort < cohortLimit(st.percent)) expect(d.stage).toBeLessThanOrEqual(st.index);
    }
  }
}

describe('sticky stages', () => {
  it('without previous: a device whose cohort is below a percent stage limit is in that stage or an earlier one', () => {
    fc.assert(
      fc.property(fleetArb(80), stagesArb, fc.string({ minLength: 1, maxLength: 6 }), (devices, stages, seed) => {
        const plan = planRollout(spec(devices, { stages, seed }));
        expectWellFormed(plan);
        expectStickyByCohort(plan, plan.devices);
        // A device in a percent stage that was not raised has a cohort below that stage's limit.
        for (const d of plan.devices) {
          const st = plan.stages[d.stage]!;
          if (st.percent !== undefined && !st.raisedToOne) expect(d.cohort).toBeLessThan(cohortLimit(st.percent));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('without previous: adding devices never moves a device of a percent stage to a later stage, unless it was raised into an otherwise empty stage', () => {
    fc.assert(
      fc.property(eligibleFleetArb(60), eligibleFleetArb(60), stagesArb, (before, added, stages) => {
        const ids = new Set(before.map((d) => d.id));
        const small = planRollout(spec(before, { stages }));
        const large = planRollout(spec([...before, ...added.filter((d) => !ids.has(d.id))], { stages }));
        const stageIn = stagesOf(large);
        for (const d of small.devices) {
          const st = small.stages[d.stage]!;
          if (st.percent === undefined || st.raisedToOne) continue;
          expect(stageIn.get(d.id)).toBeLessThanOrEqual(d.stage);
        }
      }),
      { numRuns: 300 },
    );
  });

  /** A device whose cohort under the test seed is below 100 (inside any 1 % stage). */
  const newcomer = (): RolloutDevice => {
    const id = Array.from({ length: 2_000 }, (_, k) => `new-${k}`).find((x) => cohortOf('fw-2.0.0/2.0.0', x) < 100)!;
    return { id, tenantId: 'acme', firmware: '1.0.0', state: 'active' };
  };

  it('without previous, raised and count stages are not sticky (the examples in the guide)', () => {
    // Adding one device to a 20-device fleet moves the raised-to-one canary to a later stage.
    const twenty = planRollout(spec(fleet(20)));
    const canary = twenty.devices[0]!;
    expect(twenty.stages[0]).toMatchObject({ raisedToOne: true, size: 1 });
    const grown = planRollout(spec([...fleet(20), newcomer()]));
    expect(stagesOf(grown).get(canary.id)).toBeGreaterThan(0);
    // Count stages 10 / 100 / 100 %: one more device early in cohort order pushes the last device of stage 1 to stage 2 and the last of stage 2 to stage 3.
    const stages = [{ count: 10 }, { count: 100 }, { percent: 100 }];
    const hundred = planRollout(spec(fleet(100), { stages }));
    const more = stagesOf(planRollout(spec([...fleet(100), newcomer()], { stages })));
    expect(hundred.devices.filter((d) => more.get(d.id)! > d.stage).map((d) => [d.stage, more.get(d.id)])).toEqual([[0, 1], [1, 2]]);
  });

  it('with previous: the same examples keep the canary and the count stages', () => {
    const twenty = planRollout(spec(fleet(20)));
    const replanned = planRollout(spec([...fleet(20), newcomer()]), { previous: twenty });
    expect(replanned.devices.filter((d) => d.id !== newcomer().id)).toEqual(twenty.devices);
    // The newcomer's cohort puts it in the 1 % stage, next to the canary it keeps.
    expect(replanned.devices.find((d) => d.id === newcomer().id)?.stage).toBe(0);
    expect(replanned.stages[0]).toMatchObject({ size: 2, raisedToOne: false });
    expect(replanned.notes).toContain('stage 1 (1 %) holds 2 devices where 1 were requested, to keep the 1 device it had in the previous plan');
    const stages = [{ count: 10 }, { count: 100 }, { percent: 100 }];
    const hundred = planRollout(spec(fleet(100), { stages }));
    const next = planRollout(spec([...fleet(100), newcomer()], { stages }), { previous: hundred });
    expect(stagesOf(next)).toEqual(new Map([...stagesOf(hundred), [newcomer().id, 2]]));
    expect(next.stages.map((s) => s.size)).toEqual([10, 90, 1]);
    expect(next.notes.at(-1)).toBe('re-planned from the previous plan: 100 kept their stage, 0 moved to an earlier stage, 1 new, 0 left the plan');
  });

  it('with previous: refuses a plan of another rollout or seed, an edited or corrupt plan, and options that are not { previous }', () => {
    const previous = planRollout(spec(fleet(30)));
    const replan = (prev: unknown, extra: Partial<RolloutSpecInput> = {}): FleetError => errorOf(() => planRollout({ ...spec(fleet(31)), ...extra }, { previous: prev as RolloutPlan }));
    expect(replan(previous, { rolloutId: 'fw-other' })).toMatchObject({ code: 'INVALID_PLAN', status: 400, message: expect.stringContaining('is for rollout "fw-2.0.0", not "fw-other"') });
    expect(replan(previous, { seed: 'canary-ring' }).message).toContain('made with seed "fw-2.0.0/2.0.0", this spec gives "canary-ring"');
    const edited = { ...previous, devices: previous.devices.map((d, i) => (i === 3 ? { ...d, cohort: (d.cohort + 1) % 10_000 } : d)) };
    expect(replan(edited).message).toContain(`plan.devices.3.cohort is ${edited.devices[3]!.cohort}`);
    const twice = { ...previous, devices: previous.devices.map((d, i) => (i === 1 ? { ...d, id: previous.devices[0]!.id, cohort: previous.devices[0]!.cohort } : d)) };
    expect(replan(twice).message).toContain('appears more than once in the previous plan');
    expect(replan({ ...previous, stages: [] })).toMatchObject({ code: 'INVALID_PLAN', message: expect.stringContaining('planRollout(spec, { previous })') });
    expect(replan(null).code).toBe('INVALID_PLAN');
    expect(errorOf(() => planRollout(spec(fleet(3)), null as never))).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: expect.stringContaining('got null') });
    expect(errorOf(() => planRollout(spec(fleet(3)), { previous, extra: 1 } as never))).toMatchObject({ code: 'INVALID_ARGUMENT', details: { option: 'extra' } });
    // `{ previous: undefined }` and no options are the same.
    expect(planRollout(spec(fleet(3)), { previous: undefined })).toEqual(planRollout(spec(fleet(3))));
  });

  it('with previous: every device of the previous plan keeps its stage or an earlier one; new devices are placed by cohort', () => {
    fc.assert(fc.property(replanArb, (args) => void checkReplan(args)), { numRuns: 300 });
  });

  it('the re-planning property reaches raised stages, count stages, kept updated devices, moves and grown stages on a fixed seeded corpus', () => {
    const tally = { raisedBefore: 0, countStages: 0, updatedKept: 0, movedEarlier: 0, grown: 0, newDevices: 0, left: 0 };
    for (const args of fc.sample(replanArb, { seed: 4_242, numRuns: 300 })) {
      const { previous, next, fleetB } = checkReplan(args);
      const before = new Map(previous.devices.map((d) => [d.id, d]));
      if (previous.stages.some((st) => st.raisedToOne)) tally.raisedBefore++;
      if (previous.stages.some((st) => st.count !== undefined) && previous.stages.length > 1) tally.countStages++;
      if (next.devices.some((d) => before.has(d.id) && fleetB.find((x) => x.id === d.id)!.firmware === FIRMWARE.version)) tally.updatedKept++;
      if (next.devices.some((d) => before.has(d.id) && d.stage < before.get(d.id)!.stage)) tally.movedEarlier++;
      if (next.stages.some((st) => !st.raisedToOne && st.end > Math.max(st.requested, st.start))) tally.grown++;
      if (next.devices.some((d) => !before.has(d.id))) tally.newDevices++;
      if (previous.devices.some((d) => !next.devices.some((x) => x.id === d.id))) tally.left++;
    }
    for (const [feature, n] of Object.entries(tally)) expect(n, feature).toBeGreaterThanOrEqual(10);
  });
});

const change = fc.record({ drop: fc.boolean(), updated: fc.boolean(), decommission: fc.nat(19).map((x) => x === 0) });
/** A fleet and its stages, how the fleet changes (per device: leaves, reports the target version, is decommissioned), new devices, and the new stages (if they change). */
const replanArb = fc.tuple(fleetArb(70), eligibleFleetArb(40), fc.array(change, { minLength: 70, maxLength: 70 }), stagesArb, fc.option(stagesArb, { nil: undefined }));

/** Plans fleet A, changes it into fleet B, re-plans with `previous` and checks every law of re-planning. */
function checkReplan([fleetA, added, changes, stagesA, stagesB]: [RolloutDevice[], RolloutDevice[], { drop: boolean; updated: boolean; decommission: boolean }[], StageSpec[], StageSpec[] | undefined]): { previous: RolloutPlan; next: RolloutPlan; fleetB: RolloutDevice[] } {
  const previous = planRollout(spec(fleetA, { stages: stagesA }));
  const inPrevious = new Map(previous.devices.map((d) => [d.id, d]));
  const known = new Set(fleetA.map((d) => d.id));
  const fleetB: RolloutDevice[] = [];
  fleetA.forEach((d, i) => {
    const c = changes[i]!;
    if (c.drop) return;
    fleetB.push({ ...d, ...(c.updated && inPrevious.has(d.id) ? { firmware: FIRMWARE.version } : {}), ...(c.decommission ? { state: 'decommissioned' } : {}) });
  });
  for (const d of added) if (!known.has(d.id)) fleetB.push(d);
  const stages = stagesB ?? stagesA;
  const next = planRollout(spec(fleetB, { stages }), { previous });
  expectWellFormed(next);
  const now = new Map(next.devices.map((d) => [d.id, d]));
  for (const d of fleetB) {
    const before = inPrevious.get(d.id);
    if (before === undefined) continue;
    const after = now.get(d.id);
    if (d.state === 'decommissioned') {
      expect(after).toBeUndefined();
      continue;
    }
    // Still eligible (a device the rollout already updated included): it stays, in its stage or an earlier one.
    expect(after).toBeDefined();
    expect(after!.stage).toBeLessThanOrEqual(Math.min(before.stage, stages.length - 1));
    expect(after!.fromVersion).toBe(before.fromVersion);
  }
  const inB = new Set(fleetB.map((d) => d.id));
  for (const d of previous.devices) if (!inB.has(d.id)) expect(now.has(d.id)).toBe(false);
  // New devices: a cohort below a percent stage's limit puts them in that stage or an earlier one.
  expectStickyByCohort(next, next.devices.filter((d) => !inPrevious.has(d.id)));
  // Re-planning the same fleet against the plan it produced changes nothing.
  expect(planRollout(spec(fleetB, { stages }), { previous: next }).devices).toEqual(next.devices);
  return { previous, next, fleetB };
}
