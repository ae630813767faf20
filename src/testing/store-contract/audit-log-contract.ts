/**
 * The contract every `AuditLog` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEntry, AuditInput, AuditLog } from '../../store/audit-log.js';
import type { TenantContext } from '../../store/tenant.js';
import { readAll, rejectsWith, resolveContractOptions, snapshot, tryMutate, type StoreContractOptions, type StoreFactory, listOptionsLaw } from './helpers.js';

const ACME: TenantContext = { tenantId: 'acme' };
const GLOBEX: TenantContext = { tenantId: 'globex' };

function entry(at: number, extra: Partial<AuditInput> = {}): AuditInput {
  return { tenantId: 'acme', at, actor: 'system', action: 'lifecycle.transition', subject: 'pump-1', details: { from: 'active', to: 'degraded' }, ...extra };
}

/**
 * Registers a vitest suite that checks `factory`'s logs against the {@link AuditLog} contract:
 * per-tenant sequence numbers 1, 2, 3, … without gaps, also for concurrent appends; lists in
 * append order with filters and pages; tenant isolation; entries immutable — and a fast-check
 * property over random multi-tenant append sequences.
 *
 * @param factory - creates a fresh, empty log for each test
 * @param options - suite name, runs, seed
 * @example
 * ```ts
 * import { auditLogContract } from 'fleetkit/testing';
 * import { MemoryAuditLog } from 'fleetkit/memory';
 * auditLogContract(() => new MemoryAuditLog());
 * ```
 */
export function auditLogContract(factory: StoreFactory<AuditLog>, options: StoreContractOptions = {}): void {
  const { name, params } = resolveContractOptions(options, 'AuditLog');

  describe(name, () => {
    it('list calls take null or no options alike; any other non-object is INVALID_ARGUMENT', async () => {
      const s = await factory();
      await listOptionsLaw((o) => s.list(ACME, o as never));
    });

    it('numbers entries per tenant and lists them in append order, with filters', async () => {
      const s = await factory();
      expect(await s.append(ACME, entry(10))).toMatchObject({ seq: 1, at: 10 });
      await s.append(ACME, entry(20, { action: 'shadow.delete', subject: 'pump-2' }));
      expect(await s.append(GLOBEX, entry(15, { tenantId: 'globex' }))).toMatchObject({ seq: 1 });
      await s.append(ACME, entry(30));
      const all = await readAll((p) => s.list(ACME, p), 1);
      expect(all.map((e) => e.seq)).toEqual([1, 2, 3]);
      expect((await s.list(ACME, { subject: 'pump-1' })).items.map((e) => e.seq)).toEqual([1, 3]);
      expect((await s.list(ACME, { action: 'shadow.delete' })).items.map((e) => e.seq)).toEqual([2]);
      expect((await s.list(ACME, { since: 20 })).items.map((e) => e.seq)).toEqual([2, 3]);
      expect((await s.list(GLOBEX)).items.map((e) => e.tenantId)).toEqual(['globex']);
      const first = await s.list(ACME, { limit: 1 });
      await rejectsWith(s.list(GLOBEX, { limit: 1, cursor: first.cursor as string }), 'TENANT_MISMATCH');
    });

    it('refuses another tenant’s entries and invalid ones; entries cannot be changed through any object', async () => {
      const s = await factory();
      await rejectsWith(s.append(GLOBEX, entry(1)), 'TENANT_MISMATCH');
      await rejectsWith(s.append(ACME, entry(Number.NaN)), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      await rejectsWith(s.append(ACME, { ...entry(1), actor: '' }), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      expect((await s.list(ACME)).items).toEqual([]);
      const mine = entry(1) as { -readonly [K in keyof AuditInput]: AuditInput[K] };
      const stored = await s.append(ACME, mine);
      const before = snapshot(stored);
      tryMutate(() => {
        (mine.details as Record<string, unknown>)['to'] = 'x';
        (stored as { seq: number }).seq = 9;
        ((stored as AuditEntry).details as Record<string, unknown>)['from'] = 'x';
      });
      expect((await s.list(ACME)).items).toEqual([before]);
    });

    it('property: random multi-tenant appends (also concurrent) give each tenant gap-free sequence numbers and only its own entries', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }), { maxLength: 12 }), fc.integer({ min: 1, max: 5 }), async (batches, limit) => {
          const s = await factory();
          const tenants = ['acme', 'globex', 'initech'];
          const counts = [0, 0, 0];
          for (const batch of batches) {
            // Each batch is appended concurrently.
            await Promise.all(batch.map((t) => s.append({ tenantId: tenants[t] as string }, entry(1, { tenantId: tenants[t] as string }))));
            for (const t of batch) counts[t] = (counts[t] as number) + 1;
          }
          for (let t = 0; t < tenants.length; t++) {
            const got = await readAll((p) => s.list({ tenantId: tenants[t] as string }, p), limit);
            expect(got.map((e) => e.seq)).toEqual(Array.from({ length: counts[t] as number }, (_, i) => i + 1));
            expect(got.every((e) => e.tenantId === tenants[t])).toBe(true);
          }
        }),
        params,
      );
    });
  });
}
