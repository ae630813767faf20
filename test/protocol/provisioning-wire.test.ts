// The provisioning wire schemas agree with the lifecycle core: a symmetric-key request is valid on
// the wire exactly when the core's schema accepts its enrollment.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { symmetricKeyRequestSchema } from '../../src/lifecycle/index.js';
import { provisioningProofInput, provisioningWireRequestSchema, provisioningWireResponseSchema } from '../../src/protocol/provisioning-wire.js';

const SEED = 20_251_126;

// Each field is mostly valid, sometimes not: the corpus holds requests both schemas accept and
// requests they refuse for every single reason.
const field = <T,>(valid: fc.Arbitrary<T>, invalid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: valid }, { weight: 1, arbitrary: invalid });
const enrollmentArb = fc.record(
  {
    groupId: field(fc.constantFrom('field', 'g.1', 'a:b_c-d'), fc.constantFrom('Field', '', 'a'.repeat(129), 'a b')),
    registrationId: field(fc.constantFrom('sensor-1', '0042'), fc.constantFrom('Sensor-1', 'x y', '-x')),
    nonce: field(fc.constantFrom('0123456789abcdef', 'A_b-'.repeat(8)), fc.constantFrom('short', 'a'.repeat(129), 'with space 123456')),
    timestamp: field(fc.integer({ min: 0, max: 2 ** 40 }), fc.oneof(fc.integer({ min: -5, max: -1 }), fc.double({ min: 0.1, max: 0.9 }), fc.constant('1'))),
    proof: field(fc.constantFrom('aGVsbG8=', 'YQ=='), fc.constantFrom('not base64!', 'a'.repeat(200))),
    extra: fc.constant(1),
  },
  { requiredKeys: ['groupId', 'registrationId', 'nonce', 'timestamp', 'proof'] },
);
const CORPUS = fc.sample(enrollmentArb, { seed: SEED, numRuns: 600 });

describe('provisioning wire schemas', () => {
  it('the wire accepts a symmetric-key request exactly when the core accepts its enrollment (seeded corpus covering both answers)', () => {
    let accepted = 0;
    for (const enrollment of CORPUS) {
      const core = symmetricKeyRequestSchema.safeParse(enrollment).success;
      expect(provisioningWireRequestSchema.safeParse({ type: 'symmetric-key', enrollment }).success, JSON.stringify(enrollment)).toBe(core);
      if (core) accepted++;
    }
    expect(accepted).toBeGreaterThan(50);
    expect(CORPUS.length - accepted).toBeGreaterThan(50);
  });

  it('an X.509 request needs a chain of PEM certificates, a nonce and a signature', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const ok = { type: 'x509', certificateChain: [pem], nonce: 'A'.repeat(54), signature: 'aGVsbG8=' };
    expect(provisioningWireRequestSchema.safeParse(ok).success).toBe(true);
    for (const broken of [{ ...ok, certificateChain: [] }, { ...ok, certificateChain: ['not pem'] }, { ...ok, nonce: undefined }, { ...ok, signature: undefined }, { ...ok, certificateChain: [pem, pem, pem, pem, pem] }]) {
      expect(provisioningWireRequestSchema.safeParse(broken).success, JSON.stringify(broken)).toBe(false);
    }
  });

  it('responses: challenge, accepted and rejected each have one shape', () => {
    expect(provisioningWireResponseSchema.safeParse({ type: 'challenge', nonce: 'A'.repeat(54), expiresAt: 5 }).success).toBe(true);
    expect(provisioningWireResponseSchema.safeParse({ type: 'accepted', deviceId: 'd', tenantId: 't', topics: {}, desired: {} }).success).toBe(true);
    expect(provisioningWireResponseSchema.safeParse({ type: 'rejected', error: { code: 'CERT_REVOKED', message: 'm', status: 401 } }).success).toBe(true);
    expect(provisioningWireResponseSchema.safeParse({ type: 'accepted', deviceId: 'a/b', tenantId: 't', topics: {}, desired: {} }).success).toBe(false);
  });

  it('the proof input binds tenant, device and nonce', () => {
    expect(Buffer.from(provisioningProofInput('acme', 'dev-1', 'n0nce')).toString()).toBe('fleetkit-provisioning-v1\nacme\ndev-1\nn0nce');
  });
});
