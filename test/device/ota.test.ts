// OTA with A/B slots: verification before the slot switch (size, SHA-256, Ed25519 / ECDSA P-256
// signature by a trusted key), boot validation with evaluateBoot, rollback, and the running slot
// untouched by every refused image.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { OtaAgent, signFirmwareImage, toSigningKeys, verifyFirmwareImage, type FirmwareRuntime, type JobReport, type OtaJob } from '../../src/device/index.js';
import { firmwareSigningInput } from '../../src/protocol/job-wire.js';

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const stranger = generateKeyPairSync('ed25519');
const TRUSTED = toSigningKeys([ed.publicKey, ec.publicKey.export({ type: 'spki', format: 'pem' }) as string]);

function image(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

type Signer = { readonly key: KeyObject; readonly kind?: 'ed' | 'ec' | 'ec-p1363' } | { readonly raw: string } | undefined;

const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

function signature(bytes: Uint8Array, version: string, signer: Signer): string | undefined {
  if (signer === undefined) return undefined;
  if ('raw' in signer) return signer.raw;
  const image = { version, sizeBytes: bytes.length, sha256: sha(bytes) };
  if (signer.kind === 'ec-p1363') return sign('sha256', firmwareSigningInput(image), { key: signer.key, dsaEncoding: 'ieee-p1363' }).toString('base64');
  return signFirmwareImage(signer.key, image);
}

/** A job for `bytes`, signed (over the wire's firmwareSigningInput) by `signer`. */
function job(bytes: Uint8Array, signer: Signer, version = '2.0.0', jobId = 'job-1'): OtaJob {
  const sig = signature(bytes, version, signer);
  return { jobId, rolloutId: 'r-1', firmware: { version, sha256: sha(bytes), sizeBytes: bytes.length, ...(sig === undefined ? {} : { signature: sig }) } };
}

const byEd: Signer = { key: ed.privateKey };

function device(deliver: Uint8Array, runtime?: FirmwareRuntime): { ota: OtaAgent; reports: JobReport[]; clock: SimulatedClock } {
  const clock = new SimulatedClock(1_000);
  const reports: JobReport[] = [];
  const ota = new OtaAgent({ clock, trustedSigningKeys: TRUSTED, fetchImage: () => Promise.resolve(deliver), report: (r) => reports.push(r), firmwareVersion: '1.0.0', bootWindowMs: 60_000, bootCheckIntervalMs: 5_000, ...(runtime === undefined ? {} : { runtime }) });
  return { ota, reports, clock };
}

describe('verifyFirmwareImage', () => {
  const bytes = image(4096);
  it('accepts Ed25519 and ECDSA P-256 (DER and P1363) signatures of trusted keys', () => {
    expect(verifyFirmwareImage(bytes, job(bytes, byEd).firmware, TRUSTED)).toMatchObject({ ok: true, keyIndex: 0 });
    expect(verifyFirmwareImage(bytes, job(bytes, { key: ec.privateKey, kind: 'ec' }).firmware, TRUSTED)).toMatchObject({ ok: true, keyIndex: 1 });
    expect(verifyFirmwareImage(bytes, job(bytes, { key: ec.privateKey, kind: 'ec-p1363' }).firmware, TRUSTED)).toMatchObject({ ok: true, keyIndex: 1 });
  });

  it('names each refusal', () => {
    const good = job(bytes, byEd).firmware;
    const reason = (img: Uint8Array, manifest = good): string | undefined => {
      const r = verifyFirmwareImage(img, manifest, TRUSTED);
      return r.ok ? undefined : r.reason;
    };
    expect(reason(bytes.subarray(0, 4000))).toBe('IMAGE_TRUNCATED');
    expect(reason(new Uint8Array([...bytes, 0]))).toBe('IMAGE_SIZE_MISMATCH');
    const flipped = bytes.slice();
    flipped[100] = (flipped[100] as number) ^ 1;
    expect(reason(flipped)).toBe('IMAGE_HASH_MISMATCH');
    expect(reason(bytes, job(bytes, undefined).firmware)).toBe('IMAGE_UNSIGNED');
    expect(reason(bytes, job(bytes, { key: stranger.privateKey }).firmware)).toBe('IMAGE_SIGNATURE_INVALID');
    // The signature binds the version too: the same image announced as another version does not verify.
    expect(reason(bytes, { ...good, version: '9.9.9' })).toBe('IMAGE_SIGNATURE_INVALID');
    expect(reason(bytes, { ...good, sha256: 'not-hex' })).toBe('IMAGE_MANIFEST_INVALID');
    const r = verifyFirmwareImage(bytes, job(bytes, undefined).firmware, TRUSTED);
    expect(r.ok ? undefined : r.error.code).toBe('INVALID_PAYLOAD');
  });

  it('with keys by id, only the key the job names counts', () => {
    const keys = toSigningKeys({ 'k-ed': ed.publicKey, 'k-ec': ec.publicKey });
    const manifest = job(bytes, byEd).firmware;
    expect(verifyFirmwareImage(bytes, { ...manifest, keyId: 'k-ed' }, keys).ok).toBe(true);
    expect(verifyFirmwareImage(bytes, { ...manifest, keyId: 'k-ec' }, keys)).toMatchObject({ ok: false, reason: 'IMAGE_SIGNATURE_INVALID' });
    expect(verifyFirmwareImage(bytes, { ...manifest, keyId: 'k-unknown' }, keys)).toMatchObject({ ok: false, reason: 'IMAGE_SIGNATURE_INVALID' });
  });

  it('refuses keys that are neither Ed25519 nor P-256 with INVALID_ARGUMENT', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => toSigningKeys([rsa.publicKey])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
    expect(() => toSigningKeys(['not a pem'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
  });
});

describe('OtaAgent', () => {
  const bytes = image(2048, 7);

  it('good image: picked_up → installed → boot_confirmed; slot B active and committed', async () => {
    const { ota, reports } = device(bytes);
    const final = await ota.run(job(bytes, byEd));
    expect(reports.map((r) => r.type)).toEqual(['picked_up', 'installed', 'boot_confirmed']);
    expect(final).toMatchObject({ type: 'boot_confirmed', firmwareVersion: '2.0.0', rolloutId: 'r-1' });
    expect(ota.slots).toMatchObject({ active: 'B', committed: true, A: { version: '1.0.0' }, B: { version: '2.0.0' } });
    expect(ota.runningVersion).toBe('2.0.0');
  });

  it('every tampered, truncated, unsigned or mis-signed image is rejected and leaves the slots as they were (property)', async () => {
    const tamper = fc.oneof(
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat({ max: bytes.length - 1 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat({ max: bytes.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('unsigned' as const) }),
      fc.record({ kind: fc.constant('stranger' as const) }),
      fc.record({ kind: fc.constant('garbage-signature' as const), sig: fc.base64String({ maxLength: 120 }) }),
    );
    await fc.assert(
      fc.asyncProperty(tamper, async (t) => {
        let delivered = bytes;
        let signer: Signer = byEd;
        if (t.kind === 'truncate') delivered = bytes.subarray(0, t.at);
        else if (t.kind === 'flip') {
          delivered = bytes.slice();
          delivered[t.at] = (delivered[t.at] as number) ^ t.mask;
        } else if (t.kind === 'unsigned') signer = undefined;
        else if (t.kind === 'stranger') signer = { key: stranger.privateKey };
        else signer = { raw: t.sig };
        const { ota, reports } = device(delivered);
        const before = ota.slots;
        const final = await ota.run(job(bytes, signer));
        expect(final.type).toBe('rejected');
        expect(reports.map((r) => r.type)).toEqual(['picked_up', 'rejected']);
        expect(ota.slots).toEqual(before);
        expect(ota.runningVersion).toBe('1.0.0');
      }),
      { numRuns: 60 },
    );
  });

  it('firmware that fails to boot is rolled back at once; the old slot runs', async () => {
    const { ota } = device(bytes, { boot: () => false });
    const final = await ota.run(job(bytes, byEd));
    expect(final).toMatchObject({ type: 'rolled_back', firmwareVersion: '1.0.0', error: { code: 'BOOT_VALIDATION_FAILED' } });
    expect(ota.slots).toMatchObject({ active: 'A', committed: true, B: { version: '2.0.0' } });
  });

  it('firmware that fails its health check after boot is rolled back', async () => {
    const { ota } = device(bytes, { checks: (_v, _at, now) => [{ name: 'health', status: 'fail', at: now }] });
    expect((await ota.run(job(bytes, byEd))).type).toBe('rolled_back');
    expect(ota.runningVersion).toBe('1.0.0');
  });

  it('checks still pending when the boot window closes roll back exactly at the window end', async () => {
    const { ota, clock } = device(bytes, { checks: () => [{ name: 'sensor', status: 'pending' }] });
    let final: JobReport | undefined;
    void ota.run(job(bytes, byEd)).then((r) => (final = r));
    for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
    const bootedAt = clock.now();
    clock.advance(59_999);
    await new Promise((r) => setImmediate(r));
    expect(final).toBeUndefined();
    expect(ota.slots.committed).toBe(false);
    clock.advance(1);
    await new Promise((r) => setImmediate(r));
    expect(final).toMatchObject({ type: 'rolled_back', ts: bootedAt + 60_000 });
  });

  it('runs a job id once: a repeated job gets its final report again; a second job while busy is refused BUSY', async () => {
    const { ota, reports } = device(bytes, { checks: (_v, at) => [{ name: 'ok', status: 'pass', at: at + 10_000 }] });
    const first = ota.run(job(bytes, byEd));
    await new Promise((r) => setImmediate(r));
    const busy = await ota.run(job(bytes, byEd, '3.0.0', 'job-2'));
    expect(busy).toMatchObject({ type: 'rejected', error: { code: 'BUSY' } });
    (ota as unknown as { stop(): void }).stop();
    void first;
    const fresh = device(bytes);
    const a = await fresh.ota.run(job(bytes, byEd));
    const again = await fresh.ota.run(job(bytes, byEd));
    expect(again).toEqual(a);
    expect(fresh.reports.map((r) => r.type)).toEqual(['picked_up', 'installed', 'boot_confirmed', 'boot_confirmed']);
    expect(reports.length).toBeGreaterThan(0);
  });

  it('a failed download reports failed and changes no slot', async () => {
    const clock = new SimulatedClock(0);
    const reports: JobReport[] = [];
    const ota = new OtaAgent({ clock, trustedSigningKeys: TRUSTED, fetchImage: () => Promise.reject(new Error('404')), report: (r) => reports.push(r), firmwareVersion: '1.0.0' });
    const before = ota.slots;
    expect(await ota.run(job(bytes, { raw: 'x' }))).toMatchObject({ type: 'failed', error: { code: 'DOWNLOAD_FAILED' } });
    expect(ota.slots).toEqual(before);
  });
});
