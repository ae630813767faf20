// The refusals, boundaries and effects of symmetric-key enrollment and template filling that callers
// rely on: exact codes, statuses and details, the replay window's edges, the group map's shape checks,
// and the effect list a provisioning produces. Every call of the code under test happens inside a test
// (not at module load), so each check is attributable to the test that makes it.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FleetError,
  addRevocations,
  computeEnrollmentProof,
  createEnrollmentGroups,
  createRevocationList,
  defineProvisioningTemplate,
  deriveDeviceKey,
  fillProvisioningTemplate,
  provisionWithSymmetricKey,
} from '../../src/lifecycle/index.js';
import type { ProvisioningTemplate, SymmetricKeyProvisioningOptions, SymmetricKeyRequest, TemplateParameters } from '../../src/lifecycle/index.js';
import { thrownFleetError as thrown } from '../support/hostile.js';

const NOW = 1_800_000_000_000;
const WINDOW = 300_000;
const groupKey = Buffer.alloc(32, 7).toString('base64');
const NONCE = 'n'.repeat(32);

function groups(): ReturnType<typeof createEnrollmentGroups> {
  return createEnrollmentGroups([
    { groupId: 'field-sensors', key: groupKey, tenantId: 'acme' },
    { groupId: 'paused', key: Buffer.alloc(16, 1).toString('base64'), tenantId: 'acme', status: 'inactive' },
  ]);
}

function request(registrationId: string, nonce = NONCE, timestamp = NOW): SymmetricKeyRequest {
  return { groupId: 'field-sensors', registrationId, nonce, timestamp, proof: computeEnrollmentProof(deriveDeviceKey(groupKey, registrationId), nonce, timestamp) };
}

function options(extra: Partial<SymmetricKeyProvisioningOptions> = {}): SymmetricKeyProvisioningOptions {
  return {
    now: NOW,
    groups: groups(),
    revoked: createRevocationList(),
    seenNonces: new Map(),
    template: defineProvisioningTemplate({ name: 'enroll-v1' }),
    replayWindowMs: WINDOW,
    ...extra,
  };
}

function refusal(r: { ok: boolean; error?: FleetError }): { code: string; status: number | undefined; details: unknown; message: string } {
  if (r.ok || r.error === undefined) throw new Error('expected a refusal');
  return { code: r.error.code, status: r.error.status, details: r.error.details, message: r.error.message };
}

describe('enrollment groups', () => {
  it('accepts a group key of exactly 16 bytes and refuses 15, naming the entry but never the key', () => {
    const ok = createEnrollmentGroups([{ groupId: 'g', key: Buffer.alloc(16, 9).toString('base64'), tenantId: 'acme' }]);
    expect(ok.get('g')?.key).toHaveLength(16);
    const short = Buffer.alloc(15, 9).toString('base64');
    const e = thrown(() => createEnrollmentGroups([{ groupId: 'g', key: short, tenantId: 'acme' }]));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.status).toBe(400);
    expect(e.details).toEqual({ index: 0 });
    expect(e.message).toContain('key: the group key must be at least 16 bytes');
    expect(e.message).not.toContain(short);
    // an issue at the root is labelled "group"
    expect(thrown(() => createEnrollmentGroups([42])).message).toContain('group: ');
  });

  it('refuses a groups map holding anything but groups from createEnrollmentGroups (INVALID_ARGUMENT, never a TypeError)', () => {
    const good = { groupId: 'field-sensors', key: Buffer.from(groupKey, 'base64'), status: 'active', tenantId: 'acme' };
    const damaged: unknown[] = [
      null,
      'field-sensors',
      { ...good, key: groupKey }, // key as a string, not bytes
      { ...good, groupId: 7 },
      { ...good, status: 'paused' },
      { ...good, status: undefined },
      { ...good, tenantId: 42 },
      { ...good, key: 'x', status: 'weird' },
    ];
    for (const entry of damaged) {
      const e = thrown(() => provisionWithSymmetricKey(request('sensor-1'), options({ groups: new Map([['field-sensors', entry]]) as never })));
      expect(e.code, JSON.stringify(entry)).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain('groups holds something other than an enrollment group under "field-sensors"');
    }
    // the same shape built by hand (not by createEnrollmentGroups) is a group
    expect(provisionWithSymmetricKey(request('sensor-1'), options({ groups: new Map([['field-sensors', good]]) as never })).ok).toBe(true);
  });
});

