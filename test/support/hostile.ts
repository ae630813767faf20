/**
 * Arguments that break code which coerces them to text or numbers (`String(x)`, template
 * literals, `JSON.stringify`, arithmetic), for focused argument-checking tests. fleetkit must
 * refuse each with a FleetError that describes it without running any of its code.
 */
import { expect } from 'vitest';
import { FleetError, isFleetError, type FleetErrorCode } from '../../src/errors.js';

/** Thrown by a conversion hook: seeing it means fleetkit ran code of an untrusted value. */
export class HookCalled extends Error {
  override name = 'HookCalled';
}

const hook = (): never => {
  throw new HookCalled('a conversion hook of an untrusted value was called');
};

/** A hostile value and how fleetkit's describer prints it in a message. */
export interface HostileValue {
  readonly label: string;
  readonly value: unknown;
  readonly shown: string;
}

/** Fresh hostile values (fresh each call, so no test sees another's mutations). */
export function hostileValues(): HostileValue[] {
  return [
    { label: 'a BigInt', value: 10n, shown: '10n' },
    { label: 'a Symbol', value: Symbol('s'), shown: 'Symbol(s)' },
    { label: 'a null-prototype object', value: Object.create(null) as unknown, shown: 'an object' },
    { label: 'an object whose toString is not callable', value: { toString: {} }, shown: 'an object' },
    { label: 'an object whose conversion hooks throw', value: { toString: hook, valueOf: hook, toJSON: hook, [Symbol.toPrimitive]: hook }, shown: 'an object' },
  ];
}

/** What `fn` throws (`undefined` when it returns). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** What `fn` throws, which must be a FleetError (of any code). */
export function thrownFleetError(fn: () => unknown): FleetError {
  const error = thrownBy(fn);
  if (!(error instanceof FleetError)) throw new Error(`expected a FleetError, got ${error === undefined ? 'no throw' : error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`);
  return error;
}

/** Asserts that `fn` throws a FleetError with `code` whose message contains every one of `parts`. */
export function expectFleetError(fn: () => unknown, code: FleetErrorCode, ...parts: string[]): FleetError {
  const error = thrownBy(fn);
  if (!isFleetError(error, code)) throw new Error(`expected a FleetError ${code}, got ${error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`);
  for (const part of parts) expect(error.message).toContain(part);
  return error;
}
