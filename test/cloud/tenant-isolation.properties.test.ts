// Tenant isolation across the registry, the health monitor and the command service, as a
// fast-check property over random multi-tenant operation sequences: applications calling with
// their tenant context on any device, and devices publishing on any tenant's topics. Law: zero
// cross-tenant reads or writes.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandService } from '../../src/cloud/commands.js';
import { HealthMonitor } from '../../src/cloud/health-monitor.js';
import { isFleetError } from '../../src/errors.js';
import { computeEnrollmentProof, deriveDeviceKey } from '../../src/lifecycle/index.js';
import { fleetRig, settle, type FleetRig, type ScriptedDevice } from './fleet-rig.js';

const SEED = 20_251_127;
const TENANTS = ['acme', 'globex', 'initech'] as const;
type Tenant = (typeof TENANTS)[number];
const OWNER: Readonly<Record<string, Tenant>> = { 'a-1': 'acme', 'a-2': 'acme', 'g-1': 'globex', 'g-2': 'globex', 'i-1': 'initech' };
const DEVICES = Object.keys(OWNER);
const GROUP_KEY = randomBytes(32).toString('base64');

type AppAction = 'get' | 'patch' | 'transition' | 'decommission' | 'send' | 'status';
type DeviceMessage = 'heartbeat' | 'telemetry' | 'ack' | 'enroll';
type Op =
  | { readonly kind: 'app'; readonly caller: Tenant; readonly action: AppAction; readonly target: string }
  | { readonly kind: 'device'; readonly sender: string; readonly topicTenant: Tenant; readonly topicDevice: string; readonly message: DeviceMessage; readonly battery: number }
  | { readonly kind: 'tick'; readonly ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('app' as const), caller: fc.constantFrom(...TENANTS), action: fc.constantFrom<AppAction>('get', 'patch', 'transition', 'decommission', 'send', 'status'), target: fc.constantFrom(...DEVICES) }) },
  { weight: 4, arbitrary: fc.record({
    kind: fc.constant('device' as const),
    sender: fc.constantFrom(...DEVICES),
    // Mostly a device's own topics (so the services know the devices), often someone else's tenant.
    topic: fc.tuple(fc.constantFrom(...DEVICES, 'new-1'), fc.option(fc.constantFrom(...TENANTS), { freq: 2 })),
    message: fc.constantFrom<DeviceMessage>('heartbeat', 'telemetry', 'ack', 'enroll'),
    // Vitals differ from message to message, so a message applied to the wrong device shows.
    battery: fc.constantFrom(5, 15, 90),
  }).map(({ topic: [topicDevice, other], ...rest }) => ({ ...rest, topicDevice, topicTenant: other ?? OWNER[topicDevice] ?? 'acme' })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 3_000 }) }) },
);

interface World {
  readonly r: FleetRig;
  readonly health: HealthMonitor;
  readonly commands: CommandService;
  readonly devices: Map<string, ScriptedDevice>;
  readonly sent: { tenantId: Tenant; deviceId: string; commandId: string }[];
}

let world: World | undefined;
afterEach(async () => {
  if (world === undefined) return;
  await world.commands.close();
  await world.health.close();
  await world.r.close();
  world = undefined;
});

async function build(): Promise<World> {
  const r = await fleetRig();
  const health = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false });
  const commands = new CommandService({ transport: r.backend, commands: r.stores.commands, devices: r.stores.devices, clock: r.clock, presence: health, effects: r.runner });
  await health.start();
  await commands.start();
  for (const t of TENANTS) await r.registry.putEnrollmentGroup({ tenantId: t }, { groupId: 'field', key: GROUP_KEY, tenantId: t });
  const devices = new Map<string, ScriptedDevice>();
  for (const [id, tenantId] of Object.entries(OWNER)) {
    await r.stores.devices.create({ tenantId }, { deviceId: id, tenantId, state: 'active', since: r.clock.now(), identity: { kind: 'symmetric-key', fingerprint: `sha256:${id}`, groupId: 'field', registrationId: id } as never });
    devices.set(id, await r.device(id, [`cmd/${tenantId}/${id}/req/+`]));
  }
  devices.set('new-1', await r.device('new-1', []));
  return { r, health, commands, devices, sent: [] };
}

// Everything each tenant can read: devices, commands, audit entries, the monitor's view.
async function snapshot(w: World): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const t of TENANTS) {
    const ctx = { tenantId: t };
    out[t] = {
      devices: await w.r.registry.all(ctx),
      commands: (await w.commands.list(ctx, { limit: 1000 })).items,
      audit: (await w.r.stores.audit.list(ctx, { limit: 1000 })).items,
      monitor: await Promise.all(DEVICES.filter((d) => OWNER[d] === t).map(async (d) => (await w.health.status(ctx, d)) ?? null)),
    };
  }
  return JSON.stringify(out);
}

async function idle(w: World): Promise<void> {
  await settle(() => w.commands.busyDevices > 0 || w.health.busyDevices > 0 || w.r.registry.busyDevices > 0);
}

