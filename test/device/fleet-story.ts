/**
 * The device tier's end-to-end story, on any transport: VirtualDevices (seeded, on one
 * SimulatedClock) against `createFleet` — provisioning on first boot by symmetric-key group
 * enrollment (a few with a wrong key are refused), the template's configuration applied and
 * reported, an application change, the lab commands acknowledged, a set of devices going offline
 * and catching up (newest configuration, a stale delta dropped, buffered telemetry delivered in
 * order with none duplicated, queued commands run once), then a staged rollout through
 * `fleet.rollouts` whose firmware fails to boot on part of the canary (abort + rollback) and a good
 * one that completes on every eligible device.
 *
 * Every wait is a condition (counts at the backend equal to what the agents say they sent, store
 * and registry contents), never a fixed time, so the same script runs on the memory broker and on
 * mosquitto through gateways. The clock advances in coarse steps of one minute (every device
 * heartbeats, samples telemetry and checks its health once a minute).
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, signFirmware, type Fleet, type RolloutSummary } from '../../src/cloud/index.js';
import { VirtualDevice, type FirmwareBehaviour, type JobReport } from '../../src/device/index.js';
import { defineProvisioningTemplate, deriveDeviceKey } from '../../src/lifecycle/index.js';
import type { Transport } from '../../src/memory.js';

export const T0 = 1_700_000_000_000;
export const MIN = 60_000;
const TENANT = 'acme';
const ctx = { tenantId: TENANT };
const HARDWARE = 'esp32-s3';
const decoder = new TextDecoder();

/** The transports of one run of the story. */
export interface FleetStoryOptions {
  /** Virtual devices in all. */
  readonly devices: number;
  /** The first `bad` devices enroll with a key derived from a wrong group key. */
  readonly bad: number;
  /** The backend's transport (not connected). */
  readonly backend: Transport;
  /** Device `index`'s transport (not connected, no automatic reconnect: the story decides when it is back). */
  device(deviceId: string, index: number, clock: SimulatedClock): Transport;
  /** Indices of the devices that go offline and catch up. */
  readonly offline: readonly number[];
  /** Takes the links of these devices down (as a network failure would). */
  goOffline(deviceIds: readonly string[]): Promise<void>;
  /** Brings them back. */
  comeBack(deviceIds: readonly string[]): Promise<void>;
  /** Real milliseconds one condition may take before the story fails. */
  readonly stepTimeoutMs: number;
}

/** The numbers the story measured (also asserted inside it). */
export interface FleetStoryReport {
  readonly provisioned: number;
  readonly refused: number;
  readonly commands: Record<string, number>;
  readonly offline: { readonly devices: number; readonly telemetryDropped: number; readonly telemetryReceived: number; readonly staleDropped: number; readonly queuedCommands: number; readonly resentCommands: number };
  readonly telemetry: { readonly receivedAtCatchUp: number; readonly receivedInAll: number; readonly duplicates: number };
  readonly badRollout: { readonly canary: number; readonly bootFailures: number; readonly committed: number; readonly failuresAtAbort: number; readonly rolledBack: number; readonly cancelled: number; readonly rollbackJobs: number; readonly state: string; readonly reason: string | undefined };
  readonly goodRollout: { readonly devices: number; readonly succeeded: number; readonly state: string; readonly stages: number; readonly fetchedOnReturn: number };
  readonly simulatedMinutes: number;
}

/** A running story: its report, and `close()` for the fleet and the devices. */
export interface FleetStory {
  readonly report: FleetStoryReport;
  readonly fleet: Fleet;
  readonly devices: readonly VirtualDevice[];
  close(): Promise<void>;
}

/** Polls `cond` (macrotask turns first, then short real-time pauses) until it holds. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => (i < 50 ? setImmediate(r) : setTimeout(r, i < 500 ? 1 : 10)));
  }
}

/** `promise`, or a failure naming `what` after `timeoutMs` real milliseconds. */
async function within<T>(promise: Promise<T>, what: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A stable draw in [0, 1) from a device id (which devices the bad firmware fails on). */
function draw(id: string): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) / 2 ** 32;
}

/** Whether firmware 2.0.0 fails to boot on this device: on about 40 % of the fleet. */
export const failsBoot = (id: string): boolean => draw(id) < 0.4;

const image = (version: string): Uint8Array => new Uint8Array(4096).map((_, i) => (i * 7 + version.charCodeAt(0) * 13 + version.length + Number(version.replaceAll('.', ''))) & 255);

