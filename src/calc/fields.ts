/**
 * Building blocks for the calculators' input schemas. Every field carries an upper bound so that
 * no valid input can overflow a product to Infinity, and zod 4's `z.number()` already refuses NaN
 * and ±Infinity.
 */
import { z } from 'zod';
import { limit } from './format.js';

/** Largest fleet (devices, assets) a calculator accepts. */
export const MAX_DEVICES = 1_000_000_000;
/** Largest money amount (USD) a calculator accepts in one field. */
export const MAX_USD = 1_000_000_000_000;
/** Largest duration (seconds) a calculator accepts in one field: one year. */
export const MAX_SECONDS = 31_536_000;

/** A whole count from `min` to `max`. */
export function countField(description: string, min = 1, max = MAX_DEVICES): z.ZodNumber {
  return z.number().int().min(min).max(max).describe(description);
}

/**
 * Smallest non-zero amount a field accepts. Anything smaller is noise in planning figures, and
 * refusing it keeps every ratio a calculator forms far from overflow.
 */
export const MIN_NONZERO = 1e-9;

/** A quantity of 0, or from {@link MIN_NONZERO} up to `max`. */
export function nonNegativeField(description: string, max: number): z.ZodNumber {
  return z
    .number()
    .min(0)
    .max(max)
    .refine((v) => v === 0 || v >= MIN_NONZERO, { message: `0 or a number from ${limit(MIN_NONZERO)} to ${limit(max)}` })
    .describe(description);
}

/**
 * A quantity from `min` (> 0, so that nothing divides by a vanishing number) to `max`.
 */
export function rangeField(description: string, min: number, max: number): z.ZodNumber {
  return z.number().min(min).max(max).describe(description);
}

/** A money amount in USD, ≥ 0. */
export function usdField(description: string, max = MAX_USD): z.ZodNumber {
  return nonNegativeField(description, max);
}

/**
 * A fraction from 0 to 1 (the CLI shows and accepts it as a percentage too). Only products are
 * formed with fractions, so tiny values are harmless and accepted.
 */
export function fractionField(description: string): z.ZodNumber {
  return z.number().min(0).max(1).describe(description);
}
