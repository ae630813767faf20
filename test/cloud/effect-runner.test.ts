// The effect runner: the one executor of the lifecycle core's effects.
import { describe, expect, it } from 'vitest';
import { EffectRunner } from '../../src/cloud/effect-runner.js';
import { isFleetError } from '../../src/errors.js';
import { createDeviceSnapshot, planDecommission, transition, type DeviceRecord, type LifecycleEffect } from '../../src/lifecycle/index.js';
import { createMemoryStores } from '../../src/memory.js';

const T0 = 1_700_000_000_000;
const ctx = { tenantId: 'acme' };

const RECORD: DeviceRecord = {
  deviceId: 'pump-7',
  tenantId: 'acme',
  state: 'active',
  since: T0,
  updatedAt: T0,
  identity: { kind: 'symmetric-key', fingerprint: 'sha256:ab', groupId: 'field', registrationId: 'pump-7' },
  attributes: {},
  desiredConfig: { rateS: 60 },
  policies: ['acme-telemetry'],
  template: 't1',
  provisionedAt: T0,
};

function rig() {
  const stores = createMemoryStores();
  const runner = new EffectRunner({ devices: stores.devices, audit: stores.audit, shadows: stores.shadows });
  return { stores, runner };
}

describe('EffectRunner', () => {
  it('runs a transition: the record write first (compare-and-set), then the audit entry', async () => {
    const { stores, runner } = rig();
    const stored = await stores.devices.create(ctx, RECORD);
    const r = transition(stored, { type: 'health_check_failed', actor: 'monitor', reason: 'battery 8 %' }, { now: T0 + 5 });
    if (!r.ok || r.next === null) throw new Error('transition refused');
    const report = await runner.run(ctx, r.effects, { write: { next: r.next, expectedRevision: stored.revision } });
    expect(report.record?.state).toBe('degraded');
    expect(report.record?.revision).toBe(2);
    expect(report.outcomes.map((o) => [o.effect.type, o.status])).toEqual([['audit', 'done']]);
    const audit = await stores.audit.list(ctx);
    expect(audit.items).toEqual([
      { tenantId: 'acme', seq: 1, at: T0 + 5, actor: 'monitor', action: 'lifecycle.transition', subject: 'pump-7', reason: 'battery 8 %', details: { from: 'active', to: 'degraded', event: 'health_check_failed' } },
    ]);
  });

  it('a lost compare-and-set throws the store error and runs nothing (no audit for a change that was not stored)', async () => {
    const { stores, runner } = rig();
    const stored = await stores.devices.create(ctx, RECORD);
    await stores.devices.update(ctx, { ...stored, tags: ['moved'] }, stored.revision); // another writer
    const r = transition(stored, { type: 'health_check_failed' }, { now: T0 + 5 });
    if (!r.ok || r.next === null) throw new Error('transition refused');
    const err = await runner.run(ctx, r.effects, { write: { next: r.next, expectedRevision: stored.revision } }).catch((e: unknown) => e);
    expect(isFleetError(err, 'VERSION_CONFLICT')).toBe(true);
    expect((await stores.audit.list(ctx)).items).toEqual([]);
  });

  it('runs a decommission plan: record first, credential revoked, shadows purged, handlers called, skipped effects reported', async () => {
    const { stores, runner } = rig();
    const stored = await stores.devices.create(ctx, RECORD);
    await stores.shadows.compareAndSet(ctx, 'pump-7', undefined, 0, { state: { reported: { a: 1 } }, metadata: { reported: { a: { timestamp: 1 } } }, version: 1, timestamp: 1 } as never);
    const cancelled: string[] = [];
    runner.use('cancel-pending', (_ctx, e) => {
      cancelled.push(`${e.deviceId}:${e.scopes.join('+')}`);
    });
    const plan = planDecommission(stored, { reason: 'RMA 4411', actor: 'ops', now: T0 + 10 });
    if (!plan.ok) throw plan.error;
    const report = await runner.run(ctx, plan.effects, { write: { next: plan.next, expectedRevision: stored.revision } });
    expect(report.outcomes.map((o) => `${o.effect.type}:${o.status}`)).toEqual([
      'revoke-credential:done',
      'detach-policies:skipped',
      'cancel-pending:done',
      'request-data-wipe:done',
      'remove-from-monitoring:skipped',
      'remove-from-billing:skipped',
      'audit:done',
    ]);
    expect((await stores.devices.get(ctx, 'pump-7'))?.state).toBe('decommissioned');
    expect(await stores.devices.isRevoked(ctx, { kind: 'enrollment', groupId: 'field', registrationId: 'pump-7' })).toBe(true);
    expect(await stores.shadows.get(ctx, 'pump-7')).toBeUndefined();
    expect(cancelled).toEqual(['pump-7:rollout-actions+commands']);
  });

  it('data_wiped removes the record before writing its audit entry', async () => {
    const { stores, runner } = rig();
    const stored = await stores.devices.create(ctx, { ...RECORD, state: 'decommissioned' });
    const r = transition(stored, { type: 'data_wiped' }, { now: T0 + 1 });
    if (!r.ok) throw r.error;
    const report = await runner.run(ctx, r.effects);
    expect(report.outcomes.map((o) => o.effect.type)).toEqual(['remove-record', 'audit']);
    expect(report.record).toBeUndefined();
    expect(await stores.devices.get(ctx, 'pump-7')).toBeUndefined();
    expect((await stores.audit.list(ctx)).items[0]?.details).toEqual({ from: 'decommissioned', to: null, event: 'data_wiped' });
  });

  it('refuses effects of another tenant before running any of them', async () => {
    const { stores, runner } = rig();
    const snap = createDeviceSnapshot({ deviceId: 'x', tenantId: 'globex', now: T0 });
    const r = transition(snap, { type: 'registration_initiated' }, { now: T0 });
    if (!r.ok) throw r.error;
    const effects: LifecycleEffect[] = [{ type: 'revoke-credential', deviceId: 'x', tenantId: 'acme', revocation: { kind: 'enrollment', groupId: 'g', registrationId: 'x' } }, ...r.effects];
    const err = await runner.run(ctx, effects).catch((e: unknown) => e);
    expect(isFleetError(err, 'TENANT_MISMATCH')).toBe(true);
    expect(await stores.devices.isRevoked(ctx, { kind: 'enrollment', groupId: 'g', registrationId: 'x' })).toBe(false);
  });

  it('a failing handler stops the run with INTERNAL naming what completed; running again finishes (idempotent)', async () => {
    const { stores, runner } = rig();
    const stored = await stores.devices.create(ctx, RECORD);
    let fail = true;
    runner.use('remove-from-monitoring', () => {
      if (fail) throw new Error('monitor down');
    });
    const plan = planDecommission(stored, { reason: 'r', actor: 'a', now: T0 + 1 });
    if (!plan.ok) throw plan.error;
    const err = await runner.run(ctx, plan.effects, { write: { next: plan.next, expectedRevision: stored.revision } }).catch((e: unknown) => e);
    expect(isFleetError(err, 'INTERNAL')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ failed: 'remove-from-monitoring', completed: ['revoke-credential', 'detach-policies', 'cancel-pending', 'request-data-wipe'] });
    fail = false;
    const again = await runner.run(ctx, plan.effects);
    expect(again.outcomes).toHaveLength(7);
    expect((await stores.devices.listRevocations(ctx)).items).toHaveLength(1);
  });

  it('bad arguments are FleetErrors', async () => {
    expect(() => new EffectRunner({} as never)).toThrow(/devices: DeviceStore/);
    const { runner } = rig();
    await expect(runner.run(ctx, [null as never])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(runner.run({ tenantId: 'bad/tenant' }, [])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => runner.use('audit', 'x' as never)).toThrow(/must be a function/);
  });
});
