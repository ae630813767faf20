// The shadow bridge's mosquitto configuration and ShadowService's requestPrefix (the other half of
// the recipe); the real broker runs it in shadow-bridge.mosquitto.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { mosquittoShadowBridge, ShadowService } from '../../src/cloud/index.js';
import { isFleetError } from '../../src/errors.js';
import { createMemoryStores, MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { shadowRig, type Rig } from './harness.js';

let rig: Rig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

describe('mosquittoShadowBridge', () => {
  it('bridges exactly the request topics of classic and named shadows under the prefix, at QoS 1, with a persistent session', () => {
    const b = mosquittoShadowBridge({ port: 1883 });
    const lines = b.config.trim().split('\n');
    expect(lines).toContain('connection fleetkit-shadow-bridge');
    expect(lines).toContain('address 127.0.0.1:1883');
    expect(lines).toContain('cleansession false');
    expect(lines.filter((l) => l.startsWith('topic '))).toEqual(['topic things/+/shadow/+ in 1 fleetkit/aws/ $aws/', 'topic things/+/shadow/name/+/+ in 1 fleetkit/aws/ $aws/']);
    expect(b.sources).toEqual(['$aws/things/+/shadow/+', '$aws/things/+/shadow/name/+/+']);
    expect(b.acl).toBe('');
    const tls = mosquittoShadowBridge({ port: 8883, host: 'broker.local', prefix: 'svc/', named: false, name: 'b1', username: 'bridge', tls: { cafile: '/c/ca.crt', certfile: '/c/b.crt', keyfile: '/c/b.key' } });
    expect(tls.config).toContain('address broker.local:8883\nclientid b1\n');
    expect(tls.config).toContain('remote_username bridge\nbridge_cafile /c/ca.crt\nbridge_certfile /c/b.crt\nbridge_keyfile /c/b.key\n');
    expect(tls.config.split('\n').filter((l) => l.startsWith('topic '))).toEqual(['topic things/+/shadow/+ in 1 svc/ $aws/']);
    expect(tls.acl.split('\n')).toEqual(['# fleetkit shadow bridge', 'user bridge', 'topic read $aws/things/+/shadow/+', 'topic write svc/things/#', '']);
    expect(mosquittoShadowBridge({ port: 1883 })).toEqual(b);
  });

  it.each([
    [{ port: 0 }, 'port'],
    [{ port: 70_000 }, 'port'],
    [{ port: '1883' }, 'port'],
    [{ port: 1883, prefix: '$aws/' }, 'prefix'],
    [{ port: 1883, prefix: 'no-slash' }, 'prefix'],
    [{ port: 1883, prefix: 'a/+/' }, 'prefix'],
    [{ port: 1883, prefix: 'a//b/' }, 'prefix'],
    [{ port: 1883, prefix: '/a/' }, 'prefix'],
    [{ port: 1883, host: 'evil\nconnection x' }, 'host'],
    [{ port: 1883, name: 'a b' }, 'name'],
    [{ port: 1883, username: 'x\ny' }, 'username'],
    [{ port: 1883, named: 'yes' }, 'named'],
    [{ port: 1883, tls: { cafile: 'a', certfile: 'b\nc', keyfile: 'd' } }, 'tls.certfile'],
    [{ port: 1883, tls: 'x' }, 'tls.cafile'],
  ])('refuses %j naming %s', (options, what) => {
    let error: unknown;
    try {
      mosquittoShadowBridge(options as never);
    } catch (e) {
      error = e;
    }
    expect(isFleetError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toContain(what);
  });
});

describe('ShadowService requestPrefix', () => {
  it('serves requests arriving under the prefix and answers on the $aws topics; the $aws request topics themselves are not subscribed', async () => {
    rig = await shadowRig({ requestPrefix: 'fleetkit/aws/' });
    await rig.register('pump-1');
    const d = await rig.device('pump-1');
    await d.sendRaw('fleetkit/aws/things/pump-1/shadow/update', JSON.stringify({ state: { reported: { on: true } }, clientToken: 't1' }));
    expect((await d.next('update/accepted')).payload).toMatchObject({ version: 1, clientToken: 't1' });
    const from = d.inbox.length;
    await d.sendRaw('fleetkit/aws/things/pump-1/shadow/name/cfg/update', JSON.stringify({ state: { desired: { mode: 'eco' } } }));
    expect((await d.next('update/accepted', from)).shadowName).toBe('cfg');
    // A request on the $aws topic reaches nobody here (in production the bridge forwards it).
    await d.send('update', { state: { reported: { on: false } } });
    await rig.settle();
    expect((await rig.stores.shadows.get({ tenantId: 'acme' }, 'pump-1'))?.version).toBe(1);
  });

  it('refuses a prefix that is not a plain topic prefix ending in "/"', () => {
    const stores = createMemoryStores();
    const transport = new MemoryTransport({ broker: new MemoryBroker(), clientId: 'x' });
    for (const requestPrefix of ['fleetkit', '$share/', 'a/#/', 'a//', '', 7]) {
      expect(() => new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices, requestPrefix: requestPrefix as string })).toThrow(/requestPrefix/);
    }
    expect(() => new ShadowService({ transport, shadows: stores.shadows, devices: stores.devices, requestPrefix: '$aws/' })).not.toThrow();
  });
});
