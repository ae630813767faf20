import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRANSITION_TABLE,
  applyRevocations,
  certificatesExpiring,
  createRevocationList,
  evaluateHealth,
  extendTransitionTable,
  heartbeatStatus,
  isRevoked,
  planDecommission,
  revocationFor,
} from '../../src/lifecycle/index.js';
import type { DecommissionOptions, DeviceIdentity, DeviceRecord, LifecycleState, RotationCandidate } from '../../src/lifecycle/index.js';
import { STATES } from './spec-table.js';

const NOW = 1_800_000_000_000;
const DAY = 86_400_000;
const x509: DeviceIdentity = { kind: 'x509', fingerprint: 'sha256:aa', issuer: 'CN=Fleet CA', serial: '1A2B', caId: 'root', notBefore: NOW - 100 * DAY, notAfter: NOW + 10 * DAY };

function record(state: LifecycleState, identity: DeviceIdentity = x509, deviceId = 'dev-1'): DeviceRecord {
  return {
    deviceId,
    tenantId: 'acme',
    state,
    since: NOW - DAY,
    updatedAt: NOW - DAY,
    identity,
    attributes: {},
    desiredConfig: {},
    policies: ['acme-telemetry', 'acme-ota'],
    template: 't',
    provisionedAt: NOW - 100 * DAY,
  };
}

