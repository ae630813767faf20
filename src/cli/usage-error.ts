/**
 * Usage errors: a one-line message for stderr and exit code 2, never a stack trace.
 */

/** Bad usage: an unknown command or flag, a missing or malformed value. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * The one-line message of a usage problem — a {@link UsageError} or a `node:util` parseArgs
 * error — or `undefined` when `error` is something else (a bug).
 */
export function errorMessage(error: unknown): string | undefined {
  if (error instanceof UsageError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  // parseArgs reports unknown options, missing values and stray positionals with these codes.
  if (error instanceof Error && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_')) {
    return error.message.split('\n')[0]?.replace(/\. To specify a positional argument.*$/, '') ?? error.message;
  }
  return undefined;
}
