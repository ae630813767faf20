/**
 * Store interfaces and their in-memory implementations.
 *
 * @module
 */
export type { TenantContext } from './tenant.js';
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT } from './page.js';
export type { Page, PageOptions } from './page.js';
export type { CompareAndSetResult, DeleteShadowOutcome, ShadowListOptions, ShadowRecord, ShadowStore } from './shadow-store.js';
export type {
  DeviceFilter,
  DeviceInput,
  DeviceLocation,
  DeviceQueryOptions,
  DeviceStats,
  DeviceStore,
  RegisteredDevice,
  StoredCa,
  StoredEnrollmentGroup,
} from './device-store.js';
export type { JobExecutionInput, JobExecutionListOptions, JobStore, RolloutInput, RolloutListOptions, StoredJobExecution, StoredRollout } from './job-store.js';
export { COMMAND_STATES } from './command-store.js';
export type { CommandInput, CommandListOptions, CommandState, CommandStore, CreateCommandResult, StoredCommand } from './command-store.js';
export type { AuditEntry, AuditInput, AuditListOptions, AuditLog } from './audit-log.js';
export { MAX_PRESENCE_BATCH, MAX_PRESENCE_LIMITS } from './presence-store.js';
export type { PresenceBeat, PresenceRaised, PresenceRecord, PresenceStore, PresenceTouched } from './presence-store.js';
export type { FleetStores } from './stores.js';
export { createMemoryStores } from './stores.js';
export { MemoryShadowStore } from './memory/memory-shadow-store.js';
export { MemoryDeviceStore, deviceInputSchema } from './memory/memory-device-store.js';
export { MemoryJobStore } from './memory/memory-job-store.js';
export { MemoryCommandStore } from './memory/memory-command-store.js';
export { MemoryAuditLog } from './memory/memory-audit-log.js';
export { MemoryPresenceStore } from './memory/memory-presence-store.js';
