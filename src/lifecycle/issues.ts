/**
 * Turning zod issues into the "path: message; …" text fleetkit error messages carry.
 */
import type { z } from 'zod';

interface IssueLike {
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly issues?: readonly IssueLike[];
}

function flatten(issue: IssueLike, prefix: readonly PropertyKey[]): { path: string[]; message: string }[] {
  const path = [...prefix, ...issue.path].map(String);
  // A refused record key (or map element) hides its reason one level down; surface it.
  if (issue.issues !== undefined && issue.issues.length > 0) {
    return issue.issues.flatMap((inner) => flatten(inner, path));
  }
  return [{ path, message: issue.message }];
}

/** The issues of a zod error as `{ path, message }` pairs (record-key failures unwrapped). */
export function issueList(error: z.ZodError): { path: string[]; message: string }[] {
  return (error.issues as readonly IssueLike[]).flatMap((i) => flatten(i, []));
}

/** The issues of a zod error as one line: `path: message; path: message`. */
export function describeIssues(error: z.ZodError, root: string): string {
  return issueList(error)
    .map((i) => `${i.path.join('.') || root}: ${i.message}`)
    .join('; ');
}
