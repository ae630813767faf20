/**
 * The error contract of the lifecycle entry points under bad arguments: the code and status, the
 * function and the argument named in the message, the value described (never converted), and
 * the details. test/robustness.test.ts checks that nothing but a FleetError comes out; this file
 * checks that it is the right one.
 */
import { describe, expect, it } from 'vitest';
import type { FleetError } from '../../src/errors.js';
import { isFleetError } from '../../src/errors.js';
import {
  DEFAULT_TRANSITION_TABLE,
  LIFECYCLE_EVENTS,
  acceptedEvents,
  applyRevocations,
  certificatesExpiring,
  computeEnrollmentProof,
  createCaRegistry,
  createDeviceSnapshot,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  deriveDeviceKey,
  extendTransitionTable,
  isLifecycleEventType,
  isLifecycleState,
  isRevoked,
  lifecycleMachineConfig,
  normalizeSerial,
  parseDeviceSnapshot,
  parseSubject,
  planDecommission,
  provisionWithCertificate,
  provisionWithSymmetricKey,
  revocationFor,
  revocationKey,
  setCaStatus,
  transition,
  verifyDeviceCertificate,
} from '../../src/lifecycle/index.js';
import type { DecommissionOptions, DeviceRecord, DeviceSnapshot, LifecycleEvent, TransitionOptions } from '../../src/lifecycle/index.js';

/** The FleetError `f` throws; fails when it returns or throws anything else. */
function thrown(f: () => unknown): FleetError {
  try {
    f();
  } catch (e) {
    if (isFleetError(e)) return e;
    throw e;
  }
  throw new Error('expected a FleetError, but the call returned');
}

/** The INVALID_ARGUMENT (400) `f` throws, with every fragment in its message. */
function argumentError(f: () => unknown, ...fragments: string[]): FleetError {
  const e = thrown(f);
  expect(e.code).toBe('INVALID_ARGUMENT');
  expect(e.status).toBe(400);
  for (const text of fragments) expect(e.message).toContain(text);
  return e;
}

const conversionHook = (): never => {
  throw new Error('a conversion hook was called');
};
const hostile = { toString: conversionHook, valueOf: conversionHook, toJSON: conversionHook };

const snap = (extra: Record<string, unknown> = {}): DeviceSnapshot =>
  ({ deviceId: 'dev-1', tenantId: 'acme', state: 'active', since: 1_000, updatedAt: 2_000, ...extra }) as DeviceSnapshot;

function refusal(s: unknown, e: unknown, o: unknown): FleetError {
  const r = transition(s as DeviceSnapshot, e as LifecycleEvent, o as TransitionOptions);
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
}

