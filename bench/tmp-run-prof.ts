import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { startMosquitto } from '../test/support/mosquitto.js';
const b = await startMosquitto();
const out: Record<string, Map<string, number>> = {};
for (const kind of ['raw', 'ours']) {
  rmSync('/tmp/prof2', { recursive: true, force: true });
  spawnSync(process.execPath, ['--import', 'tsx', '--cpu-prof', '--cpu-prof-dir=/tmp/prof2', 'bench/tmp-mqtt-prof2.ts'], { env: { ...process.env, URL: b.url, KIND: kind }, stdio: 'inherit' });
  const f = readdirSync('/tmp/prof2')[0]!;
  const p = JSON.parse(readFileSync('/tmp/prof2/' + f, 'utf8'));
  const byId = new Map(p.nodes.map((n: any) => [n.id, n]));
  const self = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) { const n: any = byId.get(p.samples[i]); const u: string = n.callFrame.url; const k = n.callFrame.functionName + ' ' + u.split('/').slice(-2).join('/'); self.set(k, (self.get(k) ?? 0) + p.timeDeltas[i]); }
  out[kind] = self;
}
await b.dispose();
const keys = new Set([...out.raw!.keys(), ...out.ours!.keys()]);
const rows = [...keys].map((k) => [k, (out.ours!.get(k) ?? 0) / 1000, (out.raw!.get(k) ?? 0) / 1000] as const).filter(([k]) => !k.includes('idle') && !k.includes('spawnSync') && !k.includes('program'));
rows.sort((a, b) => Math.abs(b[1] - b[2]) - Math.abs(a[1] - a[2]));
for (const [k, o, r] of rows.slice(0, 30)) console.log(`${(o - r).toFixed(0).padStart(6)} ms  ours ${o.toFixed(0).padStart(5)} raw ${r.toFixed(0).padStart(5)}  ${k}`);
const tot = (m: Map<string, number>) => [...m].filter(([k]) => !k.includes('idle') && !k.includes('spawnSync') && !k.includes('program')).reduce((a, [, v]) => a + v, 0) / 1000;
console.log('total busy ms ours', tot(out.ours!).toFixed(0), 'raw', tot(out.raw!).toFixed(0));
