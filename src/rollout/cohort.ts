/**
 * Sticky cohorts: every device gets a stable number in [0, 9999] per rollout seed.
 */
import { FleetError } from '../errors.js';
import { murmur3JoinedUtf8 } from './murmur3.js';
import { describeValue } from '../describe-value.js';

/** How many cohorts there are: a cohort is an integer in [0, COHORT_COUNT). One cohort is 0.01 % of a fleet. */
export const COHORT_COUNT = 10_000;

/**
 * The cohort of `deviceId` under `seed`: `murmur3_x86_32(utf8(seed + ":" + deviceId), 0) % 10000`.
 *
 * The formula is part of the public contract and never changes between versions, so a device
 * keeps its cohort for a given seed forever, and any other system can compute it too. Use the
 * same seed for every stage of a rollout (a device in the 1 % canary, cohort < 100, is then also
 * in the 10 % stage, cohort < 1,000); use a new seed per release to spread the canary risk over
 * different devices, or a fixed "canary ring" seed to always lead with the same devices.
 *
 * @param seed - the rollout's seed (any string)
 * @param deviceId - the device id (any string)
 * @returns an integer in [0, 9999]
 * @throws FleetError `INVALID_ARGUMENT` when either argument is not a string.
 * @example
 * ```ts
 * const cohort = cohortOf('fw-2.4.0', 'sensor-0001');
 * const inCanary = cohort < 1 * 100; // the 1 % stage
 * ```
 */
export function cohortOf(seed: string, deviceId: string): number {
  if (typeof seed !== 'string' || typeof deviceId !== 'string') {
    throw new FleetError('INVALID_ARGUMENT', `cohortOf(seed, deviceId) needs two strings, got ${typeof seed} and ${typeof deviceId}; pass the rollout seed and the device id as strings`, {
      status: 400,
      details: { seed: typeof seed, deviceId: typeof deviceId },
    });
  }
  return murmur3JoinedUtf8(seed, deviceId, 0) % COHORT_COUNT;
}

/**
 * The exclusive cohort limit of a stage of `percent` %: devices whose cohort is below it are in
 * the stage (`percent × 100`, rounded down, so 0.25 % → 25 cohorts).
 *
 * @param percent - a stage size in percent, in [0, 100]
 * @returns an integer in [0, 10000]
 * @throws FleetError `INVALID_ARGUMENT` when `percent` is not a number in [0, 100].
 */
export function cohortLimit(percent: number): number {
  if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
    throw new FleetError('INVALID_ARGUMENT', `cohortLimit(percent): percent must be a number from 0 to 100, got ${describeValue(percent)}`, {
      status: 400,
      details: { percent: typeof percent === 'number' ? percent : typeof percent },
    });
  }
  return Math.min(COHORT_COUNT, Math.floor(percent * 100 + 1e-9));
}

/**
 * True when `cohort` falls in a stage of `percent` % (`cohort < percent × 100`). Monotone: a
 * cohort inside a stage is inside every larger stage.
 *
 * @param cohort - a cohort from {@link cohortOf}
 * @param percent - the stage size in percent
 * @throws FleetError `INVALID_ARGUMENT` for a cohort outside [0, 9999] or a percent outside [0, 100].
 */
export function inStage(cohort: number, percent: number): boolean {
  if (!Number.isInteger(cohort) || cohort < 0 || cohort >= COHORT_COUNT) {
    throw new FleetError('INVALID_ARGUMENT', `inStage(cohort, percent): cohort must be an integer from 0 to ${COHORT_COUNT - 1} (a value of cohortOf), got ${describeValue(cohort)}`, {
      status: 400,
    });
  }
  return cohort < cohortLimit(percent);
}
