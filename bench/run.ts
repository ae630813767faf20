/**
 * `npm run bench [filter…]`: runs every benchmark suite (or those whose name contains a filter)
 * and prints one table per suite, ours beside a named baseline measured in the same run, then one
 * summary table of every benchmark with a target (benchmark, ours, baseline, ratio, target, met?),
 * also written to bench/results.json. Each suite runs in a fresh Node process, so one suite's heap
 * and JIT state cannot skew another's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { printTable, type TargetResult } from './lib.js';
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
  const started = Date.now();
  const load = loadavg()[0] ?? 0;
  const dir = mkdtempSync(join(tmpdir(), 'fleetkit-bench-'));
  const resultsFile = join(dir, 'results.jsonl');
  writeFileSync(resultsFile, '');
  let failed = 0;
  for (const file of suites) {
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), file], {
      stdio: 'inherit',
      env: { ...process.env, FLEETKIT_BENCH_CHILD: '1', FLEETKIT_BENCH_RESULTS: resultsFile, FLEETKIT_BENCH_SUITE: file.replace(/\.bench\.ts$/, '') },
    });
    if (child.status !== 0) {
      failed++;
      console.error(`\n${file} failed (exit ${String(child.status ?? child.signal)})`);
    }
  }
  const results = readFileSync(resultsFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TargetResult);
  rmSync(dir, { recursive: true, force: true });
  printTable(`Summary: every benchmark with a target (${results.filter((r) => r.met).length} of ${results.length} met)`, results.map((r) => ({ suite: r.suite, benchmark: r.benchmark.length > 110 ? `${r.benchmark.slice(0, 60)}…${r.benchmark.slice(-49)}` : r.benchmark, ours: r.ours, baseline: r.baseline, ratio: r.ratio, target: r.target, 'met?': r.met ? 'yes' : 'NO' })));
  const out = join(here, 'results.json');
  writeFileSync(out, `${JSON.stringify({ node: process.version, arch: process.arch, startedAt: new Date(started).toISOString(), wallSeconds: Math.round((Date.now() - started) / 1000), loadAverageAtStart: load, suites, results }, null, 2)}\n`);
  console.log(`\nwritten: ${out} (${Math.round((Date.now() - started) / 1000)} s)`);
  if (failed > 0) process.exitCode = 1;
}