describe('planDecommission', () => {
  it('emits the ordered effects: revoke, detach, cancel, wipe, monitoring, billing, audit', () => {
    const plan = planDecommission(record('active'), { reason: 'end of contract', actor: 'ops@acme', now: NOW });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.next).toMatchObject({ state: 'decommissioned', since: NOW, updatedAt: NOW });
    expect(plan.effects.map((e) => e.type)).toEqual([
      'revoke-credential',
      'detach-policies',
      'cancel-pending',
      'request-data-wipe',
      'remove-from-monitoring',
      'remove-from-billing',
      'audit',
    ]);
    expect(plan.effects[0]).toMatchObject({ revocation: { kind: 'x509', issuer: 'CN=Fleet CA', serial: '1A2B' } });
    expect(plan.effects[1]).toMatchObject({ policies: ['acme-telemetry', 'acme-ota'] });
    expect(plan.effects[2]).toMatchObject({ scopes: ['rollout-actions', 'commands'] });
    expect(plan.effects[6]).toEqual({
      type: 'audit',
      deviceId: 'dev-1',
      tenantId: 'acme',
      from: 'active',
      to: 'decommissioned',
      event: 'end_of_life',
      actor: 'ops@acme',
      reason: 'end of contract',
      at: NOW,
    });
  });

  it('uses unrecoverable from degraded, and refuses states the table does not decommission from', () => {
    const degraded = planDecommission(record('degraded'), { reason: 'water damage', actor: 'ops', now: NOW });
    expect(degraded.ok && degraded.effects.at(-1)).toMatchObject({ event: 'unrecoverable', from: 'degraded' });
    for (const state of ['unprovisioned', 'provisioning', 'maintenance', 'decommissioned'] as const) {
      const r = planDecommission(record(state), { reason: 'x', actor: 'ops', now: NOW });
      expect(!r.ok && r.error.code).toBe('INVALID_TRANSITION');
    }
    const table = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [{ from: 'maintenance', event: 'end_of_life', to: 'decommissioned' }]);
    expect(planDecommission(record('maintenance'), { reason: 'x', actor: 'ops', now: NOW, table }).ok).toBe(true);
  });

  it('requires a reason and an actor, and an event that really decommissions', () => {
    expect(planDecommission(record('active'), { reason: ' ', actor: 'ops', now: NOW })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(planDecommission(record('active'), { reason: 'x', actor: '', now: NOW })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    expect(planDecommission(record('active'), { reason: 'x', actor: 'ops', now: NOW, event: 'heartbeat' })).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
  });

  it('refuses a missing record or options and an unknown state with INVALID_ARGUMENT, never a TypeError', () => {
    const good = { reason: 'x', actor: 'ops', now: NOW };
    const cases: [unknown, unknown][] = [
      [null, good],
      [record('active'), undefined],
      [{ ...record('active'), state: 'zombie' }, good],
      [{ ...record('active'), state: 'toString' }, good],
      [{ ...record('active'), state: 10n }, good],
      // a credential that cannot be revoked must not be decommissioned as if it had been
      [{ ...record('active'), identity: null }, good],
      [{ ...record('active'), identity: { kind: 'x509', issuer: '', serial: 'zz' } }, good],
      [{ ...record('active'), identity: { kind: 'symmetric-key', groupId: 'g' } }, good],
      [{ ...record('active'), identity: { kind: 'password' } }, good],
    ];
    for (const [r, o] of cases) {
      const plan = planDecommission(r as DeviceRecord, o as DecommissionOptions);
      expect(!plan.ok && plan.error.code).toBe('INVALID_ARGUMENT');
    }
  });

  it('property: any record shape is planned or refused with a FleetError, and an accepted plan always revokes cleanly', () => {
    const junk = fc.oneof(fc.anything(), fc.constantFrom<unknown>({ toString: {} }, 10n, null));
    const identityArb = fc.oneof(
      junk,
      fc.constant(x509),
      fc.record({ kind: fc.constantFrom('x509', 'symmetric-key'), issuer: junk, serial: junk, groupId: junk, registrationId: junk }, { requiredKeys: ['kind'] }),
    );
    const recordArb = fc.record(
      { deviceId: fc.constant('d'), tenantId: fc.constant('t'), state: fc.oneof(fc.constantFrom(...STATES), junk), since: fc.oneof(fc.constant(NOW - DAY), junk), identity: identityArb },
      { requiredKeys: ['deviceId', 'tenantId', 'state', 'since'] },
    );
    fc.assert(
      fc.property(recordArb, (r) => {
        const plan = planDecommission(r as unknown as DeviceRecord, { reason: 'x', actor: 'ops', now: NOW });
        if (!plan.ok) {
          expect(['INVALID_ARGUMENT', 'INVALID_TRANSITION']).toContain(plan.error.code);
          return;
        }
        const list = applyRevocations(createRevocationList(), plan.effects);
        expect(list.size).toBe(r.identity === undefined ? 0 : 1);
      }),
      { numRuns: 300 },
    );
  });

  it('revokes symmetric-key enrollments by group and registration id', () => {
    const identity: DeviceIdentity = { kind: 'symmetric-key', fingerprint: 'sha256:bb', groupId: 'g', registrationId: 'r-1' };
    const plan = planDecommission(record('active', identity), { reason: 'x', actor: 'ops', now: NOW });
    if (!plan.ok) throw plan.error;
    const list = applyRevocations(createRevocationList(), plan.effects);
    expect(isRevoked(list, { kind: 'enrollment', groupId: 'g', registrationId: 'r-1' })).toBe(true);
    expect(isRevoked(list, { kind: 'enrollment', groupId: 'g', registrationId: 'r-2' })).toBe(false);
  });

  it('property: from any state, decommissioning either succeeds with a revocation first and an audit last, or changes nothing', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATES), fc.string({ minLength: 1, maxLength: 20 }), (state, reason) => {
        const before = record(state);
        const copy = structuredClone(before);
        const plan = planDecommission(before, { reason: `r:${reason}`, actor: 'ops', now: NOW });
        expect(before).toEqual(copy);
        if (!plan.ok) return;
        expect(plan.effects[0]?.type).toBe('revoke-credential');
        expect(plan.effects.at(-1)?.type).toBe('audit');
        expect(plan.effects.filter((e) => e.type === 'audit')).toHaveLength(1);
        const list = applyRevocations(createRevocationList(), plan.effects);
        expect(isRevoked(list, revocationFor(before.identity))).toBe(true);
      }),
    );
  });

  it('a decommissioned device raises no health alerts', () => {
    const plan = planDecommission(record('active'), { reason: 'x', actor: 'ops', now: NOW });
    if (!plan.ok) throw plan.error;
    const state = plan.next.state;
    expect(evaluateHealth({ at: NOW, batteryPct: 0, rssiDbm: -130 }, {}, { state }).reasons).toEqual([]);
    expect(heartbeatStatus(NOW - 10 * DAY, NOW, { state })).toMatchObject({ flagged: false, event: undefined });
  });
});