describe('provisionWithSymmetricKey refusals: code, status and details', () => {
  it('a malformed request is ENROLLMENT_INVALID 400 with the offending field named', () => {
    const r = refusal(provisionWithSymmetricKey({ ...request('sensor-1'), nonce: 'short' }, options()));
    expect(r).toMatchObject({ code: 'ENROLLMENT_INVALID', status: 400, details: {} });
    expect(r.message).toMatch(/^Invalid enrollment request: nonce: /);
    expect(refusal(provisionWithSymmetricKey(null, options())).message).toMatch(/^Invalid enrollment request: request: /);
  });

  it('unknown and inactive groups', () => {
    const unknown = refusal(provisionWithSymmetricKey({ ...request('sensor-1'), groupId: 'nope' }, options()));
    expect(unknown).toMatchObject({ code: 'ENROLLMENT_INVALID', status: 401, details: { groupId: 'nope' } });
    expect(unknown.message).toBe('Unknown enrollment group "nope"');
    const inactive = refusal(provisionWithSymmetricKey({ ...request('sensor-1'), groupId: 'paused' }, options()));
    expect(inactive).toMatchObject({ code: 'ENROLLMENT_INVALID', status: 403, details: { groupId: 'paused' } });
    expect(inactive.message).toContain('"paused" is inactive');
  });

  it('a stale timestamp says how far off it is and what the window is', () => {
    const stale = refusal(provisionWithSymmetricKey(request('sensor-1', NONCE, NOW - 301_000), options()));
    expect(stale).toEqual({
      code: 'REPLAY_DETECTED',
      status: 401,
      details: { timestamp: NOW - 301_000, now: NOW, replayWindowMs: WINDOW },
      message: 'The request timestamp is 301 s from now, outside the ±300 s replay window; check the device clock and sign a fresh request',
    });
    const future = refusal(provisionWithSymmetricKey(request('sensor-1', NONCE, NOW + 302_000), options()));
    expect(future.message).toContain('is -302 s from now');
  });

  it('a wrong proof (wrong value or wrong length) is ENROLLMENT_INVALID 401, never a RangeError', () => {
    const wrong = refusal(provisionWithSymmetricKey({ ...request('sensor-1'), proof: computeEnrollmentProof(randomBytes(32), NONCE, NOW) }, options()));
    expect(wrong).toMatchObject({ code: 'ENROLLMENT_INVALID', status: 401, details: { groupId: 'field-sensors', registrationId: 'sensor-1' } });
    expect(wrong.message).toBe('The proof for "sensor-1" does not match its derived key');
    for (const proof of ['AAAA', Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64')]) {
      expect(refusal(provisionWithSymmetricKey({ ...request('sensor-1'), proof }, options()))).toMatchObject({ code: 'ENROLLMENT_INVALID', status: 401 });
    }
  });

  it('a reused nonce and a revoked registration', () => {
    const first = provisionWithSymmetricKey(request('sensor-1'), options());
    expect(first.ok).toBe(true);
    const again = refusal(provisionWithSymmetricKey(request('sensor-1'), options({ seenNonces: first.seenNonces })));
    expect(again).toMatchObject({ code: 'REPLAY_DETECTED', status: 401, details: { registrationId: 'sensor-1' } });
    expect(again.message).toContain('Nonce already used by "sensor-1"');
    const revoked = addRevocations(createRevocationList(), [{ kind: 'enrollment', groupId: 'field-sensors', registrationId: 'sensor-2' }]);
    const r = refusal(provisionWithSymmetricKey(request('sensor-2'), options({ revoked })));
    expect(r).toMatchObject({ code: 'CERT_REVOKED', status: 401, details: { groupId: 'field-sensors', registrationId: 'sensor-2' } });
    expect(r.message).toContain('Enrollment "sensor-2" in group "field-sensors" has been revoked');
  });

  it('replayWindowMs must be a positive finite number', () => {
    for (const w of [Number.POSITIVE_INFINITY, Number.NaN, 0, -1, '1000']) {
      const e = thrown(() => provisionWithSymmetricKey(request('sensor-1'), options({ replayWindowMs: w as number })));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toContain('replayWindowMs must be a positive number');
    }
  });
});

describe('the replay window edge', () => {
  it('a request exactly at the window edge is admitted once and its replay at the same instant is refused', () => {
    const edge = request('sensor-1', NONCE, NOW - WINDOW);
    const first = provisionWithSymmetricKey(edge, options());
    expect(first.ok).toBe(true);
    expect(first.seenNonces.size).toBe(1);
    expect(refusal(provisionWithSymmetricKey(edge, options({ seenNonces: first.seenNonces })))).toMatchObject({ code: 'REPLAY_DETECTED', status: 401 });
  });

  it('the ledger keeps entries inside the window (edge included) and drops older or corrupt ones', () => {
    const ledger = new Map<string, unknown>([
      ['edge', NOW - WINDOW],
      ['old', NOW - WINDOW - 1],
      ['recent', NOW - 1],
      ['corrupt', String(NOW)],
    ]);
    const r = provisionWithSymmetricKey(request('sensor-1'), options({ seenNonces: ledger as never }));
    expect(r.ok).toBe(true);
    expect([...r.seenNonces.keys()].sort()).toEqual(['edge', 'field-sensors\u0000sensor-1\u0000' + NONCE, 'recent'].sort());
  });

  it('law: a replay of any admitted request at any instant inside its window is refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: -WINDOW, max: WINDOW }), fc.integer({ min: -WINDOW, max: WINDOW }), (skew, later) => {
        const ts = NOW + skew;
        const first = provisionWithSymmetricKey(request('sensor-1', NONCE, ts), options());
        if (!first.ok) return false;
        const at = ts + later;
        const again = provisionWithSymmetricKey(request('sensor-1', NONCE, ts), options({ now: at, seenNonces: first.seenNonces }));
        // outside the window of `at` the request is stale, inside it the nonce is known: never admitted
        return !again.ok && again.error.code === 'REPLAY_DETECTED';
      }),
      { numRuns: 60 },
    );
  });
});

