/**
 * A RolloutController on a MemoryBroker with a SimulatedClock, a firmware catalog with real keys,
 * and scripted devices that speak the job topics over plain MemoryTransports with the wire schemas
 * (verifying the image signature, running evaluateBoot on their post-boot checks).
 */
import { createHash, generateKeyPairSync, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { SimulatedClock } from '../../src/clock.js';
import { FirmwareCatalog, RolloutController, signFirmware, type DevicePresence, type RolloutControllerOptions } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import type { Transport } from '../../src/memory.js';
import { firmwareSigningInput, jobDocumentWireSchema, jobNextTopic, jobStatusTopic, parseMessage, jsonCodec, type ActiveJobDocument, type JobStatusUpdate } from '../../src/protocol/index.js';
import { evaluateBoot } from '../../src/rollout/index.js';
import type { JobStore } from '../../src/store/index.js';
import { settle, T0 } from './fleet-rig.js';

export { settle, T0 };

export const TENANT = 'acme';
export const ctx = { tenantId: TENANT };

/** What a device does with an update to a given version. */
export type Behaviour = 'ok' | 'boot-fail' | 'install-fail' | 'silent';

export interface SimDevice {
  readonly id: string;
  /** The version it runs. */
  version: string;
  /** Jobs it installed: `${intent}:${version}` in order. */
  readonly installs: string[];
  /** Documents it received (all, including repeats). */
  readonly received: ActiveJobDocument[];
  /** Cancellations it received. */
  cancellations: number;
  /** `jobs/none` answers it received. */
  nones: number;
  /** Asks for its pending job. */
  wake(): Promise<void>;
  /** Publishes raw bytes on its own job status topic. */
  sendRaw(jobId: string, payload: string | Uint8Array): Promise<void>;
}

export interface RolloutRig {
  readonly clock: SimulatedClock;
  readonly broker: MemoryBroker;
  readonly stores: ReturnType<typeof createMemoryStores>;
  readonly catalog: FirmwareCatalog;
  readonly keys: { readonly privateKey: KeyObject; readonly publicKey: KeyObject };
  controller: RolloutController;
  readonly devices: SimDevice[];
  /** Devices that are offline (never notified; they must wake). */
  readonly offline: Set<string>;
  /** Adds a signed image to the catalog. */
  addImage(version: string, hardware?: readonly string[]): void;
  /** Registers and connects `n` devices. */
  addDevices(n: number, behaviour: (id: string, version: string) => Behaviour, hardware?: (i: number) => string | undefined): Promise<void>;
  /** A new controller on the same stores, catalog and clock (the old one must be stopped). */
  newController(jobs?: JobStore): Promise<RolloutController>;
  /** Advances the clock in steps of `stepMs`, settling after each, until `until()` or `maxMs` elapsed. */
  run(until: () => boolean, maxMs: number, stepMs?: number, onStep?: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

export async function rolloutRig(options: Partial<Omit<RolloutControllerOptions, 'transport' | 'jobs' | 'devices' | 'catalog' | 'clock'>> = {}): Promise<RolloutRig> {
  const clock = new SimulatedClock(T0);
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const catalog = new FirmwareCatalog();
  const keys = generateKeyPairSync('ed25519');
  catalog.addSigningKey(ctx, 'release', keys.publicKey);
  const open: Transport[] = [];
  const offline = new Set<string>();
  const presence: DevicePresence = { isOnline: (_t, d) => !offline.has(d), onOnline: () => () => {} };
  const backend = async (): Promise<Transport> => {
    const t = new MemoryTransport({ broker, clientId: `rollout-backend-${open.length}`, queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
    open.push(t);
    await t.connect();
    return t;
  };
  const make = async (jobs: JobStore = stores.jobs): Promise<RolloutController> => {
    const c = new RolloutController({ transport: await backend(), jobs, devices: stores.devices, catalog, clock, presence, ...options });
    await c.start();
    return c;
  };
  const devices: SimDevice[] = [];
  const rig: RolloutRig = {
    clock,
    broker,
    stores,
    catalog,
    keys,
    controller: await make(),
    devices,
    offline,
    addImage(version, hardware = ['board-a']) {
      const bytes = `firmware image ${version}`;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const sizeBytes = Buffer.byteLength(bytes);
      catalog.add(ctx, { version, url: `https://fw.example.com/${version}.bin`, sizeBytes, sha256, hardware, keyId: 'release', ...signFirmware({ version, sizeBytes, sha256 }, keys.privateKey) });
    },
    async addDevices(n, behaviour, hardware = () => 'board-a') {
      const start = devices.length;
      for (let i = start; i < start + n; i++) {
        const id = `dev-${String(i).padStart(4, '0')}`;
        const hw = hardware(i);
        await stores.devices.create(ctx, { deviceId: id, tenantId: TENANT, state: 'active', since: clock.now(), firmwareVersion: '1.0.0', ...(hw === undefined ? {} : { hardware: hw }) });
        const transport = new MemoryTransport({ broker, clientId: id, queue: { maxMessages: 10_000 }, maxInFlight: 1_000 });
        open.push(transport);
        await transport.connect();
        const seen = new Set<string>();
        // The latest status sent per job: a device that is sent a job it already finished says so again.
        const last = new Map<string, Omit<JobStatusUpdate, 'jobId' | 'executionVersion' | 'ts'>>();
        const send = (doc: ActiveJobDocument, u: Omit<JobStatusUpdate, 'jobId' | 'executionVersion' | 'ts'>): Promise<void> => {
          last.set(doc.jobId, u);
          return transport.publish(jobStatusTopic(TENANT, id, doc.jobId), jsonCodec.encode({ jobId: doc.jobId, executionVersion: doc.executionVersion, ts: clock.now(), ...u }), { qos: 1 });
        };
        const device: SimDevice = {
          id,
          version: '1.0.0',
          installs: [],
          received: [],
          cancellations: 0,
          nones: 0,
          wake: () => transport.publish(jobNextTopic(TENANT, id), jsonCodec.encode({ ts: clock.now(), firmwareVersion: device.version }), { qos: 1 }),
          sendRaw: (jobId, payload) => transport.publish(jobStatusTopic(TENANT, id, jobId), payload, { qos: 1 }),
        };
        const onDoc = async (doc: ActiveJobDocument): Promise<void> => {
          device.received.push(doc);
          // A device acts on a job once: repeats (a notification and an answer to jobs/next) are ignored.
          if (seen.has(doc.jobId)) {
            const u = last.get(doc.jobId);
            if (u !== undefined && u.status !== 'in_progress') await send(doc, u);
            return;
          }
          seen.add(doc.jobId);
          const fw = doc.firmware;
          const signed = cryptoVerify(null, firmwareSigningInput(fw), keys.publicKey, Buffer.from(fw.signature, 'base64'));
          if (!signed) return send(doc, { status: 'rejected', statusDetails: { code: 'BAD_SIGNATURE' } });
          const b = doc.intent === 'rollback' ? 'ok' : behaviour(id, fw.version);
          if (b === 'silent') return;
          await send(doc, { status: 'in_progress', phase: 'installing' });
          if (b === 'install-fail') return send(doc, { status: 'failed', statusDetails: { code: 'FLASH_WRITE' } });
          await send(doc, { status: 'in_progress', phase: 'booting' });
          device.installs.push(`${doc.intent}:${fw.version}`);
          const bootedAt = clock.now();
          const verdict = evaluateBoot({ bootedAt, now: bootedAt + doc.bootValidation.windowMs, windowMs: doc.bootValidation.windowMs, checks: [{ name: 'app-healthy', status: b === 'boot-fail' ? 'fail' : 'pass', at: bootedAt }] });
          if (verdict.verdict === 'commit') {
            device.version = fw.version;
            return send(doc, { status: 'succeeded' });
          }
          return send(doc, { status: 'rolled_back', statusDetails: { reason: verdict.reason.slice(0, 200) } });
        };
        await transport.subscribe(`cmd/${TENANT}/${id}/job/+`, (m) => {
          const doc = parseMessage(jobDocumentWireSchema, jsonCodec.decode(m.payload));
          if (doc.status === 'cancelled') device.cancellations++;
          else void onDoc(doc);
        }, { qos: 1 });
        await transport.subscribe(`cmd/${TENANT}/${id}/jobs/none`, () => device.nones++, { qos: 1 });
        devices.push(device);
      }
    },
    async newController(jobs) {
      rig.controller = await make(jobs);
      return rig.controller;
    },
    async run(until, maxMs, stepMs = 60_000, onStep) {
      const end = clock.now() + maxMs;
      await settle();
      while (!until() && clock.now() < end) {
        clock.advance(stepMs);
        await settle();
        if (onStep !== undefined) {
          await onStep();
          await settle();
        }
      }
    },
    async close() {
      await rig.controller.close();
      await Promise.allSettled(open.map((t) => t.close()));
    },
  };
  return rig;
}