describe('certificatesExpiring', () => {
  const at = (deviceId: string, notAfter: number, state: LifecycleState = 'active'): DeviceRecord => record(state, { ...x509, notAfter, serial: deviceId }, deviceId);

  it('lists certificate devices expiring within the horizon, soonest first, and marks expired ones for re-provisioning', () => {
    const records = [
      at('later', NOW + 40 * DAY),
      at('soon', NOW + 5 * DAY),
      at('expired', NOW - DAY),
      at('edge', NOW + 30 * DAY),
      at('gone', NOW + DAY, 'decommissioned'),
      record('active', { kind: 'symmetric-key', fingerprint: 'sha256:cc', groupId: 'g', registrationId: 'r' }, 'sym'),
    ];
    const plan = certificatesExpiring(records, { within: 30 * DAY, now: NOW });
    expect(plan.items.map((i) => [i.deviceId, i.action])).toEqual([
      ['expired', 'reprovision'],
      ['soon', 'rotate'],
      ['edge', 'rotate'],
    ]);
    expect(plan.items[1]?.expiresInMs).toBe(5 * DAY);
    expect(plan).toMatchObject({ generatedAt: NOW, within: 30 * DAY });
  });

  it('property: exactly the x509, non-decommissioned records with notAfter ≤ now + within, sorted', () => {
    const rec = fc.record({ offset: fc.integer({ min: -50, max: 50 }), state: fc.constantFrom(...STATES) });
    fc.assert(
      fc.property(fc.array(rec, { maxLength: 30 }), fc.integer({ min: 0, max: 40 }), (specs, within) => {
        const records = specs.map((s, i) => at(`d-${i}`, NOW + s.offset * DAY, s.state));
        const plan = certificatesExpiring(records, { within: within * DAY, now: NOW });
        const want = specs.filter((s) => s.state !== 'decommissioned' && s.offset <= within).length;
        expect(plan.items).toHaveLength(want);
        for (let i = 1; i < plan.items.length; i++) expect(plan.items[i]?.notAfter).toBeGreaterThanOrEqual(plan.items[i - 1]?.notAfter ?? 0);
        for (const item of plan.items) expect(item.action).toBe(item.notAfter < NOW ? 'reprovision' : 'rotate');
      }),
    );
  });

  it('skips records that have no credential yet, so a whole registry can be passed', () => {
    const preRegistered: RotationCandidate = { deviceId: 'pre', tenantId: 'acme', state: 'unprovisioned' };
    const plan = certificatesExpiring(new Map([['pre', preRegistered], ['soon', at('soon', NOW + DAY)]]).values(), { within: 30 * DAY, now: NOW });
    expect(plan.items.map((i) => i.deviceId)).toEqual(['soon']);
  });

  it('refuses records that are not an iterable of objects', () => {
    for (const bad of [undefined, 42, [null], [1]]) {
      expect(() => certificatesExpiring(bad as unknown as RotationCandidate[], { within: DAY, now: NOW })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
  });

  it('refuses a bad horizon', () => {
    expect(() => certificatesExpiring([], { within: -1, now: NOW })).toThrow(/within/);
    expect(() => certificatesExpiring([], { within: Number.NaN, now: NOW })).toThrow(/within/);
  });
});
