/**
 * Every public function under hostile input: it returns, or it throws (or returns, or rejects
 * with) a FleetError — never a TypeError, RangeError or any other exception of its own.
 *
 * The functions are not a hand list: every export of every entry point (`fleetkit` and each
 * subpath) is enumerated. A plain function is called; a class is constructed and each of its
 * static methods called; the function-valued members of exported plain objects (`jsonCodec`,
 * `systemClock`, `CONFLICT_RESOLVERS`) and of the entries of exported arrays (`calculators`) are
 * called too. zod schemas are not targets: their methods are zod's API (a `ZodError` is their
 * contract), and fleetkit wraps them wherever it validates.
 *
 * The law, for every target and every 0–3 arguments:
 * - a return value is fine; when it is a result carrying an `error`, that error is a FleetError;
 * - a promise must settle, and a rejection is a FleetError;
 * - a thrown exception is a FleetError, or the very exception the caller's own code raised (a
 *   getter or Proxy trap of an argument), passed through unchanged. fleetkit must never call a
 *   value's conversion hooks (`toString`, `valueOf`, `Symbol.toPrimitive`, `toJSON`) to build a
 *   message, so those throw a different error that is not allowed through.
 *
 * Part one calls every target with a fixed corpus (deterministic); part two is a fast-check
 * property over arbitrary values (a law for every input, so no run depends on what is drawn).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as calc from '../src/calc/index.js';
import * as cbor from '../src/cbor.js';
import { isFleetError } from '../src/errors.js';
import * as root from '../src/index.js';
import * as lifecycle from '../src/lifecycle/index.js';
import * as memory from '../src/memory.js';
import * as mqtt from '../src/mqtt.js';
import * as protocol from '../src/protocol/index.js';
import * as rollout from '../src/rollout/index.js';
import * as shadow from '../src/shadow/index.js';
import * as testing from '../src/testing/index.js';

const ENTRY_POINTS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  fleetkit: root,
  'fleetkit/shadow': shadow,
  'fleetkit/lifecycle': lifecycle,
  'fleetkit/rollout': rollout,
  'fleetkit/calc': calc,
  'fleetkit/protocol': protocol,
  'fleetkit/memory': memory,
  'fleetkit/mqtt': mqtt,
  'fleetkit/cbor': cbor,
  'fleetkit/testing': testing,
};

/** Targets that are not called, each with the reason. */
const SKIPPED: Readonly<Record<string, string>> = {
  transportContract: 'a contract-suite registrar: it registers vitest describe/it blocks, which must not run inside a test',
  shadowStoreContract: 'a contract-suite registrar (as transportContract)',
  deviceStoreContract: 'a contract-suite registrar (as transportContract)',
  jobStoreContract: 'a contract-suite registrar (as transportContract)',
  commandStoreContract: 'a contract-suite registrar (as transportContract)',
  auditLogContract: 'a contract-suite registrar (as transportContract)',
  presenceStoreContract: 'a contract-suite registrar (as transportContract)',
  waitUntil: 'its contract is to call the caller\'s predicate on real timers until it holds',
  'systemClock.setTimeout': 'its contract is to call the caller\'s callback on the real event loop',
};

/**
 * Failures in code being fixed in parallel elsewhere (src/shadow, src/rollout, src/transport,
 * src/protocol/codec.ts, and the CBOR codec): target name → what fails. Empty it as those land.
 */
const KNOWN_ELSEWHERE: Readonly<Record<string, string>> = {};

// ---------------------------------------------------------------------------------------------
// Enumerating the targets

interface Target {
  readonly name: string;
  readonly call: (args: readonly unknown[]) => unknown;
}

