import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { silLevelForPfd, sisResponseBudget } from '../../src/calc/index.js';
import { errorOf } from './error-of.js';
import { numbersIn, sisComponents, sisInput } from './arbitraries.js';

const reactor = {
  processSafetyTimeSeconds: 8,
  components: [
    { name: 'RTD sensor', responseTimeSeconds: 0.5 },
    { name: '4-20 mA transmission', responseTimeSeconds: 0.05 },
    { name: 'network', responseTimeSeconds: 0.01 },
    { name: 'PLC input scan', responseTimeSeconds: 0.05 },
    { name: 'logic solve', responseTimeSeconds: 0.001 },
    { name: 'PLC output scan', responseTimeSeconds: 0.05 },
    { name: 'network to actuator', responseTimeSeconds: 0.01 },
    { name: 'valve stroke', responseTimeSeconds: 1.2 },
  ],
};

describe('sisResponseBudget — the exothermic reactor (PST 8 s, SIL 2)', () => {
  const r = sisResponseBudget(reactor);

  it('totals 1.871 s, 23.4 % of the PST, and passes with 2.129 s to the 4 s budget', () => {
    expect(r.totalSeconds).toBeCloseTo(1.871, 12);
    expect((r.fractionOfPst * 100).toFixed(1)).toBe('23.4');
    expect(r.budgetSeconds).toBe(4);
    expect(r.pass).toBe(true);
    expect(r.marginToBudgetSeconds).toBeCloseTo(2.129, 12);
    expect(r.marginToPstSeconds).toBeCloseTo(6.129, 12);
  });

  it('the valve stroke dominates at 64.1 %', () => {
    expect(r.dominant.name).toBe('valve stroke');
    expect((r.dominant.fraction * 100).toFixed(1)).toBe('64.1');
    expect(r.shares.map((s) => s.name)).toEqual(reactor.components.map((c) => c.name));
  });

  it('has no SIL band without a PFDavg, and SIL 2 for 0.005', () => {
    expect('silLevel' in r).toBe(false);
    const withPfd = sisResponseBudget({ ...reactor, pfdAvg: 0.005 });
    expect(withPfd.silLevel).toBe(2);
    expect(withPfd.riskReductionFactor).toBeCloseTo(200, 9);
  });

  it('fails when the budget fraction is tighter than the path', () => {
    const tight = sisResponseBudget({ ...reactor, budgetFraction: 0.2 });
    expect(tight.pass).toBe(false);
    expect(tight.marginToBudgetSeconds).toBeCloseTo(1.6 - 1.871, 12);
  });

  it('shows its working', () => {
    expect(r.working.join('\n')).toContain('= 1.871 s');
    expect(r.working.join('\n')).toContain('64.1%');
  });
});

describe('silLevelForPfd — IEC 61511 low-demand bands', () => {
  it.each([
    [1, 0],
    [0.1, 0],
    [0.0999, 1],
    [0.01, 1],
    [0.00999, 2],
    [0.001, 2],
    [0.000999, 3],
    [0.0001, 3],
    [0.0000999, 4],
    [0.00001, 4],
    [0.000001, 4],
  ])('PFDavg %d → SIL %d', (pfd, sil) => {
    expect(silLevelForPfd(pfd)).toBe(sil);
  });
});

describe('silLevelForPfd — bad input', () => {
  it.each([Number.NaN, -0.01, 0, 1.5, Number.POSITIVE_INFINITY])('refuses PFDavg %d with a FleetError naming pfdAvg, never a band', (pfd) => {
    const e = errorOf(() => silLevelForPfd(pfd));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.details?.['field']).toBe('pfdAvg');
  });
});

describe('sisResponseBudget — properties', () => {
  it('shares sum to 100 %, the dominant one is the largest, pass ⇔ margin ≥ 0', () => {
    fc.assert(
      fc.property(sisInput, (input) => {
        const r = sisResponseBudget(input);
        expect(r.shares.reduce((s, x) => s + x.fraction, 0)).toBeCloseTo(1, 9);
        for (const s of r.shares) expect(s.fraction).toBeLessThanOrEqual(r.dominant.fraction);
        expect(r.pass).toBe(r.marginToBudgetSeconds >= 0);
        expect(r.marginToPstSeconds - r.marginToBudgetSeconds).toBeCloseTo(Number(input.processSafetyTimeSeconds) - r.budgetSeconds, 3);
      }),
    );
  });

  it('adding a component never shortens the path nor turns a fail into a pass', () => {
    fc.assert(
      fc.property(sisInput, sisComponents, (input, more) => {
        const a = sisResponseBudget(input);
        const b = sisResponseBudget({ ...input, components: [...input.components, ...more] });
        expect(b.totalSeconds).toBeGreaterThanOrEqual(a.totalSeconds);
        if (!a.pass) expect(b.pass).toBe(false);
      }),
    );
  });

  it('a smaller PFDavg never gives a lower SIL', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-9, max: 1, noNaN: true }), fc.double({ min: 1e-9, max: 1, noNaN: true }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(silLevelForPfd(lo)).toBeGreaterThanOrEqual(silLevelForPfd(hi));
      }),
    );
  });

  it('never returns NaN or Infinity for a valid input', () => {
    fc.assert(
      fc.property(sisInput, (input) => {
        for (const [path, v] of numbersIn(sisResponseBudget(input))) expect(Number.isFinite(v), path).toBe(true);
      }),
    );
  });
});
