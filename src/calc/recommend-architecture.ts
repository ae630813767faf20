/**
 * The production deployment decision tree: which tiers (edge, fog, cloud) a fleet needs, what it
 * roughly costs per month, what the rollout takes, and whether automating pays.
 */
import { z } from 'zod';
import { num, usd } from './format.js';
import { countField, MAX_USD, rangeField, usdField } from './fields.js';
import { assertFinite, parseCalcInput } from './validate.js';

/** Input schema of {@link recommendArchitecture}. */
export const recommendArchitectureInputSchema = z.strictObject({
  devices: countField('devices in the fleet'),
  latencyCriticalMs: rangeField('end-to-end response the application needs, milliseconds (under 100 = latency-critical); omit when latency is not critical', 0.001, 86_400_000).optional(),
  processing: z.enum(['simple', 'ml']).describe('simple aggregation, or distributed compute / ML').default('simple'),
  regions: z.enum(['single', 'multi']).describe('one region, or global (multi-region)').default('single'),
  manualOpsCostPerYearUsd: usdField('what running the fleet by hand costs per year, USD (for the automation test)', MAX_USD).optional(),
  platformCostUsd: usdField('what building or buying the platform costs, USD (for the automation test)', MAX_USD).optional(),
});

/** Input of {@link recommendArchitecture}. */
export type RecommendArchitectureInput = z.input<typeof recommendArchitectureInputSchema>;

/** The leaves of the decision tree. */
export type ArchitectureTier = 'edge-only' | 'edge-cloud' | 'edge-fog' | 'edge-fog-cloud' | 'full-stack' | 'global-stack';

/** One row of the deployment-scale table. */
export interface DeploymentScale {
  /** Smallest fleet in the band. */
  readonly minDevices: number;
  /** Largest fleet in the band; `null` for the open-ended top band. */
  readonly maxDevices: number | null;
  /** The fleet-size band, e.g. "1,000–10,000". */
  readonly band: string;
  /** How that band deploys. */
  readonly approach: string;
  /** Low end of the typical deployment budget, USD. */
  readonly budgetMinUsd: number;
  /** High end of the typical deployment budget, USD (the top band is open-ended: "1M+"). */
  readonly budgetMaxUsd: number;
  /** The budget as the table writes it, e.g. "$50K–200K". */
  readonly budget: string;
}

/** The quick decision test: automate when manual operations over 2 years cost more than the platform. */
export interface AutomationTest {
  /** Manual operations cost per year × 2. */
  readonly manualOpsTwoYearsUsd: number;
  /** Platform cost. */
  readonly platformCostUsd: number;
  /** True when the two-year manual cost exceeds the platform cost. */
  readonly automate: boolean;
}

/** Result of {@link recommendArchitecture}. */
export interface RecommendArchitectureResult {
  /** The tier the tree lands on. */
  readonly tier: ArchitectureTier;
  /** Its name in words. */
  readonly label: string;
  /** What it consists of. */
  readonly description: string;
  /** Typical monthly running cost, USD ("~$2K/mo"). */
  readonly monthlyCostUsd: number;
  /** Every decision taken, in order, ending with the tier's label. */
  readonly path: readonly string[];
  /** The deployment-scale row for this fleet size. */
  readonly deploymentScale: DeploymentScale;
  /** The automation test, when both of its costs were given. */
  readonly automation?: AutomationTest;
  /** The arithmetic and decisions, step by step. */
  readonly working: readonly string[];
}

/** One leaf of the decision tree. */
export interface ArchitectureTierInfo {
  /** Its name in words. */
  readonly label: string;
  /** What it consists of. */
  readonly description: string;
  /** Typical monthly running cost, USD. */
  readonly monthlyCostUsd: number;
}

/** The decision tree's leaves, with their typical monthly costs. */
export const ARCHITECTURE_TIERS: Readonly<Record<ArchitectureTier, ArchitectureTierInfo>> = {
  'edge-only': { label: 'Edge only', description: 'direct device-to-cloud, MQTT/HTTP', monthlyCostUsd: 50 },
  'edge-cloud': { label: 'Edge + cloud', description: 'serverless cloud back end', monthlyCostUsd: 100 },
  'edge-fog': { label: 'Edge + fog', description: 'local gateway, SQLite/Redis', monthlyCostUsd: 500 },
  'edge-fog-cloud': { label: 'Edge + fog + cloud', description: 'distributed compute, Kubernetes/ML', monthlyCostUsd: 2_000 },
  'full-stack': { label: 'Full stack', description: 'regional, auto-scaling', monthlyCostUsd: 5_000 },
  'global-stack': { label: 'Global stack', description: 'CDN, multi-cloud, geo-replication', monthlyCostUsd: 20_000 },
};

/**
 * The deployment-scale table, smallest band first. Where the published bands share an edge
 * (1,000 and 10,000), the fleet goes to the band the decision tree uses for it.
 */
