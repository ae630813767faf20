import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recommendArchitecture } from '../../src/calc/index.js';
import { architectureInput, numbersIn } from './arbitraries.js';

describe('recommendArchitecture — the decision tree', () => {
  it.each([
    [{ devices: 50, latencyCriticalMs: 20 }, 'edge-only', 50],
    [{ devices: 99, latencyCriticalMs: 150 }, 'edge-cloud', 100],
    [{ devices: 1 }, 'edge-cloud', 100],
    [{ devices: 100 }, 'edge-fog', 500],
    [{ devices: 10_000, processing: 'simple' as const }, 'edge-fog', 500],
    [{ devices: 10_000, processing: 'ml' as const }, 'edge-fog-cloud', 2_000],
    [{ devices: 10_001 }, 'full-stack', 5_000],
    [{ devices: 1_000_000, regions: 'multi' as const }, 'global-stack', 20_000],
  ])('%j → %s (~$%d/month)', (input, tier, cost) => {
    const r = recommendArchitecture(input);
    expect(r.tier).toBe(tier);
    expect(r.monthlyCostUsd).toBe(cost);
  });

  it('returns the path taken', () => {
    expect(recommendArchitecture({ devices: 50, latencyCriticalMs: 20 }).path).toEqual(['devices 50 < 100', 'latency 20 ms < 100 ms: critical', 'Edge only']);
    expect(recommendArchitecture({ devices: 5_000, processing: 'ml' }).path).toEqual([
      'devices 5,000 in 100–10,000',
      'processing: distributed compute / ML',
      'Edge + fog + cloud',
    ]);
    expect(recommendArchitecture({ devices: 20_000, regions: 'multi' }).path).toEqual(['devices 20,000 > 10,000', 'regions: multi (global)', 'Global stack']);
  });

  it.each([
    [99, '< 100', 'manual provisioning', '$5K–15K'],
    [100, '100–1,000', 'semi-automated provisioning', '$15K–50K'],
    [999, '100–1,000', 'semi-automated provisioning', '$15K–50K'],
    [1_000, '1,000–10,000', 'zero-touch provisioning, edge-fog-cloud, 24/7 monitoring, staged OTA', '$50K–200K'],
    [10_000, '1,000–10,000', 'zero-touch provisioning, edge-fog-cloud, 24/7 monitoring, staged OTA', '$50K–200K'],
    [10_001, '> 10,000', 'full platform, multi-tenant, chaos engineering', '$200K–1M+'],
  ])('%d devices sit in the %s deployment band', (devices, band, approach, budget) => {
    const s = recommendArchitecture({ devices }).deploymentScale;
    expect(s.band).toBe(band);
    expect(s.approach).toBe(approach);
    expect(s.budget).toBe(budget);
  });

  it('automates when manual operations over 2 years cost more than the platform', () => {
    expect(recommendArchitecture({ devices: 500, manualOpsCostPerYearUsd: 60_000, platformCostUsd: 100_000 }).automation?.automate).toBe(true);
    expect(recommendArchitecture({ devices: 500, manualOpsCostPerYearUsd: 50_000, platformCostUsd: 100_000 }).automation?.automate).toBe(false);
    expect(recommendArchitecture({ devices: 500, manualOpsCostPerYearUsd: 50_000 }).automation).toBeUndefined();
  });
});

describe('recommendArchitecture — properties', () => {
  it('for the same requirements, a larger fleet never gets a cheaper tier', () => {
    fc.assert(
      fc.property(architectureInput, fc.integer({ min: 0, max: 1_000_000 }), (input, extra) => {
        const a = recommendArchitecture(input);
        const b = recommendArchitecture({ ...input, devices: Math.min(1_000_000_000, Number(input.devices) + extra) });
        expect(b.monthlyCostUsd).toBeGreaterThanOrEqual(a.monthlyCostUsd);
        expect(b.deploymentScale.budgetMinUsd).toBeGreaterThanOrEqual(a.deploymentScale.budgetMinUsd);
      }),
    );
  });

  it('the path has one decision per level and ends at the tier', () => {
    fc.assert(
      fc.property(architectureInput, (input) => {
        const r = recommendArchitecture(input);
        expect(r.path).toHaveLength(3);
        expect(r.path[2]).toBe(r.label);
        for (const [path, v] of numbersIn(r)) expect(Number.isFinite(v), path).toBe(true);
      }),
    );
  });
});
