// createFleet: the services wired together on one transport — the set-desired path goes through
// the shadow service (devices see the delta), queued commands go out when the health monitor sees
// the device, decommissioning reaches every service, and close() stops all of them.
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, type Fleet } from '../../src/cloud/index.js';
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
