/**
 * Type-level checks of the planner's input (enforced by `npm run typecheck`, which covers the
 * tests), plus the run-time validation that stays behind the types.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { fleet, FIRMWARE, spec } from './helpers.js';
import { DEFAULT_STAGES, isFleetError, planRollout, rolloutSpecSchema } from './imports.js';
import type { PlanRolloutOptions, RolloutPlan, RolloutSpec, RolloutSpecInput } from './imports.js';

/** Removes `readonly` from the top-level arrays, to compare with the schema's own input type. */
type Writable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] extends readonly (infer U)[] | undefined ? U[] | undefined : T[K] };

describe('RolloutSpecInput', () => {
  it('is the schema input with read-only arrays', () => {
    expectTypeOf<Writable<RolloutSpecInput>>().toEqualTypeOf<z.input<typeof rolloutSpecSchema>>();
    expectTypeOf<RolloutSpec>().toExtend<RolloutSpecInput>();
    expectTypeOf(planRollout).parameter(0).toEqualTypeOf<RolloutSpecInput>();
    expectTypeOf(planRollout).parameter(1).toEqualTypeOf<PlanRolloutOptions | undefined>();
    expectTypeOf(planRollout).returns.toEqualTypeOf<RolloutPlan>();
  });

  it('accepts read-only fleets and the default stages as they are', () => {
    const devices: readonly ReturnType<typeof fleet>[number][] = Object.freeze(fleet(3));
    const plan = planRollout({ rolloutId: 'fw-2.0.0', firmware: FIRMWARE, devices, stages: DEFAULT_STAGES });
    expect(plan.devices).toHaveLength(3);
  });

  it('rejects misspelt or mistyped fields at compile time, and still at run time', () => {
    const errors: unknown[] = [];
    const attempt = (fn: () => unknown): void => {
      try {
        fn();
      } catch (e) {
        errors.push(e);
      }
    };
    // @ts-expect-error rolloutId must be a string
    attempt(() => planRollout({ ...spec(fleet(1)), rolloutId: 7 }));
    // @ts-expect-error stages take percent or count, not "pct"
    attempt(() => planRollout({ ...spec(fleet(1)), stages: [{ pct: 10 }] }));
    // @ts-expect-error devices are required
    attempt(() => planRollout({ rolloutId: 'r', firmware: FIRMWARE }));
    // @ts-expect-error the only option is previous
    attempt(() => planRollout(spec(fleet(1)), { prev: undefined }));
    expect(errors).toHaveLength(4);
    expect(errors.every((e) => isFleetError(e))).toBe(true);
    expect(errors.map((e) => (isFleetError(e) ? e.code : ''))).toEqual(['INVALID_PLAN', 'INVALID_PLAN', 'INVALID_PLAN', 'INVALID_ARGUMENT']);
  });
});
