/**
 * Decommissioning withdraws the device from its rollouts, end to end on createFleet (memory
 * broker, simulated clock): a device decommissioned mid-stage — before it picked its job up,
 * while it installs, or before it was dispatched at all — has its job execution cancelled, is
 * offered no job afterwards, counts no timeout, and the stage completes with the remaining
 * devices; the stored tracker keeps the withdrawal, so a restarted fleet sees the same. Also: a
 * device decommissioned while no controller drove its rollout is withdrawn on recovery, and a
 * controller that would dispatch a decommissioned device withdraws it instead.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { createFleet, signFirmware, type Fleet } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import { restoreRolloutProgress } from '../../src/rollout/index.js';
import { settle, T0, TEMPLATE } from './fleet-rig.js';
import { attachJobResponder, type Behaviour, type JobResponder } from './job-responder.js';
import { ctx, rolloutRig, type RolloutRig } from './rollout-rig.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c.close().catch(() => undefined);
});

interface World {
  readonly clock: SimulatedClock;
  readonly broker: MemoryBroker;
  readonly stores: ReturnType<typeof createMemoryStores>;
  readonly backend: MemoryTransport;
  fleet: Fleet;
  readonly devices: Map<string, JobResponder>;
  /** Advances the clock a minute at a time until `until()` or `maxMs`. */
  run(until: () => boolean | Promise<boolean>, maxMs: number): Promise<void>;
  /** A new fleet on the same stores, broker, clock and catalog (the old one closed first). */
  restart(recover: boolean): Promise<Fleet>;
}

async function world(ids: readonly string[], behaviour: (id: string) => Behaviour): Promise<World> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  open.push(backend);
  const keys = generateKeyPairSync('ed25519');
  const fleet = await createFleet({ transport: backend, clock, stores, template: TEMPLATE, health: { certificates: false } });
  open.push(fleet);
  fleet.firmware.addSigningKey(ctx, 'release', keys.publicKey);
  const bytes = 'firmware 2.0.0';
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const sizeBytes = Buffer.byteLength(bytes);
  const image = { version: '2.0.0', url: 'https://fw.example.com/2.0.0.bin', sizeBytes, sha256, hardware: ['board-a'], keyId: 'release', ...signFirmware({ version: '2.0.0', sizeBytes, sha256 }, keys.privateKey) };
  fleet.firmware.add(ctx, image);
  const devices = new Map<string, JobResponder>();
  for (const id of ids) {
    await stores.devices.create(ctx, { deviceId: id, tenantId: 'acme', state: 'active', since: clock.now(), firmwareVersion: '1.0.0', hardware: 'board-a' });
    const transport = new MemoryTransport({ broker, clientId: id });
    open.push(transport);
    await transport.connect();
    devices.set(id, await attachJobResponder({ transport, tenantId: 'acme', deviceId: id, clock, publicKey: keys.publicKey, behaviour: () => behaviour(id) }));
  }
  const w: World = {
    clock,
    broker,
    stores,
    backend,
    fleet,
    devices,
    async run(until, maxMs) {
      const end = clock.now() + maxMs;
      await settle();
      while (!(await until()) && clock.now() < end) {
        clock.advance(MIN);
        await settle();
        // Devices ask for their pending jobs (the simulated health monitor sees none online).
        for (const d of devices.values()) await d.wake();
        await settle();
      }
    },
    async restart(recover) {
      await w.fleet.close();
      const firmware = w.fleet.firmware;
      w.fleet = await createFleet({ transport: backend, clock, stores, firmware, template: TEMPLATE, health: { certificates: false }, ...(recover ? { recoverRollouts: ['acme'] } : {}) });
      open.push(w.fleet);
      return w.fleet;
    },
  };
  return w;
}

const IDS = Array.from({ length: 8 }, (_, i) => `pump-${i}`);
/** One stage: every remaining device must succeed (threshold 100 %), soak 10 minutes; timeouts count as failures. */
const ONE_STAGE = { rolloutId: 'fw-2', firmwareVersion: '2.0.0', stages: [{ percent: 100, minSoakMs: 10 * MIN, successThreshold: 1 }], deadlines: { pickupMs: HOUR, runMs: HOUR, bootHealthMs: 10 * MIN }, abort: { failureRate: 0.5, countTimeouts: true, countUnreachable: true } };

async function execution(w: World, deviceId: string, jobId = 'fw-2') {
  return w.stores.jobs.getExecution(ctx, jobId, deviceId);
}

async function storedTracker(w: World) {
  const stored = (await w.stores.jobs.getRollout(ctx, 'fw-2'))!;
  return restoreRolloutProgress(stored.plan, stored.tracker);
}

