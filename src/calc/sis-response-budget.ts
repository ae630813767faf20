/**
 * Safety instrumented function: the response-time budget against the process safety time, and
 * the SIL band of a PFDavg.
 */
import { z } from 'zod';
import { fixed, num, pct } from './format.js';
import { MAX_SECONDS, nonNegativeField, rangeField } from './fields.js';
import { assertFinite, parseCalcInput } from './validate.js';

/** One element of the signal path (sensor, transmission, PLC scan, logic, actuator, …). */
export const sisComponentSchema = z.strictObject({
  name: z.string().min(1).max(80).describe('what the component is'),
  responseTimeSeconds: nonNegativeField('worst-case response time, seconds', MAX_SECONDS),
});

/** Input schema of {@link sisResponseBudget}. */
export const sisResponseBudgetInputSchema = z
  .strictObject({
    processSafetyTimeSeconds: rangeField('process safety time: from the demand to the hazardous event, seconds', 0.001, MAX_SECONDS),
    budgetFraction: rangeField('share of the PST the SIF may use (0.5 = 50%)', 0.01, 1).default(0.5),
    components: z.array(sisComponentSchema).min(1).max(100).readonly().describe('the signal path, in order'),
    pfdAvg: rangeField('average probability of failure on demand, for the SIL band', 1e-9, 1).optional(),
  })
  .refine((i) => i.components.some((c) => c.responseTimeSeconds > 0), {
    message: 'at least one component with a response time > 0',
    path: ['components'],
  });

/** Input of {@link sisResponseBudget}. */
export type SisResponseBudgetInput = z.input<typeof sisResponseBudgetInputSchema>;
/** One component of the SIS signal path. */
export type SisComponent = z.output<typeof sisComponentSchema>;

/** A SIL band of IEC 61511 (low demand); 0 means the PFDavg does not reach SIL 1. */
export type SilLevel = 0 | 1 | 2 | 3 | 4;

/** Result of {@link sisResponseBudget}. */
export interface SisResponseBudgetResult {
  /** Sum of the components' response times. */
  readonly totalSeconds: number;
  /** Process safety time × budget fraction. */
  readonly budgetSeconds: number;
  /** Total ÷ PST (0–1). */
  readonly fractionOfPst: number;
  /** Total ÷ budget (0–1 when it passes). */
  readonly fractionOfBudget: number;
  /** True when the total fits the budget. */
  readonly pass: boolean;
  /** Budget − total (negative when it fails). */
  readonly marginToBudgetSeconds: number;
  /** PST − total. */
  readonly marginToPstSeconds: number;
  /** Each component's share of the total (0–1; they sum to 1), in input order. */
  readonly shares: readonly { readonly name: string; readonly fraction: number }[];
  /** The component with the largest share (the first of equals). */
  readonly dominant: { readonly name: string; readonly fraction: number };
  /** The SIL band of `pfdAvg`, when one was given. */
  readonly silLevel?: SilLevel;
  /** 1 ÷ PFDavg, when one was given. */
  readonly riskReductionFactor?: number;
  /** The arithmetic, step by step. */
  readonly working: readonly string[];
}

/** The argument of {@link silLevelForPfd}, checked like the calculator's own field. */
const silArgsSchema = z.strictObject({ pfdAvg: sisResponseBudgetInputSchema.shape.pfdAvg.unwrap() });

/**
 * The SIL band of a low-demand PFDavg per IEC 61511 / IEC 61508: SIL 4 for [1e-5, 1e-4),
 * SIL 3 for [1e-4, 1e-3), SIL 2 for [1e-3, 1e-2), SIL 1 for [1e-2, 1e-1); 0 at or above 0.1.
 * Below 1e-5 the band is still SIL 4, the highest the standard defines.
 *
 * @param pfdAvg - average probability of failure on demand, from 1e-9 to 1
 * @throws FleetError `INVALID_INPUT` (400) naming `pfdAvg` when it is out of range or not a
 *   number — never a band for it (NaN or a negative value would otherwise read as SIL 4)
 * @example
 * ```ts
 * silLevelForPfd(0.005); // 2
 * ```
 */
