// FleetRegistry's application API: registration, queries, lifecycle transitions through the core
// and the effect runner, decommissioning, wipes, and mosquitto ACLs generated from the registry.
import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoAcl } from '../../src/cloud/mosquitto-acl.js';
import { isFleetError } from '../../src/errors.js';
import { fleetRig, T0, type FleetRig } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
let rig: FleetRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function activeDevice(r: FleetRig, deviceId: string, fields: { tags?: string[]; firmwareVersion?: string } = {}): Promise<void> {
  await r.stores.devices.create(ctx, {
    deviceId,
    tenantId: 'acme',
    state: 'active',
    since: r.clock.now(),
    identity: { kind: 'symmetric-key', fingerprint: `sha256:${deviceId}`, groupId: 'field', registrationId: deviceId } as never,
    policies: ['acme-device'],
    ...fields,
  });
}

describe('FleetRegistry application API', () => {
  it('registers devices and queries them by state, firmware and tag', async () => {
    rig = await fleetRig();
    const registered: string[] = [];
    rig.registry.on('device:registered', (e) => registered.push(e.deviceId));
    await rig.registry.register(ctx, { deviceId: 'pre-1', tags: ['line-3'] });
    await activeDevice(rig, 'pump-1', { tags: ['line-3'], firmwareVersion: '1.2.0' });
    await activeDevice(rig, 'pump-2', { firmwareVersion: '1.3.0' });
    const ids = async (q: Parameters<FleetRig['registry']['query']>[1]): Promise<string[]> => ((await rig?.registry.query(ctx, q))?.items ?? []).map((d) => d.deviceId);
    expect(await ids({ state: 'active' })).toEqual(['pump-1', 'pump-2']);
    expect(await ids({ state: 'unprovisioned' })).toEqual(['pre-1']);
    expect(await ids({ firmwareVersion: '1.3.0' })).toEqual(['pump-2']);
    expect(await ids({ tag: 'line-3' })).toEqual(['pre-1', 'pump-1']);
    expect(await ids({ tag: 'line-3', state: 'active' })).toEqual(['pump-1']);
    expect(registered).toEqual(['pre-1']);
    const page = await rig.registry.query(ctx, { limit: 1 });
    expect(page.items).toHaveLength(1);
    expect(page.cursor).toBeDefined();
    expect((await rig.stores.audit.list(ctx, { action: 'registry.register' })).items.map((e) => e.subject)).toEqual(['pre-1']);
  });

  it('transitions go through the core: stored with compare-and-set, one audit entry each, refusals are INVALID_TRANSITION and change nothing', async () => {
    rig = await fleetRig();
    await activeDevice(rig, 'pump-1');
    const seen: string[] = [];
    rig.registry.on('device:transitioned', (e) => seen.push(`${e.from}->${String(e.to)}:${e.event}`));
    rig.clock.advance(1000);
    const out = await rig.registry.transition(ctx, 'pump-1', { type: 'health_check_failed', actor: 'monitor', reason: 'battery 8 %' });
    expect(out.device).toMatchObject({ state: 'degraded', since: T0 + 1000, revision: 2 });
    const err = await rig.registry.transition(ctx, 'pump-1', { type: 'config_complete' }).catch((e: unknown) => e);
    expect(isFleetError(err, 'INVALID_TRANSITION')).toBe(true);
    expect((await rig.registry.get(ctx, 'pump-1'))?.revision).toBe(2);
    expect(seen).toEqual(['active->degraded:health_check_failed']);
    const audit = await rig.stores.audit.list(ctx, { subject: 'pump-1' });
    expect(audit.items.map((e) => [e.actor, e.reason, e.details])).toEqual([['monitor', 'battery 8 %', { from: 'active', to: 'degraded', event: 'health_check_failed' }]]);
    await expect(rig.registry.transition(ctx, 'nope', { type: 'heartbeat' })).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(rig.registry.transition({ tenantId: 'globex' }, 'pump-1', { type: 'heartbeat' })).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
  });

  it('a transition racing another writer re-reads and applies to the new record', async () => {
    rig = await fleetRig();
    await activeDevice(rig, 'pump-1');
    const r = rig;
    // Every other read, another writer slips a tag change in between read and write.
    const store = r.stores.devices;
    const get = store.get.bind(store);
    let races = 2;
    store.get = async (c, id) => {
      const d = await get(c, id);
      if (d !== undefined && races-- > 0) await store.update(c, { ...d, tags: [`t${races}`] }, d.revision);
      return d;
    };
    const out = await r.registry.transition(ctx, 'pump-1', { type: 'scheduled_update' });
    expect(out.device).toMatchObject({ state: 'maintenance', tags: ['t0'], revision: 4 });
    expect((await r.stores.audit.list(ctx)).items).toHaveLength(1);
  });

  it('decommission runs planDecommission\'s effects through the runner; wipe removes the record and keeps the credential revoked', async () => {
    rig = await fleetRig();
    await activeDevice(rig, 'pump-1');
    const monitored: string[] = [];
    rig.runner.use('remove-from-monitoring', (_c, e) => {
      monitored.push(e.deviceId);
    });
    const out = await rig.registry.decommission(ctx, 'pump-1', { reason: 'RMA 4411', actor: 'ops@acme' });
    expect(out.device?.state).toBe('decommissioned');
    expect(out.outcomes.map((o) => o.effect.type)).toEqual(['revoke-credential', 'detach-policies', 'cancel-pending', 'request-data-wipe', 'remove-from-monitoring', 'remove-from-billing', 'audit']);
    expect(monitored).toEqual(['pump-1']);
    expect(await rig.stores.devices.isRevoked(ctx, { kind: 'enrollment', groupId: 'field', registrationId: 'pump-1' })).toBe(true);
    await expect(rig.registry.decommission(ctx, 'pump-1', { reason: 'again', actor: 'ops' })).rejects.toMatchObject({ code: 'INVALID_TRANSITION' });
    await expect(rig.registry.decommission(ctx, 'pump-1', { reason: '', actor: 'ops' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const wiped = await rig.registry.wipe(ctx, 'pump-1', { actor: 'ops' });
    expect(wiped.device).toBeUndefined();
    expect(await rig.registry.get(ctx, 'pump-1')).toBeUndefined();
    expect((await rig.stores.audit.list(ctx, { subject: 'pump-1' })).items.map((e) => e.details?.['event'])).toEqual(['end_of_life', 'data_wiped']);
  });

  it('generates mosquitto ACLs: each live device only its own topics, decommissioned devices none', async () => {
    rig = await fleetRig();
    await activeDevice(rig, 'pump-1');
    await activeDevice(rig, 'pump-2');
    await rig.registry.decommission(ctx, 'pump-2', { reason: 'r', actor: 'a' });
    const acl = await rig.registry.mosquittoAcl(ctx, { backends: [{ username: 'acme-backend', tenantId: 'acme' }] });
    expect(acl).toContain('user pump-1\ntopic write dt/acme/pump-1/telemetry\n');
    expect(acl).toContain('topic read $aws/things/pump-1/shadow/+/+\n');
    expect(acl).not.toContain('pump-2');
    expect(acl).toContain('user acme-backend\ntopic readwrite dt/acme/#\ntopic readwrite cmd/acme/#\ntopic readwrite $aws/things/pump-1/shadow/#\n');
    expect(acl).toContain('pattern write cmd/+/%u/prov/req');
  });
});

describe('mosquittoAcl (pure)', () => {
  const devices = [
    { deviceId: 'b', tenantId: 'acme', state: 'active' as const },
    { deviceId: 'a', tenantId: 'globex', state: 'degraded' as const },
    { deviceId: 'c', tenantId: 'acme', state: 'unprovisioned' as const },
  ];

  it('is deterministic and sorted by tenant, then device', () => {
    const text = mosquittoAcl(devices, { provisioning: false });
    expect(text).toBe(mosquittoAcl([...devices].reverse(), { provisioning: false }));
    expect([...text.matchAll(/^user (\S+)$/gm)].map((m) => m[1])).toEqual(['b', 'c', 'a']);
  });

  it('every topic line of a device names only that device', () => {
    const text = mosquittoAcl(devices, { provisioning: false });
    for (const section of text.split('\n\n').filter((s) => s.includes('\nuser '))) {
      const user = /^user (\S+)$/m.exec(section)?.[1] as string;
      for (const line of section.split('\n').filter((l) => l.startsWith('topic '))) {
        const topic = line.split(' ')[2] as string;
        const level = topic.startsWith('$aws') ? topic.split('/')[2] : topic.split('/')[2];
        expect(level, line).toBe(user);
      }
    }
  });

  it('refuses ids that could break out of a topic level, and duplicate ids', () => {
    expect(() => mosquittoAcl([{ deviceId: 'x/#', tenantId: 'acme', state: 'active' }])).toThrow(expect.objectContaining({ code: 'INVALID_NAME' }));
    expect(() => mosquittoAcl([devices[0] as never, devices[0] as never])).toThrow(/appears twice/);
    expect(() => mosquittoAcl([], { backends: [{ username: 'a b' }] })).toThrow(/username/);
  });
});