describe('keys, proofs and the enrollment identity', () => {
  it('derives keys and proofs over the UTF-8 bytes of the id and nonce', () => {
    const key = Buffer.from(groupKey, 'base64');
    expect(deriveDeviceKey(key, 'sensör-ü')).toBe(createHmac('sha256', key).update(Buffer.from('sensör-ü', 'utf8')).digest('base64'));
    expect(computeEnrollmentProof(key, 'nönce', 5)).toBe(createHmac('sha256', key).update(Buffer.from('nönce\n5', 'utf8')).digest('base64'));
  });

  it('records the identity, the audit reason and actor, and the effects in order', () => {
    const template = defineProvisioningTemplate({ name: 'enroll-v2', attributes: { group: '{{GroupId}}' } });
    const r = provisionWithSymmetricKey(request('sensor-9'), options({ template }));
    if (!r.ok) throw r.error;
    expect(r.record.identity).toEqual({
      kind: 'symmetric-key',
      fingerprint: `sha256:${createHash('sha256').update('field-sensors\u0000sensor-9').digest('hex')}`,
      groupId: 'field-sensors',
      registrationId: 'sensor-9',
    });
    expect(r.record.policies).toEqual([]);
    expect(r.record.desiredConfig).toEqual({});
    expect(Object.hasOwn(r.record, 'home')).toBe(false);
    // no policies and no desired config: no attach-policies or set-desired effect
    expect(r.effects.map((e) => e.type)).toEqual(['audit', 'put-record', 'audit']);
    expect(r.effects.every((e) => e.deviceId === 'sensor-9' && e.tenantId === 'acme')).toBe(true);
    const audits = r.effects.filter((e) => e.type === 'audit') as unknown as { actor: string; reason: string }[];
    expect(audits.map((a) => [a.actor, a.reason])).toEqual([
      ['provisioning', 'symmetric-key enrollment'],
      ['provisioning', 'template enroll-v2'],
    ]);
  });

  it('a template parameter the enrollment lacks is named with its source', () => {
    const template = defineProvisioningTemplate({ name: 'needs-cn', attributes: { cn: '{{CommonName}}' } });
    const r = refusal(provisionWithSymmetricKey(request('sensor-1'), options({ template })));
    expect(r).toMatchObject({ code: 'TEMPLATE_INVALID', status: 400, details: { parameter: 'CommonName' } });
    expect(r.message).toBe('The template uses {{CommonName}}, but the enrollment does not provide it');
  });
});

