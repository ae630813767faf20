/**
 * The fleet scenario of the end-to-end tests, on any transport: N scripted devices (plain
 * transports, the wire shapes only) against createFleet on a SimulatedClock — provisioning with
 * some bad credentials, shadow sync of the template's configuration, heartbeats, silence,
 * degradation and recovery, commands queued for silent devices delivered when they come back, and
 * a staged rollout whose firmware fails its post-boot check at the canary (abort and rollback),
 * then a good one that completes.
 * Every step waits for a condition (messages counted by a tap on the backend, answers counted at the
 * devices), never for a fixed time, so the same script runs in-process and over real sockets.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, signFirmware, type Fleet, type RolloutSummary } from '../../src/cloud/index.js';
import { computeEnrollmentProof, deriveDeviceKey } from '../../src/lifecycle/index.js';
import type { Transport } from '../../src/memory.js';
import { settle, T0, TEMPLATE } from './fleet-rig.js';
import { attachJobResponder } from './job-responder.js';

export interface ScenarioOptions {
  readonly devices: number;
  /** Devices presenting a proof made with the wrong key. */
  readonly bad: number;
  /** Devices that stop heartbeating for 15 minutes. */
  readonly silent: number;
  /** Devices whose battery runs critical, then is replaced. */
  readonly sick: number;
  /** The backend's transport (not connected). */
  readonly backend: Transport;
  /** A device's transport (not connected). */
  device(clientId: string): Transport;
  /** Real milliseconds to wait for one step before failing. */
  readonly stepTimeoutMs: number;
}

export interface ScenarioReport {
  readonly fleet: Fleet;
  readonly clock: SimulatedClock;
  /** Messages the devices received, by kind. */
  readonly received: Record<string, number>;
}

const ctx = { tenantId: 'acme' };
const decoder = new TextDecoder();

interface Device {
  readonly id: string;
  readonly transport: Transport;
  readonly got: Map<string, Record<string, unknown>[]>;
  publish(topic: string, payload: unknown): Promise<void>;
}

/** Polls `cond` on macrotask turns (and short real-time sleeps) until it holds. */
async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => (i < 200 ? setImmediate(r) : setTimeout(r, 2)));
  }
}

