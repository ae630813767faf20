import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FirmwareCatalog, signFirmware, type FirmwareImageInput } from '../../src/cloud/index.js';
import { isFleetError } from '../../src/errors.js';

const acme = { tenantId: 'acme' };
const globex = { tenantId: 'globex' };
const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

function image(version: string, privateKey: KeyObject, keyId: string, bytes = `image ${version}`): FirmwareImageInput {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sizeBytes = Buffer.byteLength(bytes);
  return { version, url: `https://fw.example.com/${version}.bin`, sizeBytes, sha256, hardware: ['board-a', 'board-b'], keyId, ...signFirmware({ version, sizeBytes, sha256 }, privateKey) };
}

function catalog(): FirmwareCatalog {
  const c = new FirmwareCatalog();
  c.addSigningKey(acme, 'ed-1', ed.publicKey);
  c.addSigningKey(acme, 'ec-1', ec.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  return c;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(isFleetError(e), String(e)).toBe(true);
    return (e as { code: string }).code;
  }
  return undefined;
}

describe('FirmwareCatalog', () => {
  it('adds images signed with Ed25519 and with ECDSA P-256 (real keys) and verifies them again', () => {
    const c = catalog();
    const a = c.add(acme, image('2.0.0', ed.privateKey, 'ed-1'));
    const b = c.add(acme, image('2.1.0', ec.privateKey, 'ec-1'));
    expect(a.signatureAlgorithm).toBe('ed25519');
    expect(b.signatureAlgorithm).toBe('ecdsa-p256-sha256');
    expect(c.verify(acme, '2.0.0')).toBe(a);
    expect(c.verify(acme, '2.1.0')).toBe(b);
    expect(c.list(acme).map((i) => i.version)).toEqual(['2.0.0', '2.1.0']);
    expect(Object.isFrozen(a)).toBe(true);
  });

  it('refuses an image whose signature does not verify, and stores nothing', () => {
    const c = catalog();
    const good = image('2.0.0', ed.privateKey, 'ed-1');
    const other = generateKeyPairSync('ed25519');
    const cases: FirmwareImageInput[] = [
      { ...good, sha256: createHash('sha256').update('evil').digest('hex') },
      { ...good, sizeBytes: good.sizeBytes + 1 },
      { ...good, version: '2.0.1' },
      { ...good, ...signFirmware(good, other.privateKey) },
      { ...good, keyId: 'ec-1' }, // algorithm of the key differs
      { ...good, keyId: 'nobody' },
      { ...image('2.0.0', ec.privateKey, 'ec-1'), signatureAlgorithm: 'ed25519' },
      { ...good, signature: Buffer.from('x'.repeat(64)).toString('base64') },
    ];
    for (const bad of cases) expect(codeOf(() => c.add(acme, bad))).toBe('SIGNATURE_INVALID');
    expect(c.list(acme)).toEqual([]);
  });

  it('any change to a signed version, size or digest is refused (property)', () => {
    const c = catalog();
    const good = image('3.0.0', ed.privateKey, 'ed-1');
    const ecGood = image('3.0.0', ec.privateKey, 'ec-1');
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.oneof(
          fc.string({ minLength: 1, maxLength: 20 }).filter((v) => v !== '3.0.0').map((version) => ({ version })),
          fc.integer({ min: 1, max: 1e9 }).filter((n) => n !== good.sizeBytes).map((sizeBytes) => ({ sizeBytes })),
          fc.stringMatching(/^[0-9a-f]{64}$/).filter((h) => h !== good.sha256).map((sha256) => ({ sha256 })),
        ),
        (useEc, change) => {
          const base = useEc ? ecGood : good;
          expect(codeOf(() => c.add(acme, { ...base, ...change }))).toBe('SIGNATURE_INVALID');
        },
      ),
      { numRuns: 150 },
    );
    expect(c.list(acme)).toEqual([]);
  });

  it('is tenant-scoped: another tenant neither sees the image nor can use the key', () => {
    const c = catalog();
    c.add(acme, image('2.0.0', ed.privateKey, 'ed-1'));
    expect(c.get(globex, '2.0.0')).toBeUndefined();
    expect(c.list(globex)).toEqual([]);
    expect(codeOf(() => c.verify(globex, '2.0.0'))).toBe('FIRMWARE_NOT_FOUND');
    expect(c.signingKey(globex, 'ed-1')).toBeUndefined();
    expect(codeOf(() => c.add(globex, image('2.0.0', ed.privateKey, 'ed-1')))).toBe('SIGNATURE_INVALID');
  });

  it('a revoked key makes its images fail verification from then on', () => {
    const c = catalog();
    c.add(acme, image('2.0.0', ed.privateKey, 'ed-1'));
    expect(c.revokeSigningKey(acme, 'ed-1')).toBe(true);
    expect(c.revokeSigningKey(globex, 'ed-1')).toBe(false);
    expect(codeOf(() => c.verify(acme, '2.0.0'))).toBe('SIGNATURE_INVALID');
    expect(codeOf(() => c.add(acme, image('2.2.0', ed.privateKey, 'ed-1')))).toBe('SIGNATURE_INVALID');
    expect(codeOf(() => c.addSigningKey(acme, 'ed-1', ed.publicKey))).toBe('ALREADY_EXISTS');
  });

  it('a version is immutable: the same content again is a no-op, other content ALREADY_EXISTS', () => {
    const c = catalog();
    const first = c.add(acme, image('2.0.0', ed.privateKey, 'ed-1'));
    expect(c.add(acme, image('2.0.0', ed.privateKey, 'ed-1'))).toBe(first);
    expect(codeOf(() => c.add(acme, image('2.0.0', ed.privateKey, 'ed-1', 'other bytes')))).toBe('ALREADY_EXISTS');
    expect(c.get(acme, '2.0.0')).toBe(first);
  });

  it('accepts only Ed25519 and P-256 keys', () => {
    const c = new FirmwareCatalog();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(codeOf(() => c.addSigningKey(acme, 'rsa', rsa.publicKey))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => c.addSigningKey(acme, 'p384', p384.publicKey))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => c.addSigningKey(acme, 'junk', 'not a key'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => c.addSigningKey(acme, 'a/b', ed.publicKey))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signFirmware({ version: '1', sizeBytes: 1, sha256: 'ab'.repeat(32) }, rsa.privateKey))).toBe('INVALID_ARGUMENT');
    // A private key given as the public key is reduced to its public half.
    expect(c.addSigningKey(acme, 'ed', ed.privateKey).publicKeyPem).toBe(ed.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  });

  it('malformed images and contexts are INVALID_ARGUMENT naming the field, never a TypeError', () => {
    const c = catalog();
    const good = image('2.0.0', ed.privateKey, 'ed-1');
    const cases: [unknown, string][] = [
      [null, ''],
      [{ ...good, hardware: [] }, 'hardware'],
      [{ ...good, hardware: undefined }, 'hardware'],
      [{ ...good, url: 'not a url' }, 'url'],
      [{ ...good, sha256: 'AB'.repeat(32) }, 'sha256'],
      [{ ...good, sizeBytes: 0 }, 'sizeBytes'],
    ];
    for (const [bad, field] of cases) {
      let error: unknown;
      try {
        c.add(acme, bad as FirmwareImageInput);
      } catch (e) {
        error = e;
      }
      expect(isFleetError(error, 'INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toContain(field);
    }
    expect(codeOf(() => c.add({ tenantId: 'a/b' }, good))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => c.list(null as unknown as { tenantId: string }))).toBe('INVALID_ARGUMENT');
  });

  it('checks a device’s hardware', () => {
    const c = catalog();
    const img = c.add(acme, image('2.0.0', ed.privateKey, 'ed-1'));
    expect(() => c.checkCompatible(img, { deviceId: 'd1', hardware: 'board-b' })).not.toThrow();
    expect(codeOf(() => c.checkCompatible(img, { deviceId: 'd1', hardware: 'board-z' }))).toBe('FIRMWARE_INCOMPATIBLE');
    expect(codeOf(() => c.checkCompatible(img, { deviceId: 'd1' }))).toBe('FIRMWARE_INCOMPATIBLE');
  });
});
