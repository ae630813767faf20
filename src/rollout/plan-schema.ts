/**
 * The stored form of a plan. A plan is plain JSON meant to be kept with the rollout, so it
 * crosses a boundary whenever it is loaded back: this schema validates it there, and the tracker
 * runs the same structural checks on every plan it is given (a corrupt plan would otherwise
 * corrupt the tracker's counters silently).
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { COHORT_COUNT } from './cohort.js';
import type { PlannedDevice, PlannedStage, RolloutPlan } from './plan.js';
import { firmwareSchema, maintenanceWindowSchema, rateLimitSchema } from './spec.js';
import { describeValue } from '../describe-value.js';

const text = z.string().min(1);
const whole = z.number().int().nonnegative();
const SKIP_REASONS = ['decommissioned', 'maintenance', 'not-targeted', 'already-on-target'] as const;
/** Stages are capped at 100 by the spec; the tracker stores a stage per device in 16 bits. */
const MAX_STAGES = 100;

/** Schema of one planned device ({@link PlannedDevice}). */
export const plannedDeviceSchema: z.ZodType<PlannedDevice> = z.strictObject({
  id: text.max(256),
  tenantId: text.max(256),
  cohort: z.number().int().min(0).max(COHORT_COUNT - 1),
  stage: whole.max(MAX_STAGES - 1),
  fromVersion: text.max(128),
});

const plannedStageObject = z.strictObject({
  index: whole,
  name: text,
  percent: z.number().gt(0).max(100).optional(),
  count: z.number().int().positive().optional(),
  requested: whole,
  start: whole,
  end: whole,
  size: z.number().int().positive(),
  raisedToOne: z.boolean(),
  minSoakMs: whole,
  successThreshold: z.number().gt(0).max(1),
  requiredSuccesses: whole,
});

/** Schema of one planned stage ({@link PlannedStage}). */
export const plannedStageSchema: z.ZodType<PlannedStage> = plannedStageObject;

const resolvedAbortSchema = z
  .strictObject({
    failureRate: z.number().min(0).lt(1),
    // JSON drops `undefined`, so a stored plan may omit the rules that are off.
    minSample: z.number().int().positive().optional(),
    maxFailures: z.number().int().positive().optional(),
    countTimeouts: z.boolean(),
    countUnreachable: z.boolean(),
    countRejected: z.boolean(),
    onAbort: z.enum(['halt', 'rollback']),
  })
  .transform((a) => ({ ...a, minSample: a.minSample, maxFailures: a.maxFailures }));

const resolvedDeadlinesSchema = z.strictObject({
  pickupMs: z.number().int().positive(),
  runMs: z.number().int().positive(),
  bootHealthMs: z.number().int().positive(),
});

const skipSummarySchema = z.strictObject({
  total: whole,
  byReason: z.strictObject({ decommissioned: whole, maintenance: whole, 'not-targeted': whole, 'already-on-target': whole }),
  devices: z.array(z.strictObject({ id: text, tenantId: text, reason: z.enum(SKIP_REASONS) })),
});

const headerShape = {
  rolloutId: text.max(128),
  firmware: firmwareSchema,
  seed: text.max(256),
  stages: z.array(plannedStageObject).max(MAX_STAGES),
  abort: resolvedAbortSchema,
  deadlines: resolvedDeadlinesSchema,
  rateLimit: rateLimitSchema.optional(),
  maintenanceWindows: z.array(maintenanceWindowSchema),
  notes: z.array(z.string()),
};

/** The plan without its (possibly huge) device lists: what the tracker validates with zod. */
const planHeaderSchema = z.looseObject(headerShape);

/**
 * The first way the stages and devices of a structurally valid plan contradict each other, or
 * `undefined`. O(devices); ids are checked for uniqueness by the caller.
 */
