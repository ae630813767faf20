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

/** The 3-leaf telemetry reports of the flat curve (`nested`: the same leaves one level down, under `reported.t`). */
function flatRequests(leaves: number, nested: boolean): Array<{ state: { reported: JsonObject } }> {
  const telemetry = leaves - 2 * Math.max(1, Math.floor(leaves / 8));
  return Array.from({ length: 64 }, (_, k) => {
    const reported: JsonObject = {};
    for (let j = 0; j < 3; j++) reported[`tel_${String((k * 3 + j) % telemetry).padStart(4, '0')}`] = 10000 + ((k * 7919 + j) % 89999) + 0.1234;
    return { state: { reported: nested ? { t: reported } : reported } };
  });
}

/**
 * Updates/s of 3-leaf telemetry reports on a flat shadow of `leaves` leaves, and the floor any
 * update that copies the objects it writes into would pay: copying the reported object and its
 * metadata (the widest objects) once each, with nothing else. The engine does not copy them.
 */
function flatCurve(leaves: number, limits: ShadowLimits | undefined): { opsPerSec: number; floorPerSec: number; bytes: number; widest: number } {
  let doc = flatDocument(leaves, limits);
  const requests = flatRequests(leaves, false);
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
 * The baseline on the flat shadow: structuredClone + json-merge-patch + microdiff (no metadata,
 * no versions, no size bound), the same 3-leaf reports.
 */
function flatBaseline(leaves: number, limits: ShadowLimits | undefined): number {
  const doc = flatDocument(leaves, limits);
  let plain = { desired: doc.state.desired ?? {}, reported: doc.state.reported ?? {} };
  const requests = flatRequests(leaves, false);
  let sink = 0;
  const m = measure(`baseline flat ${leaves}`, (i) => {
    const next = structuredClone(plain);
    next.reported = mergePatch.apply(next.reported, (requests[i & 63] as { state: { reported: JsonObject } }).state.reported) as JsonObject;
    sink += diff(next.desired, next.reported).length;
    plain = next;
  }, { ms: 400, batch: leaves > 400 ? 8 : 64 });
  if (sink < 0) console.log(sink);
  return m.opsPerSec;
}

/** The flat shadow with its telemetry one level down (`reported.t`, one wide object below the section). */
function nestedCurve(leaves: number, limits: ShadowLimits | undefined): number {
  const flat = flatDocument(leaves, limits);
  const { cfg, tel } = Object.entries(flat.state.reported ?? {}).reduce<{ cfg: JsonObject; tel: JsonObject }>(
    (acc, [k, v]) => {
      (k.startsWith('tel_') ? acc.tel : acc.cfg)[k] = v;
      return acc;
    },
    { cfg: {}, tel: {} },
  );
  const lim = limits === undefined ? {} : { limits };
  const first = applyShadowUpdate(undefined, { state: { desired: flat.state.desired, reported: { ...cfg, t: tel } } }, { now: 1_700_000_000_000, ...lim });
  if (!first.ok) throw first.error;
  let doc = first.document;
  const requests = flatRequests(leaves, true);
  let now = 1_700_000_000_000;
  const options = { now, ...lim };
  return measure(`nested ${leaves}`, (i) => {
    options.now = now += 1000;
    const r = applyShadowUpdate(doc, requests[i & 63], options);
    if (!r.ok) throw r.error;
    doc = r.document;
  }, { ms: 500 }).opsPerSec;
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
  const sizes: Array<{ n: number; limits: ShadowLimits | undefined }> = [20, 100, 200, 350].map((n) => ({ n, limits: undefined }));
  sizes.push({ n: 2000, limits: raised });
  const curve = sizes.map(({ n, limits }) => ({
    n,
    raisedLimits: limits !== undefined,
    ...flatCurve(n, limits),
    baseline: flatBaseline(n, limits),
    nested: nestedCurve(n, limits),
    grouped: groupedCurve(n, limits),
  }));
  const grouped200 = curve.find((c) => c.n === 200)?.grouped ?? Number.NaN;
  const nested200 = curve.find((c) => c.n === 200)?.nested ?? Number.NaN;
  const at200 = curve.find((c) => c.n === 200)?.opsPerSec ?? Number.NaN;
  const target = (n: number, ops: number, ops200: number): string =>
    n === 350 ? verdict(ops >= 50_000, '≥ 50,000/s') : n === 2000 ? verdict(ops200 / ops <= 10, 'within 10× of 200 leaves') : '';
  printTable('Update cost against document size (flat shadow, 1/8 desired, 3-leaf reported update; baseline: structuredClone + json-merge-patch + microdiff on the same shadow)', curve.map((c) => ({
    leaves: fmt(c.n),
    'state bytes': fmt(c.bytes),
    limits: c.raisedLimits ? 'maxDocumentBytes 64 KiB' : 'default (8 KiB)',
    'updates/s': fmt(c.opsPerSec),
    'µs/update': fmt(1e6 / c.opsPerSec, 2),
    'baseline/s': fmt(c.baseline),
    'vs baseline': `${fmt(c.opsPerSec / c.baseline, 1)}×`,
    'vs 200 leaves': `${fmt(at200 / c.opsPerSec, 2)}× slower`,
    target: target(c.n, c.opsPerSec, at200),
    'copy floor µs (2 copies of the widest object)': `${fmt(1e6 / c.floorPerSec, 2)} (${fmt(c.widest)} keys)`,
  })));
  printTable('The same leaves in other shapes (3-leaf reported update)', curve.map((c) => ({
    leaves: fmt(c.n),
    'grouped by 50: updates/s': fmt(c.grouped),
    'grouped vs 200 leaves': `${fmt(grouped200 / c.grouped, 2)}× slower`,
    'grouped target': target(c.n, c.grouped, grouped200),
    'one level down (reported.t): updates/s': fmt(c.nested),
    'nested vs 200 leaves': `${fmt(nested200 / c.nested, 2)}× slower`,
    'nested target': target(c.n, c.nested, nested200),
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
