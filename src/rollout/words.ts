/**
 * Wording shared by the planner's notes and the evaluator's reasons.
 * @internal
 */

/** "1 device", "2 devices": a count with its noun in the right number. @internal */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
