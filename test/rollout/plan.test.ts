import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDevices } from '../../src/rollout/plan.js';
import { FIRMWARE, HOUR, fleet, spec } from './helpers.js';
import { cohortLimit, cohortOf, isFleetError, planRollout, rolloutDeviceSchema } from './imports.js';

function planError(input: unknown): string {
  try {
    planRollout(input);
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

  it('is sticky: adding devices never moves an existing device to a later percent stage', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 600 }), fc.integer({ min: 1, max: 400 }), (n, extra) => {
        const small = planRollout(spec(fleet(n)));
        const large = planRollout(spec(fleet(n + extra)));
        const stageIn = new Map(large.devices.map((d) => [d.id, d.stage]));
        for (const d of small.devices) {
          if (small.stages[d.stage]!.raisedToOne) continue;
          expect(stageIn.get(d.id)).toBeLessThanOrEqual(d.stage);
        }
      }),
      { numRuns: 20 },
    );
  });

  it('does not fill stages in creation order: reversing the fleet gives the same plan', () => {
    const devices = fleet(500);
    const a = planRollout(spec(devices));
    const b = planRollout(spec([...devices].reverse()));
    expect(b.devices).toEqual(a.devices);
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
  });

  it('never mutates the spec it is given', () => {
    const input = spec(fleet(50, (i) => ({ tags: [`t${i % 3}`] })), { stages: [{ percent: 10 }, { percent: 100 }] });
    const before = JSON.stringify(input);
    planRollout(input);
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
        const schema = rolloutDeviceSchema.safeParse(d);
        let ours = true;
        try {
          parseDevices([d]);
        } catch {
          ours = false;
        }
        expect(ours).toBe(schema.success);
      }),
      { numRuns: 2000 },
    );
  });
});
