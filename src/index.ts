/**
 * fleetkit: the production parts of an IoT fleet backend — AWS-compatible device shadows, the
 * device lifecycle, zero-touch provisioning, staged OTA rollouts and planning calculators — as a
 * pure core with transports, stores and services at the rim.
 *
 * @module
 */
export { FleetError, isFleetError } from './errors.js';
export type { FleetErrorCode, FleetErrorOptions, Result } from './errors.js';
export { SimulatedClock, systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { FORBIDDEN_KEYS, checkJson, cloneJson, isJsonObject, jsonEqual, parseJson, utf8ByteLength } from './json.js';
export type { JsonArray, JsonLimits, JsonObject, JsonPrimitive, JsonValue } from './json.js';
