/**
 * The built `fleetkit` binary, spawned as a user runs it: `node dist/cli.js …`.
 * `npm test` builds dist/ first (the `pretest` script); run `npx tsup` when calling vitest directly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { calculators, fleetCostPerMonth, predictiveMaintenanceRoi } from '../../src/calc/index.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const PKG = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function fleetkit(...args: string[]): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A usage error: exit 2, nothing on stdout, one line on stderr, no stack trace. */
function expectUsageError(r: Run, ...mentions: string[]): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  for (const m of mentions) expect(r.stderr).toContain(m);
}

const compressorFlags = [
  '--assets', '24', '--sensors-per-asset', '29', '--failures-per-asset-year', '2',
  '--repair-cost-per-failure-usd', '125000', '--downtime-hours-per-failure', '24', '--downtime-cost-per-hour-usd', '18,000',
  '--reactive-overhead-per-asset-year-usd', '410000', '--failure-reduction-fraction', '85%',
  '--planned-repair-cost-per-failure-usd', '15000', '--platform-cost-per-year-usd', '520000', '--capex-usd', '2.07e6',
  '--discount-rate-per-year', '0.08', '--horizon-years', '5',
];

const reactorFlags = [
  '--process-safety-time-seconds', '8',
  '--component', 'RTD sensor=0.5', '--component', '4-20 mA transmission=0.05', '--component', 'network=0.01',
  '--component', 'PLC input scan=0.05', '--component', 'logic solve=0.001', '--component', 'PLC output scan=0.05',
  '--component', 'network to actuator=0.01', '--component', 'valve stroke=1.2',
];

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build first with \`npx tsup\` (npm test runs it as pretest)`);
});

