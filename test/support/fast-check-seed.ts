/**
 * vitest setup file: every test file runs its fast-check properties from one seed, so any failure —
 * inside `fc.assert` or in an assertion about what the properties saw — replays exactly.
 *
 * - `FLEETKIT_FC_SEED=<int>` replays a run: every property of the file starts from that seed.
 *   Without it each file draws a fresh seed, so runs still explore new cases.
 * - `FLEETKIT_FC_NUM_RUNS=<int>` raises (or lowers) the run count of properties that do not set
 *   their own `numRuns` (use it to hunt for rare failures locally).
 *
 * The seed is attached to every test and file (`meta.fcSeed`); the summary reporter prints it,
 * with a command that replays the failure, for every test that fails.
 */
import fc from 'fast-check';
import { beforeAll, beforeEach } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** The fast-check seed the test's file ran with. */
    fcSeed?: number;
  }
}

function intFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

// fast-check seeds are 32-bit integers; draw one the way fast-check does when none is given.
const seed = intFromEnv('FLEETKIT_FC_SEED') ?? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0;
const numRuns = intFromEnv('FLEETKIT_FC_NUM_RUNS');
fc.configureGlobal({ ...fc.readConfigureGlobal(), seed, ...(numRuns === undefined ? {} : { numRuns }) });

// The first argument is the (unused) fixture context; vitest requires it destructured.
beforeAll(({}, file) => {
  file.meta.fcSeed = seed;
});
beforeEach(({ task }) => {
  task.meta.fcSeed = seed;
});