describe('transition: what each refusal says', () => {
  it('names a missing snapshot or event and what it got', () => {
    for (const [s, got] of [[null, 'got null'], [5, 'got number'], [undefined, 'got undefined']] as const) {
      const e = refusal(s, { type: 'heartbeat' }, { now: 3_000 });
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.status).toBe(400);
      expect(e.message).toBe(`transition: the snapshot must be an object { deviceId, tenantId, state, since, updatedAt? }, ${got}`);
      expect(e.details).toEqual({});
    }
    for (const [ev, got] of [[null, 'got null'], ['heartbeat', 'got string']] as const) {
      expect(refusal(snap(), ev, { now: 3_000 }).message).toBe(`transition: the event must be an object { type, actor?, reason? }, ${got}`);
    }
  });

  it('names the identity field the record lacks', () => {
    const noTenant = refusal({ deviceId: 'd', state: 'active', since: 1 }, { type: 'heartbeat' }, { now: 2 });
    expect(noTenant.details).toEqual({ field: 'tenantId' });
    expect(noTenant.message).toContain("transition: the snapshot's tenantId must be a string field of the record, got undefined");
    const badDevice = refusal({ deviceId: hostile, tenantId: 't', state: 'active', since: 1 }, { type: 'heartbeat' }, { now: 2 });
    expect(badDevice.details).toEqual({ field: 'deviceId' });
    expect(badDevice.message).toContain('got an object');
  });

  it('lists the states for an unknown state and the accepted events for an unknown event type', () => {
    const state = refusal(snap({ state: 'zombie' }), { type: 'heartbeat' }, { now: 3_000 });
    expect(state.message).toBe('transition: unknown state "zombie"; a snapshot\'s state is one of unprovisioned, provisioning, active, degraded, maintenance, decommissioned');
    expect(state.details).toEqual({ state: 'zombie' });
    const type = refusal(snap(), { type: 'reboot' }, { now: 3_000 });
    expect(type.message).toBe('transition: unknown event type "reboot"; "active" accepts health_check_failed, scheduled_update, heartbeat, end_of_life');
    expect(type.details).toEqual({ state: 'active', event: 'reboot' });
  });

  it('refuses a bad since even when updatedAt is fine, and a bad updatedAt', () => {
    for (const since of [Number.NaN, Infinity, '1', null]) {
      const e = refusal(snap({ since }), { type: 'heartbeat' }, { now: 3_000 });
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain("the snapshot's since (");
      expect(e.details).toEqual({ since: typeof since === 'string' ? `"${since}"` : String(since) });
    }
    for (const updatedAt of [-Infinity, Number.NaN, '2000']) {
      const e = refusal(snap({ updatedAt }), { type: 'heartbeat' }, { now: 3_000 });
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain("the snapshot's updatedAt (");
    }
  });

  it('gives now and the last event time when now is earlier, and INVALID_TRANSITION when now equals it', () => {
    const early = refusal(snap(), { type: 'heartbeat' }, { now: 1_999 });
    expect(early.details).toEqual({ now: 1_999, last: 2_000 });
    expect(early.message).toContain('now (1999) must be a finite epoch-ms time not earlier than the snapshot\'s last event (2000)');
    // at exactly the last event's time an event is in order: a refusal is about the pair
    const same = refusal(snap(), { type: 'config_complete' }, { now: 2_000 });
    expect(same.code).toBe('INVALID_TRANSITION');
    expect(same.status).toBe(409);
    expect(same.message).toBe(
      'Device "dev-1" is in state "active", which does not accept "config_complete"; events accepted in "active": health_check_failed, scheduled_update, heartbeat, end_of_life',
    );
    expect(transition(snap(), { type: 'heartbeat' }, { now: 2_000 }).ok).toBe(true);
  });

  it('reads only tables fleetkit built', () => {
    for (const table of [{}, { targets: {}, accepted: {} }, 5, hostile]) {
      const e = refusal(snap(), { type: 'heartbeat' }, { now: 3_000, table });
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain('transition: options.table must be a table built by extendTransitionTable');
    }
    const table = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [{ from: 'maintenance', event: 'end_of_life', to: 'decommissioned' }]);
    expect(transition(snap({ state: 'maintenance' }), { type: 'end_of_life' }, { now: 3_000, table }).ok).toBe(true);
  });

  it('an identity the record inherits is not its own: refused, on every path', () => {
    const withProto = (proto: object, own: Record<string, unknown>): DeviceSnapshot => Object.assign(Object.create(proto) as object, own) as unknown as DeviceSnapshot;
    // the extra key first, so that the record has five keys and only the missing own field differs
    const cases: DeviceSnapshot[] = [
      withProto({ deviceId: 'd' }, { site: 's', tenantId: 't', state: 'active', since: 1, updatedAt: 2 }),
      withProto({ tenantId: 't' }, { deviceId: 'd', site: 's', state: 'active', since: 1, updatedAt: 2 }),
      withProto({ deviceId: 'd' }, { tenantId: 't', state: 'decommissioned', since: 1, updatedAt: 2 }),
      withProto({ tenantId: 't' }, { deviceId: 'd', state: 'decommissioned', since: 1, updatedAt: 2 }),
    ];
    for (const s of cases) {
      const type = s.state === 'decommissioned' ? 'data_wiped' : 'heartbeat';
      const r = transition(s, { type }, { now: 3 });
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('inherited lifecycle fields are set on the copy; every own field is kept', () => {
    const withProto = (proto: object, own: Record<string, unknown>): DeviceSnapshot => Object.assign(Object.create(proto) as object, own) as unknown as DeviceSnapshot;
    const inheritedState = withProto({ state: 'active' }, { deviceId: 'd', tenantId: 't', site: 's', since: 1, updatedAt: 2 });
    const inheritedSince = withProto({ since: 1 }, { deviceId: 'd', tenantId: 't', state: 'active', site: 's', updatedAt: 2 });
    for (const s of [inheritedState, inheritedSince]) {
      const r = transition(s, { type: 'scheduled_update' }, { now: 3 });
      expect(r.ok && r.next).toEqual({ deviceId: 'd', tenantId: 't', site: 's', state: 'maintenance', since: 3, updatedAt: 3 });
    }
  });
});

describe('acceptedEvents and lifecycleMachineConfig', () => {
  it('acceptedEvents refuses an unknown state and a hand-made table', () => {
    argumentError(() => acceptedEvents('zombie' as 'active'), 'acceptedEvents: unknown state "zombie"; use one of unprovisioned, provisioning, active, degraded, maintenance, decommissioned');
    argumentError(() => acceptedEvents(hostile as unknown as 'active'), 'unknown state an object');
    argumentError(() => acceptedEvents('active', {} as never), 'acceptedEvents: table must be built by extendTransitionTable (or be DEFAULT_TRANSITION_TABLE), got an object');
    expect(acceptedEvents('active')).toEqual(['health_check_failed', 'scheduled_update', 'heartbeat', 'end_of_life']);
  });

  it('lifecycleMachineConfig names its bad arguments and defaults the id', () => {
    argumentError(() => lifecycleMachineConfig({} as never), 'lifecycleMachineConfig: table must be built by extendTransitionTable (or be DEFAULT_TRANSITION_TABLE), got an object');
    argumentError(() => lifecycleMachineConfig(DEFAULT_TRANSITION_TABLE, 5 as never), 'lifecycleMachineConfig: id must be a string, got 5');
    const config = lifecycleMachineConfig();
    expect(config.id).toBe('deviceLifecycle');
    expect(config.initial).toBe('unprovisioned');
    expect(config.states.removed).toEqual({ type: 'final' });
    expect(config.states.decommissioned).toEqual({ on: { data_wiped: 'removed' } });
  });
});

describe('extendTransitionTable', () => {
  const rule = { from: 'maintenance', event: 'end_of_life', to: 'decommissioned' } as const;

  it('builds a table whose rules, extensions and accepted events include the new rule', () => {
    const table = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [rule]);
    expect(table.rules).toHaveLength(DEFAULT_TRANSITION_TABLE.rules.length + 1);
    expect(table.rules.at(-1)).toEqual(rule);
    expect(table.extensions).toEqual([rule]);
    expect(table.accepted.maintenance).toEqual(['update_complete', 'update_failed', 'end_of_life']);
    expect(table.accepted.active).toEqual(DEFAULT_TRANSITION_TABLE.accepted.active);
    const again = extendTransitionTable(table, [{ from: 'degraded', event: 'heartbeat', to: 'degraded' }]);
    expect(again.extensions).toEqual([rule, { from: 'degraded', event: 'heartbeat', to: 'degraded' }]);
    expect(again.accepted.degraded).toEqual(LIFECYCLE_EVENTS.filter((e) => ['heartbeat', 'auto_recovery', 'manual_intervention', 'unrecoverable'].includes(e)));
  });

  it('says why each rule is refused and carries the rule in the details', () => {
    const cases: [unknown, string][] = [
      [{ from: 'active', event: 'reboot', to: 'active' }, 'extendTransitionTable: each rule is { from: state, event: event type, to: state | null }: event:'],
      [{ from: 'decommissioned', event: 'heartbeat', to: 'active' }, 'extendTransitionTable: "decommissioned" is terminal; no rule may leave it (only the built-in data_wiped removes the record)'],
      [{ from: 'active', event: 'data_wiped', to: 'active' }, 'extendTransitionTable: data_wiped always removes the record; use to: null'],
      [{ from: 'active', event: 'reboot' as never, to: null }, 'each rule is'],
      [{ from: 'maintenance', event: 'heartbeat', to: null }, 'extendTransitionTable: only data_wiped may remove the record (to: null); give "heartbeat" a target state'],
      [{ from: 'active', event: 'heartbeat', to: 'degraded' }, 'extendTransitionTable: "active" already handles "heartbeat" (→ active); existing transitions cannot be redefined, only new ones added'],
    ];
    for (const [raw, message] of cases) {
      const e = argumentError(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [raw]), message);
      expect(e.details).toEqual({ rule: raw });
    }
  });

  it('refuses a base it did not build and rules that are not an array', () => {
    argumentError(() => extendTransitionTable({} as never, [rule]), 'extendTransitionTable: base must be a table: DEFAULT_TRANSITION_TABLE or one returned by extendTransitionTable');
    const e = argumentError(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, 'rules' as never), 'extendTransitionTable: rules must be an array of { from, event, to }');
    expect(e.details).toEqual({ rule: '"rules"' });
    argumentError(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [, rule] as never), 'each rule is');
  });
});

