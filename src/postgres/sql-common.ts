/**
 * What every SQL store shares: the per-transaction tenant, JSON in and out, integer columns, pages.
 */
import type { SqlDriver, SqlExecutor } from './driver.js';
import { encodeCursor, type Page } from '../store/page.js';

/**
 * @internal Runs `fn` in one transaction whose row-level-security tenant is `tenantId`
 * (`set_config('fleetkit.tenant_id', $1, true)`: local to the transaction, a parameter, never SQL text).
 */
export async function inTenant<T>(driver: SqlDriver, tenantId: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  return driver.transaction(fn, { tenantId });
}

/** @internal A bigint column as a number (node-postgres returns int8 as a string). */
export function int(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** @internal A float8 column that may be NULL. */
export function optNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}

/** @internal A json column read back (drivers parse json; a string is parsed here, for safety). */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** @internal JSON text for a json parameter (`$n::text::json`), dropping undefined properties. */
export function toJson(value: unknown): string {
  return JSON.stringify(value);
}

/** @internal A fresh deep copy of JSON data (what a store returns never aliases the caller's object). */
export function copyJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/**
 * @internal Builds a page from `limit + 1` rows read in key order: the extra row only says a next
 * page exists; the cursor is the last returned row's key.
 */
export function sqlPage<R, T>(tenantId: string, list: string, rows: readonly R[], limit: number, map: (row: R) => T, key: (row: R) => string): Page<T> {
  const items = rows.slice(0, limit).map(map);
  if (rows.length <= limit) return { items };
  return { items, cursor: encodeCursor(tenantId, list, key(rows[limit - 1] as R)) };
}

/** @internal Splits a two-part cursor key (`a` NUL `b`), as the memory stores make them. */
export function splitKey(key: string): [string, string] {
  const cut = key.indexOf('\u0000');
  return cut === -1 ? [key, ''] : [key.slice(0, cut), key.slice(cut + 1)];
}

/** @internal `value` (one or many) as an array, or undefined when absent. */
export function asArray(value: string | readonly string[] | undefined): string[] | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? [value] : [...value];
}

/** @internal A growing list of parameters and WHERE conditions. */
export class Where {
  readonly params: unknown[] = [];
  readonly conditions: string[] = [];
  /** Adds a parameter; returns its placeholder. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }
  /** Adds a condition. */
  and(condition: string): void {
    this.conditions.push(condition);
  }
  /** `WHERE a AND b …`. */
  toString(): string {
    return this.conditions.length === 0 ? '' : `WHERE ${this.conditions.join(' AND ')}`;
  }
}
