/**
 * Shadow engine: update + delta throughput against the nearest off-the-shelf way to do the same
 * without metadata or versions (structuredClone + json-merge-patch + microdiff), and bytes per
 * stored shadow with 1,000,000 documents held.
 */
import { createRequire } from 'node:module';
import diff from 'microdiff';
import type { JsonObject } from '../src/json.js';
import { applyShadowUpdate, type ShadowDocument } from '../src/shadow/index.js';
import { fmt, heapUsed, measure, printTable, verdict } from './lib.js';

const require = createRequire(import.meta.url);
const mergePatch = require('json-merge-patch') as { apply: (target: unknown, patch: unknown) => unknown };

/** A realistic ESP32 environmental-sensor shadow: 20 leaves, 3 levels, one array. */
function esp32Reported(i: number): JsonObject {
  return {
    firmware: { version: '2.4.1', build: 1187, slot: 'a' },
    network: { rssi: -61, ip: '10.0.3.17', ssid: 'plant-floor-2', channel: 6 },
    sensors: {
      temperature: { value: 21.4 + (i % 10) / 10, unit: 'C' },
      humidity: { value: 48.2, unit: '%' },
      co2: 612,
    },
    power: { battery: 87, charging: false, voltage: 3.91 },
    uptimeSeconds: 86_400 + i,
    thresholds: [15, 30, 800],
  };
}
const desired: JsonObject = { sampling: { intervalSeconds: 60 }, thresholds: [15, 28, 800], led: 'off', firmware: { version: '2.5.0' } };

function makeDocument(i: number, now: number): ShadowDocument {
  const r = applyShadowUpdate(undefined, { state: { reported: esp32Reported(i), desired } }, { now });
  if (!r.ok) throw r.error;
  return r.document;
}

const updates = [0, 1, 2, 3].map((k) => ({ state: { reported: { sensors: { temperature: { value: 20 + k } , co2: 600 + k }, power: { battery: 80 + k } } } }));

export async function run(): Promise<void> {
  // --- throughput: update touching 3 leaves, then the delta --------------------------------
  let doc = makeDocument(0, 1_700_000_000_000);
  let now = 1_700_000_000_000;
  const ours = measure('fleetkit applyShadowUpdate (merge + metadata + version + delta + payloads)', (i) => {
    const r = applyShadowUpdate(doc, updates[i & 3], { now: (now += 1000) });
    if (r.ok) doc = r.document;
  }, { ms: 1500 });

  let plain: { desired: JsonObject; reported: JsonObject } = { desired, reported: esp32Reported(0) };
  let sink = 0;
  const base = measure('baseline structuredClone + json-merge-patch + microdiff', (i) => {
    const next = structuredClone(plain);
    next.reported = mergePatch.apply(next.reported, (updates[i & 3] as { state: { reported: JsonObject } }).state.reported) as JsonObject;
    sink += diff(next.desired, next.reported).length;
    plain = next;
  }, { ms: 1500 });
  if (sink < 0) console.log(sink);

  const ratio = ours.opsPerSec / base.opsPerSec;
  printTable('Shadow update + delta (ESP32 shadow, 20 leaves, update touches 3)', [
    { implementation: ours.name, 'updates/s': fmt(ours.opsPerSec), 'µs/update': fmt(ours.nsPerOp / 1000, 2), 'vs baseline': `${fmt(ratio, 2)}×`, target: verdict(ratio >= 2 && ours.opsPerSec >= 300_000, '≥ 2× and ≥ 300,000/s') },
    { implementation: base.name, 'updates/s': fmt(base.opsPerSec), 'µs/update': fmt(base.nsPerOp / 1000, 2), 'vs baseline': '1.00×', target: '' },
  ]);

  // --- memory: 1,000,000 stored shadows -------------------------------------------------------
  const count = Number(process.env['FLEETKIT_BENCH_SHADOWS'] ?? 1_000_000);
  const before = heapUsed();
  const held: ShadowDocument[] = new Array<ShadowDocument>(count);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    // each device's own document: create it, then one telemetry update, as a live fleet would
    const first = makeDocument(i, 1_700_000_000_000 + i);
    const r = applyShadowUpdate(first, updates[i & 3], { now: 1_700_000_060_000 + i });
    held[i] = r.ok ? r.document : first;
  }
  const buildMs = performance.now() - t0;
  const after = heapUsed();
  const perShadow = (after - before) / count;
  printTable(`Memory: ${fmt(count)} stored shadows (heap delta / count, after GC)`, [
    { measure: 'bytes per stored shadow', value: fmt(perShadow), target: verdict(perShadow <= 2500, '≤ 2,500 B') },
    { measure: 'JSON size of one document (state + metadata)', value: fmt(JSON.stringify(held[0]).length), target: '' },
    { measure: `time to build ${fmt(count)} documents`, value: `${fmt(buildMs)} ms`, target: '' },
  ]);
  if (held.length !== count) throw new Error('unreachable');
}
