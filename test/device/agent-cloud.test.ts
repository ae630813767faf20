// DeviceAgent against the real cloud services on a MemoryBroker and a SimulatedClock: provisioning,
// the shadow configuration round trip, commands (also queued while offline), the offline telemetry
// buffer and stale deltas.
import { afterEach, describe, expect, it } from 'vitest';
import { deriveDeviceKey } from '../../src/lifecycle/index.js';
import { DeviceAgent, isFleetError, VirtualDevice, type ConfigChangedEvent, type StaleShadowEvent } from '../../src/device/index.js';
import { opensslAvailable } from '../support/certs.js';
import { deviceIdentity, Pki } from '../cloud/pki.js';
import { cloudRig, ctx, GROUP_KEY, HEARTBEAT_MS, type CloudRig } from './cloud-rig.js';

let rig: CloudRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

async function setup(): Promise<CloudRig> {
  rig = await cloudRig();
  return rig;
}

describe('provisioning', () => {
  it('enrolls with a symmetric key and stores what the answer returns', async () => {
    const r = await setup();
    const agent = await r.agent('dev-1');
    const answer = agent.provisioning;
    expect(answer).toMatchObject({ type: 'accepted', deviceId: 'dev-1', tenantId: 'acme', desired: { reportIntervalS: 60 } });
    expect(answer?.topics['telemetry'] as string).toBe('dt/acme/dev-1/telemetry');
    expect(agent.config).toEqual({ reportIntervalS: 60 });
    expect((await r.registry.get(ctx, 'dev-1'))?.state).toBe('active');
  });

  it('rejects with the registry refusal for a wrong device key, and stores nothing', async () => {
    const r = await setup();
    const transport = r.transport('dev-bad');
    await transport.connect();
    const agent = new DeviceAgent({ transport, clock: r.clock, tenantId: 'acme', deviceId: 'dev-bad', credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: deriveDeviceKey('d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmc=', 'dev-bad') } });
    const result = agent.provision().then(
      () => undefined,
      (e: unknown) => e,
    );
    await r.settle();
    const error = await result;
    expect(isFleetError(error)).toBe(true);
    expect(agent.provisioning).toBeUndefined();
    expect(agent.config).toEqual({});
  });

  it('times out on the clock when no registry answers', async () => {
    const r = await setup();
    await r.registry.stop();
    const transport = r.transport('dev-2');
    await transport.connect();
    const agent = new DeviceAgent({ transport, clock: r.clock, tenantId: 'acme', deviceId: 'dev-2', provisioningTimeoutMs: 5_000, credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: deriveDeviceKey(GROUP_KEY, 'dev-2') } });
    const result = agent.provision().then(
      () => undefined,
      (e: unknown) => e,
    );
    await r.settle(); // the request is out and its timer armed
    await r.run(4_999);
    let settled = false;
    void result.then(() => (settled = true));
    await r.settle();
    expect(settled).toBe(false);
    await r.run(1);
    expect(isFleetError(await result, 'TIMEOUT')).toBe(true);
  });
});

