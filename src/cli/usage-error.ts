/**
 * Usage errors: one line for stderr (text, or JSON under `--json`) and exit code 2, never a stack
 * trace.
 */

/**
 * The stable error codes of the command line: `USAGE` for what the command line itself refuses
 * (an unknown command, calculator or flag, a flag given twice, a value that is not a number),
 * `INVALID_INPUT` for what the calculator's validation refuses (a missing required field, a value
 * out of range), `INTERNAL` for an unexpected failure (exit 1).
 */
export type CliErrorCode = 'USAGE' | 'INVALID_INPUT' | 'INTERNAL';

/** One problem with the command line; `flag` names the flag at fault when there is one. */
export interface CliProblem {
  readonly flag?: string;
  readonly message: string;
}

/** Bad usage or bad input: exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The stable code. */
  readonly code: Exclude<CliErrorCode, 'INTERNAL'>;
  /** Every problem found; the message joins them. */
  readonly problems: readonly CliProblem[];

  /**
   * @param message - the one-line message
   * @param options - the code (default `USAGE`) and the problems (default: the message, no flag)
   */
  constructor(message: string, options: { readonly code?: Exclude<CliErrorCode, 'INTERNAL'>; readonly problems?: readonly CliProblem[] } = {}) {
    super(message);
    this.code = options.code ?? 'USAGE';
    this.problems = options.problems ?? [{ message }];
  }
}

/**
 * The usage problem in `error` — a {@link UsageError}, or a `node:util` parseArgs error as a
 * `USAGE` error — or `undefined` when `error` is something else (a bug).
 */
export function usageError(error: unknown): UsageError | undefined {
  if (error instanceof UsageError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  // parseArgs reports unknown options, missing values and stray positionals with these codes.
  if (error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
    return new UsageError(error.message.split('\n')[0]?.replace(/\. To specify a positional argument.*$/, '') ?? error.message);
  }
  return undefined;
}

/** The one-line message of a usage problem, or `undefined` when `error` is not one (a bug). */
export function errorMessage(error: unknown): string | undefined {
  return usageError(error)?.message;
}

/** The `--json` form of an error: `{"error":{"code","message","problems"}}` on one line. */
export function jsonError(code: CliErrorCode, message: string, problems: readonly CliProblem[]): string {
  return `${JSON.stringify({ error: { code, message, problems } })}\n`;
}
