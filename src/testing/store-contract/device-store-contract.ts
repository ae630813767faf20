/**
 * The contract every `DeviceStore` implementation must pass, as a vitest suite.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LifecycleState } from '../../lifecycle/states.js';
import type { DeviceInput, DeviceStore, RegisteredDevice } from '../../store/device-store.js';
import type { TenantContext } from '../../store/tenant.js';
import { readAll, rejectsWith, resolveContractOptions, snapshot, tryMutate, type StoreContractOptions, type StoreFactory, listOptionsLaw } from './helpers.js';

const ACME: TenantContext = { tenantId: 'acme' };
const GLOBEX: TenantContext = { tenantId: 'globex' };
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const GROUP_KEY = Buffer.alloc(32, 7).toString('base64');

function device(deviceId: string, tenantId = 'acme', extra: Partial<DeviceInput> = {}): DeviceInput {
  return { deviceId, tenantId, state: 'active', since: 1000, updatedAt: 1000, ...extra };
}

/**
 * Registers a vitest suite that checks `factory`'s stores against the {@link DeviceStore}
 * contract: create/get/update/remove with revisions, `locate`, queries by state, health,
 * firmware, tag and silence with counts and statistics, CAs, enrollment groups, revocations, the
 * nonce ledger (an atomic claim), tenant isolation (`TENANT_MISMATCH`), isolation from callers'
 * objects, validation — and fast-check properties: filtered pages return every match exactly once,
 * and random multi-tenant operation sequences match a model with zero cross-tenant reads or writes.
 *
 * @param factory - creates a fresh, empty store for each test
 * @param options - suite name, runs, seed
 * @example
 * ```ts
 * import { deviceStoreContract } from 'fleetkit/testing';
 * import { MemoryDeviceStore } from 'fleetkit/memory';
 * deviceStoreContract(() => new MemoryDeviceStore());
 * ```
 */
