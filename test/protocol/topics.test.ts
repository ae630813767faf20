import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { assertThingName } from '../../src/index.js';
import {
  assertTenantId,
  assertTopicFilter,
  assertTopicName,
  hasWildcard,
  commandAckTopic,
  commandTopic,
  fleetTopicFilter,
  formatTopic,
  heartbeatTopic,
  jobStatusTopic,
  jobTopic,
  parseTopic,
  provisioningRequestTopic,
  provisioningResponseTopic,
  safeParseTopic,
  shadowRequestFilter,
  shadowResponseFilter,
  shadowTopic,
  telemetryTopic,
  topicMatches,
  type FleetTopic,
} from '../../src/protocol/index.js';

const idChars = fc.constantFrom(...'abcXYZ019:_-'.split(''));
const id = (max: number): fc.Arbitrary<string> => fc.string({ unit: idChars, minLength: 1, maxLength: max });

const topicArb: fc.Arbitrary<FleetTopic> = fc.oneof(
  fc.record({ tenantId: id(64), deviceId: id(128) }).chain((b) =>
    fc.oneof(
      fc.constant<FleetTopic>({ kind: 'telemetry', ...b }),
      fc.constant<FleetTopic>({ kind: 'heartbeat', ...b }),
      fc.constant<FleetTopic>({ kind: 'provisioning-request', ...b }),
      fc.constant<FleetTopic>({ kind: 'provisioning-response', ...b }),
      fc.constant<FleetTopic>({ kind: 'job-next', ...b }),
      fc.constant<FleetTopic>({ kind: 'job-none', ...b }),
      id(64).map<FleetTopic>((commandId) => ({ kind: 'command', ...b, commandId })),
      id(64).map<FleetTopic>((commandId) => ({ kind: 'command-ack', ...b, commandId })),
      id(64).map<FleetTopic>((jobId) => ({ kind: 'job', ...b, jobId })),
      id(64).map<FleetTopic>((jobId) => ({ kind: 'job-status', ...b, jobId })),
    ),
  ),
  fc
    .record({
      thingName: id(128),
      shadowName: fc.option(id(64), { nil: undefined }),
      pair: fc.constantFrom<[string, string | undefined]>(
        ['get', undefined],
        ['get', 'accepted'],
        ['get', 'rejected'],
        ['update', undefined],
        ['update', 'accepted'],
        ['update', 'rejected'],
        ['update', 'delta'],
        ['update', 'documents'],
        ['delete', undefined],
        ['delete', 'accepted'],
        ['delete', 'rejected'],
      ),
    })
    .map(({ thingName, shadowName, pair }) => ({
      kind: 'shadow' as const,
      thingName,
      ...(shadowName === undefined ? {} : { shadowName }),
      operation: pair[0] as 'get' | 'update' | 'delete',
      ...(pair[1] === undefined ? {} : { response: pair[1] as 'accepted' }),
    })),
);

