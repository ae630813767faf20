// The job agent on fleetkit's job wire: jobs/next on wake, job documents in, status updates out in
// the tracker's vocabulary (validated by the wire's own schema), cancellations, refused images and
// rollbacks — against a scripted cloud on the memory broker.
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { DeviceAgent, signFirmwareImage, VirtualDevice, type FirmwareBehaviour } from '../../src/device/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { jobNextRequestSchema, jobStatusUpdateSchema, reportTypeOf, type ActiveJobDocument, type JobStatusUpdate } from '../../src/protocol/job-wire.js';

const T0 = 1_700_000_000_000;
const signer = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const turns = async (n = 6): Promise<void> => {
  for (let i = 0; i < n; i++) await turn();
};

const IMAGE = new Uint8Array(1024).map((_, i) => (i * 31) & 255);
const SHA = createHash('sha256').update(IMAGE).digest('hex');

function doc(jobId: string, version: string, options: { key?: typeof signer.privateKey; status?: 'dispatched' | 'cancelled'; executionVersion?: number; windowMs?: number } = {}): Record<string, unknown> {
  const base = { jobId, rolloutId: 'r-1', executionVersion: options.executionVersion ?? 1, issuedAt: T0 };
  if (options.status === 'cancelled') return { ...base, status: 'cancelled' };
  const firmware = { version, url: `https://fw.example.com/${version}.bin`, sizeBytes: IMAGE.length, sha256: SHA, signatureAlgorithm: 'ed25519', keyId: 'k-1' };
  const active: ActiveJobDocument = {
    ...base,
    status: 'dispatched',
    operation: 'ota',
    intent: 'update',
    firmware: { ...firmware, signature: signFirmwareImage(options.key ?? signer.privateKey, { version, sizeBytes: IMAGE.length, sha256: SHA }) } as ActiveJobDocument['firmware'],
    deadlines: { pickupBy: T0 + 3_600_000, runMs: 600_000 },
    bootValidation: { windowMs: options.windowMs ?? 30_000 },
  };
  return active;
}

interface Cloud {
  readonly clock: SimulatedClock;
  readonly statuses: JobStatusUpdate[];
  readonly nexts: unknown[];
  send(jobId: string, payload: unknown): Promise<void>;
  run(ms: number): Promise<void>;
  close(): Promise<void>;
}

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.allSettled(open.splice(0).map((o) => o.close()));
});

async function cloud(clock: SimulatedClock, broker: MemoryBroker): Promise<Cloud> {
  const backend = new MemoryTransport({ broker, clientId: 'backend', queue: { maxMessages: 10_000 } });
  await backend.connect();
  const statuses: Cloud['statuses'] = [];
  const nexts: unknown[] = [];
  const decode = (p: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(p));
  await backend.subscribe('cmd/acme/dev-1/job/+/status', (m) => {
    const parsed = jobStatusUpdateSchema.parse(decode(m.payload)); // the wire's own schema
    statuses.push(parsed);
  }, { qos: 1 });
  await backend.subscribe('cmd/acme/dev-1/jobs/next', (m) => nexts.push(jobNextRequestSchema.parse(decode(m.payload))), { qos: 1 });
  const c: Cloud = {
    clock,
    statuses,
    nexts,
    send: async (jobId, payload) => {
      await backend.publish(`cmd/acme/dev-1/job/${jobId}`, JSON.stringify(payload), { qos: 1 });
      await turns();
    },
    run: async (ms) => {
      for (let t = 0; t < ms; t += 1_000) {
        clock.advance(1_000);
        await turns(3);
      }
    },
    close: () => backend.close(),
  };
  open.push(c);
  return c;
}

async function virtualDevice(firmware: FirmwareBehaviour = 'good'): Promise<{ c: Cloud; device: VirtualDevice; transport: MemoryTransport }> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const c = await cloud(clock, broker);
  const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock, autoReconnect: false });
  const device = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: 'dev-1', seed: 3, firmware, trustedSigningKeys: { 'k-1': signer.publicKey }, fetchImage: () => Promise.resolve(IMAGE.slice()) });
  open.push({ close: () => device.shutdown().then(() => transport.close()) });
  await device.boot();
  await turns();
  return { c, device, transport };
}

