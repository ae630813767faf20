/**
 * The check `RolloutProgress.apply` runs before it records a decision: a decision is data and
 * may have been stored, sent or edited since `evaluateRollout` produced it, and recording one
 * that names unknown devices, dispatches a device twice or expires a device that is not waiting
 * would corrupt the tracker's counters. O(devices named in the effects).
 */
import { BOOTING, DISPATCHED, INSTALLING, PENDING } from './status.js';
import { describeValue } from '../describe-value.js';

/** What `apply` needs from the tracker to check a decision. */
export interface DecisionContext {
  readonly index: ReadonlyMap<string, number>;
  readonly status: Uint8Array;
  readonly stageOf: Uint16Array;
  readonly stageCount: number;
  readonly currentStage: number;
  readonly running: boolean;
  /** A zeroed array of one byte per device, used to spot repeats without allocating; left zeroed. */
  readonly marks: Uint8Array;
}

const KINDS: ReadonlySet<unknown> = new Set(['wait', 'advance', 'complete', 'pause', 'abort']);
const RULES: ReadonlySet<unknown> = new Set(['failure-rate', 'min-sample', 'max-failures']);
const LISTS = ['dispatch', 'cancel', 'rollBack', 'expire'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStage(value: unknown, count: number): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) < Math.max(1, count);
}

/** The index of the device a ref names, or a problem. */
function deviceOf(ctx: DecisionContext, ref: unknown, where: string): number | string {
  const id = isRecord(ref) ? ref['deviceId'] : undefined;
  const i = typeof id === 'string' ? ctx.index.get(id) : undefined;
  return i ?? `${where}: ${typeof id === 'string' ? `device ${JSON.stringify(id)} is not in the plan` : 'expected { deviceId, tenantId, stage }'}`;
}

function headerProblem(ctx: DecisionContext, d: Record<string, unknown>): string | undefined {
  if (!Number.isFinite(d['now'])) return 'now: expected a finite epoch-ms number';
  if (!KINDS.has(d['decision'])) return 'decision: expected wait, advance, complete, pause or abort';
  if (!isStage(d['stage'], ctx.stageCount)) return `stage: expected a stage index below ${Math.max(1, ctx.stageCount)}`;
  if (d['decision'] === 'advance' && d['stage'] !== ctx.currentStage + 1) return `stage: an advance goes to stage ${ctx.currentStage + 1}, not ${describeValue(d['stage'])}`;
  const abort = d['abort'];
  if (abort !== undefined) {
    if (!isRecord(abort) || !isStage(abort['stage'], ctx.stageCount) || !RULES.has(abort['rule']) || typeof abort['reason'] !== 'string' || typeof abort['at'] !== 'number') {
      return 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }';
    }
  }
  return undefined;
}

/**
 * Runs `check` on every ref of a list, marking each device so a repeat is caught; clears the
 * marks again before returning, whatever the outcome.
 */
function eachOnce(ctx: DecisionContext, refs: readonly unknown[], list: string, check: (i: number, ref: unknown) => string | undefined): string | undefined {
  let k = 0;
  let problem: string | undefined;
  for (; k < refs.length && problem === undefined; k++) {
    const i = deviceOf(ctx, refs[k], `effects.${list}.${k}`);
    if (typeof i === 'string') problem = i;
    else if (ctx.marks[i] === 1) problem = `effects.${list}.${k}: device ${(refs[k] as { deviceId: string }).deviceId} appears twice`;
    else {
      ctx.marks[i] = 1;
      const p = check(i, refs[k]);
      if (p !== undefined) problem = `effects.${list}.${k}: ${p}`;
    }
  }
  for (let j = 0; j < k; j++) {
    const i = ctx.index.get((refs[j] as { deviceId?: unknown } | null)?.deviceId as string);
    if (i !== undefined) ctx.marks[i] = 0;
  }
  return problem;
}

function dispatchProblem(ctx: DecisionContext, refs: readonly unknown[], upTo: number): string | undefined {
  if (refs.length > 0 && !ctx.running) return 'effects.dispatch: nothing is dispatched while the rollout is not running';
  return eachOnce(ctx, refs, 'dispatch', (i, ref) => {
    const id = (ref as { deviceId: string }).deviceId;
    if (ctx.status[i] !== PENDING) return `device ${id} was already dispatched`;
    return ctx.stageOf[i]! > upTo ? `device ${id} belongs to stage ${ctx.stageOf[i]}, which has not started` : undefined;
  });
}

function expireProblem(ctx: DecisionContext, refs: readonly unknown[]): string | undefined {
  return eachOnce(ctx, refs, 'expire', (i, ref) => {
    const kind = (ref as { status?: unknown }).status;
    const code = ctx.status[i];
    const waiting = kind === 'unreachable' ? code === DISPATCHED : kind === 'timed_out' ? code === INSTALLING || code === BOOTING : false;
    return waiting ? undefined : `device ${(ref as { deviceId: string }).deviceId} is not waiting on a ${describeValue(kind)} deadline`;
  });
}

/**
 * @internal The first problem with a decision about to be applied, or `undefined`. The caller
 * has already matched the rollout id and the revision.
 */
export function decisionProblem(ctx: DecisionContext, decision: unknown): string | undefined {
  if (!isRecord(decision)) return 'expected the decision object returned by evaluateRollout';
  const header = headerProblem(ctx, decision);
  if (header !== undefined) return header;
  const effects = decision['effects'];
  if (!isRecord(effects) || !LISTS.every((k) => Array.isArray(effects[k]))) return 'effects: expected { dispatch, cancel, rollBack, expire } arrays';
  const upTo = decision['decision'] === 'advance' ? (decision['stage'] as number) : ctx.currentStage;
  const problem = dispatchProblem(ctx, effects['dispatch'] as unknown[], upTo) ?? expireProblem(ctx, effects['expire'] as unknown[]);
  if (problem !== undefined) return problem;
  for (const list of ['cancel', 'rollBack'] as const) {
    for (const [k, ref] of (effects[list] as unknown[]).entries()) {
      const i = deviceOf(ctx, ref, `effects.${list}.${k}`);
      if (typeof i === 'string') return i;
    }
  }
  return undefined;
}