export function deviceStoreContract(factory: StoreFactory<DeviceStore>, options: StoreContractOptions = {}): void {
  const { name, params } = resolveContractOptions(options, 'DeviceStore');

  describe(name, () => {
    it('list calls take null or no options alike; any other non-object is INVALID_ARGUMENT', async () => {
      const s = await factory();
      await listOptionsLaw((o) => s.query(ACME, o as never));
      await listOptionsLaw((o) => s.listCas(ACME, o as never));
      await listOptionsLaw((o) => s.listEnrollmentGroups(ACME, o as never));
      await listOptionsLaw((o) => s.listRevocations(ACME, o as never));
    });

    it('creates at revision 1, updates by compare-and-set on the revision, removes', async () => {
      const s = await factory();
      const created = await s.create(ACME, device('pump-1', 'acme', { firmwareVersion: '1.0.0', tags: ['north'], attributes: { model: 'p7' } }));
      expect(created).toMatchObject({ deviceId: 'pump-1', tenantId: 'acme', state: 'active', revision: 1, tags: ['north'], attributes: { model: 'p7' } });
      expect(await s.get(ACME, 'pump-1')).toEqual(created);
      const next = await s.update(ACME, { ...created, state: 'degraded', since: 2000 }, 1);
      expect(next).toMatchObject({ state: 'degraded', since: 2000, revision: 2 });
      await rejectsWith(s.update(ACME, { ...created, state: 'maintenance' }, 1), 'VERSION_CONFLICT');
      expect((await s.get(ACME, 'pump-1'))?.state).toBe('degraded');
      await rejectsWith(s.create(ACME, device('pump-1')), 'ALREADY_EXISTS');
      await rejectsWith(s.update(ACME, device('pump-2'), 1), 'DEVICE_NOT_FOUND');
      expect(await s.locate('pump-1')).toEqual({ tenantId: 'acme', state: 'degraded' });
      expect(await s.remove(ACME, 'pump-1')).toBe(true);
      expect(await s.remove(ACME, 'pump-1')).toBe(false);
      expect(await s.get(ACME, 'pump-1')).toBeUndefined();
      expect(await s.locate('pump-1')).toBeUndefined();
    });

    it('defaults attributes to {} and tags to []', async () => {
      const s = await factory();
      const d = await s.create(ACME, device('pump-1'));
      expect(d.attributes).toEqual({});
      expect(d.tags).toEqual([]);
    });

    it('device ids are one name space: another tenant gets TENANT_MISMATCH on every call', async () => {
      const s = await factory();
      const d = await s.create(ACME, device('pump-1'));
      await rejectsWith(s.get(GLOBEX, 'pump-1'), 'TENANT_MISMATCH');
      await rejectsWith(s.create(GLOBEX, device('pump-1', 'globex')), 'TENANT_MISMATCH');
      await rejectsWith(s.update(GLOBEX, { ...d, tenantId: 'globex' }, 1), 'TENANT_MISMATCH');
      await rejectsWith(s.remove(GLOBEX, 'pump-1'), 'TENANT_MISMATCH');
      // A record naming another tenant than the context is refused too.
      await rejectsWith(s.create(ACME, device('pump-2', 'globex')), 'TENANT_MISMATCH');
      await rejectsWith(s.update(GLOBEX, d, 1), 'TENANT_MISMATCH');
      expect((await s.query(GLOBEX)).items).toEqual([]);
      expect(await s.count(GLOBEX)).toBe(0);
      expect(await s.get(ACME, 'pump-1')).toEqual(d);
    });

    it('mutating an object passed in or returned never changes stored state', async () => {
      const s = await factory();
      const input = { ...device('pump-1'), tags: ['a'], attributes: { k: 'v' } } as { -readonly [K in keyof DeviceInput]: DeviceInput[K] };
      await s.create(ACME, input);
      const before = snapshot(await s.get(ACME, 'pump-1'));
      tryMutate(() => {
        (input.tags as string[]).push('b');
        (input.attributes as Record<string, string>)['k'] = 'changed';
        input.state = 'maintenance';
      });
      expect(await s.get(ACME, 'pump-1')).toEqual(before);
      const got = (await s.get(ACME, 'pump-1')) as RegisteredDevice;
      tryMutate(() => {
        (got.tags as string[]).push('c');
        (got as { state: LifecycleState }).state = 'decommissioned';
        (got.attributes as Record<string, string>)['k'] = 'x';
      });
      const page = await s.query(ACME);
      tryMutate(() => {
        ((page.items[0] as RegisteredDevice).tags as string[]).length = 0;
      });
      expect(await s.get(ACME, 'pump-1')).toEqual(before);
    });

    it('refuses invalid records and arguments with a FleetError and stores nothing', async () => {
      const s = await factory();
      const bad: unknown[] = [
        null,
        { ...device('pump-1'), state: 'flying' },
        { ...device('pump-1'), since: Number.NaN },
        { ...device('bad/id') },
        { ...device('pump-1'), tags: ['a', 'a'] },
        { ...device('pump-1'), tags: [''] },
        { ...device('pump-1'), attributes: { k: 5 } },
        { ...device('pump-1'), health: 'great' },
        { ...device('pump-1'), unknownField: 1 },
        { ...device('pump-1'), desiredConfig: { when: new Date(0) } },
      ];
      for (const d of bad) await rejectsWith(s.create(ACME, d as DeviceInput), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      expect(await s.count(ACME)).toBe(0);
      await s.create(ACME, device('pump-1'));
      await rejectsWith(s.update(ACME, { ...device('pump-1'), state: 'flying' as LifecycleState }, 1), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      await rejectsWith(s.update(ACME, device('pump-1'), -1), 'INVALID_ARGUMENT');
      await rejectsWith(s.query(ACME, { limit: 0 }), 'INVALID_ARGUMENT');
      await rejectsWith(s.query(ACME, { cursor: '%%%' }), 'INVALID_ARGUMENT');
      expect((await s.get(ACME, 'pump-1'))?.revision).toBe(1);
    });

    it('stores a lifecycle DeviceRecord as provisioning produces it', async () => {
      const s = await factory();
      const record: DeviceInput = {
        ...device('sensor-0042'),
        identity: { kind: 'symmetric-key', fingerprint: 'sha256:ab', groupId: 'field', registrationId: 'sensor-0042' },
        attributes: { site: 'north' },
        desiredConfig: { interval: 60, nested: { on: true } },
        policies: ['device-policy'],
        template: 'default',
        provisionedAt: 1000,
      };
      expect(await s.create(ACME, record)).toMatchObject({ ...record, revision: 1 });
    });

    it('queries by state, health, firmware, tag and silence, with counts and statistics', async () => {
      const s = await factory();
      await s.create(ACME, device('d1', 'acme', { state: 'active', health: 'good', firmwareVersion: '1.0', tags: ['north'], lastSeen: 100 }));
      await s.create(ACME, device('d2', 'acme', { state: 'degraded', health: 'critical', firmwareVersion: '1.0', tags: ['south'], lastSeen: 500 }));
      await s.create(ACME, device('d3', 'acme', { state: 'active', firmwareVersion: '2.0', tags: ['north', 'south'] }));
      await s.create(GLOBEX, device('g1', 'globex', { state: 'active', health: 'good', firmwareVersion: '1.0', tags: ['north'] }));
      const ids = async (filter: Parameters<DeviceStore['count']>[1]): Promise<string[]> => (await readAll((p) => s.query(ACME, filter === undefined ? p : { ...p, filter }), 1)).map((d) => d.deviceId);
      expect(await ids(undefined)).toEqual(['d1', 'd2', 'd3']);
      expect(await ids({ state: 'active' })).toEqual(['d1', 'd3']);
      expect(await ids({ state: ['degraded', 'maintenance'] })).toEqual(['d2']);
      expect(await ids({ health: 'good' })).toEqual(['d1']);
      expect(await ids({ health: 'unknown' })).toEqual(['d3']);
      expect(await ids({ firmwareVersion: '1.0' })).toEqual(['d1', 'd2']);
      expect(await ids({ tag: 'north' })).toEqual(['d1', 'd3']);
      expect(await ids({ tag: 'north', state: 'active', firmwareVersion: '2.0' })).toEqual(['d3']);
      expect(await ids({ lastSeenBefore: 200 })).toEqual(['d1', 'd3']);
      expect(await s.count(ACME, { tag: 'south' })).toBe(2);
      expect(await s.stats(ACME)).toEqual({
        total: 3,
        byState: { active: 2, degraded: 1 },
        byHealth: { good: 1, critical: 1, unknown: 1 },
        byFirmware: { '1.0': 2, '2.0': 1 },
      });
    });

    it('keeps CAs, enrollment groups and revocations per tenant', async () => {
      const s = await factory();
      await s.putCa(ACME, { tenantId: 'acme', caId: 'root', pem: CA_PEM, status: 'active' });
      await s.putCa(ACME, { tenantId: 'acme', caId: 'root', pem: CA_PEM, status: 'inactive' });
      expect(await s.getCa(ACME, 'root')).toEqual({ tenantId: 'acme', caId: 'root', pem: CA_PEM, status: 'inactive' });
      expect(await s.getCa(GLOBEX, 'root')).toBeUndefined();
      expect((await readAll((p) => s.listCas(ACME, p), 1)).length).toBe(1);
      await rejectsWith(s.putCa(ACME, { tenantId: 'globex', caId: 'x', pem: CA_PEM, status: 'active' }), 'TENANT_MISMATCH');
      await rejectsWith(s.putCa(ACME, { tenantId: 'acme', caId: 'x', pem: CA_PEM, status: 'maybe' as 'active' }), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      expect(await s.removeCa(ACME, 'root')).toBe(true);
      expect(await s.getCa(ACME, 'root')).toBeUndefined();

      const group = { groupId: 'field', key: GROUP_KEY, tenantId: 'acme' };
      await s.putEnrollmentGroup(ACME, group);
      expect(await s.getEnrollmentGroup(ACME, 'field')).toEqual(group);
      expect(await s.getEnrollmentGroup(GLOBEX, 'field')).toBeUndefined();
      await rejectsWith(s.putEnrollmentGroup(GLOBEX, group), 'TENANT_MISMATCH');
      await rejectsWith(s.putEnrollmentGroup(ACME, { ...group, key: 'c2hvcnQ=' }), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      expect((await s.listEnrollmentGroups(ACME)).items).toEqual([group]);
      expect(await s.removeEnrollmentGroup(ACME, 'field')).toBe(true);

      const revoked = { kind: 'enrollment' as const, groupId: 'field', registrationId: 'sensor-1' };
      const x509 = { kind: 'x509' as const, issuer: 'CN=Test CA', serial: '0A:FF' };
      expect(await s.addRevocations(ACME, [revoked, x509, revoked])).toBe(2);
      expect(await s.addRevocations(ACME, [revoked])).toBe(0);
      expect(await s.isRevoked(ACME, revoked)).toBe(true);
      expect(await s.isRevoked(ACME, { ...x509, serial: 'aff' })).toBe(true); // serials compare canonically
      expect(await s.isRevoked(GLOBEX, revoked)).toBe(false);
      expect(await readAll((p) => s.listRevocations(ACME, p), 1)).toHaveLength(2);
      await rejectsWith(s.addRevocations(ACME, [revoked, { kind: 'x509' } as unknown as typeof x509]), ['INVALID_ARGUMENT', 'INVALID_INPUT']);
      expect(await readAll((p) => s.listRevocations(ACME, p), 5)).toHaveLength(2);
    });

    it('claims each nonce once, atomically, per tenant; prunes old ones', async () => {
      const s = await factory();
      const claims = await Promise.all(Array.from({ length: 10 }, () => s.claimNonce(ACME, 'n-1', 1000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await s.claimNonce(GLOBEX, 'n-1', 1000)).toBe(true);
      expect(await s.claimNonce(ACME, 'n-2', 5000)).toBe(true);
      expect([...(await s.nonces(ACME))].sort()).toEqual([
        ['n-1', 1000],
        ['n-2', 5000],
      ]);
      expect([...(await s.nonces(ACME, 2000))]).toEqual([['n-2', 5000]]);
      expect(await s.pruneNonces(ACME, 2000)).toBe(1);
      expect(await s.claimNonce(ACME, 'n-2', 6000)).toBe(false);
      expect(await s.nonces(GLOBEX)).toEqual(new Map([['n-1', 1000]]));
      await rejectsWith(s.claimNonce(ACME, '', 1), 'INVALID_ARGUMENT');
      await rejectsWith(s.claimNonce(ACME, 'n-3', Number.NaN), 'INVALID_ARGUMENT');
    });

    it('property: filtered pages return every matching device exactly once', async () => {
      const states: LifecycleState[] = ['active', 'degraded', 'maintenance'];
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(fc.record({ n: fc.integer({ min: 0, max: 200 }), state: fc.constantFrom(...states), tenant: fc.integer({ min: 0, max: 1 }), tag: fc.boolean() }), { maxLength: 60, selector: (d) => d.n }),
          fc.integer({ min: 1, max: 9 }),
          fc.option(fc.constantFrom(...states)),
          async (devices, limit, state) => {
            const s = await factory();
            for (const d of devices) {
              const ctx = d.tenant === 0 ? ACME : GLOBEX;
              await s.create(ctx, device(`d-${d.n}`, ctx.tenantId, { state: d.state, tags: d.tag ? ['t'] : [] }));
            }
            const filter = state === null ? { tag: 't' } : { state, tag: 't' };
            const got = (await readAll((p) => s.query(ACME, { ...p, filter }), limit)).map((d) => d.deviceId);
            const expected = devices.filter((d) => d.tenant === 0 && d.tag && (state === null || d.state === state)).map((d) => `d-${d.n}`);
            expect([...got].sort()).toEqual([...expected].sort());
            expect(new Set(got).size).toBe(got.length);
            expect(await s.count(ACME, filter)).toBe(expected.length);
          },
        ),
        params,
      );
    });

    it('property: random multi-tenant operation sequences never read or write across tenants', async () => {
      type Op = { kind: 'create' | 'get' | 'update' | 'remove' | 'query'; t: number; id: number; state: LifecycleState };
      const op: fc.Arbitrary<Op> = fc.record({
        kind: fc.constantFrom('create', 'get', 'update', 'remove', 'query'),
        t: fc.integer({ min: 0, max: 2 }),
        id: fc.integer({ min: 0, max: 3 }),
        state: fc.constantFrom<LifecycleState>('active', 'degraded'),
      });
      const tenants = [ACME, GLOBEX, { tenantId: 'initech' }];
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          const s = await factory();
          const model = new Map<string, { tenant: number; state: LifecycleState; revision: number }>();
          for (const o of ops) {
            const ctx = tenants[o.t] as TenantContext;
            const id = `dev-${o.id}`;
            const owner = model.get(id);
            const foreign = owner !== undefined && owner.tenant !== o.t;
            if (o.kind === 'query') {
              const got = await readAll((p) => s.query(ctx, p), 2);
              expect(got.every((d) => d.tenantId === ctx.tenantId)).toBe(true);
              expect(got.length).toBe([...model.values()].filter((m) => m.tenant === o.t).length);
              continue;
            }
            const call = async (): Promise<unknown> => {
              switch (o.kind) {
                case 'create':
                  return s.create(ctx, device(id, ctx.tenantId, { state: o.state }));
                case 'get':
                  return s.get(ctx, id);
                case 'update':
                  return s.update(ctx, device(id, ctx.tenantId, { state: o.state }), owner?.revision ?? 1);
                case 'remove':
                  return s.remove(ctx, id);
              }
            };
            if (foreign) {
              await rejectsWith(call, 'TENANT_MISMATCH');
              continue;
            }
            if (o.kind === 'create') {
              if (owner === undefined) {
                await call();
                model.set(id, { tenant: o.t, state: o.state, revision: 1 });
              } else await rejectsWith(call, 'ALREADY_EXISTS');
            } else if (o.kind === 'update') {
              if (owner === undefined) await rejectsWith(call, 'DEVICE_NOT_FOUND');
              else {
                await call();
                model.set(id, { tenant: o.t, state: o.state, revision: owner.revision + 1 });
              }
            } else if (o.kind === 'remove') {
              expect(await call()).toBe(owner !== undefined);
              model.delete(id);
            } else {
              const got = (await call()) as RegisteredDevice | undefined;
              expect(got === undefined ? undefined : { tenant: tenants.findIndex((t) => t.tenantId === got.tenantId), state: got.state, revision: got.revision }).toEqual(owner);
            }
          }
          for (const [id, m] of model) expect(await s.locate(id)).toEqual({ tenantId: (tenants[m.tenant] as TenantContext).tenantId, state: m.state });
        }),
        params,
      );
    });
  });
}
