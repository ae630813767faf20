// HealthMonitor on the memory broker with a SimulatedClock: presence, silence, degradation and
// recovery at exact virtual times, health from vitals, fleet statistics, certificate alerts, and
// bad messages isolated to their sender.
import { afterEach, describe, expect, it } from 'vitest';
import type { HealthAlert } from '../../src/cloud/health-events.js';
import { HealthMonitor, type HealthMonitorOptions } from '../../src/cloud/health-monitor.js';
import { fleetRig, settle, T0, type FleetRig, type ScriptedDevice } from './fleet-rig.js';

const ctx = { tenantId: 'acme' };
const DAY = 86_400_000;
let rig: FleetRig | undefined;
let monitor: HealthMonitor | undefined;
afterEach(async () => {
  await monitor?.close();
  await rig?.close();
  rig = undefined;
  monitor = undefined;
});

interface Setup {
  readonly r: FleetRig;
  readonly m: HealthMonitor;
  readonly alerts: HealthAlert[];
  readonly log: string[];
  /** Advances the virtual clock and lets every resulting registry write finish. */
  advance(ms: number): Promise<void>;
  heartbeat(d: ScriptedDevice, id: string, body?: Record<string, unknown>, tenantId?: string): Promise<void>;
}

async function setup(options: Partial<Omit<HealthMonitorOptions, 'transport' | 'devices' | 'registry' | 'clock'>> = {}): Promise<Setup> {
  const r = (rig = await fleetRig());
  const m = (monitor = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false, ...options }));
  const alerts: HealthAlert[] = [];
  const log: string[] = [];
  m.on('alert', (a) => alerts.push(a));
  m.on('device:online', (e) => log.push(`online ${e.deviceId} +${e.at - T0}`));
  m.on('device:offline', (e) => log.push(`offline ${e.deviceId} +${e.at - T0}`));
  m.on('message:rejected', (e) => log.push(`rejected ${e.topic} ${e.error.code}`));
  m.on('error', (e) => log.push(`error ${e.message}`));
  await m.start();
  let seq = 0;
  const idle = (): Promise<void> => settle(() => m.busyDevices > 0 || r.registry.busyDevices > 0);
  return {
    r,
    m,
    alerts,
    log,
    async advance(ms) {
      r.clock.advance(ms);
      await idle();
    },
    async heartbeat(d, id, body = {}, tenantId = 'acme') {
      await d.publish(`dt/${tenantId}/${id}/heartbeat`, { ts: r.clock.now(), seq: ++seq, ...body });
      await idle();
    },
  };
}

async function active(r: FleetRig, deviceId: string, extra: Record<string, unknown> = {}): Promise<void> {
  await r.stores.devices.create(ctx, { deviceId, tenantId: 'acme', state: 'active', since: r.clock.now(), ...extra });
}

const at = (a: HealthAlert): string => `${a.type} ${a.deviceId} +${a.at - T0}`;

