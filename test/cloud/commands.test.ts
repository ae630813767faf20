// Commands on the memory broker with a SimulatedClock: queued for offline devices and delivered
// when they come online, idempotent by id, acknowledged forward only, expired at exact times.
import { afterEach, describe, expect, it } from 'vitest';
import { CommandService, type CommandServiceOptions } from '../../src/cloud/commands.js';
import { HealthMonitor } from '../../src/cloud/health-monitor.js';
import { commandRequestWireSchema } from '../../src/protocol/command-wire.js';
import { fleetRig, settle, T0, type FleetRig, type ScriptedDevice } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
let rig: FleetRig | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  await rig?.close();
  rig = undefined;
});

interface Setup {
  readonly r: FleetRig;
  readonly health: HealthMonitor;
  readonly commands: CommandService;
  readonly log: string[];
  idle(): Promise<void>;
  advance(ms: number): Promise<void>;
  device(id: string, tenantId?: string): Promise<ScriptedDevice>;
  heartbeat(d: ScriptedDevice, id: string): Promise<void>;
  ack(d: ScriptedDevice, id: string, commandId: string, status: string, extra?: Record<string, unknown>): Promise<void>;
}

async function setup(options: Partial<CommandServiceOptions> = {}): Promise<Setup> {
  const r = (rig = await fleetRig());
  const health = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false });
  const commands = new CommandService({ transport: r.backend, commands: r.stores.commands, devices: r.stores.devices, clock: r.clock, presence: health, effects: r.runner, ...options });
  closers.push(() => health.close(), () => commands.close());
  const log: string[] = [];
  commands.on('command:updated', (e) => log.push(`${e.command.commandId} ${e.previous}>${e.command.status} +${e.command.updatedAt - T0}`));
  commands.on('ack:rejected', (e) => log.push(`ack-rejected ${e.topic} ${e.error.code}`));
  commands.on('error', (e) => log.push(`error ${e.message}`));
  await health.start();
  await commands.start();
  const idle = (): Promise<void> => settle(() => commands.busyDevices > 0 || health.busyDevices > 0);
  let seq = 0;
  return {
    r,
    health,
    commands,
    log,
    idle,
    async advance(ms) {
      r.clock.advance(ms);
      await idle();
    },
    device: (id, tenantId = 'acme') => r.device(id, [`cmd/${tenantId}/${id}/req/+`]),
    async heartbeat(d, id) {
      await d.publish(`dt/acme/${id}/heartbeat`, { ts: r.clock.now(), seq: ++seq });
      await idle();
    },
    async ack(d, id, commandId, status, extra = {}) {
      await d.publish(`cmd/acme/${id}/res/${commandId}`, { commandId, status, ts: r.clock.now(), ...extra });
      await idle();
    },
  };
}

async function active(r: FleetRig, deviceId: string, tenantId = 'acme'): Promise<void> {
  await r.stores.devices.create({ tenantId }, { deviceId, tenantId, state: 'active', since: r.clock.now() });
}

