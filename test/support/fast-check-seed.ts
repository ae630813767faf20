/**
 * vitest setup file: makes every fast-check failure replayable — inside `fc.assert`, and in an
 * assertion about what the properties drew (which fast-check's own report does not cover).
 *
 * - Each test file gets one run seed: `FLEETKIT_FC_SEED=<int>` when given (a replay), otherwise a
 *   fresh one, so runs still explore new cases.
 * - Each test runs its properties (`fc.assert`, `fc.check`, `fc.sample`) from a seed derived from the
 *   run seed and the test's full name: tests over the same arbitrary still see different cases, and
 *   replaying one test alone (`npx vitest run file:line`) gives it the same seed as in the full run.
 *   Code outside tests uses the run seed itself.
 * - `FLEETKIT_FC_NUM_RUNS=<int>` sets the run count of properties that do not set their own
 *   `numRuns` (to hunt for rare failures locally).
 *
 * The run seed is attached to every test and file (`meta.fcSeed`); the summary reporter prints it,
 * with the command that replays the failure, for every test that fails.
 */
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** The fast-check run seed of the test's file (`FLEETKIT_FC_SEED` replays it). */
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

/** A 32-bit seed from the run seed and a test name (FNV-1a over the name, then a murmur3 finaliser). */
function testSeed(runSeed: number, name: string): number {
  let h = (0x811c9dc5 ^ runSeed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

// fast-check seeds are 32-bit integers; draw one the way fast-check does when none is given.
const runSeed = intFromEnv('FLEETKIT_FC_SEED') ?? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0;
const numRuns = intFromEnv('FLEETKIT_FC_NUM_RUNS');
const configure = (seed: number): void => fc.configureGlobal({ ...fc.readConfigureGlobal(), seed, ...(numRuns === undefined ? {} : { numRuns }) });
configure(runSeed);

// The first argument is the (unused) fixture context; vitest requires it destructured.
beforeAll(({}, file) => {
  file.meta.fcSeed = runSeed;
});
beforeEach(({ task }) => {
  task.meta.fcSeed = runSeed;
  configure(testSeed(runSeed, task.fullTestName ?? task.name));
});
afterEach(() => {
  configure(runSeed);
});
