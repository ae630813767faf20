/**
 * evaluateBoot's reasons are part of its answer (they end up in device logs and the rollout
 * report): each branch pinned to its exact sentence, with the numbers and names it carries.
 */
import { describe, expect, it } from 'vitest';
import { evaluateBoot } from './imports.js';
import type { BootCheck } from './imports.js';

const T0 = 1_700_000_000_000;
const W = { bootedAt: T0, windowMs: 10_000 };
const pass = (name: string, at?: number): BootCheck => ({ name, status: 'pass', ...(at === undefined ? {} : { at }) });
const fail = (name: string): BootCheck => ({ name, status: 'fail' });
const pending = (name: string): BootCheck => ({ name, status: 'pending' });

describe('evaluateBoot reasons', () => {
  it('a reboot before the commit', () => {
    expect(evaluateBoot({ ...W, now: T0 + 1, checks: [pass('mqtt')], rebooted: true }).reason).toBe('the device rebooted before committing the new slot');
  });

  it('failed required checks: singular, plural, names in order; optional failures are not named', () => {
    const one = evaluateBoot({ ...W, now: T0 + 1, checks: [pass('mqtt'), fail('sensors'), { ...fail('telemetry'), required: false }] });
    expect(one).toMatchObject({ verdict: 'rollback', reason: 'required check failed: sensors', failed: ['sensors', 'telemetry'] });
    const two = evaluateBoot({ ...W, now: T0 + 1, checks: [fail('mqtt'), pending('x'), fail('sensors')] });
    expect(two).toMatchObject({ verdict: 'rollback', reason: 'required checks failed: mqtt, sensors', failed: ['mqtt', 'sensors'], waiting: ['x'] });
  });

  it('commit: the number of required checks and the window', () => {
    const d = evaluateBoot({ ...W, now: T0 + 1, checks: [pass('mqtt'), pass('sensors'), { ...pending('opt'), required: false }] });
    expect(d.reason).toBe('all 2 required checks passed within 10000 ms');
  });

  it('no required checks: waiting out the window with the time left, then a commit', () => {
    const optional: BootCheck[] = [{ ...pending('opt'), required: false }];
    expect(evaluateBoot({ ...W, now: T0 + 2_500, checks: optional })).toMatchObject({
      verdict: 'pending',
      reason: 'no required checks; waiting out the window (7500 ms left)',
      waiting: [],
    });
    expect(evaluateBoot({ ...W, now: T0 + 10_000, checks: optional })).toMatchObject({ verdict: 'commit', reason: 'no required checks; the device ran 10000 ms without a reboot' });
  });

  it('pending: every waiting check named, with why its pass does not count yet, and the time left', () => {
    const checks = [pending('mqtt'), pass('early', T0 - 1), pass('ahead', T0 + 4_000), pass('ok', T0 + 1_000), pass('late', T0 + 10_001)];
    const d = evaluateBoot({ ...W, now: T0 + 2_000, checks });
    expect(d).toMatchObject({ verdict: 'pending', passed: ['ok'], waiting: ['mqtt', 'early', 'ahead', 'late'] });
    expect(d.reason).toBe(
      `waiting for mqtt, early (its pass at ${T0 - 1} is before the new slot booted at ${T0}), ahead (its pass at ${T0 + 4_000} is after now, ${T0 + 2_000}), ` +
        `late (its pass at ${T0 + 10_001} is after the deadline ${T0 + 10_000}) (8000 ms left)`,
    );
  });

  it('a pass stamped exactly at the deadline, before the deadline has come, is "after now", not "after the deadline"', () => {
    const d = evaluateBoot({ ...W, now: T0 + 9_000, checks: [pass('mqtt', T0 + 10_000)] });
    expect(d.reason).toBe(`waiting for mqtt (its pass at ${T0 + 10_000} is after now, ${T0 + 9_000}) (1000 ms left)`);
  });

  it('rollback at the end of the window names what never passed', () => {
    const d = evaluateBoot({ ...W, now: T0 + 10_000, checks: [pass('ok'), pending('mqtt'), pass('late', T0 + 10_001)] });
    expect(d).toMatchObject({ verdict: 'rollback', passed: ['ok'], waiting: ['mqtt', 'late'] });
    expect(d.reason).toBe(`the 10000 ms window ended before mqtt, late (its pass at ${T0 + 10_001} is after the deadline ${T0 + 10_000}) passed`);
  });

  it('a malformed input names the field and zod’s message', () => {
    expect(() => evaluateBoot({ ...W, now: T0, checks: [{ name: '', status: 'pass' }] })).toThrow(/^evaluateBoot: checks\.0\.name: /);
    expect(() => evaluateBoot(null as never)).toThrow(/^evaluateBoot: input: /);
  });
});
