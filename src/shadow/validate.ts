/**
 * Validation of shadow requests with AWS's exact rejection messages. Hand-written rather than
 * driven by the zod schemas because each failure must map to one specific AWS message and the
 * update path is hot; `test/shadow/schemas.test.ts` checks that both agree.
 */
import type { FleetError } from '../errors.js';
import { FORBIDDEN_KEYS, forbiddenKey, isJsonObject, utf8ByteLength, type JsonObject, type JsonValue } from '../json.js';
import type { ResolvedShadowLimits } from './limits.js';
import { AWS_MESSAGES, shadowError } from './rejections.js';

/**
 * The largest request `timestamp` (epoch seconds): the last second a JavaScript `Date` can hold
 * (8.64e15 ms). NaN, ±Infinity, negative values and anything later are refused, so a broken
 * device clock cannot win every `newest-wins` comparison with an impossible time.
 */
export const MAX_OBSERVED_AT = 8_640_000_000_000;

/** A validated update request. */
export interface ValidatedUpdate {
  /** `null` clears all state. */
  readonly state: { readonly desired?: JsonObject | null; readonly reported?: JsonObject | null } | null;
  readonly clientToken: string | undefined;
  readonly version: number | undefined;
  /** fleetkit extension: when the device observed the reported values (epoch seconds), used by `newest-wins`. */
  readonly observedAt: number | undefined;
}

/** The request's clientToken when it is valid, else `undefined` (never throws). */
export function readClientToken(request: unknown, limits: ResolvedShadowLimits): string | undefined {
  if (!isJsonObject(request)) return undefined;
  try {
    const token: unknown = request['clientToken'];
    return typeof token === 'string' && validToken(token, limits) ? token : undefined;
  } catch {
    return undefined;
  }
}

function validToken(token: string, limits: ResolvedShadowLimits): boolean {
  return token.length <= limits.maxClientTokenBytes && utf8ByteLength(token) <= limits.maxClientTokenBytes;
}

function tooDeep(limits: ResolvedShadowLimits, path: string): FleetError {
  return shadowError('TOO_DEEP', 400, `JSON contains too many levels of nesting; maximum is ${limits.maxDepth}`, `flatten the document at ${path}`, { path });
}

/** Validates optional `version` and `clientToken` fields shared by update, get and delete. */
export function validateCommon(request: JsonObject, limits: ResolvedShadowLimits): { version: number | undefined; clientToken: string | undefined } {
  const version = request['version'];
  if (version !== undefined && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0)) {
    throw shadowError('INVALID_VERSION', 400, AWS_MESSAGES.invalidVersion, 'version must be a whole number ≥ 0 (the last version you saw)');
  }
  const token = request['clientToken'];
  if (token !== undefined && (typeof token !== 'string' || !validToken(token, limits))) {
    throw shadowError('INVALID_CLIENT_TOKEN', 400, AWS_MESSAGES.invalidClientToken, `clientToken must be a string of at most ${limits.maxClientTokenBytes} bytes`);
  }
  return { version, clientToken: token };
}

/**
 * Validates an update request.
 *
 * @throws FleetError with AWS's status and message.
 */
export function validateUpdate(request: unknown, limits: ResolvedShadowLimits): ValidatedUpdate {
  if (!isJsonObject(request)) {
    throw shadowError('INVALID_JSON', 400, AWS_MESSAGES.invalidJson, 'the request must be a JSON object such as {"state":{"reported":{…}}}');
  }
  if (!('state' in request)) {
    throw shadowError('INVALID_REQUEST', 400, AWS_MESSAGES.missingState, 'wrap desired/reported in {"state": {…}}');
  }
  const rawState = request['state'];
  if (rawState !== null && !isJsonObject(rawState)) {
    throw shadowError('INVALID_REQUEST', 400, AWS_MESSAGES.stateNotObject, 'state must be an object with desired and/or reported, or null');
  }
  const state = rawState === null ? null : validateState(rawState, limits);
  const { version, clientToken } = validateCommon(request, limits);
  const observed = request['timestamp'];
  if (observed !== undefined && !(typeof observed === 'number' && observed >= 0 && observed <= MAX_OBSERVED_AT)) {
    throw shadowError(
      'INVALID_REQUEST',
      400,
      AWS_MESSAGES.invalidJson,
      `timestamp, when given, must be the epoch seconds at which the device observed its state: a finite number from 0 to ${MAX_OBSERVED_AT} (the Date range), got ${typeof observed === 'number' ? String(observed) : typeof observed}`,
      { field: 'timestamp' },
    );
  }
  return { state, clientToken, version, observedAt: observed };
}

