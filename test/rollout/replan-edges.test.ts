// Re-planning at its edges: devices that share a cohort (the merge of the previous plan with the
// fleet walks both in (cohort, id) order), the notes' figures, and the messages of bad input.
import { describe, expect, it } from 'vitest';
import { errorOf, FIRMWARE, fleet, spec } from './helpers.js';
import { cohortOf, planRollout, type RolloutDevice, type RolloutPlan } from './imports.js';

const SEED = `fw-2.0.0/${FIRMWARE.version}`;

/** Three ids of one cohort under the rollout's seed, in id order. */
function threeInOneCohort(): [string, string, string] {
  const byCohort = new Map<number, string[]>();
  for (let i = 0; ; i++) {
    const id = `same-${i}`;
    const c = cohortOf(SEED, id);
    const ids = byCohort.get(c) ?? [];
    ids.push(id);
    byCohort.set(c, ids);
    if (ids.length === 3) return [...ids].sort() as [string, string, string];
  }
}

const device = (id: string, firmware = '1.0.0'): RolloutDevice => ({ id, tenantId: 'acme', firmware, state: 'active' });
const entry = (plan: RolloutPlan, id: string) => plan.devices.find((d) => d.id === id);

describe('re-planning devices that share a cohort', () => {
  const [p, q, r] = threeInOneCohort();

  it('a device that left and sorted before one that stayed: the one that stayed is still matched', () => {
    const previous = planRollout(spec([...fleet(20), device(p), device(r)]));
    const before = entry(previous, r);
    expect(before).toBeDefined();
    // r was updated by this rollout (it runs the target now); p left the fleet
    const replanned = planRollout(spec([...fleet(20), device(r, FIRMWARE.version)]), { previous });
    expect(entry(replanned, r)).toEqual({ ...before, fromVersion: '1.0.0' });
    expect(replanned.skipped.devices).toEqual([]);
    expect(replanned.notes.at(-1)).toBe('re-planned from the previous plan: 21 kept their stage, 0 moved to an earlier stage, 0 new, 1 left the plan');
  });

  it('a new device that sorts before one of the previous plan in the same cohort is new, and the old one keeps its place', () => {
    const previous = planRollout(spec([...fleet(20), device(r)]));
    const before = entry(previous, r);
    const replanned = planRollout(spec([...fleet(20), device(q), device(r, FIRMWARE.version)]), { previous });
    expect(entry(replanned, r)).toEqual({ ...before, fromVersion: '1.0.0' });
    expect(entry(replanned, q)?.fromVersion).toBe('1.0.0');
    expect(replanned.notes.at(-1)).toBe('re-planned from the previous plan: 21 kept their stage, 0 moved to an earlier stage, 1 new, 0 left the plan');
  });
});

describe('re-planning notes', () => {
  it('kept and moved are counted per device against the previous stage', () => {
    const devices = fleet(200);
    const previous = planRollout(spec(devices, { stages: [{ percent: 10 }, { percent: 100 }] }));
    const replanned = planRollout(spec(devices, { stages: [{ percent: 50 }, { percent: 100 }] }), { previous });
    const was = new Map(previous.devices.map((d) => [d.id, d.stage]));
    const kept = replanned.devices.filter((d) => was.get(d.id) === d.stage).length;
    const moved = replanned.devices.filter((d) => (was.get(d.id) ?? -1) > d.stage).length;
    expect(moved).toBeGreaterThan(0);
    expect(kept + moved).toBe(200);
    expect(replanned.notes.at(-1)).toBe(`re-planned from the previous plan: ${kept} kept their stage, ${moved} moved to an earlier stage, 0 new, 0 left the plan`);
  });

  it('a stage that must grow to keep its previous devices says how many, in words', () => {
    const devices = fleet(50);
    const previous = planRollout(spec(devices, { stages: [{ count: 3 }, { percent: 100 }] }));
    const replanned = planRollout(spec(devices, { stages: [{ count: 1 }, { percent: 100 }] }), { previous });
    expect(replanned.stages[0]?.size).toBe(3);
    expect(replanned.notes).toContain('stage 1 (1 device) holds 3 devices where 1 were requested, to keep the 3 devices it had in the previous plan');
  });
});

describe('planRollout messages', () => {
  it('stages must grow, counts included', () => {
    const e = errorOf(() => planRollout(spec(fleet(20), { stages: [{ count: 5 }, { count: 5 }] })));
    expect([e.code, e.status, e.message]).toEqual(['INVALID_PLAN', 400, 'Stage 2 (5 devices) must be larger than the stage before it (5 devices): stages are cumulative']);
  });

  it('a spec that is not an object, an invalid spec, and options that are not { previous }', () => {
    expect(errorOf(() => planRollout(null as never)).message).toBe('planRollout(spec) needs a spec object');
    expect(errorOf(() => planRollout({ devices: [] } as never)).message).toMatch(/^Invalid rollout spec: spec\.\w+: /);
    const options = (o: unknown): string => errorOf(() => planRollout(spec(fleet(2)), o as never)).message;
    expect(options(null)).toBe('planRollout(spec, options): options must be an object like { previous: plan }, got null');
    expect(options([])).toBe('planRollout(spec, options): options must be an object like { previous: plan }, got an array');
    expect(options(5)).toBe('planRollout(spec, options): options must be an object like { previous: plan }, got number');
    expect(options({ prev: 1 })).toBe('planRollout(spec, options): unknown option "prev"; the only option is previous');
  });
});
