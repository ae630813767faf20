/**
 * Row-level security, hostile input and fault behaviour of the PostgreSQL stores, for either
 * driver: the tests reach the database through the application role with raw SQL (not through
 * the stores), so what they show is enforced by PostgreSQL itself.
 */
import { describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { createDeviceSnapshot } from '../../src/lifecycle/index.js';
import { OutboxRelay, createPostgresStores, type PostgresStores, type RelayedMessage, type SqlDriver, type SqlExecutor, type SqlTransaction } from '../../src/postgres/index.js';
import { planRollout } from '../../src/rollout/index.js';
import { SimulatedClock } from '../../src/clock.js';
import { ShadowService } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import type { ShadowDocument } from '../../src/shadow/types.js';
import { STORE_TABLES } from './harness.js';

/** A database for one test: the application driver, an owner-side reset. */
export interface OpsDatabase {
  readonly app: SqlDriver;
  /** A new driver as a member of fleetkit_relay (a relay process starting). */
  relay(): Promise<SqlDriver>;
  reset(): Promise<void>;
}

const ACME = { tenantId: 'acme' };
const GLOBEX = { tenantId: 'globex' };

function doc(version: number, marker = 'm'): ShadowDocument {
  return { state: { desired: { marker } }, metadata: { desired: { marker: { timestamp: 1 } } }, version };
}

/** Writes one record of every kind for `tenantId`. */
export async function populate(s: PostgresStores, tenantId: string, suffix: string): Promise<void> {
  const ctx = { tenantId };
  await s.shadows.compareAndSet(ctx, `thing-${suffix}`, undefined, 0, doc(1), { outbox: [{ topic: `$aws/things/thing-${suffix}/shadow/update/accepted`, payload: '{}' }] });
  await s.devices.create(ctx, createDeviceSnapshot({ deviceId: `dev-${suffix}`, tenantId, now: 1 }));
  await s.devices.putCa(ctx, { tenantId, caId: 'ca-1', pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', status: 'active' });
  await s.devices.putEnrollmentGroup(ctx, { tenantId, groupId: 'g-1', key: Buffer.alloc(32, 7).toString('base64') } as never);
  await s.devices.addRevocations(ctx, [{ kind: 'enrollment', groupId: 'g-1', registrationId: `r-${suffix}` }]);
  await s.devices.claimNonce(ctx, 'n-1', 1);
  const plan = planRollout({
    rolloutId: `ro-${suffix}`,
    firmware: { version: '2.0.0', url: 'https://updates.example.com/fw.bin', sha256: 'ab'.repeat(32), size: 1024 },
    devices: [{ id: `dev-${suffix}`, tenantId, firmware: '1.0.0', state: 'active' as const }],
  });
  await s.jobs.createRollout(ctx, { tenantId, rolloutId: `ro-${suffix}`, plan, state: 'running', stage: 0, trackerRevision: 0, createdAt: 1, updatedAt: 1 });
  await s.jobs.putExecution(ctx, { tenantId, jobId: `ro-${suffix}`, deviceId: `dev-${suffix}`, status: 'pending', queuedAt: 1, updatedAt: 1 }, 0);
  await s.commands.createCommand(ctx, { tenantId, commandId: 'c-1', deviceId: `dev-${suffix}`, name: 'reboot', params: {}, createdAt: 1, status: 'queued', updatedAt: 1 });
  await s.audit.append(ctx, { tenantId, at: 1, actor: 'ops', action: 'test' });
  await s.presence.touch(ctx, [{ deviceId: `dev-${suffix}`, at: 1 }]);
}

const DIRECTORIES = ['fleetkit_shadow_things', 'fleetkit_device_directory', 'fleetkit_presence_tenants'];
const TENANT_TABLES = STORE_TABLES.filter((t) => !DIRECTORIES.includes(t));

/** The error a raw statement throws, or undefined. */
async function rejection(app: SqlDriver, tenant: string | undefined, sql: string, params: unknown[] = []): Promise<unknown> {
  try {
    await app.transaction(async (tx) => {
      if (tenant !== undefined) await tx.query("SELECT set_config('fleetkit.tenant_id', $1, true)", [tenant]);
      await tx.query(sql, params);
    });
  } catch (e) {
    return e;
  }
  return undefined;
}

function isRlsViolation(e: unknown): boolean {
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  return cause?.code === '42501' && /row-level security/.test(String(cause.message));
}

/** A driver that records every statement and its parameters. */
export function recording(inner: SqlDriver): { driver: SqlDriver; texts: string[]; params: unknown[][] } {
  const texts: string[] = [];
  const params: unknown[][] = [];
  const wrap = (tx: SqlExecutor): SqlExecutor => ({
    query: (text, p) => {
      texts.push(text);
      params.push([...(p ?? [])]);
      return tx.query(text, p);
    },
  });
  const driver: SqlDriver = {
    kind: inner.kind,
    query: (text, p) => wrap(inner).query(text, p),
    transaction: (fn, o) => inner.transaction((tx) => fn({ ...wrap(tx), exec: tx.exec } as SqlTransaction), o),
    exec: (sql) => inner.exec(sql),
    close: () => inner.close(),
  };
  return { driver, texts, params };
}

/** A driver whose `failAt`-th statement inside a transaction fails like a dropped connection. */
export function failing(inner: SqlDriver, failAt: number): SqlDriver {
  let n = 0;
  return {
    kind: inner.kind,
    query: (text, p) => inner.query(text, p),
    transaction: (fn, o) =>
      inner.transaction(
        (tx) =>
          fn({
            query: (text, p) => {
              if (++n === failAt) return Promise.reject(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));
              return tx.query(text, p);
            },
            exec: tx.exec,
          } as SqlTransaction),
        o,
      ),
    exec: (sql) => inner.exec(sql),
    close: () => inner.close(),
  };
}

/** Registers the row-level-security, injection and fault tests against `open`'s database. */
export function opsSuite(label: string, open: () => Promise<OpsDatabase>): void {
  describe(`${label}: row-level security by tenant`, () => {
    it('every store table has a tenant_id column and row-level security enabled and forced; the application role owns none', async () => {
      const { app } = await open();
      const rows = (
        await app.transaction((tx) =>
          tx.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean; owned: boolean; tenant: boolean }>(
            `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_has_role(current_user, c.relowner, 'USAGE') AS owned,
                    EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id') AS tenant
               FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE 'fleetkit\\_%' AND c.relname <> 'fleetkit_migrations' ORDER BY c.relname`,
          ),
        )
      ).rows;
      expect(rows.map((r) => r.relname).sort()).toEqual([...STORE_TABLES, 'fleetkit_leases'].sort());
      // The lease table of leader election holds no tenant data (one lease covers the instances of
      // every tenant): row-level security enabled and forced, but no tenant_id column.
      for (const r of rows) expect(r, r.relname).toMatchObject({ relrowsecurity: true, relforcerowsecurity: true, owned: false, tenant: r.relname !== 'fleetkit_leases' });
    });

    it('a query that forgets the tenant sees nothing, in every table; with the tenant set it sees only that tenant’s rows', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      await populate(s, 'acme', 'a');
      await populate(s, 'globex', 'g');
      for (const table of TENANT_TABLES) {
        const none = await db.app.transaction((tx) => tx.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`));
        expect(Number(none.rows[0]?.n), `${table} without a tenant`).toBe(0);
        const mine = await db.app.transaction(async (tx) => {
          await tx.query("SELECT set_config('fleetkit.tenant_id', $1, true)", ['acme']);
          return tx.query<{ tenant_id: string }>(`SELECT tenant_id FROM ${table}`);
        });
        expect(mine.rows.length, `${table} as acme`).toBeGreaterThan(0);
        expect(new Set(mine.rows.map((r) => r.tenant_id)), table).toEqual(new Set(['acme']));
      }
      // The tenant is local to a transaction: it never leaks to the next one on the same connection.
      for (let i = 0; i < 12; i++) {
        const r = await db.app.transaction((tx) => tx.query<{ n: unknown }>('SELECT count(*) AS n FROM fleetkit_devices'));
        expect(Number(r.rows[0]?.n)).toBe(0);
      }
    });

    it('a write into another tenant’s rows is refused by the database itself (raw SQL through the application role)', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      await populate(s, 'acme', 'a');
      await populate(s, 'globex', 'g');
      const { app } = db;
      // Inserting a row for another tenant: refused by the policy's WITH CHECK.
      for (const tenant of ['globex', undefined]) {
        expect(isRlsViolation(await rejection(app, tenant, "INSERT INTO fleetkit_shadows (tenant_id, thing_name, shadow_name, version, deleted, document) VALUES ('acme', 'evil', '', 1, false, '{}')"))).toBe(true);
        expect(isRlsViolation(await rejection(app, tenant, "INSERT INTO fleetkit_audit_log (tenant_id, seq, at, action, record) VALUES ('acme', 99, 1, 'x', '{}')"))).toBe(true);
        expect(isRlsViolation(await rejection(app, tenant, "INSERT INTO fleetkit_device_directory (device_id, tenant_id) VALUES ('evil', 'acme')"))).toBe(true);
        expect(isRlsViolation(await rejection(app, tenant, "INSERT INTO fleetkit_presence (tenant_id, device_id, last_seen, level) VALUES ('acme', 'evil', 1, 0)"))).toBe(true);
        expect(isRlsViolation(await rejection(app, tenant, "INSERT INTO fleetkit_presence_tenants (tenant_id) VALUES ('evil')"))).toBe(true);
      }
      // Another tenant's presence: invisible to an update that would end its silence.
      const presence = await app.transaction(async (tx) => {
        await tx.query("SELECT set_config('fleetkit.tenant_id', $1, true)", ['globex']);
        return (await tx.query("UPDATE fleetkit_presence SET last_seen = 99, level = 0 WHERE device_id = 'dev-a'")).rowCount;
      });
      expect(presence).toBe(0);
      expect(await s.presence.get(ACME, ['dev-a'])).toEqual([{ deviceId: 'dev-a', lastSeen: 1, level: 0 }]);
      // Moving an own row to another tenant: refused.
      expect(isRlsViolation(await rejection(app, 'globex', "UPDATE fleetkit_devices SET tenant_id = 'acme' WHERE device_id = 'dev-g'"))).toBe(true);
      expect(isRlsViolation(await rejection(app, 'globex', "UPDATE fleetkit_commands SET tenant_id = 'acme'"))).toBe(true);
      // Updating or deleting another tenant's rows: they are invisible, nothing changes.
      const touched = await app.transaction(async (tx) => {
        await tx.query("SELECT set_config('fleetkit.tenant_id', $1, true)", ['globex']);
        const counts: number[] = [];
        counts.push((await tx.query("UPDATE fleetkit_devices SET state = 'retired' WHERE device_id = 'dev-a'")).rowCount);
        counts.push((await tx.query("UPDATE fleetkit_shadows SET version = 99 WHERE thing_name = 'thing-a'")).rowCount);
        counts.push((await tx.query("DELETE FROM fleetkit_audit_log WHERE tenant_id = 'acme'")).rowCount);
        counts.push((await tx.query("DELETE FROM fleetkit_device_directory WHERE device_id = 'dev-a'")).rowCount);
        counts.push((await tx.query("UPDATE fleetkit_shadow_things SET tenant_id = 'globex' WHERE thing_name = 'thing-a'")).rowCount);
        return counts;
      });
      expect(touched).toEqual([0, 0, 0, 0, 0]);
      expect((await s.devices.get(ACME, 'dev-a'))?.state).toBe('unprovisioned');
      expect(await s.shadows.get(ACME, 'thing-a')).toEqual(doc(1));
      expect((await s.audit.list(ACME)).items).toHaveLength(1);
      expect(await s.devices.locate('dev-a')).toEqual({ tenantId: 'acme', state: 'unprovisioned' });
      // The directories tell any tenant who owns a name (for TENANT_MISMATCH and routing), nothing more.
      for (const table of DIRECTORIES) {
        const r = await app.transaction((tx) => tx.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`));
        expect(Number(r.rows[0]?.n)).toBe(2);
      }
    });
  });

  describe(`${label}: hostile input reaches SQL only as parameters`, () => {
    const hostile = ["'; DROP TABLE fleetkit_devices; --", 'x" OR "1"="1', "acme' OR tenant_id <> '", '$1; SELECT pg_sleep(10)', 'a\\\'b', 'Robert\'); DELETE FROM fleetkit_shadows;--'];

    it('hostile tenant ids and thing names are refused before any statement runs', async () => {
      const db = await open();
      const { driver, texts } = recording(db.app);
      const s = createPostgresStores(driver);
      for (const h of hostile) {
        for (const call of [
          () => s.shadows.get({ tenantId: h }, 'pump-1'),
          () => s.devices.get({ tenantId: h }, 'pump-1'),
          () => s.audit.list({ tenantId: h }),
          () => s.shadows.get(ACME, h),
          () => s.shadows.compareAndSet(ACME, h, undefined, 0, doc(1)),
          () => s.shadows.get(ACME, 'pump-1', h),
          () => s.shadows.list(ACME, { thingName: h }),
        ]) {
          const e = await call().then(
            () => undefined,
            (x: unknown) => x,
          );
          expect(isFleetError(e) && ['INVALID_ARGUMENT', 'INVALID_NAME'].includes(e.code), String(e)).toBe(true);
        }
      }
      expect(texts).toEqual([]);
    });

    it('hostile free-text values are stored and read back verbatim, filter nothing extra, and never appear in SQL text', async () => {
      const db = await open();
      await db.reset();
      const { driver, texts, params } = recording(db.app);
      const s = createPostgresStores(driver);
      await populate(s, 'acme', 'a');
      await populate(s, 'globex', 'g');
      for (const [i, h] of hostile.entries()) {
        await s.devices.create(ACME, { ...createDeviceSnapshot({ deviceId: `h-${i}`, tenantId: 'acme', now: 1 }), tags: [h], attributes: { [h]: h }, firmwareVersion: h });
        await s.commands.createCommand(ACME, { tenantId: 'acme', commandId: h, deviceId: `h-${i}`, name: h, params: { [h]: h }, createdAt: 1, status: 'queued', updatedAt: 1 });
        await s.audit.append(ACME, { tenantId: 'acme', at: 1, actor: h, action: h, subject: h, reason: h });
        await s.devices.putCa(ACME, { tenantId: 'acme', caId: h, pem: h, status: 'active' });
        await s.jobs.putExecution(ACME, { tenantId: 'acme', jobId: h, deviceId: `h-${i}`, status: 'pending', queuedAt: 1, updatedAt: 1 }, 0);
        expect(await s.devices.claimNonce(ACME, h, 1)).toBe(true);
      }
      for (const [i, h] of hostile.entries()) {
        expect((await s.devices.query(ACME, { filter: { tag: h } })).items.map((d) => d.deviceId)).toEqual([`h-${i}`]);
        expect((await s.devices.query(ACME, { filter: { firmwareVersion: h } })).items.map((d) => d.attributes[h])).toEqual([h]);
        expect((await s.commands.getCommand(ACME, h))?.params).toEqual({ [h]: h });
        expect((await s.commands.listCommands(ACME, { deviceId: `h-${i}` })).items.map((c) => c.name)).toEqual([h]);
        expect((await s.audit.list(ACME, { subject: h })).items.map((e) => e.reason)).toEqual([h]);
        expect((await s.audit.list(ACME, { action: h })).items).toHaveLength(1);
        expect((await s.devices.getCa(ACME, h))?.pem).toBe(h);
        expect((await s.jobs.listExecutions(ACME, { jobId: h })).items.map((e) => e.deviceId)).toEqual([`h-${i}`]);
        expect(await s.devices.claimNonce(ACME, h, 2)).toBe(false);
        // The other tenant sees none of it.
        expect((await s.devices.query(GLOBEX, { filter: { tag: h } })).items).toEqual([]);
        expect(await s.commands.getCommand(GLOBEX, h)).toBeUndefined();
      }
      expect(await s.devices.count(ACME)).toBe(1 + hostile.length);
      expect(await s.devices.count(GLOBEX)).toBe(1);
      expect(texts.length).toBeGreaterThan(100);
      for (const h of hostile) {
        expect(texts.some((t) => t.includes(h))).toBe(false);
        expect(params.some((p) => p.includes(h))).toBe(true);
      }
    });
  });

  describe(`${label}: registry import`, () => {
    it('createMany registers thousands of devices in one transaction, or none when one id is taken', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      const devices = Array.from({ length: 2500 }, (_, i) => ({
        ...createDeviceSnapshot({ deviceId: `imp-${String(i).padStart(5, '0')}`, tenantId: 'acme', now: 1 }),
        tags: i % 2 === 0 ? ['even', `t${i % 7}`] : [],
        firmwareVersion: i % 3 === 0 ? '1.0' : '2.0',
        ...(i % 5 === 0 ? { lastSeen: i } : {}),
      }));
      expect(await s.devices.createMany(ACME, devices)).toBe(2500);
      expect(await s.devices.count(ACME)).toBe(2500);
      expect(await s.devices.count(ACME, { tag: 'even' })).toBe(1250);
      expect(await s.devices.count(ACME, { firmwareVersion: '1.0' })).toBe(834);
      expect(await s.devices.get(ACME, 'imp-00010')).toEqual({ ...devices[10], attributes: {}, revision: 1 });
      expect(await s.devices.get(ACME, 'imp-00011')).toEqual({ ...devices[11], attributes: {}, revision: 1 });
      // One id already registered: nothing of the batch is stored.
      const more = [createDeviceSnapshot({ deviceId: 'new-1', tenantId: 'acme', now: 1 }), createDeviceSnapshot({ deviceId: 'imp-02000', tenantId: 'acme', now: 1 })];
      const e = await s.devices.createMany(ACME, more).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isFleetError(e, 'ALREADY_EXISTS')).toBe(true);
      expect(await s.devices.locate('new-1')).toBeUndefined();
      const foreign = await s.devices.createMany(GLOBEX, [createDeviceSnapshot({ deviceId: 'g-new', tenantId: 'globex', now: 1 }), createDeviceSnapshot({ deviceId: 'imp-00001', tenantId: 'globex', now: 1 })]).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isFleetError(foreign, 'TENANT_MISMATCH')).toBe(true);
      expect(await s.devices.count(GLOBEX)).toBe(0);
      expect(await s.devices.count(ACME)).toBe(2500);
    });
  });

  describe(`${label}: transactional outbox`, () => {
    const msg = (topic: string, payload = '{}') => ({ topic, payload });
    const collect = (into: RelayedMessage[]) => async (m: RelayedMessage) => {
      into.push(m);
    };

    it('messages commit with their write and only with it; the relay publishes them in order once and marks them sent', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      expect(await s.shadows.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1), { outbox: [msg('t/accepted', 'a1'), msg('t/documents', 'd1')] })).toEqual({ ok: true });
      expect((await s.shadows.compareAndSet(ACME, 'pump-1', undefined, 0, doc(1), { outbox: [msg('t/lost')] })).ok).toBe(false);
      expect((await s.shadows.compareAndSet(GLOBEX, 'g-1', undefined, 0, doc(1), { outbox: [msg('g/accepted', 'g1')] })).ok).toBe(true);
      const command = { tenantId: 'acme', commandId: 'c-1', deviceId: 'pump-1', name: 'reboot', params: {}, createdAt: 1, status: 'queued' as const, updatedAt: 1 };
      await s.commands.createCommand(ACME, command, { outbox: [msg('cmd/c-1', 'c1')] });
      await s.commands.createCommand(ACME, command, { outbox: [msg('cmd/c-1', 'retry')] }); // idempotent retry: nothing new
      await s.jobs.putExecution(ACME, { tenantId: 'acme', jobId: 'j-1', deviceId: 'pump-1', status: 'pending', queuedAt: 1, updatedAt: 1 }, 0, { outbox: [msg('jobs/notify', 'j1', )] });
      await s.jobs.putExecution(ACME, { tenantId: 'acme', jobId: 'j-1', deviceId: 'pump-1', status: 'pending', queuedAt: 1, updatedAt: 1 }, 0, { outbox: [msg('jobs/lost')] }).catch(() => undefined);
      expect((await s.shadows.delete(ACME, 'pump-1', undefined, undefined, { outbox: [msg('t/delete/accepted', 'x1')] })).ok).toBe(true);
      const e = await s.shadows.compareAndSet(ACME, 'pump-2', undefined, 0, doc(1), { outbox: [{ topic: '', payload: 'x' }] }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isFleetError(e, 'INVALID_ARGUMENT')).toBe(true);
      expect(await s.shadows.get(ACME, 'pump-2')).toBeUndefined();
      const got: RelayedMessage[] = [];
      const relay = new OutboxRelay(await db.relay(), { publish: collect(got), batchSize: 2 });
      expect(await relay.drain()).toBe(6);
      expect(got.map((m) => [m.tenantId, m.topic, m.payload])).toEqual([
        ['acme', 't/accepted', 'a1'],
        ['acme', 't/documents', 'd1'],
        ['globex', 'g/accepted', 'g1'],
        ['acme', 'cmd/c-1', 'c1'],
        ['acme', 'jobs/notify', 'j1'],
        ['acme', 't/delete/accepted', 'x1'],
      ]);
      expect(got.map((m) => m.id)).toEqual([...got.map((m) => m.id)].sort((a, b) => a - b));
      expect(await relay.drain()).toBe(0);
      // The application role may enqueue but not mark sent; the relay role may not enqueue.
      expect((await rejection(db.app, 'acme', 'UPDATE fleetkit_outbox SET sent_at = NULL')) as unknown).toBeDefined();
      expect(await rejection(await db.relay(), undefined, "INSERT INTO fleetkit_outbox (tenant_id, topic, payload) VALUES ('acme', 'x', 'y')")).toBeDefined();
    });

    it('ShadowService with outbox: true commits its answers with the document; the relay publishes them, in order, even after the service is gone', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      await s.devices.create(ACME, { deviceId: 'pump-1', tenantId: 'acme', state: 'active', since: 1 });
      const clock = new SimulatedClock(1_700_000_000_000);
      const broker = new MemoryBroker();
      const backend = new MemoryTransport({ broker, clientId: 'backend' });
      const device = new MemoryTransport({ broker, clientId: 'pump-1' });
      await backend.connect();
      await device.connect();
      const got: string[] = [];
      await device.subscribe('$aws/things/pump-1/shadow/+/+', (m) => got.push(m.topic.split('/').slice(4).join('/')), { qos: 1 });
      const service = new ShadowService({ transport: backend, shadows: s.shadows, devices: s.devices, clock, outbox: true });
      await service.start();
      const turn = async (): Promise<void> => {
        for (let i = 0; i < 40; i++) await new Promise((r) => setImmediate(r));
      };
      const until = async (cond: () => boolean | Promise<boolean>): Promise<void> => {
        for (let i = 0; i < 2_000 && !(await cond()); i++) await new Promise((r) => setTimeout(r, 5));
      };
      await device.publish('$aws/things/pump-1/shadow/update', JSON.stringify({ state: { desired: { rpm: 900 } } }), { qos: 1 });
      await until(async () => (await s.shadows.get(ACME, 'pump-1'))?.version === 1);
      await turn();
      expect(got).toEqual([]); // committed, not yet relayed: nothing published directly
      await device.publish('$aws/things/pump-1/shadow/get', '{}', { qos: 1 }); // a read is answered directly
      await until(() => got.length === 1);
      expect(got).toEqual(['get/accepted']);
      await service.stop(); // the instance is gone; its committed answers are not
      const relay = new OutboxRelay(await db.relay(), { publish: (m) => backend.publish(m.topic, m.payload, { qos: m.qos ?? 1 }) });
      expect(await relay.drain()).toBe(3);
      await until(() => got.length === 4);
      expect(got).toEqual(['get/accepted', 'update/accepted', 'update/delta', 'update/documents']);
      await backend.close();
      await device.close();
    });

    it('ShadowService refuses outbox: true over a store without a transactional outbox', async () => {
      const { createMemoryStores } = await import('../../src/memory.js');
      const m = createMemoryStores();
      const broker = new MemoryBroker();
      expect(() => new ShadowService({ transport: new MemoryTransport({ broker, clientId: 'b' }), shadows: m.shadows, devices: m.devices, outbox: true })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('transactional outbox') }));
    });

    it('messages whose publishing failed, or whose relay died, are published by the next relay (after a restart)', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      for (let v = 1; v <= 3; v++) await s.shadows.compareAndSet(ACME, 'pump-1', undefined, v - 1, doc(v), { outbox: [msg('t/accepted', `v${v}`)] });
      const failingRelay = new OutboxRelay(await db.relay(), {
        publish: async (m) => {
          if (m.payload === 'v2') throw new Error('broker connection lost');
        },
      });
      await expect(failingRelay.relayOnce()).rejects.toThrow();
      const got: RelayedMessage[] = [];
      const restarted = new OutboxRelay(await db.relay(), { publish: collect(got) });
      expect(await restarted.drain()).toBe(3);
      expect(got.map((m) => m.payload)).toEqual(['v1', 'v2', 'v3']);
      expect(await restarted.drain()).toBe(0);
    });
  });

  describe(`${label}: failures leave nothing half-written`, () => {
    it('a connection lost inside a transaction is STORE_UNAVAILABLE (retryable) and rolls back every statement before it', async () => {
      const db = await open();
      await db.reset();
      const s = createPostgresStores(db.app);
      // create = (role and tenant, set by the driver) claim the id in the directory, insert the record: fail at the insert.
      const broken = createPostgresStores(failing(db.app, 2));
      const e = await broken.devices.create(ACME, createDeviceSnapshot({ deviceId: 'pump-9', tenantId: 'acme', now: 1 })).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(isFleetError(e, 'STORE_UNAVAILABLE')).toBe(true);
      expect((e as { status?: number }).status).toBe(503);
      expect((e as { details?: { retryable?: boolean } }).details?.retryable).toBe(true);
      expect(await s.devices.locate('pump-9')).toBeUndefined();
      expect(await s.devices.get(ACME, 'pump-9')).toBeUndefined();
      expect((await s.devices.create(ACME, createDeviceSnapshot({ deviceId: 'pump-9', tenantId: 'acme', now: 1 }))).revision).toBe(1);
      // A first shadow write: claim the thing, insert the shadow; fail at the insert.
      const e2 = await createPostgresStores(failing(db.app, 2))
        .shadows.compareAndSet(ACME, 'pump-9', undefined, 0, doc(1))
        .then(
          () => undefined,
          (x: unknown) => x,
        );
      expect(isFleetError(e2, 'STORE_UNAVAILABLE')).toBe(true);
      expect(await s.shadows.get(GLOBEX, 'pump-9')).toBeUndefined(); // the thing name was not claimed
    });
  });
}