export function silLevelForPfd(pfdAvg: number): SilLevel {
  return silBand(parseCalcInput('silLevelForPfd', silArgsSchema, { pfdAvg }).pfdAvg);
}

/** The band of an already-validated PFDavg. */
function silBand(pfdAvg: number): SilLevel {
  if (pfdAvg >= 1e-1) return 0;
  if (pfdAvg >= 1e-2) return 1;
  if (pfdAvg >= 1e-3) return 2;
  if (pfdAvg >= 1e-4) return 3;
  return 4;
}

/**
 * Checks a safety instrumented function's response time against its budget: the signal path
 * (sensor to final element) must complete within `budgetFraction` of the process safety time.
 *
 * @param input - see {@link sisResponseBudgetInputSchema}
 * @returns total, budget, pass/fail, margins, shares, the dominant component and the SIL band
 * @throws FleetError `INVALID_INPUT` (400) naming the field and the form it expects
 * @example
 * ```ts
 * const r = sisResponseBudget({
 *   processSafetyTimeSeconds: 8,
 *   components: [
 *     { name: 'RTD sensor', responseTimeSeconds: 0.5 },
 *     { name: 'valve stroke', responseTimeSeconds: 1.2 },
 *   ],
 *   pfdAvg: 0.005,
 * });
 * r.pass; // true
 * r.silLevel; // 2
 * ```
 */
export function sisResponseBudget(input: SisResponseBudgetInput): SisResponseBudgetResult {
  const i = parseCalcInput('sisResponseBudget', sisResponseBudgetInputSchema, input);
  const totalSeconds = i.components.reduce((sum, c) => sum + c.responseTimeSeconds, 0);
  const budgetSeconds = i.processSafetyTimeSeconds * i.budgetFraction;
  const shares = i.components.map((c) => ({ name: c.name, fraction: c.responseTimeSeconds / totalSeconds }));
  const dominant = shares.reduce((best, s) => (s.fraction > best.fraction ? s : best));
  const pass = totalSeconds <= budgetSeconds;
  const working = [
    `total: ${i.components.map((c) => num(c.responseTimeSeconds)).join(' + ')} = ${num(totalSeconds)} s`,
    `budget: ${num(i.processSafetyTimeSeconds)} s PST × ${pct(i.budgetFraction)} = ${num(budgetSeconds)} s`,
    `of PST: ${num(totalSeconds)} ÷ ${num(i.processSafetyTimeSeconds)} = ${pct(totalSeconds / i.processSafetyTimeSeconds)}`,
    `${pass ? 'pass' : 'FAIL'}: margin to budget ${num(budgetSeconds)} − ${num(totalSeconds)} = ${num(budgetSeconds - totalSeconds)} s; to PST ${num(i.processSafetyTimeSeconds - totalSeconds)} s`,
    `dominant: ${dominant.name} ${num(i.components[shares.indexOf(dominant)]?.responseTimeSeconds ?? 0)} ÷ ${num(totalSeconds)} = ${pct(dominant.fraction)}`,
  ];
  const sil = i.pfdAvg === undefined ? {} : { silLevel: silBand(i.pfdAvg), riskReductionFactor: 1 / i.pfdAvg };
  if (sil.silLevel !== undefined) working.push(`SIL: PFDavg ${i.pfdAvg} → RRF ${fixed(sil.riskReductionFactor, 0)} → ${sil.silLevel === 0 ? 'below SIL 1' : `SIL ${sil.silLevel}`}`);
  return assertFinite('sisResponseBudget', {
    totalSeconds,
    budgetSeconds,
    fractionOfPst: totalSeconds / i.processSafetyTimeSeconds,
    fractionOfBudget: totalSeconds / budgetSeconds,
    pass,
    marginToBudgetSeconds: budgetSeconds - totalSeconds,
    marginToPstSeconds: i.processSafetyTimeSeconds - totalSeconds,
    shares,
    dominant,
    ...sil,
    working,
  });
}
