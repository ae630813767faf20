/**
 * Number formatting for the calculators' working: the same figures a person would write down,
 * with thousands separators and a fixed number of decimals.
 */

const formats = new Map<string, Intl.NumberFormat>();

function formatter(min: number, max: number): Intl.NumberFormat {
  const key = `${min}/${max}`;
  let f = formats.get(key);
  if (f === undefined) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: min, maximumFractionDigits: max });
    formats.set(key, f);
  }
  return f;
}

/** `value` with thousands separators and at most `digits` decimals (trailing zeros dropped). */
export function num(value: number, digits = 3): string {
  return formatter(0, digits).format(value);
}

/** `value` with exactly `digits` decimals. */
export function fixed(value: number, digits: number): string {
  return formatter(digits, digits).format(value);
}

/**
 * US dollars: whole dollars from $100,000 or for whole amounts, cents below, and up to four
 * decimals below $1 (per-device rates such as $0.0922). A loss is `-$188.18`, with the same ASCII
 * minus the other figures use, so that pasted figures parse.
 */
export function usd(value: number): string {
  const abs = Math.abs(value);
  const body =
    abs >= 100_000 || Number.isInteger(abs) ? formatter(0, 0).format(abs) : abs < 1 ? formatter(2, 4).format(abs) : formatter(2, 2).format(abs);
  return `${value < 0 ? '-' : ''}$${body}`;
}

/** A fraction 0–1 as a percentage with `digits` decimals: `0.234 → "23.4%"`. */
export function pct(fraction: number, digits = 1): string {
  return `${fixed(fraction * 100, digits)}%`;
}

/** A limit as a person reads it: grouped digits, or exponent form for tiny limits (`1e-9`). */
export function limit(value: number): string {
  return value !== 0 && Math.abs(value) < 0.001 ? String(value) : formatter(0, 6).format(value);
}
