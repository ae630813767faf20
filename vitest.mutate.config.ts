import { defineConfig } from 'vitest/config';

// The test selection of one mutation area, handed over by stryker.config.mjs.
const selection = JSON.parse(process.env['FLEETKIT_MUTATE_TESTS'] ?? '{"include":[],"exclude":[]}') as {
  include: string[];
  exclude: string[];
};

export default defineConfig({
  test: {
    include: selection.include,
    exclude: selection.exclude,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
