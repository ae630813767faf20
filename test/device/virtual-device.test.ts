// VirtualDevice: the lab ESP32's timing laws on a SimulatedClock (exact heartbeat and telemetry
// counts, degraded-mode slowdown, interval commands), its commands, health and lifecycle names.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { evaluateHealth, LIFECYCLE_STATES } from '../../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { LAB_STATES, VIRTUAL_DEVICE_COMMANDS, VirtualDevice, type VirtualDeviceOptions } from '../../src/device/index.js';
import { ESP32_COMMANDS, ESP32_LIFECYCLE_STATES, esp32StateToCore } from '../../src/device/esp32/index.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

interface Bench {
  readonly clock: SimulatedClock;
  readonly device: VirtualDevice;
  readonly heartbeats: number[];
  readonly telemetry: number[];
  readonly acks: { commandId: string; status: string; result?: unknown; error?: { code: string } }[];
  /** Advances virtual time in steps, letting deliveries run between them. */
  run(ms: number, stepMs?: number): Promise<void>;
  command(name: string, params?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

let commandNo = 0;

async function bench(options: Partial<VirtualDeviceOptions> = {}): Promise<Bench> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 100_000 } });
  await backend.connect();
  const heartbeats: number[] = [];
  const telemetry: number[] = [];
  const acks: Bench['acks'] = [];
  const decode = (p: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder().decode(p)) as Record<string, unknown>;
  await backend.subscribe('dt/acme/esp-1/heartbeat', (m) => heartbeats.push(decode(m.payload)['ts'] as number), { qos: 1 });
  await backend.subscribe('dt/acme/esp-1/telemetry', (m) => telemetry.push(decode(m.payload)['ts'] as number), { qos: 1 });
  await backend.subscribe('cmd/acme/esp-1/res/+', (m) => acks.push(decode(m.payload) as Bench['acks'][number]), { qos: 1 });
  const transport = new MemoryTransport({ broker, clientId: 'esp-1', clock, queue: { maxMessages: 100_000 } });
  const device = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: 'esp-1', seed: 42, battery: { drainPctPerHour: 0, txCostPct: 0 }, ...options });
  await device.boot();
  for (let i = 0; i < 4; i++) await turn();
  return {
    clock,
    device,
    heartbeats,
    telemetry,
    acks,
    async run(ms, stepMs = 60_000) {
      for (let t = 0; t < ms; t += stepMs) {
        clock.advance(Math.min(stepMs, ms - t));
        await turn();
      }
      for (let i = 0; i < 4; i++) await turn();
    },
    async command(name, params = {}) {
      const commandId = `c-${++commandNo}`;
      await backend.publish(`cmd/acme/esp-1/req/${commandId}`, JSON.stringify({ commandId, name, params, issuedAt: clock.now() }), { qos: 1 });
      for (let i = 0; i < 6; i++) await turn();
      return commandId;
    },
    async close() {
      await device.shutdown();
      await transport.close();
      await backend.close();
    },
  };
}

