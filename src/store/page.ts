/**
 * Cursor pages: every list operation of every store returns records in pages, each with an
 * opaque cursor to the next one.
 */
import { FleetError } from '../errors.js';
import { tenantMismatch } from './tenant.js';

/** Which page to read. */
export interface PageOptions {
  /**
   * Most records in the page (1–1000).
   * @defaultValue 100
   */
  readonly limit?: number;
  /** The `cursor` of the previous page; omit for the first page. */
  readonly cursor?: string;
}

/** One page of a list. */
export interface Page<T> {
  /** The records, in the store's order (ascending by key). */
  readonly items: readonly T[];
  /** Pass this as `cursor` to read the next page; absent on the last page. */
  readonly cursor?: string;
}

/** Default page size. */
export const DEFAULT_PAGE_LIMIT = 100;
/** Largest page size. */
export const MAX_PAGE_LIMIT = 1000;

/**
 * @internal The options object of a list call: `undefined` and `null` both mean "no options".
 * @throws FleetError `INVALID_ARGUMENT` for anything else that is not a plain object.
 */
export function listOptions<T extends object>(api: string, options: T | null | undefined): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: options must be an object such as { limit: 100 } (or omitted), got ${Array.isArray(options) ? 'an array' : typeof options}`, { status: 400 });
  }
  return options;
}

/**
 * @internal Checks and resolves the page size.
 * @throws FleetError `INVALID_ARGUMENT` for a limit that is not an integer in 1–1000.
 */
export function pageLimit(api: string, options: PageOptions | undefined): number {
  const limit: unknown = options?.limit;
  if (limit === undefined) return DEFAULT_PAGE_LIMIT;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${String(limit)}`, { status: 400 });
  }
  return limit;
}

/**
 * @internal Makes a cursor: the tenant and the last key returned, base64url JSON. Binding the
 * tenant means a cursor cannot be replayed under another tenant's context.
 */
export function encodeCursor(tenantId: string, list: string, key: string): string {
  return Buffer.from(JSON.stringify([tenantId, list, key]), 'utf8').toString('base64url');
}

/**
 * @internal Reads a cursor back: the key after which the next page starts (undefined for the first page).
 * @throws FleetError `INVALID_ARGUMENT` for a cursor this store did not make, `TENANT_MISMATCH`
 *   for a cursor made for another tenant.
 */
export function decodeCursor(api: string, tenantId: string, list: string, options: PageOptions | undefined): string | undefined {
  const cursor: unknown = options?.cursor;
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = typeof cursor === 'string' && cursor.length <= 4096 ? JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === 'string') || parsed[1] !== list) {
    throw new FleetError('INVALID_ARGUMENT', `${api}: the cursor is not one this list returned; pass the cursor of the previous page unchanged, or omit it for the first page`, {
      status: 400,
    });
  }
  if (parsed[0] !== tenantId) throw tenantMismatch(api, 'the cursor', tenantId);
  return parsed[2] as string;
}

/**
 * @internal A set of string keys with a sorted view for pages. The sort happens lazily, on the
 * first page read after a change, so writes stay O(1).
 */
export class SortedKeys {
  readonly #keys = new Set<string>();
  #sorted: string[] | undefined = [];

  /** Number of keys. */
  get size(): number {
    return this.#keys.size;
  }

  /** Adds a key. */
  add(key: string): void {
    if (this.#keys.has(key)) return;
    this.#keys.add(key);
    this.#sorted = undefined;
  }

  /** Removes a key. */
  delete(key: string): void {
    if (this.#keys.delete(key)) this.#sorted = undefined;
  }

  /** Every key in ascending order (a shared array: do not modify). */
  sorted(): readonly string[] {
    if (this.#sorted === undefined) this.#sorted = [...this.#keys].sort(compareKeys);
    return this.#sorted;
  }

  /**
   * Collects up to `limit` values for keys after `after`, in key order, skipping keys for which
   * `read` returns undefined. Returns the values and the cursor key (the last key taken) when
   * more keys with values may follow.
   */
  page<T>(after: string | undefined, limit: number, read: (key: string) => T | undefined): { items: T[]; last: string | undefined } {
    const keys = this.sorted();
    let i = after === undefined ? 0 : upperBound(keys, after);
    const items: T[] = [];
    let lastKey: string | undefined;
    for (; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = read(key);
      if (value === undefined) continue;
      if (items.length === limit) return { items, last: lastKey };
      items.push(value);
      lastKey = key;
    }
    return { items, last: undefined };
  }
}

/** @internal Code-unit order (what SQL's "C" collation gives for the name alphabet). */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function upperBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((keys[mid] as string) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** @internal Builds a page from a {@link SortedKeys.page} result. */
export function toPage<T>(tenantId: string, list: string, r: { items: T[]; last: string | undefined }): Page<T> {
  return r.last === undefined ? { items: r.items } : { items: r.items, cursor: encodeCursor(tenantId, list, r.last) };
}
