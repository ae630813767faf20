/**
 * Hostile input at every function the rollout module exports, and every public method of its
 * tracker: the answer is a value, a `{ ok: false, error }` result or a thrown FleetError — never
 * a TypeError/RangeError from inside. The list of entry points is not written by hand: it is read
 * from the module, and an export or method without a valid call below fails the test.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as rollout from '../../src/rollout/index.js';
import { FIRMWARE } from './helpers.js';

// Values that break naive code: BigInt (JSON cannot print it), symbols (template literals cannot),
// objects whose toString/valueOf is not callable or throws, null-prototype objects, boxed
// primitives, sparse arrays, typed arrays, huge and non-finite numbers.
const hostile = fc.constantFrom<unknown>(
  null,
  undefined,
  10n,
  Symbol('s'),
  { toString: {} },
  { valueOf: {} , toString: {} },
  { toString: () => { throw new Error('toString called'); } },
  Object.create(null) as unknown,
  [null],
  [, 1], // eslint-disable-line no-sparse-arrays
  new Uint8Array(3),
  Number.NaN,
  -Infinity,
  1e300,
  -0,
  '',
  '__proto__',
  { __proto__: null, then: 1 },
  [],
  {},
);
const junk = fc.oneof(
  { weight: 2, arbitrary: hostile },
  { weight: 1, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, maxDepth: 2 }) },
);

/** Every path to a value inside `root` (objects and arrays, up to `depth`), not the root itself. */
function pathsOf(root: unknown, depth = 4, limit = 400): (string | number)[][] {
  const out: (string | number)[][] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (path.length >= depth || out.length >= limit || typeof value !== 'object' || value === null || value instanceof rollout.RolloutProgress) return;
    const keys = Array.isArray(value) ? value.map((_, i) => i).slice(0, 6) : Object.keys(value);
    for (const k of keys) {
      out.push([...path, k]);
      walk((value as Record<string | number, unknown>)[k], [...path, k]);
    }
  };
  walk(root, []);
  return out;
}

