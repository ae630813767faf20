/**
 * The contract every `PresenceStore` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PresenceRaised, PresenceRecord, PresenceStore, PresenceTouched } from '../../store/presence-store.js';
import type { TenantContext } from '../../store/tenant.js';
import { rejectsWith, resolveContractOptions, type StoreContractOptions, type StoreFactory } from './helpers.js';

const ACME: TenantContext = { tenantId: 'acme' };
const GLOBEX: TenantContext = { tenantId: 'globex' };

const byId = <T extends { readonly deviceId: string }>(xs: readonly T[]): T[] => [...xs].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));

/** The model: what every store must answer. */
class Model {
  readonly devices = new Map<string, { lastSeen: number; level: number }>();
  touch(beats: readonly { deviceId: string; at: number }[]): PresenceTouched[] {
    const latest = new Map<string, number>();
    for (const b of beats) latest.set(b.deviceId, Math.max(b.at, latest.get(b.deviceId) ?? -Infinity));
    const out: PresenceTouched[] = [];
    for (const [deviceId, at] of latest) {
      const e = this.devices.get(deviceId);
      if (e !== undefined && at <= e.lastSeen) continue;
      out.push({ deviceId, lastSeen: at, previousLastSeen: e?.lastSeen, previousLevel: e?.level });
      this.devices.set(deviceId, { lastSeen: at, level: 0 });
    }
    return byId(out);
  }
  sweep(limits: readonly number[]): PresenceRaised[] {
    const out: PresenceRaised[] = [];
    for (const [deviceId, e] of this.devices) {
      let level = 0;
      while (level < limits.length && e.lastSeen <= (limits[level] as number)) level++;
      if (level <= e.level) continue;
      out.push({ deviceId, lastSeen: e.lastSeen, previousLevel: e.level, level });
      e.level = level;
    }
    return byId(out);
  }
  records(): PresenceRecord[] {
    return byId([...this.devices].map(([deviceId, e]) => ({ deviceId, ...e })));
  }
}

/**
 * Registers a vitest suite that checks `factory`'s stores against the {@link PresenceStore}
 * contract: the greatest time wins, a later beat resets the level, sweeps raise levels (never
 * lower them) and report each raise once, counts by level, removal, tenant isolation, validation —
 * and fast-check properties: random beats of several writers flushed in batches, interleaved with
 * sweeps, give exactly the model's answers and levels; the final `lastSeen` of every device is
 * its greatest beat whatever the flush order; concurrent touches and sweeps report every change
 * once.
 *
 * @param factory - creates a fresh, empty store for each test
 * @param options - suite name, runs, seed
 * @example
 * ```ts
 * import { presenceStoreContract } from 'fleetkit/testing';
 * import { MemoryPresenceStore } from 'fleetkit/memory';
 * presenceStoreContract(() => new MemoryPresenceStore());
 * ```
 */
