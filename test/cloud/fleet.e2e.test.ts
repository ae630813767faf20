// End to end on the memory broker with a SimulatedClock: 1,000 scripted devices (plain
// transports, the wire shapes only) against createFleet — provisioning with some bad credentials,
// shadow sync of the template's configuration, heartbeats, silence, degradation and recovery, and
// commands queued for silent devices delivered when they come back.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet } from '../../src/cloud/index.js';
import { computeEnrollmentProof, deriveDeviceKey } from '../../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { settle, T0, TEMPLATE } from './fleet-rig.js';

const N = 1_000;
const BAD = 20; // devices presenting a proof made with the wrong key
const SILENT = 100; // devices that stop heartbeating for 15 minutes
const SICK = 50; // devices whose battery runs critical, then is replaced
const GROUP_KEY = randomBytes(32).toString('base64');
const ctx = { tenantId: 'acme' };
const decoder = new TextDecoder();

interface Device {
  readonly id: string;
  readonly transport: MemoryTransport;
  readonly got: Map<string, Record<string, unknown>[]>;
  publish(topic: string, payload: unknown): Promise<void>;
}

describe('fleet end to end: 1,000 scripted devices on the memory broker', () => {
  it('provision, sync, heartbeat, go silent, degrade, recover and catch up on queued commands', { timeout: 120_000 }, async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false, heartbeat: { intervalMs: 60_000 } }, closeTransport: true });
    const alerts = new Map<string, Set<string>>();
    fleet.health.on('alert', (a) => {
      const set = alerts.get(a.type) ?? new Set<string>();
      set.add(a.deviceId);
      alerts.set(a.type, set);
    });
    const errors: unknown[] = [];
    fleet.health.on('error', (e) => errors.push(e));
    fleet.commands.on('error', (e) => errors.push(e));
    await fleet.registry.putEnrollmentGroup(ctx, { groupId: 'field', key: GROUP_KEY, tenantId: 'acme' });

    const devices: Device[] = [];
    for (let i = 0; i < N; i++) {
      const id = `sensor-${String(i).padStart(4, '0')}`;
      const transport = new MemoryTransport({ broker, clientId: id, queue: { maxMessages: 10_000 } });
      await transport.connect();
      const got = new Map<string, Record<string, unknown>[]>();
      const into = (kind: string) => (m: { topic: string; payload: Uint8Array }): void => {
        const list = got.get(kind) ?? [];
        list.push({ topic: m.topic, ...(JSON.parse(decoder.decode(m.payload)) as Record<string, unknown>) });
        got.set(kind, list);
      };
      await transport.subscribe(`cmd/acme/${id}/prov/res`, into('prov'), { qos: 1 });
      await transport.subscribe(`$aws/things/${id}/shadow/get/accepted`, into('get'), { qos: 1 });
      await transport.subscribe(`$aws/things/${id}/shadow/update/accepted`, into('accepted'), { qos: 1 });
      await transport.subscribe(`cmd/acme/${id}/req/+`, into('cmd'), { qos: 1 });
      devices.push({ id, transport, got, publish: (topic, payload) => transport.publish(topic, JSON.stringify(payload), { qos: 1 }) });
    }
    const idle = (): Promise<void> => settle(() => fleet.health.busyDevices > 0 || fleet.commands.busyDevices > 0);
    const count = (kind: string): number => devices.filter((d) => (d.got.get(kind)?.length ?? 0) > 0).length;

    // 1. Provisioning: symmetric-key group enrollment; the first BAD devices use a wrong key.
    await Promise.all(
      devices.map((d, i) => {
        const key = i < BAD ? deriveDeviceKey(randomBytes(32), d.id) : deriveDeviceKey(GROUP_KEY, d.id);
        const nonce = randomBytes(16).toString('hex');
        const now = clock.now();
        return d.publish(`cmd/acme/${d.id}/prov/req`, { type: 'symmetric-key', enrollment: { groupId: 'field', registrationId: d.id, nonce, timestamp: now, proof: computeEnrollmentProof(key, nonce, now) } });
      }),
    );
    await idle();
    const answers = devices.map((d) => d.got.get('prov')?.at(-1));
    expect(answers.filter((a) => a?.['type'] === 'accepted')).toHaveLength(N - BAD);
    expect(answers.slice(0, BAD).every((a) => a?.['type'] === 'rejected')).toBe(true);
    const stats = fleet.registry.provisioningStats(ctx);
    expect(stats.accepted).toBe(N - BAD);
    expect(stats.refused).toBe(BAD);
    expect(Object.keys(stats.refusedByCode)).toEqual(['ENROLLMENT_INVALID']);
    const live = devices.slice(BAD);

    // 2. Shadow sync: each provisioned device reads the template's desired configuration and reports it.
    await Promise.all(live.map((d) => d.publish(`$aws/things/${d.id}/shadow/get`, {})));
    await idle();
    expect(count('get')).toBe(N - BAD);
    for (const d of live) {
      const doc = d.got.get('get')?.[0] as { state: { desired: Record<string, unknown>; delta?: Record<string, unknown> } };
      expect(doc.state.desired).toEqual({ reportIntervalS: 60 });
      expect(doc.state.delta).toEqual({ reportIntervalS: 60 });
    }
    await Promise.all(live.map((d) => d.publish(`$aws/things/${d.id}/shadow/update`, { state: { reported: { reportIntervalS: 60 } } })));
    await idle();
    expect(count('accepted')).toBe(N - BAD);
    const page = await fleet.shadows.get(ctx, live[0]!.id);
    expect(page.state.delta).toBeUndefined();

    // 3. Heartbeats every minute for 5 minutes: everybody online and healthy.
    let seq = 0;
    const beat = async (list: readonly Device[], vitals: (d: Device) => Record<string, number> = () => ({ batteryPct: 80, rssiDbm: -60 })): Promise<void> => {
      await Promise.all(list.map((d) => d.publish(`dt/acme/${d.id}/heartbeat`, { ts: clock.now(), seq: ++seq, ...vitals(d) })));
      await idle();
    };
    for (let m = 0; m < 5; m++) {
      await beat(live);
      clock.advance(60_000);
      await idle();
    }
    let health = await fleet.health.stats(ctx);
    expect(health.online).toBe(N - BAD);
    expect(health.byState['active']).toBe(N - BAD);

    // 4. SILENT devices stop for 15 minutes; SICK devices report a critical battery.
    const silent = live.slice(0, SILENT);
    const sick = live.slice(SILENT, SILENT + SICK);
    const rest = live.slice(SILENT);
    const queued = await Promise.all(silent.map((d) => fleet.commands.sendCommand(ctx, d.id, 'diagnostics', {}, { commandId: `diag-${d.id}`, expiresAt: clock.now() + 3_600_000 })));
    for (let m = 0; m < 15; m++) {
      await beat(rest, (d) => (sick.includes(d) ? { batteryPct: 4, rssiDbm: -60 } : { batteryPct: 80, rssiDbm: -60 }));
      clock.advance(60_000);
      await idle();
    }
    expect(queued.filter((c) => c.status === 'sent')).toHaveLength(SILENT); // they were online when sent
    health = await fleet.health.stats(ctx);
    expect(health.silent).toBe(SILENT);
    expect(alerts.get('device-silent')?.size).toBe(SILENT);
    expect(health.byState['degraded']).toBe(SILENT + SICK);

    // 5. The silent devices come back, the sick ones get a new battery: all recover.
    const second = await Promise.all(silent.map((d) => fleet.commands.sendCommand(ctx, d.id, 'led_blink', { times: 3 }, { commandId: `blink-${d.id}` })));
    expect(second.every((c) => c.status === 'queued')).toBe(true);
    await beat(live);
    expect(silent.every((d) => d.got.get('cmd')?.some((m) => m['commandId'] === `blink-${d.id}`))).toBe(true);
    await Promise.all(silent.map((d) => d.publish(`cmd/acme/${d.id}/res/blink-${d.id}`, { commandId: `blink-${d.id}`, status: 'succeeded', ts: clock.now() })));
    await idle();
    expect((await fleet.commands.list(ctx, { status: 'succeeded', limit: 1000 })).items).toHaveLength(SILENT);
    health = await fleet.health.stats(ctx);
    expect(health.silent).toBe(0);
    expect(health.byState['active']).toBe(N - BAD);
    expect(alerts.get('device-recovered')?.size).toBe(SILENT + SICK);
    expect(alerts.get('device-silence-ended')?.size).toBe(SILENT);
    expect(errors).toEqual([]);

    await fleet.close();
    await Promise.all(devices.map((d) => d.transport.close()));
  });
});
