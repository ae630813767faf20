/**
 * The `fleetkit` command dispatcher: global flags (`--help`, `--version`), then one subcommand
 * per file (`calc`, `db`, `simulate`). Everything writes through a {@link CliIo}, so tests run it in-process.
 */
import { parseArgs } from 'node:util';
import { calcCommand } from './calc-command.js';
import { dbCommand } from './db-command.js';
import { simulateCommand } from './simulate/command.js';
import { UsageError, jsonError, usageError } from './usage-error.js';

/** Where the CLI writes, and what it knows about its package. */
export interface CliIo {
  /** Writes to standard output. */
  readonly out: (text: string) => void;
  /** Writes to standard error. */
  readonly err: (text: string) => void;
  /** The package version for `--version`. */
  readonly version: () => string;
}

/** A `fleetkit <name> …` subcommand. */
export interface Subcommand {
  /** The word after `fleetkit`. */
  readonly name: string;
  /** One line for `fleetkit --help`. */
  readonly summary: string;
  /** Runs with the arguments after its name; resolves to the exit code. */
  readonly run: (args: readonly string[], io: CliIo) => number | Promise<number>;
}

/** The subcommands, in help order. New ones (`simulate`, …) are added here from their own files. */
const subcommands: readonly Subcommand[] = [calcCommand, dbCommand, simulateCommand];

/** Exit codes: 0 success, 1 unexpected failure, 2 bad usage or bad input. */
export const EXIT_OK = 0;
/** Exit code of an unexpected failure. */
export const EXIT_FAILURE = 1;
/** Exit code of bad usage or bad input. */
export const EXIT_USAGE = 2;

function mainHelp(): string {
  const width = Math.max(...subcommands.map((s) => s.name.length));
  return [
    'Usage: fleetkit <command> [options]',
    '',
    'Commands:',
    ...subcommands.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    'Options:',
    '  -h, --help     show this help (and `fleetkit <command> --help` for a command)',
    '  -v, --version  print the fleetkit version',
    '',
  ].join('\n');
}

/** Global flags are those before the first word that does not start with "-". */
function splitGlobal(argv: readonly string[]): { globals: string[]; command: string | undefined; rest: string[] } {
  const at = argv.findIndex((a) => !a.startsWith('-'));
  if (at === -1) return { globals: [...argv], command: undefined, rest: [] };
  return { globals: argv.slice(0, at), command: argv[at], rest: argv.slice(at + 1) };
}

/** `--json` anywhere before a `--` terminator asks for JSON output, errors included. */
function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Runs the CLI on `argv` (the arguments after the program name) and resolves to the exit code.
 * Bad usage prints one line to stderr and resolves to 2; it never throws for bad input. Under
 * `--json` that line is `{"error":{"code","message","problems"}}` (see docs/cli.md).
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { globals, command, rest } = splitGlobal(argv);
    const { values } = parseArgs({
      args: globals,
      options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.version === true) {
      io.out(`${io.version()}\n`);
      return EXIT_OK;
    }
    if (values.help === true || command === 'help') {
      io.out(mainHelp());
      return EXIT_OK;
    }
    if (command === undefined) {
      io.err(mainHelp());
      return EXIT_USAGE;
    }
    const sub = subcommands.find((s) => s.name === command);
    if (sub === undefined) throw new UsageError(`unknown command "${command}"; commands: ${subcommands.map((s) => s.name).join(', ')} (see fleetkit --help)`);
    return await sub.run(rest, io);
  } catch (error) {
    const json = wantsJson(argv);
    const usage = usageError(error);
    if (usage !== undefined) {
      io.err(json ? jsonError(usage.code, usage.message, usage.problems) : `fleetkit: ${usage.message}\n`);
      return EXIT_USAGE;
    }
    const message = `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    io.err(json ? jsonError('INTERNAL', message, [{ message }]) : `fleetkit: ${message}\n`);
    return EXIT_FAILURE;
  }
}