describe('fleetkit (built binary)', () => {
  it('--version prints the package version', () => {
    const r = fleetkit('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(PKG.version);
  });

  it('--help lists the commands; no command is a usage error', () => {
    const r = fleetkit('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\s+calc\s/m);
    expect(fleetkit().code).toBe(2);
    expectUsageError(fleetkit('frobnicate'), 'unknown command "frobnicate"');
  });

  it('calc --help lists every calculator', () => {
    const r = fleetkit('calc', '--help');
    expect(r.code).toBe(0);
    for (const c of calculators) expect(r.stdout).toContain(c.command);
  });

  it('calc <name> --help lists the fields with defaults and units', () => {
    const r = fleetkit('calc', 'provisioning-cost', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/--manual-seconds-per-device\s+120\s/);
    expect(r.stdout).toMatch(/--devices\s+required\s/);
    expect(r.stdout).toMatch(/--manual-rework-fraction\s+0 \(0%\)/);
    expect(fleetkit('calc', 'sis-response-budget', '--help').stdout).toContain('--component "<name>=<responseTimeSeconds>"');
  });
});

describe('fleetkit calc — the worked examples', () => {
  it('provisioning-cost: 33.3 h manual vs 16 h available, 17.3 h short; zero-touch 4.2 h', () => {
    const r = fleetkit('calc', 'provisioning-cost', '--devices', '1000');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/manual\.laborHours\s+33\.3 h/);
    expect(r.stdout).toMatch(/manual\.availableHours\s+16\.0 h/);
    expect(r.stdout).toMatch(/manual\.shortfallHours\s+17\.3 h/);
    expect(r.stdout).toMatch(/zeroTouch\.laborHours\s+4\.2 h/);
    expect(r.stdout).toMatch(/^working:$/m);
  });

  it('provisioning-cost labels the devices × per-device cost as the total it is', () => {
    const r = fleetkit('calc', 'provisioning-cost', '--devices', '1000');
    expect(r.stdout).not.toMatch(/perDeviceCostUsd/);
    // 1,000 devices × $0.36: a total, not a cost per device
    expect(r.stdout).toMatch(/zeroTouch\.perDeviceCostTotalUsd\s+\$360\n/);
    expect(r.stdout).toMatch(/zeroTouch\.costPerDeviceUsd\s+\$1\.07\n/);
  });

  it('predictive-maintenance-roi: reactive $36.58M, predictive $5.14M, payback 24.0 days, NPV $123.4M', () => {
    const r = fleetkit('calc', 'predictive-maintenance-roi', ...compressorFlags);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/reactiveAnnualCostUsd\s+\$36,576,000/);
    expect(r.stdout).toMatch(/predictiveAnnualCostUsd\s+\$5,142,400/);
    expect(r.stdout).toMatch(/paybackDays\s+24\.0 days/);
    expect(r.stdout).toMatch(/npvUsd\s+\$123,4\d\d,\d{3}/);
  });

  it('sis-response-budget with --component: 1.871 s, 23.4 %, PASS, 2.129 s margin, valve 64.1 %', () => {
    const r = fleetkit('calc', 'sis-response-budget', ...reactorFlags);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/totalSeconds\s+1\.871 s/);
    expect(r.stdout).toMatch(/fractionOfPst\s+23\.4%/);
    expect(r.stdout).toMatch(/pass\s+PASS/);
    expect(r.stdout).toMatch(/marginToBudgetSeconds\s+2\.129 s/);
    expect(r.stdout).toMatch(/dominant\s+valve stroke \(64\.1%\)/);
  });

  it('failures-at-scale: ≈27 a day, 60,000 messages a minute', () => {
    const r = fleetkit('calc', 'failures-at-scale', '--devices', '10000', '--failures-per-device-year', '1', '--message-interval-seconds', '10');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/failuresPerDay\s+27\.4/);
    expect(r.stdout).toMatch(/messagesPerMinute\s+60,000/);
  });

  it('recommend-architecture prints the path', () => {
    const r = fleetkit('calc', 'recommend-architecture', '--devices', '50', '--latency-critical-ms', '20');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('devices 50 < 100 → latency 20 ms < 100 ms: critical → Edge only');
    expect(r.stdout).toMatch(/monthlyCostUsd\s+\$50/);
  });

  it('fleet-cost-per-month: $4,300 for 10K, $31,500 for 100K', () => {
    expect(fleetkit('calc', 'fleet-cost-per-month', '--devices', '10000').stdout).toMatch(/totalUsdPerMonth\s+\$4,300\n/);
    expect(fleetkit('calc', 'fleetCostPerMonth', '--devices', '100000').stdout).toMatch(/totalUsdPerMonth\s+\$31,500\n/);
  });

  it('--json prints the same object the library returns', () => {
    const r = fleetkit('calc', 'predictive-maintenance-roi', ...compressorFlags, '--json');
    expect(r.code).toBe(0);
    const example = calculators.find((c) => c.name === 'predictiveMaintenanceRoi')?.example ?? {};
    expect(JSON.parse(r.stdout)).toEqual(predictiveMaintenanceRoi(example as never));
    expect(JSON.parse(fleetkit('calc', 'fleet-cost-per-month', '--devices', '100000', '--json').stdout)).toEqual(fleetCostPerMonth({ devices: 100_000 }));
  });

  it('--example runs the worked example, and flags override it', () => {
    const r = fleetkit('calc', 'sis-response-budget', '--example', '--budget-fraction', '20%');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pass\s+FAIL/);
  });
});

