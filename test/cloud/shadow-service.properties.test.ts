// Laws of the ShadowService, as fast-check properties over random concurrent traffic.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { applyShadowUpdate, deleteShadow, type StoredShadow } from '../../src/shadow/index.js';
import { shadowRig, type Received, type Rig } from './harness.js';

const RUNS = 30;
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

type Op = 'update' | 'get' | 'delete';
interface Req {
  readonly thing: number;
  readonly named: boolean;
  readonly op: Op;
  readonly section: 'desired' | 'reported';
  readonly key: string;
  readonly value: number | null;
  readonly version: number | null;
}

const reqArb: fc.Arbitrary<Req> = fc.record({
  thing: fc.integer({ min: 0, max: 2 }),
  named: fc.boolean(),
  op: fc.constantFrom<Op>('update', 'update', 'update', 'get', 'delete'),
  section: fc.constantFrom<'desired' | 'reported'>('desired', 'reported'),
  key: fc.constantFrom('a', 'b'),
  value: fc.option(fc.integer({ min: 0, max: 3 }), { freq: 5 }),
  version: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 3 }),
});

function payloadOf(r: Req, token: string): Record<string, unknown> {
  if (r.op !== 'update') return r.version === null ? { clientToken: token } : { clientToken: token, version: r.version };
  const body: Record<string, unknown> = { state: { [r.section]: { [r.key]: r.value } }, clientToken: token };
  if (r.version !== null) body['version'] = r.version;
  return body;
}

const RESPONSE_KINDS = new Set(['get/accepted', 'get/rejected', 'update/accepted', 'update/rejected', 'delete/accepted', 'delete/rejected']);

