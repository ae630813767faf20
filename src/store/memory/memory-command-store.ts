/**
 * `MemoryCommandStore`: the in-memory {@link CommandStore}.
 */
import { z } from 'zod';
import { FleetError } from '../../errors.js';
import { tenantIdSchema } from '../../ids.js';
import { jsonEqual, type JsonValue } from '../../json.js';
import { thingNameSchema } from '../../shadow/names.js';
import { COMMAND_STATES, type CommandInput, type CommandListOptions, type CommandStore, type CreateCommandResult, type StoredCommand } from '../command-store.js';
import { frozenCopy } from '../isolation.js';
import { SortedKeys, decodeCursor, listOptions, pageLimit, toPage, type Page } from '../page.js';
import { checkRecordTenant, tenantOf, type TenantContext } from '../tenant.js';
import { checkId, checkRevision, labelSchema, oneOrMany, parseRecord, revisionConflict, timeSchema } from '../validate.js';

/** @internal zod schema of a command (shared with the SQL stores). */
export const commandSchema = z.strictObject({
  tenantId: tenantIdSchema,
  commandId: labelSchema,
  deviceId: thingNameSchema,
  name: labelSchema,
  params: z.record(z.string(), z.unknown()),
  createdAt: timeSchema,
  expiresAt: timeSchema.exactOptional(),
  status: z.enum(COMMAND_STATES),
  updatedAt: timeSchema,
  result: z.unknown().exactOptional(),
  error: z.strictObject({ code: z.string().min(1).max(64), message: z.string().max(1024) }).exactOptional(),
  version: z.number().exactOptional(),
});

// What identifies a command's content: a retry must carry the same.
/** @internal */
export function sameContent(a: CommandInput, b: CommandInput): boolean {
  return a.deviceId === b.deviceId && a.name === b.name && jsonEqual(a.params as JsonValue, b.params as JsonValue);
}

/** The in-memory {@link CommandStore}. Records are validated, copied and frozen on write. */
export class MemoryCommandStore implements CommandStore {
  readonly #tenants = new Map<string, { readonly commands: Map<string, StoredCommand>; readonly keys: SortedKeys }>();

  /** {@inheritDoc CommandStore.createCommand} */
  async createCommand(ctx: TenantContext, command: CommandInput): Promise<CreateCommandResult> {
    const api = 'CommandStore.createCommand';
    const tenantId = tenantOf(ctx, api);
    const parsed = this.#parse(api, tenantId, command);
    const t = this.#tenant(tenantId);
    const existing = t.commands.get(parsed.commandId);
    if (existing !== undefined) {
      if (sameContent(existing, parsed)) return { command: existing, created: false };
      throw new FleetError('ALREADY_EXISTS', `${api}: command "${parsed.commandId}" exists with another device, name or params; use a new command id`, { status: 409 });
    }
    const stored = frozenCopy({ ...parsed, version: 1 }) as StoredCommand;
    t.commands.set(parsed.commandId, stored);
    t.keys.add(parsed.commandId);
    return { command: stored, created: true };
  }

  /** {@inheritDoc CommandStore.getCommand} */
  async getCommand(ctx: TenantContext, commandId: string): Promise<StoredCommand | undefined> {
    const api = 'CommandStore.getCommand';
    return this.#tenants.get(tenantOf(ctx, api))?.commands.get(checkId(api, 'commandId', commandId));
  }

  /** {@inheritDoc CommandStore.updateCommand} */
  async updateCommand(ctx: TenantContext, command: CommandInput, expectedVersion: number): Promise<StoredCommand> {
    const api = 'CommandStore.updateCommand';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedVersion', expectedVersion);
    const parsed = this.#parse(api, tenantId, command);
    const t = this.#tenant(tenantId);
    const current = t.commands.get(parsed.commandId);
    if (current === undefined) throw new FleetError('INVALID_ARGUMENT', `${api}: no command "${parsed.commandId}"; createCommand() it first`, { status: 404 });
    if (!sameContent(current, parsed) || current.createdAt !== parsed.createdAt) {
      throw new FleetError('INVALID_ARGUMENT', `${api}: a command's device, name, params and createdAt cannot change; send a new command instead`, { status: 400 });
    }
    if (current.version !== expected) throw revisionConflict(api, `command "${parsed.commandId}"`, expected, current.version);
    const stored = frozenCopy({ ...parsed, version: expected + 1 }) as StoredCommand;
    t.commands.set(parsed.commandId, stored);
    return stored;
  }

  /** {@inheritDoc CommandStore.listCommands} */
  async listCommands(ctx: TenantContext, options: CommandListOptions = {}): Promise<Page<StoredCommand>> {
    const api = 'CommandStore.listCommands';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'commands', options);
    const statuses = oneOrMany(options.status);
    const { deviceId, expiresBefore } = options;
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return { items: [] };
    return toPage(
      tenantId,
      'commands',
      t.keys.page(after, limit, (k) => {
        const c = t.commands.get(k);
        if (c === undefined || (deviceId !== undefined && c.deviceId !== deviceId) || (statuses !== undefined && !statuses.has(c.status))) return undefined;
        return expiresBefore === undefined || (c.expiresAt !== undefined && c.expiresAt < expiresBefore) ? c : undefined;
      }),
    );
  }

  #parse(api: string, tenantId: string, command: CommandInput): CommandInput {
    checkRecordTenant(api, tenantId, command, 'the command');
    return parseRecord(api, 'command', commandSchema, command) as CommandInput;
  }

  #tenant(tenantId: string): { readonly commands: Map<string, StoredCommand>; readonly keys: SortedKeys } {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      t = { commands: new Map(), keys: new SortedKeys() };
      this.#tenants.set(tenantId, t);
    }
    return t;
  }
}
