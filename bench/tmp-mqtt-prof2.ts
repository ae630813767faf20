import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { MqttTransport } from '../src/mqtt.js';
import { jsonCodec } from '../src/protocol/index.js';
const url = process.env.URL!;
const kind = process.env.KIND!;
const doc = { ts: 1_700_000_000_000, seq: 0, values: { pad: 'x'.repeat(50) } };
const N = 200_000;
async function pump(send: (i: number) => Promise<void>, got: () => number) {
  let next = 0; let out = 0;
  await new Promise<void>((resolve, reject) => { const fill = (): void => { while (out < 500 && next < N) { out++; send(next++).then(() => { out--; fill(); }, reject); } if (next >= N && out === 0) resolve(); }; fill(); });
  while (got() < N) await new Promise((r) => setTimeout(r, 5));
}
if (kind === 'raw') {
  const open = (id: string): Promise<MqttClient> => new Promise((res, rej) => { const c = mqttConnect(url, { clientId: id, reconnectPeriod: 0 }); c.once('connect', () => { (c.stream as any).setNoDelay?.(true); res(c); }); c.once('error', rej); });
  const pub = await open('rp'); const sub = await open('rs'); let got = 0;
  sub.on('message', (_t, p) => { JSON.parse(p.toString()); got++; }); await sub.subscribeAsync('b/r', { qos: 0 });
  await pump((i) => new Promise<void>((res, rej) => pub.publish('b/r', JSON.stringify({ ...doc, seq: i }), { qos: 0 }, (e) => (e ? rej(e) : res()))), () => got);
  await pub.endAsync(); await sub.endAsync();
} else {
  const pub = new MqttTransport({ url, clientId: 'op', maxInFlight: 500, queue: { maxMessages: 1000 } });
  const sub = new MqttTransport({ url, clientId: 'os' });
  await pub.connect(); await sub.connect(); let got = 0;
  await sub.subscribe('b/o', (m) => { jsonCodec.decode(m.payload); got++; }, { qos: 0 });
  await pump((i) => pub.publish('b/o', jsonCodec.encode({ ...doc, seq: i }), { qos: 0 }), () => got);
  await pub.close(); await sub.close();
}