describe('shadow sync', () => {
  it('round-trips a configuration: desired → delta → applied → reported, the delta closes', async () => {
    const r = await setup();
    const agent = await r.agent('dev-1');
    const events: ConfigChangedEvent[] = [];
    agent.on('config', (e) => events.push(e));
    await agent.start();
    await r.settle();
    await r.shadows.update(ctx, 'dev-1', { state: { desired: { reportIntervalS: 30, mode: 'eco' } } });
    await r.settle();
    expect(agent.config).toEqual({ reportIntervalS: 30, mode: 'eco' });
    expect(events.at(-1)).toMatchObject({ source: 'delta', changed: expect.arrayContaining(['reportIntervalS', 'mode']) as unknown });
    const doc = await r.shadows.get(ctx, 'dev-1');
    expect(doc.state.reported).toMatchObject({ reportIntervalS: 30, mode: 'eco' });
    expect(doc.state.delta).toBeUndefined();
    expect(agent.shadowVersion).toBeGreaterThan(0);
  });

  it('drops a delta older than the version already applied, and one equal to it', async () => {
    const r = await setup();
    const agent = await r.agent('dev-1');
    const stale: StaleShadowEvent[] = [];
    agent.on('stale', (e) => stale.push(e));
    await agent.start();
    await r.shadows.update(ctx, 'dev-1', { state: { desired: { level: 2 } } });
    await r.settle();
    const applied = agent.shadowVersion;
    expect(agent.config['level']).toBe(2);
    // A compromised or reordering broker replays older deltas.
    for (const version of [applied - 1, applied]) {
      await r.backend.publish('$aws/things/dev-1/shadow/update/delta', JSON.stringify({ state: { level: 1 }, version, timestamp: 1 }), { qos: 1 });
    }
    await r.settle();
    expect(agent.config['level']).toBe(2);
    expect(stale.map((s) => s.version)).toEqual([applied - 1, applied]);
    expect(agent.stats.staleDropped).toBe(2);
  });

  it('after an offline spell, GET on reconnect brings the newest configuration; queued older deltas are dropped', async () => {
    const r = await setup();
    const agent = await r.agent('dev-1');
    await agent.start();
    await r.settle();
    r.broker.disconnect('dev-1');
    await r.settle();
    expect(agent.online).toBe(false);
    await r.shadows.update(ctx, 'dev-1', { state: { desired: { level: 1 } } });
    await r.shadows.update(ctx, 'dev-1', { state: { desired: { level: 2 } } });
    await r.settle();
    expect(agent.config['level']).toBeUndefined(); // offline: runs on the last configuration
    const doc = await r.shadows.get(ctx, 'dev-1');
    const reconnect = r.transportOf('dev-1').connect();
    await r.settle();
    await reconnect;
    await r.settle();
    expect(agent.config['level']).toBe(2);
    expect(agent.shadowVersion).toBeGreaterThanOrEqual(doc.version);
    await r.backend.publish('$aws/things/dev-1/shadow/update/delta', JSON.stringify({ state: { level: 1 }, version: doc.version - 1, timestamp: 1 }), { qos: 1 });
    await r.settle();
    expect(agent.config['level']).toBe(2);
  });

  it('cloud-wins (default): a value changed on both sides while offline takes the cloud’s; device-wins keeps the device’s', async () => {
    for (const policy of ['cloud-wins', 'device-wins'] as const) {
      const r = await setup();
      const agent = await r.agent('dev-1', { conflictPolicy: policy });
      await agent.start();
      await r.shadows.update(ctx, 'dev-1', { state: { desired: { level: 1, other: 'a' } } });
      await r.settle();
      r.broker.disconnect('dev-1');
      await r.settle();
      agent.updateConfig({ level: 5 }); // a local change while offline
      await r.shadows.update(ctx, 'dev-1', { state: { desired: { level: 9, other: 'b' } } });
      await r.transportOf('dev-1').connect();
      await r.settle();
      expect(agent.config).toEqual({ reportIntervalS: 60, level: policy === 'cloud-wins' ? 9 : 5, other: 'b' });
      await r.close();
      rig = undefined;
    }
  });
});


describe('commands', () => {
  it('acknowledges received then succeeded with the handler’s result; unknown commands are rejected', async () => {
    const r = await setup();
    const agent = await r.agent('dev-1');
    agent.handle('add', (params) => (params['a'] as number) + (params['b'] as number));
    await agent.start();
    await r.run(HEARTBEAT_MS);
    const sent = await r.commands.sendCommand(ctx, 'dev-1', 'add', { a: 2, b: 3 });
    const unknown = await r.commands.sendCommand(ctx, 'dev-1', 'self-destruct', {});
    await r.settle();
    const done = await r.stores.commands.getCommand(ctx, sent.commandId);
    expect(done).toMatchObject({ status: 'succeeded', result: 5 });
    const refused = await r.stores.commands.getCommand(ctx, unknown.commandId);
    expect(refused).toMatchObject({ status: 'rejected', error: { code: 'UNKNOWN_COMMAND' } });
  });

  it('a command sent while the device is offline is queued by the service and runs once when it is back', async () => {
    const r = await setup();
    const agent = await r.agent('dev-1');
    let runs = 0;
    agent.handle('blink', () => {
      runs++;
      return { ok: true };
    });
    await agent.start();
    await r.run(HEARTBEAT_MS);
    r.broker.disconnect('dev-1');
    await r.run(3 * HEARTBEAT_MS); // the monitor now counts the device offline
    const sent = await r.commands.sendCommand(ctx, 'dev-1', 'blink', {});
    await r.settle();
    expect((await r.stores.commands.getCommand(ctx, sent.commandId))?.status).toBe('queued');
    await r.transportOf('dev-1').connect();
    await r.run(HEARTBEAT_MS); // the next heartbeat marks it online; the service publishes the queue
    expect((await r.stores.commands.getCommand(ctx, sent.commandId))?.status).toBe('succeeded');
    expect(runs).toBe(1);
    // A re-delivery of the same command is not run again; its final acknowledgement is repeated.
    await r.backend.publish(`cmd/acme/dev-1/req/${sent.commandId}`, JSON.stringify({ commandId: sent.commandId, name: 'blink', params: {}, issuedAt: r.clock.now() }), { qos: 1 });
    await r.settle();
    expect(runs).toBe(1);
  });
});