describe('fleetkit topics', () => {
  it('builds the documented tree', () => {
    expect(telemetryTopic('acme', 'pump-7')).toBe('dt/acme/pump-7/telemetry');
    expect(heartbeatTopic('acme', 'pump-7')).toBe('dt/acme/pump-7/heartbeat');
    expect(commandTopic('acme', 'pump-7', 'c1')).toBe('cmd/acme/pump-7/req/c1');
    expect(commandAckTopic('acme', 'pump-7', 'c1')).toBe('cmd/acme/pump-7/res/c1');
    expect(jobTopic('acme', 'pump-7', 'j1')).toBe('cmd/acme/pump-7/job/j1');
    expect(jobStatusTopic('acme', 'pump-7', 'j1')).toBe('cmd/acme/pump-7/job/j1/status');
    expect(provisioningRequestTopic('acme', 'SN-1')).toBe('cmd/acme/SN-1/prov/req');
    expect(provisioningResponseTopic('acme', 'SN-1')).toBe('cmd/acme/SN-1/prov/res');
    expect(shadowTopic('pump-7', 'update')).toBe('$aws/things/pump-7/shadow/update');
    expect(shadowTopic('pump-7', 'update', { shadowName: 'cfg', response: 'delta' })).toBe('$aws/things/pump-7/shadow/name/cfg/update/delta');
    expect(shadowTopic('pump-7', 'get', { response: 'accepted' })).toBe('$aws/things/pump-7/shadow/get/accepted');
  });

  it('round-trips: parseTopic(formatTopic(t)) equals t and formatTopic(parseTopic(s)) equals s (property)', () => {
    fc.assert(
      fc.property(topicArb, (t) => {
        const s = formatTopic(t);
        expect(parseTopic(s)).toEqual(t);
        expect(formatTopic(parseTopic(s))).toBe(s);
      }),
      { numRuns: 1000 },
    );
  });

  it('filters built for a kind match exactly the topics of that kind (property)', () => {
    fc.assert(
      fc.property(topicArb, fc.boolean(), (t, pinTenant) => {
        const s = formatTopic(t);
        if (t.kind === 'shadow') {
          expect(topicMatches(shadowResponseFilter(t.thingName, t.shadowName), s)).toBe(t.response !== undefined);
          expect(topicMatches(shadowRequestFilter({ named: t.shadowName !== undefined }), s)).toBe(t.response === undefined);
          return;
        }
        const filter = fleetTopicFilter(t.kind, pinTenant ? { tenantId: t.tenantId } : {});
        expect(topicMatches(filter, s)).toBe(true);
        for (const other of ['telemetry', 'heartbeat', 'command', 'command-ack', 'job', 'job-status', 'job-next', 'job-none', 'provisioning-request', 'provisioning-response'] as const) {
          if (other !== t.kind) expect(topicMatches(fleetTopicFilter(other), s)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('pins the tenant and device in fixed positions for ACLs', () => {
    expect(fleetTopicFilter('telemetry', { tenantId: 'acme' })).toBe('dt/acme/+/telemetry');
    expect(fleetTopicFilter('command', { tenantId: 'acme', deviceId: 'd1' })).toBe('cmd/acme/d1/req/+');
    expect(fleetTopicFilter('job-status', { id: 'j9' })).toBe('cmd/+/+/job/j9/status');
    expect(topicMatches('dt/acme/#', telemetryTopic('other', 'd1'))).toBe(false);
  });

  it('throws INVALID_TOPIC for topics outside the tree, never returns undefined', () => {
    const bad = [
      '',
      'foo/bar',
      'dt/acme',
      'dt/acme/d1/unknown',
      'dt/acme/d1/telemetry/extra',
      'cmd/acme/d1/req',
      'cmd/acme/d1/req/c1/extra',
      'cmd/acme/d1/prov/maybe',
      'cmd/ac me/d1/req/c1',
      'dt//d1/telemetry',
      '$aws/things/t/shadow',
      '$aws/things/t/shadow/patch',
      '$aws/things/t/shadow/get/delta',
      '$aws/things/t/shadow/name//get',
      '$aws/things/t/shadow/update/accepted/x',
      '$aws/other/t/shadow/get',
      `dt/${'x'.repeat(65)}/d1/telemetry`,
    ];
    for (const topic of bad) {
      expect(() => parseTopic(topic), topic).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
      const r = safeParseTopic(topic);
      expect(r.ok).toBe(false);
    }
  });

  it('rejects bad names in builders with INVALID_NAME', () => {
    expect(() => telemetryTopic('acme', 'a/b')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    expect(() => commandTopic('a+b', 'd', 'c')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    expect(() => jobTopic('acme', 'd', '#')).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    expect(() => shadowTopic('t', 'get', { response: 'delta' })).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    expect(() => shadowTopic('t', 'get', { shadowName: 'x'.repeat(65) })).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    expect(() => shadowTopic('t', 'patch' as 'get')).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
  });

  it('values that are not strings end as a FleetError that describes them, never a TypeError', () => {
    const hook = (): never => {
      throw new Error('a conversion hook was called');
    };
    const odd: unknown[] = [10n, Symbol('s'), Object.create(null), { toString: {} }, { toString: hook, valueOf: hook, toJSON: hook }, null, undefined, 7];
    const codeOf = (f: () => unknown): unknown => {
      try {
        f();
        return 'returned';
      } catch (e) {
        return isFleetError(e) ? e.code : e;
      }
    };
    for (const v of odd) {
      const s = v as string;
      const parsed = safeParseTopic(s);
      expect(parsed.ok === false && parsed.error.code).toBe('INVALID_TOPIC');
      expect(codeOf(() => parseTopic(s))).toBe('INVALID_TOPIC');
      for (const build of [() => telemetryTopic(s, 'd'), () => heartbeatTopic('t', s), () => commandTopic('t', 'd', s), () => jobStatusTopic('t', 'd', s), () => shadowTopic(s, 'get')]) {
        expect(codeOf(build)).toBe('INVALID_NAME');
      }
      expect(codeOf(() => assertTenantId(s))).toBe('INVALID_NAME');
      expect(codeOf(() => assertThingName(s))).toBe('INVALID_NAME');
      expect(codeOf(() => assertTopicName(s))).toBe('INVALID_TOPIC');
      expect(codeOf(() => assertTopicFilter(s))).toBe('INVALID_TOPIC');
      expect(codeOf(() => topicMatches(s, 'a'))).toBe('INVALID_TOPIC');
      expect(codeOf(() => hasWildcard(s))).toBe('INVALID_TOPIC');
      expect(codeOf(() => formatTopic(s as unknown as FleetTopic))).toBe('INVALID_TOPIC');
    }
    // The message names the value as it is: a BigInt with its "n", a string quoted.
    expect(() => telemetryTopic(10n as unknown as string, 'd')).toThrow('Invalid tenant id 10n');
    expect(() => commandTopic('t', 'd', 'a b')).toThrow('Invalid command id "a b"');
    // Options that are not objects are an argument error, not a TypeError.
    expect(codeOf(() => shadowTopic('t', 'update', null as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => shadowRequestFilter(null as never))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => fleetTopicFilter('telemetry', null as never))).toBe('INVALID_ARGUMENT');
  });
});
