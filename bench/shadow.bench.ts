/**
 * Shadow engine: update + delta throughput against the nearest off-the-shelf way to do the same
 * without metadata or versions (structuredClone + json-merge-patch + microdiff), and bytes per
 * stored shadow with 1,000,000 documents held.
 */
import { createRequire } from 'node:module';
import diff from 'microdiff';
import type { JsonObject } from '../src/json.js';
import { applyShadowUpdate, type ShadowDocument, type ShadowLimits } from '../src/shadow/index.js';
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

/**
 * A flat shadow of `leaves` leaves: an eighth are configuration (desired, mirrored in reported, one
 * of them still pending so the delta is non-empty) and the rest telemetry (reported only). At 350
 * leaves the document is close to AWS's 8 KiB limit.
 */
function flatDocument(leaves: number, limits: ShadowLimits | undefined): ShadowDocument {
  const config = Math.max(1, Math.floor(leaves / 8));
  const desired: JsonObject = {};
  const reported: JsonObject = {};
  for (let i = 0; i < config; i++) {
    desired[`cfg_${String(i).padStart(4, '0')}`] = 12345.6789;
    reported[`cfg_${String(i).padStart(4, '0')}`] = i === 0 ? 54321.9876 : 12345.6789;
  }
  for (let i = 0; i < leaves - 2 * config; i++) reported[`tel_${String(i).padStart(4, '0')}`] = 12345.6789;
  const r = applyShadowUpdate(undefined, { state: { desired, reported } }, { now: 1_700_000_000_000, ...(limits === undefined ? {} : { limits }) });
  if (!r.ok) throw r.error;
  return r.document;
}

/**
 * Updates/s of 3-leaf telemetry reports on a flat shadow of `leaves` leaves, and the floor any
 * update of immutable plain objects pays: copying the reported object and its metadata (the
 * widest objects) once each, as the engine does, with nothing else.
 */
function flatCurve(leaves: number, limits: ShadowLimits | undefined): { opsPerSec: number; floorPerSec: number; bytes: number; widest: number } {
  let doc = flatDocument(leaves, limits);
  const telemetry = leaves - 2 * Math.max(1, Math.floor(leaves / 8));
  const requests = Array.from({ length: 64 }, (_, k) => {
    const reported: JsonObject = {};
    for (let j = 0; j < 3; j++) reported[`tel_${String((k * 3 + j) % telemetry).padStart(4, '0')}`] = 10000 + ((k * 7919 + j) % 89999) + 0.1234;
    return { state: { reported } };
  });
  let now = 1_700_000_000_000;
  const options = { now, ...(limits === undefined ? {} : { limits }) };
  const m = measure(`flat ${leaves}`, (i) => {
    options.now = now += 1000;
    const r = applyShadowUpdate(doc, requests[i & 63], options);
    if (!r.ok) throw r.error;
    doc = r.document;
  }, { ms: 700 });
  let value = doc.state.reported ?? {};
  let meta = doc.metadata.reported ?? {};
  const keys = Object.keys(value);
  const leaf = Object.freeze({ timestamp: 1 });
  const floor = measure(`copy floor ${leaves}`, (i) => {
    const key = keys[i % keys.length] as string;
    const v = { ...value };
    v[key] = i + 0.5;
    const mm = { ...meta };
    mm[key] = leaf;
    value = v;
    meta = mm;
  }, { ms: 400 });
  return { opsPerSec: m.opsPerSec, floorPerSec: floor.opsPerSec, bytes: Buffer.byteLength(JSON.stringify(doc.state)), widest: keys.length };
}

/**
 * The same leaves grouped in objects of 50 keys (`reported.group_3.tel_0151`): updates/s of 3-leaf
 * reports into one group. Shows the engine's own scaling when no object is wide enough for V8's
 * copy cost to dominate.
 */
function groupedCurve(leaves: number, limits: ShadowLimits | undefined): number {
  const group = 50;
  const reported: JsonObject = {};
  for (let i = 0; i < leaves; i++) ((reported[`group_${Math.floor(i / group)}`] ??= {}) as JsonObject)[`tel_${String(i).padStart(4, '0')}`] = 12345.6789;
  const lim = limits === undefined ? {} : { limits };
  const first = applyShadowUpdate(undefined, { state: { desired: { cfg: { mode: 'eco', rate: 5 } }, reported } }, { now: 1_700_000_000_000, ...lim });
  if (!first.ok) throw first.error;
  let doc = first.document;
  const groups = Math.ceil(leaves / group);
  const requests = Array.from({ length: 64 }, (_, k) => {
    const g = k % groups;
    const patch: JsonObject = {};
    for (let j = 0; j < 3; j++) patch[`tel_${String(Math.min(leaves - 1, g * group + ((k * 3 + j) % group))).padStart(4, '0')}`] = 10000 + ((k * 7919 + j) % 89999) + 0.1234;
    return { state: { reported: { [`group_${g}`]: patch } } };
  });
  let now = 1_700_000_000_000;
  const options = { now, ...lim };
  return measure(`grouped ${leaves}`, (i) => {
    options.now = now += 1000;
    const r = applyShadowUpdate(doc, requests[i & 63], options);
    if (!r.ok) throw r.error;
    doc = r.document;
  }, { ms: 500 }).opsPerSec;
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

  // --- cost against document size: 3-leaf reports on flat shadows ------------------------------
  const raised: ShadowLimits = { maxDocumentBytes: 64 * 1024 };
  const curve = [20, 100, 200, 350].map((n) => ({ n, raisedLimits: false, ...flatCurve(n, undefined), grouped: groupedCurve(n, undefined) }));
  curve.push({ n: 2000, raisedLimits: true, ...flatCurve(2000, raised), grouped: groupedCurve(2000, raised) });
  const grouped200 = curve.find((c) => c.n === 200)?.grouped ?? Number.NaN;
  const at200 = curve.find((c) => c.n === 200)?.opsPerSec ?? Number.NaN;
  printTable('Update cost against document size (flat shadow, 1/8 desired, 3-leaf reported update)', curve.map((c) => ({
    leaves: fmt(c.n),
    'state bytes': fmt(c.bytes),
    limits: c.raisedLimits ? 'maxDocumentBytes 64 KiB' : 'default (8 KiB)',
    'updates/s': fmt(c.opsPerSec),
    'µs/update': fmt(1e6 / c.opsPerSec, 2),
    'vs 200 leaves': `${fmt(at200 / c.opsPerSec, 2)}× slower`,
    'copy floor µs (2 copies of a widest object)': `${fmt(1e6 / c.floorPerSec, 2)} (${fmt(c.widest)} keys)`,
    target: c.n === 350 ? verdict(c.opsPerSec >= 50_000, '≥ 50,000/s') : c.n === 2000 ? verdict(at200 / c.opsPerSec <= 10, 'within 10× of 200 leaves') : '',
    'grouped by 50: updates/s': fmt(c.grouped),
    'grouped target': c.n === 350 ? verdict(c.grouped >= 50_000, '≥ 50,000/s') : c.n === 2000 ? verdict(grouped200 / c.grouped <= 10, 'within 10× of 200 leaves') : '',
  })));

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
