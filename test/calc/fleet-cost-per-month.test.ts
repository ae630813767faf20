import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetCostPerMonth } from '../../src/calc/index.js';
import { fleetCostInput, numbersIn } from './arbitraries.js';

describe('fleetCostPerMonth — variable + overhead', () => {
  const small = fleetCostPerMonth({ devices: 10_000 });
  const large = fleetCostPerMonth({ devices: 100_000 });

  it('$4,300 a month for 10K devices and $31,500 for 100K', () => {
    expect(small.totalUsdPerMonth).toBeCloseTo(4_300, 6);
    expect(large.totalUsdPerMonth).toBeCloseTo(31_500, 6);
    expect(small.allInUsdPerDeviceMonth).toBeCloseTo(0.43, 9);
    expect(large.allInUsdPerDeviceMonth).toBeCloseTo(0.315, 9);
  });

  it('the published $0.21 is the infrastructure part of the variable cost, not a flat all-in rate', () => {
    const infrastructure = small.components.filter((c) => ['compute', 'storage', 'transfer', 'monitoring'].includes(c.name));
    expect(infrastructure.reduce((s, c) => s + c.usdPerMonth, 0) / 10_000).toBeCloseTo(0.21, 12);
    // A flat rate would make the all-in cost per device the same at both sizes; the totals do not.
    expect(small.allInUsdPerDeviceMonth).not.toBeCloseTo(large.allInUsdPerDeviceMonth, 2);
    expect(0.21 * 10_000).not.toBeCloseTo(small.totalUsdPerMonth, 0);
    expect(small.variableUsdPerDeviceMonth).toBeCloseTo(27_200 / 90_000, 12);
    expect(small.platformOverheadUsdPerMonth).toBeCloseTo(11_500 / 9, 9);
  });

  it('shows its working', () => {
    expect(small.working.join('\n')).toContain('$4,300/month');
    expect(large.working.join('\n')).toContain('$31,500/month');
  });
});

describe('fleetCostPerMonth — properties', () => {
  it('more devices never cost less, and never cost more per device', () => {
    fc.assert(
      fc.property(fleetCostInput, fc.integer({ min: 1, max: 1_000_000 }), (input, extra) => {
        const a = fleetCostPerMonth(input);
        const b = fleetCostPerMonth({ ...input, devices: Math.min(1_000_000_000, Number(input.devices) + extra) });
        expect(b.totalUsdPerMonth).toBeGreaterThanOrEqual(a.totalUsdPerMonth);
        expect(b.allInUsdPerDeviceMonth).toBeLessThanOrEqual(a.allInUsdPerDeviceMonth * (1 + 1e-12));
      }),
    );
  });

  it('the bill adds up and its shares sum to 100 %', () => {
    fc.assert(
      fc.property(fleetCostInput, (input) => {
        const r = fleetCostPerMonth(input);
        const sum = r.components.reduce((s, c) => s + c.usdPerMonth, 0);
        expect(Math.abs(sum - r.totalUsdPerMonth)).toBeLessThanOrEqual(1e-9 * Math.max(1, r.totalUsdPerMonth));
        if (r.totalUsdPerMonth > 0) expect(r.components.reduce((s, c) => s + c.fraction, 0)).toBeCloseTo(1, 9);
        for (const [path, v] of numbersIn(r)) expect(Number.isFinite(v), path).toBe(true);
      }),
    );
  });
});
