// ShadowService end to end on the memory broker: AWS vectors replayed over the wire, the
// authorization model, 429, malformed input, the application API and events.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ShadowService, type ShadowRejectedEvent, type ShadowUpdatedEvent } from '../../src/cloud/index.js';
import { isFleetError } from '../../src/errors.js';
import { applyShadowUpdate, type ShadowDocument } from '../../src/shadow/index.js';
import { shadowRig, T0, waitFor, type Rig } from './harness.js';

interface Step {
  op: 'update' | 'get' | 'delete';
  now: number;
  request?: unknown;
  accepted?: unknown;
  delta?: unknown;
  documents?: unknown;
  document?: unknown;
  rejected?: Record<string, unknown>;
  response?: unknown;
}
interface Vectors {
  sequences: Array<{ name: string; thing?: string; shadow?: string; initial?: ShadowDocument; steps: Step[] }>;
}
const shared = fileURLToPath(new URL('../../../shared/vectors/shadow-aws.json', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/shadow-aws.json', import.meta.url));
// The shared file when present, and always the fixture (the shared sequences plus fixture-only ones).
const vectors: Vectors = { sequences: [shared, fixture].filter((f) => existsSync(f)).flatMap((f) => (JSON.parse(readFileSync(f, 'utf8')) as Vectors).sequences.map((s) => ({ ...s, name: `${s.name} (${f === shared ? 'shared' : 'fixture'})` }))) };

const ACME = { tenantId: 'acme' };
let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('ShadowService: AWS vectors replayed over the wire', () => {
  vectors.sequences.forEach((seq, n) => {
    it(seq.name, async () => {
      rig = await shadowRig({}, 0);
      const thing = seq.thing ?? `vector-${n}`;
      await rig.register(thing);
      if (seq.initial !== undefined) await rig.stores.shadows.compareAndSet(ACME, thing, undefined, 0, seq.initial);
      const dev = await rig.device(thing);
      for (const [i, step] of seq.steps.entries()) {
        const where = `${seq.name} step ${i}`;
        rig.clock.set(step.now * 1000);
        const from = dev.inbox.length;
        await dev.send(step.op, step.request ?? '', seq.shadow);
        if (step.rejected !== undefined) {
          expect((await dev.next(`${step.op}/rejected`, from)).payload, where).toMatchObject(step.rejected);
        } else if (step.op !== 'update') {
          expect((await dev.next(`${step.op}/accepted`, from)).payload, where).toEqual(step.response);
        } else {
          const accepted = await dev.next('update/accepted', from);
          const documents = await dev.next('update/documents', from);
          // Published in order accepted → delta → documents, so once documents is in, the delta (if any) is too.
          const delta = dev.inbox.slice(from).find((m) => m.kind === 'update/delta');
          if (step.accepted !== undefined) expect(accepted.payload, where).toEqual(step.accepted);
          if (step.documents !== undefined) expect(documents.payload, where).toEqual(step.documents);
          if ('delta' in step) expect(delta?.payload ?? null, where).toEqual(step.delta);
        }
        await rig.settle();
        if (step.document !== undefined) expect(await rig.stores.shadows.get(ACME, thing), where).toEqual(step.document);
      }
    });
  });
});

describe('ShadowService over the memory broker', () => {
  it('echoes clientToken on every response and ignores version in get and delete payloads', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { desired: { rpm: 1200 } }, clientToken: 'u-1' });
    expect((await dev.next('update/accepted')).payload).toMatchObject({ version: 1, clientToken: 'u-1' });
    expect((await dev.next('update/delta')).payload).toMatchObject({ state: { rpm: 1200 }, version: 1, clientToken: 'u-1' });
    expect((await dev.next('update/documents')).payload).toMatchObject({ current: { version: 1 }, clientToken: 'u-1' });
    let from = dev.inbox.length;
    await dev.send('get', { clientToken: 'g-1', version: 999 });
    expect((await dev.next('get/accepted', from)).payload).toMatchObject({ state: { desired: { rpm: 1200 }, delta: { rpm: 1200 } }, version: 1, clientToken: 'g-1' });
    from = dev.inbox.length;
    await dev.send('update', { state: { reported: { rpm: 1 } }, version: 7, clientToken: 'u-2' });
    expect((await dev.next('update/rejected', from)).payload).toEqual({ code: 409, message: 'Version conflict', timestamp: Math.floor(T0 / 1000), clientToken: 'u-2' });
    from = dev.inbox.length;
    await dev.send('delete', { clientToken: 'd-1', version: 999 });
    expect((await dev.next('delete/accepted', from)).payload).toEqual({ version: 1, timestamp: Math.floor(T0 / 1000), clientToken: 'd-1' });
    from = dev.inbox.length;
    await dev.send('get', '');
    expect((await dev.next('get/rejected', from)).payload).toMatchObject({ code: 404, message: "No shadow exists with name: 'pump-1'" });
    // The counter continues across delete: an update with the deleted version re-creates at V + 1.
    from = dev.inbox.length;
    await dev.send('update', { state: { reported: { rpm: 5 } }, version: 1 });
    expect((await dev.next('update/accepted', from)).payload).toMatchObject({ version: 2 });
  });

  it('serves named shadows on their own topics, independent of the classic shadow', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { desired: { mode: 'eco' } } }, 'config');
    const accepted = await dev.next('update/accepted');
    expect(accepted.shadowName).toBe('config');
    expect(accepted.payload).toMatchObject({ version: 1 });
    const from = dev.inbox.length;
    await dev.send('get', '', 'missing');
    expect((await dev.next('get/rejected', from)).payload).toMatchObject({ code: 404, message: "No shadow exists with name: 'missing'" });
    expect(await rig.stores.shadows.get(ACME, 'pump-1')).toBeUndefined();
    expect(await rig.stores.shadows.get(ACME, 'pump-1', 'config')).toMatchObject({ version: 1 });
  });

  it('refuses shadows of unregistered things with 404 and of decommissioned devices with 403; open shadows serve them', async () => {
    rig = await shadowRig();
    await rig.register('retired', 'acme', 'decommissioned');
    const ghost = await rig.device('ghost');
    await ghost.send('update', { state: { reported: { x: 1 } }, clientToken: 'c' });
    expect((await ghost.next('update/rejected')).payload).toMatchObject({ code: 404, message: "No shadow exists with name: 'ghost'", clientToken: 'c' });
    const retired = await rig.device('retired');
    await retired.send('get', '');
    expect((await retired.next('get/rejected')).payload).toMatchObject({ code: 403, message: 'Forbidden' });
    await rig.settle();
    expect((await rig.stores.shadows.list(ACME, { includeDeleted: true })).items).toEqual([]);
    await rig.close();

    rig = await shadowRig({ openShadows: { tenantId: 'lab' } });
    const open = await rig.device('ghost');
    await open.send('update', { state: { reported: { x: 1 } } });
    expect((await open.next('update/accepted')).payload).toMatchObject({ version: 1 });
    expect(await rig.stores.shadows.get({ tenantId: 'lab' }, 'ghost')).toMatchObject({ version: 1 });
    await expect(rig.service.get(ACME, 'ghost')).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
  });

  it('answers 429 beyond 10 requests in flight per thing, echoing the token, and serves the rest in order', async () => {
    rig = await shadowRig();
    await rig.register('busy');
    await rig.register('calm');
    const busy = await rig.device('busy');
    const calm = await rig.device('calm');
    const sends = Array.from({ length: 15 }, (_, i) => busy.send('update', { state: { reported: { i } }, clientToken: `t-${i}` }));
    sends.push(calm.send('update', { state: { reported: { ok: true } } }));
    await Promise.all(sends);
    await rig.settle();
    const rejected = busy.inbox.filter((m) => m.kind === 'update/rejected');
    const accepted = busy.inbox.filter((m) => m.kind === 'update/accepted');
    expect(rejected.map((m) => m.payload['code'])).toEqual([429, 429, 429, 429, 429]);
    expect(rejected[0]?.payload).toMatchObject({ message: 'Too Many Requests', clientToken: 't-10' });
    expect(accepted.map((m) => m.payload['version'])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(accepted.map((m) => m.payload['clientToken'])).toEqual(Array.from({ length: 10 }, (_, i) => `t-${i}`));
    expect(calm.inbox.filter((m) => m.kind === 'update/accepted')).toHaveLength(1); // another thing is not limited
    // Once answered, the thing takes requests again.
    const from = busy.inbox.length;
    await busy.send('update', { state: { reported: { again: true } } });
    expect((await busy.next('update/accepted', from)).payload).toMatchObject({ version: 11 });
  });

  it('answers malformed requests on that thing’s /rejected only, touches no state and keeps serving', async () => {
    rig = await shadowRig();
    await rig.register('bad');
    await rig.register('good');
    await rig.service.update(ACME, 'bad', { state: { reported: { v: 1 } } });
    const bad = await rig.device('bad');
    const good = await rig.device('good');
    const before = await rig.stores.shadows.get(ACME, 'bad');
    const garbage: Array<Uint8Array | string> = ['{', 'null', '[1,2]', '"str"', '{"state":5}', new Uint8Array([0xff, 0xfe, 0x7b]), '{"state":{"desired":{"__proto__":{"x":1}}}}', `{"state":{"reported":{"a":"${'x'.repeat(9000)}"}}}`];
    for (const g of garbage) await bad.sendRaw('$aws/things/bad/shadow/update', g);
    await bad.sendRaw('$aws/things/bad/shadow/get', '{');
    await bad.sendRaw('$aws/things/bad/shadow/delete', '[]');
    await good.send('update', { state: { reported: { fine: true } } });
    await rig.settle();
    const codes = bad.inbox.filter((m) => m.kind.endsWith('/rejected')).map((m) => m.payload['code']);
    expect(codes).toEqual([400, 400, 400, 400, 400, 415, 400, 413, 400, 400]); // non-UTF-8 bytes: 415, as AWS documents
    expect(bad.inbox.some((m) => m.kind.endsWith('/accepted'))).toBe(false);
    expect(await rig.stores.shadows.get(ACME, 'bad')).toEqual(before);
    expect(good.inbox.filter((m) => m.kind === 'update/accepted')).toHaveLength(1);
    expect(good.inbox.some((m) => m.kind.endsWith('/rejected'))).toBe(false);
    const from = bad.inbox.length;
    await bad.send('update', { state: { reported: { v: 2 } } });
    expect((await bad.next('update/accepted', from)).payload).toMatchObject({ version: 2 });
  });

  it('reports topics it cannot answer as rejected events and ignores its own response topics', async () => {
    rig = await shadowRig();
    const events: ShadowRejectedEvent[] = [];
    rig.service.on('shadow:rejected', (e) => events.push(e));
    const dev = await rig.device('x');
    await dev.sendRaw('$aws/things/x/shadow/frobnicate', '{}');
    await dev.sendRaw('$aws/things/x/shadow/name/n/frobnicate', '{}');
    await dev.sendRaw('$aws/things/x/shadow/update/accepted', '{}'); // not a request: not subscribed
    await rig.settle();
    expect(events.map((e) => e.error.code)).toEqual(['INVALID_TOPIC', 'INVALID_TOPIC']);
    expect(dev.inbox.filter((m) => m.kind !== 'update/accepted')).toEqual([]);
  });

  it('application API: update publishes delta to the device, get, delete, list; another tenant gets TENANT_MISMATCH', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    await rig.register('rival-1', 'globex');
    const dev = await rig.device('pump-1');
    const updated: ShadowUpdatedEvent[] = [];
    rig.service.on('shadow:updated', (e) => updated.push(e));
    const r = await rig.service.update(ACME, 'pump-1', { state: { desired: { rpm: 900 } }, clientToken: 'app-1' });
    expect(r.document.version).toBe(1);
    expect((await dev.next('update/delta')).payload).toMatchObject({ state: { rpm: 900 }, version: 1, clientToken: 'app-1' });
    expect(await rig.service.get(ACME, 'pump-1')).toMatchObject({ state: { delta: { rpm: 900 } }, version: 1 });
    expect(dev.inbox.some((m) => m.kind === 'get/accepted')).toBe(false); // an application's get is not published
    await expect(rig.service.update(ACME, 'pump-1', { state: { desired: { rpm: 1 } }, version: 5 })).rejects.toMatchObject({ code: 'VERSION_CONFLICT', status: 409 });
    await expect(rig.service.update(ACME, 'pump-1', { nope: 1 })).rejects.toMatchObject({ status: 400 });
    await expect(rig.service.get({ tenantId: 'globex' }, 'pump-1')).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
    await expect(rig.service.update({ tenantId: 'globex' }, 'pump-1', { state: { desired: { rpm: 1 } } })).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
    await expect(rig.service.get(ACME, 'nobody')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND', status: 404 });
    await expect(rig.service.get(ACME, 'bad/name')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(rig.service.get(ACME, 'pump-1', { shadowName: 'no/slash' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(rig.service.get(ACME, 'pump-1', null as never)).resolves.toMatchObject({ version: 1 });
    await expect(rig.service.get(null as never, 'pump-1')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await rig.service.list(ACME)).items.map((i) => i.thingName)).toEqual(['pump-1']);
    expect(await rig.service.delete(ACME, 'pump-1')).toMatchObject({ version: 1 });
    expect((await dev.next('delete/accepted')).payload).toMatchObject({ version: 1 });
    await expect(rig.service.get(ACME, 'pump-1')).rejects.toMatchObject({ code: 'SHADOW_NOT_FOUND', status: 404 });
    expect(updated.map((e) => [e.tenantId, e.thingName, e.version, e.source])).toEqual([['acme', 'pump-1', 1, 'application']]);
    expect(isFleetError(await rig.service.get({ tenantId: 'globex' }, 'rival-1').catch((e: unknown) => e))).toBe(true);
  });

  it('emits updated, delta, deleted and rejected events with the tenant and source', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const seen: string[] = [];
    rig.service.on('shadow:updated', (e) => seen.push(`updated ${e.tenantId} ${e.thingName} v${e.version} ${e.source} prev=${e.previous?.version ?? 'none'}`));
    rig.service.on('shadow:delta', (e) => seen.push(`delta ${JSON.stringify(e.delta.state)} v${e.version}`));
    rig.service.on('shadow:deleted', (e) => seen.push(`deleted v${e.version} ${e.source}`));
    rig.service.on('shadow:rejected', (e) => seen.push(`rejected ${e.error.status} ${e.operation} ${e.source}`));
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { desired: { on: true } } });
    await dev.send('update', { state: { reported: { on: true } } });
    await dev.send('update', { state: {}, version: 9 });
    await dev.send('delete', '');
    await rig.settle();
    expect(seen).toEqual(['updated acme pump-1 v1 device prev=none', 'delta {"on":true} v1', 'updated acme pump-1 v2 device prev=1', 'rejected 409 update device', 'deleted v2 device']);
  });

  it('a failing store is a 500 on /rejected and an error event; the service keeps serving', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const errors: string[] = [];
    rig.service.on('error', (e) => errors.push(e.code));
    const store = rig.stores.shadows;
    const original = store.get.bind(store);
    let fail = true;
    store.get = async (...args) => {
      if (fail) {
        fail = false;
        throw new Error('disk on fire');
      }
      return original(...args);
    };
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { reported: { a: 1 } }, clientToken: 'x' });
    expect((await dev.next('update/rejected')).payload).toMatchObject({ code: 500, message: 'Internal service failure', clientToken: 'x' });
    expect(errors).toEqual(['INTERNAL']);
    const from = dev.inbox.length;
    await dev.send('update', { state: { reported: { a: 2 } } });
    expect((await dev.next('update/accepted', from)).payload).toMatchObject({ version: 1 });
  });

  it('when another writer got in between, applies the request to what it stored (and a versioned request gets its 409)', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const store = rig.stores.shadows;
    await rig.service.update(ACME, 'pump-1', { state: { reported: { a: 1 } } });
    const cas = store.compareAndSet.bind(store);
    let interleave = 2; // the next two compare-and-sets race with another instance's write
    store.compareAndSet = async (ctx, thing, shadowName, expected, next) => {
      if (interleave-- > 0) {
        const other = applyShadowUpdate(await store.get(ctx, thing, shadowName), { state: { reported: { other: interleave } } }, { now: rig?.clock.now() ?? 0 });
        if (other.ok) await cas(ctx, thing, shadowName, expected, other.document);
      }
      return cas(ctx, thing, shadowName, expected, next);
    };
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { reported: { b: 2 } }, clientToken: 'free' });
    // v2 and v3 were the other writer's; the third attempt stored v4 on top of them.
    expect((await dev.next('update/accepted')).payload).toMatchObject({ version: 4, clientToken: 'free' });
    expect(await store.get(ACME, 'pump-1')).toMatchObject({ version: 4, state: { reported: { a: 1, b: 2, other: 0 } } });
    interleave = 1;
    const from = dev.inbox.length;
    await dev.send('update', { state: { reported: { c: 3 } }, version: 4, clientToken: 'pinned' });
    expect((await dev.next('update/rejected', from)).payload).toMatchObject({ code: 409, clientToken: 'pinned' });
    expect(await store.get(ACME, 'pump-1')).toMatchObject({ version: 5, state: { reported: { other: 0 } } });
    expect((await store.get(ACME, 'pump-1')) as ShadowDocument).not.toHaveProperty('state.reported.c');
  });

  it('a throwing event listener neither stops the service nor leaves an application call hanging', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const errors: string[] = [];
    rig.service.on('shadow:updated', () => {
      throw new Error('listener bug');
    });
    rig.service.on('error', (e) => {
      errors.push(e.code);
      throw new Error('error listener bug too');
    });
    expect(await rig.service.update(ACME, 'pump-1', { state: { reported: { a: 1 } } })).toMatchObject({ document: { version: 1 } });
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { reported: { a: 2 } } });
    expect((await dev.next('update/accepted')).payload).toMatchObject({ version: 2 });
    await rig.settle();
    expect(errors).toEqual(['INTERNAL', 'INTERNAL']);
    expect(await rig.service.get(ACME, 'pump-1')).toMatchObject({ version: 2 });
  });

  it('ignores retained requests (the broker replays them on every subscribe) and reports them', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    await rig.service.stop();
    const dev = await rig.device('pump-1');
    await dev.transport.publish('$aws/things/pump-1/shadow/update', JSON.stringify({ state: { reported: { stale: true } } }), { qos: 1, retain: true });
    const events: string[] = [];
    rig.service.on('shadow:rejected', (e) => events.push(`${e.error.code} ${e.thingName ?? ''}`));
    await rig.service.start(); // the broker hands the retained update to the new subscription
    await rig.settle();
    expect(events).toEqual(['INVALID_REQUEST pump-1']);
    expect(await rig.stores.shadows.get(ACME, 'pump-1')).toBeUndefined();
    expect(dev.inbox).toEqual([]);
  });

  it('validates its options', () => {
    expect(() => new ShadowService({} as never)).toThrow(/transport/);
    const stub = { subscribe: () => undefined, publish: () => undefined };
    expect(() => new ShadowService({ transport: stub as never, shadows: { compareAndSet: () => undefined } as never, devices: { locate: () => undefined } as never, maxInFlightPerThing: 0 })).toThrow(/maxInFlightPerThing/);
  });

  it('waits for every accepted request on stop()', async () => {
    rig = await shadowRig();
    await rig.register('pump-1');
    const dev = await rig.device('pump-1');
    await dev.send('update', { state: { reported: { a: 1 } } });
    await waitFor(() => rig?.service.busyThings === 1 || dev.inbox.length > 0, 'the request to arrive');
    await rig.service.stop();
    expect(rig.service.busyThings).toBe(0);
    expect(await rig.stores.shadows.get(ACME, 'pump-1')).toMatchObject({ version: 1 });
  });
});
