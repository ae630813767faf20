/**
 * The contract every `JobStore` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRollout } from '../../rollout/plan.js';
import type { RolloutPlan } from '../../rollout/plan.js';
import type { DeviceStatus } from '../../rollout/status.js';
import type { JobExecutionInput, JobStore, RolloutInput, StoredRollout } from '../../store/job-store.js';
import type { TenantContext } from '../../store/tenant.js';
import { readAll, rejectsWith, resolveContractOptions, snapshot, tryMutate, type StoreContractOptions, type StoreFactory, listOptionsLaw } from './helpers.js';

const ACME: TenantContext = { tenantId: 'acme' };
const GLOBEX: TenantContext = { tenantId: 'globex' };

function plan(rolloutId: string, tenantId = 'acme'): RolloutPlan {
  return planRollout({
    rolloutId,
    firmware: { version: '2.0.0', url: 'https://updates.example.com/fw.bin', sha256: 'ab'.repeat(32), size: 1024 },
    devices: Array.from({ length: 5 }, (_, i) => ({ id: `dev-${i}`, tenantId, firmware: '1.0.0', state: 'active' as const })),
  });
}

function rollout(rolloutId: string, tenantId = 'acme', p: RolloutPlan = plan(rolloutId, tenantId)): RolloutInput {
  return { tenantId, rolloutId, plan: p, state: 'running', stage: 0, trackerRevision: 0, tracker: { reports: [] }, createdAt: 1, updatedAt: 1 };
}

function execution(jobId: string, deviceId: string, status: DeviceStatus = 'pending', tenantId = 'acme'): JobExecutionInput {
  return { tenantId, jobId, deviceId, status, stage: 0, document: { url: 'https://x' }, queuedAt: 1, updatedAt: 1 };
}

/**
 * Registers a vitest suite that checks `factory`'s stores against the {@link JobStore} contract:
 * rollouts (create, compare-and-set on the revision, the plan fixed at creation, lists by state)
 * and job executions (compare-and-set on the version, 0 = must not exist — so two controllers can
 * never both dispatch a device — lists by job, device and status), tenant isolation, isolation
 * from callers' objects, validation, and a fast-check property: exactly one of any number of
 * concurrent first writes of an execution wins, and pages return every execution exactly once.
 *
 * @param factory - creates a fresh, empty store for each test
 * @param options - suite name, runs, seed
 * @example
 * ```ts
 * import { jobStoreContract } from 'fleetkit/testing';
 * import { MemoryJobStore } from 'fleetkit/memory';
 * jobStoreContract(() => new MemoryJobStore());
 * ```
 */
