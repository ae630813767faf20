import { afterEach, describe, expect, it } from 'vitest';
import type { JobDispatchedEvent, JobStatusRejectedEvent, RolloutProgressEvent, RolloutSummary } from '../../src/cloud/index.js';
import { isFleetError } from '../../src/errors.js';
import { MemoryTransport } from '../../src/memory.js';
import { ctx, rolloutRig, settle, T0, type RolloutRig } from './rollout-rig.js';

const MIN = 60_000;
let rig: RolloutRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function errorOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(isFleetError(e), String(e)).toBe(true);
    return e as { code: string; message: string };
  }
  throw new Error('expected a rejection');
}

function count<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

describe('RolloutController: a staged rollout on 200 scripted devices', () => {
  it('a firmware that fails boot at the canary aborts and rolls back; a good one then completes', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('1.0.0');
    r.addImage('2.0.0');
    r.addImage('2.1.0');
    // 2.0.0 fails its post-boot check on every second device that installs it (the first one included); 2.1.0 is good everywhere.
    let installs200 = 0;
    const committed200 = new Set<string>();
    await r.addDevices(200, (id, version) => {
      if (version !== '2.0.0') return 'ok';
      if (installs200++ % 2 === 0) return 'boot-fail';
      committed200.add(id);
      return 'ok';
    });
    // A quarter of the fleet sleeps: never notified, they ask for their job when they wake (every 5 minutes).
    for (const d of r.devices) if (Number(d.id.slice(4)) % 4 === 1) r.offline.add(d.id);
    const wakeSleepers = async (): Promise<void> => {
      if ((r.clock.now() - T0) % (5 * MIN) === 0) await Promise.all(r.devices.filter((d) => r.offline.has(d.id)).map((d) => d.wake()));
    };
    const dispatched: JobDispatchedEvent[] = [];
    const progress: RolloutProgressEvent[] = [];
    r.controller.on('job:dispatched', (e) => dispatched.push(e));
    r.controller.on('rollout:progress', (e) => progress.push(e));
    const stages = [{ percent: 5, minSoakMs: 30 * MIN }, { percent: 50, minSoakMs: 30 * MIN }, { percent: 100 }];

    const bad = await r.controller.create(ctx, { rolloutId: 'fw-2-0-0', firmwareVersion: '2.0.0', stages, abort: { onAbort: 'rollback' }, deadlines: { pickupMs: 60 * MIN } });
    expect(bad.state).toBe('running');
    const canary = Object.values(bad.byStage[0]!).reduce((a, b) => a + b, 0);
    expect(canary).toBeGreaterThanOrEqual(3); // 5 % by cohort: about 10 of 200
    let summary: RolloutSummary | undefined;
    await r.run(() => false, 3 * 60 * MIN, MIN, wakeSleepers);
    summary = await r.controller.get(ctx, 'fw-2-0-0');
    expect(summary?.state).toBe('aborted');
    expect(summary?.abort?.stage).toBe(0);
    // Only the canary was ever dispatched; nothing beyond it.
    const badJobs = dispatched.filter((e) => e.rolloutId === 'fw-2-0-0' && e.intent === 'update');
    expect(badJobs).toHaveLength(canary);
    expect([...count(badJobs, (e) => e.deviceId).values()].every((n) => n === 1)).toBe(true);
    // Every canary device that committed 2.0.0 got a rollback job and runs 1.0.0 again; the others fell back on their own.
    const canaryDevices = r.devices.filter((d) => badJobs.some((e) => e.deviceId === d.id));
    for (const d of canaryDevices) expect(d.version).toBe('1.0.0');
    const rollbacks = (await r.controller.executions(ctx, 'fw-2-0-0', { rollback: true })).items;
    expect(committed200.size).toBeGreaterThan(0);
    // Every device that committed 2.0.0 got a rollback job; so may one that was booting 2.0.0 when the abort came (it had the image).
    for (const id of committed200) expect(rollbacks.map((x) => x.deviceId)).toContain(id);
    for (const x of rollbacks) expect(r.devices.find((d) => d.id === x.deviceId)!.installs[0]).toBe('update:2.0.0');
    expect(rollbacks.every((x) => x.status === 'succeeded')).toBe(true);
    for (const id of committed200) expect(r.devices.find((d) => d.id === id)!.installs).toEqual(['update:2.0.0', 'rollback:1.0.0']);
    expect(r.devices.filter((d) => !canaryDevices.includes(d)).every((d) => d.installs.length === 0)).toBe(true);

    // The good release completes over the whole fleet.
    const good = await r.controller.create(ctx, { rolloutId: 'fw-2-1-0', firmwareVersion: '2.1.0', stages, deadlines: { pickupMs: 60 * MIN } });
    expect(good.devices).toBe(200);
    await r.run(() => r.devices.every((d) => d.version === '2.1.0'), 12 * 60 * MIN, MIN, wakeSleepers);
    await r.run(() => false, 2 * MIN, MIN);
    summary = await r.controller.get(ctx, 'fw-2-1-0');
    expect((await r.stores.jobs.listExecutions(ctx, { jobId: 'fw-2-1-0', limit: 1000 })).items.filter((x) => !['succeeded', 'dispatched', 'in_progress'].includes(x.status)).map((x) => [x.deviceId, x.status, x.statusDetails, r.devices.find((d) => d.id === x.deviceId)?.installs])).toEqual([]);
    expect(summary?.abort?.reason).toBeUndefined();
    expect(summary?.state).toBe('completed');
    expect(summary?.counts.succeeded).toBe(200);
    const goodJobs = dispatched.filter((e) => e.rolloutId === 'fw-2-1-0');
    expect(goodJobs).toHaveLength(200);
    expect([...count(goodJobs, (e) => e.deviceId).values()].every((n) => n === 1)).toBe(true);
    // Sleepers were never notified: they got their job by asking.
    expect(goodJobs.filter((e) => r.offline.has(e.deviceId)).every((e) => !e.notified)).toBe(true);
    for (const d of r.devices) expect(d.installs.filter((x) => x === 'update:2.1.0')).toHaveLength(1);

    // The last progress event's counts are the store's.
    const last = progress.filter((e) => e.rolloutId === 'fw-2-1-0').at(-1)!;
    const stored = await r.stores.jobs.listExecutions(ctx, { jobId: 'fw-2-1-0', limit: 1000 });
    const byStatus = count(stored.items, (x) => x.status);
    for (const [status, n] of Object.entries(last.counts)) if (status !== 'pending' && status !== 'cancelled') expect(byStatus.get(status) ?? 0, status).toBe(n);
  }, 120_000);
});

