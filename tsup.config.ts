import { existsSync } from 'node:fs';
import { defineConfig } from 'tsup';

/** One entry per public subpath (see package.json "exports"); the `fleetkit` bin is `cli`. */
const all: Record<string, string> = {
  index: 'src/index.ts',
  shadow: 'src/shadow/index.ts',
  lifecycle: 'src/lifecycle/index.ts',
  rollout: 'src/rollout/index.ts',
  calc: 'src/calc/index.ts',
  tenancy: 'src/tenancy/index.ts',
  monitor: 'src/monitor/index.ts',
  fog: 'src/fog/index.ts',
  protocol: 'src/protocol/index.ts',
  memory: 'src/memory.ts',
  mqtt: 'src/mqtt.ts',
  cbor: 'src/cbor.ts',
  testing: 'src/testing/index.ts',
  cloud: 'src/cloud/index.ts',
  device: 'src/device/index.ts',
  postgres: 'src/postgres/index.ts',
  cli: 'src/cli/index.ts',
};
const entry = Object.fromEntries(Object.entries(all).filter(([, file]) => existsSync(file)));

export default defineConfig({
  entry,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: true,
  treeshake: true,
  outDir: 'dist',
  external: ['mqtt', 'cbor-x', 'vitest', 'fast-check', 'zod', 'eventemitter3', 'pg', '@electric-sql/pglite', 'prom-client'],
});
