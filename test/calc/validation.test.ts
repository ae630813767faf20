import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  calculators,
  failuresAtScale,
  findCalculator,
  fogDataReduction,
  provisioningCost,
  recommendArchitecture,
  runCalculator,
  sisResponseBudget,
} from '../../src/calc/index.js';
import { assertFinite } from '../../src/calc/validate.js';
import { errorOf } from './error-of.js';


describe('bad input → FleetError INVALID_INPUT (400) naming the field and the form', () => {
  it('a number out of range', () => {
    const e = errorOf(() => provisioningCost({ devices: 0 }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.status).toBe(400);
    expect(e.details).toMatchObject({ calculator: 'provisioningCost', field: 'devices', received: '0' });
    expect(e.message).toBe('provisioningCost: devices is invalid: expected an integer ≥ 1 and ≤ 1,000,000,000, got 0');
  });

  it('a missing required field', () => {
    const e = errorOf(() => failuresAtScale({ devices: 10, failuresPerDeviceYear: 1 } as never));
    expect(e.details?.['field']).toBe('messageIntervalSeconds');
    expect(e.message).toContain('messageIntervalSeconds is required');
  });

  it('NaN, Infinity and strings', () => {
    expect(errorOf(() => provisioningCost({ devices: Number.NaN })).details?.['received']).toBe('NaN');
    expect(errorOf(() => provisioningCost({ devices: 10, laborRateUsdPerHour: Number.POSITIVE_INFINITY })).details?.['field']).toBe('laborRateUsdPerHour');
    expect(errorOf(() => provisioningCost({ devices: '10' as never })).details?.['expected']).toBe('an integer ≥ 1 and ≤ 1,000,000,000');
  });

  it('a fraction above 1 says what a fraction is', () => {
    expect(errorOf(() => provisioningCost({ devices: 10, manualReworkFraction: 5 })).details?.['expected']).toBe('a fraction from 0 to 1 (0.25 = 25%)');
  });

  it('a value between 0 and the smallest non-zero amount', () => {
    expect(errorOf(() => provisioningCost({ devices: 10, manualOneTimeUsd: 1e-12 })).details?.['expected']).toMatch(/^0 or a number from 1e-9 to/);
  });

  it('a misspelt field is named, with the known ones', () => {
    const e = errorOf(() => provisioningCost({ devices: 10, technician: 3 } as never));
    expect(e.details?.['field']).toBe('technician');
    expect(e.message).toContain('known fields: devices, manualSecondsPerDevice');
  });

  it('an enum', () => {
    expect(errorOf(() => recommendArchitecture({ devices: 10, processing: 'gpu' as never })).details?.['expected']).toBe('one of: simple, ml');
  });

  it('a nested component', () => {
    const e = errorOf(() => sisResponseBudget({ processSafetyTimeSeconds: 8, components: [{ name: 'a', responseTimeSeconds: 1 }, { name: 'b', responseTimeSeconds: -1 }] }));
    expect(e.details?.['field']).toBe('components[1].responseTimeSeconds');
    expect(errorOf(() => sisResponseBudget({ processSafetyTimeSeconds: 8, components: [] })).details?.['expected']).toBe(
      'a list of 1 or more { name, responseTimeSeconds } objects (at most 100)',
    );
    expect(errorOf(() => sisResponseBudget({ processSafetyTimeSeconds: 8, components: [{ name: 'a', responseTimeSeconds: 0 }] })).details?.['expected']).toBe(
      'at least one component with a response time > 0',
    );
  });

  it('a name that is too long says how long it may be', () => {
    const e = errorOf(() => sisResponseBudget({ processSafetyTimeSeconds: 8, components: [{ name: 'x'.repeat(81), responseTimeSeconds: 1 }] }));
    expect(e.details?.['field']).toBe('components[0].name');
    expect(e.details?.['expected']).toBe('a non-empty string of at most 80 characters');
  });

  it('a rule across fields', () => {
    const e = errorOf(() => fogDataReduction({ devices: 10, sampleIntervalSeconds: 30, windowSeconds: 10 }));
    expect(e.details?.['field']).toBe('windowSeconds');
  });

  it('values JSON cannot show (a BigInt inside, a cycle) still end as INVALID_INPUT naming the field', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    const big = errorOf(() => provisioningCost({ devices: 10, manualOneTimeUsd: { a: 1n } as never }));
    expect(big.details).toMatchObject({ field: 'manualOneTimeUsd', received: 'an object' });
    const looped = errorOf(() => provisioningCost({ devices: cycle as never }));
    expect(looped.details).toMatchObject({ field: 'devices', received: 'an object' });
    expect(errorOf(() => provisioningCost(cycle as never)).code).toBe('INVALID_INPUT');
    expect(errorOf(() => sisResponseBudget({ processSafetyTimeSeconds: 8, components: [cycle] as never })).details?.['field']).toMatch(/^components\[0\]/);
  });

  it('an input whose getter throws is INVALID_INPUT too, with the reason as its cause', () => {
    const trap = new Proxy({}, { ownKeys: () => { throw new RangeError('no keys today'); } });
    const e = errorOf(() => provisioningCost(trap as never));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.message).toContain('no keys today');
    expect(e.cause).toBeInstanceOf(RangeError);
    const getter = { get devices(): number { throw new Error('sensor offline'); } };
    expect(errorOf(() => failuresAtScale(getter as never)).details?.['field']).toBe('input');
  });

  it('not an object at all', () => {
    for (const bad of [null, 42, 'x', [], undefined]) {
      expect(errorOf(() => provisioningCost(bad as never)).code).toBe('INVALID_INPUT');
    }
  });

  it('never mutates the input of any calculator, valid or not', () => {
    const deepFreeze = <T>(v: T): T => {
      if (typeof v === 'object' && v !== null) {
        for (const x of Object.values(v)) deepFreeze(x);
        Object.freeze(v);
      }
      return v;
    };
    for (const c of calculators) {
      const input = deepFreeze(structuredClone({ ...c.example }));
      const copy = structuredClone(input);
      c.calculate(input);
      const bad = deepFreeze({ ...structuredClone(input), devices: -1, assets: -1, processSafetyTimeSeconds: -1 });
      expect(runCalculator(c.name, bad).ok).toBe(false);
      expect(input).toEqual(copy);
    }
  });

  it('never mutates the input', () => {
    const input = Object.freeze({ processSafetyTimeSeconds: 8, components: Object.freeze([Object.freeze({ name: 'a', responseTimeSeconds: 1 })]) });
    const copy = structuredClone(input);
    sisResponseBudget(input);
    expect(input).toEqual(copy);
  });
});

