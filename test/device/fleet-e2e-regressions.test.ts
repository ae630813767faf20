// Defects the device-tier end-to-end story (test/device/fleet-story.ts) led to, each pinned by a
// small, deterministic test on the memory broker.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { DeviceAgent, signFirmwareImage, VirtualDevice, type OtaJob } from '../../src/device/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { createFleet, signFirmware } from '../../src/cloud/index.js';
import { defineProvisioningTemplate } from '../../src/lifecycle/index.js';

const T0 = 1_700_000_000_000;
const signer = generateKeyPairSync('ed25519');
const turns = async (n = 8): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};
const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const o of open.splice(0).reverse()) await o.close();
});

function imageOf(version: string): Uint8Array {
  return new TextEncoder().encode(`firmware image ${version}`);
}

function job(jobId: string, version: string): OtaJob {
  const bytes = imageOf(version);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { jobId, firmware: { version, sizeBytes: bytes.length, sha256, signature: signFirmwareImage(signer.privateKey, { version, sizeBytes: bytes.length, sha256 }) } };
}

describe('a repeated job after a later one changed the running firmware', () => {
  it('the agent reports the version it runs, not the one the repeated final report was made with', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const backend = new MemoryTransport({ broker, clientId: 'backend' });
    await backend.connect();
    open.push(backend);
    const reported: unknown[] = [];
    await backend.subscribe('$aws/things/dev-1/shadow/update', (m) => {
      const v = (JSON.parse(new TextDecoder().decode(m.payload)) as { state: { reported: Record<string, unknown> } }).state.reported['firmwareVersion'];
      if (v !== undefined) reported.push(v);
    }, { qos: 1 });
    const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock, autoReconnect: false });
    open.push(transport);
    await transport.connect();
    const agent = new DeviceAgent({
      transport,
      clock,
      tenantId: 'acme',
      deviceId: 'dev-1',
      firmwareVersion: '1.0.0',
      heartbeatIntervalMs: 0,
      jobs: { trustedSigningKeys: [signer.publicKey], fetchImage: (j) => Promise.resolve(imageOf(j.firmware.version)), channel: false },
    });
    open.push({ close: () => agent.stop() });
    await agent.start();
    expect((await agent.runJob(job('fw-2', '2.0.0'))).type).toBe('boot_confirmed');
    expect((await agent.runJob(job('fw-2:rollback', '1.0.0'))).type).toBe('boot_confirmed');
    await turns();
    expect([agent.firmwareVersion, reported]).toEqual(['1.0.0', ['2.0.0', '1.0.0']]);
    // The update job again (a late redelivery): nothing is installed, its final report is repeated,
    // and the shadow keeps saying what the device runs.
    const again = await agent.runJob(job('fw-2', '2.0.0'));
    await turns();
    expect([again.type, agent.firmwareVersion, agent.slots?.active]).toEqual(['boot_confirmed', '1.0.0', 'A']);
    expect(reported).toEqual(['2.0.0', '1.0.0']);
  });
});

describe('a rollback job that arrives while the device is still validating the boot of the bad image', () => {
  it('is run once the boot validation ends (it is not refused BUSY): the device ends on the old version', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const fleet = await createFleet({ transport: new MemoryTransport({ broker, clientId: 'backend' }), clock, template: defineProvisioningTemplate({ name: 't', desiredConfig: {} }), health: { certificates: false }, closeTransport: true });
    open.push({ close: () => fleet.close() });
    const ctx = { tenantId: 'acme' };
    fleet.firmware.addSigningKey(ctx, 'release', signer.publicKey);
    for (const version of ['1.0.0', '2.0.0']) {
      const bytes = imageOf(version);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      fleet.firmware.add(ctx, { version, url: `https://fw.example.com/${version}.bin`, sizeBytes: bytes.length, sha256, hardware: ['esp32-s3'], keyId: 'release', ...signFirmware({ version, sizeBytes: bytes.length, sha256 }, signer.privateKey) });
    }
    // Device "fast" does not come up on 2.0.0; device "slow" boots it and its health check needs two minutes to pass.
    const agents = new Map<string, DeviceAgent>();
    for (const id of ['fast', 'slow']) {
      await fleet.registry.register(ctx, { deviceId: id, hardware: 'esp32-s3', firmwareVersion: '1.0.0' });
      const transport = new MemoryTransport({ broker, clientId: id, clock, autoReconnect: false });
      open.push(transport);
      await transport.connect();
      const agent = new DeviceAgent({
        transport,
        clock,
        tenantId: 'acme',
        deviceId: id,
        firmwareVersion: '1.0.0',
        heartbeatIntervalMs: 60_000,
        jobs: {
          trustedSigningKeys: { release: signer.publicKey },
          fetchImage: (j) => Promise.resolve(imageOf(j.firmware.version)),
          bootCheckIntervalMs: 10_000,
          runtime: {
            boot: (version) => !(id === 'fast' && version === '2.0.0'),
            checks: (_v, bootedAt, now) => [{ name: 'health', status: id === 'slow' && now - bootedAt < 120_000 ? 'pending' : 'pass', at: now }],
          },
        },
      });
      open.push({ close: () => agent.stop() });
      await agent.start();
      agents.set(id, agent);
    }
    const run = async (ms: number): Promise<void> => {
      for (let t = 0; t < ms; t += 10_000) {
        clock.advance(10_000);
        await turns(20);
      }
    };
    await run(60_000); // heartbeats: both online
    await fleet.rollouts.create(ctx, { rolloutId: 'fw-2', firmwareVersion: '2.0.0', stages: [{ percent: 100 }], abort: { onAbort: 'rollback' } });
    await turns(20);
    const slow = agents.get('slow') as DeviceAgent;
    expect((await fleet.rollouts.get(ctx, 'fw-2'))?.state).toBe('aborted');
    expect(slow.slots).toMatchObject({ active: 'B', committed: false }); // still validating 2.0.0
    await run(300_000);
    expect([agents.get('fast')?.firmwareVersion, slow.firmwareVersion, slow.slots?.committed]).toEqual(['1.0.0', '1.0.0', true]);
    const rollbacks = (await fleet.rollouts.executions(ctx, 'fw-2', { rollback: true })).items;
    expect(rollbacks.map((x) => [x.deviceId, x.status])).toContainEqual(['slow', 'succeeded']);
  });
});

