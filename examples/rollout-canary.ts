/**
 * A staged rollout over 10,000 simulated devices, twice: a good release that goes 1 % → 10 % →
 * 50 % → 100 %, and a bad one (2 % of devices fail their post-boot checks and fall back to
 * their old slot) that the canary stops. Virtual time; runs in well under a second.
 *
 *   npx tsx examples/rollout-canary.ts
 */
import { cohortOf, createRolloutProgress, evaluateBoot, planRollout, stepRollout } from 'fleetkit/rollout';
import type { DeviceReportType, RolloutDevice } from 'fleetkit/rollout';

const HOUR = 3_600_000;
const fleet: RolloutDevice[] = Array.from({ length: 10_000 }, (_, i) => ({
  id: `sensor-${String(i).padStart(5, '0')}`,
  tenantId: 'acme',
  firmware: '2.3.1',
  state: i % 500 === 0 ? 'maintenance' : 'active',
  tags: ['eu-west'],
}));

function simulate(version: string, badShare: number): void {
  const plan = planRollout({
    rolloutId: `fw-${version}`,
    firmware: { version, url: `https://updates.example.com/fw-${version}.bin`, sha256: 'c0ffee'.padEnd(64, '0'), size: 1_310_720 },
    devices: fleet,
  });
  console.log(`\n== ${plan.rolloutId}: ${plan.devices.length} devices in stages of ${plan.stages.map((s) => s.size).join(' / ')}`);
  for (const note of plan.notes) console.log(`   note: ${note}`);
  const progress = createRolloutProgress(plan);
  let now = Date.UTC(2026, 0, 5, 9, 0);
  for (let round = 0; round < 50; round++) {
    const { decision, effects } = stepRollout(plan, progress, { now });
    console.log(`   +${((now - Date.UTC(2026, 0, 5, 9, 0)) / HOUR).toFixed(1)} h  ${decision.decision.padEnd(8)} ${decision.reason}`);
    if (decision.decision === 'complete' || decision.decision === 'abort') return;
    // Each dispatched device downloads, reboots, runs its health checks and reports.
    for (const { deviceId } of effects.dispatch) {
      const bad = cohortOf('health', deviceId) < badShare * 10_000; // a stable "bad hardware" subset
      const boot = evaluateBoot({ bootedAt: now + 60_000, now: now + 120_000, checks: [{ name: 'mqtt-connected', status: bad ? 'fail' : 'pass' }] });
      const reports: DeviceReportType[] = ['picked_up', 'installed', boot.verdict === 'commit' ? 'boot_confirmed' : 'rolled_back'];
      for (const type of reports) progress.report({ deviceId, type }, now + 120_000);
    }
    // Look again shortly after dispatching; otherwise sleep until the evaluator says something can change.
    now = effects.dispatch.length > 0 ? now + 5 * 60_000 : (decision.nextCheckAt ?? now + HOUR);
  }
  throw new Error('the rollout did not finish');
}

simulate('2.4.0', 0);
simulate('2.4.1', 0.02);