describe('snapshots and states', () => {
  it('createDeviceSnapshot names each bad part', () => {
    const cases: [Record<string, unknown>, Record<string, string>][] = [
      [{ deviceId: 5, tenantId: 't', now: 1 }, { deviceId: '5', tenantId: '"t"', now: '1' }],
      [{ deviceId: 'd', tenantId: null, now: 1 }, { deviceId: '"d"', tenantId: 'null', now: '1' }],
      [{ deviceId: 'd', tenantId: 't', now: '1' }, { deviceId: '"d"', tenantId: '"t"', now: '"1"' }],
      [{ deviceId: '', tenantId: 't', now: 1 }, { deviceId: '""', tenantId: '"t"', now: '1' }],
      [{ deviceId: 'd', tenantId: 'x'.repeat(129), now: 1 }, { deviceId: '"d"', tenantId: `"${'x'.repeat(80)}…"`, now: '1' }],
      [{ deviceId: 'd', tenantId: 't', now: Number.NaN }, { deviceId: '"d"', tenantId: '"t"', now: 'NaN' }],
    ];
    for (const [init, details] of cases) {
      const e = argumentError(() => createDeviceSnapshot(init as never), 'createDeviceSnapshot: deviceId and tenantId must be 1–128 characters and now a finite epoch-ms number');
      expect(e.details).toEqual(details);
    }
  });

  it('parseDeviceSnapshot lists every issue with its path', () => {
    const e = thrown(() => parseDeviceSnapshot({ state: 'active', since: 1 }));
    expect(e.code).toBe('INVALID_INPUT');
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/^Invalid device snapshot: deviceId: .+; tenantId: .+$/);
    expect(e.details?.['issues']).toEqual([
      { path: ['deviceId'], message: expect.any(String) },
      { path: ['tenantId'], message: expect.any(String) },
    ]);
  });

  it('isLifecycleState and isLifecycleEventType are exact', () => {
    for (const v of ['active', 'decommissioned']) expect(isLifecycleState(v)).toBe(true);
    for (const v of ['heartbeat', 'data_wiped']) expect(isLifecycleEventType(v)).toBe(true);
    for (const v of ['heartbeat', 'toString', '', 5, null, undefined, ['active'], { toString: () => 'active' }]) expect(isLifecycleState(v)).toBe(false);
    for (const v of ['active', 'constructor', 5, null, ['heartbeat']]) expect(isLifecycleEventType(v)).toBe(false);
  });
});

