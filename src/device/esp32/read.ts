/**
 * @internal Lenient field readers for ESP32 messages: each field under its canonical name or one
 * of its variants, `null` read as absent, unknown fields ignored; wrong types, out-of-range values
 * and invalid ids or versions are `FleetError`s that say which field and what to send.
 */
import { describeValue } from '../../describe-value.js';
import { FleetError } from '../../errors.js';
import { checkJson, FORBIDDEN_KEYS, type JsonObject, type JsonValue } from '../../json.js';

/** The kinds of ESP32 message. */
export type Esp32Kind = 'heartbeat' | 'telemetry' | 'health' | 'shadow' | 'config' | 'command' | 'ack';

/** A plain object read from the wire. */
export type WireObject = Readonly<Record<string, unknown>>;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** Shown values are cut short: a message is for a human, not a dump. */
function shown(value: unknown): string {
  const s = describeValue(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The error for a malformed field (or message, when `field` is undefined). */
export function invalid(kind: Esp32Kind, field: string | undefined, why: string, code: 'INVALID_PAYLOAD' | 'INVALID_NAME' | 'INVALID_VERSION' | 'FORBIDDEN' = 'INVALID_PAYLOAD'): FleetError {
  const where = field === undefined ? '' : ` field "${field}"`;
  return new FleetError(code, `esp32 ${kind}:${where} ${why} (see docs/esp32-protocol.md)`, {
    status: code === 'FORBIDDEN' ? 403 : 400,
    details: { kind, ...(field === undefined ? {} : { field }) },
    captureStack: false,
  });
}

/** `value` as a plain object, or an error saying a message is a JSON object. */
export function objectOf(kind: Esp32Kind, value: unknown, field?: string): WireObject {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === Object.prototype || proto === null) return value as WireObject;
  }
  throw invalid(kind, field, `must be a JSON object ({ … }), got ${shown(value)}`);
}

/** The first of `names` present (and not null) in `o`, with the name it was found under. */
export function pick(o: WireObject, names: readonly string[]): { readonly name: string; readonly value: unknown } | undefined {
  for (const name of names) {
    if (hasOwn(o, name)) {
      const value = o[name];
      if (value !== null && value !== undefined) return { name, value };
    }
  }
  return undefined;
}

/** Range and integer constraints of a number field. */
export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** Multiply the value found under these variant names (e.g. seconds → ms). */
  readonly scale?: Readonly<Record<string, number>>;
}

/** A number field: absent → undefined; present but not a finite number in range → error. */
export function numberField(kind: Esp32Kind, o: WireObject, names: readonly string[], rule: NumberRule = {}): number | undefined {
  const found = pick(o, names);
  if (found === undefined) return undefined;
  const { name, value } = found;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(kind, name, `must be a finite number, got ${shown(value)}`);
  const factor = rule.scale?.[name] ?? 1;
  let n = value * factor;
  if (rule.integer === true) {
    if (factor === 1 && !Number.isInteger(n)) throw invalid(kind, name, `must be an integer, got ${shown(value)}`);
    n = Math.round(n);
  }
  n = n === 0 ? 0 : n; // -0 → 0
  if ((rule.min !== undefined && n < rule.min) || (rule.max !== undefined && n > rule.max)) {
    throw invalid(kind, name, `must be from ${rule.min ?? '-∞'} to ${rule.max ?? '∞'}${factor === 1 ? '' : ` after scaling by ${factor}`}, got ${shown(value)}`);
  }
  return n;
}

/** A strict version-like counter (`seq`, `configVersion`, shadow `version`): a non-negative integer; strings are refused. */
export function counterField(kind: Esp32Kind, o: WireObject, names: readonly string[], max: number, code: 'INVALID_PAYLOAD' | 'INVALID_VERSION'): number | undefined {
  const found = pick(o, names);
  if (found === undefined) return undefined;
  const { name, value } = found;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(kind, name, `must be an integer from 0 to ${max} (a number, not a string), got ${shown(value)}`, code);
  }
  return value === 0 ? 0 : value;
}

/** A string field of 1–`max` characters. */
export function stringField(kind: Esp32Kind, o: WireObject, names: readonly string[], max: number): string | undefined {
  const found = pick(o, names);
  if (found === undefined) return undefined;
  const { name, value } = found;
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw invalid(kind, name, `must be a string of 1–${max} characters, got ${shown(value)}`);
  return value;
}

/** An enum field: a name (any spelling in `spellings`, after {@link normalize}) or an index into `byIndex`. */
export function enumField<T>(kind: Esp32Kind, o: WireObject, names: readonly string[], spellings: ReadonlyMap<string, T>, byIndex: readonly T[], normalize: (s: string) => string, accepted: string): T | undefined {
  const found = pick(o, names);
  if (found === undefined) return undefined;
  const { name, value } = found;
  if (typeof value === 'string') {
    const hit = spellings.get(normalize(value));
    if (hit !== undefined) return hit;
  } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < byIndex.length) {
    return byIndex[value] as T;
  }
  throw invalid(kind, name, `must be one of ${accepted} (or its index 0–${byIndex.length - 1}), got ${shown(value)}`);
}

/** Epoch milliseconds: `ts`/`tsMs`/`timestampMs` in ms, `timestamp`/`time` in epoch seconds. */
export function timeField(kind: Esp32Kind, o: WireObject, fallback: number | undefined, msNames: readonly string[] = ['ts', 'tsMs', 'timestampMs'], sNames: readonly string[] = ['timestamp', 'time']): number {
  const scale: Record<string, number> = {};
  for (const n of sNames) scale[n] = 1000;
  const at = numberField(kind, o, [...msNames, ...sNames], { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, scale });
  if (at !== undefined) return at;
  if (fallback !== undefined) return fallback;
  throw invalid(kind, msNames[0], 'is missing: send the time in epoch ms as "ts" (or epoch seconds as "timestamp"), or pass receivedAt to the parser');
}

/** `value` as a JSON object (checked: JSON values only, no forbidden key), or an error naming `field`. */
export function jsonObjectField(kind: Esp32Kind, value: unknown, field: string): JsonObject {
  const o = objectOf(kind, value, field);
  const problem = checkJson(o, { maxDepth: 32 });
  if (problem !== undefined) throw invalid(kind, field, `must hold JSON values only: ${problem.message}`);
  return o as JsonObject;
}

/** `value` as a JSON value, or an error naming `field`. */
export function jsonValueField(kind: Esp32Kind, value: unknown, field: string): JsonValue {
  const problem = checkJson(value, { maxDepth: 32 });
  if (problem !== undefined) throw invalid(kind, field, `must be a JSON value: ${problem.message}`);
  return value as JsonValue;
}

/** A copy of `o` without `drop`, every other own key in order; rejects forbidden keys. */
export function without(kind: Esp32Kind, o: WireObject, drop: ReadonlySet<string>, field: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    if (drop.has(key)) continue;
    if (FORBIDDEN_KEYS.has(key)) throw invalid(kind, field, `must not contain the key "${key}"`);
    out[key] = o[key];
  }
  return out;
}