describe('completeProvisioning through the enrollment path', () => {
  it('ALREADY_PROVISIONED and TENANT_MISMATCH carry status and details', () => {
    const first = provisionWithSymmetricKey(request('sensor-1'), options());
    if (!first.ok) throw first.error;
    const taken = refusal(provisionWithSymmetricKey(request('sensor-1', 'm'.repeat(32)), options({ existing: () => first.record })));
    expect(taken).toMatchObject({ code: 'ALREADY_PROVISIONED', status: 409, details: { deviceId: 'sensor-1', state: 'active', tenantId: 'acme', sameIdentity: true } });
    expect(taken.message).toBe('Device "sensor-1" already exists (state "active", tenant "acme"); decommission and wipe it before reusing the id');
    const other = { ...first.record, identity: { ...first.record.identity, fingerprint: 'sha256:other' } };
    const stolen = refusal(provisionWithSymmetricKey(request('sensor-1', 'm'.repeat(32)), options({ existing: () => other as never })));
    expect(stolen.details).toMatchObject({ sameIdentity: false });
    expect(stolen.message).toContain('tenant "acme", another credential)');
    const template = defineProvisioningTemplate({ name: 'elsewhere', tenantId: 'globex' });
    const moved = refusal(provisionWithSymmetricKey(request('sensor-3'), options({ template })));
    expect(moved).toMatchObject({ code: 'TENANT_MISMATCH', status: 403, details: { ownerTenantId: 'acme', tenantId: 'globex' } });
    expect(moved.message).toContain('The symmetric-key enrollment belongs to tenant "acme" but the template placed the device in "globex"');
  });

  it('refuses an existing that is not a function, or that returns neither a record nor undefined, naming the function', () => {
    const e = thrown(() => provisionWithSymmetricKey(request('sensor-1'), options({ existing: 42 as never })));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toMatch(/^provisionWithSymmetricKey: existing must be a function/);
    for (const found of [null, 42, 'sensor-1']) {
      const f = thrown(() => provisionWithSymmetricKey(request('sensor-1'), options({ existing: (() => found) as never })));
      expect(f.code).toBe('INVALID_ARGUMENT');
      expect(f.message).toContain('existing("sensor-1") must return the stored record or undefined');
    }
  });

  it('refuses an actor that is not a string, and records a given actor', () => {
    const e = thrown(() => provisionWithSymmetricKey(request('sensor-1'), options({ actor: 5 as never })));
    expect(e.message).toMatch(/^provisionWithSymmetricKey: actor must be a string/);
    const r = provisionWithSymmetricKey(request('sensor-1'), options({ actor: 'factory' }));
    if (!r.ok) throw r.error;
    expect(r.effects.filter((x) => x.type === 'audit').map((x) => (x as unknown as { actor: string }).actor)).toEqual(['factory', 'factory']);
  });

  it('a table not built by extendTransitionTable is refused, not ignored', () => {
    const r = refusal(provisionWithSymmetricKey(request('sensor-1'), options({ table: { accepted: {}, targets: {} } as never })));
    expect(r.code).toBe('INVALID_ARGUMENT');
    expect(r.message).toContain('options.table must be a table built by extendTransitionTable');
  });

  it('policies and desired config produce their effects', () => {
    const template = defineProvisioningTemplate({ name: 'full', policies: ['{{TenantId}}-telemetry'], desiredConfig: { group: '{{GroupId}}', n: 1 } });
    const r = provisionWithSymmetricKey(request('sensor-4'), options({ template }));
    if (!r.ok) throw r.error;
    expect(r.effects.map((e) => e.type)).toEqual(['audit', 'put-record', 'attach-policies', 'set-desired', 'audit']);
    expect(r.effects[2]).toEqual({ type: 'attach-policies', deviceId: 'sensor-4', tenantId: 'acme', policies: ['acme-telemetry'] });
    expect(r.effects[3]).toEqual({ type: 'set-desired', deviceId: 'sensor-4', tenantId: 'acme', desired: { group: 'field-sensors', n: 1 } });
  });
});

