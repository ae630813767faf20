import { defineConfig } from 'tsup';

/** One entry per public subpath (see package.json "exports"). */
export const entries: Record<string, string> = {
  index: 'src/index.ts',
  shadow: 'src/shadow/index.ts',
};

export default defineConfig([
  {
    entry: entries,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: true,
    treeshake: true,
    outDir: 'dist',
    external: ['mqtt', 'cbor-x', 'vitest', 'fast-check'],
  },
]);