describe('ShadowService laws', () => {
  it('property: per thing, requests apply one at a time in arrival order — responses in version order, each request answered once, the final state what sequential application gives', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(reqArb, { maxLength: 36 }), async (reqs) => {
        rig = await shadowRig();
        const things = ['t-0', 't-1', 't-2'];
        for (const t of things) await rig.register(t);
        const devices = await Promise.all(things.map((t) => (rig as Rig).device(t)));
        // Everything published at once: the service sees bursts per thing (some over the 10-in-flight limit).
        await Promise.all(reqs.map((r, i) => devices[r.thing]?.send(r.op, payloadOf(r, `r${i}`), r.named ? 'cfg' : undefined)));
        await rig.settle();

        const byToken = new Map<string, Received[]>();
        for (const d of devices) for (const m of d.inbox) if (RESPONSE_KINDS.has(m.kind)) byToken.set(String(m.payload['clientToken']), [...(byToken.get(String(m.payload['clientToken'])) ?? []), m]);
        reqs.forEach((_, i) => expect(byToken.get(`r${i}`)?.length, `answers to r${i}`).toBe(1));

        for (const [t, dev] of devices.entries()) {
          for (const named of [false, true]) {
            const stream = dev.inbox.filter((m) => (m.shadowName === 'cfg') === named && /^update\/(accepted|delta|documents)$|^delete\/accepted$/.test(m.kind));
            // Versions never go down; accepted versions strictly increase; delta and documents follow their accepted.
            const versions = stream.map((m) => (m.kind === 'update/documents' ? (m.payload['current'] as { version: number }).version : (m.payload['version'] as number)));
            for (let k = 1; k < versions.length; k++) expect(versions[k] as number).toBeGreaterThanOrEqual(versions[k - 1] as number);
            let lastAccepted = -1;
            for (const [k, m] of stream.entries()) {
              if (m.kind === 'update/accepted') {
                expect(versions[k] as number).toBeGreaterThan(lastAccepted);
                lastAccepted = versions[k] as number;
              } else if (m.kind !== 'delete/accepted') expect(versions[k]).toBe(lastAccepted);
            }
            // Sequential model: the same requests, in publish order, minus those refused with 429.
            let model: StoredShadow | undefined;
            reqs.forEach((r, i) => {
              if (r.thing !== t || r.named !== named) return;
              const answer = (byToken.get(`r${i}`) as Received[])[0] as Received;
              if (answer.payload['code'] === 429) return;
              const now = (rig as Rig).clock.now();
              if (r.op === 'update') {
                const out = applyShadowUpdate(model, payloadOf(r, `r${i}`), { now });
                expect(answer.kind, `r${i}`).toBe(out.ok ? 'update/accepted' : 'update/rejected');
                if (out.ok) model = out.document;
              } else if (r.op === 'delete') {
                const out = deleteShadow(model, { now, request: payloadOf(r, `r${i}`) });
                expect(answer.kind, `r${i}`).toBe(out.ok ? 'delete/accepted' : 'delete/rejected');
                if (out.ok) model = out.tombstone;
              } else {
                const live = model !== undefined && (model as { deleted?: boolean }).deleted !== true;
                expect(answer.kind, `r${i}`).toBe(live ? 'get/accepted' : 'get/rejected');
              }
            });
            expect(await rig.stores.shadows.get({ tenantId: 'acme' }, things[t] as string, named ? 'cfg' : undefined)).toEqual(model);
          }
        }
        await rig.close();
        rig = undefined;
      }),
      { numRuns: RUNS },
    );
  });

  it('property: arbitrary bytes on one thing’s topics get answers on that thing only and never disturb another thing', async () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.string({ maxLength: 64 }),
      fc.jsonValue({ maxDepth: 9 }).map((v) => JSON.stringify(v) ?? 'null'),
      fc.record({ state: fc.jsonValue({ maxDepth: 9 }), version: fc.jsonValue({ maxDepth: 1 }), clientToken: fc.jsonValue({ maxDepth: 1 }) }).map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.constantFrom<Op>('update', 'get', 'delete'), junk), { minLength: 1, maxLength: 9 }), fc.integer({ min: 1, max: 5 }), async (messages, goodUpdates) => {
        rig = await shadowRig();
        await rig.register('bad');
        await rig.register('good');
        const bad = await rig.device('bad');
        const good = await rig.device('good');
        const sends: Promise<void>[] = [];
        messages.forEach(([op, payload], i) => {
          sends.push(bad.sendRaw(`$aws/things/bad/shadow/${op}`, payload));
          if (i < goodUpdates) sends.push(good.send('update', { state: { reported: { n: i } } }));
        });
        for (let i = messages.length; i < goodUpdates; i++) sends.push(good.send('update', { state: { reported: { n: i } } }));
        await Promise.all(sends);
        await rig.settle();
        // One answer per message on bad's topics, none on good's but its own.
        expect(bad.inbox.filter((m) => RESPONSE_KINDS.has(m.kind))).toHaveLength(messages.length);
        expect(good.inbox.filter((m) => m.kind === 'update/accepted').map((m) => m.payload['version'])).toEqual(Array.from({ length: goodUpdates }, (_, i) => i + 1));
        expect(good.inbox.filter((m) => m.kind.endsWith('/rejected'))).toEqual([]);
        expect(await rig.stores.shadows.get({ tenantId: 'acme' }, 'good')).toMatchObject({ version: goodUpdates, state: { reported: { n: goodUpdates - 1 } } });
        // Still serving.
        const from = good.inbox.length;
        await good.send('get', '');
        expect((await good.next('get/accepted', from)).payload).toMatchObject({ version: goodUpdates });
        await rig.close();
        rig = undefined;
      }),
      { numRuns: RUNS },
    );
  });

  it('property: across tenants, applications read and write only their own tenant’s shadows — every other attempt is TENANT_MISMATCH and changes nothing', async () => {
    const tenants = ['acme', 'globex', 'initech'];
    const opArb = fc.record({
      tenant: fc.integer({ min: 0, max: 2 }),
      thing: fc.integer({ min: 0, max: 3 }),
      op: fc.constantFrom<'get' | 'update' | 'delete' | 'list'>('get', 'update', 'update', 'delete', 'list'),
      value: fc.integer({ min: 0, max: 9 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 }), fc.array(opArb, { maxLength: 30 }), async (owners, ops) => {
        rig = await shadowRig();
        for (const [i, owner] of owners.entries()) await rig.register(`th-${i}`, tenants[owner]);
        const versions = new Map<number, number>(); // thing → version of the live shadow (absent: none)
        const deletedAt = new Map<number, number>(); // thing → version its tombstone keeps
        for (const o of ops) {
          const ctx = { tenantId: tenants[o.tenant] as string };
          if (o.op === 'list') {
            const items = (await rig.service.list(ctx)).items;
            expect(items.every((r) => r.tenantId === ctx.tenantId && owners[Number(r.thingName.slice(3))] === o.tenant)).toBe(true);
            continue;
          }
          const thing = `th-${o.thing}`;
          const own = owners[o.thing] === o.tenant;
          const call =
            o.op === 'get' ? rig.service.get(ctx, thing) : o.op === 'update' ? rig.service.update(ctx, thing, { state: { desired: { v: o.value } } }) : rig.service.delete(ctx, thing);
          const outcome = await call.then(
            (v) => ({ ok: true as const, v }),
            (e: unknown) => ({ ok: false as const, e }),
          );
          if (!own) {
            expect(outcome.ok).toBe(false);
            expect(isFleetError(outcome.ok ? undefined : outcome.e, 'TENANT_MISMATCH')).toBe(true);
            continue;
          }
          const live = versions.get(o.thing);
          if (o.op === 'update') {
            expect(outcome.ok).toBe(true);
            versions.set(o.thing, (live ?? deletedAt.get(o.thing) ?? 0) + 1);
          } else if (live === undefined) {
            expect(isFleetError(outcome.ok ? undefined : outcome.e, 'SHADOW_NOT_FOUND')).toBe(true);
          } else {
            expect(outcome.ok).toBe(true);
            if (o.op === 'delete') {
              versions.delete(o.thing);
              deletedAt.set(o.thing, live);
            }
          }
        }
        // The stores agree with the model, read by each owner.
        for (const [i, owner] of owners.entries()) {
          const stored = await rig.stores.shadows.get({ tenantId: tenants[owner] as string }, `th-${i}`);
          const live = versions.get(i);
          expect(stored === undefined ? undefined : (stored as { deleted?: boolean }).deleted === true ? undefined : stored.version).toBe(live);
        }
        await rig.close();
        rig = undefined;
      }),
      { numRuns: RUNS },
    );
  });
});
