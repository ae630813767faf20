/**
 * The check `RolloutProgress.apply` runs before it records a decision: a decision is data and
 * may have been stored, sent or edited since `evaluateRollout` produced it, and recording one
 * that names unknown devices, dispatches a device twice or expires a device that is not waiting
 * would corrupt the tracker's counters. O(devices named in the effects).
 */
import { BOOTING, DISPATCHED, INSTALLING, PENDING } from './status.js';

/** What `apply` needs from the tracker to check a decision. */
export interface DecisionContext {
  readonly index: ReadonlyMap<string, number>;
  readonly status: Uint8Array;
  readonly stageOf: Uint16Array;
  readonly stageCount: number;
  readonly currentStage: number;
  readonly running: boolean;
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
  if (typeof d['now'] !== 'number' || !Number.isFinite(d['now'])) return 'now: expected a finite epoch-ms number';
  if (!KINDS.has(d['decision'])) return 'decision: expected wait, advance, complete, pause or abort';
  if (!isStage(d['stage'], ctx.stageCount)) return `stage: expected a stage index below ${Math.max(1, ctx.stageCount)}`;
  if (d['decision'] === 'advance' && d['stage'] !== ctx.currentStage + 1) return `stage: an advance goes to stage ${ctx.currentStage + 1}, not ${String(d['stage'])}`;
  const abort = d['abort'];
  if (abort !== undefined) {
    if (!isRecord(abort) || !isStage(abort['stage'], ctx.stageCount) || !RULES.has(abort['rule']) || typeof abort['reason'] !== 'string' || typeof abort['at'] !== 'number') {
      return 'abort: expected an abort verdict { stage, rule, failures, total, decided, at, reason }';
    }
  }
  return undefined;
}

function dispatchProblem(ctx: DecisionContext, refs: readonly unknown[], upTo: number): string | undefined {
  if (refs.length > 0 && !ctx.running) return 'effects.dispatch: nothing is dispatched while the rollout is not running';
  const seen = new Set<number>();
  for (const [k, ref] of refs.entries()) {
    const i = deviceOf(ctx, ref, `effects.dispatch.${k}`);
    if (typeof i === 'string') return i;
    if (ctx.status[i] !== PENDING || seen.has(i)) return `effects.dispatch.${k}: device ${(ref as { deviceId: string }).deviceId} was already dispatched`;
    if (ctx.stageOf[i]! > upTo) return `effects.dispatch.${k}: device ${(ref as { deviceId: string }).deviceId} belongs to stage ${ctx.stageOf[i]}, which has not started`;
    seen.add(i);
  }
  return undefined;
}

function expireProblem(ctx: DecisionContext, refs: readonly unknown[]): string | undefined {
  const seen = new Set<number>();
  for (const [k, ref] of refs.entries()) {
    const i = deviceOf(ctx, ref, `effects.expire.${k}`);
    if (typeof i === 'string') return i;
    const kind = (ref as { status?: unknown }).status;
    const code = ctx.status[i];
    const waiting = kind === 'unreachable' ? code === DISPATCHED : kind === 'timed_out' ? code === INSTALLING || code === BOOTING : false;
    if (!waiting || seen.has(i)) return `effects.expire.${k}: device ${(ref as { deviceId: string }).deviceId} is not waiting on a ${String(kind)} deadline`;
    seen.add(i);
  }
  return undefined;
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