export const DEPLOYMENT_SCALES: readonly DeploymentScale[] = [
  { minDevices: 1, maxDevices: 99, band: '< 100', approach: 'manual provisioning', budgetMinUsd: 5_000, budgetMaxUsd: 15_000, budget: '$5K–15K' },
  { minDevices: 100, maxDevices: 999, band: '100–1,000', approach: 'semi-automated provisioning', budgetMinUsd: 15_000, budgetMaxUsd: 50_000, budget: '$15K–50K' },
  {
    minDevices: 1_000,
    maxDevices: 10_000,
    band: '1,000–10,000',
    approach: 'zero-touch provisioning, edge-fog-cloud, 24/7 monitoring, staged OTA',
    budgetMinUsd: 50_000,
    budgetMaxUsd: 200_000,
    budget: '$50K–200K',
  },
  {
    minDevices: 10_001,
    maxDevices: null,
    band: '> 10,000',
    approach: 'full platform, multi-tenant, chaos engineering',
    budgetMinUsd: 200_000,
    budgetMaxUsd: 1_000_000,
    budget: '$200K–1M+',
  },
];

type Input = z.output<typeof recommendArchitectureInputSchema>;

/** Walks the tree, recording each decision. */
function decide(i: Input, path: string[]): ArchitectureTier {
  if (i.devices < 100) {
    path.push(`devices ${num(i.devices)} < 100`);
    const critical = i.latencyCriticalMs !== undefined && i.latencyCriticalMs < 100;
    path.push(i.latencyCriticalMs === undefined ? 'latency not critical (no requirement given)' : `latency ${num(i.latencyCriticalMs)} ms ${critical ? '< 100 ms: critical' : '≥ 100 ms: not critical'}`);
    return critical ? 'edge-only' : 'edge-cloud';
  }
  if (i.devices <= 10_000) {
    path.push(`devices ${num(i.devices)} in 100–10,000`);
    path.push(i.processing === 'simple' ? 'processing: simple aggregation' : 'processing: distributed compute / ML');
    return i.processing === 'simple' ? 'edge-fog' : 'edge-fog-cloud';
  }
  path.push(`devices ${num(i.devices)} > 10,000`);
  path.push(i.regions === 'single' ? 'regions: single' : 'regions: multi (global)');
  return i.regions === 'single' ? 'full-stack' : 'global-stack';
}

function scaleFor(devices: number): DeploymentScale {
  const row = DEPLOYMENT_SCALES.find((s) => devices >= s.minDevices && (s.maxDevices === null || devices <= s.maxDevices));
  // Every integer ≥ 1 falls in exactly one band; the fallback only satisfies the type checker.
  return row ?? (DEPLOYMENT_SCALES[DEPLOYMENT_SCALES.length - 1] as DeploymentScale);
}

/**
 * Recommends a deployment architecture from the fleet size, the latency requirement, the kind of
 * processing and the regions, and returns the path taken through the decision tree.
 *
 * Boundaries: under 100 devices is small; 100 to 10,000 inclusive is medium; above 10,000 is
 * large. "Latency-critical" means a requirement under 100 ms.
 *
 * @param input - see {@link recommendArchitectureInputSchema}
 * @returns the tier, its typical monthly cost, the path, the deployment-scale row and, when
 *   both costs are given, the automation test
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * const r = recommendArchitecture({ devices: 5_000, processing: 'ml' });
 * r.tier;           // 'edge-fog-cloud'
 * r.monthlyCostUsd; // 2000
 * r.path;           // ['devices 5,000 in 100–10,000', 'processing: distributed compute / ML', 'Edge + fog + cloud']
 * ```
 */
export function recommendArchitecture(input: RecommendArchitectureInput): RecommendArchitectureResult {
  const i = parseCalcInput('recommendArchitecture', recommendArchitectureInputSchema, input);
  const path: string[] = [];
  const tier = decide(i, path);
  const info = ARCHITECTURE_TIERS[tier];
  path.push(info.label);
  const deploymentScale = scaleFor(i.devices);
  const working = [
    `decision: ${path.join(' → ')}`,
    `running cost: ~${usd(info.monthlyCostUsd)}/month (${info.description})`,
    `deployment scale ${deploymentScale.band}: ${deploymentScale.approach}, ${deploymentScale.budget}`,
  ];
  let automation: AutomationTest | undefined;
  if (i.manualOpsCostPerYearUsd !== undefined && i.platformCostUsd !== undefined) {
    const manualOpsTwoYearsUsd = i.manualOpsCostPerYearUsd * 2;
    automation = { manualOpsTwoYearsUsd, platformCostUsd: i.platformCostUsd, automate: manualOpsTwoYearsUsd > i.platformCostUsd };
    working.push(
      `automation test: 2 × ${usd(i.manualOpsCostPerYearUsd)} = ${usd(manualOpsTwoYearsUsd)} ${automation.automate ? '>' : '≤'} ${usd(i.platformCostUsd)} platform → ${automation.automate ? 'automate' : 'stay manual for now'}`,
    );
  }
  return assertFinite('recommendArchitecture', {
    tier,
    label: info.label,
    description: info.description,
    monthlyCostUsd: info.monthlyCostUsd,
    path,
    deploymentScale,
    ...(automation === undefined ? {} : { automation }),
    working,
  });
}
