// createFleet: the services wired together on one transport — the set-desired path goes through
// the shadow service (devices see the delta), queued commands go out when the health monitor sees
// the device, decommissioning reaches every service, and close() stops all of them.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, signFirmware, type Fleet } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import { settle, T0, TEMPLATE, waitFor } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

interface Inbox {
  readonly transport: MemoryTransport;
  readonly got: { topic: string; payload: Record<string, unknown> }[];
  publish(topic: string, payload: unknown): Promise<void>;
}

async function device(broker: MemoryBroker, id: string, filters: readonly string[]): Promise<Inbox> {
  const transport = new MemoryTransport({ broker, clientId: id });
  open.push(transport);
  await transport.connect();
  const got: Inbox['got'] = [];
  for (const f of filters) {
    await transport.subscribe(f, (m) => got.push({ topic: m.topic, payload: JSON.parse(new TextDecoder().decode(m.payload)) as Record<string, unknown> }), { qos: 1 });
  }
  return { transport, got, publish: (topic, payload) => transport.publish(topic, JSON.stringify(payload), { qos: 1 }) };
}

async function fleetOn(): Promise<{ fleet: Fleet; broker: MemoryBroker; clock: SimulatedClock; backend: MemoryTransport }> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: 'backend' });
  open.push(backend);
  const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false } });
  open.push(fleet);
  return { fleet, broker, clock, backend };
}