describe('fleetkit calc — bad input', () => {
  it('a value out of range names the flag and the expected form, exit 2', () => {
    expectUsageError(fleetkit('calc', 'provisioning-cost', '--devices', '-5'), '--devices', 'expected an integer ≥ 1');
  });

  it('a value that is not a number', () => {
    expectUsageError(fleetkit('calc', 'failures-at-scale', '--devices', 'lots'), '--devices', 'got "lots"');
  });

  it('a missing required flag', () => {
    expectUsageError(fleetkit('calc', 'failures-at-scale', '--devices', '10'), '--failures-per-device-year is required');
  });

  it('every missing required flag at once, not the first only', () => {
    const r = fleetkit('calc', 'failures-at-scale');
    expectUsageError(r, '--devices is required', '--failures-per-device-year is required', '--message-interval-seconds is required', '(or use --example)');
    expectUsageError(fleetkit('calc', 'failures-at-scale', '--devices', '10'), '--message-interval-seconds is required');
  });

  it('a flag given twice is an error, not "last wins"', () => {
    expectUsageError(fleetkit('calc', 'provisioning-cost', '--devices', '10', '--devices', '20'), '--devices: given twice');
    expectUsageError(fleetkit('calc', 'provisioning-cost', '--devices', '10', '--technicians', '1', '--technicians', '1', '--technicians', '2'), '--technicians: given 3 times');
    expectUsageError(fleetkit('calc', 'provisioning-cost', '--devices', '10', '--json', '--json'), '--json: given twice');
    // a list flag is repeated by design
    expect(fleetkit('calc', 'sis-response-budget', ...reactorFlags).code).toBe(0);
  });

  it('with --json, every error is one line of JSON on stderr: { error: { code, message, problems } }, exit 2', () => {
    const cases: [string[], string, string | undefined][] = [
      [['calc', 'provisioning-cost', '--devices', '-5', '--json'], 'INVALID_INPUT', '--devices'],
      [['calc', 'failures-at-scale', '--devices', 'lots', '--json'], 'USAGE', '--devices'],
      [['calc', 'provisioning-cost', '--devices', '10', '--crew', '3', '--json'], 'USAGE', undefined],
      [['calc', 'warp-drive', '--json'], 'USAGE', undefined],
      [['frobnicate', '--json'], 'USAGE', undefined],
      [['calc', 'provisioning-cost', '--devices', '1', '--devices', '2', '--json'], 'USAGE', '--devices'],
    ];
    for (const [args, code, flag] of cases) {
      const r = fleetkit(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.endsWith('\n') && r.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
      const parsed = JSON.parse(r.stderr) as { error: { code: string; message: string; problems: { flag?: string; message: string }[] } };
      expect(Object.keys(parsed)).toEqual(['error']);
      expect(parsed.error.code, args.join(' ')).toBe(code);
      expect(parsed.error.message.length).toBeGreaterThan(0);
      expect(parsed.error.problems.length).toBeGreaterThan(0);
      for (const p of parsed.error.problems) expect(typeof p.message).toBe('string');
      if (flag !== undefined) expect(parsed.error.problems[0]?.flag, args.join(' ')).toBe(flag);
    }
    const missing = JSON.parse(fleetkit('calc', 'failures-at-scale', '--json').stderr) as { error: { code: string; problems: { flag?: string }[] } };
    expect(missing.error.code).toBe('INVALID_INPUT');
    expect(missing.error.problems.map((p) => p.flag)).toEqual(['--devices', '--failures-per-device-year', '--message-interval-seconds']);
    // without --json the same errors stay one line of text
    expectUsageError(fleetkit('calc', 'warp-drive'), 'fleetkit: calc: unknown calculator "warp-drive"');
  });

  it('an unknown flag, a missing value, an unknown calculator', () => {
    expectUsageError(fleetkit('calc', 'provisioning-cost', '--devices', '10', '--crew', '3'), "'--crew'");
    expectUsageError(fleetkit('calc', 'provisioning-cost', '--devices'), "'--devices");
    expectUsageError(fleetkit('calc', 'warp-drive'), 'unknown calculator "warp-drive"');
  });

  it('a malformed or invalid component', () => {
    expectUsageError(fleetkit('calc', 'sis-response-budget', '--process-safety-time-seconds', '8', '--component', 'valve'), '--component', '<name>=<responseTimeSeconds>');
    expectUsageError(fleetkit('calc', 'sis-response-budget', '--process-safety-time-seconds', '8', '--component', 'a=1', '--component', 'b=-1'), '--component #2', 'expected a number ≥ 0');
  });

  it('an enum', () => {
    expectUsageError(fleetkit('calc', 'recommend-architecture', '--devices', '10', '--regions', 'mars'), '--regions', 'one of: single, multi');
  });
});
