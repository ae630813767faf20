/**
 * A RolloutController on a MemoryBroker with a SimulatedClock, a firmware catalog with real keys,
 * and scripted devices that speak the job topics over plain MemoryTransports with the wire schemas
 * (verifying the image signature, running evaluateBoot on their post-boot checks).
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SimulatedClock } from '../../src/clock.js';
import { FirmwareCatalog, RolloutController, signFirmware, type DevicePresence, type RolloutControllerOptions } from '../../src/cloud/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import type { Transport } from '../../src/memory.js';
import type { JobStore } from '../../src/store/index.js';
import { settle, T0 } from './fleet-rig.js';
import { attachJobResponder, type Behaviour, type JobResponder } from './job-responder.js';

export { settle, T0 };

export const TENANT = 'acme';
export const ctx = { tenantId: TENANT };

export type { Behaviour };

/** A scripted device of the rig (see job-responder.ts). */
export type SimDevice = JobResponder;

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
        const device = await attachJobResponder({ transport, tenantId: TENANT, deviceId: id, clock, publicKey: keys.publicKey, behaviour: (version) => behaviour(id, version) });
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