describe('CommandService', () => {
  it('an online device gets the command at once and acknowledges it to success', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.device('pump-1');
    await s.heartbeat(d, 'pump-1');
    const sent = await s.commands.sendCommand(ctx, 'pump-1', 'set-interval', { seconds: 30 }, { commandId: 'c-1', expiresAt: T0 + 3_600_000 });
    expect(sent.status).toBe('sent');
    await s.idle();
    expect(d.inbox).toHaveLength(1);
    expect(d.inbox[0]?.topic).toBe('cmd/acme/pump-1/req/c-1');
    expect(commandRequestWireSchema.parse(d.inbox[0]?.payload)).toEqual({ commandId: 'c-1', name: 'set-interval', params: { seconds: 30 }, issuedAt: T0, expiresAt: T0 + 3_600_000 });
    await s.ack(d, 'pump-1', 'c-1', 'received');
    await s.advance(1_000);
    await s.ack(d, 'pump-1', 'c-1', 'executing');
    await s.ack(d, 'pump-1', 'c-1', 'succeeded', { result: { applied: true } });
    expect(await s.commands.get(ctx, 'c-1')).toMatchObject({ status: 'succeeded', result: { applied: true }, updatedAt: T0 + 1_000 });
    expect(s.log).toEqual(['c-1 queued>sent +0', 'c-1 sent>received +0', 'c-1 received>executing +1000', 'c-1 executing>succeeded +1000']);
    expect((await s.r.stores.audit.list(ctx, { action: 'command.send' })).items).toHaveLength(1);
  });

  it('an offline device\'s command is queued and delivered when it comes online; it expires at exactly expiresAt when it never does', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    await active(s.r, 'pump-2');
    const d1 = await s.device('pump-1');
    const d2 = await s.device('pump-2');
    await s.commands.sendCommand(ctx, 'pump-1', 'reboot', {}, { commandId: 'c-1', expiresAt: T0 + 600_000 });
    await s.commands.sendCommand(ctx, 'pump-2', 'reboot', {}, { commandId: 'c-2', expiresAt: T0 + 600_000 });
    await s.idle();
    expect(d1.inbox).toEqual([]);
    expect((await s.commands.get(ctx, 'c-1'))?.status).toBe('queued');

    await s.advance(120_000);
    await s.heartbeat(d1, 'pump-1'); // comes online: the queued command goes out
    expect(d1.inbox.map((m) => m.topic)).toEqual(['cmd/acme/pump-1/req/c-1']);
    expect((await s.commands.get(ctx, 'c-1'))?.status).toBe('sent');

    await s.advance(600_000 - 120_000 - 1);
    expect((await s.commands.get(ctx, 'c-2'))?.status).toBe('queued');
    await s.advance(1);
    // Both expire at T0 + 600 000: c-2 never delivered, c-1 delivered but never acknowledged.
    expect(s.log.filter((l) => l.includes('>expired'))).toEqual(['c-1 sent>expired +600000', 'c-2 queued>expired +600000']);
    expect(await s.commands.get(ctx, 'c-2')).toMatchObject({ error: { code: 'EXPIRED' } });
    await s.heartbeat(d2, 'pump-2');
    expect(d2.inbox).toEqual([]); // an expired command is never delivered
  });

  it('an executing command is not expired; its result still counts', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.device('pump-1');
    await s.heartbeat(d, 'pump-1');
    await s.commands.sendCommand(ctx, 'pump-1', 'calibrate', {}, { commandId: 'c-1', expiresAt: T0 + 10_000 });
    await s.ack(d, 'pump-1', 'c-1', 'executing');
    await s.advance(20_000);
    await s.ack(d, 'pump-1', 'c-1', 'failed', { error: { code: 'SENSOR', message: 'no probe' } });
    expect(await s.commands.get(ctx, 'c-1')).toMatchObject({ status: 'failed', error: { code: 'SENSOR' } });
  });

  it('is idempotent by command id: a retry publishes nothing new; the same id with other content is ALREADY_EXISTS', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.device('pump-1');
    await s.heartbeat(d, 'pump-1');
    const a = await s.commands.sendCommand(ctx, 'pump-1', 'reboot', { delayS: 5 }, { commandId: 'c-1' });
    const b = await s.commands.sendCommand(ctx, 'pump-1', 'reboot', { delayS: 5 }, { commandId: 'c-1' });
    await s.idle();
    expect(b).toEqual(a);
    expect(d.inbox).toHaveLength(1);
    await expect(s.commands.sendCommand(ctx, 'pump-1', 'reboot', { delayS: 6 }, { commandId: 'c-1' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(a.expiresAt).toBe(T0 + 86_400_000); // the default ttl
  });

  it('acknowledgements only move forward; duplicates, steps back, other devices\' commands and malformed acks are refused and change nothing', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    await active(s.r, 'pump-2');
    await active(s.r, 'gx-1', 'globex');
    const d1 = await s.device('pump-1');
    const d2 = await s.device('pump-2');
    await s.heartbeat(d1, 'pump-1');
    await s.commands.sendCommand(ctx, 'pump-1', 'reboot', {}, { commandId: 'c-1' });
    await s.ack(d1, 'pump-1', 'c-1', 'executing');
    await s.ack(d1, 'pump-1', 'c-1', 'executing'); // duplicate
    await s.ack(d1, 'pump-1', 'c-1', 'received'); // a step back
    await s.ack(d2, 'pump-2', 'c-1', 'succeeded'); // pump-2 answering pump-1's command
    await d2.publish('cmd/globex/gx-1/res/c-1', { commandId: 'c-1', status: 'succeeded', ts: 1 }); // another tenant's topic
    await d1.publish('cmd/acme/pump-1/res/c-1', '{"commandId":"c-1","status":"done"}');
    await d1.publish('cmd/acme/pump-1/res/c-1', { commandId: 'c-9', status: 'succeeded', ts: 1 });
    await s.idle();
    expect(s.log.filter((l) => l.startsWith('ack-rejected'))).toEqual([
      'ack-rejected cmd/acme/pump-1/res/c-1 INVALID_REQUEST',
      'ack-rejected cmd/acme/pump-1/res/c-1 INVALID_REQUEST',
      'ack-rejected cmd/acme/pump-2/res/c-1 INVALID_REQUEST',
      'ack-rejected cmd/globex/gx-1/res/c-1 INVALID_REQUEST',
      'ack-rejected cmd/acme/pump-1/res/c-1 INVALID_PAYLOAD',
      'ack-rejected cmd/acme/pump-1/res/c-1 INVALID_PAYLOAD',
    ]);
    expect(await s.commands.get(ctx, 'c-1')).toMatchObject({ status: 'executing', version: 3 });
    await s.ack(d1, 'pump-1', 'c-1', 'succeeded');
    await s.ack(d1, 'pump-1', 'c-1', 'failed'); // late, after the final state
    expect((await s.commands.get(ctx, 'c-1'))?.status).toBe('succeeded');
  });

  it('refuses commands for unknown, foreign and decommissioned devices; decommissioning cancels open commands', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    await active(s.r, 'gx-1', 'globex');
    await expect(s.commands.sendCommand(ctx, 'ghost', 'reboot')).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    await expect(s.commands.sendCommand(ctx, 'gx-1', 'reboot')).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
    await expect(s.commands.sendCommand(ctx, 'pump-1', 'reboot', {}, { expiresAt: T0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(s.commands.sendCommand(ctx, 'pump-1', 'reboot', {}, { commandId: 'bad/id' })).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await s.commands.sendCommand(ctx, 'pump-1', 'reboot', {}, { commandId: 'c-1' });
    await s.r.registry.decommission(ctx, 'pump-1', { reason: 'RMA', actor: 'ops' });
    await s.idle();
    expect(await s.commands.get(ctx, 'c-1')).toMatchObject({ status: 'expired', error: { code: 'CANCELLED' } });
    await expect(s.commands.sendCommand(ctx, 'pump-1', 'reboot')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('a restarted service recovers open commands: their expiry timers and their delivery', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    await s.commands.sendCommand(ctx, 'pump-1', 'reboot', {}, { commandId: 'c-1', expiresAt: T0 + 60_000 });
    await s.commands.close();
    const again = new CommandService({ transport: s.r.backend, commands: s.r.stores.commands, devices: s.r.stores.devices, clock: s.r.clock, presence: s.health });
    closers.push(() => again.close());
    await again.start();
    expect(await again.recover(ctx)).toBe(1);
    const d = await s.device('pump-1');
    await s.heartbeat(d, 'pump-1');
    await settle(() => again.busyDevices > 0);
    expect(d.inbox.map((m) => m.topic)).toEqual(['cmd/acme/pump-1/req/c-1']);
    s.r.clock.advance(60_000);
    await settle(() => again.busyDevices > 0);
    expect((await again.get(ctx, 'c-1'))?.status).toBe('expired');
  });
});
