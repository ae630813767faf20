/**
 * Bad input at every public entry point of the lifecycle core: the answer is a value or a
 * FleetError, never a TypeError/RangeError from inside, whatever the caller passes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import {
  DEFAULT_TRANSITION_TABLE,
  applyRevocations,
  certificatesExpiring,
  createCaRegistry,
  createDeviceSnapshot,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  evaluateHealth,
  extendTransitionTable,
  heartbeatStatus,
  nextHealthEvent,
  parseDeviceSnapshot,
  planDecommission,
  provisionWithSymmetricKey,
  transition,
  verifyDeviceCertificate,
} from '../../src/lifecycle/index.js';

// Values that break naive code: a throwing or non-callable toString, BigInt (JSON cannot print it),
// null-prototype objects, boxed primitives, sparse or null-holding arrays.
const hostile = fc.constantFrom<unknown>(
  null,
  undefined,
  10n,
  { toString: {} },
  { valueOf: () => { throw new Error('valueOf called'); } },
  Object.create(null) as unknown,
  [null],
  Number.NaN,
  -Infinity,
  1e300,
);
const junk = fc.oneof({ weight: 1, arbitrary: hostile }, { weight: 2, arbitrary: fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true }) });

const groups = createEnrollmentGroups([{ groupId: 'g', key: Buffer.alloc(32, 1).toString('base64'), tenantId: 't' }]);
const template = defineProvisioningTemplate({ name: 'x' });
const active = { deviceId: 'd', tenantId: 't', state: 'active' as const, since: 0 };
type Call = (a: unknown, b: unknown) => unknown;
const entryPoints: Record<string, Call> = {
  transition: (a, b) => transition(a as never, b as never, { now: 1 }),
  'transition options': (a) => transition(active, { type: 'heartbeat' }, a as never),
  createDeviceSnapshot: (a) => createDeviceSnapshot(a as never),
  parseDeviceSnapshot: (a) => parseDeviceSnapshot(a),
  extendTransitionTable: (a, b) => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [a, b]),
  createCaRegistry: (a) => createCaRegistry([a]),
  createRevocationList: (a, b) => createRevocationList([a, b]),
  createEnrollmentGroups: (a) => createEnrollmentGroups([a]),
  defineProvisioningTemplate: (a) => defineProvisioningTemplate(a),
  heartbeatStatus: (a, b) => heartbeatStatus(a as never, b as never),
  'heartbeatStatus options': (a) => heartbeatStatus(0, 1, a as never),
  evaluateHealth: (a, b) => evaluateHealth(a as never, {}, b as never),
  'evaluateHealth thresholds': (a) => evaluateHealth({ at: 0 }, a as never),
  nextHealthEvent: (a, b) => nextHealthEvent(a as never, b as never),
  certificatesExpiring: (a, b) => certificatesExpiring(a as never, b as never),
  'certificatesExpiring records': (a) => certificatesExpiring([a] as never, { within: 1, now: 1 }),
  planDecommission: (a, b) => planDecommission(a as never, { reason: 'r', actor: 'a', now: 1, event: b as never }),
  'planDecommission options': (a) => planDecommission(active, a as never),
  applyRevocations: (a) => applyRevocations(createRevocationList(), a as never),
  provisionWithSymmetricKey: (a) => provisionWithSymmetricKey(a, { now: 1e12, groups, revoked: createRevocationList(), seenNonces: new Map(), template }),
  verifyDeviceCertificate: (a, b) => verifyDeviceCertificate(a, { now: b as never, cas: createCaRegistry([]), revoked: createRevocationList() }),
};

describe('lifecycle entry points under bad input', () => {
  for (const [name, call] of Object.entries(entryPoints)) {
    it(`${name}: a value or a FleetError, never another exception`, () => {
      fc.assert(
        fc.property(junk, junk, (a, b) => {
          try {
            call(a, b);
          } catch (e) {
            expect(isFleetError(e), `${name} threw ${String((e as Error)?.name)}: ${String((e as Error)?.message)}`).toBe(true);
          }
        }),
        { numRuns: 150 },
      );
    });
  }
});
