/**
 * Batched store calls (`batch` option) give the results of the same calls made one at a time:
 * a fast-check law over concurrent compare-and-sets against a sequential model, isolation of one
 * call's refusal inside a batch, the outbox of the winners, and batched `locate`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { createDeviceSnapshot } from '../../src/lifecycle/index.js';
import { OutboxRelay, PostgresDeviceStore, PostgresShadowStore, type RelayedMessage, type SqlDriver } from '../../src/postgres/index.js';
import type { ShadowDocument } from '../../src/shadow/types.js';

/** A database for the batch tests. */
export interface BatchDatabase {
  readonly app: SqlDriver;
  relay(): Promise<SqlDriver>;
  reset(): Promise<void>;
}

const ACME = { tenantId: 'acme' };
const GLOBEX = { tenantId: 'globex' };

function doc(version: number, marker: string): ShadowDocument {
  return { state: { reported: { marker } }, metadata: { reported: { marker: { timestamp: 1 } } }, version };
}

/** Registers the batch tests against `open`'s database. */
export function batchSuite(label: string, open: () => Promise<BatchDatabase>): void {
  describe(`${label}: batched store calls`, () => {
    it('law: concurrent compare-and-sets, batched one batch at a time, give exactly the results of running them one by one in call order, and the winners\' outbox in that order', async () => {
      const db = await open();
      const relayDriver = await db.relay();
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ thing: fc.integer({ min: 0, max: 3 }), expected: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 40 }),
          fc.integer({ min: 1, max: 12 }),
          async (calls, maxSize) => {
            await db.reset();
            const batched = new PostgresShadowStore(db.app, { batch: { maxSize, concurrency: 1 } });
            const plain = new PostgresShadowStore(db.app);
            for (let t = 0; t < 4; t++) await plain.compareAndSet(ACME, `b-${t}`, undefined, 0, doc(1, 'seed'));
            // The model: one at a time, in call order.
            const versions = [1, 1, 1, 1];
            const expected = calls.map((c, i) => {
              if (versions[c.thing] === c.expected) {
                versions[c.thing] = c.expected + 1;
                return { ok: true, payload: `m${i}` };
              }
              return { ok: false, current: versions[c.thing] };
            });
            const got = await Promise.all(
              calls.map((c, i) => batched.compareAndSet(ACME, `b-${c.thing}`, undefined, c.expected, doc(c.expected + 1, `m${i}`), { outbox: [{ topic: `t/${c.thing}`, payload: `m${i}` }] })),
            );
            expect(got.map((r) => (r.ok ? { ok: true } : { ok: false, current: r.current?.version }))).toEqual(expected.map((e) => (e.ok ? { ok: true } : { ok: false, current: e.current })));
            const published: RelayedMessage[] = [];
            await new OutboxRelay(relayDriver, { publish: async (m) => void published.push(m) }).drain();
            expect(published.map((m) => m.payload)).toEqual(expected.filter((e) => e.ok).map((e) => e.payload));
            for (let t = 0; t < 4; t++) expect((await plain.get(ACME, `b-${t}`))?.version).toBe(versions[t]);
          },
        ),
        { numRuns: 30 },
      );
    }, 120_000);

    it('many concurrent writers of a few shadows through a batched store: every version accepted exactly once', async () => {
      const db = await open();
      await db.reset();
      const store = new PostgresShadowStore(db.app, { batch: true });
      for (let t = 0; t < 10; t++) await store.compareAndSet(ACME, `w-${t}`, undefined, 0, doc(1, 'seed'));
      const accepted = new Map<string, number[]>();
      await Promise.all(
        Array.from({ length: 60 }, async (_, w) => {
          const thing = `w-${w % 10}`;
          for (let n = 0; n < 5; n++) {
            for (;;) {
              const current = (await store.get(ACME, thing))!;
              const r = await store.compareAndSet(ACME, thing, undefined, current.version, doc(current.version + 1, `${w}.${n}`));
              if (r.ok) {
                accepted.set(thing, [...(accepted.get(thing) ?? []), current.version + 1]);
                break;
              }
            }
          }
        }),
      );
      for (let t = 0; t < 10; t++) {
        const versions = accepted.get(`w-${t}`)!.sort((a, b) => a - b);
        expect(versions).toEqual(Array.from({ length: 30 }, (_, i) => i + 2));
        expect((await store.get(ACME, `w-${t}`))?.version).toBe(31);
      }
    }, 120_000);

    it('one call refused inside a batch (another tenant\'s thing) fails alone; the others are answered', async () => {
      const db = await open();
      await db.reset();
      const plain = new PostgresShadowStore(db.app);
      await plain.compareAndSet(ACME, 'mine', undefined, 0, doc(1, 'a'));
      await plain.compareAndSet(GLOBEX, 'theirs', undefined, 0, doc(1, 'g'));
      const store = new PostgresShadowStore(db.app, { batch: { maxSize: 8, concurrency: 1 } });
      const results = await Promise.allSettled([
        store.compareAndSet(ACME, 'mine', undefined, 1, doc(2, 'b')),
        store.compareAndSet(ACME, 'theirs', undefined, 1, doc(2, 'x')),
        store.get(ACME, 'theirs'),
        store.get(ACME, 'mine'),
        store.get(ACME, 'nobody'),
        store.compareAndSet(ACME, 'mine', undefined, 1, doc(2, 'c')),
      ]);
      expect(results[0]).toEqual({ status: 'fulfilled', value: { ok: true } });
      expect(results[1].status === 'rejected' && isFleetError(results[1].reason, 'TENANT_MISMATCH')).toBe(true);
      expect(results[2].status === 'rejected' && isFleetError(results[2].reason, 'TENANT_MISMATCH')).toBe(true);
      expect(results[3].status === 'fulfilled' && results[3].value?.version).toBeGreaterThanOrEqual(1);
      expect(results[4]).toEqual({ status: 'fulfilled', value: undefined });
      expect(results[5].status === 'fulfilled' && results[5].value.ok === false && results[5].value.current?.version).toBe(2);
      expect(await plain.get(GLOBEX, 'theirs')).toEqual(doc(1, 'g'));
      expect(await plain.get(ACME, 'mine')).toEqual(doc(2, 'b'));
    });

    it('batched locate answers each device with its tenant and state, unknown ones with undefined', async () => {
      const db = await open();
      await db.reset();
      const plain = new PostgresDeviceStore(db.app);
      for (let i = 0; i < 5; i++) {
        await plain.create(ACME, createDeviceSnapshot({ deviceId: `a-${i}`, tenantId: 'acme', now: 1 }));
        await plain.create(GLOBEX, createDeviceSnapshot({ deviceId: `g-${i}`, tenantId: 'globex', now: 1 }));
      }
      const store = new PostgresDeviceStore(db.app, { batch: { maxSize: 64, concurrency: 1 } });
      const ids = ['a-0', 'g-0', 'nobody', 'a-4', 'g-3', 'a-0', ''];
      const got = await Promise.all(ids.map((id) => store.locate(id)));
      const want = await Promise.all(ids.map((id) => plain.locate(id)));
      expect(got).toEqual(want);
      expect(got.slice(0, 3)).toEqual([{ tenantId: 'acme', state: expect.any(String) as unknown }, { tenantId: 'globex', state: expect.any(String) as unknown }, undefined]);
    });

    it('a bad batch option is INVALID_ARGUMENT', async () => {
      const db = await open();
      for (const batch of [{ maxSize: 0 }, { concurrency: 0 }, { maxSize: 1.5 }, 'yes'] as never[]) {
        expect(() => new PostgresShadowStore(db.app, { batch })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
        expect(() => new PostgresDeviceStore(db.app, { batch })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
      }
    });
  });
}
