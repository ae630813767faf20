/**
 * Thing and shadow names, with AWS IoT's rules.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';

const NAME_CHARS = /^[a-zA-Z0-9:_-]+$/;

/** Maximum length of a thing (device) name. */
export const MAX_THING_NAME_LENGTH = 128;
/** Maximum length of a named shadow's name. */
export const MAX_SHADOW_NAME_LENGTH = 64;

/** A thing name: 1–128 characters of `[a-zA-Z0-9:_-]`. */
export const thingNameSchema: z.ZodString = z
  .string()
  .min(1)
  .max(MAX_THING_NAME_LENGTH)
  .regex(NAME_CHARS, 'only letters, digits, ":", "_" and "-" are allowed');

/** A named shadow's name: 1–64 characters of `[a-zA-Z0-9:_-]`. */
export const shadowNameSchema: z.ZodString = z
  .string()
  .min(1)
  .max(MAX_SHADOW_NAME_LENGTH)
  .regex(NAME_CHARS, 'only letters, digits, ":", "_" and "-" are allowed');

function check(kind: 'thing' | 'shadow', value: unknown, max: number): string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= max && NAME_CHARS.test(value)) return value;
  throw new FleetError('INVALID_NAME', `Invalid ${kind} name ${JSON.stringify(value)}: use 1–${max} characters of letters, digits, ":", "_" and "-"`, {
    status: 400,
    details: { kind, value: typeof value === 'string' ? value.slice(0, 200) : typeof value },
  });
}

/**
 * Returns `name` when it is a valid thing name.
 *
 * @throws FleetError `INVALID_NAME` (400) otherwise.
 */
export function assertThingName(name: unknown): string {
  return check('thing', name, MAX_THING_NAME_LENGTH);
}

/**
 * Returns `name` when it is a valid named-shadow name.
 *
 * @throws FleetError `INVALID_NAME` (400) otherwise.
 */
export function assertShadowName(name: unknown): string {
  return check('shadow', name, MAX_SHADOW_NAME_LENGTH);
}