describe('telemetry offline', () => {
  it('buffers while offline (drop-oldest, counted) and flushes in order on reconnect, none duplicated', async () => {
    const r = await setup();
    const seqs: number[] = [];
    await r.backend.subscribe('dt/acme/dev-1/telemetry', (m) => seqs.push((JSON.parse(new TextDecoder().decode(m.payload)) as { seq: number }).seq), { qos: 1 });
    let i = 0;
    const agent = await r.agent('dev-1', { telemetryIntervalMs: 1_000, telemetryBufferSize: 5, sampleTelemetry: () => ({ i: i++ }) });
    const dropped: number[] = [];
    agent.on('telemetry:dropped', (n) => dropped.push(n));
    await agent.start();
    await r.run(3_000);
    expect(seqs).toEqual([1, 2, 3]);
    r.broker.disconnect('dev-1');
    await r.settle();
    await r.run(8_000); // 8 samples, 5 fit
    expect(agent.stats).toMatchObject({ telemetryBuffered: 5, telemetryDropped: 3 });
    expect(dropped).toEqual([1, 2, 3]);
    await r.transportOf('dev-1').connect();
    await r.settle();
    await r.run(2_000);
    // seq 4–6 were dropped (the oldest); 7–11 flushed in order, then 12 and 13 live.
    expect(seqs).toEqual([1, 2, 3, 7, 8, 9, 10, 11, 12, 13]);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(agent.stats.telemetryBuffered).toBe(0);
  });
});


describe('X.509 provisioning', () => {
  const hasOpenssl = opensslAvailable();
  it.skipIf(!hasOpenssl)('asks for a nonce, signs it with the certificate key (EC and Ed25519) and stores the answer', async () => {
    const pki = new Pki();
    try {
      const ca = pki.ca('acme-ca', '/CN=Acme Devices CA/O=acme');
      const identities = { 'x-ec': deviceIdentity(pki, ca, '/CN=x-ec/O=acme', { key: 'ec' }), 'x-ed': deviceIdentity(pki, ca, '/CN=x-ed/O=acme', { key: 'ed25519' }) };
      const victim = deviceIdentity(pki, ca, '/CN=x-victim/O=acme');
      const thief = deviceIdentity(pki, ca, '/CN=x-thief/O=acme');
      // Certificates are valid from the moment openssl issued them: start the virtual clock after that.
      const r = (rig = await cloudRig(Math.ceil(Date.now() / 1000) * 1000 + 1000));
      await r.registry.putCa(ctx, { caId: 'acme-ca', pem: ca.pem });
      for (const id of ['x-ec', 'x-ed'] as const) {
        const identity = identities[id];
        const transport = r.transport(id);
        await transport.connect();
        const agent = new DeviceAgent({ transport, clock: r.clock, tenantId: 'acme', deviceId: id, credentials: { method: 'x509', certificateChain: [identity.cert], privateKey: identity.key } });
        const provisioned = agent.provision();
        await r.settle();
        expect(await provisioned).toMatchObject({ type: 'accepted', deviceId: id, tenantId: 'acme' });
        expect(agent.provisioning?.deviceId).toBe(id);
      }
      // A certificate with someone else's key never provisions.
      const transport = r.transport('x-victim');
      await transport.connect();
      const agent = new DeviceAgent({ transport, clock: r.clock, tenantId: 'acme', deviceId: 'x-victim', credentials: { method: 'x509', certificateChain: [victim.cert], privateKey: thief.key } });
      const refused = agent.provision().then(
        () => undefined,
        (e: unknown) => e,
      );
      await r.settle();
      expect(isFleetError(await refused, 'PROOF_INVALID')).toBe(true);
    } finally {
      pki.cleanup();
    }
  });
});

describe('VirtualDevice against the cloud tier', () => {
  it('provisions on first boot (UNPROVISIONED → ACTIVE) and is heard by the health monitor; a refused one stays UNPROVISIONED', async () => {
    const r = await setup();
    const transport = r.transport('esp-1');
    const device = new VirtualDevice({ transport, clock: r.clock, tenantId: 'acme', deviceId: 'esp-1', seed: 1, credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: deriveDeviceKey(GROUP_KEY, 'esp-1') } });
    expect(device.state).toBe('UNPROVISIONED');
    const booted = device.boot();
    await r.settle();
    await booted;
    expect([device.state, device.lifecycleState]).toEqual(['ACTIVE', 'active']);
    // It said what it is when it provisioned: the registry has its model and firmware.
    expect(await r.stores.devices.get(ctx, 'esp-1')).toMatchObject({ hardware: 'esp32', firmwareVersion: '1.0.0' });
    await r.run(20_000);
    expect(await r.health.status(ctx, 'esp-1')).toMatchObject({ online: true, health: 'good' });
    await device.shutdown();

    const bad = new VirtualDevice({ transport: r.transport('esp-2'), clock: r.clock, tenantId: 'acme', deviceId: 'esp-2', seed: 2, credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: deriveDeviceKey(GROUP_KEY, 'someone-else') } });
    const refused = bad.boot().then(
      () => undefined,
      (e: unknown) => e,
    );
    await r.settle();
    expect(isFleetError(await refused)).toBe(true);
    expect(bad.state).toBe('UNPROVISIONED');
  });
});
