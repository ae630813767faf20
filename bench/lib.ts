/**
 * Tiny benchmark helpers shared by every `bench/*.ts` suite: `npm run bench [filter]`.
 * Each suite measures ours and a named baseline in the same run and prints a table with ratios.
 */
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
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? '')));
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
