/**
 * Exact serialized sizes, kept up to date per update (SHADOW.md, "Limits"): the size of a stored
 * state is measured once, and each update adds what changed along the paths it touched. No
 * update serialises the document, and the 413 decision is always the exact one.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import type { ShadowState } from './types.js';
import { ownValue } from './wide.js';

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** The UTF-8 length of `JSON.stringify(s)`: quotes, escapes (`\n`, `\u0001`, lone surrogates) included. */
export function stringBytes(s: string): number {
  let n = 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += c < 0x20 ? (c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d ? 2 : 6) : c === 0x22 || c === 0x5c ? 2 : 1;
    else if (c < 0x800) n += 2;
    else if (c < 0xd800 || c > 0xdfff) n += 3;
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4; // a surrogate pair: one 4-byte character
      i++;
    } else n += 6; // a lone surrogate is written as \udXXX
  }
  return n;
}

/** The length of `JSON.stringify(n)`: digits counted for safe integers (no string is built), else the shortest round-trip form. */
export function numberBytes(n: number): number {
  if (Number.isSafeInteger(n)) {
    let a = n < 0 ? -n : n;
    let digits = n < 0 ? 2 : 1;
    while (a >= 10) {
      a = Math.floor(a / 10);
      digits++;
    }
    return digits;
  }
  return Number.isFinite(n) ? String(n).length : 4; // a non-finite number is written as null
}

/**
 * The UTF-8 length of `JSON.stringify(value)` for a JSON value. Anything else (which a stored
 * document never holds) is counted as `JSON.stringify` writes it where that is cheap to know
 * (`null` for a non-finite number) and as nothing otherwise; {@link stateBytes} reports such
 * documents as not measurable.
 */
export function jsonBytes(value: JsonValue): number {
  switch (typeof value) {
    case 'string':
      return stringBytes(value);
    case 'number':
      return numberBytes(value);
    case 'boolean':
      return value ? 4 : 5;
    case 'object': {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let n = value.length === 0 ? 2 : 1 + value.length; // brackets and commas
        for (let i = 0; i < value.length; i++) n += jsonBytes(value[i] as JsonValue);
        return n;
      }
      let n = 1;
      let count = 0;
      for (const key in value) {
        n += stringBytes(key) + 2 + jsonBytes(value[key] as JsonValue); // "key": value,
        count++;
      }
      return count === 0 ? 2 : n;
    }
    default:
      return 0;
  }
}

/**
 * The exact size of a state, or `undefined` when the state is not canonical (holds an empty
 * object outside an array, or a value that is not JSON): then only `JSON.stringify` can say, and
 * no incremental size may be built on it.
 */
export function stateBytes(state: ShadowState): number | undefined {
  let n = 1;
  let count = 0;
  for (const key of ['desired', 'reported'] as const) {
    const section = state[key];
    if (section === undefined) continue;
    if (!canonical(section)) return undefined;
    n += stringBytes(key) + 2 + jsonBytes(section);
    count++;
  }
  return count === 0 ? 2 : n;
}

// Canonical: an object of at least one key whose values are JSON, objects among them canonical too.
function canonical(o: JsonObject): boolean {
  let count = 0;
  for (const key in o) {
    count++;
    const v = o[key];
    if (isJsonObject(v)) {
      if (!canonical(v)) return false;
    } else if (!isJsonLeaf(v)) return false;
  }
  return count > 0;
}

function isJsonLeaf(v: unknown): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      return v !== null && Array.isArray(v) && v.every(isJson);
    default:
      return false;
  }
}

// Inside an array anything JSON goes, empty objects included (arrays are stored whole).
function isJson(v: unknown): boolean {
  if (!isJsonObject(v)) return isJsonLeaf(v) || v === null;
  for (const key in v) if (!isJson(v[key])) return false;
  return true;
}

/** Which keys of an object an update wrote: a nested object for a merge below the key, anything else for the whole key. */
export type Touched = JsonObject;

/**
 * How many bytes the serialized form of `next` differs from that of `old`, where `next` is `old`
 * after an update that wrote only the keys in `touched` (and `touched2`, when given), both
 * canonical. Costs O(what the update touched), plus the size of any subtree it replaced whole.
 */
export function objectDiff(old: JsonObject, next: JsonObject, touched: Touched, touched2?: Touched): number {
  let delta = 0; // an entry costs its key, colon, value and one comma (or the closing brace)
  for (const key in touched) delta += entryDiff(old, next, key, touched[key], touched2 !== undefined && hasOwn(touched2, key) ? touched2[key] : undefined);
  if (touched2 !== undefined) for (const key in touched2) if (!hasOwn(touched, key)) delta += entryDiff(old, next, key, undefined, touched2[key]);
  return delta;
}

function entryDiff(old: JsonObject, next: JsonObject, key: string, t: JsonValue | undefined, t2: JsonValue | undefined): number {
  const o = ownValue(old, key);
  const n = ownValue(next, key);
  if (o === n) return 0;
  if (o === undefined) return stringBytes(key) + 2 + jsonBytes(n as JsonValue);
  if (n === undefined) return -(stringBytes(key) + 2 + jsonBytes(o));
  if (isJsonObject(o) && isJsonObject(n) && (t === undefined || isJsonObject(t)) && (t2 === undefined || isJsonObject(t2))) {
    return t === undefined ? objectDiff(o, n, t2 as Touched) : objectDiff(o, n, t as Touched, t2 as Touched | undefined);
  }
  return jsonBytes(n) - jsonBytes(o);
}