describe('keys, proofs, serials and revocations', () => {
  it('deriveDeviceKey and computeEnrollmentProof name the argument of the wrong type', () => {
    const key = Buffer.alloc(32, 7);
    argumentError(() => deriveDeviceKey(5 as never, 'r'), 'deriveDeviceKey: groupKey must be a base64 string or bytes (a Uint8Array), got 5');
    argumentError(() => deriveDeviceKey(key, 10n as never), 'deriveDeviceKey: registrationId must be a string, got 10n');
    argumentError(() => computeEnrollmentProof(hostile as never, 'n', 1), 'computeEnrollmentProof: deviceKey must be a base64 string or bytes (a Uint8Array), got an object');
    argumentError(() => computeEnrollmentProof(key, Symbol('n') as never, 1), 'computeEnrollmentProof: nonce must be a string, got Symbol(n)');
    argumentError(() => computeEnrollmentProof(key, 'n', Infinity), 'computeEnrollmentProof: timestamp must be a finite epoch-ms time, got Infinity');
    argumentError(() => computeEnrollmentProof(key, 'n', '1' as never), 'timestamp must be a finite epoch-ms time, got "1"');
    // bytes and their base64 text are the same key
    expect(deriveDeviceKey(key, 'r')).toBe(deriveDeviceKey(key.toString('base64'), 'r'));
    expect(computeEnrollmentProof(key, 'n', 1)).toBe(computeEnrollmentProof(key.toString('base64'), 'n', 1));
  });

  it('normalizeSerial, revocationKey, isRevoked and revocationFor refuse what they cannot read', () => {
    argumentError(() => normalizeSerial(0x1f as never), 'normalizeSerial: serial must be a string, got 31');
    expect(normalizeSerial('00:0a:Ff')).toBe('AFF');
    expect(normalizeSerial('000')).toBe('0');
    argumentError(() => revocationKey(null as never), "revocationKey: entry must be { kind: 'x509', issuer, serial } or { kind: 'enrollment', groupId, registrationId }, got null");
    argumentError(() => revocationKey({ kind: 'x509', issuer: 'CN=ca', serial: 5 } as never), 'revocationKey: entry must be', 'with string fields (kind "x509")');
    argumentError(() => revocationKey({ kind: 'enrollment', groupId: 'g' } as never), 'with string fields (kind "enrollment")');
    argumentError(() => revocationKey({ kind: 'crl', issuer: 'a', serial: 'b' } as never), 'with string fields (kind "crl")');
    expect(revocationKey({ kind: 'x509', issuer: 'CN=ca', serial: '0a' })).toBe('x509\u0000CN=ca\u0000A');
    expect(revocationKey({ kind: 'enrollment', groupId: 'g', registrationId: 'r' })).toBe('enrollment\u0000g\u0000r');
    const list = createRevocationList([{ kind: 'enrollment', groupId: 'g', registrationId: 'r' }]);
    argumentError(() => isRevoked([] as never, { kind: 'enrollment', groupId: 'g', registrationId: 'r' }), 'isRevoked: list must be a revocation list from createRevocationList, got an array');
    expect(isRevoked(list, { kind: 'enrollment', groupId: 'g', registrationId: 'r' })).toBe(true);
    expect(isRevoked(list, { kind: 'enrollment', groupId: 'g', registrationId: 's' })).toBe(false);
    argumentError(() => revocationFor(undefined as never), 'revocationFor: identity must be a device identity', 'got undefined');
    argumentError(() => revocationFor({ kind: 'password' } as never), "revocationFor: identity.kind must be 'x509' or 'symmetric-key', got \"password\"");
    expect(revocationFor({ kind: 'symmetric-key', fingerprint: 'f', groupId: 'g', registrationId: 'r' })).toEqual({ kind: 'enrollment', groupId: 'g', registrationId: 'r' });
  });

  it('createRevocationList and createCaRegistry check every entry, holes included', () => {
    const e = argumentError(() => createRevocationList([{ kind: 'enrollment', groupId: 'g', registrationId: 'r' }, , 1] as never), 'addRevocations: each entry is');
    expect(e.details).toEqual({ index: 1 });
    argumentError(() => createRevocationList('x' as never), 'addRevocations: entries must be an array of revocation entries, got "x"');
    argumentError(() => createCaRegistry([,] as never), 'createCaRegistry: entry 0 must be { id?, pem, status?, tenantId? }');
    argumentError(() => createCaRegistry(7 as never), 'createCaRegistry: pass an array of { id?, pem, status?, tenantId? }, got 7');
  });

  it('setCaStatus takes a registry it built, a known id and a real status', () => {
    const registry = createCaRegistry([]);
    argumentError(() => setCaStatus({ cas: [] } as never, 'x', 'active'), 'setCaStatus: the CA registry must come from createCaRegistry, got an object');
    argumentError(() => setCaStatus(registry, 'x', 'retired' as never), "setCaStatus: status must be 'active' or 'inactive', got \"retired\"");
    const missing = thrown(() => setCaStatus(registry, 'x', 'inactive'));
    expect(missing.code).toBe('INVALID_ARGUMENT');
    expect(missing.status).toBe(404);
    expect(missing.message).toBe('setCaStatus: no CA with id "x"; registered ids: ');
    expect(missing.details).toEqual({ id: 'x' });
    expect(thrown(() => setCaStatus(registry, 10n as never, 'inactive')).details).toEqual({ id: '10n' });
  });

  it('parseSubject and verifyDeviceCertificate refuse arguments of the wrong type', () => {
    argumentError(() => parseSubject(undefined as never), 'parseSubject: subject must be a string, got undefined');
    const cas = createCaRegistry([]);
    const revoked = createRevocationList();
    argumentError(() => verifyDeviceCertificate('pem', null as never), 'verifyDeviceCertificate: context must be an object { now, cas, revoked }, got null');
    argumentError(() => verifyDeviceCertificate('pem', { now: '1', cas, revoked } as never), 'verifyDeviceCertificate: now must be an epoch-ms time (a finite number within ±8.64e15), got "1"');
    argumentError(() => verifyDeviceCertificate('pem', { now: 1, cas: { cas: [] }, revoked } as never), 'verifyDeviceCertificate: the CA registry must come from createCaRegistry, got an object');
    argumentError(() => verifyDeviceCertificate('pem', { now: 1, cas, revoked: [] } as never), 'verifyDeviceCertificate: revoked must be a revocation list from createRevocationList, got an array');
    const r = verifyDeviceCertificate('not a certificate', { now: 1, cas, revoked });
    expect(!r.ok && r.error.code).toBe('CERT_INVALID');
  });
});