describe('decommissioning withdraws the device from its rollouts (createFleet, memory broker)', () => {
  it('before pickup: the queued job is cancelled, the device is offered nothing, and the stage completes without it', async () => {
    const victim = 'pump-3';
    const w = await world(IDS, (id) => (id === victim ? 'silent' : 'ok'));
    const events: string[] = [];
    w.fleet.rollouts.on('rollout:progress', (e) => events.push(`${e.cause}:${e.reason}`));
    await w.fleet.rollouts.create(ctx, ONE_STAGE);
    await w.run(async () => IDS.filter((id) => id !== victim).every((id) => w.devices.get(id)!.version === '2.0.0'), 30 * MIN);
    expect((await execution(w, victim))?.status).toBe('dispatched');
    expect((await w.fleet.rollouts.get(ctx, 'fw-2'))?.state).toBe('running');

    const out = await w.fleet.registry.decommission(ctx, victim, { reason: 'RMA 7', actor: 'ops@acme' });
    expect(out.outcomes.find((o) => o.effect.type === 'cancel-pending')?.status).toBe('done');
    expect(await execution(w, victim)).toMatchObject({ status: 'cancelled', document: { status: 'cancelled' } });
    expect(events.some((e) => e.startsWith('withdraw:') && e.includes(victim))).toBe(true);
    const summary = await w.fleet.rollouts.get(ctx, 'fw-2');
    expect(summary).toMatchObject({ withdrawn: 1, counts: { cancelled: 1 } });
    expect((await storedTracker(w)).device(victim)).toMatchObject({ status: 'cancelled', withdrawn: true });

    // A decommissioned device that asks for its pending job gets none.
    const nones = w.devices.get(victim)!.nones;
    const received = w.devices.get(victim)!.received.length;
    await w.devices.get(victim)!.wake();
    await settle();
    expect(w.devices.get(victim)!.nones).toBe(nones + 1);
    expect(w.devices.get(victim)!.received.length).toBe(received);

    // Past the pickup deadline: the stage completes with the remaining 7, nothing expires.
    await w.run(async () => (await w.fleet.rollouts.get(ctx, 'fw-2'))?.state === 'completed', 3 * HOUR);
    const done = await w.fleet.rollouts.get(ctx, 'fw-2');
    expect(done).toMatchObject({ state: 'completed', withdrawn: 1, counts: { succeeded: 7, cancelled: 1, unreachable: 0, timed_out: 0, failed: 0 } });
    expect(done?.abort).toBeUndefined();
  });

  it('while in progress: the running job is cancelled, no timeout is counted, the stage completes; a restarted fleet sees the same', async () => {
    const victim = 'pump-5';
    const w = await world(IDS, (id) => (id === victim ? 'silent' : 'ok'));
    await w.fleet.rollouts.create(ctx, ONE_STAGE);
    await w.run(async () => (await execution(w, victim))?.status === 'dispatched' && w.devices.get(victim)!.received.length > 0, 10 * MIN);
    await w.devices.get(victim)!.sendRaw('fw-2', JSON.stringify({ jobId: 'fw-2', executionVersion: 1, ts: w.clock.now(), status: 'in_progress', phase: 'installing' }));
    await settle();
    expect(await execution(w, victim)).toMatchObject({ status: 'in_progress', phase: 'installing' });

    await w.fleet.registry.decommission(ctx, victim, { reason: 'water damage', actor: 'ops@acme' });
    expect((await execution(w, victim))?.status).toBe('cancelled');
    expect((await storedTracker(w)).device(victim)).toMatchObject({ status: 'cancelled', withdrawn: true });
    // A late status from the withdrawn device changes nothing.
    await w.devices.get(victim)!.sendRaw('fw-2', JSON.stringify({ jobId: 'fw-2', executionVersion: 1, ts: w.clock.now(), status: 'in_progress', phase: 'booting' }));
    await settle();
    expect((await execution(w, victim))?.status).toBe('cancelled');

    // Restart: the new fleet recovers the rollout with the withdrawal and completes it.
    const second = await w.restart(true);
    expect(await second.rollouts.get(ctx, 'fw-2')).toMatchObject({ active: true, withdrawn: 1 });
    await w.run(async () => (await second.rollouts.get(ctx, 'fw-2'))?.state === 'completed', 3 * HOUR);
    expect(await second.rollouts.get(ctx, 'fw-2')).toMatchObject({ state: 'completed', withdrawn: 1, counts: { succeeded: 7, cancelled: 1, timed_out: 0, unreachable: 0, failed: 0 } });
    expect((await execution(w, victim))?.status).toBe('cancelled');
  });

  it('before dispatch (a later stage): the device is never sent a job; decommissioned while no controller drove the rollout, it is withdrawn on recovery', async () => {
    const w = await world(IDS, () => 'ok');
    await w.fleet.rollouts.create(ctx, { ...ONE_STAGE, stages: [{ count: 2, minSoakMs: 30 * MIN }, { percent: 100, minSoakMs: 10 * MIN, successThreshold: 1 }] });
    const plan = (await w.stores.jobs.getRollout(ctx, 'fw-2'))!.plan;
    const later = plan.devices.filter((d) => d.stage === 1).map((d) => d.id);
    const [pending, offline] = later as [string, string];
    await w.fleet.registry.decommission(ctx, pending, { reason: 'retired', actor: 'ops@acme' });
    expect((await storedTracker(w)).device(pending)).toMatchObject({ status: 'cancelled', withdrawn: true });

    // No controller drives the rollout (the fleet restarted without recovering it) when the next device is decommissioned.
    const idle = await w.restart(false);
    expect(await idle.rollouts.withdraw(ctx, offline)).toEqual([]);
    await idle.registry.decommission(ctx, offline, { reason: 'retired', actor: 'ops@acme' });
    expect((await storedTracker(w)).device(offline)).toMatchObject({ status: 'pending', withdrawn: false });
    const driver = await w.restart(true);
    expect((await storedTracker(w)).device(offline)).toMatchObject({ status: 'cancelled', withdrawn: true });
    await w.run(async () => (await driver.rollouts.get(ctx, 'fw-2'))?.state === 'completed', 6 * HOUR);
    expect(await driver.rollouts.get(ctx, 'fw-2')).toMatchObject({ state: 'completed', withdrawn: 2, counts: { succeeded: 6, cancelled: 2 } });
    for (const id of [pending, offline]) {
      expect(await execution(w, id)).toBeUndefined();
      expect(w.devices.get(id)!.received).toEqual([]);
    }
  });
});

