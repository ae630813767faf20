/**
 * Per-property acknowledgement of writable properties (the Azure IoT Plug and Play convention):
 * the device reports `{ value, ac, av, ad }` for a desired property, so an application sees each
 * property accepted or rejected, not only "still in the delta".
 */
import { checkJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../json.js';
import { argumentError, checkDocument, checkOptional, describeValue } from './arguments.js';
import type { MetadataNode, MetadataObject, ShadowDocument } from './types.js';

/**
 * A reported acknowledgement envelope. A type alias, not an interface extending `JsonObject`: an
 * object type with optional members is a `JsonValue` whether or not the consumer compiles with
 * `exactOptionalPropertyTypes`, where an interface with an index signature is not.
 */
export type PropertyAck = {
  /** The value the device now runs with. */
  value: JsonValue;
  /** Status code: 2xx accepted, 4xx/5xx rejected (HTTP-like), 202 still working. */
  ac: number;
  /** The shadow version the device acknowledged (the delta's `version`). */
  av?: number;
  /** A human description. */
  ad?: string;
};

/** True for a `{ value, ac, av?, ad? }` envelope (false for anything else, never throws). */
export function isPropertyAck(value: JsonValue | undefined): value is PropertyAck {
  if (!isJsonObject(value) || !('value' in value) || typeof value['ac'] !== 'number') return false;
  for (const key in value) if (key !== 'value' && key !== 'ac' && key !== 'av' && key !== 'ad') return false;
  return true;
}

/** The value an envelope stands for; anything else unchanged (never throws). Pass as the delta's unwrapper. */
export function unwrapAck(reported: JsonValue): JsonValue {
  return isPropertyAck(reported) ? reported.value : reported;
}

/**
 * Builds the envelope a device reports for a desired property.
 *
 * @throws FleetError `INVALID_ARGUMENT` (status 400) when `value` is not JSON, `options.version`
 *   is not a whole number ≥ 0, `options.code` is not a whole number from 100 to 599 or
 *   `options.description` is not a string.
 *
 * @example
 * ```ts
 * // device side: accept targetTemp 21 from the delta of version 7
 * update({ state: { reported: { targetTemp: ackProperty(21, { code: 200, version: 7 }) } } });
 * ```
 */
export function ackProperty(value: JsonValue, options: { code?: number; version: number; description?: string }): PropertyAck {
  const fn = 'ackProperty';
  const problem = checkJson(value);
  if (problem !== undefined) throw argumentError(fn, `value must be JSON: ${problem.message}`, 400);
  if (typeof options !== 'object' || options === null) throw argumentError(fn, `pass options { version, code?, description? }, got ${describeValue(options)}`, 400);
  const { code, version, description } = options;
  if (!Number.isSafeInteger(version) || version < 0) throw argumentError(fn, `options.version must be the whole-number version of the delta you answer, got ${describeValue(version)}`, 400);
  if (code !== undefined && !(Number.isInteger(code) && code >= 100 && code <= 599)) throw argumentError(fn, `options.code must be a status from 100 to 599, got ${describeValue(code)}`, 400);
  checkOptional(fn, 'options.description', description, 'string', 400);
  return { value, ac: code ?? 200, av: version, ad: description ?? (code === undefined || code < 300 ? 'completed' : 'rejected') };
}

/** The acknowledgement state of one desired property. */
export interface PropertyAckStatus {
  /** Path below `desired`. */
  readonly path: readonly string[];
  /** The desired value. */
  readonly desired: JsonValue;
  /** `accepted`: the device runs the desired value; `rejected`: it refused it with a 4xx/5xx reported at or after the desired write; `pending`: no answer yet. */
  readonly status: 'accepted' | 'rejected' | 'pending';
  /** The reported value (unwrapped), if any. */
  readonly reported?: JsonValue;
  /** The envelope's `ac`, `av` and `ad`, when the device sent one. */
  readonly ack?: { readonly code: number; readonly version?: number; readonly description?: string };
}

function ts(meta: MetadataNode | undefined): number {
  if (typeof meta !== 'object' || meta === null) return 0;
  const t = (meta as { timestamp?: unknown }).timestamp;
  if (typeof t === 'number') return t;
  let max = 0;
  for (const v of Array.isArray(meta) ? meta : Object.values(meta)) max = Math.max(max, ts(v));
  return max;
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);
const own = <T>(o: unknown, key: string): T | undefined => (isJsonObject(o) && hasOwn(o, key) ? (o[key] as T) : undefined);

/**
 * The acknowledgement state of every desired property of a document. A rejection counts only
 * when it was reported at or after the desired value was written; an older one leaves the
 * property `pending`.
 *
 * @throws FleetError `INVALID_ARGUMENT` (status 400) when `document` is not a stored document
 *   `{ state, metadata, version }`.
 */
export function propertyAcks(document: ShadowDocument): PropertyAckStatus[] {
  checkDocument('propertyAcks', document, 400);
  const out: PropertyAckStatus[] = [];
  const { desired, reported } = document.state;
  if (desired !== undefined) walk(desired, document.metadata.desired ?? {}, reported, document.metadata.reported, [], out);
  return out;
}

function walk(d: JsonObject, dm: MetadataObject | undefined, r: JsonObject | undefined, rm: MetadataObject | undefined, path: string[], out: PropertyAckStatus[]): void {
  for (const key in d) {
    const dv = d[key] as JsonValue;
    const raw = own<JsonValue>(r, key);
    const here = [...path, key];
    if (isPropertyAck(raw)) {
      // The device runs the desired value: accepted, whatever code came with it (a 400 for an older value, say).
      const accepted = jsonEqual(dv, raw.value);
      const rejected = raw.ac >= 400 && ts(own(own(rm, key), 'ac')) >= ts(own(dm, key));
      const ack: { code: number; version?: number; description?: string } = { code: raw.ac };
      if (typeof raw.av === 'number') ack.version = raw.av;
      if (typeof raw.ad === 'string') ack.description = raw.ad;
      out.push({ path: here, desired: dv, status: accepted ? 'accepted' : rejected ? 'rejected' : 'pending', reported: raw.value, ack });
    } else if (isJsonObject(dv) && (raw === undefined || isJsonObject(raw))) {
      walk(dv, own(dm, key), raw, own(rm, key), here, out);
    } else if (raw === undefined) {
      out.push({ path: here, desired: dv, status: 'pending' });
    } else {
      out.push({ path: here, desired: dv, status: jsonEqual(dv, raw) ? 'accepted' : 'pending', reported: raw });
    }
  }
}
