/**
 * Shared fast-check arbitraries for planner properties: mixed fleets (states, versions, tags)
 * and stage lists of every kind (percent, count, mixed; small fleets make raised stages).
 */
import fc from 'fast-check';
import { FIRMWARE } from './helpers.js';
import type { AbortCriteria, RolloutDevice, StageSpec } from './imports.js';

/** One device with a random state, version and tags; the id is set by {@link fleetArb}. */
const deviceFields = fc.record({
  tenantId: fc.constantFrom('acme', 'globex'),
  firmware: fc.constantFrom('1.0.0', '1.0.0', '1.0.0', '0.9.0', FIRMWARE.version),
  state: fc.constantFrom('active', 'active', 'active', 'active', 'maintenance', 'decommissioned', 'provisioned'),
  tags: fc.subarray(['eu', 'us', 'beta']),
});

/** A device id from a small alphabet so ids of different fleets overlap. */
export const idArb = fc.integer({ min: 0, max: 5_000 }).map((k) => `dev-${k}`);

/** A fleet of up to `maxLength` devices with unique ids. */
export function fleetArb(maxLength = 80, minLength = 0): fc.Arbitrary<RolloutDevice[]> {
  return fc
    .uniqueArray(idArb, { minLength, maxLength })
    .chain((ids) => fc.array(deviceFields, { minLength: ids.length, maxLength: ids.length }).map((fields) => ids.map((id, i) => ({ id, ...fields[i]! }))));
}

/** Only active devices on 1.0.0: every device is eligible. */
export function eligibleFleetArb(maxLength = 80, minLength = 0): fc.Arbitrary<RolloutDevice[]> {
  return fc.uniqueArray(idArb, { minLength, maxLength }).map((ids) => ids.map((id) => ({ id, tenantId: 'acme', firmware: '1.0.0', state: 'active' })));
}

type Step = { readonly percent: number } | { readonly count: number };

/**
 * 1–5 cumulative stages, each a percent (in 0.01 % steps, up to 100) or a count, growing per
 * kind, in any mix; optionally ending at 100 %. Small percents on small fleets give raised stages.
 */
export const stagesArb: fc.Arbitrary<StageSpec[]> = fc
  .tuple(
    fc.array(fc.oneof(fc.record({ percent: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 6_000 })) }), fc.record({ count: fc.integer({ min: 1, max: 30 }) })), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
  )
  .map(([steps, toAll]: [Step[], boolean]) => {
    let p = 0;
    let c = 0;
    const out: StageSpec[] = [];
    for (const s of steps) {
      if ('percent' in s) {
        if (p >= 10_000) continue;
        p = Math.min(10_000, p + s.percent);
        out.push({ percent: p / 100 });
      } else {
        c += s.count;
        out.push({ count: c });
      }
    }
    if (toAll && p < 10_000) out.push({ percent: 100 });
    return out;
  });

/** Abort criteria over the interesting thresholds (a zero rate, canary-size rates, high ones), every flag either way. */
export const abortArb: fc.Arbitrary<AbortCriteria> = fc.record(
  {
    failureRate: fc.constantFrom(0, 0.001, 0.1, 0.3, 0.6),
    minSample: fc.integer({ min: 1, max: 10 }),
    maxFailures: fc.integer({ min: 1, max: 6 }),
    countTimeouts: fc.boolean(),
    countUnreachable: fc.boolean(),
    countRejected: fc.boolean(),
    onAbort: fc.constantFrom('halt' as const, 'rollback' as const),
  },
  { requiredKeys: ['failureRate'] },
);
