/**
 * A corrupt stored plan is refused with a message naming the first field at fault and what was
 * expected there: each check of checkPlan (the tracker) pinned to its exact message, and the
 * schema's issue path and message for the same corruptions.
 */
import { describe, expect, it } from 'vitest';
import { fleet, spec } from './helpers.js';
import { createRolloutProgress, planRollout, rolloutPlanSchema } from './imports.js';
import type { RolloutPlan } from './imports.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const TAIL = '; pass a plan returned by planRollout, unchanged (or restored from its JSON)';
const plan = planRollout(spec(fleet(300), { stages: [{ percent: 10 }, { percent: 100 }] }));
const copy = (): Json => JSON.parse(JSON.stringify(plan)) as Json;

function refusal(p: unknown): { code: string; status: number; message: string } {
  try {
    createRolloutProgress(p as RolloutPlan);
  } catch (e) {
    return e as { code: string; status: number; message: string };
  }
  throw new Error('the tracker accepted the plan');
}

const s0 = plan.stages[0]!;
const s1 = plan.stages[1]!;

describe('checkPlan: the first problem, exactly', () => {
  const cases: [string, (p: Json) => void, string][] = [
    ['a header field', (p) => delete p['abort'], 'plan.abort: Invalid input: expected object, received undefined'],
    ['a nested header field', (p) => (p['deadlines'].pickupMs = -1), 'plan.deadlines.pickupMs: Too small: expected number to be >0'],
    ['devices not an array', (p) => (p['devices'] = {}), 'plan.devices must be an array'],
    ['skipped.total missing', (p) => delete p['skipped'], 'plan.skipped.total must be a non-negative integer'],
    ['skipped.total negative', (p) => (p['skipped'].total = -1), 'plan.skipped.total must be a non-negative integer'],
    ['a stage index', (p) => (p['stages'][1].index = 5), 'plan.stages.1.index: expected 1, got 5'],
    ['a stage start', (p) => (p['stages'][1].start += 1), `plan.stages.1.start: expected ${s0.end} (where the stage before it ends), got ${s1.start + 1}`],
    ['a stage size', (p) => (p['stages'][0].size += 1), `plan.stages.0.size: expected end - start = ${s0.size}, got ${s0.size + 1}`],
    [
      'requiredSuccesses above the size',
      (p) => (p['stages'][0].requiredSuccesses = s0.size + 1),
      `plan.stages.0.requiredSuccesses: ${s0.size + 1} is more than the stage's ${s0.size} devices`,
    ],
    ['both percent and count', (p) => (p['stages'][0].count = 3), 'plan.stages.0: expected exactly one of percent or count'],
    ['neither percent nor count', (p) => delete p['stages'][0].percent, 'plan.stages.0: expected exactly one of percent or count'],
    ['a device too few', (p) => p['devices'].pop(), `plan.stages: the last stage ends at ${s1.end}, but the plan has ${s1.end - 1} devices`],
    ['a device that is not an object', (p) => (p['devices'][2] = null), 'plan.devices.2: expected a planned device { id, tenantId, cohort, stage, fromVersion }'],
    ['a device that is an array', (p) => (p['devices'][2] = []), 'plan.devices.2: expected a planned device { id, tenantId, cohort, stage, fromVersion }'],
    ['an empty id', (p) => (p['devices'][2].id = ''), 'plan.devices.2.id: expected a non-empty string'],
    ['an id too long', (p) => (p['devices'][2].id = 'x'.repeat(257)), 'plan.devices.2.id: expected a non-empty string'],
    ['a tenant', (p) => (p['devices'][2].tenantId = 7), 'plan.devices.2.tenantId: expected a non-empty string'],
    ['a fromVersion too long', (p) => (p['devices'][2].fromVersion = 'v'.repeat(129)), 'plan.devices.2.fromVersion: expected a non-empty string'],
    ['a cohort of 10000', (p) => (p['devices'][2].cohort = 10_000), 'plan.devices.2.cohort: expected an integer from 0 to 9999'],
    ['a negative cohort', (p) => (p['devices'][2].cohort = -1), 'plan.devices.2.cohort: expected an integer from 0 to 9999'],
    ['a fractional cohort', (p) => (p['devices'][2].cohort = 1.5), 'plan.devices.2.cohort: expected an integer from 0 to 9999'],
    ['the stage of a device', (p) => (p['devices'][s0.end].stage = 0), `plan.devices.${s0.end}.stage: expected 1 (the stage whose range holds this index), got 0`],
    ['the stage of the last device of a stage', (p) => (p['devices'][s0.end - 1].stage = '0'), `plan.devices.${s0.end - 1}.stage: expected 0 (the stage whose range holds this index), got "0"`],
  ];
  it.each(cases)('%s', (_, corrupt, message) => {
    const p = copy();
    corrupt(p);
    expect(refusal(p)).toMatchObject({ code: 'INVALID_PLAN', status: 400, message: `createRolloutProgress: ${message}${TAIL}` });
  });

  it('a non-object plan', () => {
    expect(refusal(null).message).toBe(`createRolloutProgress: the plan must be an object, got null${TAIL}`);
    expect(refusal(7).message).toBe(`createRolloutProgress: the plan must be an object, got number${TAIL}`);
  });

  it('the boundaries that are accepted: a 256-character id, cohort 9999, a 128-character version', () => {
    const p = copy();
    p['devices'][2].id = 'x'.repeat(256);
    p['devices'][3].cohort = 9999;
    p['devices'][4].fromVersion = 'v'.repeat(128);
    p['devices'][5].cohort = 0;
    expect(() => createRolloutProgress(p as RolloutPlan)).not.toThrow();
  });
});

describe('rolloutPlanSchema: the same checks as issues', () => {
  it('an inconsistency is one custom issue with the message; a repeated id names its index', () => {
    const p = copy();
    p['stages'][1].index = 5;
    const r = rolloutPlanSchema.safeParse(p);
    expect(!r.success && r.error.issues.map((i) => [i.path, i.message])).toEqual([[[], 'stages.1.index: expected 1, got 5']]);
    const q = copy();
    q['devices'][7].id = q['devices'][6].id;
    const d = rolloutPlanSchema.safeParse(q);
    expect(!d.success && d.error.issues.map((i) => [i.path, i.message])).toEqual([[['devices', 7, 'id'], `device id ${JSON.stringify(q['devices'][6].id)} appears more than once`]]);
  });
});
