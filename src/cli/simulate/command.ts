/**
 * `fleetkit simulate`: the smart-building fleet end to end on an embedded broker (or a real one),
 * with progress on stderr, a summary table on stdout (`--json` for JSON) and an HTML report.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CliIo, Subcommand } from '../main.js';
import { UsageError } from '../usage-error.js';
import { BrokerUnavailableError, type BrokerChoice } from './broker.js';
import { createProgress, type ProgressView } from './progress.js';
import { renderSimulationReport } from './report.js';
import { formatSummary, reportData } from './summary.js';
import { MIN_SENSORS, runSimulation, type ProgressEvent, type SimulationOptions } from './simulation.js';

const HELP = [
  'Usage: fleetkit simulate [options]',
  '',
  'Runs the smart-building fleet end to end: an embedded MQTT broker (aedes) on a free loopback',
  'port, the cloud tier (createFleet) on a simulated clock, one gateway per building and its',
  'sensors — provisioning (X.509 gateways, symmetric-key sensors, a few refused), configuration',
  'through shadows, two days of heartbeats and health, a staged OTA rollout of 2.2.0 that the',
  'canary aborts and rolls back, 2.2.1 that completes, and a few sensors decommissioned.',
  '',
  '  --devices <n>        sensors, at least 20 (default 60,000)',
  '  --buildings <n>      buildings, one gateway each (default 250)',
  '  --seed <n>           seed of every draw; the same seed gives the same summary (default 1)',
  '  --time-scale <x>     simulated time per wall-clock time during the soak (default 100000;',
  '                       0 = as fast as possible)',
  '  --wire-share <x>     share of sensors (0–1) with their own cloud traffic through their gateway;',
  '                       the others are modeled by their gateway (default 1 up to 5,000 sensors,',
  '                       else 0.1; sensors that play a part in the story are always on the wire)',
  '  --broker <url>       a broker instead of the embedded one: mqtt://host:port, mqtts://host:port',
  '  --ca <file>          CA certificate of an mqtts:// broker',
  '  --cert <file>        client certificate for an mqtts:// broker (mutual TLS)',
  '  --key <file>         its private key',
  '  --transport memory   the in-process broker (no sockets)',
  '  --json               print the summary as JSON',
  '  --report <file>      write an HTML report with charts',
  '  -h, --help           show this help',
  '',
  'Progress goes to stderr; the summary to stdout. Ctrl-C stops cleanly and prints what ran.',
  'Exit codes: 0 done, 1 the broker could not be reached (or an unexpected failure), 2 bad usage.',
  '',
].join('\n');

function count(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const clean = text.replace(/[_,](?=\d{3}(\D|$))/g, '');
  const n = Number(clean);
  if (!/^\d+$/.test(clean) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`simulate: ${flag} must be a whole number from ${min.toLocaleString('en-US')} to ${max.toLocaleString('en-US')}, got "${text}"`, { problems: [{ flag, message: `expected a whole number from ${min} to ${max}` }] });
  }
  return n;
}

/** The options of a command line (exported for tests). */
export function simulateOptions(args: readonly string[]): { options: Omit<SimulationOptions, 'signal' | 'onProgress'>; json: boolean; report: string | undefined; help: boolean } {
  const { values } = parseArgs({
    args: [...args],
    options: {
      devices: { type: 'string' },
      buildings: { type: 'string' },
      seed: { type: 'string' },
      'time-scale': { type: 'string' },
      'wire-share': { type: 'string' },
      broker: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      transport: { type: 'string' },
      json: { type: 'boolean' },
      report: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const devices = count('--devices', values.devices, 60_000, MIN_SENSORS, 1_000_000);
  const buildings = count('--buildings', values.buildings, Math.min(250, devices), 1, 10_000);
  if (buildings > devices) throw new UsageError(`simulate: --buildings (${buildings}) cannot exceed --devices (${devices}): every building has at least one sensor`, { problems: [{ flag: '--buildings', message: 'at most --devices' }] });
  const seed = count('--seed', values.seed, 1, 0, 0xffff_ffff);
  let timeScale = 100_000;
  if (values['time-scale'] !== undefined) {
    timeScale = Number(values['time-scale']);
    if (!Number.isFinite(timeScale) || timeScale < 0) throw new UsageError(`simulate: --time-scale must be a number ≥ 0 (0 = as fast as possible), got "${values['time-scale']}"`, { problems: [{ flag: '--time-scale', message: 'a number ≥ 0' }] });
  }
  let wireShare: number | undefined;
  if (values['wire-share'] !== undefined) {
    wireShare = Number(values['wire-share'].replace(/%$/, '')) / (values['wire-share'].endsWith('%') ? 100 : 1);
    if (values['wire-share'].trim() === '' || !Number.isFinite(wireShare) || wireShare < 0 || wireShare > 1) throw new UsageError(`simulate: --wire-share must be a share from 0 to 1 (or 0 % to 100 %), got "${values['wire-share']}"`, { problems: [{ flag: '--wire-share', message: 'a share from 0 to 1' }] });
  }
  if (values.transport !== undefined && values.transport !== 'memory') throw new UsageError(`simulate: --transport accepts only "memory" (the in-process broker), got "${values.transport}"`, { problems: [{ flag: '--transport', message: 'only "memory"' }] });
  if (values.transport !== undefined && values.broker !== undefined) throw new UsageError('simulate: pass either --broker or --transport memory, not both', { problems: [{ flag: '--broker', message: 'conflicts with --transport' }] });
  let broker: BrokerChoice = values.transport === 'memory' ? { kind: 'memory' } : { kind: 'embedded' };
  if (values.broker !== undefined) {
    if (!/^(mqtt|mqtts):\/\/[^/\s]+/.test(values.broker)) throw new UsageError(`simulate: --broker must be mqtt://host:port or mqtts://host:port, got "${values.broker}"`, { problems: [{ flag: '--broker', message: 'an mqtt:// or mqtts:// URL' }] });
    broker = { kind: 'url', url: values.broker, ...(values.ca === undefined ? {} : { ca: values.ca }), ...(values.cert === undefined ? {} : { cert: values.cert }), ...(values.key === undefined ? {} : { key: values.key }) };
  }
  for (const flag of ['ca', 'cert', 'key'] as const) {
    if (values[flag] !== undefined && (broker.kind !== 'url' || !broker.url.startsWith('mqtts:'))) throw new UsageError(`simulate: --${flag} goes with --broker mqtts://…`, { problems: [{ flag: `--${flag}`, message: 'only with an mqtts:// broker' }] });
  }
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('simulate: --cert and --key go together (mutual TLS)', { problems: [{ flag: values.cert === undefined ? '--cert' : '--key', message: 'pass both' }] });
  return { options: { devices, buildings, seed, timeScale, broker, ...(wireShare === undefined ? {} : { wireShare }) }, json: values.json === true, report: values.report, help: values.help === true };
}

/** How the command meets the process: its signal, whether stderr is a terminal (overridable in tests). */
export interface SimulateEnvironment {
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal;
  /** True when stderr is a terminal: progress bars instead of plain lines. */
  readonly tty?: boolean;
  /** Also told every progress event (tests use it to interrupt at a given phase). */
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** Runs `fleetkit simulate` with `args`; resolves to the exit code. */
export async function runSimulate(args: readonly string[], io: CliIo, env: SimulateEnvironment = {}): Promise<number> {
  const parsed = simulateOptions(args);
  if (parsed.help) {
    io.out(HELP);
    return 0;
  }
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  const own = env.signal === undefined;
  if (own) process.once('SIGINT', onSigint);
  else env.signal?.addEventListener('abort', onSigint, { once: true });
  const view: ProgressView = await createProgress(io, env.tty ?? process.stderr.isTTY === true);
  try {
    const { summary, series } = await runSimulation({ ...parsed.options, signal: controller.signal, onProgress: (e) => {
        view.update(e);
        env.onProgress?.(e);
      },
    });
    view.stop();
    if (parsed.report !== undefined) writeFileSync(parsed.report, renderSimulationReport(reportData(summary, series)));
    io.out(parsed.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    if (parsed.report !== undefined && !parsed.json) io.out(`report: ${parsed.report}\n`);
    return summary.interrupted ? 130 : 0;
  } catch (error) {
    view.stop();
    if (error instanceof BrokerUnavailableError) {
      io.err(parsed.json ? `${JSON.stringify({ error: { code: 'BROKER_UNAVAILABLE', message: error.message } })}\n` : `fleetkit simulate: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    if (own) process.off('SIGINT', onSigint);
  }
}

/** The `simulate` subcommand. */
export const simulateCommand: Subcommand = { name: 'simulate', summary: 'run the smart-building fleet end to end (60,000 sensors, 250 buildings)', run: (args, io) => runSimulate(args, io) };
