/**
 * A/B boot validation: after booting a new slot, a device commits it only when its required
 * health checks pass inside the window; anything else falls back to the old slot.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { DEFAULT_BOOT_HEALTH_MS } from './spec.js';

/** One post-boot health check as the device sees it. */
export const bootCheckSchema = z.strictObject({
  /** A name for logs: `mqtt-connected`, `sensor-read`, `watchdog-fed`, … */
  name: z.string().min(1).max(128),
  /** `pass`, `fail`, or `pending` (not run or not finished yet). */
  status: z.enum(['pass', 'fail', 'pending']),
  /**
   * When the check passed (epoch ms). A pass counts only from `bootedAt` to the deadline and
   * once `now` has reached it: one stamped before the boot (a result of the old slot), after the
   * deadline or after `now` does not count. Default: in time.
   */
  at: z.number().finite().optional(),
  /** Whether the commit waits for this check. Default true; an optional check that fails is only reported. */
  required: z.boolean().optional(),
});

/** Input of {@link evaluateBoot}. */
export const bootInputSchema = z.strictObject({
  /** When the device booted the new slot (epoch ms). */
  bootedAt: z.number().finite(),
  /** The current time (epoch ms), not before `bootedAt`. */
  now: z.number().finite(),
  checks: z.array(bootCheckSchema).max(256),
  /** How long the checks have to pass. Default 5 minutes. */
  windowMs: z.number().int().positive().optional(),
  /** True when the device rebooted again after booting the new slot and before committing it. */
  rebooted: z.boolean().optional(),
});

/** One post-boot health check. */
export type BootCheck = z.infer<typeof bootCheckSchema>;
/** Input of {@link evaluateBoot}. */
export type BootInput = z.infer<typeof bootInputSchema>;

/** What the device should do with its new slot. */
export type BootVerdict = 'pending' | 'commit' | 'rollback';

/** The result of {@link evaluateBoot}. */
export interface BootDecision {
  readonly verdict: BootVerdict;
  /** A sentence saying why. */
  readonly reason: string;
  /** Required checks that passed in time. */
  readonly passed: readonly string[];
  /** Checks that failed (required or not). */
  readonly failed: readonly string[];
  /** Required checks not passed yet. */
  readonly waiting: readonly string[];
  /** End of the window (epoch ms): with `pending`, ask again by then. */
  readonly deadline: number;
}

/**
 * Decides whether a device commits the slot it just booted.
 *
 * - `rollback` when the device rebooted before committing, or a required check failed, or the
 *   window ended before every required check passed;
 * - `commit` when every required check passed within the window — a pass stamped with `at`
 *   counts only when `bootedAt ≤ at ≤ min(now, bootedAt + windowMs)` (with no required checks,
 *   when the window elapsed without a reboot: surviving the window is the check);
 * - `pending` otherwise.
 *
 * @param input - `{ bootedAt, now, checks, windowMs?, rebooted? }` ({@link BootInput})
 * @returns the verdict with the checks sorted into passed / failed / waiting
 * @throws FleetError `INVALID_ARGUMENT` (400) for malformed input or `now` before `bootedAt`.
 * @example
 * ```ts
 * evaluateBoot({ bootedAt: t0, now: t0 + 40_000, checks: [{ name: 'mqtt-connected', status: 'pass' }] });
 * // → { verdict: 'commit', … }
 * ```
 */
export function evaluateBoot(input: BootInput): BootDecision {
  const parsed = bootInputSchema.safeParse(input);
  if (!parsed.success) {
    // A failed parse always carries at least one issue.
    const issue = parsed.error.issues[0]!;
    throw new FleetError('INVALID_ARGUMENT', `evaluateBoot: ${issue.path.join('.') || 'input'}: ${issue.message}`, { status: 400 });
  }
  const { bootedAt, now, checks, rebooted } = parsed.data;
  if (now < bootedAt) throw new FleetError('INVALID_ARGUMENT', `evaluateBoot: now (${now}) is before bootedAt (${bootedAt})`, { status: 400 });
  const windowMs = parsed.data.windowMs ?? DEFAULT_BOOT_HEALTH_MS;
  const deadline = bootedAt + windowMs;
  const required = checks.filter((c) => c.required !== false);
  // A pass counts only when it happened in the window and has happened by now: a pass stamped
  // before the boot is a result of the old slot, one stamped after now has not happened yet.
  const until = Math.min(now, deadline);
  const inTime = (c: BootCheck): boolean => c.status === 'pass' && (c.at === undefined || (c.at >= bootedAt && c.at <= until));
  const passed = required.filter(inTime).map((c) => c.name);
  const failed = checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const waitingChecks = required.filter((c) => !inTime(c) && c.status !== 'fail');
  const waiting = waitingChecks.map((c) => c.name);
  const why = (c: BootCheck): string => {
    if (c.status !== 'pass' || c.at === undefined) return c.name;
    if (c.at < bootedAt) return `${c.name} (its pass at ${c.at} is before the new slot booted at ${bootedAt})`;
    if (c.at > deadline) return `${c.name} (its pass at ${c.at} is after the deadline ${deadline})`;
    return `${c.name} (its pass at ${c.at} is after now, ${now})`;
  };
  const waitingWhy = waitingChecks.map(why).join(', ');
  const result = (verdict: BootVerdict, reason: string): BootDecision => ({ verdict, reason, passed, failed, waiting, deadline });
  if (rebooted === true) return result('rollback', 'the device rebooted before committing the new slot');
  const failedRequired = required.filter((c) => c.status === 'fail').map((c) => c.name);
  if (failedRequired.length > 0) return result('rollback', `required check${failedRequired.length > 1 ? 's' : ''} failed: ${failedRequired.join(', ')}`);
  if (required.length > 0 && waiting.length === 0) return result('commit', `all ${required.length} required checks passed within ${windowMs} ms`);
  if (now >= deadline) {
    if (required.length === 0) return result('commit', `no required checks; the device ran ${windowMs} ms without a reboot`);
    return result('rollback', `the ${windowMs} ms window ended before ${waitingWhy} passed`);
  }
  return result('pending', required.length === 0 ? `no required checks; waiting out the window (${deadline - now} ms left)` : `waiting for ${waitingWhy} (${deadline - now} ms left)`);
}