describe('provisioning options', () => {
  const template = defineProvisioningTemplate({ name: 't' });
  const groups = createEnrollmentGroups([{ groupId: 'g', key: Buffer.alloc(32, 1).toString('base64'), tenantId: 'acme' }]);
  const base = { now: 1_700_000_000_000, groups, revoked: createRevocationList(), seenNonces: new Map<string, number>(), template };

  it('provisionWithCertificate and provisionWithSymmetricKey refuse options that are not objects', () => {
    argumentError(() => provisionWithCertificate('pem', 5 as never), 'provisionWithCertificate: options must be an object { now, cas, revoked, template, … }, got 5');
    argumentError(() => provisionWithSymmetricKey({}, null as never), 'provisionWithSymmetricKey: options must be an object { now, groups, revoked, seenNonces, template, … }, got null');
  });

  it('provisionWithSymmetricKey names each option of the wrong type', () => {
    argumentError(() => provisionWithSymmetricKey({}, { ...base, now: Number.NaN }), 'provisionWithSymmetricKey: now must be a finite epoch-ms time, got NaN');
    argumentError(() => provisionWithSymmetricKey({}, { ...base, replayWindowMs: 0 }), 'provisionWithSymmetricKey: replayWindowMs must be a positive number of ms, got 0');
    argumentError(() => provisionWithSymmetricKey({}, { ...base, replayWindowMs: '5' as never }), 'replayWindowMs must be a positive number of ms, got "5"');
    argumentError(() => provisionWithSymmetricKey({}, { ...base, groups: {} as never }), 'provisionWithSymmetricKey: groups must be the enrollment groups from createEnrollmentGroups, got an object');
    argumentError(() => provisionWithSymmetricKey({}, { ...base, revoked: null as never }), 'provisionWithSymmetricKey: revoked must be a revocation list from createRevocationList, got null');
    argumentError(() => provisionWithSymmetricKey({}, { ...base, seenNonces: [] as never }), 'provisionWithSymmetricKey: seenNonces must be the nonce ledger (a Map; start with new Map()), got an array');
  });

  it('a corrupt nonce ledger entry is dropped, not compared', () => {
    const ledger = new Map<string, unknown>([
      ['a', hostile],
      ['b', base.now],
      ['c', '1700000000000'],
    ]);
    const r = provisionWithSymmetricKey({}, { ...base, seenNonces: ledger as never });
    expect([...r.seenNonces.keys()]).toEqual(['b']);
  });
});

