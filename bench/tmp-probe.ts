import { cborCodec } from '../src/cbor.js';
import { jsonCodec } from '../src/protocol/index.js';
import { Encoder } from 'cbor-x';
import { measure } from './lib.js';
const telemetry = { ts: 1_700_000_000_000, seq: 123_456, values: { temperatureC: 21.53, humidityPct: 44.2, pressureHpa: 1013.25, co2Ppm: 612, batteryPct: 87, rssiDbm: -71, snrDb: 7.5, uptimeS: 864_000, firmware: '2.4.1', door: false, pump: { running: true, rpm: 1480, currentA: 3.2 }, location: { lat: 52.5201, lon: 13.4049 } } };
const json = jsonCodec.encode(telemetry);
const cbor = cborCodec.encode(telemetry);
const cx = new Encoder({ useRecords: false, mapsAsObjects: true });
const res: Record<string, number[]> = {};
const r = (n: string, f: () => unknown) => (res[n] ??= []).push(measure(n, f, { ms: 300 }).opsPerSec);
for (let k = 0; k < 7; k++) {
  r('json decode', () => jsonCodec.decode(json));
  r('cbor decode', () => cborCodec.decode(cbor));
  r('cbor-x raw decode', () => cx.decode(cbor));
  r('json encode', () => jsonCodec.encode(telemetry));
  r('cbor encode', () => cborCodec.encode(telemetry));
}
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [n, xs] of Object.entries(res)) console.log(n.padEnd(20), Math.round(med(xs)).toLocaleString());
console.log('cbor/json decode', (med(res['cbor decode']!) / med(res['json decode']!)).toFixed(2));
