/**
 * The rollout spec: what `planRollout` accepts, as zod schemas (exported for boundaries) and the
 * defaults, all resolved in one place.
 */
import { z } from 'zod';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** Default soak of the first stage (the canary) when a rollout has more than one stage: 24 h. */
export const DEFAULT_CANARY_SOAK_MS = 24 * HOUR;
/** Default soak of a middle stage: 4 h. The last stage soaks 0 (nothing comes after it). */
export const DEFAULT_STAGE_SOAK_MS = 4 * HOUR;
/** Default share of a stage that must have succeeded before the next stage starts: 0.95. */
export const DEFAULT_SUCCESS_THRESHOLD = 0.95;
/** Default abort threshold: a failure rate above 0.1 %. */
export const DEFAULT_FAILURE_RATE = 0.001;
/** Default time a dispatched device has to pick its job up before it is `unreachable`: 24 h. */
export const DEFAULT_PICKUP_MS = 24 * HOUR;
/** Default time from pick-up to "installed, rebooting" before a device is `timed_out`: 1 h. */
export const DEFAULT_RUN_MS = HOUR;
/** Default time from "installed" to the boot confirmation before a device is `timed_out`: 5 min. */
export const DEFAULT_BOOT_HEALTH_MS = 5 * MINUTE;
/** Lifecycle states whose devices are never updated by a rollout. */
export const SKIPPED_STATES: readonly string[] = ['decommissioned', 'maintenance'];

/** The default stages: 1 % → 10 % → 50 % → 100 %. */
export const DEFAULT_STAGES: readonly StageSpec[] = [{ percent: 1 }, { percent: 10 }, { percent: 50 }, { percent: 100 }];

const nonEmpty = z.string().min(1);
const durationMs = z.number().int().nonnegative().max(365 * 24 * HOUR);

/** The target firmware image. */
export const firmwareSchema = z.strictObject({
  /** Version string the device will report once it runs the image. */
  version: nonEmpty.max(128),
  /** Where devices download the image from. */
  url: z.url(),
  /** SHA-256 of the image, 64 hex digits. */
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex digits'),
  /** Image size in bytes. */
  size: z.number().int().positive(),
});

/** A device attribute value used by target filters. */
export const attributeValueSchema = z.union([z.string(), z.number(), z.boolean()]);

/** One device of the fleet as the planner sees it. */
export const rolloutDeviceSchema = z.object({
  id: nonEmpty.max(256),
  tenantId: nonEmpty.max(256),
  /** The firmware version the device runs now (restored by a rollback). */
  firmware: nonEmpty.max(128),
  /** The device's lifecycle state (`decommissioned` and `maintenance` devices are skipped). */
  state: nonEmpty.max(64),
  tags: z.array(z.string()).optional(),
  attributes: z.record(z.string(), attributeValueSchema).optional(),
});

/** Which devices a rollout targets; every given condition must hold. */
export const targetFilterSchema = z.strictObject({
  /** Only devices of these tenants. */
  tenantIds: z.array(nonEmpty).optional(),
  /** Only devices carrying every one of these tags. */
  tags: z.array(z.string()).optional(),
  /** Only devices carrying at least one of these tags. */
  anyTags: z.array(z.string()).min(1).optional(),
  /** Only devices whose attributes equal these values. */
  attributes: z.record(z.string(), attributeValueSchema).optional(),
  /** Only devices currently on one of these versions. */
  fromVersions: z.array(nonEmpty).min(1).optional(),
});

/** One stage: a cumulative share of the eligible fleet, by percent or by absolute count. */
export const stageSpecSchema = z
  .strictObject({
    name: nonEmpty.max(64).optional(),
    /** Cumulative percent of the eligible fleet, in (0, 100]; devices with cohort < percent × 100. */
    percent: z.number().gt(0).max(100).optional(),
    /** Cumulative absolute number of devices (the first `count` in cohort order). */
    count: z.number().int().positive().optional(),
    /** Minimum soak after the stage reaches its success threshold. */
    minSoakMs: durationMs.optional(),
    /** Share of the stage's devices that must have succeeded, in (0, 1]. */
    successThreshold: z.number().gt(0).max(1).optional(),
  })
  .refine((s) => (s.percent === undefined) !== (s.count === undefined), {
    message: 'give exactly one of percent or count',
  });

