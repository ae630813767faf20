// Values JSON.stringify cannot write (a BigInt) or would convert (an object with toJSON), placed
// where an error message quotes the input: each call answers with a FleetError naming the field,
// never a TypeError from building the message. Found by the robustness properties' random runs.
import { describe, expect, it } from 'vitest';
import { mosquittoAcl } from '../src/cloud/index.js';
import { createMemoryStores } from '../src/memory.js';
import { createRolloutProgress, planRollout, restoreRolloutProgress, saveRolloutProgress } from '../src/rollout/index.js';

const hostile = [10n, { toJSON: () => { throw new Error('toJSON was called'); } }];

function errorOf(f: () => unknown): { code?: string; message: string } {
  try {
    f();
  } catch (e) {
    return e as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('error messages that quote hostile input', () => {
  it('restoreRolloutProgress: a snapshot version that is a BigInt is INVALID_SNAPSHOT', () => {
    const devices = Array.from({ length: 3 }, (_, i) => ({ id: `d${i}`, tenantId: 't', firmware: '1.0.0', state: 'active' }));
    const plan = planRollout({ rolloutId: 'r1', firmware: { version: '2.0.0', url: 'https://fw.example.com/2.bin', size: 10, sha256: 'a'.repeat(64) }, devices } as never);
    const snapshot = saveRolloutProgress(createRolloutProgress(plan));
    for (const version of hostile) {
      const e = errorOf(() => restoreRolloutProgress(plan, { ...snapshot, version }));
      expect(e.code).toBe('INVALID_SNAPSHOT');
      expect(e.message).toContain('format version');
    }
  });

  it('a store write whose record names a tenant that is a BigInt is TENANT_MISMATCH', async () => {
    const stores = createMemoryStores();
    for (const tenantId of hostile) {
      await expect(stores.devices.create({ tenantId: 'acme' }, { deviceId: 'pump-7', tenantId, state: 'active', since: 0 } as never)).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
    }
    expect(await stores.devices.get({ tenantId: 'acme' }, 'pump-7')).toBeUndefined();
  });

  it('mosquittoAcl: a backend or gateway username that is a BigInt is INVALID_ARGUMENT', () => {
    for (const username of hostile) {
      expect(errorOf(() => mosquittoAcl([], { backends: [{ username } as never] }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('username') });
      expect(errorOf(() => mosquittoAcl([], { gateways: [{ username, tenantId: 'acme', devices: [] } as never] }))).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('username') });
    }
  });
});
