#!/usr/bin/env node
// `npm run mutate -- <area> [--files a.ts,b.ts] [--incremental]`: StrykerJS mutation testing of one core area
// (shadow, rollout, lifecycle, memory-broker). Too slow for CI on 2 cores; run it before landing core changes.
// Reports: reports/mutation/<area>.html and .json; with `--name <label>` (for a --files subset),
// reports/mutation/<area>.<label>.* so the runs of several subsets (and their --incremental state) coexist.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const area = args.find((a, i) => !a.startsWith('--') && !['--files', '--name'].includes(args[i - 1] ?? ''));
if (!area) {
  console.error('usage: npm run mutate -- <shadow|rollout|lifecycle|memory-broker> [--files src/x.ts,src/y.ts] [--name label] [--incremental]');
  process.exit(2);
}
const filesAt = args.indexOf('--files');
const env = { ...process.env, FLEETKIT_MUTATE_AREA: area };
if (filesAt >= 0 && args[filesAt + 1]) env.FLEETKIT_MUTATE_FILES = args[filesAt + 1];
const nameAt = args.indexOf('--name');
if (nameAt >= 0 && args[nameAt + 1]) env.FLEETKIT_MUTATE_NAME = args[nameAt + 1];
if (args.includes('--incremental')) env.FLEETKIT_MUTATE_INCREMENTAL = '1';
const run = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs'], { stdio: 'inherit', env });
process.exit(run.status ?? 1);
