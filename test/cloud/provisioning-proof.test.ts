// Provisioning nonces and proofs: authenticated, bound to tenant and device, expiring exactly.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ProvisioningChallenges, signProvisioningChallenge } from '../../src/cloud/provisioning-proof.js';

const secret = randomBytes(32);
const T = 1_700_000_000_000;

describe('ProvisioningChallenges', () => {
  it('a nonce is valid until exactly issue time + ttl, for its tenant and device only', () => {
    const c = new ProvisioningChallenges(secret, 300_000);
    const { nonce, expiresAt } = c.issue('acme', 'dev-1', T);
    expect(expiresAt).toBe(T + 300_000);
    expect(c.check('acme', 'dev-1', nonce, T + 300_000)).toEqual({ ok: true, issuedAt: T });
    expect(c.check('acme', 'dev-1', nonce, T + 300_001)).toMatchObject({ ok: false, error: { code: 'NONCE_INVALID' } });
    expect(c.check('acme', 'dev-2', nonce, T)).toMatchObject({ ok: false, error: { code: 'NONCE_INVALID' } });
    expect(c.check('globex', 'dev-1', nonce, T)).toMatchObject({ ok: false, error: { code: 'NONCE_INVALID' } });
    expect(new ProvisioningChallenges(randomBytes(32), 300_000).check('acme', 'dev-1', nonce, T).ok).toBe(false);
  });

  it('any change to a nonce (issue time, random part, MAC, encoding) is refused', () => {
    const c = new ProvisioningChallenges(secret, 300_000);
    const { nonce } = c.issue('acme', 'dev-1', T);
    const bytes = Buffer.from(nonce, 'base64url');
    for (let i = 0; i < bytes.length; i++) {
      const tampered = Buffer.from(bytes);
      tampered[i] = (tampered[i] as number) ^ 1;
      expect(c.check('acme', 'dev-1', tampered.toString('base64url'), T).ok, `byte ${i}`).toBe(false);
    }
    expect(c.check('acme', 'dev-1', `${nonce}A`, T).ok).toBe(false);
    expect(c.check('acme', 'dev-1', '', T).ok).toBe(false);
  });

  it('refuses a short secret and a bad ttl', () => {
    expect(() => new ProvisioningChallenges(randomBytes(16), 1000)).toThrow(/at least 32 bytes/);
    expect(() => new ProvisioningChallenges(secret, 0)).toThrow(/ttlMs/);
  });

  it('signs with EC, RSA and Ed25519 keys given as PEM or KeyObject', () => {
    for (const type of ['ec', 'rsa', 'ed25519'] as const) {
      const { privateKey } = type === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
      expect(signProvisioningChallenge(privateKey, 'acme', 'd', 'n'.repeat(16)).length).toBeGreaterThan(10);
      expect(signProvisioningChallenge(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, 'acme', 'd', 'n'.repeat(16)).length).toBeGreaterThan(10);
    }
  });
});