describe('createFleet', () => {
  it('connects the transport and starts every service on the same stores and clock', async () => {
    const { fleet, backend, clock } = await fleetOn();
    expect(backend.state).toBe('online');
    expect(fleet.clock).toBe(clock);
    await fleet.registry.register(ctx, { deviceId: 'pump-7' });
    expect((await fleet.stores.devices.get(ctx, 'pump-7'))?.deviceId).toBe('pump-7');
  });

  it('an application desired update reaches the device as a delta; a device update is accepted', async () => {
    const { fleet, broker } = await fleetOn();
    await fleet.registry.register(ctx, { deviceId: 'pump-7' });
    const d = await device(broker, 'pump-7', ['$aws/things/pump-7/shadow/update/+']);
    await fleet.shadows.update(ctx, 'pump-7', { state: { desired: { rpm: 900 } } });
    await waitFor(() => d.got.some((m) => m.topic.endsWith('/update/delta')), 'the delta');
    expect(d.got.find((m) => m.topic.endsWith('/update/delta'))?.payload).toMatchObject({ state: { rpm: 900 }, version: 1 });
    await d.publish('$aws/things/pump-7/shadow/update', { state: { reported: { rpm: 900 } }, clientToken: 'c1' });
    await waitFor(() => d.got.some((m) => m.topic.endsWith('/update/accepted') && m.payload['clientToken'] === 'c1'), 'accepted');
    expect((await fleet.shadows.get(ctx, 'pump-7')).version).toBe(2);
  });

  it('a command sent while the device is silent is delivered when its heartbeat arrives', async () => {
    const { fleet, broker, clock } = await fleetOn();
    await fleet.registry.register(ctx, { deviceId: 'pump-7' });
    const d = await device(broker, 'pump-7', ['cmd/acme/pump-7/req/+']);
    const sent = await fleet.commands.sendCommand(ctx, 'pump-7', 'reboot', {}, { commandId: 'c-1' });
    expect(sent.status).toBe('queued');
    await settle();
    expect(d.got).toEqual([]);
    await d.publish('dt/acme/pump-7/heartbeat', { ts: clock.now(), seq: 1 });
    await waitFor(() => d.got.length === 1, 'the queued command');
    expect(d.got[0]).toMatchObject({ topic: 'cmd/acme/pump-7/req/c-1', payload: { commandId: 'c-1', name: 'reboot' } });
    await waitFor(() => fleet.health.isOnline('acme', 'pump-7'), 'presence');
  });

  it('decommissioning reaches every service: open commands canceled, monitoring dropped, shadow writes refused', async () => {
    const { fleet, broker, clock } = await fleetOn();
    await fleet.stores.devices.create(ctx, {
      deviceId: 'pump-7',
      tenantId: 'acme',
      state: 'active',
      since: clock.now(),
      identity: { kind: 'symmetric-key', fingerprint: 'sha256:pump-7', groupId: 'field', registrationId: 'pump-7' } as never,
      policies: ['acme-device'],
    });
    const d = await device(broker, 'pump-7', ['$aws/things/pump-7/shadow/update/+']);
    await d.publish('dt/acme/pump-7/heartbeat', { ts: clock.now(), seq: 1 });
    await waitFor(() => fleet.health.isOnline('acme', 'pump-7'), 'presence');
    fleet.health.on('alert', () => undefined);
    const cmd = await fleet.commands.sendCommand(ctx, 'pump-7', 'diagnostics', {}, { commandId: 'c-2', expiresAt: clock.now() + 3_600_000 });
    expect(['queued', 'sent']).toContain(cmd.status);
    const out = await fleet.registry.decommission(ctx, 'pump-7', { reason: 'RMA 12', actor: 'ops@acme' });
    expect(out.outcomes.filter((o) => o.status === 'skipped').map((o) => o.effect.type)).toEqual(['detach-policies', 'remove-from-billing']);
    expect((await fleet.commands.get(ctx, 'c-2'))?.status).toBe('expired');
    expect(await fleet.health.status(ctx, 'pump-7')).toBeUndefined();
    await d.publish('$aws/things/pump-7/shadow/update', { state: { reported: { x: 1 } }, clientToken: 'late' });
    await waitFor(() => d.got.some((m) => m.topic.endsWith('/update/rejected')), 'the rejection');
    expect(d.got.find((m) => m.topic.endsWith('/update/rejected'))?.payload).toMatchObject({ code: 403, clientToken: 'late' });
  });

  it('close() stops every service (idempotent) and leaves the caller\'s transport open unless asked', async () => {
    const { fleet, broker, backend } = await fleetOn();
    await fleet.registry.register(ctx, { deviceId: 'pump-7' });
    await Promise.all([fleet.close(), fleet.close()]);
    expect(backend.state).toBe('online');
    const d = await device(broker, 'pump-7', ['$aws/things/pump-7/shadow/update/+']);
    await d.publish('$aws/things/pump-7/shadow/update', { state: { reported: { x: 1 } } });
    await settle();
    expect(d.got).toEqual([]);

    const clock = new SimulatedClock(T0);
    const own = new MemoryTransport({ broker, clientId: 'backend-2' });
    const second = await createFleet({ transport: own, clock, template: TEMPLATE, stores: createMemoryStores(), closeTransport: true, health: { certificates: false } });
    await second.close();
    expect(own.state).toBe('closed');
  });

  it('bad options are INVALID_ARGUMENT with what to fix, before anything starts', async () => {
    const broker = new MemoryBroker();
    const transport = new MemoryTransport({ broker, clientId: 'b' });
    open.push(transport);
    const cases: [unknown, RegExp][] = [
      [undefined, /pass \{ transport, template/],
      [{ template: TEMPLATE }, /transport must be a Transport/],
      [{ transport }, /template is required/],
      [{ transport, template: TEMPLATE, stores: { shadows: {} } }, /stores\.devices is missing/],
      [{ transport, template: TEMPLATE, clock: {} }, /clock must be a Clock/],
    ];
    for (const [options, message] of cases) {
      await expect(createFleet(options as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, message: expect.stringMatching(message) as unknown });
    }
    expect(transport.state).not.toBe('online');
  });
});

describe('createFleet rollouts', () => {
  async function withImage(fleet: Fleet): Promise<void> {
    const keys = generateKeyPairSync('ed25519');
    fleet.firmware.addSigningKey(ctx, 'release', keys.publicKey);
    const bytes = 'firmware 2.0.0';
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const sizeBytes = Buffer.byteLength(bytes);
    fleet.firmware.add(ctx, { version: '2.0.0', url: 'https://fw.example.com/2.0.0.bin', sizeBytes, sha256, hardware: ['board-a'], keyId: 'release', ...signFirmware({ version: '2.0.0', sizeBytes, sha256 }, keys.privateKey) });
  }

  it('runs a rollout on the shared stores: documents go to devices the health monitor sees online, the others get theirs when heard from', async () => {
    const { fleet, broker, clock } = await fleetOn();
    await withImage(fleet);
    const ids = ['pump-1', 'pump-2', 'pump-3'];
    const inbox = new Map<string, Inbox>();
    for (const id of ids) {
      await fleet.registry.register(ctx, { deviceId: id, hardware: 'board-a', firmwareVersion: '1.0.0' });
      inbox.set(id, await device(broker, id, [`cmd/acme/${id}/job/+`]));
    }
    // pump-1 and pump-2 heartbeat; pump-3 is silent.
    for (const id of ids.slice(0, 2)) await inbox.get(id)!.publish(`dt/acme/${id}/heartbeat`, { ts: clock.now(), seq: 1 });
    await waitFor(() => fleet.health.isOnline('acme', 'pump-2'), 'presence');
    const summary = await fleet.rollouts.create(ctx, { rolloutId: 'fw-2', firmwareVersion: '2.0.0', stages: [{ percent: 100 }] });
    expect(summary.devices).toBe(3);
    await waitFor(() => inbox.get('pump-2')!.got.length > 0, 'the job document');
    expect(inbox.get('pump-1')!.got[0]).toMatchObject({ topic: 'cmd/acme/pump-1/job/fw-2', payload: { jobId: 'fw-2', firmware: { version: '2.0.0' } } });
    expect(inbox.get('pump-3')!.got).toEqual([]);
    // Stored in the fleet's job store, one execution per device.
    expect((await fleet.stores.jobs.listExecutions(ctx, { jobId: 'fw-2' })).items).toHaveLength(3);
    await inbox.get('pump-3')!.publish('dt/acme/pump-3/heartbeat', { ts: clock.now(), seq: 1 });
    await waitFor(() => inbox.get('pump-3')!.got.length > 0, 'the document on coming online');
    expect(inbox.get('pump-3')!.got[0]?.topic).toBe('cmd/acme/pump-3/job/fw-2');
  });

  it('a new fleet on the same stores takes over the tenants in recoverRollouts', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const stores = createMemoryStores();
    const backend = new MemoryTransport({ broker, clientId: 'backend' });
    open.push(backend);
    const first = await createFleet({ transport: backend, clock, stores, template: TEMPLATE, health: { certificates: false } });
    await withImage(first);
    await first.registry.register(ctx, { deviceId: 'pump-1', hardware: 'board-a' });
    await first.rollouts.create(ctx, { rolloutId: 'fw-2', firmwareVersion: '2.0.0', stages: [{ percent: 100 }] });
    await first.close();
    const second = await createFleet({ transport: backend, clock, stores, firmware: first.firmware, template: TEMPLATE, health: { certificates: false }, recoverRollouts: ['acme'] });
    open.push(second);
    expect(second.firmware).toBe(first.firmware);
    expect((await second.rollouts.get(ctx, 'fw-2'))?.state).toBe('running');
    await expect(second.rollouts.pause(ctx, 'fw-2')).resolves.toMatchObject({ state: 'paused' });
  });

  it('refuses a firmware option that is not a catalog and recoverRollouts that are not tenant ids, starting nothing', async () => {
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend' });
    open.push(backend);
    await expect(createFleet({ transport: backend, template: TEMPLATE, firmware: {} as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('FirmwareCatalog') });
    await expect(createFleet({ transport: backend, template: TEMPLATE, recoverRollouts: 'acme' as never })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('recoverRollouts') });
    expect(backend.state).not.toBe('online');
  });
});
