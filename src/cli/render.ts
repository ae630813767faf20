/**
 * Human output: a small aligned table of the figures, then the working. Values are formatted by
 * the unit in their name: `…Usd` as dollars, `…Fraction` / `fraction` as a percentage,
 * `…Percent` with a % sign, `…Seconds`, `…Hours`, `…Days` with their unit.
 */
import { fixed, num, pct, usd } from '../calc/format.js';

/** One table row. */
export interface Row {
  readonly label: string;
  readonly value: string;
}

/** Formats one figure by its key. */
export function formatValue(key: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'boolean') return key === 'pass' ? (value ? 'PASS' : 'FAIL') : value ? 'yes' : 'no';
  if (typeof value !== 'number') return String(value);
  if (/usd/i.test(key)) return usd(value);
  if (key === 'fraction' || key.endsWith('Fraction') || key === 'fractionOfPst' || key === 'fractionOfBudget') return pct(value);
  if (key.endsWith('Percent')) return `${fixed(value, 1)}%`;
  if (key.endsWith('Seconds') || key.startsWith('seconds')) return `${num(value, 3)} s`;
  if (key.endsWith('Hours')) return `${fixed(value, 1)} h`;
  if (key.endsWith('Days') || key.startsWith('days')) return `${fixed(value, 1)} days`;
  if (key.endsWith('Ms')) return `${num(value, 3)} ms`;
  return Number.isInteger(value) ? num(value, 0) : num(value, Math.abs(value) >= 1 ? 2 : 4);
}

function isNamed(v: unknown): v is Readonly<Record<string, unknown>> & { readonly name: string } {
  return typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string';
}

/** Flattens a result (without its working) into labelled rows. */
export function rows(result: object, prefix = ''): Row[] {
  const out: Row[] = [];
  for (const [key, value] of Object.entries(result)) {
    if (key === 'working') continue;
    const label = `${prefix}${key}`;
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      out.push({ label, value: value.join(' → ') });
    } else if (Array.isArray(value)) {
      // Lists of named items (shares, bill components): one row per item, its other figures joined.
      for (const item of value) {
        if (!isNamed(item)) continue;
        const figures = Object.entries(item).filter(([k]) => k !== 'name');
        out.push({ label: `${label}: ${item.name}`, value: figures.map(([k, v]) => formatValue(k, v)).join('  ') });
      }
    } else if (isNamed(value)) {
      const figures = Object.entries(value).filter(([k]) => k !== 'name');
      out.push({ label, value: `${value.name} (${figures.map(([k, v]) => formatValue(k, v)).join(', ')})` });
    } else if (typeof value === 'object' && value !== null) {
      out.push(...rows(value, `${label}.`));
    } else {
      out.push({ label, value: formatValue(key, value) });
    }
  }
  return out;
}

/** Values that read as figures, right-aligned in the table; text stays left-aligned. */
const FIGURE = /^(?:[$\d.,-]|(?:yes|no|PASS|FAIL|—)$)/;

/** Aligns rows in two columns: labels padded, numbers right-aligned. */
export function table(list: readonly Row[], indent = '  '): string {
  const labelWidth = Math.max(0, ...list.map((r) => r.label.length));
  const valueWidth = Math.max(0, ...list.filter((r) => FIGURE.test(r.value)).map((r) => r.value.length));
  return list.map((r) => `${indent}${r.label.padEnd(labelWidth)}  ${FIGURE.test(r.value) ? r.value.padStart(valueWidth) : r.value}`.trimEnd()).join('\n');
}

/** The whole human output: title, table, working. */
export function renderResult(title: string, result: object & { readonly working: readonly string[] }): string {
  return [title, table(rows(result)), '', 'working:', ...result.working.map((w) => `  ${w}`), ''].join('\n');
}
