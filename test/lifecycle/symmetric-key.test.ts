import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  applyRevocations,
  computeEnrollmentProof,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  deriveDeviceKey,
  planDecommission,
  provisionWithSymmetricKey,
} from '../../src/lifecycle/index.js';
import type { NonceLedger, SymmetricKeyProvisioningOptions, SymmetricKeyRequest } from '../../src/lifecycle/index.js';

const groupKey = randomBytes(64).toString('base64');
const groups = createEnrollmentGroups([
  { groupId: 'field-sensors', key: groupKey, tenantId: 'acme' },
  { groupId: 'paused', key: randomBytes(32).toString('base64'), tenantId: 'acme', status: 'inactive' },
]);
const template = defineProvisioningTemplate({ name: 'enroll-v1', attributes: { group: '{{GroupId}}' } });
const NOW = 1_800_000_000_000;

function request(registrationId: string, nonce: string, timestamp = NOW, key = groupKey): SymmetricKeyRequest {
  const deviceKey = deriveDeviceKey(key, registrationId);
  return { groupId: 'field-sensors', registrationId, nonce, timestamp, proof: computeEnrollmentProof(deviceKey, nonce, timestamp) };
}

function options(extra: Partial<SymmetricKeyProvisioningOptions> = {}): SymmetricKeyProvisioningOptions {
  return { now: NOW, groups, revoked: createRevocationList(), seenNonces: new Map(), template, ...extra };
}

const nonceA = 'a'.repeat(32);

describe('symmetric-key enrollment', () => {
  it('derives the device key as HMAC-SHA256(group key, registration id), base64', () => {
    const expected = createHmac('sha256', Buffer.from(groupKey, 'base64')).update('sensor-1').digest('base64');
    expect(deriveDeviceKey(groupKey, 'sensor-1')).toBe(expected);
    expect(deriveDeviceKey(Buffer.from(groupKey, 'base64'), 'sensor-1')).toBe(expected);
    expect(deriveDeviceKey(groupKey, 'sensor-2')).not.toBe(expected);
  });

  it('provisions a device that proves its derived key; the record joins the group tenant', () => {
    const r = provisionWithSymmetricKey(request('sensor-0042', nonceA), options());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record).toMatchObject({ deviceId: 'sensor-0042', tenantId: 'acme', state: 'active', attributes: { group: 'field-sensors' } });
    expect(r.record.identity).toMatchObject({ kind: 'symmetric-key', groupId: 'field-sensors', registrationId: 'sensor-0042' });
    expect(r.seenNonces.size).toBe(1);
  });

  it('refuses a replayed nonce, and a stale or future timestamp', () => {
    const first = provisionWithSymmetricKey(request('sensor-1', nonceA), options());
    expect(first.ok).toBe(true);
    const replay = provisionWithSymmetricKey(request('sensor-1', nonceA), options({ seenNonces: first.seenNonces, now: NOW + 1_000 }));
    expect(!replay.ok && replay.error.code).toBe('REPLAY_DETECTED');
    const stale = provisionWithSymmetricKey(request('sensor-1', 'b'.repeat(32), NOW - 300_001), options());
    expect(!stale.ok && stale.error.code).toBe('REPLAY_DETECTED');
    const future = provisionWithSymmetricKey(request('sensor-1', 'c'.repeat(32), NOW + 300_001), options());
    expect(!future.ok && future.error.code).toBe('REPLAY_DETECTED');
    const edge = provisionWithSymmetricKey(request('sensor-1', 'd'.repeat(32), NOW - 300_000), options());
    expect(edge.ok).toBe(true);
  });

  it('the same nonce from another device is not a replay', () => {
    const first = provisionWithSymmetricKey(request('sensor-1', nonceA), options());
    const other = provisionWithSymmetricKey(request('sensor-2', nonceA), options({ seenNonces: first.seenNonces }));
    expect(other.ok).toBe(true);
  });

  it('refuses a wrong proof, a wrong key, unknown and inactive groups, malformed requests', () => {
    const good = request('sensor-1', nonceA);
    const cases: [unknown, string][] = [
      [{ ...good, proof: computeEnrollmentProof(deriveDeviceKey(groupKey, 'sensor-2'), nonceA, NOW) }, 'ENROLLMENT_INVALID'],
      [request('sensor-1', nonceA, NOW, randomBytes(64).toString('base64')), 'ENROLLMENT_INVALID'],
      [{ ...good, timestamp: NOW + 1 }, 'ENROLLMENT_INVALID'],
      [{ ...good, groupId: 'nope' }, 'ENROLLMENT_INVALID'],
      [{ ...good, groupId: 'paused' }, 'ENROLLMENT_INVALID'],
      [{ ...good, nonce: 'short' }, 'ENROLLMENT_INVALID'],
      [{ ...good, registrationId: 'Sensor/1' }, 'ENROLLMENT_INVALID'],
      [{ ...good, extra: true }, 'ENROLLMENT_INVALID'],
      ['not an object', 'ENROLLMENT_INVALID'],
    ];
    for (const [req, code] of cases) {
      const r = provisionWithSymmetricKey(req, options());
      expect(!r.ok && r.error.code).toBe(code);
    }
  });

  it('records a nonce only after the proof is verified (unauthenticated requests cannot fill the ledger)', () => {
    const forged = { ...request('sensor-1', nonceA), proof: Buffer.alloc(32).toString('base64') };
    const r = provisionWithSymmetricKey(forged, options());
    expect(r.ok).toBe(false);
    expect(r.seenNonces.size).toBe(0);
    const genuine = provisionWithSymmetricKey(request('sensor-1', nonceA), options({ seenNonces: r.seenNonces }));
    expect(genuine.ok).toBe(true);
  });

  it('never mutates the ledger passed in, and drops entries older than the window', () => {
    const ledger: NonceLedger = new Map([['old', NOW - 10 * 300_000]]);
    const r = provisionWithSymmetricKey(request('sensor-1', nonceA), options({ seenNonces: ledger }));
    expect([...ledger.keys()]).toEqual(['old']);
    expect([...r.seenNonces.keys()]).toHaveLength(1);
    expect(r.seenNonces.has('old')).toBe(false);
  });

  it('property: a nonce is accepted at most once per device, whatever the order of requests', () => {
    const req = fc.record({ device: fc.integer({ min: 1, max: 3 }), nonce: fc.integer({ min: 1, max: 4 }), dt: fc.integer({ min: 0, max: 90_000 }) });
    fc.assert(
      fc.property(fc.array(req, { maxLength: 30 }), (reqs) => {
        let ledger: NonceLedger = new Map();
        let now = NOW;
        const accepted = new Set<string>();
        for (const { device, nonce, dt } of reqs) {
          now += dt;
          const id = `dev-${device}`;
          const r = provisionWithSymmetricKey(request(id, `n${String(nonce).padStart(20, '0')}`, NOW), options({ now, seenNonces: ledger }));
          ledger = r.seenNonces;
          if (r.ok) {
            const key = `${id}/${nonce}`;
            expect(accepted.has(key)).toBe(false);
            accepted.add(key);
          } else {
            expect(r.error.code).toBe('REPLAY_DETECTED');
          }
        }
      }),
    );
  });

  it('after decommissioning, the enrollment can never provision again (CERT_REVOKED)', () => {
    const r = provisionWithSymmetricKey(request('sensor-9', nonceA), options());
    if (!r.ok) throw r.error;
    const plan = planDecommission(r.record, { reason: 'stolen', actor: 'secops', now: NOW + 1 });
    if (!plan.ok) throw plan.error;
    const revoked = applyRevocations(createRevocationList(), plan.effects);
    const again = provisionWithSymmetricKey(request('sensor-9', 'e'.repeat(32)), options({ revoked, now: NOW + 2 }));
    expect(!again.ok && again.error.code).toBe('CERT_REVOKED');
  });

  it('createEnrollmentGroups validates keys and ids', () => {
    expect(() => createEnrollmentGroups([{ groupId: 'g', key: 'c2hvcnQ=', tenantId: 't' }])).toThrow(/16 bytes/);
    expect(() => createEnrollmentGroups([{ groupId: 'G!', key: groupKey, tenantId: 't' }])).toThrow(/groupId/);
    expect(() => createEnrollmentGroups([{ groupId: 'g', key: groupKey, tenantId: 't' }, { groupId: 'g', key: groupKey, tenantId: 't' }])).toThrow(/duplicate/);
    // a tenant id devices could never join is a configuration error, caught up front
    expect(() => createEnrollmentGroups([{ groupId: 'g', key: groupKey, tenantId: 'acme corp/eu' }])).toThrow(/tenantId/);
    expect(() => createEnrollmentGroups({ groupId: 'g' } as unknown as unknown[])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    try {
      createEnrollmentGroups([{ groupId: 'g', key: groupKey, tenantId: '' }]);
      expect.unreachable();
    } catch (e) {
      // the group key is a secret: never in the message or details
      expect(JSON.stringify(e) + String(e)).not.toContain(groupKey);
    }
    expect(() => provisionWithSymmetricKey(request('s', nonceA), options({ replayWindowMs: 0 }))).toThrow(/replayWindowMs/);
    expect(() => provisionWithSymmetricKey(request('s', nonceA), options({ now: Number.NaN }))).toThrow(/finite/);
  });
});

