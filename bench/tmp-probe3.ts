import { isUtf8 } from 'node:buffer';
import { jsonCodec } from '../src/protocol/index.js';
import { measure } from './lib.js';
const doc = { ts: 1_700_000_000_000, seq: 12345, values: { pad: 'x'.repeat(50) } };
const text = JSON.stringify(doc);
const buf = Buffer.from(text);
const td = new TextDecoder('utf-8', { fatal: true });
const res: Record<string, number[]> = {};
const r = (n: string, f: () => unknown) => (res[n] ??= []).push(measure(n, f, { ms: 200 }).opsPerSec);
for (let k = 0; k < 7; k++) {
  r('raw parse (toString+parse)', () => JSON.parse(buf.toString()));
  r('jsonCodec.decode', () => jsonCodec.decode(buf));
  r('TextDecoder', () => td.decode(buf));
  r('isUtf8+toString', () => isUtf8(buf) && buf.toString());
  r('buf.toString', () => buf.toString());
  r('raw stringify', () => JSON.stringify(doc));
  r('raw stringify+Buffer.from', () => Buffer.from(JSON.stringify(doc)));
  r('jsonCodec.encode', () => jsonCodec.encode(doc));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [n, xs] of Object.entries(res)) console.log(n.padEnd(28), Math.round(med(xs)).toLocaleString());
