/**
 * The CLI in-process (runCli with a captured CliIo): parsing rules and a property that the
 * command line and the library agree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fleetCostPerMonth, provisioningCost } from '../../src/calc/index.js';
import { runCli, type CliIo } from '../../src/cli/main.js';
import { formatValue, rows, table } from '../../src/cli/render.js';
import { provisioningInput } from '../calc/arbitraries.js';

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), version: () => '9.9.9' };
  const code = await runCli(args, io);
  return { code, out, err };
}

const kebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

describe('runCli', () => {
  it('accepts camelCase flags, digit separators and percentages', async () => {
    const a = await run('calc', 'provisioning-cost', '--devices', '1_000', '--manualReworkFraction', '5%', '--json');
    const b = await run('calc', 'provisioningCost', '--devices', '1,000', '--manual-rework-fraction', '0.05', '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.out)).toEqual(JSON.parse(b.out));
    expect(JSON.parse(a.out)).toEqual(provisioningCost({ devices: 1_000, manualReworkFraction: 0.05 }));
  });

  it('refuses a decimal comma and stray separators instead of guessing (62,5 is not 625)', async () => {
    for (const bad of ['62,5', '1,00', '1__0', '_10', '10_', '1,0000']) {
      const r = await run('calc', 'provisioning-cost', '--devices', '10', '--labor-rate-usd-per-hour', bad);
      expect(r.code, bad).toBe(2);
      expect(r.out).toBe('');
      expect(r.err, bad).toContain(`--labor-rate-usd-per-hour: expected a number ≥ 0 and ≤ 100,000, got "${bad}"`);
    }
    expect((await run('calc', 'provisioning-cost', '--devices', '10', '--labor-rate-usd-per-hour', '62,5')).err).toContain('use "." for decimals');
  });

  it('reads grouped digits as the number they group', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 1_000_000_000 }), async (devices) => {
        const commas = devices.toLocaleString('en-US');
        const underscores = commas.replace(/,/g, '_');
        for (const text of [commas, underscores, String(devices)]) {
          const r = await run('calc', 'failures-at-scale', '--devices', text, '--failures-per-device-year', '1', '--message-interval-seconds', '1', '--json');
          expect(r.code, text).toBe(0);
          expect(JSON.parse(r.out).failuresPerYear, text).toBe(devices);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('refuses a percentage where the field is not a fraction', async () => {
    const r = await run('calc', 'provisioning-cost', '--devices', '50%');
    expect(r.code).toBe(2);
    expect(r.err).toContain('--devices');
  });

  it('refuses a field given twice, under one spelling or both', async () => {
    const r = await run('calc', 'provisioning-cost', '--devices', '10', '--technicians', '2', '--technicians', '3', '--json');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(JSON.parse(r.err).error).toMatchObject({ code: 'USAGE', problems: [{ flag: '--technicians' }] });
    const both = await run('calc', 'provisioning-cost', '--devices', '10', '--hours-per-day', '8', '--hoursPerDay', '6');
    expect(both.code).toBe(2);
    expect(both.err).toContain('given twice');
  });

  it('--version and help use the io', async () => {
    expect((await run('--version')).out).toBe('9.9.9\n');
    expect((await run('help')).code).toBe(0);
    expect((await run('calc')).code).toBe(2);
  });

  it('the command line and the library agree for any valid provisioning input', async () => {
    await fc.assert(
      fc.asyncProperty(provisioningInput, async (input) => {
        const args = Object.entries(input).flatMap(([k, v]) => [`--${kebab(k)}`, String(v)]);
        const r = await run('calc', 'provisioning-cost', ...args, '--json');
        expect(r.code).toBe(0);
        expect(JSON.parse(r.out)).toEqual(JSON.parse(JSON.stringify(provisioningCost(input))));
      }),
      { numRuns: 50 },
    );
  });
});

describe('human output', () => {
  it('formats by unit: dollars, percentages of fractions, seconds, hours, days', () => {
    expect(formatValue('totalCostUsd', 1966.666)).toBe('$1,966.67');
    expect(formatValue('fractionOfPst', 0.233875)).toBe('23.4%');
    expect(formatValue('fraction', 0.641)).toBe('64.1%');
    expect(formatValue('savingsPercent', 45.678)).toBe('45.7%');
    expect(formatValue('totalSeconds', 1.871)).toBe('1.871 s');
    expect(formatValue('laborHours', 33.333)).toBe('33.3 h');
    expect(formatValue('paybackDays', 24.036)).toBe('24.0 days');
    expect(formatValue('paybackDays', null)).toBe('—');
    expect(formatValue('pass', false)).toBe('FAIL');
    // One minus sign for every negative figure, so that a loss pasted elsewhere still parses.
    expect(formatValue('savingsUsd', -188.18)).toBe('-$188.18');
    expect(formatValue('savingsPercent', -59.27)).toBe('-59.3%');
  });

  it('aligns the table: labels padded, figures right-aligned', () => {
    const text = table(rows(fleetCostPerMonth({ devices: 10_000 })));
    const lines = text.split('\n');
    const figureEnds = lines.filter((l) => /\$[\d,.]+$/.test(l)).map((l) => l.length);
    expect(new Set(figureEnds).size).toBe(1);
    expect(text).not.toContain('working');
  });
});