describe('createEnrollmentGroups: refusals and defaults, exactly', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const caught = (f: () => unknown): unknown => {
    try {
      f();
    } catch (e) {
      return e;
    }
    throw new Error('expected a throw');
  };

  it('an entry that fails its schema is named by its index, never echoing the key', () => {
    const e = caught(() => createEnrollmentGroups([{ groupId: 'a', key, tenantId: 't' }, { groupId: 'b', key, tenantId: '' }]));
    expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, details: { index: 1 } });
    expect((e as Error).message).toMatch(/^createEnrollmentGroups: entry 1 must be \{ groupId, key \(base64, ≥ 16 bytes\), status\?, tenantId \}: tenantId: /);
  });

  it('a duplicate id names the id and the index of the repeat', () => {
    const e = caught(() => createEnrollmentGroups([{ groupId: 'a', key, tenantId: 't' }, { groupId: 'b', key, tenantId: 't' }, { groupId: 'a', key, tenantId: 'u' }]));
    expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: 'createEnrollmentGroups: duplicate group id "a"; give each group a unique id', details: { index: 2, groupId: 'a' } });
  });

  it('not an array', () => {
    expect(caught(() => createEnrollmentGroups('g' as never))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      status: 400,
      message: 'createEnrollmentGroups: pass an array of { groupId, key, status?, tenantId }, got "g"',
    });
  });

  it('a group is active unless its status says otherwise; the key is decoded', () => {
    const groups = createEnrollmentGroups([
      { groupId: 'a', key, tenantId: 't' },
      { groupId: 'b', key, tenantId: 't', status: 'inactive' },
    ]);
    expect(groups.get('a')).toMatchObject({ groupId: 'a', status: 'active', tenantId: 't' });
    expect(groups.get('b')?.status).toBe('inactive');
    expect(Buffer.from(groups.get('a')!.key).equals(Buffer.alloc(32, 7))).toBe(true);
  });
});