describe('job wire', () => {
  it('asks for its pending job on every (re)connect with the running version', async () => {
    const { c, transport } = await virtualDevice();
    expect(c.nexts).toEqual([{ requestId: 'next-1', ts: T0, firmwareVersion: '1.0.0' }]);
    await transport.close();
  });

  it('a good image: in_progress/installing → in_progress/booting → succeeded; the device runs it', async () => {
    const { c, device } = await virtualDevice('good');
    await c.send('j-1', doc('j-1', '2.0.0'));
    await c.run(10_000);
    expect(c.statuses.map((s) => [s.status, s.phase])).toEqual([
      ['in_progress', 'installing'],
      ['in_progress', 'booting'],
      ['succeeded', undefined],
    ]);
    expect(c.statuses.map((s) => reportTypeOf(s))).toEqual(['picked_up', 'installed', 'boot_confirmed']);
    expect(device.agent.firmwareVersion).toBe('2.0.0');
    expect(device.agent.slots).toMatchObject({ active: 'B', committed: true });
  });

  it('firmware that fails to boot: rolled_back, the old slot runs', async () => {
    const { c, device } = await virtualDevice('fails-to-boot');
    await c.send('j-1', doc('j-1', '2.0.0'));
    await c.run(10_000);
    expect(c.statuses.at(-1)).toMatchObject({ status: 'rolled_back', statusDetails: { code: 'BOOT_VALIDATION_FAILED', firmwareVersion: '1.0.0' } });
    expect(device.agent.firmwareVersion).toBe('1.0.0');
  });

  it('firmware that fails its health check after boot: rolled_back at the first check', async () => {
    const { c, device } = await virtualDevice('fails-health');
    await c.send('j-1', doc('j-1', '2.0.0'));
    await c.run(10_000);
    expect(c.statuses.map((s) => s.status)).toEqual(['in_progress', 'in_progress', 'rolled_back']);
    expect(device.agent.slots).toMatchObject({ active: 'A', committed: true });
  });

  it('an image signed by an untrusted key is rejected; no slot changes', async () => {
    const { c, device } = await virtualDevice();
    const before = device.agent.slots;
    await c.send('j-1', doc('j-1', '2.0.0', { key: other.privateKey }));
    await c.run(2_000);
    expect(c.statuses.map((s) => [s.status, s.statusDetails?.['code']])).toEqual([
      ['in_progress', undefined],
      ['rejected', 'IMAGE_SIGNATURE_INVALID'],
    ]);
    expect(device.agent.slots).toEqual(before);
  });

  it('a cancelled job is not started, also when its active document arrives later', async () => {
    const { c, device } = await virtualDevice();
    await c.send('j-1', doc('j-1', '2.0.0', { status: 'cancelled', executionVersion: 2 }));
    await c.send('j-1', doc('j-1', '2.0.0', { executionVersion: 1 }));
    await c.run(2_000);
    expect(c.statuses).toEqual([]);
    expect(device.agent.firmwareVersion).toBe('1.0.0');
  });

  it('a job document repeated while it runs is not run twice; after the end it gets the final status again', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const c = await cloud(clock, broker);
    const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock });
    let fetched = 0;
    // The new slot must soak 10 s before its check passes.
    const runtime = { checks: (_v: string, at: number, now: number) => [{ name: 'soak', status: now >= at + 10_000 ? ('pass' as const) : ('pending' as const), at: now }] };
    const agent = new DeviceAgent({ transport, clock, tenantId: 'acme', deviceId: 'dev-1', jobs: { trustedSigningKeys: { 'k-1': signer.publicKey }, fetchImage: () => (fetched++, Promise.resolve(IMAGE)), runtime, bootCheckIntervalMs: 1_000 } });
    open.push({ close: () => agent.stop().then(() => transport.close()) });
    await agent.start();
    await turns();
    await c.send('j-1', doc('j-1', '2.0.0'));
    expect(c.statuses.map((s) => s.status)).toEqual(['in_progress', 'in_progress']);
    await c.send('j-1', doc('j-1', '2.0.0')); // while booting
    await c.run(10_000);
    expect(c.statuses.map((s) => s.status)).toEqual(['in_progress', 'in_progress', 'succeeded']);
    expect(fetched).toBe(1);
    await c.send('j-1', doc('j-1', '2.0.0'));
    expect(c.statuses.map((s) => s.status)).toEqual(['in_progress', 'in_progress', 'succeeded', 'succeeded']);
    expect(fetched).toBe(1);
  });

  it('malformed job documents and ones on another job’s topic are error events and start nothing', async () => {
    const clock = new SimulatedClock(T0);
    const broker = new MemoryBroker();
    const c = await cloud(clock, broker);
    const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock });
    const agent = new DeviceAgent({ transport, clock, tenantId: 'acme', deviceId: 'dev-1', jobs: { trustedSigningKeys: [signer.publicKey], fetchImage: () => Promise.resolve(IMAGE) } });
    open.push({ close: () => agent.stop().then(() => transport.close()) });
    const errors: string[] = [];
    agent.on('error', (e) => errors.push(e.code));
    await agent.start();
    await turns();
    await c.send('j-1', { jobId: 'j-1' });
    await c.send('j-2', doc('j-1', '2.0.0'));
    await c.send('j-3', 'not json at all');
    expect(errors).toEqual(['INVALID_PAYLOAD', 'INVALID_PAYLOAD', 'INVALID_PAYLOAD']);
    expect(c.statuses).toEqual([]);
  });
});
