/**
 * The contract every `ShadowStore` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ShadowDocument, StoredShadow } from '../../shadow/types.js';
import type { ShadowRecord, ShadowStore } from '../../store/shadow-store.js';
import type { TenantContext } from '../../store/tenant.js';
import { readAll, rejectsWith, resolveContractOptions, snapshot, tryMutate, type StoreContractOptions, type StoreFactory, listOptionsLaw } from './helpers.js';

const ACME: TenantContext = { tenantId: 'acme' };
const GLOBEX: TenantContext = { tenantId: 'globex' };

/** A small live document at `version` whose desired `marker` tells writes apart. */
function doc(version: number, marker: number | string = version): ShadowDocument {
  return { state: { desired: { marker, nested: { list: [1, 2] } } }, metadata: { desired: { marker: { timestamp: 1 }, nested: { list: [{ timestamp: 1 }, { timestamp: 1 }] } } }, version };
}

const keyOf = (r: ShadowRecord): string => `${r.tenantId}/${r.thingName}/${r.shadowName ?? ''}`;

/**
 * Registers a vitest suite that checks `factory`'s stores against the {@link ShadowStore}
 * contract: versions and compare-and-set, delete keeping the counter, purge, tenant ownership of
 * thing names (`TENANT_MISMATCH` on every cross-tenant call), isolation from callers' objects,
 * argument validation, cursor pages — and fast-check properties: a model-based run of random
 * multi-tenant operation sequences, the compare-and-set chain law under concurrent writers, and
 * pagination returning every record exactly once while records are added and removed.
 *
 * @param factory - creates a fresh, empty store for each test
 * @param options - suite name, runs, seed
 * @example
 * ```ts
 * import { shadowStoreContract } from 'fleetkit/testing';
 * import { MemoryShadowStore } from 'fleetkit/memory';
 * shadowStoreContract(() => new MemoryShadowStore());
 * ```
 */