describe('timing laws', () => {
  it('one simulated day at the lab intervals: exactly 8,640 heartbeats and 2,880 telemetry messages, on the dot', async () => {
    const b = await bench();
    await b.run(DAY);
    expect(b.heartbeats.length).toBe(8_640);
    expect(b.telemetry.length).toBe(2_880);
    expect(b.heartbeats.every((ts, i) => ts === T0 + (i + 1) * 10_000)).toBe(true);
    expect(b.telemetry.every((ts, i) => ts === T0 + (i + 1) * 30_000)).toBe(true);
    expect(b.device.state).toBe('ACTIVE');
    await b.close();
  });

  it('for any intervals and duration: ⌊T / heartbeat⌋ heartbeats and ⌊T / telemetry⌋ telemetry messages (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1_000, max: 600_000 }), fc.integer({ min: 1_000, max: 600_000 }), fc.integer({ min: 0, max: DAY / 4 }), async (heartbeatMs, telemetryMs, duration) => {
        const b = await bench({ intervals: { heartbeatMs, telemetryMs } });
        await b.run(duration);
        expect(b.heartbeats.length).toBe(Math.floor(duration / heartbeatMs));
        expect(b.telemetry.length).toBe(Math.floor(duration / telemetryMs));
        await b.close();
      }),
      { numRuns: 15 },
    );
  });

  it('degraded mode (battery < 10 % and health critical) stretches the telemetry period 3× from the next sample; heartbeats keep their pace (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 5_001, max: 300_000 }), fc.integer({ min: 0, max: DAY / 4 }), async (telemetryMs, duration) => {
        // Battery 9 %: the first health check (at 5 s) rates it critical and enters degraded mode,
        // before the first telemetry tick (> 5 s), which schedules the next one 3× further.
        const b = await bench({ battery: { startPct: 9, drainPctPerHour: 0, txCostPct: 0 }, intervals: { telemetryMs } });
        await b.run(duration);
        const expected = duration < telemetryMs ? 0 : 1 + Math.floor((duration - telemetryMs) / (3 * telemetryMs));
        expect(b.telemetry.length).toBe(expected);
        expect(b.heartbeats.length).toBe(Math.floor(duration / 10_000));
        if (duration >= 5_000) expect([b.device.degraded, b.device.state, b.device.health]).toEqual([true, 'DEGRADED', 'critical']);
        await b.close();
      }),
      { numRuns: 15 },
    );
  });

  it('a battery at 9 % with good radio and heap is still degraded (battery alone is critical); at 10 % it is not', async () => {
    const low = await bench({ battery: { startPct: 9.99, drainPctPerHour: 0, txCostPct: 0 } });
    await low.run(5_000, 5_000);
    expect(low.device.degraded).toBe(true);
    await low.close();
    const ok = await bench({ battery: { startPct: 10, drainPctPerHour: 0, txCostPct: 0 } });
    await ok.run(5_000, 5_000);
    expect([ok.device.degraded, ok.device.health]).toEqual([false, 'warning']);
    await ok.close();
  });

  it('set_telemetry_interval / set_heartbeat_interval take effect at once: later messages come every new period from the command (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('telemetry' as const, 'heartbeat' as const),
        fc.integer({ min: 1, max: 3_600 }),
        fc.integer({ min: 1, max: 600 }),
        fc.integer({ min: 0, max: 6 * 3_600 }),
        async (kind, atS, newS, afterS) => {
          const b = await bench();
          const at = atS * 1_000;
          await b.run(at);
          const id = await b.command(`set_${kind}_interval`, { interval: newS });
          expect(b.acks.filter((a) => a.commandId === id).map((a) => a.status)).toEqual(['received', 'succeeded']);
          await b.run(afterS * 1_000);
          const old = kind === 'telemetry' ? 30_000 : 10_000;
          const list = kind === 'telemetry' ? b.telemetry : b.heartbeats;
          expect(list.length).toBe(Math.floor(at / old) + Math.floor((afterS * 1_000) / (newS * 1_000)));
          const after = list.filter((ts) => ts > T0 + at);
          expect(after.every((ts, i) => ts === T0 + at + (i + 1) * newS * 1_000)).toBe(true);
          await b.close();
        },
      ),
      { numRuns: 15 },
    );
  });

  it('an interval below 1 s (or not a number) is refused: acknowledged failed, period unchanged', async () => {
    const b = await bench();
    const id = await b.command('set_telemetry_interval', { intervalMs: 10 });
    expect(b.acks.find((a) => a.commandId === id && a.status === 'failed')?.error?.code).toBe('INVALID_ARGUMENT');
    expect(b.device.agent.telemetryIntervalMs).toBe(30_000);
    await b.close();
  });
});

