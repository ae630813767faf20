/**
 * `fleetkit db migrate --url postgres://…`: applies the fleetkit/postgres migrations to a
 * database (exit 0 when done or already up to date). `pg` is loaded only when this runs.
 */
import { parseArgs } from 'node:util';
import { isFleetError } from '../errors.js';
import type { CliIo, Subcommand } from './main.js';
import { UsageError } from './usage-error.js';

const HELP = [
  'Usage: fleetkit db migrate --url postgres://user:password@host:port/database [--json]',
  '',
  'Applies the pending fleetkit/postgres SQL migrations in order (each recorded in the table',
  'fleetkit_migrations, under an advisory lock: safe to run twice or from two processes at once).',
  'Connect as the role that owns the tables. Needs the pg package (npm install pg@8).',
  '',
  '  --url <url>   the database (default: the DATABASE_URL environment variable)',
  '  --json        print {"applied":[…],"version":N}',
  '',
].join('\n');

async function runDb(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { url: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: true,
  });
  if (values.help === true) {
    io.out(HELP);
    return 0;
  }
  if (positionals.length !== 1 || positionals[0] !== 'migrate') throw new UsageError(`db: expected "fleetkit db migrate --url postgres://…", got "db ${positionals.join(' ')}" (see fleetkit db --help)`);
  const url = values.url ?? process.env['DATABASE_URL'];
  if (url === undefined || !/^postgres(ql)?:\/\//.test(url)) throw new UsageError('db migrate: pass --url postgres://user:password@host:port/database (or set DATABASE_URL)', { problems: [{ flag: '--url', message: 'a postgres:// URL is required' }] });
  const { openPgPool } = await import('../postgres/driver.js');
  const { migrate } = await import('../postgres/migrate.js');
  let driver;
  try {
    driver = await openPgPool({ url, max: 1 });
    const result = await migrate(driver);
    if (values.json === true) io.out(`${JSON.stringify(result)}\n`);
    else if (result.applied.length === 0) io.out(`database is up to date (schema version ${result.version})\n`);
    else io.out(`${result.applied.map((m) => `applied ${m}\n`).join('')}schema version ${result.version}\n`);
    return 0;
  } catch (error) {
    const message = isFleetError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error);
    io.err(values.json === true ? `${JSON.stringify({ error: { code: isFleetError(error) ? error.code : 'INTERNAL', message } })}\n` : `fleetkit db migrate: ${message}\n`);
    return 1;
  } finally {
    await driver?.close();
  }
}

/** The `db` subcommand. */
export const dbCommand: Subcommand = { name: 'db', summary: 'database administration: `db migrate --url postgres://…`', run: runDb };