/** When a rollout aborts. */
export const abortCriteriaSchema = z.strictObject({
  /** Abort threshold on the failure rate, in [0, 1). */
  failureRate: z.number().min(0).lt(1).optional(),
  /** With it, also abort once ≥ minSample devices of a stage have an outcome and failures / outcomes ≥ failureRate. */
  minSample: z.number().int().positive().optional(),
  /** With it, also abort once a stage has this many failures. */
  maxFailures: z.number().int().positive().optional(),
  /** Count `timed_out` devices as failures. */
  countTimeouts: z.boolean().optional(),
  /** Count `unreachable` devices as failures. */
  countUnreachable: z.boolean().optional(),
  /** Count `rejected` devices as failures. */
  countRejected: z.boolean().optional(),
  /** What an abort does besides stopping: `halt`, or `rollback` (also roll back every device that got the image). */
  onAbort: z.enum(['halt', 'rollback']).optional(),
});

/** Per-device deadlines. */
export const deadlinesSchema = z.strictObject({
  pickupMs: durationMs.min(1).optional(),
  runMs: durationMs.min(1).optional(),
  bootHealthMs: durationMs.min(1).optional(),
});

/** A dispatch rate limit. */
export const rateLimitSchema = z.strictObject({
  /** Most devices dispatched in any 60-second window. */
  devicesPerMinute: z.number().int().positive(),
});

const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected HH:MM (24-hour)');

/** A recurring window (local to `utcOffsetMinutes`) in which dispatching is allowed. */
export const maintenanceWindowSchema = z.strictObject({
  /** Start time of day, `HH:MM`. */
  start: clockTime,
  /** End time of day, `HH:MM`; at or before `start` means the window ends the next day. */
  end: clockTime,
  /** Days (0 = Sunday … 6 = Saturday) on which the window starts; default every day. */
  days: z.array(z.number().int().min(0).max(6)).min(1).optional(),
  /** Offset of the window's clock from UTC in minutes (UTC+2 → 120). */
  utcOffsetMinutes: z.number().int().min(-14 * 60).max(14 * 60).optional(),
});

/** The whole rollout spec accepted by `planRollout`. */
export const rolloutSpecSchema = z.strictObject({
  rolloutId: nonEmpty.max(128),
  firmware: firmwareSchema,
  /** Cohort seed; default `rolloutId + "/" + firmware.version` (a new seed per release). */
  seed: nonEmpty.max(256).optional(),
  devices: z.array(rolloutDeviceSchema),
  target: targetFilterSchema.optional(),
  stages: z.array(stageSpecSchema).min(1).max(100).optional(),
  abort: abortCriteriaSchema.optional(),
  deadlines: deadlinesSchema.optional(),
  rateLimit: rateLimitSchema.optional(),
  maintenanceWindows: z.array(maintenanceWindowSchema).optional(),
});

/** The target firmware image. */
export type Firmware = z.infer<typeof firmwareSchema>;
/** One device as the planner sees it. */
export type RolloutDevice = z.infer<typeof rolloutDeviceSchema>;
/** A target filter. */
export type TargetFilter = z.infer<typeof targetFilterSchema>;
/** One stage as given in a spec. */
export type StageSpec = z.infer<typeof stageSpecSchema>;
/** Abort criteria as given in a spec. */
export type AbortCriteria = z.infer<typeof abortCriteriaSchema>;
/** Deadlines as given in a spec. */
export type Deadlines = z.infer<typeof deadlinesSchema>;
/** A dispatch rate limit. */
export type RateLimit = z.infer<typeof rateLimitSchema>;
/** A recurring maintenance window. */
export type MaintenanceWindow = z.infer<typeof maintenanceWindowSchema>;
/** The spec accepted by `planRollout`. */
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;

