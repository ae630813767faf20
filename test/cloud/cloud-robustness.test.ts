// Bad input to the registry, the health monitor, the command service, the effect runner and the
// ACL generator: a FleetError every time (never a TypeError), and no stored state changed.
import { afterEach, describe, expect, it } from 'vitest';
import { CommandService } from '../../src/cloud/commands.js';
import { HealthMonitor } from '../../src/cloud/health-monitor.js';
import { mosquittoAcl } from '../../src/cloud/mosquitto-acl.js';
import { isFleetError } from '../../src/errors.js';
import { fleetRig, type FleetRig } from './fleet-rig.js';

const HOSTILE: readonly unknown[] = [undefined, null, 0, -1, Number.NaN, '', 'x/#', '__proto__', {}, [], [null], { tenantId: 42 }, () => 1, Symbol('s'), { toString: () => 'boom' }];

let rig: FleetRig | undefined;
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  await rig?.close();
  rig = undefined;
});

async function outcome(call: () => unknown): Promise<'ok' | 'fleet-error' | string> {
  try {
    await call();
    return 'ok';
  } catch (e) {
    return isFleetError(e) ? 'fleet-error' : `${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}

describe('cloud services answer bad input with FleetErrors', () => {
  it('every public method, every argument position, every hostile value', async () => {
    const r = (rig = await fleetRig());
    const ctx = { tenantId: 'acme' };
    await r.stores.devices.create(ctx, { deviceId: 'pump-1', tenantId: 'acme', state: 'active', since: r.clock.now() });
    const health = new HealthMonitor({ transport: r.backend, devices: r.stores.devices, registry: r.registry, clock: r.clock, certificates: false });
    const commands = new CommandService({ transport: r.backend, commands: r.stores.commands, devices: r.stores.devices, clock: r.clock, presence: health, effects: r.runner });
    closers.push(() => commands.close(), () => health.close());
    const good: Record<string, readonly unknown[]> = {
      'registry.register': [ctx, { deviceId: 'new-1' }],
      'registry.get': [ctx, 'pump-1'],
      'registry.query': [ctx, { state: 'active' }],
      'registry.all': [ctx, {}],
      'registry.patch': [ctx, 'pump-1', { tags: ['a'] }],
      'registry.transition': [ctx, 'pump-1', { type: 'heartbeat' }, {}],
      'registry.decommission': [ctx, 'pump-1', { reason: 'r', actor: 'a' }],
      'registry.wipe': [ctx, 'pump-1', {}],
      'registry.putCa': [ctx, { caId: 'c', pem: 'x' }],
      'registry.putEnrollmentGroup': [ctx, { groupId: 'g', key: 'AAAAAAAAAAAAAAAAAAAAAA==', tenantId: 'acme' }],
      'registry.mosquittoAcl': [ctx, {}],
      'registry.provisioningStats': [ctx],
      'health.status': [ctx, 'pump-1'],
      'health.stats': [ctx],
      'health.certificatesExpiring': [ctx, {}],
      'commands.sendCommand': [ctx, 'pump-1', 'reboot', {}, {}],
      'commands.get': [ctx, 'c-1'],
      'commands.list': [ctx, {}],
      'commands.recover': [ctx],
      'commands.cancelOpen': [ctx, 'pump-1', 'why'],
      'effects.run': [ctx, [], {}],
      'effects.record': [ctx, { tenantId: 'acme', at: 1, actor: 'a', action: 'x' }],
      mosquittoAcl: [[{ deviceId: 'pump-1', tenantId: 'acme', state: 'active' }], {}],
    };
    const target = (name: string): ((...args: unknown[]) => unknown) => {
      const [obj, method] = name.includes('.') ? (name.split('.') as [string, string]) : ['', name];
      const o = obj === 'registry' ? r.registry : obj === 'health' ? health : obj === 'commands' ? commands : obj === 'effects' ? r.runner : undefined;
      return o === undefined ? (mosquittoAcl as (...args: unknown[]) => unknown) : ((o as unknown as Record<string, (...a: unknown[]) => unknown>)[method] as (...a: unknown[]) => unknown).bind(o);
    };
    const snapshot = async (): Promise<string> =>
      JSON.stringify([
        (await r.stores.devices.query(ctx, { limit: 1000 })).items,
        (await r.stores.audit.list(ctx, { limit: 1000 })).items,
        (await r.stores.commands.listCommands(ctx, { limit: 1000 })).items,
        (await r.stores.devices.listRevocations(ctx)).items,
      ]);
    const failures: string[] = [];
    let refused = 0;
    for (const [name, args] of Object.entries(good)) {
      for (let position = 0; position < args.length; position++) {
        for (const value of HOSTILE) {
          const call = [...args];
          call[position] = value;
          const before = await snapshot();
          const result = await outcome(() => target(name)(...call));
          const shown = `${name} arg ${position} = ${String(typeof value === 'symbol' ? 'symbol' : JSON.stringify(value) ?? typeof value)}`;
          if (result !== 'ok' && result !== 'fleet-error') failures.push(`${shown}: ${result}`);
          if (result === 'fleet-error') {
            refused++;
            if ((await snapshot()) !== before) failures.push(`${shown}: refused but changed stored state`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(refused).toBeGreaterThan(200);
  });
});
