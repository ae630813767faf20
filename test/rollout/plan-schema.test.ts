import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleet, spec } from './helpers.js';
import { createRolloutProgress, isFleetError, planRollout, rolloutPlanSchema, stepRollout } from './imports.js';
import type { RolloutPlan } from './imports.js';

function trackerError(plan: unknown): unknown {
  try {
    createRolloutProgress(plan as RolloutPlan);
  } catch (e) {
    return e;
  }
  return undefined;
}

/** A deep copy through JSON, as a stored plan comes back. */
const viaJson = (plan: RolloutPlan): Record<string, unknown> => JSON.parse(JSON.stringify(plan)) as Record<string, unknown>;

describe('stored plans', () => {
  it('a plan survives a JSON round trip: the schema accepts it and the tracker builds on it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 150 }), fc.boolean(), (n, withRules) => {
        const plan = planRollout(spec(fleet(n, (i) => ({ state: i % 17 === 0 ? 'maintenance' : 'active' })), withRules ? { abort: { minSample: 5, maxFailures: 2 } } : {}));
        const restored: RolloutPlan = rolloutPlanSchema.parse(viaJson(plan));
        expect(restored).toEqual(plan);
        // A tracker on the restored plan decides exactly as one on the original.
        const a = stepRollout(plan, createRolloutProgress(plan), { now: 1 });
        const b = stepRollout(restored, createRolloutProgress(restored), { now: 1 });
        expect(JSON.stringify(b)).toBe(JSON.stringify(a));
      }),
      { numRuns: 30 },
    );
  });

  it('the tracker refuses a corrupt plan with INVALID_PLAN, and the schema refuses it too', () => {
    const plan = planRollout(spec(fleet(300), { stages: [{ percent: 10 }, { percent: 100 }] }));
    const corruptions: ((p: Record<string, unknown>) => void)[] = [
      (p) => {
        delete p['abort'];
      },
      (p) => {
        (p['stages'] as { start: number }[])[1]!.start += 1;
      },
      (p) => {
        (p['devices'] as { stage: number }[])[0]!.stage = 1;
      },
      (p) => {
        (p['devices'] as { id: string }[])[5]!.id = (p['devices'] as { id: string }[])[4]!.id;
      },
      (p) => {
        (p['devices'] as unknown[]).pop();
      },
      (p) => {
        (p['deadlines'] as { pickupMs: number }).pickupMs = -1;
      },
      (p) => {
        (p['devices'] as { cohort: number }[])[3]!.cohort = 10_000;
      },
    ];
    for (const corrupt of corruptions) {
      const p = viaJson(plan);
      corrupt(p);
      const before = JSON.stringify(p);
      const error = trackerError(p);
      expect(isFleetError(error, 'INVALID_PLAN')).toBe(true);
      expect((error as Error).message).toContain('planRollout');
      expect(rolloutPlanSchema.safeParse(p).success).toBe(false);
      expect(JSON.stringify(p)).toBe(before); // nothing was changed on the way
    }
    for (const bad of [null, undefined, 42, 'plan', {}]) expect(isFleetError(trackerError(bad), 'INVALID_PLAN')).toBe(true);
  });
});