/** Runs the story, asserting each step; the fleet and devices stay open for `close()`. */
export async function runFleetStory(o: FleetStoryOptions): Promise<FleetStory> {
  const clock = new SimulatedClock(T0);
  const groupKey = randomBytes(32).toString('base64');
  const wrongKey = randomBytes(32).toString('base64');
  const template = defineProvisioningTemplate({ name: 'lab-v1', desiredConfig: { mode: 'normal', alarmThresholdC: 30 } });
  const fleet = await createFleet({ transport: o.backend, clock, template, health: { certificates: false, heartbeat: { intervalMs: MIN, graceMs: 15_000 } }, closeTransport: true });
  const errors: unknown[] = [];
  for (const service of [fleet.shadows, fleet.registry, fleet.health, fleet.commands, fleet.rollouts] as const) (service as { on(e: 'error', f: (e: unknown) => void): unknown }).on('error', (e) => errors.push(e));
  const statusRejected: unknown[] = [];
  fleet.rollouts.on('status:rejected', (e) => statusRejected.push({ topic: e.topic, code: e.error.code, message: e.error.message }));

  // Taps on the backend's own transport: heartbeats and telemetry by (deviceId, seq), and the deltas the shadow service publishes.
  const heartbeats = new Map<string, number>();
  const telemetry = new Map<string, number[]>();
  const deltas = new Map<string, { at: number; payload: Uint8Array }[]>();
  let duplicates = 0;
  await o.backend.subscribe('dt/+/+/heartbeat', (m) => {
    const id = m.topic.split('/')[2] as string;
    heartbeats.set(id, (heartbeats.get(id) ?? 0) + 1);
  }, { qos: 1 });
  await o.backend.subscribe('dt/+/+/telemetry', (m) => {
    const id = m.topic.split('/')[2] as string;
    const seq = (JSON.parse(decoder.decode(m.payload)) as { seq: number }).seq;
    const seqs = telemetry.get(id) ?? [];
    if (seqs.includes(seq)) duplicates++;
    seqs.push(seq);
    telemetry.set(id, seqs);
  }, { qos: 1 });
  const jobStatuses = new Map<string, number>();
  await o.backend.subscribe('cmd/+/+/job/+/status', (m) => {
    const id = m.topic.split('/')[2] as string;
    jobStatuses.set(id, (jobStatuses.get(id) ?? 0) + 1);
  }, { qos: 1 });
  await o.backend.subscribe('$aws/things/+/shadow/update/delta', (m) => {
    const id = m.topic.split('/')[2] as string;
    const list = deltas.get(id) ?? [];
    list.push({ at: clock.now(), payload: m.payload });
    deltas.set(id, list);
  }, { qos: 1 });

  await fleet.registry.putEnrollmentGroup(ctx, { groupId: 'field', key: groupKey, tenantId: TENANT });
  const signer = generateKeyPairSync('ed25519');
  fleet.firmware.addSigningKey(ctx, 'release', signer.publicKey);
  const images = new Map<string, Uint8Array>();
  for (const version of ['1.0.0', '2.0.0', '2.1.0']) {
    const bytes = image(version);
    images.set(version, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    fleet.firmware.add(ctx, { version, url: `https://fw.example.com/${version}.bin`, sizeBytes: bytes.length, sha256, hardware: [HARDWARE], keyId: 'release', ...signFirmware({ version, sizeBytes: bytes.length, sha256 }, signer.privateKey) });
  }

  const wait = (cond: () => boolean | Promise<boolean>, what: string): Promise<void> => until(cond, what, o.stepTimeoutMs);
  const idle = (): Promise<void> => wait(() => fleet.health.busyDevices === 0 && fleet.commands.busyDevices === 0 && fleet.registry.busyDevices === 0 && fleet.rollouts.busyRollouts === 0, 'the services to be idle');

  // ── the devices ────────────────────────────────────────────────────────────────────────────
  const n = o.devices;
  const ids = Array.from({ length: n }, (_, i) => `esp-${String(i).padStart(4, '0')}`);
  const jobs = new Map<string, JobReport[]>();
  const deviceErrors: string[] = [];
  const transports: Transport[] = [];
  const devices = ids.map((id, i) => {
    const transport = o.device(id, i, clock);
    transports.push(transport);
    const behaviour = (version: string): FirmwareBehaviour => (version === '2.0.0' && failsBoot(id) ? 'fails-to-boot' : 'good');
    const device = new VirtualDevice({
      transport,
      clock,
      tenantId: TENANT,
      deviceId: id,
      seed: i + 1,
      credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: deriveDeviceKey(i < o.bad ? wrongKey : groupKey, id) },
      intervals: { heartbeatMs: MIN, telemetryMs: MIN, healthCheckMs: MIN, shadowSyncMs: 5 * MIN, configCheckMs: 10 * MIN },
      telemetryBufferSize: 8,
      firmware: behaviour,
      trustedSigningKeys: { release: signer.publicKey },
      fetchImage: (job) => Promise.resolve(images.get(job.firmware.version) ?? new Uint8Array(0)),
    });
    device.agent.on('job', (r) => {
      const list = jobs.get(id) ?? [];
      list.push(r);
      jobs.set(id, list);
    });
    device.agent.on('error', (e) => deviceErrors.push(`${id}: ${e.code} ${e.message}`));
    return device;
  });
  const live = devices.slice(o.bad);
  const liveIds = ids.slice(o.bad);
  /** A device's reports of rollout jobs (`fw-…`; the `ota_update` command's job is `ota-…`). */
  const rolloutReports = (id: string): JobReport[] => (jobs.get(id) ?? []).filter((r) => r.jobId.startsWith('fw-'));

  /** Every message an agent says it published has reached the backend (heartbeats, telemetry, job status updates). */
  const delivered = (): boolean =>
    devices.every((d) => {
      const s = d.agent.stats;
      const id = d.agent.deviceId;
      // Each report of a rollout job is one status update (an offline device's wait in its transport's
      // queue); an ota_update command's job reports on the command only.
      const jobsArrived = !d.agent.online || (jobStatuses.get(id) ?? 0) === rolloutReports(id).length;
      return (heartbeats.get(id) ?? 0) === s.heartbeats && (telemetry.get(id)?.length ?? 0) >= s.telemetrySent && jobsArrived;
    });
  let minutes = 0;
  /** Advances the clock one minute at a time, waiting after each for every message to arrive and the services to settle. */
  const step = async (count = 1): Promise<void> => {
    for (let k = 0; k < count; k++) {
      // Only from a quiet fleet: what the devices sent has arrived and the services have acted on it.
      await wait(delivered, `the messages before minute ${minutes + 1}`);
      await idle();
      clock.advance(MIN);
      minutes++;
      await wait(delivered, `the heartbeats and telemetry of minute ${minutes}`);
      await idle();
    }
  };
  /** Steps until `cond` holds (at most `maxMinutes`). */
  const stepUntil = async (cond: () => boolean | Promise<boolean>, what: string, maxMinutes: number, explain?: () => Promise<unknown>): Promise<void> => {
    for (let k = 0; !(await cond()); k++) {
      if (k >= maxMinutes) {
        const state = { errors, deviceErrors: deviceErrors.slice(0, 10), statusRejected: statusRejected.slice(0, 10), ...((await explain?.()) ?? {}) };
        throw new Error(`${what} did not happen within ${maxMinutes} simulated minutes: ${JSON.stringify(state).slice(0, 4000)}`);
      }
      await step();
    }
  };
  /** Per device at the sink: in order, none twice, every message the agent sent, the gaps exactly what it dropped. */
  const checkTelemetry = (): number => {
    expect(duplicates).toBe(0);
    let total = 0;
    for (const d of live) {
      const s = d.agent.stats;
      const seqs = telemetry.get(d.agent.deviceId) ?? [];
      total += seqs.length;
      expect(seqs.every((q, k) => k === 0 || q > (seqs[k - 1] as number)), `${d.agent.deviceId} telemetry in order`).toBe(true);
      expect([seqs.length, seqs.at(-1), s.telemetryBuffered]).toEqual([s.telemetrySent, s.telemetrySent + s.telemetryDropped, 0]);
    }
    return total;
  };
  /** A device's job reports, each step once in the order first seen: `jobId:type@runningVersion`. */
  const history = (id: string): string[] => [...new Set(rolloutReports(id).map((r) => `${r.jobId}:${r.type}@${r.firmwareVersion}`))];
  const shadowOf = (id: string): Promise<{ version: number; state: { desired?: Record<string, unknown>; reported?: Record<string, unknown>; delta?: Record<string, unknown> } }> =>
    fleet.shadows.get(ctx, id) as Promise<{ version: number; state: { desired?: Record<string, unknown>; reported?: Record<string, unknown>; delta?: Record<string, unknown> } }>;
  const everyShadow = async (pred: (s: Awaited<ReturnType<typeof shadowOf>>) => boolean, list: readonly string[] = liveIds): Promise<boolean> => {
    for (const id of list) if (!pred(await shadowOf(id))) return false;
    return true;
  };

  // ── 1. provisioning on first boot ──────────────────────────────────────────────────────────
  expect(devices.every((d) => d.state === 'UNPROVISIONED')).toBe(true);
  const boots = await within(Promise.allSettled(devices.map((d) => d.boot())), 'every first boot', o.stepTimeoutMs);
  const refusedBoots = boots.filter((b) => b.status === 'rejected');
  expect(refusedBoots).toHaveLength(o.bad);
  expect(boots.slice(0, o.bad).every((b) => b.status === 'rejected' && (b.reason as { code?: string }).code === 'ENROLLMENT_INVALID')).toBe(true);
  expect(devices.slice(0, o.bad).every((d) => d.state === 'UNPROVISIONED' && d.agent.provisioning === undefined)).toBe(true);
  expect(live.every((d) => d.state === 'ACTIVE' && d.lifecycleState === 'active')).toBe(true);
  const provisioning = fleet.registry.provisioningStats(ctx);
  expect([provisioning.accepted, provisioning.refused, provisioning.refusedByCode]).toEqual([n - o.bad, o.bad, o.bad > 0 ? { ENROLLMENT_INVALID: o.bad } : {}]);
  const registered = await fleet.registry.all(ctx);
  expect(registered.map((r) => r.deviceId).sort()).toEqual(liveIds);
  expect(registered.every((r) => r.state === 'active')).toBe(true);
  // The provisioning answer's desired configuration is what each device runs on from the start.
  expect(live.every((d) => d.agent.config['mode'] === 'normal' && d.agent.config['alarmThresholdC'] === 30)).toBe(true);
  // The inventory records the board (devices do not send it when they enroll).
  for (const id of liveIds) await fleet.registry.patch(ctx, id, { hardware: HARDWARE });

  // ── 2. shadow configuration: the template's desired state applied and reported, the delta closes ──
  await wait(() => everyShadow((s) => s.state.delta === undefined && s.state.reported?.['mode'] === 'normal' && s.state.reported['alarmThresholdC'] === 30), 'the template configuration reported by every device');
  // An application change reaches every device and is reported back.
  await Promise.all(liveIds.map((id) => fleet.shadows.update(ctx, id, { state: { desired: { mode: 'eco' } } })));
  await wait(() => live.every((d) => d.agent.config['mode'] === 'eco'), 'mode=eco on every device');
  await wait(() => everyShadow((s) => s.state.delta === undefined && s.state.reported?.['mode'] === 'eco'), 'mode=eco reported by every device');
  // A few minutes of heartbeats: everybody online and healthy, the registry knows the firmware.
  await step(3);
  let health = await fleet.health.stats(ctx);
  expect([health.online, health.byState['active']]).toEqual([live.length, live.length]);
  expect((await fleet.registry.all(ctx)).every((r) => r.firmwareVersion === '1.0.0' && r.hardware === HARDWARE)).toBe(true);

  // ── 3. commands: the lab commands, acknowledged and stored ─────────────────────────────────
  const sent: { id: string; name: string; deviceId: string }[] = [];
  const send = async (deviceId: string, name: string, params: Record<string, number | string> = {}): Promise<string> => {
    const c = await fleet.commands.sendCommand(ctx, deviceId, name, params);
    sent.push({ id: c.commandId, name, deviceId });
    return c.commandId;
  };
  const maintenance = liveIds.filter((_, i) => i % 50 === 7);
  for (const [i, id] of liveIds.entries()) {
    await send(id, 'diagnostics');
    if (i % 2 === 0) await send(id, 'led_blink', { times: 2 });
    if (i % 3 === 0) await send(id, 'sensor_read');
  }
  // ota_update with the image a device already runs: verified and answered at once, nothing installed.
  const current = fleet.firmware.get(ctx, '1.0.0');
  const manifest = { version: '1.0.0', sha256: current?.sha256 ?? '', sizeBytes: current?.sizeBytes ?? 0, signature: current?.signature ?? '', keyId: 'release' };
  for (const id of maintenance) {
    await send(id, 'enter_maintenance');
    await send(id, 'exit_maintenance');
    const c = await fleet.commands.sendCommand(ctx, id, 'ota_update', { firmware: manifest });
    sent.push({ id: c.commandId, name: 'ota_update', deviceId: id });
  }
  const unknown = await send(liveIds[0] as string, 'self_destruct');
  const final = new Set(['succeeded', 'failed', 'rejected', 'expired', 'cancelled']);
  const statusOf = async (commandId: string): Promise<string | undefined> => (await fleet.stores.commands.getCommand(ctx, commandId))?.status;
  await wait(async () => {
    for (const c of sent) if (!final.has((await statusOf(c.id)) ?? '')) return false;
    return true;
  }, 'an acknowledgement of every command');
  const byName: Record<string, number> = {};
  for (const c of sent) {
    const stored = await fleet.stores.commands.getCommand(ctx, c.id);
    const want = c.id === unknown ? 'rejected' : 'succeeded';
    expect(stored?.status, `${c.name} on ${c.deviceId}`).toBe(want);
    byName[`${c.name}:${stored?.status ?? '?'}`] = (byName[`${c.name}:${stored?.status ?? '?'}`] ?? 0) + 1;
    const result = stored?.result as Record<string, unknown> | undefined;
    if (c.name === 'diagnostics') expect(result).toMatchObject({ firmwareVersion: '1.0.0', telemetryIntervalMs: MIN, heartbeatIntervalMs: MIN });
    if (c.name === 'led_blink') expect(result).toEqual({ blinked: 2 });
    if (c.name === 'sensor_read') expect(typeof result?.['temperatureC']).toBe('number');
    if (c.name === 'enter_maintenance') expect(result).toEqual({ state: 'MAINTENANCE' });
    if (c.name === 'exit_maintenance') expect(result).toEqual({ state: 'ACTIVE' });
    if (c.name === 'ota_update') expect(result).toMatchObject({ jobId: 'ota-1_0_0', type: 'boot_confirmed', firmwareVersion: '1.0.0' });
  }
  expect((await fleet.stores.commands.getCommand(ctx, unknown))?.error?.code).toBe('UNKNOWN_COMMAND');
  expect(live.every((d, i) => d.blinks === (i % 2 === 0 ? 2 : 0))).toBe(true);
  expect(live.every((d) => d.state === 'ACTIVE')).toBe(true);

  // ── 4. offline and catching up ─────────────────────────────────────────────────────────────
  const away = o.offline.map((i) => devices[i] as VirtualDevice);
  const awayIds = away.map((d) => d.agent.deviceId);
  expect(away.every((d) => d.state === 'ACTIVE')).toBe(true);
  const staleBefore = new Map(away.map((d) => [d.agent.deviceId, d.agent.stats.staleDropped]));
  await o.goOffline(awayIds);
  await wait(() => away.every((d) => !d.agent.online), 'the devices to go offline');
  const offlineAt = clock.now();
  // Sent before the monitor noticed: published to nobody (clean sessions), so they stay `sent`.
  const lost: string[] = [];
  for (const id of awayIds) lost.push(await send(id, 'sensor_read'));
  for (const c of lost) expect(await statusOf(c)).toBe('sent');
  await step(2); // the monitor stops counting them online
  expect(awayIds.every((id) => !fleet.health.isOnline(TENANT, id))).toBe(true);
  // The configuration changes twice while they are away (for the whole fleet), and commands are sent to them.
  await Promise.all(liveIds.map((id) => fleet.shadows.update(ctx, id, { state: { desired: { alarmThresholdC: 31 } } })));
  await step(3);
  await Promise.all(liveIds.map((id) => fleet.shadows.update(ctx, id, { state: { desired: { alarmThresholdC: 32, mode: 'normal' } } })));
  const queued: string[] = [];
  for (const id of awayIds) {
    queued.push(await send(id, 'led_blink', { times: 3 }));
    queued.push(await send(id, 'diagnostics'));
  }
  for (const c of queued) expect(await statusOf(c)).toBe('queued');
  await step(10);
  // Online devices follow at once; the others run on their last configuration.
  expect(live.filter((d) => !away.includes(d)).every((d) => d.agent.config['alarmThresholdC'] === 32 && d.agent.config['mode'] === 'normal')).toBe(true);
  expect(away.every((d) => d.agent.config['alarmThresholdC'] === 30 && d.agent.config['mode'] === 'eco')).toBe(true);
  const bufferedAway = away.map((d) => d.agent.stats);
  expect(bufferedAway.every((s) => s.telemetryBuffered === 8 && s.telemetryDropped > 0)).toBe(true);
  health = await fleet.health.stats(ctx);
  expect(health.silent).toBe(away.length);
  const missed = away.map((d) => (deltas.get(d.agent.deviceId) ?? []).filter((x) => x.at >= offlineAt));
  expect(missed.every((list) => list.length === 2)).toBe(true); // one delta per change, never delivered

  await o.comeBack(awayIds);
  await wait(() => away.every((d) => d.agent.online), 'the devices to come back');
  // On reconnect: GET → the newest configuration, the buffer flushed, the queued commands run once.
  await wait(() => away.every((d) => d.agent.config['alarmThresholdC'] === 32 && d.agent.config['mode'] === 'normal'), 'the newest configuration on the returning devices');
  await wait(() => away.every((d) => d.agent.stats.telemetryBuffered === 0) && delivered(), 'the buffered telemetry');
  await wait(async () => {
    for (const c of queued) if ((await statusOf(c)) !== 'succeeded') return false;
    return true;
  }, 'the queued commands acknowledged');
  // The service sends the unacknowledged ones again when it hears from the device: they run too.
  await wait(async () => {
    for (const c of lost) if ((await statusOf(c)) !== 'succeeded') return false;
    return true;
  }, 'the lost commands sent again and acknowledged');
  await wait(() => everyShadow((s) => s.state.delta === undefined && s.state.reported?.['alarmThresholdC'] === 32, awayIds), 'the returning devices to report the newest configuration');
  expect(away.every((d) => d.blinks === 3 + (liveIds.indexOf(d.agent.deviceId) % 2 === 0 ? 2 : 0))).toBe(true);
  // A broker that redelivers the first of the missed deltas late: it is older than what the device applied, and dropped.
  for (const [k, d] of away.entries()) await o.backend.publish(`$aws/things/${d.agent.deviceId}/shadow/update/delta`, (missed[k] as { payload: Uint8Array }[])[0]!.payload, { qos: 1 });
  await wait(() => away.every((d) => d.agent.stats.staleDropped === (staleBefore.get(d.agent.deviceId) ?? 0) + 1), 'the stale deltas dropped');
  expect(away.every((d) => d.agent.config['alarmThresholdC'] === 32 && d.agent.config['mode'] === 'normal')).toBe(true);
  // Telemetry at the sink: per device in order, none duplicated, the gaps exactly what the agent dropped.
  await step(2);
  const received = checkTelemetry();
  for (const d of live) if (!away.includes(d)) expect(d.agent.stats.telemetryDropped).toBe(0);
  const droppedAway = away.reduce((a, d) => a + d.agent.stats.telemetryDropped, 0);
  const receivedAway = away.reduce((a, d) => a + (telemetry.get(d.agent.deviceId)?.length ?? 0), 0);
  // Back to active: the monitor degraded them while they were silent, their heartbeats recover them.
  await stepUntil(async () => (await fleet.registry.all(ctx)).every((r) => r.state === 'active'), 'recovery of every device', 5);
  health = await fleet.health.stats(ctx);
  expect([health.online, health.silent]).toEqual([live.length, 0]);

  // ── 5. a rollout whose firmware fails to boot on part of the canary: abort and roll back ───
  const stages = [{ percent: 5, minSoakMs: 10 * MIN }, { percent: 50, minSoakMs: 10 * MIN }, { percent: 100 }];
  const bad = await fleet.rollouts.create(ctx, { rolloutId: 'fw-2-0-0', firmwareVersion: '2.0.0', stages, abort: { onAbort: 'rollback' }, deadlines: { pickupMs: 30 * MIN } });
  expect(bad.devices).toBe(live.length);
  const canaryIds = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { limit: 1000 })).items.map((x) => x.deviceId);
  const canary = Object.values(bad.byStage[0] as Record<string, number>).reduce((a, b) => a + b, 0);
  expect(canaryIds).toHaveLength(canary);
  // 5 % by cohort (a hash of the device id and the rollout's seed): about one device in twenty.
  expect(canary).toBeGreaterThanOrEqual(Math.floor(live.length * 0.03));
  expect(canary).toBeLessThanOrEqual(Math.ceil(live.length * 0.08));
  const failing = canaryIds.filter(failsBoot);
  expect(failing.length).toBeGreaterThan(0);
  expect(failing.length).toBeLessThan(canary);
  const byId = new Map(live.map((d) => [d.agent.deviceId, d]));
  const ranOld = (id: string): boolean => byId.get(id)?.agent.firmwareVersion === '1.0.0' && byId.get(id)?.agent.slots?.committed === true;
  let summary: RolloutSummary | undefined;
  await stepUntil(async () => {
    summary = await fleet.rollouts.get(ctx, 'fw-2-0-0');
    if (summary?.state !== 'aborted') return false;
    const rollbacks = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { rollback: true, limit: 1000 })).items;
    return rollbacks.every((x) => x.status === 'succeeded') && canaryIds.every(ranOld);
  }, 'the abort and the rollback of fw-2-0-0', 30, async () => ({
    summary: await fleet.rollouts.get(ctx, 'fw-2-0-0'),
    rollbacks: (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { rollback: true, limit: 1000 })).items.filter((x) => x.status !== 'succeeded').slice(0, 10).map((x) => [x.deviceId, x.status, x.statusDetails]),
    notOld: canaryIds.filter((id) => !ranOld(id)).slice(0, 10),
  }));
  summary = (await fleet.rollouts.get(ctx, 'fw-2-0-0')) as RolloutSummary;
  const committed = canaryIds.filter((id) => jobs.get(id)?.some((r) => r.jobId === 'fw-2-0-0' && r.type === 'boot_confirmed') === true);
  const selfRolledBack = canaryIds.filter((id) => jobs.get(id)?.some((r) => r.jobId === 'fw-2-0-0' && r.type === 'rolled_back') === true);
  expect(selfRolledBack.sort()).toEqual([...failing].sort());
  expect(committed.sort()).toEqual(canaryIds.filter((id) => !failsBoot(id)).sort());
  const rollbackJobs = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { rollback: true, limit: 1000 })).items;
  // The decision: the first boot failure reported breaks the 0.1 % failure-rate rule of the canary stage.
  expect(summary.abort).toMatchObject({ stage: 0, rule: 'failure-rate' });
  expect(summary.abort?.failures).toBeGreaterThanOrEqual(1);
  // At the abort the canary jobs not yet reported on were withdrawn (cancelled); the devices had run
  // them already, and their late reports change no counter (outcomes are final). Jobs already in
  // progress carry on and count when they end.
  const stage0 = summary.byStage[0] as Record<string, number>;
  expect(stage0['rolled_back']! + stage0['succeeded']! + stage0['cancelled']!).toBe(canary);
  expect(stage0['rolled_back']).toBeGreaterThanOrEqual(summary.abort?.failures ?? Infinity);
  expect(stage0['rolled_back']).toBeLessThanOrEqual(failing.length);
  // Every canary device that committed the bad image got a rollback job, only canary devices did,
  // and every one of them ran it.
  expect(rollbackJobs.map((x) => x.deviceId)).toEqual(expect.arrayContaining(committed));
  expect(rollbackJobs.length).toBeLessThanOrEqual(canary - (summary.abort?.failures ?? 0));
  expect(rollbackJobs.every((x) => canaryIds.includes(x.deviceId) && x.status === 'succeeded')).toBe(true);
  for (const id of committed) {
    expect(history(id)).toEqual(['fw-2-0-0:picked_up@1.0.0', 'fw-2-0-0:installed@1.0.0', 'fw-2-0-0:boot_confirmed@2.0.0', 'fw-2-0-0:rollback:picked_up@2.0.0', 'fw-2-0-0:rollback:installed@2.0.0', 'fw-2-0-0:rollback:boot_confirmed@1.0.0']);
  }
  // A device that fell back by itself confirms its rollback job at once: it already runs 1.0.0.
  for (const id of failing) {
    const rolledBack = ['fw-2-0-0:picked_up@1.0.0', 'fw-2-0-0:installed@1.0.0', 'fw-2-0-0:rolled_back@1.0.0'];
    expect(history(id)).toEqual(rollbackJobs.some((j) => j.deviceId === id) ? [...rolledBack, 'fw-2-0-0:rollback:boot_confirmed@1.0.0'] : rolledBack);
  }
  // Nothing beyond the canary was sent the bad image.
  expect(liveIds.filter((id) => !canaryIds.includes(id)).every((id) => rolloutReports(id).length === 0)).toBe(true);
  await stepUntil(async () => {
    const rows = await fleet.registry.all(ctx);
    return rows.every((r) => r.firmwareVersion === '1.0.0');
  }, 'the registry to show 1.0.0 everywhere', 3);

  // ── 6. a good release completes on every eligible device ───────────────────────────────────
  // The same devices are away again when it starts: the ones it reaches then are not notified and
  // fetch their job when they are back (jobs/next on reconnect; the controller also pushes it when
  // the monitor hears them).
  const dispatched: { deviceId: string; notified: boolean }[] = [];
  fleet.rollouts.on('job:dispatched', (e) => {
    if (e.jobId === 'fw-2-1-0') dispatched.push({ deviceId: e.deviceId, notified: e.notified });
  });
  await o.goOffline(awayIds);
  await wait(() => away.every((d) => !d.agent.online), 'the devices to go offline again');
  await step(2);
  const good = await fleet.rollouts.create(ctx, { rolloutId: 'fw-2-1-0', firmwareVersion: '2.1.0', stages, deadlines: { pickupMs: 30 * MIN } });
  expect(good.devices).toBe(live.length);
  const sleepers = dispatched.filter((x) => awayIds.includes(x.deviceId));
  expect(sleepers.length).toBeGreaterThan(0);
  expect(dispatched.every((x) => x.notified === !awayIds.includes(x.deviceId))).toBe(true);
  await step(5);
  expect(sleepers.every((x) => jobs.get(x.deviceId)?.some((r) => r.jobId === 'fw-2-1-0') !== true)).toBe(true);
  await o.comeBack(awayIds);
  await wait(() => away.every((d) => d.agent.online), 'the devices to come back again');
  await stepUntil(async () => (await fleet.rollouts.get(ctx, 'fw-2-1-0'))?.state === 'completed', 'the completion of fw-2-1-0', 60, async () => ({
    summary: await fleet.rollouts.get(ctx, 'fw-2-1-0'),
    open: (await fleet.rollouts.executions(ctx, 'fw-2-1-0', { status: ['dispatched', 'in_progress', 'failed', 'rejected', 'rolled_back', 'timed_out', 'unreachable'], limit: 20 })).items.map((x) => [x.deviceId, x.status, x.statusDetails]),
  }));
  const done = (await fleet.rollouts.get(ctx, 'fw-2-1-0')) as RolloutSummary;
  expect([done.counts.succeeded, done.stage]).toEqual([live.length, stages.length - 1]);
  expect(live.every((d) => d.agent.firmwareVersion === '2.1.0' && d.agent.slots?.committed === true)).toBe(true);
  await stepUntil(async () => (await fleet.registry.all(ctx)).every((r) => r.firmwareVersion === '2.1.0'), 'the registry to show 2.1.0 everywhere', 3);
  expect(devices.slice(0, o.bad).every((d) => d.state === 'UNPROVISIONED' && d.agent.firmwareVersion === '1.0.0' && jobs.get(d.agent.deviceId) === undefined)).toBe(true);
  // Installed once each (a job document that arrives twice, pushed and asked for, is run once; a repeat after the end gets the final report again).
  for (const d of live) {
    const id = d.agent.deviceId;
    expect(history(id).filter((x) => x.startsWith('fw-2-1-0:'))).toEqual(['fw-2-1-0:picked_up@1.0.0', 'fw-2-1-0:installed@1.0.0', 'fw-2-1-0:boot_confirmed@2.1.0']);
    expect(jobs.get(id)?.filter((r) => r.jobId === 'fw-2-1-0' && r.type === 'picked_up')).toHaveLength(1);
  }
  // Each device was dispatched the release once.
  expect(dispatched.map((x) => x.deviceId).sort()).toEqual(liveIds);
  checkTelemetry();

  expect(statusRejected).toEqual([]);
  expect(errors).toEqual([]);
  expect(deviceErrors).toEqual([]);
  expect(duplicates).toBe(0);

  const report: FleetStoryReport = {
    provisioned: provisioning.accepted,
    refused: provisioning.refused,
    commands: byName,
    offline: { devices: away.length, telemetryDropped: droppedAway, telemetryReceived: receivedAway, staleDropped: away.length, queuedCommands: queued.length, resentCommands: lost.length },
    telemetry: { receivedAtCatchUp: received, receivedInAll: checkTelemetry(), duplicates },
    badRollout: { canary, bootFailures: failing.length, committed: committed.length, failuresAtAbort: summary.abort?.failures ?? 0, rolledBack: stage0['rolled_back'] ?? 0, cancelled: stage0['cancelled'] ?? 0, rollbackJobs: rollbackJobs.length, state: summary.state, reason: summary.abort?.reason },
    goodRollout: { devices: done.devices, succeeded: done.counts.succeeded, state: done.state, stages: done.stages, fetchedOnReturn: sleepers.length },
    simulatedMinutes: minutes,
  };
  return {
    report,
    fleet,
    devices,
    async close() {
      await Promise.allSettled(devices.map((d) => d.shutdown()));
      await fleet.close();
      await Promise.allSettled(transports.map((t) => t.close()));
    },
  };
}
