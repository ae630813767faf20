/**
 * Progress of `fleetkit simulate` on stderr: one cli-progress bar per phase on a terminal, plain
 * periodic lines otherwise (logs, CI, pipes). cli-progress is an optional peer dependency: without
 * it a terminal gets the plain lines too.
 */
import type { CliIo } from '../main.js';
import type { ProgressEvent } from './simulation.js';

/** Where progress goes. */
export interface ProgressView {
  update(event: ProgressEvent): void;
  stop(): void;
}

const PLAIN_EVERY_MS = 2_000;

function line(e: ProgressEvent): string {
  return `[${e.hours.toFixed(1).padStart(5)} h] ${e.phase}: ${e.done.toLocaleString('en-US')}/${e.total.toLocaleString('en-US')}${e.note === undefined ? '' : ` — ${e.note}`} · ${e.messages.toLocaleString('en-US')} messages\n`;
}

/** Plain lines: the first and last of each phase, and one every 2 s in between. */
function plain(io: CliIo): ProgressView {
  let phase = '';
  let last = 0;
  let pending: ProgressEvent | undefined;
  return {
    update(e) {
      const now = Date.now();
      if (e.phase !== phase) {
        if (pending !== undefined && pending.phase === phase) io.err(line(pending));
        phase = e.phase;
        last = now;
        pending = undefined;
        io.err(line(e));
        return;
      }
      pending = e;
      if (now - last >= PLAIN_EVERY_MS || e.done === e.total) {
        last = now;
        pending = undefined;
        io.err(line(e));
      }
    },
    stop() {
      if (pending !== undefined) io.err(line(pending));
      pending = undefined;
    },
  };
}

/**
 * A progress view: bars on the terminal (stderr) when `tty` and cli-progress is installed, plain
 * lines on `io.err` otherwise.
 */
export async function createProgress(io: CliIo, tty: boolean): Promise<ProgressView> {
  if (!tty) return plain(io);
  let cli: typeof import('cli-progress');
  try {
    cli = (await import('cli-progress')).default ?? (await import('cli-progress'));
  } catch {
    return plain(io);
  }
  const bars = new cli.MultiBar(
    {
      format: ' {phase} |{bar}| {value}/{total} · {hours} h · {messages} msgs {note}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      barsize: 30,
      // Bars redraw in place, so they write to the terminal itself.
      stream: process.stderr,
    },
    cli.Presets.shades_classic,
  );
  const byPhase = new Map<string, import('cli-progress').SingleBar>();
  return {
    update(e) {
      const payload = { phase: e.phase.padEnd(15), hours: e.hours.toFixed(1).padStart(5), messages: e.messages.toLocaleString('en-US'), note: e.note === undefined ? '' : `· ${e.note}` };
      let bar = byPhase.get(e.phase);
      if (bar === undefined) {
        // Finished phases keep their bar (full, with their last counts) above the running one.
        bar = bars.create(Math.max(1, e.total), 0, payload);
        byPhase.set(e.phase, bar);
      }
      bar.setTotal(Math.max(1, e.total));
      bar.update(Math.min(e.done, Math.max(1, e.total)), payload);
    },
    stop() {
      bars.stop();
    },
  };
}
