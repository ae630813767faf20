// Mutation testing of the core: `npm run mutate -- <area>` (see scripts/mutate.mjs).
// Each area mutates its own sources and runs only its own tests, so a run fits a 2-core machine.
const areas = {
  shadow: {
    mutate: ['src/shadow/**/*.ts', '!src/shadow/index.ts'],
    tests: ['test/shadow/**/*.test.ts'],
    exclude: ['test/shadow/fuzz.test.ts'],
  },
  rollout: {
    mutate: ['src/rollout/**/*.ts', '!src/rollout/index.ts'],
    tests: ['test/rollout/**/*.test.ts'],
    exclude: [],
  },
  lifecycle: {
    mutate: ['src/lifecycle/**/*.ts', '!src/lifecycle/index.ts'],
    tests: ['test/lifecycle/**/*.test.ts'],
    exclude: [],
  },
  'memory-broker': {
    mutate: ['src/transport/memory-broker.ts'],
    tests: ['test/transport/memory-broker*.test.ts', 'test/transport/contract-memory.test.ts', 'test/transport/shared-subscriptions.test.ts'],
    exclude: [],
  },
};

const name = process.env.FLEETKIT_MUTATE_AREA ?? 'rollout';
const area = areas[name];
if (!area) throw new Error(`unknown mutation area "${name}"; one of: ${Object.keys(areas).join(', ')}`);
const only = process.env.FLEETKIT_MUTATE_FILES?.split(',').filter(Boolean);
// A labelled subset run keeps its own reports, incremental state and sandbox.
const label = process.env.FLEETKIT_MUTATE_NAME ? `${name}.${process.env.FLEETKIT_MUTATE_NAME}` : name;
// The test runner processes inherit these: vitest.mutate.config.ts runs only this area's tests.
process.env.FLEETKIT_MUTATE_TESTS = JSON.stringify({ include: area.tests, exclude: area.exclude });

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  mutate: only ?? area.mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.FLEETKIT_MUTATE_CONCURRENCY ?? 1),
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${label}.html` },
  jsonReporter: { fileName: `reports/mutation/${label}.json` },
  tempDirName: `.stryker-tmp/${label}`,
  incremental: process.env.FLEETKIT_MUTATE_INCREMENTAL === '1',
  incrementalFile: `reports/mutation/${label}.incremental.json`,
  ignoreStatic: true,
  thresholds: { high: 85, low: 75, break: null },
};
