/**
 * The set of stores a fleet backend runs on, and the in-memory set.
 */
import type { AuditLog } from './audit-log.js';
import type { CommandStore } from './command-store.js';
import type { DeviceStore } from './device-store.js';
import type { JobStore } from './job-store.js';
import { MemoryAuditLog } from './memory/memory-audit-log.js';
import { MemoryCommandStore } from './memory/memory-command-store.js';
import { MemoryDeviceStore } from './memory/memory-device-store.js';
import { MemoryJobStore } from './memory/memory-job-store.js';
import { MemoryShadowStore } from './memory/memory-shadow-store.js';
import type { ShadowStore } from './shadow-store.js';

/** Every store of a fleet backend. */
export interface FleetStores {
  /** Shadow documents. */
  readonly shadows: ShadowStore;
  /** The registry. */
  readonly devices: DeviceStore;
  /** Rollouts and job executions. */
  readonly jobs: JobStore;
  /** Commands. */
  readonly commands: CommandStore;
  /** The audit log. */
  readonly audit: AuditLog;
}

/**
 * A fresh set of in-memory stores (state is lost when the process ends).
 *
 * @example
 * ```ts
 * const stores = createMemoryStores();
 * await stores.devices.create({ tenantId: 'acme' }, createDeviceSnapshot({ deviceId: 'pump-7', tenantId: 'acme', now: clock.now() }));
 * ```
 */
export function createMemoryStores(): {
  readonly shadows: MemoryShadowStore;
  readonly devices: MemoryDeviceStore;
  readonly jobs: MemoryJobStore;
  readonly commands: MemoryCommandStore;
  readonly audit: MemoryAuditLog;
} {
  return {
    shadows: new MemoryShadowStore(),
    devices: new MemoryDeviceStore(),
    jobs: new MemoryJobStore(),
    commands: new MemoryCommandStore(),
    audit: new MemoryAuditLog(),
  };
}
