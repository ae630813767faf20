/**
 * The abort rules at their boundaries: each comparison exactly at, just below and just above its
 * threshold, and the zero-failure guard (with `failureRate: 0`, no failure must never abort).
 */
import { describe, expect, it } from 'vitest';
import { checkAbortRules, percent } from '../../src/rollout/abort-rules.js';
import { OK, fleet, rig } from './helpers.js';
import type { ResolvedAbortCriteria } from './imports.js';

const criteria = (over: Partial<ResolvedAbortCriteria>): ResolvedAbortCriteria => ({
  failureRate: 0.1,
  minSample: undefined,
  maxFailures: undefined,
  countTimeouts: true,
  countUnreachable: true,
  countRejected: true,
  onAbort: 'halt',
  ...over,
});
const check = (failures: number, total: number, decided: number, over: Partial<ResolvedAbortCriteria>) => checkAbortRules(2, 'stage 3 (50 %)', failures, total, decided, criteria(over), 1234);

describe('checkAbortRules', () => {
  it('never aborts without a failure, even at failureRate 0 with a min sample reached', () => {
    expect(check(0, 10, 10, { failureRate: 0, minSample: 1, maxFailures: 1 })).toBeUndefined();
    expect(check(0, 0, 0, { failureRate: 0, minSample: 1 })).toBeUndefined();
    // The first failure then aborts at once.
    expect(check(1, 10, 1, { failureRate: 0, minSample: 1 })).toMatchObject({ rule: 'failure-rate', failures: 1, total: 10 });
  });

  it('failure rate: aborts when failures / total is above the threshold, not at it', () => {
    expect(check(1, 10, 5, { failureRate: 0.1 })).toBeUndefined();
    expect(check(2, 19, 5, { failureRate: 0.1 })).toMatchObject({ rule: 'failure-rate' });
    const v = check(2, 10, 4, { failureRate: 0.1 });
    expect(v).toEqual({
      stage: 2,
      rule: 'failure-rate',
      failures: 2,
      total: 10,
      decided: 4,
      at: 1234,
      reason: 'stage 3 (50 %): 2 failures of 10 devices = 20.00 % > the 10.00 % abort threshold',
    });
    expect(check(1, 1, 1, { failureRate: 0.5 })?.reason).toBe('stage 3 (50 %): 1 failure of 1 device = 100.00 % > the 50.00 % abort threshold');
  });

  it('min sample: needs decided ≥ minSample and failures / decided ≥ the threshold (both ends included)', () => {
    const rules = { failureRate: 0.1, minSample: 10 };
    expect(check(1, 100, 9, rules)).toBeUndefined(); // one outcome short of the sample
    expect(check(1, 100, 10, rules)).toEqual({
      stage: 2,
      rule: 'min-sample',
      failures: 1,
      total: 100,
      decided: 10,
      at: 1234,
      reason: 'stage 3 (50 %): 1 failure of 10 devices with an outcome = 10.00 % ≥ the 10.00 % abort threshold (minSample 10 reached)',
    });
    expect(check(1, 100, 11, rules)).toBeUndefined(); // 1 / 11 is below 10 %
    expect(check(2, 100, 11, rules)?.reason).toContain('2 failures of 11 devices with an outcome = 18.18 %');
  });

  it('max failures: aborts at the cap, not one below it', () => {
    expect(check(2, 1000, 50, { failureRate: 0.5, maxFailures: 3 })).toBeUndefined();
    expect(check(3, 1000, 50, { failureRate: 0.5, maxFailures: 3 })).toEqual({
      stage: 2,
      rule: 'max-failures',
      failures: 3,
      total: 1000,
      decided: 50,
      at: 1234,
      reason: 'stage 3 (50 %): 3 failures of 1000 devices reached maxFailures 3',
    });
    expect(check(1, 1000, 1, { failureRate: 0.5, maxFailures: 1 })?.reason).toBe('stage 3 (50 %): 1 failure of 1000 devices reached maxFailures 1');
  });

  it('checks the rules in order: failure rate, then min sample, then max failures', () => {
    expect(check(5, 10, 5, { failureRate: 0.1, minSample: 1, maxFailures: 1 })?.rule).toBe('failure-rate');
    expect(check(1, 100, 2, { failureRate: 0.1, minSample: 1, maxFailures: 1 })?.rule).toBe('min-sample');
  });

  it('formats rates with two decimals', () => {
    expect(percent(0.001)).toBe('0.10 %');
    expect(percent(1 / 3)).toBe('33.33 %');
  });
});

describe('failureRate 0 in a running rollout', () => {
  it('successes never abort; the first failure does', () => {
    const r = rig(fleet(20), { stages: [{ percent: 100 }], abort: { failureRate: 0, minSample: 1 } });
    const ids = r.step(1).effects.dispatch.map((d) => d.deviceId);
    r.send(ids.slice(0, 10), OK, 2);
    expect(r.step(3).decision.decision).toBe('wait');
    r.send([ids[10]!], ['picked_up', 'failed'], 4);
    expect(r.step(5).decision).toMatchObject({ decision: 'abort', abort: { rule: 'failure-rate', failures: 1, total: 20, decided: 11 } });
  });
});
