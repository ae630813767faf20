// Every function exported from src/shadow/index.ts, called with hostile and near-valid arguments,
// keeps its contract: result APIs return { ok: false, error: FleetError } and never throw; the others
// return or throw a FleetError (never a TypeError); predicates never throw. The list of functions
// comes from the module itself, so a new export without a contract fails the first test.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FleetError, isFleetError } from '../../src/errors.js';
import * as shadow from '../../src/shadow/index.js';
import { runs } from './runs.js';

type Contract = 'result' | 'throws' | 'total';
const CONTRACTS: Record<string, Contract> = {
  applyShadowUpdate: 'result',
  getShadow: 'result',
  deleteShadow: 'result',
  getShadowResponse: 'throws',
  propertyAcks: 'throws',
  reconcileShadow: 'throws',
  computeDelta: 'throws',
  computeDeltaWithMetadata: 'throws',
  ackProperty: 'throws',
  rejectedPayload: 'throws',
  assertThingName: 'throws',
  assertShadowName: 'throws',
  'CONFLICT_RESOLVERS.cloud-wins': 'throws',
  'CONFLICT_RESOLVERS.device-wins': 'throws',
  'CONFLICT_RESOLVERS.newest-wins': 'throws',
  'CONFLICT_RESOLVERS.clear-when-met': 'throws',
  isTombstone: 'total',
  isPropertyAck: 'total',
  unwrapAck: 'total',
};

const isZodSchema = (v: unknown): boolean => typeof v === 'object' && v !== null && typeof (v as { safeParse?: unknown }).safeParse === 'function';

/** Every callable the module exports: its functions, and the functions held by its plain exported objects. */
function callables(): Array<[string, (...args: unknown[]) => unknown]> {
  const out: Array<[string, (...args: unknown[]) => unknown]> = [];
  for (const [name, value] of Object.entries(shadow)) {
    if (typeof value === 'function') out.push([name, value as (...args: unknown[]) => unknown]);
    else if (typeof value === 'object' && value !== null && !isZodSchema(value)) {
      for (const [key, member] of Object.entries(value)) if (typeof member === 'function') out.push([`${name}.${key}`, member as (...args: unknown[]) => unknown]);
    }
  }
  return out;
}

const T = 1_700_000_000_000;
const doc = {
  state: { desired: { a: 1, n: { m: [1, 2] }, ack: 3 }, reported: { a: 2, n: { m: [1] }, ack: { value: 2, ac: 400, av: 3, ad: 'no' } } },
  metadata: {
    desired: { a: { timestamp: 1 }, n: { m: [{ timestamp: 1 }, { timestamp: 1 }] }, ack: { timestamp: 1 } },
    reported: { a: { timestamp: 2 }, n: { m: [{ timestamp: 2 }] }, ack: { value: { timestamp: 2 }, ac: { timestamp: 2 }, av: { timestamp: 2 }, ad: { timestamp: 2 } } },
  },
  version: 4,
};
/** Valid arguments of every shape the API takes, to be broken one place at a time. */
const TEMPLATES: unknown[] = [
  doc,
  { deleted: true, version: 9 },
  { state: { reported: { a: 3 }, desired: { n: { m: [3] } } }, clientToken: 't', version: 4, timestamp: 1_700_000_000 },
  { now: T, name: 'lamp', request: { clientToken: 'c', version: 1 }, limits: { maxDocumentBytes: 4096, maxDepth: 4 }, policy: 'device-wins', acknowledgements: true, skipIfEqual: true, clientToken: 'c' },
  { path: ['a'], desired: 1, reported: 2, equal: false, desiredTimestamp: 1, reportedTimestamp: 2, touched: 'reported' },
  { base: { a: 1 }, local: { a: 2 }, remote: { a: 3, b: { c: 1 } }, owner: 'local' },
  { code: 400, version: 3, description: 'x' },
  { a: 1, n: { m: [1] } },
  'lamp-1',
];

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true, withTypedArray: true, withSparseArray: true, maxDepth: 2, maxKeys: 3 }),
  fc.constantFrom<unknown>(undefined, null, Number.NaN, Number.POSITIVE_INFINITY, -1, 0, 1.5, 2 ** 60, '', 'x', true, 10n, Symbol('s'), () => 1, [], {}, Object.create(null), new Date(0), 'cloud-wins'),
);

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.keys(value).flatMap((k) => paths((value as Record<string, unknown>)[k], [...prefix, k]))];
}