function planInconsistency(stages: readonly PlannedStage[], devices: readonly unknown[]): string | undefined {
  let end = 0;
  for (const [k, s] of stages.entries()) {
    if (s.index !== k) return `stages.${k}.index: expected ${k}, got ${s.index}`;
    if (s.start !== end) return `stages.${k}.start: expected ${end} (where the stage before it ends), got ${s.start}`;
    if (s.end - s.start !== s.size) return `stages.${k}.size: expected end - start = ${s.end - s.start}, got ${s.size}`;
    if (s.requiredSuccesses > s.size) return `stages.${k}.requiredSuccesses: ${s.requiredSuccesses} is more than the stage's ${s.size} devices`;
    if ((s.percent === undefined) === (s.count === undefined)) return `stages.${k}: expected exactly one of percent or count`;
    end = s.end;
  }
  if (end !== devices.length) return `stages: the last stage ends at ${end}, but the plan has ${devices.length} devices`;
  let stage = 0;
  for (let i = 0; i < devices.length; i++) {
    while (stage < stages.length && i >= stages[stage]!.end) stage++;
    const problem = deviceProblem(devices[i], stage);
    if (problem !== undefined) return `devices.${i}${problem}`;
  }
  return undefined;
}

function isText(value: unknown, max: number): boolean {
  return typeof value === 'string' && value.length >= 1 && value.length <= max;
}

/** What is wrong with one planned device (a fast hand check; the schema gives the same answer). */
function deviceProblem(d: unknown, stage: number): string | undefined {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return ': expected a planned device { id, tenantId, cohort, stage, fromVersion }';
  const r = d as Record<string, unknown>;
  if (!isText(r['id'], 256)) return '.id: expected a non-empty string';
  if (!isText(r['tenantId'], 256)) return '.tenantId: expected a non-empty string';
  if (!isText(r['fromVersion'], 128)) return '.fromVersion: expected a non-empty string';
  const cohort = r['cohort'];
  if (!Number.isInteger(cohort) || (cohort as number) < 0 || (cohort as number) >= COHORT_COUNT) return `.cohort: expected an integer from 0 to ${COHORT_COUNT - 1}`;
  if (r['stage'] !== stage) return `.stage: expected ${stage} (the stage whose range holds this index), got ${describeValue(r['stage'])}`;
  return undefined;
}

function invalidPlan(where: string, message: string): FleetError {
  return new FleetError('INVALID_PLAN', `${where}: ${message}; pass a plan returned by planRollout, unchanged (or restored from its JSON)`, { status: 400 });
}

/**
 * @internal Checks a plan before a tracker is built on it: the header with zod, the devices with
 * a fast loop, and the stage/device ranges against each other. Never mutates the plan.
 *
 * @throws FleetError `INVALID_PLAN` naming the first problem.
 */
export function checkPlan(plan: unknown, fn: string): asserts plan is RolloutPlan {
  if (typeof plan !== 'object' || plan === null) throw invalidPlan(fn, `the plan must be an object, got ${plan === null ? 'null' : typeof plan}`);
  const header = planHeaderSchema.safeParse(plan);
  if (!header.success) {
    // A failed parse always carries at least one issue.
    const issue = header.error.issues[0]!;
    throw invalidPlan(fn, `plan.${issue.path.map(String).join('.')}: ${issue.message}`);
  }
  const devices = (plan as { devices?: unknown }).devices;
  if (!Array.isArray(devices)) throw invalidPlan(fn, 'plan.devices must be an array');
  const skipped = skipSummarySchema.shape.total.safeParse((plan as { skipped?: { total?: unknown } }).skipped?.total);
  if (!skipped.success) throw invalidPlan(fn, 'plan.skipped.total must be a non-negative integer');
  const problem = planInconsistency(header.data.stages, devices);
  if (problem !== undefined) throw invalidPlan(fn, `plan.${problem}`);
}

/**
 * Schema of a stored {@link RolloutPlan}: validate a plan loaded from storage or received over
 * the wire before handing it to `createRolloutProgress`. Besides each field, it checks that the
 * stages tile the device list, every device carries its stage's index, and ids are unique.
 *
 * @example
 * ```ts
 * const plan = rolloutPlanSchema.parse(JSON.parse(await storage.read('rollout/fw-2.4.0/plan.json')));
 * const progress = createRolloutProgress(plan);
 * ```
 */
export const rolloutPlanSchema: z.ZodType<RolloutPlan> = z
  .strictObject({ ...headerShape, devices: z.array(plannedDeviceSchema), skipped: skipSummarySchema })
  .superRefine((plan, ctx) => {
    const problem = planInconsistency(plan.stages, plan.devices);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem });
      return;
    }
    const seen = new Set<string>();
    for (const [i, d] of plan.devices.entries()) {
      if (seen.has(d.id)) {
        ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `device id ${JSON.stringify(d.id)} appears more than once` });
        return;
      }
      seen.add(d.id);
    }
  });