/**
 * What {@link planRollout} accepts: a rollout spec as you write it. The same shape as
 * `rolloutSpecSchema` (and the parsed {@link RolloutSpec}), with read-only arrays so a frozen
 * fleet or `DEFAULT_STAGES` can be passed as they are. `planRollout` still validates it at run
 * time, so a spec from JSON or another untyped source can be passed after a cast.
 *
 * @example
 * ```ts
 * const spec: RolloutSpecInput = {
 *   rolloutId: 'fw-2.4.0',
 *   firmware: { version: '2.4.0', url: 'https://updates.example.com/2.4.0.bin', sha256: 'ab'.repeat(32), size: 1_048_576 },
 *   devices: fleet,
 *   stages: [{ count: 5, minSoakMs: 3_600_000 }, { percent: 10 }, { percent: 100 }],
 *   abort: { failureRate: 0.02, maxFailures: 25 },
 * };
 * ```
 */
export interface RolloutSpecInput {
  /** Names the rollout, 1–128 characters; with the firmware version it makes the default seed. */
  readonly rolloutId: string;
  /** The image every device gets. */
  readonly firmware: Firmware;
  /** Cohort seed, 1–256 characters; default `rolloutId + "/" + firmware.version` (a new canary per release). */
  readonly seed?: string | undefined;
  /** The fleet; ids must be unique. Order does not matter. */
  readonly devices: readonly RolloutDevice[];
  /** Which devices the rollout targets; default every device. */
  readonly target?: TargetFilter | undefined;
  /** 1–100 cumulative stages; default 1 % → 10 % → 50 % → 100 %. */
  readonly stages?: readonly StageSpec[] | undefined;
  /** When the rollout aborts; default a failure rate above 0.1 %. */
  readonly abort?: AbortCriteria | undefined;
  /** Per-device deadlines; default 24 h to pick up, 1 h to install, 5 min to confirm the boot. */
  readonly deadlines?: Deadlines | undefined;
  /** Most dispatches in any 60-second window; default none. */
  readonly rateLimit?: RateLimit | undefined;
  /** When dispatching is allowed; default always. */
  readonly maintenanceWindows?: readonly MaintenanceWindow[] | undefined;
}

/** Abort criteria with every default applied. */
export interface ResolvedAbortCriteria {
  /** @defaultValue 0.001 (0.1 %) */
  readonly failureRate: number;
  /** @defaultValue undefined (rule off) */
  readonly minSample: number | undefined;
  /** @defaultValue undefined (rule off) */
  readonly maxFailures: number | undefined;
  /** @defaultValue true */
  readonly countTimeouts: boolean;
  /** @defaultValue true */
  readonly countUnreachable: boolean;
  /** @defaultValue true */
  readonly countRejected: boolean;
  /** @defaultValue 'halt' */
  readonly onAbort: 'halt' | 'rollback';
}

/** Deadlines with every default applied. */
export interface ResolvedDeadlines {
  /** @defaultValue 24 h */
  readonly pickupMs: number;
  /** @defaultValue 1 h */
  readonly runMs: number;
  /** @defaultValue 5 min */
  readonly bootHealthMs: number;
}

/** Applies the abort defaults. */
export function resolveAbortCriteria(abort: AbortCriteria | undefined): ResolvedAbortCriteria {
  return {
    failureRate: abort?.failureRate ?? DEFAULT_FAILURE_RATE,
    minSample: abort?.minSample,
    maxFailures: abort?.maxFailures,
    countTimeouts: abort?.countTimeouts ?? true,
    countUnreachable: abort?.countUnreachable ?? true,
    countRejected: abort?.countRejected ?? true,
    onAbort: abort?.onAbort ?? 'halt',
  };
}

/** Applies the deadline defaults. */
export function resolveDeadlines(deadlines: Deadlines | undefined): ResolvedDeadlines {
  return {
    pickupMs: deadlines?.pickupMs ?? DEFAULT_PICKUP_MS,
    runMs: deadlines?.runMs ?? DEFAULT_RUN_MS,
    bootHealthMs: deadlines?.bootHealthMs ?? DEFAULT_BOOT_HEALTH_MS,
  };
}

/**
 * The default soak of stage `index` of `count`: 24 h for the first of several stages, 0 for the
 * last, 4 h in between.
 */
export function defaultSoakMs(index: number, count: number): number {
  if (index === count - 1) return 0;
  return index === 0 ? DEFAULT_CANARY_SOAK_MS : DEFAULT_STAGE_SOAK_MS;
}
