/**
 * Tiny benchmark helpers shared by every `bench/*.ts` suite: `npm run bench [filter]`.
 * Each suite measures ours and a named baseline in the same run and prints a table with ratios.
 */
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** One measured figure. */
export interface Measurement {
  /** What was measured. */
  readonly name: string;
  /** Operations per second (higher is better). */
  readonly opsPerSec: number;
  /** Mean nanoseconds per operation. */
  readonly nsPerOp: number;
}

/**
 * Runs `fn` repeatedly for about `ms` milliseconds after a warm-up and returns its rate.
 * `fn` receives the iteration index; it must do one operation per call.
 */
export function measure(name: string, fn: (i: number) => void, options: { ms?: number; warmupMs?: number; batch?: number } = {}): Measurement {
  const ms = options.ms ?? 1000;
  const warm = options.warmupMs ?? Math.min(300, ms / 3);
  const batch = options.batch ?? 256;
  let i = 0;
  const warmEnd = performance.now() + warm;
  while (performance.now() < warmEnd) for (let k = 0; k < batch; k++) fn(i++);
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let k = 0; k < batch; k++) fn(i++);
    n += batch;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { name, opsPerSec: n / seconds, nsPerOp: (seconds * 1e9) / n };
}

/** Times one call of `fn` (ms) — for whole-batch benchmarks such as "plan 1,000,000 devices". */
export async function time(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** One row of a results table: a label and its cells. */
export type Row = Readonly<Record<string, string>>;

/** Prints a titled, aligned markdown table. */
export function printTable(title: string, rows: readonly Row[]): void {
  const first = rows[0];
  if (first === undefined) return;
  const cols = Object.keys(first);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(width[i] ?? 0)).join(' | ')} |`;
  console.log(`\n### ${title}\n`);
  console.log(line(cols));
  console.log(`| ${width.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? '')));  recordTargets(title, cols, rows);
}

/** A benchmark with a target, as the summary of `npm run bench` lists it. */
export interface TargetResult {
  readonly suite: string;
  readonly benchmark: string;
  readonly ours: string;
  readonly baseline: string;
  readonly ratio: string;
  readonly target: string;
  readonly met: boolean;
}

const VERDICT = /^(PASS|MISS) \(target (.*)\)$/;
const RATIO_COLUMN = /ratio|vs baseline|vs 200/i;
const BASELINE_COLUMN = /baseline|raw|bare|floor/i;

/**
 * Every row of a table that carries a verdict is written (as a JSON line) to the file named by
 * FLEETKIT_BENCH_RESULTS, for the summary table and bench/results.json: the benchmark is the
 * table title and the row's first cell; ours, the baseline and the ratio are the row's cells under
 * the columns that name them (the first other figure is ours).
 */
function recordTargets(title: string, cols: readonly string[], rows: readonly Row[]): void {
  const file = process.env['FLEETKIT_BENCH_RESULTS'];
  if (file === undefined || file === '') return;
  const suite = process.env['FLEETKIT_BENCH_SUITE'] ?? '';
  for (const r of rows) {
    for (const c of cols) for (const part of (r[c] ?? '').split('; ')) {
      const m = VERDICT.exec(part);
      if (m === null) continue;
      // Columns nearest before the verdict first: a table with two targets per row puts each after its own figures.
      const at = cols.indexOf(c);
      const usable = (k: string): boolean => k !== c && r[k] !== undefined && r[k] !== '' && r[k] !== '—' && !/^target$/i.test(k);
      const others = [...cols.slice(1, at).reverse(), ...cols.slice(at + 1)].filter(usable);
      const ratioCol = others.find((k) => RATIO_COLUMN.test(k) || /×$/.test(r[k] ?? ''));
      const isRatio = (k: string): boolean => /×/.test(r[k] ?? '');
      // The figure the target is about: the column in the target's unit (a rate, a time, a size), else the first.
      // A ratio target (`≥ 0.9× raw`) is about a rate: prefer the rate column to per-round ratios or CPU figures.
      const unit = /\/s\b|×/.test(m[2] ?? '') ? /\/s\b/ : /\bm?s\b|\bh\b/.test(m[2] ?? '') ? /\bms\b|\btime\b|\bs\b/ : /\b(K|M|G)?i?B\b|bytes/.test(m[2] ?? '') ? /bytes|\bB\b|KiB|MB/ : undefined;
      const baselines = others.filter((k) => k !== ratioCol && BASELINE_COLUMN.test(k) && !isRatio(k));
      const baselineCol = (unit === undefined ? undefined : baselines.find((k) => unit.test(k))) ?? baselines[0];
      const figures = others.filter((k) => k !== ratioCol && k !== baselineCol && !isRatio(k) && /\d/.test(r[k] ?? ''));
      const oursCol = (unit === undefined ? undefined : figures.find((k) => unit.test(k) && !BASELINE_COLUMN.test(k))) ?? figures[0];
      const first = cols[0] === undefined ? '' : (r[cols[0]] ?? '');
      const result: TargetResult = {
        suite,
        benchmark: `${title}: ${first}`,
        ours: oursCol === undefined ? '' : `${r[oursCol]} ${oursCol}`.trim(),
        baseline: baselineCol === undefined ? '' : (r[baselineCol] ?? ''),
        ratio: ratioCol === undefined ? '' : (r[ratioCol] ?? ''),
        target: m[2] ?? '',
        met: m[1] === 'PASS',
      };
      appendFileSync(file, `${JSON.stringify(result)}\n`);
    }
  }
}

/** Heap bytes in use after a forced GC (run node with --expose-gc for exact numbers). */
export function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    gc();
  }
  return process.memoryUsage().heapUsed;
}

/** A target check for the table: "✓ ≥ 2×" or "✗ < 2×". */
export function verdict(ok: boolean, target: string): string {
  return `${ok ? 'PASS' : 'MISS'} (target ${target})`;
}
