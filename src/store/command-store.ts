/**
 * `CommandStore`: commands to devices, with expiry and acknowledgement state.
 */
import type { JsonObject, JsonValue } from '../json.js';
import type { Page, PageOptions } from './page.js';
import type { TenantContext } from './tenant.js';

/** Every state a command can be in. `queued` and `sent` are the service's; the rest are the device's acknowledgements, and `expired`. */
export const COMMAND_STATES = ['queued', 'sent', 'received', 'executing', 'succeeded', 'failed', 'rejected', 'expired'] as const;

/** A command's state. */
export type CommandState = (typeof COMMAND_STATES)[number];

/** A command as written. */
export interface CommandInput {
  /** The owning tenant. */
  readonly tenantId: string;
  /** The command id (unique within the tenant; sending the same id twice is idempotent). */
  readonly commandId: string;
  /** The target device. */
  readonly deviceId: string;
  /** The command's name. */
  readonly name: string;
  /** Its parameters. */
  readonly params: JsonObject;
  /** When it was created (epoch ms). */
  readonly createdAt: number;
  /** After this time (epoch ms) it is not delivered any more and becomes `expired`. */
  readonly expiresAt?: number;
  /** Its state. */
  readonly status: CommandState;
  /** When the state last changed (epoch ms). */
  readonly updatedAt: number;
  /** The device's result, when it sent one. */
  readonly result?: JsonValue;
  /** Why it failed or was rejected. */
  readonly error?: { readonly code: string; readonly message: string };
  /** Ignored on input (the store owns versions). */
  readonly version?: number;
}

/** A command as stored. */
export interface StoredCommand extends CommandInput {
  /** Bumped by the store on every write (1 after create). */
  readonly version: number;
}

/** What {@link CommandStore.createCommand} did. */
export interface CreateCommandResult {
  /** The stored command (the existing one when `created` is false). */
  readonly command: StoredCommand;
  /** False when a command with this id, device, name and params already existed (an idempotent retry). */
  readonly created: boolean;
}

/** Options of {@link CommandStore.listCommands}. */
export interface CommandListOptions extends PageOptions {
  /** Only this device's commands. */
  readonly deviceId?: string;
  /** Only commands in this state (or these states). */
  readonly status?: CommandState | readonly CommandState[];
  /** Only commands with an `expiresAt` before this time (epoch ms). */
  readonly expiresBefore?: number;
}

/**
 * Commands, keyed by id within their tenant. Rules (checked by `commandStoreContract` in
 * `fleetkit/testing`): creating an existing id again with the same device, name and params returns
 * the stored command (`created: false`); with different content it is `ALREADY_EXISTS`; updates
 * are compare-and-set on `version`; `TENANT_MISMATCH` for another tenant's record; no aliasing.
 */
export interface CommandStore {
  /**
   * Stores a new command, idempotently by id.
   * @throws FleetError `ALREADY_EXISTS` (409) for the same id with other content, `TENANT_MISMATCH`, `INVALID_ARGUMENT`.
   */
  createCommand(ctx: TenantContext, command: CommandInput): Promise<CreateCommandResult>;
  /** A command of the tenant, or `undefined`. */
  getCommand(ctx: TenantContext, commandId: string): Promise<StoredCommand | undefined>;
  /**
   * Replaces a command if its version is `expectedVersion`; returns it at version + 1. Its id,
   * device, name, params and creation time cannot change.
   * @throws FleetError `INVALID_ARGUMENT` (also for a change to those fields), `VERSION_CONFLICT`, `TENANT_MISMATCH`.
   */
  updateCommand(ctx: TenantContext, command: CommandInput, expectedVersion: number): Promise<StoredCommand>;
  /** The tenant's commands in pages ordered by command id. */
  listCommands(ctx: TenantContext, options?: CommandListOptions): Promise<Page<StoredCommand>>;
}