describe('commands', () => {
  it('answers each of the ten lab commands with an acknowledgement', async () => {
    const b = await bench();
    expect(VIRTUAL_DEVICE_COMMANDS).toHaveLength(10);
    const finals: Record<string, string> = {};
    for (const name of VIRTUAL_DEVICE_COMMANDS) {
      const params = name.startsWith('set_') ? { interval: 20 } : {};
      const id = await b.command(name, params);
      await b.run(1_000, 1_000);
      finals[name] = b.acks.filter((a) => a.commandId === id).at(-1)?.status ?? 'none';
    }
    // ota_update fails (INVALID_OPERATION) on a device without signing keys; every other command succeeds.
    expect(finals).toEqual({
      diagnostics: 'succeeded',
      led_blink: 'succeeded',
      sensor_read: 'succeeded',
      enter_maintenance: 'succeeded',
      exit_maintenance: 'succeeded',
      set_telemetry_interval: 'succeeded',
      set_heartbeat_interval: 'succeeded',
      reboot: 'succeeded',
      ota_update: 'failed',
      decommission: 'succeeded',
    });
    expect(b.device.state).toBe('DECOMMISSIONED');
    expect(b.device.lifecycleState).toBe('decommissioned');
    await b.close();
  });

  it('maintenance suspends telemetry, heartbeats go on; exit resumes', async () => {
    const b = await bench();
    await b.command('enter_maintenance');
    expect(b.device.state).toBe('MAINTENANCE');
    await b.run(300_000);
    expect(b.telemetry).toHaveLength(0);
    expect(b.heartbeats).toHaveLength(30);
    await b.command('exit_maintenance');
    await b.run(60_000);
    expect(b.telemetry).toHaveLength(2);
    expect(b.device.state).toBe('ACTIVE');
    await b.close();
  });

  it('diagnostics reports vitals and state; led_blink counts blinks', async () => {
    const b = await bench();
    await b.run(5_000, 5_000);
    const d = await b.command('diagnostics');
    expect(b.acks.find((a) => a.commandId === d && a.status === 'succeeded')?.result).toMatchObject({ state: 'ACTIVE', health: 'good', batteryPct: 100, firmwareVersion: '1.0.0', telemetryIntervalMs: 30_000 });
    await b.command('led_blink', { times: 4 });
    expect(b.device.blinks).toBe(4);
    await b.close();
  });
});

describe('health and lifecycle', () => {
  it('rates vitals as the core’s evaluateHealth does (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: -120, max: -30 }), fc.integer({ min: 0, max: 100_000 }), async (batteryPct, rssiDbm, freeHeapBytes) => {
        const b = await bench({ battery: { startPct: batteryPct, drainPctPerHour: 0, txCostPct: 0 }, rssiDbm, freeHeapBytes: freeHeapBytes + 8_192 });
        const status = b.device.checkHealth();
        const d = await b.command('diagnostics');
        const result = b.acks.find((a) => a.commandId === d && a.status === 'succeeded')?.result as { batteryPct: number; rssiDbm: number; freeHeapBytes: number };
        // The same figures through the core (the diagnostics battery is rounded to 0.1 %: use the unrounded one).
        const core = evaluateHealth({ at: 0, batteryPct: b.device.batteryPct, rssiDbm: result.rssiDbm, freeHeapBytes: result.freeHeapBytes });
        expect(status).toBe(core.status);
        await b.close();
      }),
      { numRuns: 30 },
    );
  });

  it('the battery drains by the model: constant drain per hour plus a cost per message', async () => {
    const b = await bench({ battery: { startPct: 100, drainPctPerHour: 1, txCostPct: 0.01 } });
    await b.run(3_600_000);
    const sent = b.device.agent.stats.heartbeats + b.device.agent.stats.telemetrySent;
    expect(b.device.batteryPct).toBeCloseTo(100 - 1 - 0.01 * sent, 9);
    await b.close();
  });

  it('lab state names map one to one onto the core’s lifecycle states', () => {
    expect(Object.values(LAB_STATES).sort()).toEqual([...LIFECYCLE_STATES].sort());
    for (const [lab, core] of Object.entries(LAB_STATES)) expect(core).toBe(lab.toLowerCase());
    // One source: the ESP32 protocol's tables, in their wire index order.
    expect(Object.keys(LAB_STATES)).toEqual([...ESP32_LIFECYCLE_STATES]);
    for (const s of ESP32_LIFECYCLE_STATES) expect(LAB_STATES[s]).toBe(esp32StateToCore(s));
    expect(VIRTUAL_DEVICE_COMMANDS).toBe(ESP32_COMMANDS);
  });

  it('the same seed gives the same telemetry values; another seed other values', async () => {
    const values = async (seed: number): Promise<string> => {
      const b = await bench({ seed });
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await b.command('sensor_read'));
      const out = JSON.stringify(ids.map((id) => b.acks.find((a) => a.commandId === id && a.status === 'succeeded')?.result));
      await b.close();
      return out;
    };
    expect(await values(5)).toBe(await values(5));
    expect(await values(5)).not.toBe(await values(6));
  });
});
