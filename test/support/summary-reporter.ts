// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, and
// before it, for every failed test, the fast-check run seed of its file (and the seed and path of a
// failed property) with the command that replays it (see test/support/fast-check-seed.ts).
import type { Reporter, TestCase, TestModule } from 'vitest/node';

/** `{ seed: 123, path: "0:1", endOnFailure: true }`, as fast-check writes it into a failure. */
const FC_RUN = /\{ seed: (-?\d+), path: "([\d:]*)"/g;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function replayLines(test: TestCase): string[] {
  const fileSeed = test.meta().fcSeed ?? test.module.meta().fcSeed;
  const runs = new Set<string>();
  for (const error of test.result().errors ?? []) {
    for (const m of `${error.message ?? ''}\n${error.stack ?? ''}`.matchAll(FC_RUN)) runs.add(`seed ${m[1]}, path "${m[2]}"`);
  }
  const where = test.location === undefined ? test.module.relativeModuleId : `${test.module.relativeModuleId}:${test.location.line}`;
  const lines = [`FAIL ${test.module.relativeModuleId} > ${test.fullName}`];
  for (const run of runs) lines.push(`  fast-check property failed: ${run} (fc.assert(…, { seed, path }) replays that case alone)`);
  if (fileSeed !== undefined) {
    lines.push(`  fast-check run seed: ${fileSeed} (the test derives its own seed from it and its name)`);
    lines.push(`  replay: FLEETKIT_FC_SEED=${fileSeed} npx vitest run ${shellQuote(where)}`);
  }
  return lines;
}

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const replay: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') {
          failed++;
          replay.push(...replayLines(test));
        } else skipped++;
      }
      if (mod.state() === 'failed' && [...mod.children.allTests()].length === 0) {
        failed++;
        const seed = mod.meta().fcSeed;
        replay.push(`FAIL ${mod.relativeModuleId} (the file itself)`);
        if (seed !== undefined) replay.push(`  replay: FLEETKIT_FC_SEED=${seed} npx vitest run ${shellQuote(mod.relativeModuleId)}`);
      }
    }
    if (replay.length > 0) process.stdout.write(`\n${replay.join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
