// Every export of the ESP32 adapter and the gateway module under hostile input: it returns, or it
// throws (or rejects with) a FleetError — never a TypeError of its own — and it never calls a
// value's conversion hooks. The same law test/robustness.test.ts applies to every entry point.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as esp32 from '../../src/device/esp32/index.js';
import * as gateway from '../../src/device/gateway.js';
import { isFleetError } from '../../src/errors.js';

class CallerError extends Error {
  override name = 'CallerError';
}
class ConversionHookCalled extends Error {
  override name = 'ConversionHookCalled';
}
const hook = (): never => {
  throw new ConversionHookCalled('a conversion hook was called');
};
const corpus: unknown[] = [
  undefined,
  null,
  0,
  -1,
  Number.NaN,
  'heartbeat',
  'ack',
  '',
  Symbol('s'),
  10n,
  [],
  [1, 'a'],
  {},
  () => 1,
  new Uint8Array([0x7b, 0x7d]),
  new Uint8Array([0xa1, 0x61, 0x61, 0x01]),
  { toString: hook, valueOf: hook, [Symbol.toPrimitive]: hook, toJSON: hook },
  new Proxy({}, { get: () => { throw new CallerError('trap'); }, has: () => { throw new CallerError('trap'); }, ownKeys: () => { throw new CallerError('trap'); }, getPrototypeOf: () => { throw new CallerError('trap'); } }),
  { ts: 1, seq: 1 },
  { deviceId: 'x', commandId: 'c', transport: {} },
];

interface Target {
  readonly name: string;
  readonly call: (args: readonly unknown[]) => unknown;
}
const isClass = (fn: Function): boolean => /^class[\s{]/.test(Function.prototype.toString.call(fn));
const targets: Target[] = [];
for (const [name, value] of [...Object.entries(esp32), ...Object.entries(gateway)]) {
  if (typeof value !== 'function') continue;
  if (isClass(value)) targets.push({ name: `new ${name}`, call: (args) => Reflect.construct(value, args) });
  else targets.push({ name, call: (args) => Reflect.apply(value, undefined, args) });
}

async function check(target: Target, args: readonly unknown[]): Promise<void> {
  let outcome: unknown;
  try {
    outcome = target.call(args);
    if (outcome instanceof Promise) outcome = await outcome;
  } catch (e) {
    if (isFleetError(e) || e instanceof CallerError) return;
    throw new Error(`${target.name}(${args.map((a) => typeof a).join(', ')}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

describe('ESP32 adapter and gateway exports under hostile input', () => {
  it('has targets', () => {
    expect(targets.map((t) => t.name)).toEqual(expect.arrayContaining(['parseEsp32', 'buildEsp32', 'encodeEsp32', 'decodeEsp32Payload', 'new GatewayConnection', 'new GatewayChild', 'filtersIntersect']));
  });

  it('a fixed corpus, 0 to 2 arguments: a value or a FleetError', async () => {
    for (const target of targets) {
      await check(target, []);
      for (const a of corpus) {
        await check(target, [a]);
        for (const b of corpus) await check(target, [a, b]);
      }
      for (const kind of esp32.ESP32_KINDS) for (const b of corpus) for (const c of corpus) await check(target, [kind, b, c]);
    }
  });

  it('arbitrary values, 0 to 3 arguments: a value or a FleetError (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.array(fc.anything({ withNullPrototype: true, withBigInt: true, withTypedArray: true }), { maxLength: 3 }), async (target, args) => check(target, args)),
      { numRuns: 500 },
    );
  });
});
