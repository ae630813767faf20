/**
 * Planning a 10,000-device rollout with the calculators: provisioning, scale, architecture and
 * monthly cost, then a safety check and a maintenance business case.
 *
 * Run: npx tsx examples/calc-planning.ts
 */
import {
  failuresAtScale,
  fleetCostPerMonth,
  fogDataReduction,
  isFleetError,
  predictiveMaintenanceRoi,
  provisioningCost,
  recommendArchitecture,
  sisResponseBudget,
} from 'fleetkit/calc';

const usd = (v: number): string => `$${Math.round(v).toLocaleString('en-US')}`;
const pct = (f: number): string => `${(f * 100).toFixed(1)}%`;

// 1. Can two technicians provision the fleet in a week, and what does zero-touch save?
const provisioning = provisioningCost({ devices: 10_000, availableDays: 5 });
console.log(
  `provisioning: manual ${provisioning.manual.laborHours.toFixed(1)} h (${provisioning.manual.fitsAvailableHours ? 'fits' : `${provisioning.manual.shortfallHours.toFixed(1)} h short`}),`,
  `zero-touch ${provisioning.zeroTouch.laborHours.toFixed(1)} h; saves ${usd(provisioning.savingsUsd)}, break-even at ${provisioning.breakEvenDevices} devices`,
);

// 2. What "rare" means at this scale.
const scale = failuresAtScale({ devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 });
console.log(`scale: ${scale.failuresPerDay.toFixed(1)} failures/day, ${scale.messagesPerMinute.toLocaleString('en-US')} messages/min`);

// 3. Which architecture, and what it costs to run.
const architecture = recommendArchitecture({ devices: 10_000, processing: 'ml', manualOpsCostPerYearUsd: 120_000, platformCostUsd: 150_000 });
const cost = fleetCostPerMonth({ devices: 10_000 });
const fog = fogDataReduction({ devices: 10_000 });
console.log(`architecture: ${architecture.path.join(' → ')} (~${usd(architecture.monthlyCostUsd)}/mo); automate: ${architecture.automation?.automate}`);
console.log(`running cost: ${usd(cost.totalUsdPerMonth)}/month, ${cost.allInUsdPerDeviceMonth.toFixed(2)} USD per device; fog cuts ${pct(fog.reductionFraction)} of bytes`);

// 4. The reactor's safety function against its budget.
const sis = sisResponseBudget({
  processSafetyTimeSeconds: 8,
  components: [
    { name: 'RTD sensor', responseTimeSeconds: 0.5 },
    { name: 'transmission + network + PLC', responseTimeSeconds: 0.171 },
    { name: 'valve stroke', responseTimeSeconds: 1.2 },
  ],
  pfdAvg: 0.004,
});
console.log(`SIS: ${sis.totalSeconds.toFixed(3)} s = ${pct(sis.fractionOfPst)} of PST, ${sis.pass ? 'PASS' : 'FAIL'}, SIL ${sis.silLevel}; ${sis.dominant.name} ${pct(sis.dominant.fraction)}`);

// 5. The maintenance business case for the plant's 40 pumps, and the working behind it.
const roi = predictiveMaintenanceRoi({
  assets: 40,
  sensorsPerAsset: 4,
  failuresPerAssetYear: 1.5,
  repairCostPerFailureUsd: 20_000,
  downtimeHoursPerFailure: 8,
  downtimeCostPerHourUsd: 5_000,
  reactiveOverheadPerAssetYearUsd: 12_000,
  plannedRepairCostPerFailureUsd: 4_000,
  platformCostPerYearUsd: 60_000,
  capexUsd: 250_000,
});
console.log(roi.working.map((line) => `  ${line}`).join('\n'));

// 6. Bad input is a FleetError naming the field.
try {
  provisioningCost({ devices: -1 });
} catch (error) {
  if (!isFleetError(error, 'INVALID_INPUT')) throw error;
  console.log(`rejected: ${error.message}`);
}

if (Math.abs(scale.messagesPerMinute - 60_000) > 1e-9 || Math.abs(cost.totalUsdPerMonth - 4_300) > 1e-6 || !sis.pass) {
  throw new Error('the planning figures changed');
}