export function shadowStoreContract(factory: StoreFactory<ShadowStore>, options: StoreContractOptions = {}): void {
  const { name, params } = resolveContractOptions(options, 'ShadowStore');

  describe(name, () => {
    it('list calls take null or no options alike; any other non-object is INVALID_ARGUMENT', async () => {
      const s = await factory();
      await listOptionsLaw((o) => s.list(ACME, o as never));
    });

    it('a shadow that never existed reads undefined and is at version 0 for compare-and-set', async () => {
      const s = await factory();
      expect(await s.get(ACME, 'pump-1')).toBeUndefined();
      expect(await s.get(ACME, 'pump-1', 'cfg')).toBeUndefined();
      expect(await s.compareAndSet(ACME, 'pump-1', undefined, 1, doc(2))).toEqual({ ok: false, current: undefined });
      expect(await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1))).toEqual({ ok: true });
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(1));
    });

    it('writes only at the expected version and reports what is stored otherwise', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1));
      expect(await s.compareAndSet(ACME, 'pump-1', undefined, 1, doc(2, 'b'))).toEqual({ ok: true });
      const stale = await s.compareAndSet(ACME, 'pump-1', undefined, 1, doc(2, 'c'));
      expect(stale).toEqual({ ok: false, current: doc(2, 'b') });
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(2, 'b'));
    });

    it('classic and named shadows of one thing are independent', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1, 'classic'));
      await s.compareAndSet(ACME, 'pump-1', 'cfg', 0, doc(1, 'named'));
      await s.compareAndSet(ACME, 'pump-1', 'cfg', 1, doc(2, 'named2'));
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(1, 'classic'));
      expect(await s.get(ACME, 'pump-1', 'cfg')).toEqual(doc(2, 'named2'));
      expect(await s.get(ACME, 'pump-1', 'other')).toBeUndefined();
    });

    it('delete leaves a tombstone with the version, and the counter continues on re-create', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1));
      await s.compareAndSet(ACME, 'pump-1', undefined, 1, doc(2));
      expect(await s.delete(ACME, 'pump-1', undefined, 1)).toEqual({ ok: false, current: doc(2) });
      expect(await s.delete(ACME, 'pump-1')).toEqual({ ok: true, tombstone: { deleted: true, version: 2 } });
      expect(await s.get(ACME, 'pump-1')).toEqual({ deleted: true, version: 2 });
      expect(await s.delete(ACME, 'pump-1')).toEqual({ ok: false, current: { deleted: true, version: 2 } });
      expect(await s.delete(ACME, 'never')).toEqual({ ok: false, current: undefined });
      expect((await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1))).ok).toBe(false);
      expect(await s.compareAndSet(ACME, 'pump-1', undefined, 2, doc(3))).toEqual({ ok: true });
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(3));
    });

    it('compare-and-set may also write a tombstone, and delete honours expectedVersion', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', 'cfg', 0, doc(1));
      expect(await s.compareAndSet(ACME, 'pump-1', 'cfg', 1, { deleted: true, version: 1 })).toEqual({ ok: true });
      expect(await s.get(ACME, 'pump-1', 'cfg')).toEqual({ deleted: true, version: 1 });
      await s.compareAndSet(ACME, 'pump-1', 'cfg', 1, doc(2));
      expect(await s.delete(ACME, 'pump-1', 'cfg', 2)).toEqual({ ok: true, tombstone: { deleted: true, version: 2 } });
    });

    it('purge removes every shadow of the thing and releases its name', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1));
      await s.compareAndSet(ACME, 'pump-1', 'cfg', 0, doc(1));
      await s.delete(ACME, 'pump-1', 'cfg');
      expect(await s.purge(ACME, 'pump-1')).toBe(2);
      expect(await s.get(ACME, 'pump-1')).toBeUndefined();
      expect(await s.purge(ACME, 'pump-1')).toBe(0);
      expect((await s.list(ACME, { includeDeleted: true })).items).toEqual([]);
      // The name is free: another tenant may now own it.
      expect(await s.compareAndSet(GLOBEX, 'pump-1', undefined, 0, doc(1))).toEqual({ ok: true });
    });

    it('a thing belongs to the tenant that wrote it first: every other tenant gets TENANT_MISMATCH, reads included', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1));
      await rejectsWith(s.get(GLOBEX, 'pump-1'), 'TENANT_MISMATCH');
      await rejectsWith(s.get(GLOBEX, 'pump-1', 'cfg'), 'TENANT_MISMATCH');
      await rejectsWith(s.compareAndSet(GLOBEX, 'pump-1', undefined, 1, doc(2)), 'TENANT_MISMATCH');
      await rejectsWith(s.compareAndSet(GLOBEX, 'pump-1', 'cfg', 0, doc(1)), 'TENANT_MISMATCH');
      await rejectsWith(s.delete(GLOBEX, 'pump-1'), 'TENANT_MISMATCH');
      await rejectsWith(s.purge(GLOBEX, 'pump-1'), 'TENANT_MISMATCH');
      await rejectsWith(s.list(GLOBEX, { thingName: 'pump-1' }), 'TENANT_MISMATCH');
      expect((await s.list(GLOBEX)).items).toEqual([]);
      await s.delete(ACME, 'pump-1');
      await rejectsWith(s.get(GLOBEX, 'pump-1'), 'TENANT_MISMATCH'); // a tombstone still belongs to its tenant
      expect(await s.get(ACME, 'pump-1')).toEqual({ deleted: true, version: 1 });
    });

    it('mutating an object passed in or returned never changes stored state', async () => {
      const s = await factory();
      const mine = doc(1, 'original');
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, mine);
      tryMutate(() => {
        (mine.state.desired as Record<string, unknown>)['marker'] = 'changed';
        (mine as { version: number }).version = 99;
      });
      const got = (await s.get(ACME, 'pump-1')) as ShadowDocument;
      expect(got).toEqual(doc(1, 'original'));
      tryMutate(() => {
        (got.state.desired as Record<string, unknown>)['marker'] = 'changed';
        ((got.state.desired as { nested: { list: number[] } }).nested.list as number[]).push(3);
        (got.metadata as Record<string, unknown>)['desired'] = {};
      });
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(1, 'original'));
      const page = await s.list(ACME);
      tryMutate(() => {
        ((page.items[0] as ShadowRecord).shadow as { version: number }).version = 7;
      });
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(1, 'original'));
    });

    it('refuses malformed documents, names and versions with a FleetError and changes nothing', async () => {
      const s = await factory();
      await s.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1));
      const bad: unknown[] = [
        null,
        { state: 5, metadata: {}, version: 2 },
        { state: {}, metadata: {}, version: 1.5 },
        { state: {}, metadata: {}, version: '2' },
        { state: { desired: { x: Number.NaN } }, metadata: {}, version: 2 },
        { state: { desired: { x: new Date(0) } }, metadata: {}, version: 2 },
        { state: { desired: { x: undefined } }, metadata: {}, version: 2 },
        { deleted: true, version: 2, extra: 1 },
        doc(0), // a version below the expected one: versions never go down
      ];
      for (const next of bad) await rejectsWith(s.compareAndSet(ACME, 'pump-1', undefined, 1, next as StoredShadow), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      // Version 0 means "no shadow": a new shadow (expected 0) is written at version 1 or more.
      await rejectsWith(s.compareAndSet(ACME, 'pump-2', undefined, 0, doc(0)), 'INVALID_ARGUMENT');
      await rejectsWith(s.compareAndSet(ACME, 'pump-2', undefined, 0, { deleted: true, version: 0 }), 'INVALID_ARGUMENT');
      expect(await s.get(ACME, 'pump-2')).toBeUndefined();
      await rejectsWith(s.compareAndSet(ACME, 'pump-1', undefined, -1, doc(1)), 'INVALID_ARGUMENT');
      await rejectsWith(s.compareAndSet(ACME, 'bad/name', undefined, 0, doc(1)), ['INVALID_NAME', 'INVALID_ARGUMENT']);
      await rejectsWith(s.get(ACME, 'pump-1', 'bad name'), ['INVALID_NAME', 'INVALID_ARGUMENT']);
      await rejectsWith(s.get({ tenantId: '' }, 'pump-1'), ['INVALID_ARGUMENT', 'INVALID_NAME']);
      await rejectsWith(s.get(undefined as unknown as TenantContext, 'pump-1'), ['INVALID_ARGUMENT', 'INVALID_NAME']);
      expect(await s.get(ACME, 'pump-1')).toEqual(doc(1));
    });

    it('lists the tenant’s shadows in pages; tombstones only on request; a cursor is bound to its tenant', async () => {
      const s = await factory();
      for (const thing of ['b', 'a', 'c']) await s.compareAndSet(ACME, thing, undefined, 0, doc(1));
      await s.compareAndSet(ACME, 'a', 'cfg', 0, doc(1));
      await s.compareAndSet(GLOBEX, 'g', undefined, 0, doc(1));
      await s.delete(ACME, 'c');
      const live = await readAll((p) => s.list(ACME, p), 2);
      expect(live.map((r) => [r.thingName, r.shadowName ?? null])).toEqual([
        ['a', null],
        ['a', 'cfg'],
        ['b', null],
      ]);
      expect(live.every((r) => r.tenantId === 'acme')).toBe(true);
      const all = await readAll((p) => s.list(ACME, { ...p, includeDeleted: true }), 1);
      expect(all.map((r) => r.thingName)).toEqual(['a', 'a', 'b', 'c']);
      expect((await s.list(ACME, { thingName: 'a' })).items).toHaveLength(2);
      const first = await s.list(ACME, { limit: 1 });
      expect(first.cursor).toBeDefined();
      await rejectsWith(s.list(GLOBEX, { limit: 1, cursor: first.cursor as string }), 'TENANT_MISMATCH');
      await rejectsWith(s.list(ACME, { cursor: 'not-a-cursor' }), 'INVALID_ARGUMENT');
      for (const limit of [0, -1, 1.5, 1001]) await rejectsWith(s.list(ACME, { limit }), 'INVALID_ARGUMENT');
    });

    it('property: random multi-tenant operation sequences behave like the model (versions, tombstones, ownership)', async () => {
      type Op =
        | { kind: 'get'; t: number; thing: number; shadow: number }
        | { kind: 'cas'; t: number; thing: number; shadow: number; delta: number; bump: number; tomb: boolean; marker: number }
        | { kind: 'delete'; t: number; thing: number; shadow: number; expected: number | null }
        | { kind: 'purge'; t: number; thing: number }
        | { kind: 'list'; t: number };
      const idx = (n: number): fc.Arbitrary<number> => fc.integer({ min: 0, max: n - 1 });
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ kind: fc.constant('get' as const), t: idx(2), thing: idx(3), shadow: idx(2) }),
        fc.record({ kind: fc.constant('cas' as const), t: idx(2), thing: idx(3), shadow: idx(2), delta: fc.constantFrom(-1, 0, 0, 0, 1), bump: fc.constantFrom(0, 1, 1, 1), tomb: fc.boolean(), marker: fc.nat(99) }),
        fc.record({ kind: fc.constant('delete' as const), t: idx(2), thing: idx(3), shadow: idx(2), expected: fc.option(fc.integer({ min: -1, max: 1 })) }),
        fc.record({ kind: fc.constant('purge' as const), t: idx(2), thing: idx(3) }),
        fc.record({ kind: fc.constant('list' as const), t: idx(2) }),
      );
      const tenants = [ACME, GLOBEX];
      const things = ['x-1', 'x-2', 'x-3'];
      const shadows = [undefined, 'cfg'];
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          const s = await factory();
          const owner = new Map<string, number>();
          const model = new Map<string, StoredShadow>();
          const key = (thing: number, shadow: number): string => `${thing}/${shadow}`;
          for (const o of ops) {
            const ctx = tenants[o.t] as TenantContext;
            if (o.kind === 'list') {
              const got = await readAll((p) => s.list(ctx, { ...p, includeDeleted: true }), 3);
              const expected = [...model.entries()].filter(([k]) => owner.get(k.split('/')[0] as string) === o.t).length;
              expect(got.length).toBe(expected);
              expect(got.every((r) => r.tenantId === ctx.tenantId)).toBe(true);
              continue;
            }
            const thing = things[o.thing] as string;
            const owned = owner.get(String(o.thing));
            const foreign = owned !== undefined && owned !== o.t;
            const call = async (): Promise<unknown> => {
              const shadowName = 'shadow' in o ? shadows[o.shadow] : undefined;
              switch (o.kind) {
                case 'get':
                  return s.get(ctx, thing, shadowName);
                case 'cas': {
                  const current = model.get(key(o.thing, o.shadow))?.version ?? 0;
                  const expectedVersion = Math.max(0, current + o.delta);
                  const version = Math.max(1, expectedVersion + o.bump); // version 0 means no shadow (refused: the example test above)
                  const next: StoredShadow = o.tomb ? { deleted: true, version } : doc(version, o.marker);
                  const r = await s.compareAndSet(ctx, thing, shadowName, expectedVersion, next);
                  if (!foreign) {
                    if (expectedVersion === current) {
                      expect(r).toEqual({ ok: true });
                      model.set(key(o.thing, o.shadow), next);
                      owner.set(String(o.thing), o.t);
                    } else expect(r).toEqual({ ok: false, current: model.get(key(o.thing, o.shadow)) });
                  }
                  return r;
                }
                case 'delete': {
                  const current = model.get(key(o.thing, o.shadow));
                  const expectedVersion = o.expected === null ? undefined : Math.max(0, (current?.version ?? 0) + o.expected);
                  const r = await s.delete(ctx, thing, shadowName, expectedVersion);
                  if (!foreign) {
                    const live = current !== undefined && (current as { deleted?: boolean }).deleted !== true;
                    if (live && (expectedVersion === undefined || expectedVersion === current.version)) {
                      const tombstone = { deleted: true as const, version: current.version };
                      expect(r).toEqual({ ok: true, tombstone });
                      model.set(key(o.thing, o.shadow), tombstone);
                    } else expect(r).toEqual({ ok: false, current });
                  }
                  return r;
                }
                case 'purge': {
                  const r = await s.purge(ctx, thing);
                  if (!foreign) {
                    const n = [...model.keys()].filter((k) => k.startsWith(`${o.thing}/`)).length;
                    expect(r).toBe(n);
                    for (const k of [...model.keys()]) if (k.startsWith(`${o.thing}/`)) model.delete(k);
                    owner.delete(String(o.thing));
                  }
                  return r;
                }
              }
            };
            if (foreign) await rejectsWith(call, 'TENANT_MISMATCH');
            else {
              const r = await call();
              if (o.kind === 'get') expect(r).toEqual(model.get(key(o.thing, o.shadow)));
            }
          }
          // Final state equals the model for every key, read by its owner.
          for (let th = 0; th < things.length; th++) {
            const t = owner.get(String(th));
            if (t === undefined) {
              for (const ctx of tenants) expect(await s.get(ctx, things[th] as string)).toBeUndefined();
              continue;
            }
            for (let sh = 0; sh < shadows.length; sh++) expect(await s.get(tenants[t] as TenantContext, things[th] as string, shadows[sh])).toEqual(model.get(key(th, sh)));
          }
        }),
        params,
      );
    });

    it('property: concurrent compare-and-set calls linearize — the successful writes form one version chain', async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }), async (start, offsets) => {
          const s = await factory();
          for (let v = 1; v <= start; v++) await s.compareAndSet(ACME, 'race', undefined, v - 1, doc(v, `init-${v}`));
          const results = await Promise.all(
            offsets.map(async (offset, i) => {
              const expected = start + offset;
              const r = await s.compareAndSet(ACME, 'race', undefined, expected, doc(expected + 1, `w${i}`));
              return { expected, marker: `w${i}`, ok: r.ok };
            }),
          );
          const wins = results.filter((r) => r.ok);
          const chain = wins.map((w) => w.expected).sort((a, b) => a - b);
          // Each version was won at most once, and the winners extend the start version without gaps.
          expect(chain).toEqual(chain.map((_, i) => start + i));
          const final = (await s.get(ACME, 'race')) as ShadowDocument | undefined;
          expect(final?.version ?? 0).toBe(start + wins.length);
          const last = wins.find((w) => w.expected === start + wins.length - 1);
          if (last !== undefined) expect(final?.state.desired?.['marker']).toBe(last.marker);
        }),
        params,
      );
    });

    it('property: pages return every record exactly once, also while records are added and purged', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.tuple(fc.integer({ min: 0, max: 60 }), fc.boolean(), fc.integer({ min: 0, max: 1 })), { maxLength: 50, selector: (r) => `${r[0]}/${r[1]}` }),
          fc.integer({ min: 1, max: 7 }),
          fc.array(fc.integer({ min: 0, max: 80 }), { maxLength: 6 }),
          fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 6 }),
          async (records, limit, added, purged) => {
            const s = await factory();
            const owners = new Map<number, number>();
            const present = new Set<string>();
            for (const [n, named, t] of records) {
              const tenant = owners.get(n) ?? t;
              owners.set(n, tenant);
              await s.compareAndSet([ACME, GLOBEX][tenant] as TenantContext, `th-${n}`, named ? 'cfg' : undefined, 0, doc(1));
              if (tenant === 0) present.add(`acme/th-${n}/${named ? 'cfg' : ''}`);
            }
            const seen: string[] = [];
            let cursor: string | undefined;
            let pages = 0;
            const removed = new Set<string>();
            do {
              const page = await s.list(ACME, cursor === undefined ? { limit } : { limit, cursor });
              expect(page.items.length).toBeLessThanOrEqual(limit);
              seen.push(...page.items.map(keyOf));
              cursor = page.cursor;
              if (pages++ === 0) {
                // Churn between pages: new things appear, others are purged.
                for (const n of added) if (!owners.has(n)) await s.compareAndSet(ACME, `th-${n}`, undefined, 0, doc(1)).then(() => owners.set(n, 0));
                for (const n of purged) {
                  if (owners.get(n) !== 0) continue;
                  await s.purge(ACME, `th-${n}`);
                  removed.add(`acme/th-${n}/`);
                  removed.add(`acme/th-${n}/cfg`);
                }
              }
            } while (cursor !== undefined && pages < 1000);
            expect(new Set(seen).size).toBe(seen.length); // never twice
            expect(seen.every((k) => k.startsWith('acme/'))).toBe(true);
            for (const k of present) if (!removed.has(k)) expect(seen).toContain(k); // present throughout → returned
          },
        ),
        params,
      );
    });
  });
}