describe('planDecommission: what each refusal says', () => {
  const NOW = 1_800_000_000_000;
  const x509 = { kind: 'x509', fingerprint: 'sha256:aa', issuer: 'CN=Fleet CA', serial: '1A2B', caId: 'root', notBefore: 0, notAfter: NOW } as const;
  const record = (state: string, extra: Record<string, unknown> = {}): DeviceRecord =>
    ({ deviceId: 'dev-1', tenantId: 'acme', state, since: NOW - 1, updatedAt: NOW - 1, identity: x509, policies: ['p'], ...extra }) as unknown as DeviceRecord;
  const good = { reason: 'end of contract', actor: 'ops', now: NOW };
  const refused = (r: unknown, o: unknown): FleetError => {
    const plan = planDecommission(r as DeviceRecord, o as DecommissionOptions);
    if (plan.ok) throw new Error('expected a refusal');
    return plan.error;
  };

  it('a record without an identity is decommissioned without a revocation; a null or malformed one is refused', () => {
    const plan = planDecommission(record('active', { identity: undefined, policies: undefined }), good);
    expect(plan.ok && plan.effects.map((e) => e.type)).toEqual(['detach-policies', 'cancel-pending', 'request-data-wipe', 'remove-from-monitoring', 'remove-from-billing', 'audit']);
    expect(plan.ok && plan.effects[0]).toEqual({ type: 'detach-policies', deviceId: 'dev-1', tenantId: 'acme', policies: [] });
    const prefix = "planDecommission: the record's identity is malformed, so its credential cannot be revoked; expected { kind: 'x509', issuer, serial, … } or { kind: 'symmetric-key', groupId, registrationId, … }";
    for (const identity of [null, { kind: 'password' }, 'x509']) {
      const e = refused(record('active', { identity }), good);
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.status).toBe(400);
      expect(e.message).toBe(prefix);
      expect(e.details).toEqual({ deviceId: 'dev-1' });
    }
    const partial = refused(record('active', { identity: { kind: 'x509', issuer: 'CN=ca' } }), good);
    expect(partial.message.startsWith(`${prefix}: `)).toBe(true);
    expect(partial.message).toContain('serial');
  });

  it('names a bad record, bad options and an unknown state', () => {
    expect(refused(null, good).message).toBe('planDecommission: record must be a device record object, got null');
    expect(refused(7, good).message).toBe('planDecommission: record must be a device record object, got number');
    expect(refused(7, good).status).toBe(400);
    const options = 'planDecommission: pass { reason, actor, now }; reason and actor are required non-empty strings (they go to the audit trail)';
    for (const o of [undefined, { ...good, reason: '  ' }, { ...good, reason: 5 }, { ...good, actor: '  ' }, { ...good, actor: 5 }]) {
      const e = refused(record('active'), o);
      expect(e.message).toBe(options);
      expect(e.status).toBe(400);
    }
    const state = refused(record('zombie'), good);
    expect(state.message).toBe('planDecommission: unknown state "zombie"; validate stored records with parseDeviceSnapshot');
    expect(state.details).toEqual({ state: 'zombie' });
    expect(refused(record('active'), { ...good, table: {} }).message).toBe('planDecommission: table must be built by extendTransitionTable, got an object');
  });

  it('says whether the device is already decommissioned or which states can be', () => {
    const done = refused(record('decommissioned'), good);
    expect(done.code).toBe('INVALID_TRANSITION');
    expect(done.status).toBe(409);
    expect(done.message).toBe('Device "dev-1" is already decommissioned');
    const stuck = refused(record('maintenance'), good);
    expect(stuck.message).toBe('Device "dev-1" in state "maintenance" cannot be decommissioned; states that can: degraded, active (extend the transition table to allow "maintenance")');
    expect(stuck.details).toEqual({ deviceId: 'dev-1', state: 'maintenance', decommissionableFrom: ['degraded', 'active'] });
    const wrong = refused(record('active'), { ...good, event: 'heartbeat' });
    expect(wrong.message).toBe('planDecommission: event "heartbeat" does not lead from "active" to "decommissioned"');
    expect(wrong.details).toEqual({ event: 'heartbeat' });
  });

  it('prefers end_of_life, then unrecoverable, then any event of the table that decommissions', () => {
    const both = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [{ from: 'active', event: 'unrecoverable', to: 'decommissioned' }]);
    const a = planDecommission(record('active'), { ...good, table: both });
    expect(a.ok && a.effects.at(-1)).toMatchObject({ event: 'end_of_life' });
    const other = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [{ from: 'maintenance', event: 'manual_intervention', to: 'decommissioned' }]);
    const m = planDecommission(record('maintenance'), { ...good, table: other });
    expect(m.ok && m.effects.at(-1)).toMatchObject({ event: 'manual_intervention', from: 'maintenance' });
  });

  it('applyRevocations returns the same list when no effect revokes, and names a bad effects argument', () => {
    const list = createRevocationList();
    expect(applyRevocations(list, [])).toBe(list);
    expect(applyRevocations(list, [{ type: 'audit' }] as never)).toBe(list);
    argumentError(() => applyRevocations(list, 'effects' as never), 'applyRevocations: effects must be the effects array of a decommission plan');
  });
});