/** Runs the scenario, asserting each step; returns the fleet (still open) for more steps. */
export async function runFleetScenario(o: ScenarioOptions): Promise<ScenarioReport> {
  const groupKey = randomBytes(32).toString('base64');
  const clock = new SimulatedClock(T0);
  const fleet = await createFleet({ transport: o.backend, clock, template: TEMPLATE, health: { certificates: false, heartbeat: { intervalMs: 60_000 } }, closeTransport: true });
  const alerts = new Map<string, Set<string>>();
  fleet.health.on('alert', (a) => {
    const set = alerts.get(a.type) ?? new Set<string>();
    set.add(a.deviceId);
    alerts.set(a.type, set);
  });
  const errors: unknown[] = [];
  fleet.health.on('error', (e) => errors.push(e));
  fleet.commands.on('error', (e) => errors.push(e));
  fleet.shadows.on('error', (e) => errors.push(e));
  fleet.registry.on('error', (e) => errors.push(e));
  // A tap on the backend's own transport: once it has counted a message, every service's handler
  // for that message has been called too (one dispatch), so `idle` covers the rest.
  let heartbeats = 0;
  await o.backend.subscribe('dt/+/+/heartbeat', () => void heartbeats++, { qos: 1 });
  await fleet.registry.putEnrollmentGroup(ctx, { groupId: 'field', key: groupKey, tenantId: 'acme' });

  const devices: Device[] = [];
  await Promise.all(
    Array.from({ length: o.devices }, async (_, i) => {
      const id = `sensor-${String(i).padStart(4, '0')}`;
      const transport = o.device(id);
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
      devices[i] = { id, transport, got, publish: (topic, payload) => transport.publish(topic, JSON.stringify(payload), { qos: 1 }) };
    }),
  );
  const idle = (): Promise<void> => settle(() => fleet.health.busyDevices > 0 || fleet.commands.busyDevices > 0);
  const count = (list: readonly Device[], kind: string, min = 1): number => list.filter((d) => (d.got.get(kind)?.length ?? 0) >= min).length;
  const wait = (cond: () => boolean | Promise<boolean>, what: string): Promise<void> => until(cond, what, o.stepTimeoutMs);
  const n = o.devices;

  // 1. Provisioning: symmetric-key group enrollment; the first `bad` devices use a wrong key.
  await Promise.all(
    devices.map((d, i) => {
      const key = i < o.bad ? deriveDeviceKey(randomBytes(32), d.id) : deriveDeviceKey(groupKey, d.id);
      const nonce = randomBytes(16).toString('hex');
      const now = clock.now();
      return d.publish(`cmd/acme/${d.id}/prov/req`, { type: 'symmetric-key', enrollment: { groupId: 'field', registrationId: d.id, nonce, timestamp: now, proof: computeEnrollmentProof(key, nonce, now) }, device: { hardware: 'board-a', firmwareVersion: '1.0.0' } });
    }),
  );
  await wait(() => count(devices, 'prov') === n, 'every provisioning answer');
  const answers = devices.map((d) => d.got.get('prov')?.at(-1));
  expect(answers.filter((a) => a?.['type'] === 'accepted')).toHaveLength(n - o.bad);
  expect(answers.slice(0, o.bad).every((a) => a?.['type'] === 'rejected')).toBe(true);
  const stats = fleet.registry.provisioningStats(ctx);
  expect(stats.accepted).toBe(n - o.bad);
  expect(stats.refused).toBe(o.bad);
  expect(Object.keys(stats.refusedByCode)).toEqual(o.bad > 0 ? ['ENROLLMENT_INVALID'] : []);
  const live = devices.slice(o.bad);

  // 2. Shadow sync: each provisioned device reads the template's desired configuration and reports it.
  await Promise.all(live.map((d) => d.publish(`$aws/things/${d.id}/shadow/get`, {})));
  await wait(() => count(live, 'get') === live.length, 'every get/accepted');
  for (const d of live) {
    const doc = d.got.get('get')?.[0] as { state: { desired: Record<string, unknown>; delta?: Record<string, unknown> } };
    expect(doc.state.desired).toEqual({ reportIntervalS: 60 });
    expect(doc.state.delta).toEqual({ reportIntervalS: 60 });
  }
  await Promise.all(live.map((d) => d.publish(`$aws/things/${d.id}/shadow/update`, { state: { reported: { reportIntervalS: 60 } } })));
  // Two update/accepted each: the template's desired write at provisioning, then the device's report.
  await wait(() => count(live, 'accepted', 2) === live.length, 'every update/accepted');
  for (const d of [live[0], live.at(-1)]) expect((await fleet.shadows.get(ctx, d!.id)).state.delta).toBeUndefined();

  // 3. Heartbeats every minute for 5 minutes: everybody online and healthy.
  let seq = 0;
  const beat = async (list: readonly Device[], vitals: (d: Device) => Record<string, number | string> = () => ({ batteryPct: 80, rssiDbm: -60 })): Promise<void> => {
    const target = heartbeats + list.length;
    await Promise.all(list.map((d) => d.publish(`dt/acme/${d.id}/heartbeat`, { ts: clock.now(), seq: ++seq, ...vitals(d) })));
    await wait(() => heartbeats >= target, 'the heartbeats');
    await idle();
  };
  const minute = async (): Promise<void> => {
    clock.advance(60_000);
    await idle();
  };
  for (let m = 0; m < 5; m++) {
    await beat(live);
    await minute();
  }
  let health = await fleet.health.stats(ctx);
  expect(health.online).toBe(live.length);
  expect(health.byState['active']).toBe(live.length);

  // 4. `silent` devices stop for 15 minutes; `sick` devices report a critical battery.
  const silent = live.slice(0, o.silent);
  const sick = live.slice(o.silent, o.silent + o.sick);
  const rest = live.slice(o.silent);
  const first = await Promise.all(silent.map((d) => fleet.commands.sendCommand(ctx, d.id, 'diagnostics', {}, { commandId: `diag-${d.id}`, expiresAt: clock.now() + 3_600_000 })));
  expect(first.filter((c) => c.status === 'sent')).toHaveLength(o.silent); // online when sent
  for (let m = 0; m < 15; m++) {
    await beat(rest, (d) => (sick.includes(d) ? { batteryPct: 4, rssiDbm: -60 } : { batteryPct: 80, rssiDbm: -60 }));
    await minute();
  }
  health = await fleet.health.stats(ctx);
  expect(health.silent).toBe(o.silent);
  expect(alerts.get('device-silent')?.size ?? 0).toBe(o.silent);
  expect(health.byState['degraded']).toBe(o.silent + o.sick);

  // 5. The silent devices come back, the sick ones get a new battery: all recover; the commands
  //    queued while they were silent are delivered once they are heard from, and acknowledged.
  const second = await Promise.all(silent.map((d) => fleet.commands.sendCommand(ctx, d.id, 'led_blink', { times: 3 }, { commandId: `blink-${d.id}` })));
  expect(second.every((c) => c.status === 'queued')).toBe(true);
  await beat(live);
  await wait(() => silent.every((d) => d.got.get('cmd')?.some((m) => m['commandId'] === `blink-${d.id}`) === true), 'the queued commands');
  await Promise.all(silent.map((d) => d.publish(`cmd/acme/${d.id}/res/blink-${d.id}`, { commandId: `blink-${d.id}`, status: 'succeeded', ts: clock.now() })));
  await wait(async () => (await fleet.commands.list(ctx, { status: 'succeeded', limit: 1000 })).items.length === o.silent, 'the acknowledgements');
  for (const d of silent) {
    // The queued command once; the unacknowledged `diagnostics` once more when the device came back
    // (a `sent` command may have been lost while it was away; devices deduplicate by id).
    expect(d.got.get('cmd')?.[0]?.['commandId']).toBe(`diag-${d.id}`);
    expect(d.got.get('cmd')?.filter((m) => m['commandId'] === `blink-${d.id}`)).toHaveLength(1);
    expect(d.got.get('cmd')?.filter((m) => m['commandId'] === `diag-${d.id}`)).toHaveLength(2);
  }
  health = await fleet.health.stats(ctx);
  expect(health.silent).toBe(0);
  expect(health.byState['active']).toBe(live.length);
  expect(alerts.get('device-recovered')?.size ?? 0).toBe(o.silent + o.sick);
  expect(alerts.get('device-silence-ended')?.size ?? 0).toBe(o.silent);

  // 6. A staged rollout 5 % → 50 % → 100 %. Firmware 2.0.0 fails its post-boot check on every
  //    second device that installs it: the canary aborts and rolls back, and nothing goes beyond
  //    it. Then 2.1.0 completes on every device. Devices heartbeat every minute throughout, so the
  //    health monitor sees them online and documents are published at dispatch.
  fleet.rollouts.on('error', (e) => errors.push(e));
  fleet.rollouts.on('dispatch:refused', (e) => errors.push(e));
  const keys = generateKeyPairSync('ed25519');
  fleet.firmware.addSigningKey(ctx, 'release', keys.publicKey);
  // 1.0.0 too: a rollback job sends the image a device ran before, from the catalog.
  for (const version of ['1.0.0', '2.0.0', '2.1.0']) {
    const sha256 = createHash('sha256').update(`image ${version}`).digest('hex');
    const sizeBytes = `image ${version}`.length;
    fleet.firmware.add(ctx, { version, url: `https://fw.example.com/${version}.bin`, sizeBytes, sha256, hardware: ['board-a'], keyId: 'release', ...signFirmware({ version, sizeBytes, sha256 }, keys.privateKey) });
  }
  let installs200 = 0;
  const committed200 = new Set<string>();
  const jobbers = await Promise.all(
    live.map((d) =>
      attachJobResponder({
        transport: d.transport,
        tenantId: 'acme',
        deviceId: d.id,
        clock,
        publicKey: keys.publicKey,
        behaviour: (version) => {
          if (version !== '2.0.0') return 'ok';
          if (installs200++ % 2 === 0) return 'boot-fail';
          committed200.add(d.id);
          return 'ok';
        },
      }),
    ),
  );
  let docsSeen = 0;
  let statusesSeen = 0;
  await o.backend.subscribe('cmd/acme/+/job/+', () => void docsSeen++, { qos: 1 });
  await o.backend.subscribe('cmd/acme/+/job/+/status', () => void statusesSeen++, { qos: 1 });
  const docsGot = (): number => jobbers.reduce((n, j) => n + j.received.length + j.cancellations, 0);
  const statusesSent = (): number => jobbers.reduce((n, j) => n + j.statuses, 0);
  // Job traffic settles when every document published reached its device, every status the devices
  // sent reached the backend, and the controller has nothing left to do; repeated, since a status
  // may make the controller publish more (rollback jobs).
  const jobsQuiet = async (): Promise<void> => {
    for (;;) {
      await wait(() => docsGot() === docsSeen && statusesSent() === statusesSeen, 'the job traffic');
      await settle(() => fleet.rollouts.busyRollouts > 0 || fleet.health.busyDevices > 0);
      if (docsGot() === docsSeen && statusesSent() === statusesSeen) return;
    }
  };
  const rolloutMinute = async (): Promise<void> => {
    await beat(live);
    await jobsQuiet();
    await minute();
    await jobsQuiet();
  };
  const stages = [{ percent: 5, minSoakMs: 10 * 60_000 }, { percent: 50, minSoakMs: 10 * 60_000 }, { percent: 100 }];
  const bad = await fleet.rollouts.create(ctx, { rolloutId: 'fw-2-0-0', firmwareVersion: '2.0.0', stages, abort: { onAbort: 'rollback' } });
  expect(bad.devices).toBe(live.length);
  const canary = Object.values(bad.byStage[0]!).reduce((a, b) => a + b, 0);
  let summary: RolloutSummary | undefined;
  for (let m = 0; m < 30; m++) {
    await rolloutMinute();
    summary = await fleet.rollouts.get(ctx, 'fw-2-0-0');
    if (summary?.state !== 'aborted') continue;
    // Aborted: done once every device that committed 2.0.0 has finished its rollback job, and no
    // rollback job is open (a device that fell back on its own may have been sent one too).
    const back = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { rollback: true, status: 'succeeded', limit: 1000 })).items;
    const open = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { rollback: true, status: ['dispatched', 'in_progress'], limit: 1000 })).items;
    if (open.length === 0 && [...committed200].every((id) => back.some((x) => x.deviceId === id))) break;
  }
  expect(summary?.state).toBe('aborted');
  expect(summary?.abort?.stage).toBe(0);
  const badJobs = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { limit: 1000 })).items;
  expect(badJobs).toHaveLength(canary); // only the canary was dispatched
  const canaryIds = new Set(badJobs.map((x) => x.deviceId));
  const rollbacks = (await fleet.rollouts.executions(ctx, 'fw-2-0-0', { rollback: true, limit: 1000 })).items;
  expect(committed200.size).toBeGreaterThan(0);
  for (const id of committed200) expect(rollbacks.map((x) => x.deviceId)).toContain(id);
  expect(rollbacks.every((x) => x.status === 'succeeded')).toBe(true);
  for (const j of jobbers) {
    expect(j.version).toBe('1.0.0'); // the canary fell back or was rolled back; the rest never moved
    if (!canaryIds.has(j.id)) expect(j.installs).toEqual([]);
  }

  const good = await fleet.rollouts.create(ctx, { rolloutId: 'fw-2-1-0', firmwareVersion: '2.1.0', stages });
  expect(good.devices).toBe(live.length);
  for (let m = 0; m < 40 && summary?.state !== 'completed'; m++) {
    await rolloutMinute();
    summary = await fleet.rollouts.get(ctx, 'fw-2-1-0');
  }
  expect(summary?.state).toBe('completed');
  expect(summary?.counts.succeeded).toBe(live.length);
  for (const j of jobbers) expect(j.installs.filter((x) => x === 'update:2.1.0')).toHaveLength(1);
  // The registry learns each device's firmware from its heartbeats.
  const versionOf = new Map(jobbers.map((j) => [j.id, j]));
  await beat(live, (d) => ({ batteryPct: 80, rssiDbm: -60, firmwareVersion: versionOf.get(d.id)!.version }));
  expect((await fleet.health.stats(ctx)).byFirmware).toEqual({ '2.1.0': live.length }); // refused devices were never registered
  expect(errors).toEqual([]);

  const received: Record<string, number> = {};
  for (const d of devices) for (const [kind, list] of d.got) received[kind] = (received[kind] ?? 0) + list.length;
  return {
    fleet,
    clock,
    received,
  };
}

/** Closes the fleet (and its transport) and every device transport of a scenario. */
export async function closeScenario(report: ScenarioReport | undefined, devices: readonly Transport[]): Promise<void> {
  await report?.fleet.close();
  await Promise.allSettled(devices.map((t) => t.close()));
}
