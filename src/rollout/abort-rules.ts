/**
 * The abort rules, as one O(1) function of a stage's counters (used per report and per evaluation).
 */
import type { ResolvedAbortCriteria } from './spec.js';
import { plural } from './words.js';

/** Which abort rule fired. */
export type AbortRule = 'failure-rate' | 'min-sample' | 'max-failures';

/** Why a rollout aborted: the rule, the stage and the numbers. */
export interface AbortVerdict {
  /** Index of the stage whose numbers fired the rule. */
  readonly stage: number;
  readonly rule: AbortRule;
  /** Failures counted in the stage. */
  readonly failures: number;
  /** Devices in the stage. */
  readonly total: number;
  /** Devices of the stage with an outcome that counts (successes + failures). */
  readonly decided: number;
  /** When the abort was recorded (epoch ms). */
  readonly at: number;
  /** A sentence with the numbers, e.g. `stage 1 (1 %): 1 failure of 100 devices = 1.00 % > 0.10 %`. */
  readonly reason: string;
}

/** Formats a rate as a percentage with two decimals. */
export function percent(rate: number): string {
  return `${(rate * 100).toFixed(2)} %`;
}

/**
 * Applies the three abort rules to one stage's counters:
 * 1. failures / total > failureRate — certain whatever the remaining devices do;
 * 2. decided ≥ minSample and failures / decided ≥ failureRate (needs at least one failure);
 * 3. failures ≥ maxFailures.
 *
 * @returns the verdict, or `undefined` when no rule fires
 */
export function checkAbortRules(
  stage: number,
  stageName: string,
  failures: number,
  total: number,
  decided: number,
  criteria: ResolvedAbortCriteria,
  at: number,
): AbortVerdict | undefined {
  // A stage's failures are among its devices (failures ≤ total), so no failure also covers an empty stage.
  if (failures === 0) return undefined;
  const r = criteria.failureRate;
  const base = { stage, failures, total, decided, at };
  if (failures / total > r) {
    const reason = `${stageName}: ${plural(failures, 'failure')} of ${plural(total, 'device')} = ${percent(failures / total)} > the ${percent(r)} abort threshold`;
    return { ...base, rule: 'failure-rate', reason };
  }
  if (criteria.minSample !== undefined && decided >= criteria.minSample && failures / decided >= r) {
    const reason = `${stageName}: ${plural(failures, 'failure')} of ${decided} devices with an outcome = ${percent(failures / decided)} ≥ the ${percent(r)} abort threshold (minSample ${criteria.minSample} reached)`;
    return { ...base, rule: 'min-sample', reason };
  }
  if (criteria.maxFailures !== undefined && failures >= criteria.maxFailures) {
    const reason = `${stageName}: ${plural(failures, 'failure')} of ${plural(total, 'device')} reached maxFailures ${criteria.maxFailures}`;
    return { ...base, rule: 'max-failures', reason };
  }
  return undefined;
}
