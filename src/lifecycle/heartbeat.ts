/**
 * Heartbeats: is a device on time, late, missing beats, or silent?
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { LifecycleState } from './states.js';

/** Options of {@link heartbeatStatus}; every field has a default. */
export interface HeartbeatOptions {
  /** Expected time between heartbeats (ms). @defaultValue 60000 */
  readonly intervalMs?: number;
  /** Tolerance after a due heartbeat before it counts as missed (ms). @defaultValue 15000 */
  readonly graceMs?: number;
  /** Consecutive misses that degrade an active device. @defaultValue 3 */
  readonly missesToDegrade?: number;
  /** Silence after which a device is flagged (ms). @defaultValue 600000 (10 minutes) */
  readonly silentAfterMs?: number;
  /** The device's lifecycle state: decides which event is suggested. @defaultValue `'active'` */
  readonly state?: LifecycleState;
}

/** The defaults of {@link HeartbeatOptions}. */
export const DEFAULT_HEARTBEAT_OPTIONS: Readonly<{ intervalMs: number; graceMs: number; missesToDegrade: number; silentAfterMs: number }> = Object.freeze({ intervalMs: 60_000, graceMs: 15_000, missesToDegrade: 3, silentAfterMs: 600_000 });

/** What {@link heartbeatStatus} returns. */
export interface HeartbeatReport {
  /**
   * `on-time`: within one interval. `late`: past the interval but within the grace. `missed`: at least
   * one whole beat missed. `silent`: nothing for `silentAfterMs` or more.
   */
  readonly status: 'on-time' | 'late' | 'missed' | 'silent';
  /** Whole heartbeats missed (0 when on time or late). */
  readonly missed: number;
  /** Time since the last heartbeat (ms, never negative). */
  readonly sinceLastMs: number;
  /** True when the device is silent and should be looked at (never for a decommissioned device). */
  readonly flagged: boolean;
  /**
   * The lifecycle event this suggests: `health_check_failed` for an active device with
   * `missesToDegrade` or more misses, `auto_recovery` for a degraded device that is on time again.
   */
  readonly event: 'health_check_failed' | 'auto_recovery' | undefined;
  /** True for a decommissioned device: no flags, no events. */
  readonly suppressed: boolean;
}

function resolve(o: HeartbeatOptions): typeof DEFAULT_HEARTBEAT_OPTIONS {
  const r = {
    intervalMs: o.intervalMs ?? DEFAULT_HEARTBEAT_OPTIONS.intervalMs,
    graceMs: o.graceMs ?? DEFAULT_HEARTBEAT_OPTIONS.graceMs,
    missesToDegrade: o.missesToDegrade ?? DEFAULT_HEARTBEAT_OPTIONS.missesToDegrade,
    silentAfterMs: o.silentAfterMs ?? DEFAULT_HEARTBEAT_OPTIONS.silentAfterMs,
  };
  const ok =
    Number.isFinite(r.intervalMs) && r.intervalMs > 0 && Number.isFinite(r.graceMs) && r.graceMs >= 0 && Number.isInteger(r.missesToDegrade) && r.missesToDegrade >= 1 && r.silentAfterMs > 0 && Number.isFinite(r.silentAfterMs);
  if (!ok) {
    throw new FleetError('INVALID_ARGUMENT', 'heartbeatStatus: intervalMs must be > 0, graceMs ≥ 0, missesToDegrade an integer ≥ 1 and silentAfterMs > 0', {
      status: 400,
      details: { ...r },
    });
  }
  return r;
}

/**
 * Classifies a device's heartbeat at `now`. A `lastSeen` later than `now` (clock skew between
 * servers) counts as just seen.
 *
 * @param lastSeen - when the last heartbeat arrived (epoch ms)
 * @param now - the current time (epoch ms)
 * @param options - interval, grace, misses to degrade, silence limit, lifecycle state
 * @throws FleetError `INVALID_ARGUMENT` for non-finite times or inconsistent options.
 *
 * @example
 * ```ts
 * heartbeatStatus(lastSeen, now, { intervalMs: 30_000, state: device.state });
 * // { status: 'missed', missed: 3, event: 'health_check_failed', flagged: false, … }
 * ```
 */
export function heartbeatStatus(lastSeen: number, now: number, options: HeartbeatOptions = {}): HeartbeatReport {
  if (!Number.isFinite(lastSeen) || !Number.isFinite(now)) {
    throw new FleetError('INVALID_ARGUMENT', `heartbeatStatus: lastSeen and now must be finite epoch-ms times (got ${describeValue(lastSeen)}, ${describeValue(now)})`, { status: 400 });
  }
  const given = options ?? {};
  const o = resolve(given);
  const state = given.state ?? 'active';
  const sinceLastMs = Math.max(0, now - lastSeen);
  const missed = sinceLastMs <= o.intervalMs + o.graceMs ? 0 : Math.floor((sinceLastMs - o.graceMs) / o.intervalMs);
  const status = sinceLastMs >= o.silentAfterMs ? 'silent' : missed > 0 ? 'missed' : sinceLastMs > o.intervalMs ? 'late' : 'on-time';
  const suppressed = state === 'decommissioned';
  let event: HeartbeatReport['event'];
  if (!suppressed && state === 'active' && missed >= o.missesToDegrade) event = 'health_check_failed';
  else if (!suppressed && state === 'degraded' && status === 'on-time') event = 'auto_recovery';
  return { status, missed, sinceLastMs, flagged: status === 'silent' && !suppressed, event, suppressed };
}
