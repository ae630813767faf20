/**
 * Thing and shadow names, with AWS IoT's rules.
 */
import type { z } from 'zod';
import { FleetError } from '../errors.js';
import { assertName, nameSchema } from '../ids.js';
import { describeValue } from './arguments.js';

/** Maximum length of a thing (device) name. */
export const MAX_THING_NAME_LENGTH = 128;
/** Maximum length of a named shadow's name. */
export const MAX_SHADOW_NAME_LENGTH = 64;

/** A thing name: 1–128 characters of `[a-zA-Z0-9:_-]`. */
export const thingNameSchema: z.ZodString = nameSchema(MAX_THING_NAME_LENGTH);

/** A named shadow's name: 1–64 characters of `[a-zA-Z0-9:_-]`. */
export const shadowNameSchema: z.ZodString = nameSchema(MAX_SHADOW_NAME_LENGTH);

/**
 * Returns `name` when it is a valid thing name.
 *
 * @throws FleetError `INVALID_NAME` (400) otherwise.
 */
export function assertThingName(name: unknown): string {
  return assertName('thing name', stringOrThrow('thing name', name, MAX_THING_NAME_LENGTH), MAX_THING_NAME_LENGTH);
}

/**
 * Returns `name` when it is a valid named-shadow name.
 *
 * @throws FleetError `INVALID_NAME` (400) otherwise.
 */
export function assertShadowName(name: unknown): string {
  return assertName('shadow name', stringOrThrow('shadow name', name, MAX_SHADOW_NAME_LENGTH), MAX_SHADOW_NAME_LENGTH);
}

// Any value that is not a string is refused here, with a message that never needs to serialise it.
function stringOrThrow(kind: string, value: unknown, max: number): unknown {
  if (typeof value === 'string') return value;
  throw new FleetError('INVALID_NAME', `Invalid ${kind} (${describeValue(value)}): use 1–${max} characters of letters, digits, ":", "_" and "-"`, {
    status: 400,
    details: { kind, value: typeof value },
  });
}
