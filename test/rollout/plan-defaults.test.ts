/**
 * The defaults planRollout fills in, as exact values: abort criteria, deadlines, stage soaks and
 * success thresholds, and the seed; and that every given value replaces its default.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE, fleet, spec } from './helpers.js';
import { planRollout } from './imports.js';

describe('planRollout defaults', () => {
  it('a spec with no options: 0.1 % abort threshold, every outcome counted, halt; 24 h / 1 h / 5 min deadlines', () => {
    const plan = planRollout(spec(fleet(1000)));
    expect(plan.abort).toEqual({ failureRate: 0.001, minSample: undefined, maxFailures: undefined, countTimeouts: true, countUnreachable: true, countRejected: true, onAbort: 'halt' });
    expect(plan.deadlines).toEqual({ pickupMs: 24 * HOUR, runMs: HOUR, bootHealthMs: 5 * MINUTE });
    expect(plan.seed).toBe('fw-2.0.0/2.0.0');
    expect(plan.stages.map((s) => [s.percent, s.minSoakMs, s.successThreshold])).toEqual([
      [1, 24 * HOUR, 0.95],
      [10, 4 * HOUR, 0.95],
      [50, 4 * HOUR, 0.95],
      [100, 0, 0.95],
    ]);
    expect(plan.maintenanceWindows).toEqual([]);
    expect(plan.rateLimit).toBeUndefined();
  });

  it('a single stage soaks 0 (it is the last); two stages soak 24 h then 0', () => {
    expect(planRollout(spec(fleet(10), { stages: [{ percent: 100 }] })).stages.map((s) => s.minSoakMs)).toEqual([0]);
    expect(planRollout(spec(fleet(100), { stages: [{ percent: 50 }, { percent: 100 }] })).stages.map((s) => s.minSoakMs)).toEqual([24 * HOUR, 0]);
  });

  it('every given value replaces its default', () => {
    const abort = { failureRate: 0.2, minSample: 5, maxFailures: 7, countTimeouts: false, countUnreachable: false, countRejected: false, onAbort: 'rollback' as const };
    const deadlines = { pickupMs: 1, runMs: 2, bootHealthMs: 3 };
    const plan = planRollout(spec(fleet(100), { abort, deadlines, seed: 's', stages: [{ percent: 50, minSoakMs: 7, successThreshold: 0.5 }, { percent: 100, minSoakMs: 9, successThreshold: 1 }] }));
    expect(plan.abort).toEqual(abort);
    expect(plan.deadlines).toEqual(deadlines);
    expect(plan.seed).toBe('s');
    expect(plan.stages.map((s) => [s.minSoakMs, s.successThreshold])).toEqual([
      [7, 0.5],
      [9, 1],
    ]);
  });
});