describe('certificatesExpiring: what each refusal says', () => {
  const NOW = 1_800_000_000_000;
  const cert = (deviceId: unknown, notAfter: unknown): Record<string, unknown> => ({ deviceId, tenantId: 't', state: 'active', identity: { kind: 'x509', issuer: 'CN=ca', serial: String(deviceId), notAfter } });

  it('names a bad horizon and records that are not iterable', () => {
    for (const o of [{ within: -1, now: NOW }, { within: 1, now: Number.NaN }, { within: '1', now: NOW }, undefined]) {
      argumentError(() => certificatesExpiring([], o as never), 'certificatesExpiring: within must be a finite number of ms ≥ 0 and now a finite epoch-ms time (got within=');
    }
    argumentError(() => certificatesExpiring(5 as never, { within: 1, now: NOW }), 'certificatesExpiring: records must be an iterable of device records (an array or registry.values())');
  });

  it('names the entry that is not a record, or a certificate record it cannot read', () => {
    const e = argumentError(() => certificatesExpiring([cert('a', NOW), null] as never, { within: 1, now: NOW }), 'certificatesExpiring: entry 1 is null, not a device record');
    expect(e.details).toEqual({ index: 1 });
    argumentError(() => certificatesExpiring([cert('a', NOW), cert('b', NOW), 'x'] as never, { within: 1, now: NOW }), 'certificatesExpiring: entry 2 is string, not a device record');
    for (const bad of [cert('b', String(NOW)), cert(7, NOW), cert('b', hostile)]) {
      const c = argumentError(
        () => certificatesExpiring([cert('a', NOW), bad] as never, { within: 1, now: NOW }),
        'certificatesExpiring: entry 1 has an x509 identity without a numeric notAfter or a string deviceId; validate stored records',
      );
      expect(c.details).toEqual({ index: 1 });
    }
  });

  it('orders certificates that expire together by device id', () => {
    const plan = certificatesExpiring([cert('c', NOW), cert('a', NOW), cert('b', NOW), cert('a2', NOW - 1)] as never, { within: 0, now: NOW });
    expect(plan.items.map((i) => i.deviceId)).toEqual(['a2', 'a', 'b', 'c']);
    const twice = certificatesExpiring([cert('b', NOW), cert('b', NOW), cert('a', NOW)] as never, { within: 0, now: NOW });
    expect(twice.items.map((i) => i.deviceId)).toEqual(['a', 'b', 'b']);
  });
});