export function presenceStoreContract(factory: StoreFactory<PresenceStore>, options: StoreContractOptions = {}): void {
  const { name, params } = resolveContractOptions(options, 'PresenceStore');

  describe(name, () => {
    it('keeps the greatest time; reports a device once per forward move, with what it had before', async () => {
      const s = await factory();
      expect(await s.touch(ACME, [{ deviceId: 'pump-1', at: 1000 }])).toEqual([{ deviceId: 'pump-1', lastSeen: 1000, previousLastSeen: undefined, previousLevel: undefined }]);
      expect(await s.touch(ACME, [{ deviceId: 'pump-1', at: 900 }])).toEqual([]);
      expect(await s.touch(ACME, [{ deviceId: 'pump-1', at: 1000 }])).toEqual([]);
      expect(await s.touch(ACME, [{ deviceId: 'pump-1', at: 1500 }])).toEqual([{ deviceId: 'pump-1', lastSeen: 1500, previousLastSeen: 1000, previousLevel: 0 }]);
      expect(await s.get(ACME, ['pump-1', 'pump-2'])).toEqual([{ deviceId: 'pump-1', lastSeen: 1500, level: 0 }]);
    });

    it('a device given twice in one batch counts once, with its greatest time', async () => {
      const s = await factory();
      const r = await s.touch(ACME, [
        { deviceId: 'pump-1', at: 5 },
        { deviceId: 'pump-2', at: 7 },
        { deviceId: 'pump-1', at: 9 },
        { deviceId: 'pump-1', at: 2 },
      ]);
      expect(byId(r)).toEqual([
        { deviceId: 'pump-1', lastSeen: 9, previousLastSeen: undefined, previousLevel: undefined },
        { deviceId: 'pump-2', lastSeen: 7, previousLastSeen: undefined, previousLevel: undefined },
      ]);
      expect(await s.touch(ACME, [])).toEqual([]);
    });

    it('a sweep raises each level once and never lowers one; a later beat resets it to 0', async () => {
      const s = await factory();
      await s.touch(ACME, [
        { deviceId: 'a', at: 100 },
        { deviceId: 'b', at: 200 },
        { deviceId: 'c', at: 300 },
      ]);
      // Level 1 at or before 250, level 2 at or before 150.
      expect(byId(await s.sweep(ACME, [250, 150]))).toEqual([
        { deviceId: 'a', lastSeen: 100, previousLevel: 0, level: 2 },
        { deviceId: 'b', lastSeen: 200, previousLevel: 0, level: 1 },
      ]);
      expect(await s.sweep(ACME, [250, 150])).toEqual([]);
      expect(await s.sweep(ACME, [50])).toEqual([]); // lower limits never lower a level
      expect(byId(await s.sweep(ACME, [300, 200]))).toEqual([
        { deviceId: 'b', lastSeen: 200, previousLevel: 1, level: 2 },
        { deviceId: 'c', lastSeen: 300, previousLevel: 0, level: 1 },
      ]);
      expect(await s.countByLevel(ACME)).toEqual([0, 1, 2]);
      expect(await s.touch(ACME, [{ deviceId: 'a', at: 400 }])).toEqual([{ deviceId: 'a', lastSeen: 400, previousLastSeen: 100, previousLevel: 2 }]);
      expect(await s.touch(ACME, [{ deviceId: 'b', at: 150 }])).toEqual([]); // older than stored: still level 2
      expect(byId(await s.get(ACME, ['a', 'b', 'c']))).toEqual([
        { deviceId: 'a', lastSeen: 400, level: 0 },
        { deviceId: 'b', lastSeen: 200, level: 2 },
        { deviceId: 'c', lastSeen: 300, level: 1 },
      ]);
      expect(await s.countByLevel(ACME)).toEqual([1, 1, 1]);
    });

    it('removes a device; counts and tenants follow', async () => {
      const s = await factory();
      expect(await s.tenants()).toEqual([]);
      expect(await s.countByLevel(ACME)).toEqual([]);
      await s.touch(ACME, [{ deviceId: 'pump-1', at: 1 }]);
      await s.touch(GLOBEX, [{ deviceId: 'valve-1', at: 1 }]);
      expect(await s.tenants()).toEqual(['acme', 'globex']);
      expect(await s.remove(ACME, 'pump-1')).toBe(true);
      expect(await s.remove(ACME, 'pump-1')).toBe(false);
      expect(await s.get(ACME, ['pump-1'])).toEqual([]);
      expect(await s.countByLevel(ACME)).toEqual([]);
      // After a removal the device starts again as new.
      expect(await s.touch(ACME, [{ deviceId: 'pump-1', at: 0 }])).toEqual([{ deviceId: 'pump-1', lastSeen: 0, previousLastSeen: undefined, previousLevel: undefined }]);
    });

    it('is keyed within the tenant: another tenant neither sees nor changes a presence', async () => {
      const s = await factory();
      await s.touch(ACME, [{ deviceId: 'pump-1', at: 100 }]);
      expect(await s.get(GLOBEX, ['pump-1'])).toEqual([]);
      expect(await s.sweep(GLOBEX, [1000])).toEqual([]);
      expect(await s.remove(GLOBEX, 'pump-1')).toBe(false);
      expect(await s.countByLevel(GLOBEX)).toEqual([]);
      // The same id in another tenant is another device.
      expect(await s.touch(GLOBEX, [{ deviceId: 'pump-1', at: 50 }])).toEqual([{ deviceId: 'pump-1', lastSeen: 50, previousLastSeen: undefined, previousLevel: undefined }]);
      expect(await s.get(ACME, ['pump-1'])).toEqual([{ deviceId: 'pump-1', lastSeen: 100, level: 0 }]);
      expect(await s.sweep(ACME, [1000])).toEqual([{ deviceId: 'pump-1', lastSeen: 100, previousLevel: 0, level: 1 }]);
      expect(await s.get(GLOBEX, ['pump-1'])).toEqual([{ deviceId: 'pump-1', lastSeen: 50, level: 0 }]);
    });

    it('refuses bad arguments with INVALID_ARGUMENT and changes nothing', async () => {
      const s = await factory();
      await s.touch(ACME, [{ deviceId: 'pump-1', at: 100 }]);
      const before = await s.get(ACME, ['pump-1']);
      for (const ctx of [undefined, null, {}, { tenantId: '' }, { tenantId: 'a b' }, 'acme']) {
        await rejectsWith(() => s.touch(ctx as never, [{ deviceId: 'pump-1', at: 200 }]), 'INVALID_ARGUMENT');
        await rejectsWith(() => s.sweep(ctx as never, [1000]), 'INVALID_ARGUMENT');
        await rejectsWith(() => s.get(ctx as never, ['pump-1']), 'INVALID_ARGUMENT');
        await rejectsWith(() => s.countByLevel(ctx as never), 'INVALID_ARGUMENT');
        await rejectsWith(() => s.remove(ctx as never, 'pump-1'), 'INVALID_ARGUMENT');
      }
      const badBeats: unknown[] = [
        undefined,
        null,
        'pump-1',
        { deviceId: 'pump-1', at: 200 },
        [null],
        [{ deviceId: 'pump-1' }],
        [{ deviceId: 'pump-1', at: Number.NaN }],
        [{ deviceId: 'pump-1', at: Infinity }],
        [{ deviceId: 'pump-1', at: '200' }],
        [{ deviceId: '', at: 200 }],
        [{ deviceId: 'a/b', at: 200 }],
        [{ deviceId: "x'; DROP TABLE fleetkit_presence; --", at: 200 }],
        [{ deviceId: 'x'.repeat(129), at: 200 }],
        [{ deviceId: 'pump-1', at: 300 }, { deviceId: 7, at: 200 }], // a bad beat refuses the whole batch
      ];
      for (const beats of badBeats) await rejectsWith(() => s.touch(ACME, beats as never), 'INVALID_ARGUMENT');
      for (const limits of [undefined, [], [Number.NaN], [1, 2], ['5'], Array.from({ length: 17 }, () => 0), 5]) {
        await rejectsWith(() => s.sweep(ACME, limits as never), 'INVALID_ARGUMENT');
      }
      for (const ids of [undefined, 'pump-1', [''], [5]]) await rejectsWith(() => s.get(ACME, ids as never), 'INVALID_ARGUMENT');
      for (const id of [undefined, '', 'a/b', 5]) await rejectsWith(() => s.remove(ACME, id as never), 'INVALID_ARGUMENT');
      expect(await s.get(ACME, ['pump-1'])).toEqual(before);
      expect(await s.tenants()).toEqual(['acme']);
    });

    // ── properties ─────────────────────────────────────────────────────────────────────────

    const DEVICES = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5'];
    const beatArb = fc.record({ writer: fc.integer({ min: 0, max: 2 }), deviceId: fc.constantFrom(...DEVICES), at: fc.integer({ min: 0, max: 1000 }) });
    const opArb = fc.oneof(
      { weight: 5, arbitrary: beatArb.map((b) => ({ kind: 'beat' as const, ...b })) },
      { weight: 2, arbitrary: fc.integer({ min: 0, max: 2 }).map((writer) => ({ kind: 'flush' as const, writer })) },
      {
        weight: 2,
        arbitrary: fc
          .array(fc.integer({ min: -10, max: 1010 }), { minLength: 1, maxLength: 3 })
          .map((ls) => ({ kind: 'sweep' as const, limits: [...ls].sort((a, b) => b - a) })),
      },
    );

    it('property: beats of several writers flushed in batches, interleaved with sweeps, answer and end as the model', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { maxLength: 40 }), async (ops) => {
          const s = await factory();
          const model = new Model();
          const buffers: { deviceId: string; at: number }[][] = [[], [], []];
          for (const op of ops) {
            if (op.kind === 'beat') (buffers[op.writer] as { deviceId: string; at: number }[]).push({ deviceId: op.deviceId, at: op.at });
            else if (op.kind === 'flush') {
              const batch = (buffers[op.writer] as { deviceId: string; at: number }[]).splice(0);
              expect(byId(await s.touch(ACME, batch))).toEqual(model.touch(batch));
            } else expect(byId(await s.sweep(ACME, op.limits))).toEqual(model.sweep(op.limits));
          }
          expect(byId(await s.get(ACME, DEVICES))).toEqual(model.records());
          const counts: number[] = [];
          for (const r of model.records()) {
            while (counts.length <= r.level) counts.push(0);
            counts[r.level] = (counts[r.level] as number) + 1;
          }
          expect(await s.countByLevel(ACME)).toEqual(counts);
        }),
        params,
      );
    });

    it('property: the greatest time wins whatever the order in which batches are flushed', async () => {
      const batchesArb = fc.array(fc.array(beatArb, { maxLength: 8 }), { minLength: 1, maxLength: 6 });
      await fc.assert(
        fc.asyncProperty(
          batchesArb.chain((batches) => fc.tuple(fc.constant(batches), fc.shuffledSubarray(batches, { minLength: batches.length, maxLength: batches.length }))),
          async ([batches, reordered]) => {
            const latest = new Map<string, number>();
            for (const b of batches.flat()) latest.set(b.deviceId, Math.max(b.at, latest.get(b.deviceId) ?? -Infinity));
            const expected = byId([...latest].map(([deviceId, lastSeen]) => ({ deviceId, lastSeen, level: 0 })));
            for (const order of [batches, reordered]) {
              const s = await factory();
              for (const batch of order) await s.touch(ACME, batch);
              expect(byId(await s.get(ACME, DEVICES))).toEqual(expected);
            }
          },
        ),
        params,
      );
    });

    it('property: concurrent touches and sweeps report every change once (a chain per device, each level raised once)', async () => {
      const callArb = fc.oneof(
        { weight: 3, arbitrary: fc.array(beatArb, { minLength: 1, maxLength: 6 }).map((beats) => ({ kind: 'touch' as const, beats })) },
        { weight: 1, arbitrary: fc.constant({ kind: 'sweep' as const }) },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(callArb, { minLength: 1, maxLength: 12 }), async (calls) => {
          const s = await factory();
          // One fixed limit above every beat: a sweep raises a device from 0 to 1.
          const results = await Promise.all(calls.map((c) => (c.kind === 'touch' ? s.touch(ACME, c.beats) : s.sweep(ACME, [2000]))));
          const touched = new Map<string, PresenceTouched[]>();
          const raised = new Map<string, number>();
          results.forEach((r, i) => {
            if (calls[i]?.kind === 'touch') for (const t of r as readonly PresenceTouched[]) touched.set(t.deviceId, [...(touched.get(t.deviceId) ?? []), t]);
            else for (const x of r as readonly PresenceRaised[]) raised.set(x.deviceId, (raised.get(x.deviceId) ?? 0) + 1);
          });
          const latest = new Map<string, number>();
          for (const c of calls) if (c.kind === 'touch') for (const b of c.beats) latest.set(b.deviceId, Math.max(b.at, latest.get(b.deviceId) ?? -Infinity));
          for (const [deviceId, at] of latest) {
            // The forward moves of one device form one chain from "new" to its greatest time.
            const chain = [...(touched.get(deviceId) ?? [])].sort((a, b) => a.lastSeen - b.lastSeen);
            expect(chain[0]?.previousLastSeen).toBeUndefined();
            for (let i = 1; i < chain.length; i++) expect(chain[i]?.previousLastSeen).toBe(chain[i - 1]?.lastSeen);
            expect(chain[chain.length - 1]?.lastSeen).toBe(at);
          }
          // Each raise from level 0 is reported by one sweep, and only after a forward move reset it.
          for (const [deviceId, n] of raised) {
            const resets = (touched.get(deviceId) ?? []).length;
            expect(n).toBeLessThanOrEqual(resets);
          }
          const final = await s.get(ACME, [...latest.keys()]);
          for (const r of final) expect(r.lastSeen).toBe(latest.get(r.deviceId));
        }),
        params,
      );
    });
  });
}