describe('HealthMonitor', () => {
  it('offline after interval + grace, degraded after 3 missed beats, silent at exactly 10 minutes, back and recovered on the next heartbeat', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.r.device('pump-1', []);
    await s.heartbeat(d, 'pump-1');
    expect(s.m.isOnline('acme', 'pump-1')).toBe(true);

    await s.advance(75_000); // interval 60 s + grace 15 s: still only late
    expect(s.log).toEqual(['online pump-1 +0']);
    await s.advance(1);
    expect(s.log).toEqual(['online pump-1 +0', 'offline pump-1 +75001']);
    expect(s.m.isOnline('acme', 'pump-1')).toBe(false);

    await s.advance(195_000 - 75_001 - 1);
    expect((await s.r.registry.get(ctx, 'pump-1'))?.state).toBe('active');
    await s.advance(1); // 3 × 60 s + 15 s: the third beat is missed
    expect(await s.r.registry.get(ctx, 'pump-1')).toMatchObject({ state: 'degraded', since: T0 + 195_000 });
    expect(s.alerts.map(at)).toEqual(['device-degraded pump-1 +195000']);

    await s.advance(600_000 - 195_000 - 1);
    expect(s.alerts).toHaveLength(1);
    await s.advance(1);
    expect(s.alerts.map(at)).toEqual(['device-degraded pump-1 +195000', 'device-silent pump-1 +600000']);
    expect(await s.m.stats(ctx)).toMatchObject({ total: 1, byState: { degraded: 1 }, monitored: 1, online: 0, silent: 1 });

    await s.advance(100_000);
    await s.heartbeat(d, 'pump-1');
    expect(s.alerts.map(at).slice(2)).toEqual(['device-silence-ended pump-1 +700000', 'device-recovered pump-1 +700000']);
    expect(await s.r.registry.get(ctx, 'pump-1')).toMatchObject({ state: 'active', since: T0 + 700_000 });
    const audit = (await s.r.stores.audit.list(ctx, { subject: 'pump-1' })).items.map((e) => [e.at - T0, e.actor, e.details?.['event']]);
    expect(audit).toEqual([
      [195_000, 'health-monitor', 'health_check_failed'],
      [700_000, 'health-monitor', 'auto_recovery'],
    ]);
    expect(await s.m.stats(ctx)).toMatchObject({ online: 1, silent: 0 });
    expect(s.log.filter((l) => l.startsWith('error'))).toEqual([]);
  });

  it('one large clock step still records each event at the virtual time it was decided', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.r.device('pump-1', []);
    await s.heartbeat(d, 'pump-1');
    await s.advance(3_600_000); // offline, degraded and silent all fall due within this one step
    expect(s.alerts.map(at)).toEqual(['device-silent pump-1 +600000', 'device-degraded pump-1 +195000']);
    expect(await s.r.registry.get(ctx, 'pump-1')).toMatchObject({ state: 'degraded', since: T0 + 195_000 });
    expect((await s.r.stores.audit.list(ctx, { subject: 'pump-1' })).items.map((e) => e.at - T0)).toEqual([195_000]);
  });

  it('regular heartbeats keep a device online and active: no alerts over an hour', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.r.device('pump-1', []);
    for (let i = 0; i < 60; i++) {
      await s.heartbeat(d, 'pump-1');
      await s.advance(60_000);
    }
    expect(s.alerts).toEqual([]);
    expect(s.log).toEqual(['online pump-1 +0']);
  });

  it('rates vitals with the core: critical degrades, a warning keeps it degraded (hysteresis), good recovers; health and firmware reach the registry', async () => {
    const s = await setup();
    await active(s.r, 'pump-1', { firmwareVersion: '1.0.0' });
    const d = await s.r.device('pump-1', []);
    await s.heartbeat(d, 'pump-1', { batteryPct: 8, firmwareVersion: '1.1.0' });
    expect(await s.r.registry.get(ctx, 'pump-1')).toMatchObject({ state: 'degraded', health: 'critical', firmwareVersion: '1.1.0' });
    await s.advance(30_000);
    await s.heartbeat(d, 'pump-1', { batteryPct: 15 });
    expect(await s.r.registry.get(ctx, 'pump-1')).toMatchObject({ state: 'degraded', health: 'warning' });
    await s.advance(30_000);
    await s.heartbeat(d, 'pump-1'); // no vitals: the last known health (warning) still holds it back
    expect((await s.r.registry.get(ctx, 'pump-1'))?.state).toBe('degraded');
    await d.publish('dt/acme/pump-1/telemetry', { ts: s.r.clock.now(), values: { batteryPct: 80, temperatureC: 21 } });
    await settle(() => s.m.busyDevices > 0);
    expect(await s.r.registry.get(ctx, 'pump-1')).toMatchObject({ state: 'active', health: 'good' });
    expect(s.alerts.map((a) => (a.type === 'health-changed' ? `${a.previous ?? '-'}>${a.status}` : a.type))).toEqual(['->critical', 'device-degraded', 'critical>warning', 'warning>good', 'device-recovered']);
    const degraded = s.alerts.find((a) => a.type === 'device-degraded');
    expect(degraded).toMatchObject({ cause: 'health', reason: 'battery 8 % is below 10 %' });
    expect(await s.m.stats(ctx)).toMatchObject({ byHealth: { good: 1 }, byFirmware: { '1.1.0': 1 } });
  });

  it('malformed messages, foreign tenants and unknown devices are refused and change nothing; the device beside them is unaffected', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    await active(s.r, 'pump-2');
    await s.r.stores.devices.create({ tenantId: 'globex' }, { deviceId: 'gx-1', tenantId: 'globex', state: 'active', since: T0 });
    const d1 = await s.r.device('pump-1', []);
    const d2 = await s.r.device('pump-2', []);
    await s.heartbeat(d1, 'pump-1');
    await s.advance(10_000);
    await d1.publish('dt/acme/pump-1/heartbeat', '{"ts": nope');
    await d1.publish('dt/acme/pump-1/heartbeat', { ts: -1, seq: 1 });
    await d1.publish('dt/acme/pump-1/telemetry', { ts: 1 });
    await d1.publish('dt/globex/pump-1/heartbeat', { ts: 1, seq: 1, batteryPct: 1 }); // pump-1 is not globex's
    await d1.publish('dt/acme/gx-1/heartbeat', { ts: 1, seq: 1, batteryPct: 1 }); // gx-1 is not acme's
    await d1.publish('dt/acme/ghost/heartbeat', { ts: 1, seq: 1 });
    await s.heartbeat(d2, 'pump-2', { batteryPct: 90 });
    expect(s.log.filter((l) => l.startsWith('rejected'))).toEqual([
      'rejected dt/acme/pump-1/heartbeat INVALID_PAYLOAD',
      'rejected dt/acme/pump-1/heartbeat INVALID_PAYLOAD',
      'rejected dt/acme/pump-1/telemetry INVALID_PAYLOAD',
      'rejected dt/globex/pump-1/heartbeat TENANT_MISMATCH',
      'rejected dt/acme/gx-1/heartbeat TENANT_MISMATCH',
      'rejected dt/acme/ghost/heartbeat DEVICE_NOT_FOUND',
    ]);
    expect(await s.m.status(ctx, 'pump-1')).toEqual({ lastSeen: T0, health: undefined, online: true, silent: false });
    expect(await s.m.status(ctx, 'pump-2')).toMatchObject({ lastSeen: T0 + 10_000, health: 'good' });
    expect(await s.r.stores.devices.get({ tenantId: 'globex' }, 'gx-1')).toMatchObject({ state: 'active', revision: 1 });
    expect(await s.m.status({ tenantId: 'globex' }, 'gx-1')).toBeUndefined();
    await expect(s.m.status({ tenantId: 'globex' }, 'pump-1')).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
    // Regression (found by the tenant-isolation property): a device the monitor has not heard from
    // is still another tenant's — TENANT_MISMATCH, not a silent undefined.
    await expect(s.m.status(ctx, 'gx-1')).rejects.toMatchObject({ code: 'TENANT_MISMATCH' });
    expect((await s.m.stats(ctx)).rejectedMessages).toBe(3);
    expect((await s.m.stats({ tenantId: 'globex' })).rejectedMessages).toBe(0);
  });

  it('raises certificate-expiring alerts once per certificate, from the core\'s rotation plan, on the clock', async () => {
    const s = await setup({ certificates: { withinMs: 30 * DAY, checkEveryMs: DAY, tenants: ['acme'] } });
    const x509 = (serial: string, notAfter: number): Record<string, unknown> => ({ identity: { kind: 'x509', fingerprint: `sha256:${serial}`, issuer: 'CN=Acme CA', serial, caId: 'ca', notBefore: T0 - DAY, notAfter } });
    await active(s.r, 'soon', x509('0A', T0 + 10 * DAY));
    await active(s.r, 'later', x509('0B', T0 + 90 * DAY));
    await active(s.r, 'gone', x509('0C', T0 - 1));
    await s.advance(DAY);
    expect(s.alerts.map((a) => (a.type === 'certificate-expiring' ? `${a.deviceId}:${a.item.action}` : a.type))).toEqual(['gone:reprovision', 'soon:rotate']);
    await s.advance(DAY);
    expect(s.alerts).toHaveLength(2); // once per certificate
    const plan = await s.m.certificatesExpiring(ctx, { withinMs: 100 * DAY });
    expect(plan.items.map((i) => i.deviceId)).toEqual(['gone', 'soon', 'later']);
    expect(s.alerts.map((a) => a.deviceId)).toEqual(['gone', 'soon', 'later']);
  });

  it('a decommissioned device leaves monitoring (remove-from-monitoring) and its later heartbeats change nothing', async () => {
    const s = await setup();
    await active(s.r, 'pump-1');
    const d = await s.r.device('pump-1', []);
    await s.heartbeat(d, 'pump-1');
    expect(s.m.size).toBe(1);
    await s.r.registry.decommission(ctx, 'pump-1', { reason: 'RMA', actor: 'ops' });
    expect(s.m.size).toBe(0);
    expect(await s.m.stats(ctx)).toMatchObject({ monitored: 0, online: 0 });
    await s.heartbeat(d, 'pump-1', { batteryPct: 1 });
    await s.advance(700_000);
    expect(s.alerts).toEqual([]);
    expect((await s.r.registry.get(ctx, 'pump-1'))?.health).toBeUndefined();
  });
});