describe('assertFinite — the last guard', () => {
  it('turns a non-finite figure into an INTERNAL FleetError naming it, and passes finite results through', () => {
    const e = errorOf(() => assertFinite('demo', { a: { b: [1, Number.POSITIVE_INFINITY] } }));
    expect(e.code).toBe('INTERNAL');
    expect(e.details?.['field']).toBe('a.b.1');
    const ok = { x: 1, y: null, z: [2, 3] };
    expect(assertFinite('demo', ok)).toBe(ok);
    expect(() => assertFinite('demo', { n: Number.NaN })).toThrow(/non-finite n/);
  });
});

describe('the registry', () => {
  it('lists the seven calculators by function and command name, each with a runnable example', () => {
    expect(calculators.map((c) => c.name)).toEqual([
      'provisioningCost',
      'predictiveMaintenanceRoi',
      'sisResponseBudget',
      'failuresAtScale',
      'recommendArchitecture',
      'fleetCostPerMonth',
      'fogDataReduction',
    ]);
    for (const c of calculators) {
      expect(findCalculator(c.command)).toBe(c);
      expect(findCalculator(c.name)).toBe(c);
      expect(c.calculate(c.example).working.length).toBeGreaterThan(0);
    }
  });

  it('runCalculator returns errors as data', () => {
    const ok = runCalculator('failures-at-scale', { devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 });
    expect(ok.ok).toBe(true);
    const unknown = runCalculator('nope', {});
    expect(unknown.ok === false && unknown.error.code).toBe('INVALID_INPUT');
    const bad = runCalculator('provisioningCost', { devices: -1 });
    expect(bad.ok === false && bad.error.details?.['field']).toBe('devices');
  });

  it('runCalculator with a name that is not a string: INVALID_INPUT as data, the name described, not converted', () => {
    const hook = (): never => {
      throw new Error('toString called');
    };
    for (const [name, shown] of [[Symbol('x'), 'Symbol(x)'], [Object.create(null), 'an object'], [{ toString: hook }, 'an object'], [10n, '10n']] as const) {
      const r = runCalculator(name as unknown as string, {});
      expect(r.ok === false && r.error.code).toBe('INVALID_INPUT');
      expect(r.ok === false && r.error.message).toContain(`Unknown calculator ${shown}`);
    }
  });

  it('any input at all gives a finite result or INVALID_INPUT — never another error', () => {
    // Every odd value fast-check knows (BigInt, Map, Date, typed arrays, null prototypes, …), at the
    // top level and under the field names the calculators read.
    const odd = fc.anything({ withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withObjectString: true });
    const anyInput = fc.oneof(
      odd,
      fc.dictionary(fc.constantFrom('devices', 'assets', 'components', 'processSafetyTimeSeconds', 'capexUsd', 'windowSeconds'), fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constant(null), odd)),
    );
    fc.assert(
      // Names, not calculator objects, so that a counterexample prints short.
      fc.property(fc.constantFrom(...calculators.map((c) => c.name)), anyInput, (name, input) => {
        const r = runCalculator(name, input);
        if (!r.ok) expect(r.error.code).toBe('INVALID_INPUT');
      }),
    );
  });
});
