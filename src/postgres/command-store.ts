/**
 * `PostgresCommandStore`: the {@link CommandStore} over SQL.
 */
import { FleetError } from '../errors.js';
import type { CommandInput, CommandListOptions, CommandStore, CreateCommandResult, StoredCommand } from '../store/command-store.js';
import { commandSchema, sameContent } from '../store/memory/memory-command-store.js';
import { decodeCursor, listOptions, pageLimit, type Page } from '../store/page.js';
import { checkRecordTenant, tenantOf, type TenantContext } from '../store/tenant.js';
import { checkId, checkRevision, parseRecord, revisionConflict } from '../store/validate.js';
import type { SqlDriver, SqlExecutor } from './driver.js';
import { checkOutbox, enqueue, type OutboxOptions } from './outbox.js';
import { Where, asArray, fromJson, inTenant, int, sqlPage, toJson } from './sql-common.js';

/**
 * The {@link CommandStore} on PostgreSQL. Creation is idempotent by id in one statement
 * (`INSERT … ON CONFLICT DO NOTHING`, then the stored command is compared), so concurrent
 * retries of one command store it once.
 *
 * @example
 * ```ts
 * const commands = new PostgresCommandStore(driver);
 * const { created } = await commands.createCommand({ tenantId: 'acme' }, command);
 * ```
 */
export class PostgresCommandStore implements CommandStore {
  readonly #db: SqlDriver;

  /** @param driver - the database (see `openPGlite`, `openPgPool`); migrated with `migrate` */
  constructor(driver: SqlDriver) {
    this.#db = driver;
  }

  /**
   * {@inheritDoc CommandStore.createCommand}
   *
   * @param options - `outbox`: messages committed with the command, only when it is created
   *   (not on an idempotent retry)
   */
  async createCommand(ctx: TenantContext, command: CommandInput, options?: OutboxOptions): Promise<CreateCommandResult> {
    const api = 'CommandStore.createCommand';
    const tenantId = tenantOf(ctx, api);
    const parsed = parseCommand(api, tenantId, command);
    const outbox = checkOutbox(api, options);
    const json = toJson(parsed);
    return inTenant(this.#db, tenantId, async (tx) => {
      const r = await tx.query(
        `INSERT INTO fleetkit_commands (tenant_id, command_id, device_id, status, expires_at, version, record) VALUES ($1, $2, $3, $4, $5, 1, $6::text::json)
         ON CONFLICT (tenant_id, command_id) DO NOTHING`,
        [tenantId, parsed.commandId, parsed.deviceId, parsed.status, parsed.expiresAt ?? null, json],
      );
      if (r.rowCount === 1) {
        await enqueue(tx, tenantId, outbox);
        return { command: { ...(JSON.parse(json) as CommandInput), version: 1 }, created: true };
      }
      const existing = await read(tx, tenantId, parsed.commandId);
      if (existing !== undefined && sameContent(existing, parsed)) return { command: existing, created: false };
      throw new FleetError('ALREADY_EXISTS', `${api}: command "${parsed.commandId}" exists with another device, name or params; use a new command id`, { status: 409 });
    });
  }

  /** {@inheritDoc CommandStore.getCommand} */
  async getCommand(ctx: TenantContext, commandId: string): Promise<StoredCommand | undefined> {
    const api = 'CommandStore.getCommand';
    const tenantId = tenantOf(ctx, api);
    const id = checkId(api, 'commandId', commandId);
    return inTenant(this.#db, tenantId, (tx) => read(tx, tenantId, id));
  }

  /** {@inheritDoc CommandStore.updateCommand} */
  async updateCommand(ctx: TenantContext, command: CommandInput, expectedVersion: number): Promise<StoredCommand> {
    const api = 'CommandStore.updateCommand';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedVersion', expectedVersion);
    const parsed = parseCommand(api, tenantId, command);
    const json = toJson(parsed);
    return inTenant(this.#db, tenantId, async (tx) => {
      const current = await read(tx, tenantId, parsed.commandId, true);
      if (current === undefined) throw new FleetError('INVALID_ARGUMENT', `${api}: no command "${parsed.commandId}"; createCommand() it first`, { status: 404 });
      if (!sameContent(current, parsed) || current.createdAt !== parsed.createdAt) {
        throw new FleetError('INVALID_ARGUMENT', `${api}: a command's device, name, params and createdAt cannot change; send a new command instead`, { status: 400 });
      }
      if (current.version !== expected) throw revisionConflict(api, `command "${parsed.commandId}"`, expected, current.version);
      await tx.query('UPDATE fleetkit_commands SET status = $3, expires_at = $4, version = $5, record = $6::text::json WHERE tenant_id = $1 AND command_id = $2', [
        tenantId,
        parsed.commandId,
        parsed.status,
        parsed.expiresAt ?? null,
        expected + 1,
        json,
      ]);
      return { ...(JSON.parse(json) as CommandInput), version: expected + 1 };
    });
  }

  /** {@inheritDoc CommandStore.listCommands} */
  async listCommands(ctx: TenantContext, options: CommandListOptions = {}): Promise<Page<StoredCommand>> {
    const api = 'CommandStore.listCommands';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'commands', options);
    const w = new Where();
    w.and(`tenant_id = ${w.param(tenantId)}`);
    if (options.deviceId !== undefined) w.and(`device_id = ${w.param(String(options.deviceId))}`);
    const statuses = asArray(options.status);
    if (statuses !== undefined) w.and(`status = ANY(${w.param(statuses)}::text[])`);
    if (options.expiresBefore !== undefined) w.and(`expires_at < ${w.param(Number(options.expiresBefore))}::float8`);
    if (after !== undefined) w.and(`command_id > ${w.param(after)} COLLATE "C"`);
    return inTenant(this.#db, tenantId, async (tx) => {
      const rows = (await tx.query<{ command_id: string; version: unknown; record: unknown }>(`SELECT command_id, version, record FROM fleetkit_commands ${w} ORDER BY command_id LIMIT ${w.param(limit + 1)}`, w.params))
        .rows;
      return sqlPage(
        tenantId,
        'commands',
        rows,
        limit,
        (r) => ({ ...fromJson<CommandInput>(r.record), version: int(r.version) }),
        (r) => r.command_id,
      );
    });
  }
}

function parseCommand(api: string, tenantId: string, command: CommandInput): CommandInput {
  checkRecordTenant(api, tenantId, command, 'the command');
  const { version: _ignored, ...rest } = parseRecord(api, 'command', commandSchema, command) as CommandInput;
  return rest;
}

async function read(tx: SqlExecutor, tenantId: string, commandId: string, forUpdate = false): Promise<StoredCommand | undefined> {
  const row = (await tx.query<{ version: unknown; record: unknown }>(`SELECT version, record FROM fleetkit_commands WHERE tenant_id = $1 AND command_id = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, commandId]))
    .rows[0];
  return row === undefined ? undefined : { ...fromJson<CommandInput>(row.record), version: int(row.version) };
}