export function jobStoreContract(factory: StoreFactory<JobStore>, options: StoreContractOptions = {}): void {
  const { name, params } = resolveContractOptions(options, 'JobStore');

  describe(name, () => {
    it('list calls take null or no options alike; any other non-object is INVALID_ARGUMENT', async () => {
      const s = await factory();
      await listOptionsLaw((o) => s.listRollouts(ACME, o as never));
      await listOptionsLaw((o) => s.listExecutions(ACME, o as never));
    });

    it('stores rollouts with compare-and-set on the revision; the plan never changes', async () => {
      const s = await factory();
      const r = rollout('fw-2');
      const created = await s.createRollout(ACME, r);
      expect(created).toMatchObject({ rolloutId: 'fw-2', revision: 1, state: 'running' });
      expect((await s.getRollout(ACME, 'fw-2'))?.plan).toEqual(r.plan);
      await rejectsWith(s.createRollout(ACME, r), 'ALREADY_EXISTS');
      const saved = await s.updateRollout(ACME, { ...created, state: 'paused', trackerRevision: 3, tracker: { reports: [1] } }, 1);
      expect(saved).toMatchObject({ state: 'paused', trackerRevision: 3, revision: 2, tracker: { reports: [1] } });
      await rejectsWith(s.updateRollout(ACME, { ...created, state: 'completed' }, 1), 'VERSION_CONFLICT');
      await rejectsWith(s.updateRollout(ACME, { ...saved, plan: { ...saved.plan, seed: 'other' } }, 2), 'INVALID_ARGUMENT');
      await rejectsWith(s.updateRollout(ACME, rollout('nope'), 1), 'ROLLOUT_NOT_FOUND');
      expect((await s.getRollout(ACME, 'fw-2'))?.revision).toBe(2);
    });

    it('lists rollouts by state, per tenant', async () => {
      const s = await factory();
      await s.createRollout(ACME, rollout('r1'));
      const r2 = await s.createRollout(ACME, rollout('r2'));
      await s.updateRollout(ACME, { ...r2, state: 'completed' }, 1);
      await s.createRollout(GLOBEX, rollout('r1', 'globex'));
      expect((await readAll((p) => s.listRollouts(ACME, p), 1)).map((r) => r.rolloutId)).toEqual(['r1', 'r2']);
      expect((await s.listRollouts(ACME, { state: 'completed' })).items.map((r) => r.rolloutId)).toEqual(['r2']);
      expect((await s.listRollouts(GLOBEX)).items.map((r) => r.tenantId)).toEqual(['globex']);
    });

    it('refuses another tenant’s records and invalid ones', async () => {
      const s = await factory();
      await rejectsWith(s.createRollout(GLOBEX, rollout('r1')), 'TENANT_MISMATCH');
      // A plan that names another tenant's devices is refused too.
      const mixed = planRollout({
        rolloutId: 'mixed',
        firmware: { version: '2.0.0', url: 'https://updates.example.com/fw.bin', sha256: 'ab'.repeat(32), size: 1024 },
        devices: [
          { id: 'dev-1', tenantId: 'acme', firmware: '1.0.0', state: 'active' },
          { id: 'dev-2', tenantId: 'globex', firmware: '1.0.0', state: 'active' },
        ],
      });
      await rejectsWith(s.createRollout(ACME, rollout('mixed', 'acme', mixed)), 'TENANT_MISMATCH');
      await rejectsWith(s.putExecution(GLOBEX, execution('r1', 'dev-1'), 0), 'TENANT_MISMATCH');
      await rejectsWith(s.createRollout(ACME, { ...rollout('r1'), plan: { nope: true } as unknown as RolloutPlan }), ['INVALID_ARGUMENT', 'INVALID_PLAN', 'INVALID_INPUT']);
      await rejectsWith(s.createRollout(ACME, { ...rollout('r1'), state: 'flying' as 'running' }), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      await rejectsWith(s.createRollout(ACME, { ...rollout('r1'), rolloutId: 'other' }), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      await rejectsWith(s.putExecution(ACME, { ...execution('r1', 'dev-1'), status: 'done' as DeviceStatus }, 0), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      await rejectsWith(s.putExecution(ACME, execution('r1', 'dev-1'), -1), 'INVALID_ARGUMENT');
      expect((await s.listRollouts(ACME)).items).toEqual([]);
      expect((await s.listExecutions(ACME)).items).toEqual([]);
    });

    it('writes executions by compare-and-set on the version and lists them by job, device and status', async () => {
      const s = await factory();
      const e1 = await s.putExecution(ACME, execution('r1', 'dev-1'), 0);
      expect(e1.version).toBe(1);
      await rejectsWith(s.putExecution(ACME, execution('r1', 'dev-1', 'dispatched'), 0), 'VERSION_CONFLICT');
      expect(await s.putExecution(ACME, execution('r1', 'dev-1', 'dispatched'), 1)).toMatchObject({ status: 'dispatched', version: 2 });
      await s.putExecution(ACME, execution('r1', 'dev-2'), 0);
      await s.putExecution(ACME, execution('r2', 'dev-1', 'succeeded'), 0);
      await s.putExecution(GLOBEX, execution('r1', 'dev-9', 'pending', 'globex'), 0);
      const keys = async (o: Parameters<JobStore['listExecutions']>[1]): Promise<string[]> =>
        (await readAll((p) => s.listExecutions(ACME, { ...o, ...p }), 1)).map((e) => `${e.jobId}/${e.deviceId}`);
      expect(await keys({})).toEqual(['r1/dev-1', 'r1/dev-2', 'r2/dev-1']);
      expect(await keys({ jobId: 'r1' })).toEqual(['r1/dev-1', 'r1/dev-2']);
      expect(await keys({ deviceId: 'dev-1' })).toEqual(['r1/dev-1', 'r2/dev-1']);
      expect(await keys({ status: ['pending', 'succeeded'] })).toEqual(['r1/dev-2', 'r2/dev-1']);
      expect(await s.getExecution(ACME, 'r1', 'dev-1')).toMatchObject({ status: 'dispatched' });
      expect(await s.getExecution(GLOBEX, 'r1', 'dev-1')).toBeUndefined();
    });

    it('mutating an object passed in or returned never changes stored state', async () => {
      const s = await factory();
      const r = rollout('r1') as { -readonly [K in keyof RolloutInput]: RolloutInput[K] };
      await s.createRollout(ACME, r);
      const before = snapshot(await s.getRollout(ACME, 'r1'));
      tryMutate(() => {
        r.state = 'aborted';
        (r.tracker as { reports: number[] }).reports.push(1);
        (r.plan.devices as unknown[]).length = 0;
      });
      const got = (await s.getRollout(ACME, 'r1')) as StoredRollout;
      tryMutate(() => {
        (got as { state: string }).state = 'aborted';
        (got.plan.devices as unknown[]).length = 0;
      });
      expect(await s.getRollout(ACME, 'r1')).toEqual(before);
      const e = execution('r1', 'dev-1') as { -readonly [K in keyof JobExecutionInput]: JobExecutionInput[K] };
      await s.putExecution(ACME, e, 0);
      tryMutate(() => {
        (e.document as Record<string, unknown>)['url'] = 'changed';
      });
      expect((await s.getExecution(ACME, 'r1', 'dev-1'))?.document).toEqual({ url: 'https://x' });
    });

    it('property: of concurrent first writes of one execution exactly one wins (no device is dispatched twice), and pages return each execution once', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 8 }), fc.uniqueArray(fc.integer({ min: 0, max: 99 }), { maxLength: 30 }), fc.integer({ min: 1, max: 6 }), async (writers, devices, limit) => {
          const s = await factory();
          const outcomes = await Promise.allSettled(Array.from({ length: writers }, () => s.putExecution(ACME, execution('r1', 'dev-x', 'dispatched'), 0)));
          expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
          for (const n of devices) await s.putExecution(ACME, execution('r2', `dev-${n}`), 0);
          const got = (await readAll((p) => s.listExecutions(ACME, { ...p, jobId: 'r2' }), limit)).map((e) => e.deviceId);
          expect([...got].sort()).toEqual(devices.map((n) => `dev-${n}`).sort());
        }),
        params,
      );
    });
  });
}