function isClass(fn: Function): boolean {
  return /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

function isZodSchema(value: object): boolean {
  return '_zod' in value || 'safeParse' in value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return (proto === Object.prototype || proto === null) && !isZodSchema(value);
}

function methodsOf(owner: string, value: Record<string, unknown>): Target[] {
  return Object.entries(value)
    .filter((entry): entry is [string, Function] => typeof entry[1] === 'function')
    .map(([key, fn]) => ({ name: `${owner}.${key}`, call: (args) => Reflect.apply(fn, value, args) }));
}

function collectTargets(): Target[] {
  const seen = new Set<unknown>();
  const targets: Target[] = [];
  for (const exports of Object.values(ENTRY_POINTS)) {
    for (const [name, value] of Object.entries(exports)) {
      if (seen.has(value)) continue;
      seen.add(value);
      if (typeof value === 'function') {
        if (!isClass(value)) {
          targets.push({ name, call: (args) => Reflect.apply(value, undefined, args) });
          continue;
        }
        targets.push({ name: `new ${name}`, call: (args) => Reflect.construct(value, args) });
        for (const key of Object.getOwnPropertyNames(value)) {
          const member: unknown = (value as unknown as Record<string, unknown>)[key];
          if (typeof member === 'function' && key !== 'prototype') targets.push({ name: `${name}.${key}`, call: (args) => Reflect.apply(member, value, args) });
        }
      } else if (Array.isArray(value)) {
        value.forEach((entry: unknown, i) => {
          if (isPlainObject(entry)) targets.push(...methodsOf(`${name}[${i}]`, entry));
        });
      } else if (isPlainObject(value)) {
        targets.push(...methodsOf(name, value));
      }
    }
  }
  return targets;
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** What the caller's own code (a getter, a Proxy trap, a callback) throws: it may pass through. */
class CallerError extends Error {
  override name = 'CallerError';
}
/** Thrown by conversion hooks, which fleetkit must never call on untrusted input. */
class ConversionHookCalled extends Error {
  override name = 'ConversionHookCalled';
}

const callerThrows = (): never => {
  throw new CallerError('thrown by the caller\'s own code');
};
const hookThrows = (): never => {
  throw new ConversionHookCalled('a conversion hook of an untrusted value was called');
};

const TRAPS: ProxyHandler<object> = {
  get: callerThrows,
  set: callerThrows,
  has: callerThrows,
  ownKeys: callerThrows,
  getOwnPropertyDescriptor: callerThrows,
  defineProperty: callerThrows,
  deleteProperty: callerThrows,
  getPrototypeOf: callerThrows,
  setPrototypeOf: callerThrows,
  isExtensible: callerThrows,
  preventExtensions: callerThrows,
  apply: callerThrows,
  construct: callerThrows,
};

function withThrowingGetters(base: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const key of keys) Object.defineProperty(out, key, { get: callerThrows, enumerable: true, configurable: true });
  return out;
}

const conversionTrap = { toString: hookThrows, valueOf: hookThrows, toJSON: hookThrows, [Symbol.toPrimitive]: hookThrows };

/** Names fleetkit's inputs use, so that generated objects get past the first check more often. */
const FIELD_NAMES = [
  'deviceId', 'tenantId', 'thingName', 'shadowName', 'state', 'since', 'updatedAt', 'type', 'event', 'now', 'at', 'name', 'kind',
  'operation', 'response', 'commandId', 'jobId', 'id', 'version', 'clientToken', 'desired', 'reported', 'delta', 'metadata',
  'timestamp', 'policy', 'owner', 'limits', 'devices', 'stages', 'firmware', 'status', 'serial', 'groupId', 'key', 'reason',
  'actor', 'within', 'records', 'certificate', 'ca', 'cas', 'revoked', 'template', 'parameters', 'clock', 'seed', 'maxBytes',
  'maxDepth', 'clientId', 'broker', 'url', 'qos', 'retain', 'percent', 'count', 'cohort', 'checks', 'bootedAt', 'base', 'local',
  'remote', 'current', 'previous', 'options', 'value', 'values', 'ts', 'samples', 'thresholds', 'lastSeen', 'interval', 'table',
  'groups', 'seenNonces', 'existing', 'identity', 'notAfter', 'replayWindowMs', 'params', 'defaults', 'registrationId', 'nonce',
];

const HUGE_ASCII = 'x'.repeat(70_000);
const HUGE_UTF8 = '\u00e9'.repeat(600_000);

/**
 * A hostile value is generated as a recipe and made only when the target is called: fast-check
 * inspects and prints the values it generates, and a throwing Proxy would break that.
 */
class Recipe {
  constructor(
    readonly label: string,
    readonly make: () => unknown,
  ) {}
  [fc.toStringMethod](): string {
    return `<${this.label}>`;
  }
}

/** A fresh copy of a generated value with every recipe in it made (plain objects and arrays are copied; holes and null prototypes are kept). */
function materialize(value: unknown, depth = 0): unknown {
  if (value instanceof Recipe) return value.make();
  if (typeof value !== 'object' || value === null || depth > 8) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = new Array<unknown>(value.length);
    for (const key of Object.keys(value)) out[Number(key)] = materialize((value as unknown[])[Number(key)], depth + 1);
    return out;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out = Object.create(proto as object | null) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    // defineProperty, not assignment: an own "__proto__" key must stay an own key.
    Object.defineProperty(out, key, { value: materialize((value as Record<string, unknown>)[key], depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The fixed corpus: each value breaks naive code in its own way. */
const FIXED: readonly Recipe[] = [
  new Recipe('a BigInt', () => 10n),
  new Recipe('a Symbol', () => Symbol('hostile')),
  new Recipe('a null-prototype object', () => Object.create(null) as unknown),
  new Recipe('an object whose toString is not callable', () => ({ toString: {} })),
  new Recipe('an object whose conversion hooks throw', () => ({ ...conversionTrap })),
  new Recipe('a Proxy whose every trap throws', () => new Proxy({}, TRAPS)),
  new Recipe('a Proxy of an array whose every trap throws', () => new Proxy([], TRAPS)),
  new Recipe('a Proxy of a function whose every trap throws', () => new Proxy(() => undefined, TRAPS)),
  new Recipe('an object with throwing getters', () => withThrowingGetters({}, FIELD_NAMES)),
  new Recipe('a function that throws', () => callerThrows),
  new Recipe('a huge ASCII string', () => HUGE_ASCII),
  new Recipe('a huge non-ASCII string', () => HUGE_UTF8),
  new Recipe('a lone surrogate', () => '\ud800'),
  new Recipe('NaN', () => Number.NaN),
  new Recipe('-Infinity', () => -Infinity),
  new Recipe('1e300', () => 1e300),
  new Recipe('-0', () => -0),
  new Recipe('null', () => null),
  new Recipe('undefined', () => undefined),
  new Recipe('a boxed string', () => new String('x')),
  new Recipe('an array holding null', () => [null]),
  new Recipe('a sparse array', () => [, 1] as unknown),
  new Recipe('a Map', () => new Map([['a', 1]])),
  new Recipe('an invalid Date', () => new Date(Number.NaN)),
  new Recipe('a Uint8Array', () => new Uint8Array([0xff, 0x00])),
];

/** Well-formed fleetkit values, so that calls get past the first check and reach deeper code. */
const DOMAIN: readonly Recipe[] = [
  new Recipe('DEFAULT_TRANSITION_TABLE', () => lifecycle.DEFAULT_TRANSITION_TABLE),
  new Recipe('a revocation list', () => lifecycle.createRevocationList()),
  new Recipe('a CA registry', () => lifecycle.createCaRegistry([])),
  new Recipe('a template', () => lifecycle.defineProvisioningTemplate({ name: 't' })),
  new Recipe('enrollment groups', () => lifecycle.createEnrollmentGroups([{ groupId: 'g', key: Buffer.alloc(32, 1).toString('base64'), tenantId: 't' }])),
  new Recipe('a device snapshot', () => lifecycle.createDeviceSnapshot({ deviceId: 'd', tenantId: 't', now: 1 })),
  new Recipe('a nonce ledger', () => new Map<string, number>()),
  new Recipe('a FleetError', () => new root.FleetError('INVALID_ARGUMENT', 'x')),
];

const leaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', 'd', 't', 'x/y', '+', '#', '$SYS', 'active', 'update', 'telemetry', 'provisioning-cost', '__proto__', 'constructor'),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, 1, -1, 1e12, Number.MAX_SAFE_INTEGER + 2, Number.NaN, Infinity),
  fc.boolean(),
  fc.constantFrom(null, undefined),
  fc.bigInt(),
  fc.string({ maxLength: 4 }).map((d) => Symbol(d)),
  fc.constantFrom(...FIXED),
  fc.constantFrom(...DOMAIN),
);

const generated: fc.Arbitrary<unknown> = fc.anything({
  key: fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 6 })),
  values: [leaf],
  maxDepth: 3,
  maxKeys: 5,
  withBigInt: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withDate: true,
  withNullPrototype: true,
  withSparseArray: true,
  withTypedArray: true,
});

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: generated },
  { weight: 1, arbitrary: leaf },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.dictionary(fc.constantFrom(...FIELD_NAMES), leaf, { maxKeys: 4 }), fc.subarray(FIELD_NAMES, { minLength: 1, maxLength: 3 }))
      .map(([base, keys]) => new Recipe(`throwing getters for ${keys.join(', ')} on ${fc.stringify(base)}`, () => withThrowingGetters(materialize(base) as Record<string, unknown>, keys))),
  },
  {
    weight: 1,
    arbitrary: generated
      .filter((value) => typeof value === 'object' && value !== null && !(value instanceof Recipe))
      .map((value) => new Recipe(`a throwing Proxy of ${fc.stringify(value)}`, () => new Proxy(materialize(value) as object, TRAPS))),
  },
);

