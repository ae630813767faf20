// A failed property test must be replayable from CI output: the summary reporter prints the
// fast-check seed of each failed test and a command that replays it (test/support/fast-check-seed.ts).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../', import.meta.url));
const vitest = fileURLToPath(new URL('../node_modules/vitest/vitest.mjs', import.meta.url));

async function runFixture(env: Record<string, string>, filter = 'test/fixtures/fc-replay/failing.fixture.ts'): Promise<string> {
  const { FLEETKIT_FC_SEED: _seed, ...inherited } = process.env;
  try {
    await exec(process.execPath, [vitest, 'run', '--config', 'test/fixtures/fc-replay/vitest.config.ts', filter], {
      cwd: root,
      env: { ...inherited, NO_COLOR: '1', ...env },
      timeout: 60_000,
    });
  } catch (e) {
    const { stdout, stderr } = e as { stdout: string; stderr: string };
    return `${stdout}\n${stderr}`;
  }
  throw new Error('the fixture passed: it must fail');
}

function match(output: string, re: RegExp): string[] {
  const m = re.exec(output);
  expect(m, `${String(re)} in:\n${output}`).not.toBeNull();
  return (m as RegExpExecArray).slice(1);
}

describe('fast-check failures are replayable from the test output', () => {
  it('prints the seed and a replay command for each failed test, and the command reproduces the failure', async () => {
    const first = await runFixture({});
    const [property] = match(first, /FAIL test\/fixtures\/fc-replay\/failing\.fixture\.ts > a property that fails\n {2}fast-check property failed: (seed -?\d+, path "[\d:]*")/);
    const [seed] = match(first, /fast-check run seed: (-?\d+) /);
    const [where] = match(first, new RegExp(`replay: FLEETKIT_FC_SEED=${seed} npx vitest run '(test/fixtures/fc-replay/failing\\.fixture\\.ts:\\d+)'`));
    const [drawn] = match(first, /Error: (drew \[[^\]]*\])/);
    expect(first).toMatch(/\n0 passed, 2 failed, 0 skipped\n/);

    // The printed command replays exactly the failed test, with the same draws.
    const again = await runFixture({ FLEETKIT_FC_SEED: String(seed) });
    expect(match(again, /Error: (drew \[[^\]]*\])/)[0]).toBe(drawn);
    expect(match(again, /fast-check property failed: (seed -?\d+, path "[\d:]*")/)[0]).toBe(property);
    // Run alone, the test derives the same seed from the run seed and its name.
    const only = await runFixture({ FLEETKIT_FC_SEED: String(seed) }, String(where));
    expect(only).toMatch(/\n0 passed, 1 failed, 1 skipped\n/);
    expect(match(only, /fast-check property failed: (seed -?\d+, path "[\d:]*")/)[0]).toBe(property);
  }, 120_000);

  it('refuses a seed that is not an integer', async () => {
    expect(await runFixture({ FLEETKIT_FC_SEED: 'abc' })).toContain('FLEETKIT_FC_SEED must be an integer, got "abc"');
  }, 60_000);
});