/** A deep copy of `root` (class instances kept as they are) with the value at `path` replaced. */
function replaced(root: unknown, path: readonly (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = (Array.isArray(root) ? [...(root as unknown[])] : { ...(root as Record<string, unknown>) }) as Record<string | number, unknown>;
  copy[head!] = replaced(copy[head!], rest, value);
  return copy;
}

const T0 = 1_700_000_000_000;
const spec = (): rollout.RolloutSpecInput => ({
  rolloutId: 'fw-2.0.0',
  firmware: FIRMWARE,
  devices: [
    { id: 'a', tenantId: 't', firmware: '1.0.0', state: 'active', tags: ['eu'], attributes: { model: 'x', rev: 2, beta: true } },
    { id: 'b', tenantId: 't', firmware: '1.0.0', state: 'active' },
    { id: 'c', tenantId: 'u', firmware: '2.0.0', state: 'maintenance' },
  ],
  target: { tenantIds: ['t', 'u'], anyTags: ['eu', 'us'], fromVersions: ['1.0.0'] },
  stages: [{ count: 1, minSoakMs: 10 }, { percent: 100, successThreshold: 0.5 }],
  abort: { failureRate: 0.1, minSample: 2, maxFailures: 3, onAbort: 'rollback' },
  deadlines: { pickupMs: 100, runMs: 100, bootHealthMs: 100 },
  rateLimit: { devicesPerMinute: 5 },
  maintenanceWindows: [{ start: '00:00', end: '23:59', days: [0, 1, 2, 3, 4, 5, 6], utcOffsetMinutes: 60 }],
});

/** A plan and a tracker that has dispatched, so reports and decisions have something to act on. */
function running(): { plan: rollout.RolloutPlan; progress: rollout.RolloutProgress; decision: rollout.RolloutDecision } {
  const plan = rollout.planRollout(spec());
  const progress = rollout.createRolloutProgress(plan);
  rollout.stepRollout(plan, progress, { now: T0 });
  progress.report({ deviceId: plan.devices[0]!.id, type: 'picked_up' }, T0 + 1);
  return { plan, progress, decision: rollout.evaluateRollout(plan, progress, { now: T0 + 2 }) };
}

/** A valid call of an entry point: fresh arguments, and how to run the call with (mutated) ones. */
interface Call {
  make(): { readonly args: unknown[]; run(args: unknown[]): unknown };
}
type Fn = (...args: unknown[]) => unknown;
const fnCall = (fn: unknown, args: () => unknown[]): Call => ({ make: () => ({ args: args(), run: (a) => (fn as Fn)(...a) }) });

const functions: Record<string, Call> = {
  isFleetError: fnCall(rollout.isFleetError, () => [new rollout.FleetError('INVALID_PLAN', 'x'), 'INVALID_PLAN']),
  cohortOf: fnCall(rollout.cohortOf, () => ['seed', 'dev-1']),
  cohortLimit: fnCall(rollout.cohortLimit, () => [12.5]),
  inStage: fnCall(rollout.inStage, () => [42, 1]),
  murmur3x86_32: fnCall(rollout.murmur3x86_32, () => [new Uint8Array([1, 2, 3]), 7]),
  murmur3Utf8: fnCall(rollout.murmur3Utf8, () => ['hello', 0]),
  planRollout: fnCall(rollout.planRollout, () => [spec(), { previous: rollout.planRollout(spec()) }]),
  isTerminalStatus: fnCall(rollout.isTerminalStatus, () => ['succeeded']),
  createRolloutProgress: fnCall(rollout.createRolloutProgress, () => [rollout.planRollout(spec())]),
  RolloutProgress: { make: () => ({ args: [rollout.planRollout(spec())], run: (a) => new rollout.RolloutProgress(a[0] as rollout.RolloutPlan) }) },
  evaluateRollout: fnCall(rollout.evaluateRollout, () => {
    const r = running();
    return [r.plan, r.progress, { now: T0 + 5 }];
  }),
  stepRollout: fnCall(rollout.stepRollout, () => {
    const r = running();
    return [r.plan, r.progress, { now: T0 + 5 }];
  }),
  inMaintenanceWindow: fnCall(rollout.inMaintenanceWindow, () => [[{ start: '22:00', end: '02:00', days: [1, 5], utcOffsetMinutes: -60 }], T0]),
  nextMaintenanceWindow: fnCall(rollout.nextMaintenanceWindow, () => [[{ start: '22:00', end: '02:00', days: [1, 5], utcOffsetMinutes: -60 }], T0]),
  saveRolloutProgress: fnCall(rollout.saveRolloutProgress, () => [running().progress]),
  restoreRolloutProgress: fnCall(rollout.restoreRolloutProgress, () => {
    const r = running();
    return [r.plan, rollout.saveRolloutProgress(r.progress)];
  }),
  evaluateBoot: fnCall(rollout.evaluateBoot, () => [{ bootedAt: T0, now: T0 + 10, checks: [{ name: 'mqtt', status: 'pass', at: T0 + 5, required: true }], windowMs: 100, rebooted: false }]),
};

/** A public method of a running tracker; `apply` gets the decision that tracker produced. */
const methodCall = (name: string, args: (r: ReturnType<typeof running>) => unknown[]): Call => ({
  make: () => {
    const r = running();
    return {
      args: args(r),
      run: (a) => {
        const revision = r.progress.revision;
        const out = (r.progress as unknown as Record<string, Fn>)[name]!(...a) as { ok?: unknown } | undefined;
        // Refused input changes nothing.
        if (typeof out === 'object' && out !== null && out.ok === false) expect(r.progress.revision, `${name} changed the tracker on refused input`).toBe(revision);
        return out;
      },
    };
  },
});
const methods: Record<string, Call> = {
  statusOf: methodCall('statusOf', () => ['a']),
  device: methodCall('device', () => ['a']),
  stageCounts: methodCall('stageCounts', () => [0]),
  stageSize: methodCall('stageSize', () => [0]),
  report: methodCall('report', () => [{ deviceId: 'a', type: 'installed', reason: 'ok' }, T0 + 3]),
  operate: methodCall('operate', () => [{ type: 'rollback', stages: [0] }, T0 + 3]),
  // A second valid call of operate (the withdraw action), under its own key.
  'operate(withdraw)': { make: () => methodCall('operate', () => [{ type: 'withdraw', deviceId: 'a' }, T0 + 3]).make() },
  apply: methodCall('apply', (r) => [r.decision]),
};

/** Tracker methods that are not entry points: @internal helpers the evaluator calls with checked values. */
const INTERNAL_METHODS = ['constructor', 'clock', 'move', 'latchAbort', 'recordAbort', 'scheduleRollback', 'ref', 'noteImage', 'recordDispatch', 'applyHalt', 'cancelPending', 'queuedJobs', 'refuse', 'done', 'pause', 'resume', 'cancel', 'rollback', 'withdraw', 'remaining', 'resize'];
/** Exports that are not entry points for untrusted input: the error type itself (constructed by the library). */
const NOT_ENTRY_POINTS = ['FleetError'];

const exportedFunctions = Object.entries(rollout)
  .filter(([, v]) => typeof v === 'function')
  .map(([k]) => k)
  .filter((k) => !NOT_ENTRY_POINTS.includes(k));
const publicMethods = Object.getOwnPropertyNames(rollout.RolloutProgress.prototype).filter((k) => {
  const d = Object.getOwnPropertyDescriptor(rollout.RolloutProgress.prototype, k)!;
  return typeof d.value === 'function' && !INTERNAL_METHODS.includes(k);
});

function expectNoForeignError(name: string, fn: () => unknown): void {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    expect(rollout.isFleetError(e), `${name} threw ${String((e as Error)?.name)}: ${String((e as Error)?.message)}`).toBe(true);
    return;
  }
  // Methods answer bad input with { ok: false, error }: the error is a FleetError too.
  if (typeof result === 'object' && result !== null && (result as { ok?: unknown }).ok === false) expect(rollout.isFleetError((result as { error?: unknown }).error)).toBe(true);
}

