/**
 * Property run counts: as given in the test suite; a fifth (at least 50) under mutation testing
 * (`npm run mutate`), where every mutant reruns the properties that cover it.
 */
export function runs(n: number): number {
  return process.env['FLEETKIT_MUTATE_TESTS'] === undefined ? n : Math.max(50, Math.ceil(n / 5));
}