describe('RolloutController: refusals and isolation', () => {
  it('refuses to plan an image that does not verify, is missing, or does not match the hardware', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.0.0', ['board-b']);
    r.addImage('2.1.0');
    await r.addDevices(5, () => 'ok', (i) => (i === 3 ? 'board-z' : i === 4 ? undefined : 'board-a'));
    expect((await errorOf(r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '9.9.9' }))).code).toBe('FIRMWARE_NOT_FOUND');
    const incompatible = await errorOf(r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0' }));
    expect(incompatible.code).toBe('FIRMWARE_INCOMPATIBLE');
    expect(incompatible.message).toContain('dev-0003');
    expect(incompatible.message).toContain('dev-0004');
    expect(await r.stores.jobs.getRollout(ctx, 'r1')).toBeUndefined();
    r.catalog.revokeSigningKey(ctx, 'release');
    expect((await errorOf(r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0', incompatible: 'skip' }))).code).toBe('SIGNATURE_INVALID');
    expect(await r.stores.jobs.getRollout(ctx, 'r1')).toBeUndefined();
    expect((await errorOf(r.controller.create(ctx, { rolloutId: 'a/b', firmwareVersion: '2.1.0' }))).code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(r.controller.create(ctx, { rolloutId: 'x'.repeat(56), firmwareVersion: '2.1.0' }))).code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(r.controller.create({ tenantId: '' }, { rolloutId: 'r1', firmwareVersion: '2.1.0' }))).code).toBe('INVALID_ARGUMENT');
    expect((await errorOf(r.controller.pause(ctx, 'nope'))).code).toBe('ROLLOUT_NOT_FOUND');
  });

  it('skips incompatible devices on request; refuses to dispatch to a device whose hardware changed, and pauses when the key is revoked', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.1.0');
    await r.addDevices(20, () => 'silent', (i) => (i === 0 ? 'board-z' : 'board-a'));
    const refused: string[] = [];
    r.controller.on('dispatch:refused', (e) => refused.push(`${e.deviceId ?? '*'}:${e.error.code}`));
    // A device changes its board after planning: it is not sent the job.
    const s = await r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0', incompatible: 'skip', stages: [{ count: 5, minSoakMs: 0 }, { percent: 100 }], rateLimit: { devicesPerMinute: 2 }, abort: { failureRate: 0.5 } });
    expect(s.devices).toBe(19);
    const firstWave = (await r.controller.executions(ctx, 'r1')).items.map((x) => x.deviceId);
    const later = (await r.stores.jobs.listExecutions(ctx, { jobId: 'r1' })).items.length;
    expect(later).toBe(2);
    const victim = (await r.controller.get(ctx, 'r1'))!;
    expect(victim.counts.dispatched).toBe(2);
    const plan = (await r.stores.jobs.getRollout(ctx, 'r1'))!.plan;
    const next = plan.devices.find((d) => !firstWave.includes(d.id))!;
    const rec = (await r.stores.devices.get(ctx, next.id))!;
    await r.stores.devices.update(ctx, { ...rec, hardware: 'board-q' }, rec.revision);
    await r.run(() => refused.length > 0, 10 * MIN, MIN);
    expect(refused).toContain(`${next.id}:FIRMWARE_INCOMPATIBLE`);
    const exec = await r.stores.jobs.getExecution(ctx, 'r1', next.id);
    expect(exec?.status).toBe('rejected');
    expect(exec?.document).toBeUndefined();
    expect(r.devices.find((d) => d.id === next.id)!.received).toEqual([]);
    // The signing key is revoked: the rollout pauses instead of dispatching.
    r.catalog.revokeSigningKey(ctx, 'release');
    const before = (await r.stores.jobs.listExecutions(ctx, { jobId: 'r1' })).items.length;
    await r.run(() => false, 5 * MIN, MIN);
    expect((await r.controller.get(ctx, 'r1'))?.state).toBe('paused');
    expect(refused).toContain('*:SIGNATURE_INVALID');
    expect((await r.stores.jobs.listExecutions(ctx, { jobId: 'r1' })).items.length).toBe(before);
  });

  it('a malformed or out-of-place status message is rejected for that device only; nothing changes', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.1.0');
    await r.addDevices(6, () => 'silent');
    await r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] });
    await settle();
    const rejected: JobStatusRejectedEvent[] = [];
    r.controller.on('status:rejected', (e) => rejected.push(e));
    const errors: unknown[] = [];
    r.controller.on('error', (e) => errors.push(e));
    const snapshot = async (): Promise<unknown> => ({ rollout: await r.stores.jobs.getRollout(ctx, 'r1'), execs: (await r.stores.jobs.listExecutions(ctx, { limit: 1000 })).items, summary: await r.controller.get(ctx, 'r1') });
    const before = await snapshot();
    const d = r.devices[0]!;
    const bad: [string, string | Uint8Array][] = [
      ['r1', '{not json'],
      ['r1', new Uint8Array([0xff, 0xfe])],
      ['r1', JSON.stringify({ jobId: 'r1', status: 'rolled-back', executionVersion: 1, ts: 1 })],
      ['r1', JSON.stringify({ jobId: 'r1', status: 'in_progress', executionVersion: 1, ts: 1 })],
      ['r1', JSON.stringify({ jobId: 'r1', status: 'cancelled', executionVersion: 1, ts: 1 })],
      ['r1', JSON.stringify({ jobId: 'other', status: 'failed', executionVersion: 1, ts: 1 })],
      ['r1', JSON.stringify({ jobId: 'r1', status: 'failed', executionVersion: 7, ts: 1 })],
      ['r1', JSON.stringify({ jobId: 'r1', status: 'succeeded', executionVersion: 1, ts: 1, statusDetails: { k: 1 } })],
      ['zzz', JSON.stringify({ jobId: 'zzz', status: 'failed', executionVersion: 1, ts: 1 })],
      ['r1:rollback', JSON.stringify({ jobId: 'r1:rollback', status: 'succeeded', executionVersion: 1, ts: 1 })],
    ];
    for (const [jobId, payload] of bad) await d.sendRaw(jobId, payload);
    await settle();
    expect(rejected).toHaveLength(bad.length);
    expect(rejected.every((e) => e.deviceId === d.id && e.tenantId === 'acme' && isFleetError(e.error))).toBe(true);
    expect(errors).toEqual([]);
    expect(await snapshot()).toEqual(before);
    // The controller still works: a valid report is applied.
    await d.sendRaw('r1', JSON.stringify({ jobId: 'r1', status: 'in_progress', phase: 'installing', executionVersion: 1, ts: 1 }));
    await settle();
    expect((await r.stores.jobs.getExecution(ctx, 'r1', d.id))?.status).toBe('in_progress');
    // A step the tracker refuses (a boot report from a device already succeeded, then "rejected") is rejected too.
    await d.sendRaw('r1', JSON.stringify({ jobId: 'r1', status: 'succeeded', executionVersion: 1, ts: 1 }));
    await settle();
    const n = rejected.length;
    await r.devices[1]!.sendRaw('r1', JSON.stringify({ jobId: 'r1', status: 'in_progress', phase: 'booting', executionVersion: 1, ts: 1 }));
    await r.devices[1]!.sendRaw('r1', JSON.stringify({ jobId: 'r1', status: 'rejected', executionVersion: 1, ts: 1 }));
    await settle();
    expect(rejected.length).toBe(n + 1);
    expect(rejected.at(-1)?.error.code).toBe('INVALID_TRANSITION');
  });

  it('is tenant-scoped: another tenant neither sees nor steers a rollout, and its devices cannot report on it', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.1.0');
    await r.addDevices(3, () => 'silent');
    await r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] });
    const globex = { tenantId: 'globex' };
    expect(await r.controller.get(globex, 'r1')).toBeUndefined();
    expect((await r.controller.list(globex)).items).toEqual([]);
    expect((await r.controller.executions(globex, 'r1')).items).toEqual([]);
    for (const op of [() => r.controller.pause(globex, 'r1'), () => r.controller.cancel(globex, 'r1'), () => r.controller.rollback(globex, 'r1')]) expect((await errorOf(op())).code).toBe('ROLLOUT_NOT_FOUND');
    // globex has no image 2.1.0 and no key: it cannot plan with acme's catalog entries.
    expect((await errorOf(r.controller.create(globex, { rolloutId: 'r1', firmwareVersion: '2.1.0' }))).code).toBe('FIRMWARE_NOT_FOUND');
    const rejected: JobStatusRejectedEvent[] = [];
    r.controller.on('status:rejected', (e) => rejected.push(e));
    const before = await r.controller.get(ctx, 'r1');
    // A message on globex's topic naming acme's job and device is refused and changes nothing.
    const intruder = r.devices[0]!;
    await intruder.sendRaw('r1', 'x'); // its own topic, malformed: refused for it only
    const other = new MemoryTransport({ broker: r.broker, clientId: 'globex-dev' });
    await other.connect();
    await other.publish('cmd/globex/dev-0000/job/r1/status', JSON.stringify({ jobId: 'r1', status: 'failed', executionVersion: 1, ts: 1 }), { qos: 1 });
    await settle();
    await other.close();
    expect(rejected.map((e) => [e.tenantId, e.error.code])).toEqual([['acme', 'INVALID_PAYLOAD'], ['globex', 'ROLLOUT_NOT_FOUND']]);
    expect(await r.controller.get(ctx, 'r1')).toEqual(before);
  });

  it('answers jobs/next with the pending document, or jobs/none; deadlines expire silent devices', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.1.0');
    await r.addDevices(4, () => 'silent');
    for (const d of r.devices) r.offline.add(d.id);
    await r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0', stages: [{ percent: 100 }], deadlines: { pickupMs: 10 * MIN } });
    await settle();
    expect(r.devices.every((d) => d.received.length === 0)).toBe(true);
    await r.devices[0]!.wake();
    await settle();
    expect(r.devices[0]!.received.map((x) => [x.jobId, x.status, x.intent, x.firmware.version])).toEqual([['r1', 'dispatched', 'update', '2.1.0']]);
    await r.run(() => false, 15 * MIN, MIN);
    const s = await r.controller.get(ctx, 'r1');
    expect(s?.counts.unreachable).toBe(4);
    const execs = (await r.controller.executions(ctx, 'r1')).items;
    expect(execs.every((x) => x.status === 'unreachable')).toBe(true);
    // After expiry nothing is pending: a waking device hears "none".
    await r.devices[1]!.wake();
    await settle();
    expect(r.devices[1]!.nones).toBe(1);
    expect(r.devices[1]!.cancellations).toBe(1);
  });
});