describe('VirtualDevice boot validation', () => {
  it('a new image is validated at the first health check after the boot: booting for one health-check period, then committed or rolled back', async () => {
    for (const [firmware, final] of [['good', 'boot_confirmed'], ['fails-health', 'rolled_back']] as const) {
      const clock = new SimulatedClock(T0);
      const broker = new MemoryBroker();
      const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock, autoReconnect: false });
      const device = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: 'dev-1', intervals: { healthCheckMs: 20_000 }, firmware, trustedSigningKeys: [signer.publicKey], fetchImage: (j) => Promise.resolve(imageOf(j.firmware.version)), jobChannel: false });
      open.push({ close: () => device.shutdown().then(() => transport.close()) });
      await device.boot();
      const reports: string[] = [];
      device.agent.on('job', (r) => reports.push(`${(r.ts - T0) / 1000}:${r.type}`));
      void device.agent.runJob(job('j-1', '2.0.0'));
      await turns();
      expect(device.agent.slots).toMatchObject({ active: 'B', committed: false });
      clock.advance(19_999);
      await turns();
      expect(reports).toEqual(['0:picked_up', '0:installed']);
      clock.advance(1);
      await turns();
      expect(reports).toEqual(['0:picked_up', '0:installed', `20:${final}`]);
      expect(device.agent.firmwareVersion).toBe(final === 'boot_confirmed' ? '2.0.0' : '1.0.0');
    }
  });
});

describe('an OTA started by the ota_update command', () => {
  it('is answered on the command; nothing goes to the rollout job wire (the cloud never issued that job)', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const fleet = await createFleet({ transport: new MemoryTransport({ broker, clientId: 'backend' }), clock, template: defineProvisioningTemplate({ name: 't', desiredConfig: {} }), health: { certificates: false }, closeTransport: true });
    open.push({ close: () => fleet.close() });
    const ctx = { tenantId: 'acme' };
    const rejected: string[] = [];
    fleet.rollouts.on('status:rejected', (e) => rejected.push(`${e.topic} ${e.error.code}`));
    await fleet.registry.register(ctx, { deviceId: 'dev-1', hardware: 'esp32-s3', firmwareVersion: '1.0.0' });
    const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock, autoReconnect: false });
    const device = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: 'dev-1', intervals: { healthCheckMs: 10_000 }, trustedSigningKeys: [signer.publicKey], fetchImage: (j) => Promise.resolve(imageOf(j.firmware.version)) });
    open.push({ close: () => device.shutdown().then(() => transport.close()) });
    const errors: string[] = [];
    device.agent.on('error', (e) => errors.push(`${e.code} ${e.message}`));
    await device.boot();
    for (let i = 0; i < 6; i++) {
      clock.advance(10_000);
      await turns();
    }
    const { firmware } = job('unused', '2.0.0');
    const sent = await fleet.commands.sendCommand(ctx, 'dev-1', 'ota_update', { firmware: { ...firmware } });
    for (let i = 0; i < 3; i++) {
      await turns();
      clock.advance(10_000);
    }
    await turns();
    expect((await fleet.commands.get(ctx, sent.commandId))?.status).toBe('succeeded');
    expect(device.agent.firmwareVersion).toBe('2.0.0');
    expect(rejected).toEqual([]);
    expect(errors).toEqual([]);
  });
});
