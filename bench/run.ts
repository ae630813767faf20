/**
 * `npm run bench [filter…]`: runs every benchmark suite (or those whose name contains a filter)
 * and prints one table per suite, ours beside a named baseline measured in the same run.
 * Each suite runs in a fresh Node process, so one suite's heap and JIT state cannot skew another's.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const suites = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (process.env['FLEETKIT_BENCH_CHILD'] === '1') {
  for (const file of suites) {
    const mod = (await import(pathToFileURL(join(here, file)).href)) as { run?: () => Promise<void> | void };
    if (typeof mod.run !== 'function') throw new Error(`${file} must export run()`);
    await mod.run();
  }
} else {
  console.log(`fleetkit benchmarks — node ${process.version}, ${process.arch}; suites: ${suites.join(', ')}`);
  let failed = 0;
  for (const file of suites) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), file], {
      stdio: 'inherit',
      env: { ...process.env, FLEETKIT_BENCH_CHILD: '1' },
    });
    if (child.status !== 0) {
      failed++;
      console.error(`\n${file} failed (exit ${String(child.status ?? child.signal)})`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}