/** A template with one place replaced by a hostile value (or removed). */
const nearValid: fc.Arbitrary<unknown> = fc.tuple(fc.nat(TEMPLATES.length - 1), fc.nat(), hostile, fc.boolean()).map(([t, p, replacement, remove]) => {
  const template = TEMPLATES[t];
  const all = paths(template);
  const path = all[p % all.length] ?? [];
  if (path.length === 0) return replacement;
  const copy = JSON.parse(JSON.stringify(template)) as Record<string, unknown>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (remove) delete parent[last];
  else parent[last] = replacement;
  return copy;
});

const arg: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: hostile },
  { weight: 4, arbitrary: nearValid },
  { weight: 1, arbitrary: fc.constantFrom(...TEMPLATES, new FleetError('INVALID_JSON', 'x', { status: 400, details: { awsMessage: 'Invalid JSON' } })) },
);

function serialised(v: unknown): string | undefined {
  try {
    return JSON.stringify(v);
  } catch {
    return undefined;
  }
}

describe('robustness of every shadow export', () => {
  it('every exported function has a stated contract (and every contract an export)', () => {
    const names = callables().map(([name]) => name).sort();
    expect(names).toEqual(Object.keys(CONTRACTS).sort());
  });

  for (const [name, fn] of callables()) {
    const contract = CONTRACTS[name];
    it(`${name} (${contract ?? 'no contract'}): hostile and near-valid arguments give FleetErrors only`, () => {
      fc.assert(
        fc.property(fc.array(arg, { maxLength: 4 }), (args) => {
          const before = args.map(serialised);
          let value: unknown;
          try {
            value = fn(...args);
          } catch (e) {
            if (contract === 'throws' && isFleetError(e)) return;
            throw new Error(`${name} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
          }
          if (contract === 'result') {
            const r = value as { ok: boolean; error?: unknown; rejected?: { code: unknown } };
            expect(typeof r.ok).toBe('boolean');
            if (!r.ok) {
              expect(isFleetError(r.error)).toBe(true);
              expect(typeof r.rejected?.code).toBe('number');
            }
          }
          // no argument is ever modified, accepted or not
          expect(args.map(serialised)).toEqual(before);
        }),
        { numRuns: runs(400) },
      );
    });
  }

  it('each malformed argument is named in the error, for every function that checks it', () => {
    const d = doc as unknown as shadow.ShadowDocument;
    const malformed: Array<[unknown, string]> = [
      [null, 'got null'],
      [{ state: 5, metadata: {}, version: 1 }, 'state is 5'],
      [{ state: {}, metadata: null, version: 1 }, 'metadata is null'],
      [{ state: {}, metadata: {}, version: -1 }, 'version is -1, not a whole number ≥ 0'],
      [{ state: {}, metadata: {}, version: 1.5 }, 'version is 1.5'],
      [{ state: {}, metadata: {}, version: '1' }, 'version is "1"'],
      [{ state: { desired: [] }, metadata: {}, version: 1 }, 'state.desired is an array'],
      [{ state: { reported: 'x' }, metadata: {}, version: 1 }, 'state.reported is "x"'],
      [{ state: {}, metadata: { desired: 5 }, version: 1 }, 'metadata.desired is 5'],
      [{ state: {}, metadata: { reported: [] }, version: 1 }, 'metadata.reported is an array'],
    ];
    const documentTakers: Array<[string, (x: unknown) => unknown]> = [
      ['applyShadowUpdate', (x) => shadow.applyShadowUpdate(x as shadow.StoredShadow, { state: {} }, { now: T })],
      ['getShadow', (x) => shadow.getShadow(x as shadow.StoredShadow, { now: T })],
      ['deleteShadow', (x) => shadow.deleteShadow(x as shadow.StoredShadow, { now: T })],
      ['getShadowResponse', (x) => shadow.getShadowResponse(x as shadow.ShadowDocument, { now: T })],
      ['propertyAcks', (x) => shadow.propertyAcks(x as shadow.ShadowDocument)],
    ];
    const expectError = (call: () => unknown, fn: string, message: string, status: number): void => {
      let error: unknown;
      try {
        const r = call() as { ok?: boolean; error?: unknown };
        error = r !== null && typeof r === 'object' && r.ok === false ? r.error : undefined;
      } catch (e) {
        error = e;
      }
      expect(isFleetError(error, 'INVALID_ARGUMENT'), `${fn}: ${message}: ${String(error)}`).toBe(true);
      expect((error as FleetError).message.startsWith(`${fn}: `), (error as FleetError).message).toBe(true);
      expect((error as FleetError).message, fn).toContain(message);
      expect((error as FleetError).status, fn).toBe(status);
    };
    for (const [fn, call] of documentTakers) {
      const status = fn === 'getShadowResponse' || fn === 'propertyAcks' ? 400 : 500;
      for (const [value, message] of malformed) {
        expectError(() => call(value), fn, message, status);
      }
    }
    const storedTakers: Array<(x: unknown) => { ok: boolean; error?: FleetError }> = [
      (x) => shadow.applyShadowUpdate(x as shadow.StoredShadow, { state: {} }, { now: T }),
      (x) => shadow.getShadow(x as shadow.StoredShadow, { now: T }),
      (x) => shadow.deleteShadow(x as shadow.StoredShadow, { now: T }),
    ];
    for (const call of storedTakers) {
      expect(call(null).error?.message).toContain('got null');
      expect(call({ deleted: true, version: 'x' }).error?.message).toContain('a tombstone must be { deleted: true, version } with a whole-number version, got version "x"');
    }
    const options: Array<[string, () => unknown, string, number]> = [
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: Number.NaN }), 'options.now must be epoch milliseconds, got NaN', 500],
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, limits: 5 } as never), 'options.limits must be an object of limits, got 5', 500],
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, limits: { maxDocumentBytes: 1.5 } }), 'options.limits.maxDocumentBytes must be a whole number ≥ 1, got 1.5', 500],
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, limits: { maxClientTokenBytes: -1 } }), 'options.limits.maxClientTokenBytes', 500],
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, limits: { maxRequestBytes: 0 } }), 'options.limits.maxRequestBytes', 500],
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, skipIfEqual: 1 } as never), 'options.skipIfEqual must be a boolean, got 1', 500],
      ['applyShadowUpdate', () => shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, acknowledgements: 'yes' } as never), 'options.acknowledgements must be a boolean, got "yes"', 500],
      ['getShadow', () => shadow.getShadow(d, { now: T, name: 5 } as never), 'options.name must be a string, got 5', 500],
      ['getShadow', () => shadow.getShadow(d, { now: T, acknowledgements: 1 } as never), 'options.acknowledgements must be a boolean', 500],
      ['deleteShadow', () => shadow.deleteShadow(d, { now: T, limits: { maxDepth: 'x' } } as never), 'options.limits.maxDepth must be a whole number ≥ 1, got "x"', 500],
      ['getShadowResponse', () => shadow.getShadowResponse(d, { now: T, clientToken: 5 } as never), 'options.clientToken must be a string, got 5', 400],
      ['getShadowResponse', () => shadow.getShadowResponse(d, { now: T, acknowledgements: 'no' } as never), 'options.acknowledgements must be a boolean', 400],
      ['getShadowResponse', () => shadow.getShadowResponse(d, undefined as never), 'pass options { now: <epoch milliseconds>, … }, got undefined', 400],
      ['ackProperty', () => shadow.ackProperty(Number.NaN, { version: 1 }), 'value must be JSON', 400],
      ['ackProperty', () => shadow.ackProperty(1, null as never), 'pass options { version, code?, description? }, got null', 400],
      ['ackProperty', () => shadow.ackProperty(1, { version: -1 }), 'options.version must be the whole-number version of the delta you answer, got -1', 400],
      ['ackProperty', () => shadow.ackProperty(1, { version: 1.5 }), 'got 1.5', 400],
      ['ackProperty', () => shadow.ackProperty(1, { version: 1, code: 99 }), 'options.code must be a status from 100 to 599, got 99', 400],
      ['ackProperty', () => shadow.ackProperty(1, { version: 1, code: 600 }), 'got 600', 400],
      ['ackProperty', () => shadow.ackProperty(1, { version: 1, code: 200.5 }), 'got 200.5', 400],
      ['ackProperty', () => shadow.ackProperty(1, { version: 1, description: 5 } as never), 'options.description must be a string, got 5', 400],
      ['rejectedPayload', () => shadow.rejectedPayload(new Error('x') as never, { now: T }), 'error must be a FleetError, got an object', 400],
      ['rejectedPayload', () => shadow.rejectedPayload(new FleetError('INTERNAL', 'x'), { now: T, clientToken: 5 } as never), 'options.clientToken must be a string, got 5', 400],
      ['computeDelta', () => shadow.computeDelta(5 as never, undefined), 'desired must be an object or undefined, got 5', 400],
      ['computeDelta', () => shadow.computeDelta({}, [] as never), 'reported must be an object or undefined, got an array', 400],
      ['computeDeltaWithMetadata', () => shadow.computeDeltaWithMetadata({}, 5 as never, {}), 'desiredMeta must be an object or undefined, got 5', 400],
      ['computeDeltaWithMetadata', () => shadow.computeDeltaWithMetadata({}, {}, 'x' as never), 'reported must be an object or undefined', 400],
      ['computeDeltaWithMetadata', () => shadow.computeDeltaWithMetadata(null as never, {}, {}), 'desired must be an object or undefined, got null', 400],
    ];
    for (const [fn, call, message, status] of options) expectError(call, fn, message, status);
    for (const resolver of Object.values(shadow.CONFLICT_RESOLVERS)) {
      for (const conflict of [null, {}, { equal: 'no', desiredTimestamp: 1, reportedTimestamp: 1 }, { equal: true, desiredTimestamp: '1', reportedTimestamp: 1 }, { equal: true, desiredTimestamp: 1, reportedTimestamp: null }]) {
        let caught: unknown;
        try {
          resolver(conflict as never);
        } catch (e) {
          caught = e;
        }
        expect(isFleetError(caught, 'INVALID_ARGUMENT'), JSON.stringify(conflict)).toBe(true);
        expect((caught as FleetError).message).toContain('a conflict resolver takes a ShadowConflict');
      }
    }
  });

  it('the cases of the issue answer FleetErrors', () => {
    const noOptions = shadow.applyShadowUpdate as (...args: unknown[]) => shadow.ShadowUpdateResult;
    const u = noOptions(undefined, { state: {} });
    expect(!u.ok && u.error.code).toBe('INVALID_ARGUMENT');
    expect(!u.ok && u.rejected).toEqual({ code: 500, message: 'Internal service failure', timestamp: 0 });
    expect(!u.ok && u.error.status).toBe(500);
    expect(!u.ok && u.error.details).toEqual({ function: 'applyShadowUpdate' });
    expect(!u.ok && u.error.message).toBe('applyShadowUpdate: pass options { now: <epoch milliseconds>, … }, got undefined');
    const bad = shadow.applyShadowUpdate({ state: { desired: 5 }, metadata: {}, version: 1 } as unknown as shadow.ShadowDocument, { state: {}, clientToken: 'k' }, { now: T });
    expect(!bad.ok && bad.error.message).toBe('applyShadowUpdate: the stored shadow must be undefined, a document { state, metadata, version } or a tombstone { deleted: true, version }: state.desired is 5');
    expect(!bad.ok && bad.rejected).toEqual({ code: 500, message: 'Internal service failure', timestamp: T / 1000, clientToken: 'k' });
    const policy = shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, policy: 'devcie-wins' as shadow.ConflictPolicy });
    expect(!policy.ok && policy.error.message).toContain("options.policy must be 'cloud-wins'");
    const limit = shadow.applyShadowUpdate(undefined, { state: {} }, { now: T, limits: { maxDepth: 0 } });
    expect(!limit.ok && limit.error.message).toBe('applyShadowUpdate: options.limits.maxDepth must be a whole number ≥ 1, got 0');
    const g = (shadow.getShadow as (...args: unknown[]) => shadow.GetShadowResult)(doc);
    expect(!g.ok && g.error.code).toBe('INVALID_ARGUMENT');
    for (const call of [() => shadow.getShadowResponse({} as shadow.ShadowDocument, { now: T }), () => shadow.propertyAcks({} as shadow.ShadowDocument), () => shadow.reconcileShadow(null as unknown as shadow.ReconcileInput)]) {
      let caught: unknown;
      try {
        call();
      } catch (e) {
        caught = e;
      }
      expect(isFleetError(caught, 'INVALID_ARGUMENT'), String(caught)).toBe(true);
      expect((caught as Error).message).toMatch(/document|pass/);
    }
  });
});