describe('RolloutController.withdraw', () => {
  let rig: RolloutRig | undefined;
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });

  it('a device whose record became decommissioned behind the controller is withdrawn instead of dispatched', async () => {
    const r = (rig = await rolloutRig());
    r.addImage('2.1.0');
    await r.addDevices(6, () => 'ok');
    await r.controller.create(ctx, { rolloutId: 'fw', firmwareVersion: '2.1.0', stages: [{ count: 1, minSoakMs: 5 * MIN }, { percent: 100, successThreshold: 1 }] });
    const plan = (await r.stores.jobs.getRollout(ctx, 'fw'))!.plan;
    const victim = plan.devices.find((d) => d.stage === 1)!.id;
    const rec = (await r.stores.devices.get(ctx, victim))!;
    await r.stores.devices.update(ctx, { ...rec, state: 'decommissioned', since: r.clock.now() }, rec.revision);
    const causes: string[] = [];
    r.controller.on('rollout:progress', (e) => causes.push(e.cause));
    await r.run(() => r.devices.filter((d) => d.id !== victim).every((d) => d.version === '2.1.0'), 60 * MIN);
    await r.run(() => false, 3 * MIN);
    expect(causes).toContain('withdraw');
    expect(await r.controller.get(ctx, 'fw')).toMatchObject({ state: 'completed', withdrawn: 1, counts: { succeeded: 5, cancelled: 1, rejected: 0 } });
    expect(await r.stores.jobs.getExecution(ctx, 'fw', victim)).toBeUndefined();
    const stored = (await r.stores.jobs.getRollout(ctx, 'fw'))!;
    expect(restoreRolloutProgress(stored.plan, stored.tracker).device(victim)).toMatchObject({ status: 'cancelled', withdrawn: true });
  });

  it('withdraws from every driven rollout of the tenant that holds the device, once; refuses a bad id; other tenants are untouched', async () => {
    const r = (rig = await rolloutRig());
    r.addImage('2.1.0');
    await r.addDevices(4, () => 'silent');
    await r.controller.create(ctx, { rolloutId: 'a', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] });
    await r.controller.create(ctx, { rolloutId: 'b', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] });
    await settle();
    expect((await r.controller.withdraw(ctx, 'dev-0001', { reason: 'gone' })).sort()).toEqual(['a', 'b']);
    expect(await r.controller.withdraw(ctx, 'dev-0001')).toEqual([]);
    expect(await r.controller.withdraw({ tenantId: 'other' }, 'dev-0002')).toEqual([]);
    expect(await r.controller.withdraw(ctx, 'nope')).toEqual([]);
    await expect(r.controller.withdraw(ctx, '')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    for (const id of ['a', 'b']) {
      expect((await r.stores.jobs.getExecution(ctx, id, 'dev-0001'))?.status).toBe('cancelled');
      expect((await r.stores.jobs.getExecution(ctx, id, 'dev-0002'))?.status).toBe('dispatched');
      expect(await r.controller.get(ctx, id)).toMatchObject({ withdrawn: 1 });
    }
  });
});