describe('template definitions and filling', () => {
  const defaults = { deviceId: '{{RegistrationId}}', tenantId: '{{GroupTenantId}}' };
  const params: TemplateParameters = { RegistrationId: 'dev-1', GroupId: 'g', GroupTenantId: 'acme' };

  it('braces outside {{Name}} placeholders are refused, one brace as much as two', () => {
    for (const bad of ['a{b', 'a}b', '{{GroupId}}}', '{{{GroupId}}', '{x}']) {
      expect(() => defineProvisioningTemplate({ name: 't', attributes: { x: bad } }), bad).toThrow(expect.objectContaining({ code: 'TEMPLATE_INVALID' }));
    }
    expect(() => defineProvisioningTemplate({ name: 't', attributes: { x: '{{GroupId}}-{{DeviceId}}' } })).not.toThrow();
  });

  it('every placeholder must be known, not just one of them', () => {
    expect(() => defineProvisioningTemplate({ name: 't', attributes: { x: '{{DeviceId}}-{{Bogus}}' } })).toThrow(/unknown placeholder/);
    expect(() => defineProvisioningTemplate({ name: 't', policies: ['{{Bogus}}-{{TenantId}}'] })).toThrow(/unknown placeholder/);
  });

  it('a JSON desiredConfig is accepted; a non-JSON one refused', () => {
    const t = defineProvisioningTemplate({ name: 't', desiredConfig: { a: [1, '{{GroupId}}'], b: { c: null } } });
    const r = fillProvisioningTemplate(t, params, defaults);
    expect(r.ok && r.value.desiredConfig).toEqual({ a: [1, 'g'], b: { c: null } });
    expect(() => defineProvisioningTemplate({ name: 't', desiredConfig: { a: Number.NaN } })).toThrow(/desiredConfig/);
  });

  it('home topics: plain levels are fine; wildcards, empty levels and a leading $ are refused', () => {
    const home = (topic: string) => ({ rules: [], fallback: { region: 'eu-1', endpoint: 'mqtts://eu.example.com:8883' }, topics: { telemetry: topic } });
    const t = defineProvisioningTemplate({ name: 't', home: home('tenants/{{TenantId}}/devices/{{DeviceId}}/up') });
    const r = fillProvisioningTemplate(t, params, defaults);
    expect(r.ok && r.value.home?.topics).toEqual({ telemetry: 'tenants/acme/devices/dev-1/up' });
    for (const bad of ['a/+/b', 'a/#', '+', '$SYS/x', 'a//b', 'a/']) {
      expect(() => defineProvisioningTemplate({ name: 't', home: home(bad) }), bad).toThrow(/topics have no/);
    }
  });

  it('argument checks return INVALID_ARGUMENT 400 results, never a TypeError', () => {
    const t = defineProvisioningTemplate({ name: 't' });
    const cases: [ProvisioningTemplate, unknown, unknown, string][] = [
      [null as never, params, defaults, 'was not created by defineProvisioningTemplate'],
      [undefined as never, params, defaults, 'was not created by defineProvisioningTemplate'],
      [{ name: 't' } as never, params, defaults, 'was not created by defineProvisioningTemplate'],
      [t, null, defaults, 'fillProvisioningTemplate: params must be an object'],
      [t, 'x', defaults, 'fillProvisioningTemplate: params must be an object'],
      [t, params, null, 'fillProvisioningTemplate: defaults must be { deviceId, tenantId }'],
      [t, params, undefined, 'fillProvisioningTemplate: defaults must be { deviceId, tenantId }'],
      [t, params, { deviceId: 1, tenantId: 'x' }, 'fillProvisioningTemplate: defaults must be'],
    ];
    for (const [template, p, d, message] of cases) {
      const r = fillProvisioningTemplate(template, p as TemplateParameters, d as typeof defaults);
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.code).toBe('INVALID_ARGUMENT');
      expect(r.error.status).toBe(400);
      expect(r.error.message).toContain(message);
    }
  });

  it('an exception that is not a FleetError propagates instead of becoming a refusal', () => {
    const t = defineProvisioningTemplate({ name: 't' });
    const hostile = Object.defineProperty({}, 'RegistrationId', {
      enumerable: true,
      get() {
        throw new RangeError('boom');
      },
    });
    expect(() => fillProvisioningTemplate(t, hostile, defaults)).toThrow(RangeError);
  });
});
