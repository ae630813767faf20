import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluateBoot, isFleetError } from './imports.js';
import type { BootCheck } from './imports.js';

const T0 = 1_700_000_000_000;
const pass = (name: string, at?: number): BootCheck => ({ name, status: 'pass', ...(at === undefined ? {} : { at }) });

describe('evaluateBoot', () => {
  it('commits once every required check passed within the window', () => {
    const d = evaluateBoot({ bootedAt: T0, now: T0 + 30_000, checks: [pass('mqtt'), pass('sensors')] });
    expect(d).toMatchObject({ verdict: 'commit', passed: ['mqtt', 'sensors'], waiting: [], deadline: T0 + 5 * 60_000 });
  });

  it('waits while a required check is pending, and rolls back when the window ends first', () => {
    const checks: BootCheck[] = [pass('mqtt'), { name: 'sensors', status: 'pending' }];
    expect(evaluateBoot({ bootedAt: T0, now: T0 + 60_000, checks }).verdict).toBe('pending');
    const late = evaluateBoot({ bootedAt: T0, now: T0 + 5 * 60_000, checks });
    expect(late.verdict).toBe('rollback');
    expect(late.reason).toContain('sensors');
  });

  it('rolls back on a failed required check or a reboot before commit', () => {
    expect(evaluateBoot({ bootedAt: T0, now: T0 + 1, checks: [pass('mqtt'), { name: 'sensors', status: 'fail' }] }).verdict).toBe('rollback');
    expect(evaluateBoot({ bootedAt: T0, now: T0 + 1, checks: [pass('mqtt')], rebooted: true }).verdict).toBe('rollback');
  });

  it('ignores optional checks for the verdict but reports their failures', () => {
    const d = evaluateBoot({ bootedAt: T0, now: T0 + 1, checks: [pass('mqtt'), { name: 'telemetry', status: 'fail', required: false }] });
    expect(d).toMatchObject({ verdict: 'commit', failed: ['telemetry'] });
  });

  it('does not count a pass that came after the window', () => {
    const d = evaluateBoot({ bootedAt: T0, now: T0 + 20_000, windowMs: 10_000, checks: [pass('mqtt', T0 + 15_000)] });
    expect(d.verdict).toBe('rollback');
  });

  it('counts a pass inside the window, exactly at boot and exactly at the deadline', () => {
    const window = { bootedAt: T0, windowMs: 10_000 };
    expect(evaluateBoot({ ...window, now: T0 + 6_000, checks: [pass('mqtt', T0 + 5_000)] })).toMatchObject({ verdict: 'commit', passed: ['mqtt'], waiting: [] });
    expect(evaluateBoot({ ...window, now: T0, checks: [pass('mqtt', T0)] }).verdict).toBe('commit');
    const atDeadline = evaluateBoot({ ...window, now: T0 + 10_000, checks: [pass('mqtt', T0 + 10_000)] });
    expect(atDeadline).toMatchObject({ verdict: 'commit', passed: ['mqtt'], deadline: T0 + 10_000 });
    expect(evaluateBoot({ ...window, now: T0 + 60_000, checks: [pass('mqtt', T0 + 10_000)] }).verdict).toBe('commit');
    expect(evaluateBoot({ ...window, now: T0 + 60_000, checks: [pass('mqtt', T0 + 10_001)] }).verdict).toBe('rollback');
  });

  it('does not count a pass stamped before the new slot booted (a result of the old slot)', () => {
    const early = evaluateBoot({ bootedAt: T0, now: T0 + 1_000, windowMs: 10_000, checks: [pass('mqtt', T0 - 1)] });
    expect(early).toMatchObject({ verdict: 'pending', passed: [], waiting: ['mqtt'] });
    expect(early.reason).toContain('before the new slot booted');
    const late = evaluateBoot({ bootedAt: T0, now: T0 + 10_000, windowMs: 10_000, checks: [pass('mqtt', T0 - 1)] });
    expect(late).toMatchObject({ verdict: 'rollback', waiting: ['mqtt'] });
  });

  it('does not count a pass stamped after now (a clock ahead, or a forged time) until that time comes', () => {
    const future = { bootedAt: T0, windowMs: 10_000, checks: [pass('mqtt', T0 + 5_000)] };
    const d = evaluateBoot({ ...future, now: T0 + 1_000 });
    expect(d).toMatchObject({ verdict: 'pending', passed: [], waiting: ['mqtt'] });
    expect(d.reason).toContain('after now');
    expect(evaluateBoot({ ...future, now: T0 + 5_000 }).verdict).toBe('commit');
    // A pass stamped after the window never counts, whatever now is.
    expect(evaluateBoot({ bootedAt: T0, windowMs: 10_000, now: T0 + 1_000, checks: [pass('mqtt', T0 + 20_000)] }).verdict).toBe('pending');
  });

  it('the verdict is the model: commit only when every required check passed between boot and min(now, deadline)', () => {
    const check = fc.record(
      {
        name: fc.constantFrom('a', 'b', 'c', 'd'),
        status: fc.constantFrom('pass' as const, 'pass' as const, 'fail' as const, 'pending' as const),
        // Pass times around every boundary: before boot, at boot, inside, at the deadline, after it, after now.
        at: fc.integer({ min: -2_000, max: 14_000 }).map((dt) => T0 + dt),
        required: fc.boolean(),
      },
      { requiredKeys: ['name', 'status'] },
    );
    fc.assert(
      fc.property(fc.array(check, { maxLength: 5 }), fc.integer({ min: 0, max: 14_000 }), fc.constantFrom(1, 5_000, 10_000), fc.boolean(), (checks, dt, windowMs, rebooted) => {
        const now = T0 + dt;
        const deadline = T0 + windowMs;
        const d = evaluateBoot({ bootedAt: T0, now, windowMs, checks, rebooted });
        const required = checks.filter((c) => c.required !== false);
        const counts = (c: BootCheck): boolean => c.status === 'pass' && (c.at === undefined || (c.at >= T0 && c.at <= Math.min(now, deadline)));
        const expected = rebooted || required.some((c) => c.status === 'fail')
          ? 'rollback'
          : required.length > 0 && required.every(counts)
            ? 'commit'
            : now >= deadline
              ? required.length === 0 ? 'commit' : 'rollback'
              : 'pending';
        expect(d.verdict).toBe(expected);
        expect(d.deadline).toBe(deadline);
        expect(d.passed).toEqual(required.filter(counts).map((c) => c.name));
        expect(d.waiting).toEqual(required.filter((c) => !counts(c) && c.status !== 'fail').map((c) => c.name));
        expect(d.failed).toEqual(checks.filter((c) => c.status === 'fail').map((c) => c.name));
      }),
      { numRuns: 2_000 },
    );
  });

  it('with no required checks, commits only after surviving the window', () => {
    expect(evaluateBoot({ bootedAt: T0, now: T0 + 1000, checks: [] }).verdict).toBe('pending');
    expect(evaluateBoot({ bootedAt: T0, now: T0 + 5 * 60_000, checks: [] }).verdict).toBe('commit');
  });

  it('rejects bad input with INVALID_ARGUMENT', () => {
    for (const bad of [
      { bootedAt: T0, now: T0 - 1, checks: [] },
      { bootedAt: T0, now: T0, checks: [{ name: '', status: 'pass' }] },
      { bootedAt: T0, now: T0, checks: [], windowMs: -5 },
      { bootedAt: Number.NaN, now: T0, checks: [] },
    ]) {
      try {
        evaluateBoot(bad as never);
        throw new Error('expected a FleetError');
      } catch (e) {
        expect(isFleetError(e, 'INVALID_ARGUMENT')).toBe(true);
        expect(e).toMatchObject({ status: 400, message: expect.stringMatching(/^evaluateBoot: /) });
      }
    }
    expect(() => evaluateBoot({ bootedAt: T0, now: T0 - 1, checks: [] })).toThrow(`evaluateBoot: now (${T0 - 1}) is before bootedAt (${T0})`);
    expect(() => evaluateBoot({ bootedAt: T0, now: T0, checks: [{ name: '', status: 'pass' }] })).toThrow(/^evaluateBoot: checks\.0\.name: /);
    expect(() => evaluateBoot(null as never)).toThrow(/^evaluateBoot: input: /);
  });

  it('never commits with a failed required check or a reboot, and is monotone in time once decided', () => {
    const check = fc.record({ name: fc.string({ minLength: 1, maxLength: 5 }), status: fc.constantFrom('pass' as const, 'fail' as const, 'pending' as const), required: fc.boolean() });
    fc.assert(
      fc.property(fc.array(check, { maxLength: 6 }), fc.integer({ min: 0, max: 600_000 }), fc.integer({ min: 0, max: 600_000 }), fc.boolean(), (checks, dt, extra, rebooted) => {
        const input = { bootedAt: T0, checks, rebooted };
        const d = evaluateBoot({ ...input, now: T0 + dt });
        const requiredFailed = checks.some((c) => c.required && c.status === 'fail');
        if (rebooted || requiredFailed) expect(d.verdict).toBe('rollback');
        if (d.verdict === 'commit') expect(checks.filter((c) => c.required).every((c) => c.status === 'pass')).toBe(true);
        // With the same checks, later never flips a decided verdict.
        if (d.verdict !== 'pending') expect(evaluateBoot({ ...input, now: T0 + dt + extra }).verdict).toBe(d.verdict);
      }),
    );
  });
});
