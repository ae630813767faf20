/**
 * The contract every `CommandStore` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommandInput, CommandState, CommandStore, StoredCommand } from '../../store/command-store.js';
import type { TenantContext } from '../../store/tenant.js';
import { readAll, rejectsWith, resolveContractOptions, snapshot, tryMutate, type StoreContractOptions, type StoreFactory, listOptionsLaw } from './helpers.js';

const ACME: TenantContext = { tenantId: 'acme' };
const GLOBEX: TenantContext = { tenantId: 'globex' };

function command(commandId: string, extra: Partial<CommandInput> = {}): CommandInput {
  return { tenantId: 'acme', commandId, deviceId: 'pump-1', name: 'reboot', params: { delayS: 5 }, createdAt: 1000, expiresAt: 61_000, status: 'queued', updatedAt: 1000, ...extra };
}

/**
 * Registers a vitest suite that checks `factory`'s stores against the {@link CommandStore}
 * contract: idempotent creation by command id, `ALREADY_EXISTS` for the same id with other
 * content, compare-and-set updates of the acknowledgement state with immutable identity fields,
 * lists by device, state and expiry, tenant isolation, isolation from callers' objects — and a
 * fast-check property: concurrent creations of one id store it once, and pages return each command once.
 *
 * @param factory - creates a fresh, empty store for each test
 * @param options - suite name, runs, seed
 * @example
 * ```ts
 * import { commandStoreContract } from 'fleetkit/testing';
 * import { MemoryCommandStore } from 'fleetkit/memory';
 * commandStoreContract(() => new MemoryCommandStore());
 * ```
 */
export function commandStoreContract(factory: StoreFactory<CommandStore>, options: StoreContractOptions = {}): void {
  const { name, params } = resolveContractOptions(options, 'CommandStore');

  describe(name, () => {
    it('list calls take null or no options alike; any other non-object is INVALID_ARGUMENT', async () => {
      const s = await factory();
      await listOptionsLaw((o) => s.listCommands(ACME, o as never));
    });

    it('creates idempotently by id and refuses the same id with other content', async () => {
      const s = await factory();
      const first = await s.createCommand(ACME, command('c1'));
      expect(first).toMatchObject({ created: true, command: { commandId: 'c1', version: 1, status: 'queued' } });
      const again = await s.createCommand(ACME, command('c1', { createdAt: 2000, updatedAt: 2000 }));
      expect(again).toEqual({ created: false, command: first.command });
      await rejectsWith(s.createCommand(ACME, command('c1', { params: { delayS: 6 } })), 'ALREADY_EXISTS');
      await rejectsWith(s.createCommand(ACME, command('c1', { deviceId: 'pump-2' })), 'ALREADY_EXISTS');
      expect(await s.getCommand(GLOBEX, 'c1')).toBeUndefined();
    });

    it('updates the state by compare-and-set; identity fields never change', async () => {
      const s = await factory();
      const { command: c } = await s.createCommand(ACME, command('c1'));
      const sent = await s.updateCommand(ACME, { ...c, status: 'sent', updatedAt: 2000 }, 1);
      expect(sent).toMatchObject({ status: 'sent', version: 2 });
      await rejectsWith(s.updateCommand(ACME, { ...c, status: 'received' }, 1), 'VERSION_CONFLICT');
      const done = await s.updateCommand(ACME, { ...sent, status: 'failed', error: { code: 'E_BUSY', message: 'busy' }, result: { tries: 2 } }, 2);
      expect(done).toMatchObject({ status: 'failed', error: { code: 'E_BUSY' }, result: { tries: 2 }, version: 3 });
      await rejectsWith(s.updateCommand(ACME, { ...done, name: 'other' }, 3), 'INVALID_ARGUMENT');
      await rejectsWith(s.updateCommand(ACME, { ...done, params: {} }, 3), 'INVALID_ARGUMENT');
      await rejectsWith(s.updateCommand(ACME, command('missing'), 1), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      expect((await s.getCommand(ACME, 'c1'))?.version).toBe(3);
    });

    it('lists by device, state and expiry', async () => {
      const s = await factory();
      await s.createCommand(ACME, command('c1'));
      await s.createCommand(ACME, command('c2', { deviceId: 'pump-2', expiresAt: 5000 }));
      await s.createCommand(ACME, command('c3', { status: 'succeeded' }));
      const noExpiry = command('c4');
      delete (noExpiry as { expiresAt?: number }).expiresAt;
      await s.createCommand(ACME, noExpiry);
      const ids = async (o: Parameters<CommandStore['listCommands']>[1]): Promise<string[]> => (await readAll((p) => s.listCommands(ACME, { ...o, ...p }), 1)).map((c) => c.commandId);
      expect(await ids({})).toEqual(['c1', 'c2', 'c3', 'c4']);
      expect(await ids({ deviceId: 'pump-1' })).toEqual(['c1', 'c3', 'c4']);
      expect(await ids({ status: 'queued' })).toEqual(['c1', 'c2', 'c4']);
      expect(await ids({ status: ['queued'], expiresBefore: 10_000 })).toEqual(['c2']);
      expect((await s.listCommands(GLOBEX)).items).toEqual([]);
    });

    it('refuses another tenant’s records, invalid records, and keeps stored state isolated', async () => {
      const s = await factory();
      await rejectsWith(s.createCommand(GLOBEX, command('c1')), 'TENANT_MISMATCH');
      await rejectsWith(s.createCommand(ACME, command('c1', { status: 'lost' as CommandState })), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      await rejectsWith(s.createCommand(ACME, command('c1', { params: { x: Number.POSITIVE_INFINITY } })), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      const mine = command('c1') as { -readonly [K in keyof CommandInput]: CommandInput[K] };
      await s.createCommand(ACME, mine);
      const before = snapshot(await s.getCommand(ACME, 'c1'));
      tryMutate(() => {
        (mine.params as Record<string, unknown>)['delayS'] = 99;
      });
      const got = (await s.getCommand(ACME, 'c1')) as StoredCommand;
      tryMutate(() => {
        (got as { status: string }).status = 'expired';
        (got.params as Record<string, unknown>)['delayS'] = 99;
      });
      expect(await s.getCommand(ACME, 'c1')).toEqual(before);
    });

    it('property: concurrent creations of one id store it once; pages return each command once', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 2, max: 8 }), fc.uniqueArray(fc.integer({ min: 0, max: 500 }), { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), async (writers, ids, limit) => {
          const s = await factory();
          const results = await Promise.all(Array.from({ length: writers }, () => s.createCommand(ACME, command('same'))));
          expect(results.filter((r) => r.created)).toHaveLength(1);
          for (const n of ids) await s.createCommand(ACME, command(`c-${n}`));
          const got = (await readAll((p) => s.listCommands(ACME, { ...p, deviceId: 'pump-1' }), limit)).map((c) => c.commandId);
          expect([...got].sort()).toEqual(['same', ...ids.map((n) => `c-${n}`)].sort());
        }),
        params,
      );
    });
  });
}