function validateState(state: JsonObject, limits: ResolvedShadowLimits): { desired?: JsonObject | null; reported?: JsonObject | null } {
  const out: { desired?: JsonObject | null; reported?: JsonObject | null } = {};
  for (const key in state) {
    if (key === 'delta') continue; // tolerated and dropped, as AWS does
    if (key !== 'desired' && key !== 'reported') {
      throw shadowError('INVALID_REQUEST', 400, AWS_MESSAGES.invalidStateNode, `state may only hold "desired" and "reported", not "${key}"`, { key });
    }
    const section = state[key] as JsonValue;
    if (section !== null && !isJsonObject(section)) {
      const msg = key === 'desired' ? AWS_MESSAGES.desiredNotObject : AWS_MESSAGES.reportedNotObject;
      throw shadowError('INVALID_REQUEST', 400, msg, `${key} must be an object of properties, or null to delete it`);
    }
    if (section !== null) checkSection(section, 1, `state.${key}`, limits, false);
    out[key] = section;
  }
  return out;
}

// One walk per section checks everything the engine needs: JSON values only, no forbidden keys,
// the depth limit (the section object is level 1; each nested non-empty container adds one), no
// null inside arrays (arrays are stored whole, and null means "delete").
function checkSection(value: JsonObject | JsonValue[], level: number, path: string, limits: ResolvedShadowLimits, inArray: boolean): void {
  if (level > limits.maxDepth) throw tooDeep(limits, path);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw invalidJson(`${path}[${i}]`, 'sparse arrays are not JSON');
      checkChild(value[i] as JsonValue, level, path, i, limits, true);
    }
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) throw invalidJson(path, 'only plain objects are JSON (got a class instance)');
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key)) throw shadowError('FORBIDDEN_KEY', 400, forbiddenKey(key, path).message, '', { key, path });
    checkChild(value[key] as JsonValue, level, path, key, limits, inArray);
  }
}

function checkChild(v: JsonValue, level: number, parent: string, key: string | number, limits: ResolvedShadowLimits, inArray: boolean): void {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(v)) throw invalidJson(childPath(parent, key), `${String(v)} is not a JSON number`);
      return;
    case 'object':
      break;
    default:
      throw invalidJson(childPath(parent, key), `a ${typeof v} is not a JSON value`);
  }
  if (v === null) {
    if (!inArray) return;
    const path = childPath(parent, key);
    throw shadowError('INVALID_REQUEST', 400, AWS_MESSAGES.invalidJson, `null is not allowed inside an array (at ${path}); arrays are replaced whole, so send the array without it`, { path });
  }
  const empty = Array.isArray(v) ? v.length === 0 : isEmptyObject(v);
  if (!empty) checkSection(v, level + 1, childPath(parent, key), limits, inArray);
}

function childPath(parent: string, key: string | number): string {
  return typeof key === 'number' ? `${parent}[${key}]` : `${parent}.${key}`;
}

function invalidJson(path: string, why: string): FleetError {
  return shadowError('INVALID_JSON', 400, AWS_MESSAGES.invalidJson, `at ${path}: ${why}`, { path });
}

/** True for `{}`. */
export function isEmptyObject(value: JsonObject): boolean {
  for (const _ in value) return false;
  return true;
}
