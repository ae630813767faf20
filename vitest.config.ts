import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './test/support/summary-reporter.ts'],
    setupFiles: ['./test/support/fast-check-seed.ts'],
    // Test locations let the summary reporter print a replay command for exactly the failed test.
    includeTaskLocation: true,
  },
});
