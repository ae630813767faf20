// The fleet's Prometheus exposition scraped from a real node:http server and parsed as the text
// format, and the alert event stream driven by the default rules on a SimulatedClock.
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, DEFAULT_FLEET_ALERT_RULES, FleetMetrics, type AlertEvent, type Fleet } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { expectFleetError, hostileValues, thrownBy } from '../support/hostile.js';
import { FleetAlerts } from '../../src/cloud/index.js';
import { isFleetError } from '../../src/errors.js';
import { settle, T0, TEMPLATE } from '../cloud/fleet-rig.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close();
});

interface Parsed {
  readonly types: Map<string, string>;
  readonly help: Map<string, string>;
  /** `name{a="x",b="y"}` (labels sorted) → value. */
  readonly samples: Map<string, number>;
}

/** A strict parser of the Prometheus text format 0.0.4 (the subset prom-client writes). */
function parseExposition(text: string): Parsed {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m !== null) {
      (m[1] === 'HELP' ? help : types).set(m[2] as string, m[3] as string);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels = (m[2] ?? '') === '' ? [] : (m[2] as string).split(/,(?=[a-zA-Z_])/).map((pair) => {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"$/.exec(pair);
      if (l === null) throw new Error(`bad label ${JSON.stringify(pair)} in ${JSON.stringify(line)}`);
      return `${l[1]}="${l[2]}"`;
    });
    const value = Number(m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in ${JSON.stringify(line)}`);
    samples.set(`${m[1]}{${labels.sort().join(',')}}`, value);
  }
  return { types, help, samples };
}

async function scrape(server: Server): Promise<{ status: number; type: string | undefined; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    }).on('error', reject);
  });
}

interface Rig {
  readonly fleet: Fleet;
  readonly clock: SimulatedClock;
  readonly events: AlertEvent[];
  beat(id: string, body: Record<string, unknown>): Promise<void>;
  telemetry(id: string, body: Record<string, unknown>): Promise<void>;
  advance(ms: number): Promise<void>;
}

async function rig(): Promise<Rig> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 100_000 } });
  open.push(backend);
  const fleet = await createFleet({ transport: backend, clock, template: TEMPLATE, health: { certificates: false }, quotas: { defaults: { messagesPerSecond: 100 } }, alerts: { evaluateEveryMs: 60_000 } });
  open.push(fleet);
  const device = new MemoryTransport({ broker, clientId: 'devices' });
  open.push(device);
  await device.connect();
  const events: AlertEvent[] = [];
  fleet.alerts.on('alert', (e) => events.push(e));
  const idle = (): Promise<void> => settle(() => fleet.health.busyDevices > 0 || fleet.registry.busyDevices > 0);
  return {
    fleet,
    clock,
    events,
    async beat(id, body) {
      await device.publish(`dt/acme/${id}/heartbeat`, JSON.stringify({ ts: clock.now(), ...body }), { qos: 1 });
      await idle();
    },
    async telemetry(id, body) {
      await device.publish(`dt/acme/${id}/telemetry`, JSON.stringify(body), { qos: 1 });
      await idle();
    },
    async advance(ms) {
      clock.advance(ms);
      await idle();
    },
  };
}

describe('fleet metrics (Prometheus text format through prom-client)', () => {
  it('a node:http server scrapes the three tiers, the SLAs and the usage meter', async () => {
    const r = await rig();
    for (const id of ['d1', 'd2', 'd3']) await r.fleet.registry.register({ tenantId: 'acme' }, { deviceId: id });
    await r.beat('d1', { seq: 1, batteryPct: 80, rssiDbm: -60, firmwareVersion: '1.2.0' });
    await r.beat('d2', { seq: 1, batteryPct: 40, rssiDbm: -80, firmwareVersion: '1.3.0' });
    await r.beat('d3', { seq: 1, firmwareVersion: '1.3.0' });
    await r.advance(30_000);
    await r.beat('d1', { seq: 2, batteryPct: 78 });
    // Telemetry: 250 ms old when it arrives, and sequence numbers 1, 2, 5 (2 lost).
    for (const seq of [1, 2, 5]) await r.telemetry('d2', { ts: r.clock.now() - 250, seq, values: { t: 21 } });
    const server = createServer(r.fleet.metricsHandler());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push({ close: () => new Promise((resolve) => server.close(() => resolve())) });

    const res = await scrape(server);
    expect(res.status).toBe(200);
    expect(res.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    const m = parseExposition(res.body);
    const v = (key: string): number | undefined => m.samples.get(key);
    // device health
    expect(v('fleetkit_devices_monitored{tenant="acme"}')).toBe(3);
    expect(v('fleetkit_devices_online{tenant="acme"}')).toBe(3);
    expect(v('fleetkit_devices_by_firmware{tenant="acme",version="1.3.0"}')).toBe(2);
    expect(v('fleetkit_devices_by_firmware{tenant="acme",version="1.2.0"}')).toBe(1);
    expect(v('fleetkit_devices_battery_pct{stat="min",tenant="acme"}')).toBe(40);
    expect(v('fleetkit_devices_battery_pct{stat="max",tenant="acme"}')).toBe(78);
    expect(v('fleetkit_devices_rssi_dbm{stat="mean",tenant="acme"}')).toBe(-70);
    expect(v('fleetkit_devices_heartbeat_age_seconds{stat="max",tenant="acme"}')).toBe(30);
    expect(v('fleetkit_devices_heartbeat_age_seconds{stat="min",tenant="acme"}')).toBe(0);
    // network
    expect(v('fleetkit_messages_total{kind="heartbeat",tenant="acme"}')).toBe(4);
    expect(v('fleetkit_messages_total{kind="telemetry",tenant="acme"}')).toBe(3);
    expect(v('fleetkit_messages_lost_total{tenant="acme"}')).toBe(2);
    expect(v('fleetkit_message_delivery_ratio{tenant="acme"}')).toBeCloseTo(7 / 9, 12);
    expect(v('fleetkit_message_latency_ms{quantile="0.99",tenant="acme"}')).toBeCloseTo(250, 0);
    expect(v('fleetkit_message_latency_ms{quantile="0.5",tenant="acme"}')).toBe(0);
    // business SLAs and usage
    expect(v('fleetkit_sla_availability_pct{tenant="acme"}')).toBe(100);
    expect(v('fleetkit_alert_response_compliance_pct{}')).toBe(100);
    expect(v('fleetkit_usage_total{kind="messages",tenant="acme"}')).toBe(7);
    expect(m.types.get('fleetkit_messages_total')).toBe('counter');
    expect(m.types.get('fleetkit_devices_online')).toBe('gauge');
    for (const name of m.types.keys()) expect(m.help.get(name)?.length ?? 0).toBeGreaterThan(0);
    // The body is read at scrape time: a new message shows on the next scrape.
    await r.beat('d3', { seq: 2, batteryPct: 5 });
    const again = parseExposition((await scrape(server)).body);
    expect(again.samples.get('fleetkit_devices_battery_pct{stat="min",tenant="acme"}')).toBe(5);
    expect(await r.fleet.metrics()).toContain('fleetkit_devices_monitored{tenant="acme"} 3');
  });

  it('the alert stream: a low battery goes pending, fires after 10 minutes, is acknowledged and resolves past the resolve level', async () => {
    const r = await rig();
    await r.fleet.registry.register({ tenantId: 'acme' }, { deviceId: 'd1' });
    let seq = 0;
    const minute = async (batteryPct: number): Promise<void> => {
      await r.beat('d1', { seq: ++seq, batteryPct });
      await r.advance(60_000); // the evaluation runs on the clock every minute
    };
    await minute(50);
    expect(r.events).toEqual([]);
    await minute(12); // below 15: pending at the next evaluation
    expect(r.events.map((e) => `${e.type} ${e.alert.key}`)).toEqual(['pending DeviceBatteryLow{tenant="acme",device="d1"}']);
    for (let i = 0; i < 10; i++) await minute(12);
    const firing = r.events.filter((e) => e.type === 'firing');
    expect(firing).toHaveLength(1);
    expect((firing[0]?.alert.firedAt as number) - (firing[0]?.alert.pendingSince as number)).toBe(10 * 60_000);
    await r.advance(10_000);
    const ack = r.fleet.alerts.acknowledge(firing[0]?.alert.key as string, 'ops@acme');
    expect(ack.type).toBe('acknowledged');
    await minute(18); // between the fire (15) and resolve (20) levels: still firing
    expect(r.events.some((e) => e.type === 'resolved')).toBe(false);
    await minute(25);
    expect(r.events.map((e) => e.type)).toEqual(['pending', 'firing', 'acknowledged', 'resolved']);
    const sla = r.fleet.alerts.responseSla();
    expect(sla).toMatchObject({ fired: 1, withinTarget: 1, compliancePct: 100 });
    expect(sla.meanResponseMs).toBe(ack.alert.ackedAt! - ack.alert.firedAt!);
    expect(r.fleet.alerts.active).toEqual([]);
    expectFleetError(() => r.fleet.alerts.acknowledge(firing[0]?.alert.key as string, 'ops'), 'INVALID_OPERATION');
  });

  it('the default rules are valid and documented; bad options are refused', async () => {
    const r = await rig();
    expect(r.fleet.alerts.rules.map((x) => x.name)).toEqual(DEFAULT_FLEET_ALERT_RULES.map((x) => x.name));
    for (const rule of r.fleet.alerts.rules) expect(rule.forMs).toBeGreaterThan(0);
    expectFleetError(() => new FleetMetrics({ health: r.fleet.health }, { prefix: 'bad-prefix' }), 'INVALID_ARGUMENT', 'prefix');
    expectFleetError(() => new FleetMetrics({} as never), 'INVALID_ARGUMENT', 'HealthMonitor');
    for (const { label, value } of hostileValues()) {
      const calls: (() => unknown)[] = [
        () => new FleetMetrics(value as never),
        () => new FleetMetrics({ health: r.fleet.health }, { prefix: value as string }),
        () => new FleetAlerts(value as never),
        () => new FleetAlerts({ health: r.fleet.health, evaluateEveryMs: value as number }),
        () => new FleetAlerts({ health: r.fleet.health, history: value as number }),
        () => new FleetAlerts({ health: r.fleet.health, rules: value as never }),
        () => r.fleet.alerts.acknowledge(value as string, 'x'),
        () => r.fleet.alerts.acknowledge('x', value as string),
        () => r.fleet.health.network(value as never),
        () => r.fleet.health.devices(value as never),
      ];
      for (const call of calls) expect(isFleetError(thrownBy(call)), label).toBe(true);
    }
  });
});
