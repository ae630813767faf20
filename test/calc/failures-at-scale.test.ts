import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { failuresAtScale } from '../../src/calc/index.js';
import { failuresInput, numbersIn } from './arbitraries.js';

describe('failuresAtScale — what rare means at scale', () => {
  const r = failuresAtScale({ devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 });

  it('10,000 devices at 1 failure per device-year ≈ 27 failures a day', () => {
    expect(Math.round(r.failuresPerDay)).toBe(27);
    expect(r.failuresPerDay).toBeCloseTo(10_000 / 365, 12);
    expect(r.failuresPerYear).toBe(10_000);
    expect(r.minutesBetweenFailures).toBeCloseTo(52.56, 9);
  });

  it('10,000 devices heartbeating every 10 s = 60,000 messages a minute (1,000 a second)', () => {
    expect(r.messagesPerMinute).toBe(60_000);
    expect(r.messagesPerSecond).toBe(1_000);
    expect(r.messagesPerDay).toBe(86_400_000);
  });

  it('reports no interval between failures when nothing fails', () => {
    expect(failuresAtScale({ devices: 5, failuresPerDeviceYear: 0, messageIntervalSeconds: 60 }).minutesBetweenFailures).toBeNull();
  });

  it('shows its working', () => {
    expect(r.working.join('\n')).toContain('27.4/day');
    expect(r.working.join('\n')).toContain('60,000/min');
  });
});

describe('failuresAtScale — properties', () => {
  it('more devices never mean fewer failures or messages', () => {
    fc.assert(
      fc.property(failuresInput, fc.integer({ min: 1, max: 1_000_000 }), (input, extra) => {
        const a = failuresAtScale(input);
        const b = failuresAtScale({ ...input, devices: Math.min(1_000_000_000, Number(input.devices) + extra) });
        expect(b.failuresPerDay).toBeGreaterThanOrEqual(a.failuresPerDay);
        expect(b.messagesPerMinute).toBeGreaterThanOrEqual(a.messagesPerMinute);
      }),
    );
  });

  it('rates are consistent across units', () => {
    fc.assert(
      fc.property(failuresInput, (input) => {
        const r = failuresAtScale(input);
        expect(r.messagesPerMinute).toBeCloseTo(r.messagesPerSecond * 60, 0);
        expect(r.failuresPerDay * 365).toBeCloseTo(r.failuresPerYear, 0);
        if (r.minutesBetweenFailures !== null) expect(r.minutesBetweenFailures * r.failuresPerYear).toBeCloseTo(525_600, 3);
      }),
    );
  });

  it('never returns NaN or Infinity for a valid input', () => {
    fc.assert(
      fc.property(failuresInput, (input) => {
        for (const [path, v] of numbersIn(failuresAtScale(input))) expect(Number.isFinite(v), path).toBe(true);
      }),
    );
  });
});
