import { measure } from './lib.js';
import { FORBIDDEN_KEYS } from '../src/json.js';
const doc = { ts: 1_700_000_000_000, seq: 12345, values: { pad: 'x'.repeat(50) } };
const text = JSON.stringify(doc);
function mayHaveForbiddenKey(text: string): boolean { if (text.indexOf('\\') !== -1) return true; for (const key of FORBIDDEN_KEYS) if (text.indexOf(key) !== -1) return true; return false; }
function openersAtMost(text: string, limit: number): boolean { let n = 0; for (const c of ['{', '[']) { for (let i = text.indexOf(c); i !== -1; i = text.indexOf(c, i + 1)) if (++n > limit) return false; } return true; }
function isDigit(c: number): boolean { return c >= 48 && c <= 57; }
function mayOverflow(text: string): boolean { if (text.length >= 309) return true; for (let i = text.indexOf('e'); i !== -1; i = text.indexOf('e', i + 1)) if (isDigit(text.charCodeAt(i - 1))) return true; for (let i = text.indexOf('E'); i !== -1; i = text.indexOf('E', i + 1)) if (isDigit(text.charCodeAt(i - 1))) return true; return false; }
const res: Record<string, number[]> = {};
const r = (n: string, f: () => unknown) => (res[n] ??= []).push(measure(n, f, { ms: 200 }).opsPerSec);
for (let k = 0; k < 5; k++) {
  r('parse', () => JSON.parse(text));
  r('forbidden', () => mayHaveForbiddenKey(text));
  r('two indexOf', () => text.indexOf('proto') + text.indexOf('constructor'));
  r('backslash', () => text.indexOf('\\'));
  r('openers', () => openersAtMost(text, 64));
  r('overflow', () => mayOverflow(text));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [n, xs] of Object.entries(res)) console.log(n.padEnd(28), Math.round(med(xs)).toLocaleString(), (1e9 / med(xs)).toFixed(0) + 'ns');
function scan(text: string, maxDepth: number): boolean {
  const n = text.length;
  if (n >= 309) return false;
  let openers = 0;
  let prevDigit = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c <= 57) {
      if (c >= 48) { prevDigit = true; continue; }
      if (c === 34) { const d = text.charCodeAt(i + 1); if ((d === 95 && text.startsWith('__proto__"', i + 1)) || (d === 99 && text.startsWith('constructor"', i + 1)) || (d === 112 && text.startsWith('prototype"', i + 1))) return false; }
    } else if (c === 92) return false;
    else if (c === 123 || c === 91) { if (++openers > maxDepth) return false; }
    else if ((c === 101 || c === 69) && prevDigit) return false;
    prevDigit = false;
  }
  return true;
}
const res2: Record<string, number[]> = {};
for (let k = 0; k < 5; k++) (res2['scan'] ??= []).push(measure('scan', () => scan(text, 64), { ms: 200 }).opsPerSec);
for (const [n, xs] of Object.entries(res2)) console.log(n.padEnd(28), Math.round(med(xs)).toLocaleString(), (1e9 / med(xs)).toFixed(0) + 'ns');
const tel = JSON.stringify({ ts: 1_700_000_000_000, seq: 123_456, values: { temperatureC: 21.53, humidityPct: 44.2, pressureHpa: 1013.25, co2Ppm: 612, batteryPct: 87, rssiDbm: -71, snrDb: 7.5, uptimeS: 864_000, firmware: '2.4.1', door: false, pump: { running: true, rpm: 1480, currentA: 3.2 }, location: { lat: 52.5201, lon: 13.4049 } } });
for (let k = 0; k < 3; k++) console.log('scan tel', (1e9 / measure('s', () => scan(tel, 64), { ms: 200 }).opsPerSec).toFixed(0) + 'ns', 'parse tel', (1e9 / measure('p', () => JSON.parse(tel), { ms: 200 }).opsPerSec).toFixed(0) + 'ns');
