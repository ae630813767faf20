// End to end on the memory broker: 1,000 VirtualDevices against createFleet through the whole
// device story (test/device/fleet-story.ts): provisioning with refusals, shadow configuration,
// lab commands, offline and catching up, a rollout that aborts and rolls back, then one that completes.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, signFirmware } from '../../src/cloud/index.js';
import { defineProvisioningTemplate } from '../../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { MIN, runFleetStory, T0, type FleetStory } from './fleet-story.js';

let story: FleetStory | undefined;
const closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  await story?.close();
  story = undefined;
  for (const c of closing.splice(0)) await c();
});

describe('the device tier end to end on the memory broker', () => {
  it('1,000 virtual devices: provisioning, configuration, commands, offline catch-up, a failed and a good rollout', { timeout: 180_000 }, async () => {
    const broker = new MemoryBroker();
    const links = new Map<string, MemoryTransport>();
    const started = Date.now();
    story = await runFleetStory({
      devices: 1000,
      bad: 5,
      backend: new MemoryTransport({ broker, clientId: 'fleet-backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 }),
      device: (id, _i, clock) => {
        const t = new MemoryTransport({ broker, clientId: id, clock, autoReconnect: false, queue: { maxMessages: 10_000 } });
        links.set(id, t);
        return t;
      },
      // Every ninth device from the sixth on: 100 devices.
      offline: Array.from({ length: 100 }, (_, k) => 5 + k * 9),
      goOffline: async (ids) => {
        for (const id of ids) expect(broker.disconnect(id)).toBe(true);
      },
      comeBack: async (ids) => {
        await Promise.all(ids.map((id) => links.get(id)!.connect()));
      },
      stepTimeoutMs: 30_000,
    });
    console.log(`fleet-e2e (memory): ${JSON.stringify(story.report)} in ${Date.now() - started} ms`);
    // In process every step is deterministic (seeded devices, fixed ids, the rollout's cohort seed): the exact numbers.
    expect(story.report).toEqual({
      provisioned: 995,
      refused: 5,
      commands: { 'diagnostics:succeeded': 995, 'led_blink:succeeded': 498, 'sensor_read:succeeded': 332, 'enter_maintenance:succeeded': 20, 'exit_maintenance:succeeded': 20, 'ota_update:succeeded': 20, 'self_destruct:rejected': 1 },
      // 15 samples each while away, 8 buffered: 7 dropped per device; 5 received before, 8 flushed in order.
      // Two commands queued per device while it was away, one sent just after it dropped (lost) and sent again.
      offline: { devices: 100, telemetryDropped: 700, telemetryReceived: 1300, staleDropped: 100, queuedCommands: 200, resentCommands: 100 },
      telemetry: { receivedAtCatchUp: 19_200, receivedInAll: 52_035, duplicates: 0 },
      // The canary (5 % by cohort): 51 devices, of which 18 fail to boot 2.0.0 and fall back by
      // themselves; the first failure reported aborts (1 of 51 > 0.1 %). The 48 jobs not reported on
      // yet are withdrawn; every canary device but the one known to have fallen back gets a rollback job.
      badRollout: { canary: 51, bootFailures: 18, committed: 33, failuresAtAbort: 1, rolledBack: 18, cancelled: 0, rollbackJobs: 50, state: 'aborted', reason: 'stage 1 (5 %): 1 failure of 51 devices = 1.96 % > the 0.10 % abort threshold' },
      // 6 of the canary were away when the release started: they fetched their jobs when they came back.
      goodRollout: { devices: 995, succeeded: 995, state: 'completed', stages: 3, fetchedOnReturn: 6 },
      simulatedMinutes: 53,
    });
  });
});

describe('RolloutController.busyRollouts', () => {
  it('counts rollouts with an evaluation in progress, so a simulation can wait for it before moving its clock', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const fleet = await createFleet({ transport: new MemoryTransport({ broker, clientId: 'backend' }), clock, template: defineProvisioningTemplate({ name: 't', desiredConfig: {} }), closeTransport: true });
    closing.push(() => fleet.close());
    const ctx = { tenantId: 'acme' };
    await fleet.registry.register(ctx, { deviceId: 'd-1', hardware: 'esp32-s3', firmwareVersion: '1.0.0' });
    const keys = generateKeyPairSync('ed25519');
    fleet.firmware.addSigningKey(ctx, 'k', keys.publicKey);
    const bytes = Buffer.from('image 2.0.0');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    fleet.firmware.add(ctx, { version: '2.0.0', url: 'https://fw.example.com/2.0.0.bin', sizeBytes: bytes.length, sha256, hardware: ['esp32-s3'], keyId: 'k', ...signFirmware({ version: '2.0.0', sizeBytes: bytes.length, sha256 }, keys.privateKey) });
    expect(fleet.rollouts.busyRollouts).toBe(0);
    await fleet.rollouts.create(ctx, { rolloutId: 'r-1', firmwareVersion: '2.0.0', stages: [{ percent: 100 }] });
    expect(fleet.rollouts.busyRollouts).toBe(0); // create resolves once its first evaluation ran
    clock.advance(MIN); // the periodic evaluation is due: queued at once
    expect(fleet.rollouts.busyRollouts).toBe(1);
    for (let i = 0; i < 100 && fleet.rollouts.busyRollouts > 0; i++) await new Promise((r) => setImmediate(r));
    expect(fleet.rollouts.busyRollouts).toBe(0);
  });
});