// ---------------------------------------------------------------------------------------------
// The law

const SETTLE_MS = 2_000;
/** Random calls per target; raise it (ROBUSTNESS_RUNS=2000) to hunt for rare failures. */
const RUNS = Number(process.env['ROBUSTNESS_RUNS'] ?? 60);

function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message.slice(0, 300)}`;
  return `a thrown ${typeof error}`;
}

function describeArg(value: unknown): string {
  const text = fc.stringify(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** `undefined` when the outcome obeys the law, else what went wrong. */
function thrownProblem(error: unknown, how: 'threw' | 'rejected with'): string | undefined {
  if (isFleetError(error) || error instanceof CallerError) return undefined;
  return `${how} ${describeError(error)}`;
}

function returnedProblem(value: unknown, args: readonly unknown[]): string | undefined {
  if (typeof value !== 'object' || value === null || args.includes(value) || !Object.prototype.hasOwnProperty.call(value, 'error')) return undefined;
  const error = (value as { error?: unknown }).error;
  if (error === undefined || isFleetError(error)) return undefined;
  return `returned an error that is not a FleetError: ${describeError(error)}`;
}

async function problemOf(target: Target, args: readonly unknown[]): Promise<string | undefined> {
  let value: unknown;
  try {
    value = target.call(args);
  } catch (error) {
    return thrownProblem(error, 'threw');
  }
  if (typeof value === 'object' && value !== null && !args.includes(value) && typeof (value as { then?: unknown }).then === 'function') {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SETTLE_MS);
    });
    try {
      const settled = await Promise.race([Promise.resolve(value).then((v) => ({ v })), timeout]);
      if (settled === 'timeout') return `returned a promise that did not settle within ${SETTLE_MS} ms`;
      return returnedProblem(settled.v, args);
    } catch (error) {
      return thrownProblem(error, 'rejected with');
    } finally {
      clearTimeout(timer);
    }
  }
  return returnedProblem(value, args);
}

/** The fixed argument lists: each corpus value alone, and in the 2nd and 3rd position after plain strings. */
function fixedArgLists(): { label: string; args: () => unknown[] }[] {
  const lists: { label: string; args: () => unknown[] }[] = [{ label: '()', args: () => [] }];
  for (const { label, make } of FIXED) {
    lists.push({ label: `(${label})`, args: () => [make()] });
    lists.push({ label: `("d", ${label})`, args: () => ['d', make()] });
    lists.push({ label: `("t", "d", ${label})`, args: () => ['t', 'd', make()] });
  }
  return lists;
}

// ---------------------------------------------------------------------------------------------

const targets = collectTargets();
const names = new Set(targets.map((t) => t.name));

describe('robustness: the enumeration', () => {
  it('finds the functions, classes and methods of every entry point', () => {
    // A sample from each kind of export, so that a broken enumeration cannot pass silently.
    for (const name of ['transition', 'runCalculator', 'safeParseTopic', 'new MemoryBroker', 'new FleetError', 'jsonCodec.decode', 'cborCodec.encode', 'calculators[0].calculate', 'CONFLICT_RESOLVERS.newest-wins', 'new MqttTransport', 'shadowLeaf']) {
      expect(names.has(name), `${name} is not enumerated`).toBe(true);
    }
    expect(targets.length).toBeGreaterThan(130);
  });

  it('skips and known failures name real targets', () => {
    for (const name of [...Object.keys(SKIPPED), ...Object.keys(KNOWN_ELSEWHERE)]) expect(names.has(name), `${name} is not a target`).toBe(true);
  });
});

describe('robustness: every exported function returns or answers with a FleetError', () => {
  for (const target of targets) {
    const skip = SKIPPED[target.name] ?? (KNOWN_ELSEWHERE[target.name] === undefined ? undefined : `KNOWN_ELSEWHERE: ${KNOWN_ELSEWHERE[target.name]}`);
    if (skip !== undefined) {
      it.skip(`${target.name} (${skip})`, () => undefined);
      continue;
    }
    it(`${target.name}`, async () => {
      const problems: string[] = [];
      for (const { label, args } of fixedArgLists()) {
        const problem = await problemOf(target, args());
        if (problem !== undefined) problems.push(`${target.name}${label} ${problem}`);
      }
      if (problems.length > 0) throw new Error(`${problems.length} calls broke the law:\n${problems.slice(0, 8).join('\n')}`);
      await fc.assert(
        fc.asyncProperty(fc.array(hostile, { maxLength: 3 }), async (recipes) => {
          const args = recipes.map((r) => materialize(r));
          const problem = await problemOf(target, args);
          if (problem !== undefined) throw new Error(`${target.name}(${recipes.map(describeArg).join(', ')}) ${problem}`);
        }),
        { numRuns: RUNS },
      );
    });
  }
});