describe('rollout entry points under hostile input', () => {
  it('the lists cover exactly what the module exports', () => {
    expect(Object.keys(functions).sort()).toEqual([...exportedFunctions].sort());
    expect(Object.keys(methods).filter((k) => !k.includes('(')).sort()).toEqual([...publicMethods].sort());
    for (const k of INTERNAL_METHODS) expect(k in rollout.RolloutProgress.prototype || k === 'constructor', k).toBe(true);
  });

  it('every valid call works (so the mutations below start from a call that gets deep)', () => {
    for (const [name, c] of [...Object.entries(functions), ...Object.entries(methods)]) {
      const { args, run } = c.make();
      const out = run(args) as { ok?: unknown } | undefined;
      if (typeof out === 'object' && out !== null && 'ok' in out) expect(out.ok, name).toBe(true);
    }
  });

  for (const [name, c] of [...Object.entries(functions), ...Object.entries(methods).map(([k, v]) => [`RolloutProgress#${k}`, v] as const)]) {
    it(`${name}: a value or a FleetError, whatever any argument or nested field is`, () => {
      const paths = pathsOf(c.make().args);
      fc.assert(
        fc.property(fc.nat(paths.length - 1), junk, fc.nat(paths.length - 1), junk, fc.boolean(), (p, value, q, value2, twice) => {
          // Replace one or two values anywhere in the arguments: a whole argument or a nested field.
          const { args, run } = c.make();
          const once = replaced(args, paths[p]!, value);
          const mutated = (twice ? replaced(once, paths[q]!, value2) : once) as unknown[];
          expectNoForeignError(name, () => run(mutated));
        }),
        { numRuns: 300 },
      );
    });
  }
});
