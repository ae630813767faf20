/**
 * The planner's notes and skip summary as exact text and counts: every skip reason (and which
 * wins when several apply), raised and dropped stages, devices beyond the last stage, default
 * stage names, the stage-growth refusals, and requiredSuccesses at its rounding edges.
 */
import { describe, expect, it } from 'vitest';
import { fleet, spec } from './helpers.js';
import { planRollout } from './imports.js';

function planError(input: unknown): { code: string; status: number; message: string } {
  try {
    planRollout(input as never);
  } catch (e) {
    return e as { code: string; status: number; message: string };
  }
  throw new Error('planned');
}

describe('planRollout notes and skips', () => {
  it('skips by state first, then the target filter, then the version, and says how many of each', () => {
    const devices = fleet(24, (i) => ({
      state: i < 2 ? 'decommissioned' : i < 5 ? 'maintenance' : 'active',
      firmware: (i >= 5 && i < 9) || i >= 20 ? '2.0.0' : '1.0.0',
      tags: (i >= 9 && i < 14) || i >= 20 || i === 4 ? ['lab'] : ['prod'],
    }));
    devices[4] = { ...devices[4]!, firmware: '2.0.0' }; // maintenance, outside the filter and on the target: maintenance
    const plan = planRollout(spec(devices, { target: { tags: ['prod'] }, stages: [{ percent: 1 }, { percent: 2 }, { count: 3, name: 'three' }, { percent: 100 }] }));
    expect(plan.skipped.byReason).toEqual({ decommissioned: 2, maintenance: 3, 'not-targeted': 9, 'already-on-target': 4 });
    expect(plan.skipped.total).toBe(18);
    expect(plan.skipped.devices.find((d) => d.id === 'dev-0004')?.reason).toBe('maintenance');
    expect(plan.skipped.devices.find((d) => d.id === 'dev-0021')?.reason).toBe('not-targeted');
    expect(plan.notes).toEqual([
      'stage 1 (1 %) would hold 0 new devices of 6 eligible; it holds 1',
      'stage 2 (2 %) would hold 0 new devices of 6 eligible; it holds 1',
      'skipped 18 devices: 4 already on 2.0.0, 9 outside the target filter, 3 in maintenance, 2 decommissioned',
    ]);
    expect(plan.stages.map((s) => [s.name, s.size, s.requested, s.raisedToOne])).toEqual([
      ['stage 1 (1 %)', 1, 0, true],
      ['stage 2 (2 %)', 1, 0, true],
      ['three', 1, 3, false],
      ['stage 4 (100 %)', 3, 6, false],
    ]);
  });

  it('a summary names only the reasons that occur', () => {
    expect(planRollout(spec(fleet(20, (i) => ({ state: i === 0 ? 'decommissioned' : 'active' })))).notes.at(-1)).toBe('skipped 1 device: 1 decommissioned');
    expect(planRollout(spec(fleet(20, (i) => ({ state: i === 0 ? 'maintenance' : 'active' })))).notes.at(-1)).toBe('skipped 1 device: 1 in maintenance');
    expect(planRollout(spec(fleet(20))).notes.some((n) => n.startsWith('skipped'))).toBe(false);
  });

  it('dropped stages and devices beyond the last stage', () => {
    expect(planRollout(spec(fleet(3), { stages: [{ count: 1 }, { count: 3 }, { count: 5 }, { percent: 100 }] })).notes).toEqual([
      'stage 3 (5 devices) was dropped: all 3 eligible devices are in earlier stages',
      'stage 4 (100 %) was dropped: all 3 eligible devices are in earlier stages',
    ]);
    const partial = planRollout(spec(fleet(200), { stages: [{ percent: 10 }, { percent: 30 }] }));
    expect(partial.notes).toEqual([`${200 - partial.devices.length} eligible devices are beyond the last stage and will not be updated`]);
    expect(partial.devices.length).toBe(partial.stages[1]!.end);
  });

  it('stages must grow: the refusal names the stage and both sizes', () => {
    expect(planError(spec(fleet(1), { stages: [{ percent: 10 }, { percent: 10 }] }))).toMatchObject({
      code: 'INVALID_PLAN',
      status: 400,
      message: 'Stage 2 (10 %) must be larger than the stage before it (10 %): stages are cumulative',
    });
    expect(planError(spec(fleet(1), { stages: [{ count: 4 }, { percent: 50 }, { count: 3 }] })).message).toBe(
      'Stage 3 (3 devices) must be larger than the stage before it (4 devices): stages are cumulative',
    );
    // Percent and count stages grow separately.
    expect(() => planRollout(spec(fleet(10), { stages: [{ count: 4 }, { percent: 1 }, { count: 5 }, { percent: 100 }] }))).not.toThrow();
  });

  it('requiredSuccesses is the smallest s with s / size ≥ threshold', () => {
    const required = (n: number, successThreshold: number): number => planRollout(spec(fleet(n), { stages: [{ percent: 100, successThreshold }] })).stages[0]!.requiredSuccesses;
    expect(required(20, 0.95)).toBe(19);
    expect(required(11, 0.95)).toBe(11);
    expect(required(10, 0.3)).toBe(3);
    expect(required(7, 1)).toBe(7);
    expect(required(1, 0.01)).toBe(1);
    expect(required(100, 0.5)).toBe(50);
    expect(required(3, 0.34)).toBe(2);
  });
});