async function appCall(w: World, op: Extract<Op, { kind: 'app' }>): Promise<unknown> {
  const ctx = { tenantId: op.caller };
  switch (op.action) {
    case 'get':
      return w.r.registry.get(ctx, op.target);
    case 'patch':
      return w.r.registry.patch(ctx, op.target, { tags: ['touched'] });
    case 'transition':
      return w.r.registry.transition(ctx, op.target, { type: 'scheduled_update', actor: 'app' });
    case 'decommission':
      return w.r.registry.decommission(ctx, op.target, { reason: 'test', actor: 'app' });
    case 'send': {
      const c = await w.commands.sendCommand(ctx, op.target, 'reboot', {});
      w.sent.push({ tenantId: op.caller, deviceId: op.target, commandId: c.commandId });
      return c;
    }
    case 'status':
      return w.health.status(ctx, op.target);
  }
}

async function deviceMessage(w: World, op: Extract<Op, { kind: 'device' }>, now: number): Promise<void> {
  const d = w.devices.get(op.sender) as ScriptedDevice;
  const base = `${op.topicTenant}/${op.topicDevice}`;
  switch (op.message) {
    case 'heartbeat':
      return d.publish(`dt/${base}/heartbeat`, { ts: now, seq: 1, batteryPct: op.battery });
    case 'telemetry':
      return d.publish(`dt/${base}/telemetry`, { ts: now, values: { batteryPct: op.battery } });
    case 'ack': {
      const c = w.sent[w.sent.length - 1];
      const commandId = c?.commandId ?? 'none';
      return d.publish(`cmd/${base}/res/${commandId}`, { commandId, status: 'succeeded', ts: now });
    }
    case 'enroll': {
      const nonce = randomBytes(16).toString('hex');
      const proof = computeEnrollmentProof(deriveDeviceKey(GROUP_KEY, op.topicDevice), nonce, now);
      return d.publish(`cmd/${base}/prov/req`, { type: 'symmetric-key', enrollment: { groupId: 'field', registrationId: op.topicDevice, nonce, timestamp: now, proof } });
    }
  }
}

describe('tenant isolation (property)', () => {
  it('property: no application call or device message of one tenant reads or writes another tenant\'s devices, commands, audit entries or health', async () => {
    let foreignCalls = 0;
    let foreignMessages = 0;
    let foreignToWatched = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 12, maxLength: 40 }), async (ops) => {
        const w = (world = await build());
        // Which tenant owns a device id now: the fixed owners, plus ids enrolled during the run.
        const owner = async (id: string): Promise<string | undefined> => (await w.r.stores.devices.locate(id))?.tenantId;
        for (const op of ops) {
          if (op.kind === 'tick') {
            w.r.clock.advance(op.ms);
            await idle(w);
          } else if (op.kind === 'app') {
            const mine = (await owner(op.target)) === op.caller;
            const result = await appCall(w, op).then(
              (value) => ({ ok: true as const, value }),
              (error: unknown) => ({ ok: false as const, error }),
            );
            if (!mine) {
              foreignCalls++;
              // Never a result, never a silent empty answer: always TENANT_MISMATCH.
              expect(result.ok, `${op.caller} ${op.action} ${op.target}`).toBe(false);
              expect(isFleetError(!result.ok ? result.error : undefined, 'TENANT_MISMATCH'), `${op.caller} ${op.action} ${op.target}`).toBe(true);
            }
            await idle(w);
          } else {
            const topicOwner = await owner(op.topicDevice);
            const foreign = topicOwner !== undefined && topicOwner !== op.topicTenant;
            const before = foreign ? await snapshot(w) : '';
            if (foreign && (await w.health.status({ tenantId: topicOwner }, op.topicDevice)) !== undefined) foreignToWatched++;
            await deviceMessage(w, op, w.r.clock.now());
            await idle(w);
            if (foreign) {
              foreignMessages++;
              expect(await snapshot(w), `${op.sender} → ${op.message} on ${op.topicTenant}/${op.topicDevice}`).toBe(before);
            }
          }
        }
        // Every stored thing of a tenant is about that tenant's devices only.
        for (const t of TENANTS) {
          const ctx = { tenantId: t };
          for (const d of await w.r.registry.all(ctx)) expect(d.tenantId).toBe(t);
          for (const c of (await w.commands.list(ctx, { limit: 1000 })).items) expect(await owner(c.deviceId)).toBe(t);
          for (const e of (await w.r.stores.audit.list(ctx, { limit: 1000 })).items) {
            if (e.action === 'lifecycle.transition' || e.action === 'command.send') expect([t, undefined]).toContain(await owner(e.subject as string));
          }
        }
        await w.commands.close();
        await w.health.close();
        await w.r.close();
        world = undefined;
      }),
      { seed: SEED, numRuns: 40 },
    );
    // The seeded corpus does aim at other tenants (so the laws above were exercised).
    expect(foreignCalls).toBeGreaterThan(20);
    expect(foreignMessages).toBeGreaterThan(20);
    expect(foreignToWatched).toBeGreaterThan(10); // … also at devices the monitor already watches
  });
});
