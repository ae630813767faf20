import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { MqttTransport } from '../src/mqtt.js';
import { jsonCodec } from '../src/protocol/index.js';
import { startMosquitto } from '../test/support/mosquitto.js';
const WINDOW = 500;
const ROUNDS = Number(process.env.ROUNDS ?? 9);
const N = 50_000;
function median(xs: number[]): number { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] ?? 0; }
function docOfSize(bytes: number): Record<string, unknown> { const base = { ts: 1_700_000_000_000, seq: 0, values: { pad: '' } }; const overhead = JSON.stringify(base).length; return { ...base, values: { pad: 'x'.repeat(Math.max(0, bytes - overhead)) } }; }
async function pump(n: number, send: (i: number) => Promise<void>, received: () => number): Promise<number> {
  const start = performance.now(); let next = 0; let outstanding = 0;
  await new Promise<void>((resolve, reject) => { const fill = (): void => { while (outstanding < WINDOW && next < n) { outstanding++; send(next++).then(() => { outstanding--; fill(); }, reject); } if (next >= n && outstanding === 0) resolve(); }; fill(); });
  for (let i = 0; received() < n && i < 2000; i++) await new Promise((r) => setTimeout(r, 5));
  if (received() < n) throw new Error(`only ${received()} of ${n}`);
  return n / ((performance.now() - start) / 1000);
}
const cpu: Record<string, number[]> = { raw: [], ours: [] };
async function withCpu(kind: 'raw' | 'ours', f: () => Promise<number>): Promise<number> { const c = process.cpuUsage(); const r = await f(); const d = process.cpuUsage(c); cpu[kind]!.push((d.user + d.system) / N); return r; }
async function rawRun(url: string, doc: Record<string, unknown>, round: number): Promise<number> {
  const topic = `bench/raw/0/${round}`;
  const open = (id: string): Promise<MqttClient> => new Promise((resolve, reject) => { const c = mqttConnect(url, { clientId: id, reconnectPeriod: 0 }); c.once('connect', () => { (c.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true); resolve(c); }); c.once('error', reject); });
  const pub = await open(`raw-pub-${round}`); const sub = await open(`raw-sub-${round}`);
  let got = 0; sub.on('message', (_t, payload) => { JSON.parse(payload.toString()); got++; });
  await sub.subscribeAsync(topic, { qos: 0 });
  const rate = await pump(N, (i) => new Promise<void>((resolve, reject) => { pub.publish(topic, JSON.stringify({ ...doc, seq: i }), { qos: 0 }, (e) => (e ? reject(e) : resolve())); }), () => got);
  await pub.endAsync(); await sub.endAsync(); return rate;
}
async function oursRun(url: string, doc: Record<string, unknown>, round: number): Promise<number> {
  const topic = `bench/ours/0/${round}`;
  const pub = new MqttTransport({ url, clientId: `ours-pub-${round}`, maxInFlight: WINDOW, queue: { maxMessages: WINDOW * 2 } });
  const sub = new MqttTransport({ url, clientId: `ours-sub-${round}` });
  await pub.connect(); await sub.connect();
  let got = 0; await sub.subscribe(topic, (m) => { jsonCodec.decode(m.payload); got++; }, { qos: 0 });
  const rate = await pump(N, (i) => pub.publish(topic, jsonCodec.encode({ ...doc, seq: i }), { qos: 0 }), () => got);
  await pub.close(); await sub.close(); return rate;
}
const broker = await startMosquitto();
const doc = docOfSize(100); const raw: number[] = []; const ours: number[] = [];
try {
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) { raw.push(await withCpu('raw', () => rawRun(broker.url, doc, r))); ours.push(await withCpu('ours', () => oursRun(broker.url, doc, r))); }
    else { ours.push(await withCpu('ours', () => oursRun(broker.url, doc, r))); raw.push(await withCpu('raw', () => rawRun(broker.url, doc, r))); }
  }
} finally { await broker.dispose(); }
console.log('raw', raw.map(Math.round).join(' '), '\nours', ours.map(Math.round).join(' '));
console.log('median raw', Math.round(median(raw)), 'ours', Math.round(median(ours)), 'ratio', (median(ours) / median(raw)).toFixed(3), 'pairwise median', median(ours.map((o, i) => o / raw[i]!)).toFixed(3));
console.log('cpu µs/msg raw', median(cpu.raw!).toFixed(2), 'ours', median(cpu.ours!).toFixed(2));
