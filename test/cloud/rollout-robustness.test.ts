// Bad input to the RolloutController and the FirmwareCatalog: a FleetError every time (never a
// TypeError), and no stored state changed.
import { afterEach, describe, expect, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { ctx, rolloutRig, settle, type RolloutRig } from './rollout-rig.js';

const HOSTILE: readonly unknown[] = [undefined, null, 0, -1, Number.NaN, '', 'x/#', '__proto__', {}, [], [null], { tenantId: 42 }, () => 1, Symbol('s'), { toString: () => 'boom' }, { type: 'private' }];

let rig: RolloutRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function outcome(call: () => unknown): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (e) {
    return isFleetError(e) ? 'fleet-error' : `${(e as Error)?.name}: ${(e as Error)?.message}`;
  }
}

describe('RolloutController and FirmwareCatalog answer bad input with FleetErrors', () => {
  it('every public method, every argument position, every hostile value; nothing stored changes', async () => {
    const r = (rig = await rolloutRig());
    r.addImage('2.1.0');
    await r.addDevices(4, () => 'silent');
    await r.controller.create(ctx, { rolloutId: 'r1', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] });
    await settle();
    const c = r.controller;
    const k = r.catalog;
    const image = k.get(ctx, '2.1.0')!;
    const good: Record<string, readonly unknown[]> = {
      'controller.create': [ctx, { rolloutId: 'r2', firmwareVersion: '2.1.0', stages: [{ percent: 100 }] }],
      'controller.pause': [ctx, 'r1'],
      'controller.resume': [ctx, 'r1'],
      'controller.cancel': [ctx, 'r1'],
      'controller.rollback': [ctx, 'r1', { stages: [0] }],
      'controller.get': [ctx, 'r1'],
      'controller.list': [ctx, {}],
      'controller.executions': [ctx, 'r1', {}],
      'controller.recover': [ctx],
      'controller.withdraw': [ctx, 'dev-0003', { reason: 'decommissioned' }],
      'catalog.addSigningKey': [ctx, 'k2', r.keys.publicKey],
      'catalog.revokeSigningKey': [ctx, 'nope'],
      'catalog.signingKey': [ctx, 'release'],
      'catalog.add': [ctx, { ...image, version: '2.2.0' }],
      'catalog.get': [ctx, '2.1.0'],
      'catalog.list': [ctx],
      'catalog.verify': [ctx, '2.1.0'],
      'catalog.checkCompatible': [image, { deviceId: 'd', hardware: 'board-a' }],
    };
    const targets: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of Object.keys(good)) {
      const [obj, method] = name.split('.') as [string, string];
      const o = (obj === 'controller' ? c : k) as unknown as Record<string, (...a: unknown[]) => unknown>;
      targets[name] = (...a) => o[method]!.apply(o, a);
    }
    // Every public method is listed.
    const own = (o: object): string[] => Object.getOwnPropertyNames(Object.getPrototypeOf(o)).filter((m) => m !== 'constructor' && typeof (o as Record<string, unknown>)[m] === 'function');
    expect(own(c).filter((m) => !['start', 'stop', 'close'].includes(m)).map((m) => `controller.${m}`).sort()).toEqual(Object.keys(good).filter((n) => n.startsWith('controller.')).sort());
    expect(own(k).map((m) => `catalog.${m}`).sort()).toEqual(Object.keys(good).filter((n) => n.startsWith('catalog.')).sort());

    const state = async (): Promise<string> => JSON.stringify({ r: await r.stores.jobs.listRollouts(ctx, { limit: 1000 }), e: await r.stores.jobs.listExecutions(ctx, { limit: 1000 }), k: k.list(ctx), key: k.signingKey(ctx, 'release') });
    const problems: string[] = [];
    for (const [name, args] of Object.entries(good)) {
      for (let pos = 0; pos < args.length; pos++) {
        for (const bad of HOSTILE) {
          const before = await state();
          const a = [...args];
          a[pos] = bad;
          const o = await outcome(() => targets[name]!(...a));
          await settle();
          if (o !== 'ok' && o !== 'fleet-error') problems.push(`${name} arg ${pos} = ${String(typeof bad === 'symbol' ? 'symbol' : JSON.stringify(bad))}: ${o}`);
          if (o === 'fleet-error' && (await state()) !== before) problems.push(`${name} arg ${pos}: refused but changed stored state`);
        }
      }
    }
    expect(problems).toEqual([]);
  }, 60_000);
});
