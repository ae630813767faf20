/**
 * Checks of the option objects the transport constructors and factories take. They run once, at
 * construction, never per message, and describe a bad value without running any of its code.
 */
import type { Clock } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** @internal The `INVALID_ARGUMENT` error of `api` (the message starts with `api: `). */
export function invalidOption(api: string, message: string): FleetError {
  return new FleetError('INVALID_ARGUMENT', `${api}: ${message}`, { status: 400 });
}

/**
 * @internal `options` when it is a (non-array) object, `{}` when it is omitted (unless
 * `required`); anything else is refused with a message naming `call` (e.g.
 * `"new MemoryBroker(options)"`) and showing `example`.
 */
export function optionsObject<T extends object>(call: string, options: unknown, example: string, required = false): Partial<T> {
  if (options === undefined && !required) return {};
  if (typeof options === 'object' && options !== null && !Array.isArray(options)) return options as Partial<T>;
  throw invalidOption(call, `options must be an object such as ${example}${required ? '' : ' (or omitted for the defaults)'}, got ${describeValue(options)}`);
}

/** @internal `clock`, or `fallback` when it is omitted; refuses anything without `now`, `setTimeout` and `clearTimeout`. */
export function clockOption(api: string, clock: unknown, fallback: Clock): Clock {
  if (clock === undefined) return fallback;
  if (typeof clock === 'object' && clock !== null) {
    const c = clock as { now?: unknown; setTimeout?: unknown; clearTimeout?: unknown };
    if (typeof c.now === 'function' && typeof c.setTimeout === 'function' && typeof c.clearTimeout === 'function') return clock as Clock;
  }
  throw invalidOption(api, `clock must be a Clock { now(), setTimeout(fn, ms), clearTimeout(handle) } such as systemClock or a SimulatedClock, got ${describeValue(clock)}`);
}

/** @internal `value`, or `fallback` when it is omitted; refuses anything but a boolean. */
export function booleanOption(api: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw invalidOption(api, `${name} must be true or false, got ${describeValue(value)}`);
}
