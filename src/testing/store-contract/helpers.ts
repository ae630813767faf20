/**
 * Helpers shared by the store contract suites.
 */
import { expect } from 'vitest';
import { isFleetError, type FleetErrorCode } from '../../errors.js';
import type { Page, PageOptions } from '../../store/page.js';

/** Creates a fresh, empty store for one test. */
export type StoreFactory<S> = () => S | Promise<S>;

/** Options every store contract suite takes. */
export interface StoreContractOptions {
  /**
   * Title of the `describe` block.
   * @defaultValue the interface's name and "contract"
   */
  readonly name?: string;
  /**
   * fast-check runs per property.
   * @defaultValue 40
   */
  readonly numRuns?: number;
  /**
   * Seed for the properties; fast-check prints the seed of a failure so it can be replayed.
   * @defaultValue fast-check's global configuration (a fresh seed per run unless one is configured)
   */
  readonly seed?: number;
}

/** @internal Resolves the shared options; `params` are the fast-check parameters of every property. */
export function resolveContractOptions(options: StoreContractOptions, name: string): { name: string; params: { numRuns: number; seed?: number } } {
  const numRuns = options.numRuns ?? 40;
  return { name: options.name ?? `${name} contract`, params: options.seed === undefined ? { numRuns } : { numRuns, seed: options.seed } };
}

/** @internal Awaits `p` and asserts it rejected with a FleetError of `code`. */
export async function rejectsWith(p: Promise<unknown> | (() => Promise<unknown>), code: FleetErrorCode | readonly FleetErrorCode[]): Promise<void> {
  let error: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    error = e;
  }
  const codes: readonly FleetErrorCode[] = typeof code === 'string' ? [code] : code;
  expect(isFleetError(error), `expected a FleetError ${codes.join(' or ')}, got ${String(error)}`).toBe(true);
  expect(codes).toContain((error as { code: FleetErrorCode }).code);
}

/** @internal Reads every page of a list, asserting the page bound. */
export async function readAll<T>(list: (page: PageOptions) => Promise<Page<T>>, limit: number, maxPages = 10_000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < maxPages; pages++) {
    const page: Page<T> = await list(cursor === undefined ? { limit } : { limit, cursor });
    expect(page.items.length).toBeLessThanOrEqual(limit);
    out.push(...page.items);
    if (page.cursor === undefined) return out;
    cursor = page.cursor;
  }
  throw new Error(`more than ${maxPages} pages`);
}

/** @internal Tries to mutate `target` (a returned or passed object); frozen objects throw, which is fine. */
export function tryMutate(mutate: () => void): void {
  try {
    mutate();
  } catch {
    // A frozen object refuses the change: that is one way of keeping stored state isolated.
  }
}

/** @internal A deep copy through JSON, to compare stored state before and after. */
export function snapshot<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/**
 * @internal The options-argument law of every list call: `null` and `undefined` mean no options
 * (the same first page as `{}`); a value that is not an object is `INVALID_ARGUMENT`.
 */
export async function listOptionsLaw(list: (options: unknown) => Promise<Page<unknown>>): Promise<void> {
  const none = await list({});
  expect(await list(undefined)).toEqual(none);
  expect(await list(null)).toEqual(none);
  for (const bad of [5, 'limit=1', true, [1]]) await rejectsWith(() => list(bad), 'INVALID_ARGUMENT');
}