describe('RolloutController: dispatch', () => {
  it('a stage is dispatched many devices at a time, not one broker round trip after another', async () => {
    rig = await rolloutRig();
    const r = rig;
    r.addImage('2.0.0');
    await r.addDevices(300, () => 'ok');
    // A backend whose publishes complete only on a later macrotask turn (a broker round trip), counting how many overlap.
    const inner = new MemoryTransport({ broker: r.broker, clientId: 'slow-backend', queue: { maxMessages: 100_000 }, maxInFlight: 65_535 });
    await inner.connect();
    let open = 0;
    let most = 0;
    const slow = new Proxy(inner, {
      get(target, key) {
        if (key !== 'publish') {
          const v = Reflect.get(target, key, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        }
        return async (...args: Parameters<MemoryTransport['publish']>) => {
          open++;
          most = Math.max(most, open);
          await new Promise((resolve) => setTimeout(resolve, 1));
          try {
            return await target.publish(...args);
          } finally {
            open--;
          }
        };
      },
    });
    await r.controller.close();
    const { RolloutController } = await import('../../src/cloud/index.js');
    const c = new RolloutController({ transport: slow, jobs: r.stores.jobs, devices: r.stores.devices, catalog: r.catalog, clock: r.clock });
    await c.start();
    try {
      const summary = await c.create(ctx, { rolloutId: 'fw-2-0-0', firmwareVersion: '2.0.0', stages: [{ percent: 100 }] });
      expect(summary.counts.dispatched).toBe(300);
      expect(most).toBeGreaterThanOrEqual(32);
      expect(most).toBeLessThanOrEqual(64); // bounded: a stage of 10,000 does not open 10,000 publishes at once
      await settle();
      expect(r.devices.every((d) => d.received.length === 1)).toBe(true);
    } finally {
      await c.close();
      await inner.close();
    }
  });
});
