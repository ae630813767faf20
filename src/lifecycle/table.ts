/**
 * Transition tables: the default lifecycle diagram and explicit, checked extensions of it.
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { describeIssues } from './issues.js';
import { LIFECYCLE_EVENTS, LIFECYCLE_STATES, lifecycleEventTypeSchema, lifecycleStateSchema } from './states.js';
import type { LifecycleEventType, LifecycleState } from './states.js';

/**
 * One allowed transition. `to: null` means "the record is removed" and is reserved for
 * `data_wiped`, which always removes the record.
 */
export interface TransitionRule {
  /** The state the device is in. */
  readonly from: LifecycleState;
  /** The event it receives. */
  readonly event: LifecycleEventType;
  /** The state it moves to, or `null` when the record is removed (`data_wiped` only). */
  readonly to: LifecycleState | null;
}

/** zod schema of a {@link TransitionRule} (for rules loaded from configuration). */
export const transitionRuleSchema: z.ZodType<TransitionRule> = z.strictObject({
  from: lifecycleStateSchema,
  event: lifecycleEventTypeSchema,
  to: lifecycleStateSchema.nullable(),
});

/**
 * A compiled, frozen transition table. Build one with {@link extendTransitionTable}; the default is
 * {@link DEFAULT_TRANSITION_TABLE}.
 */
export interface TransitionTable {
  /** The rules, in definition order (the default ones first). */
  readonly rules: readonly TransitionRule[];
  /** `targets[state][event]`: the target, `null` for "record removed", `undefined` when not allowed. */
  readonly targets: Readonly<Record<LifecycleState, Readonly<Partial<Record<LifecycleEventType, LifecycleState | null>>>>>;
  /** The events each state accepts, in {@link LIFECYCLE_EVENTS} order. */
  readonly accepted: Readonly<Record<LifecycleState, readonly LifecycleEventType[]>>;
  /** The rules that extend the default table (empty for the default table). */
  readonly extensions: readonly TransitionRule[];
}

/** The lifecycle diagram exactly: the only transitions allowed unless a table is extended explicitly. */
export const DEFAULT_TRANSITION_RULES: readonly TransitionRule[] = Object.freeze([
  { from: 'unprovisioned', event: 'registration_initiated', to: 'provisioning' },
  { from: 'provisioning', event: 'config_complete', to: 'active' },
  { from: 'provisioning', event: 'provisioning_failed', to: 'unprovisioned' },
  { from: 'active', event: 'health_check_failed', to: 'degraded' },
  { from: 'active', event: 'scheduled_update', to: 'maintenance' },
  { from: 'active', event: 'heartbeat', to: 'active' },
  { from: 'degraded', event: 'auto_recovery', to: 'active' },
  { from: 'degraded', event: 'manual_intervention', to: 'maintenance' },
  { from: 'degraded', event: 'unrecoverable', to: 'decommissioned' },
  { from: 'maintenance', event: 'update_complete', to: 'active' },
  { from: 'maintenance', event: 'update_failed', to: 'degraded' },
  { from: 'active', event: 'end_of_life', to: 'decommissioned' },
  { from: 'decommissioned', event: 'data_wiped', to: null },
].map((r) => Object.freeze(r as TransitionRule)));

// Prototype-free maps: a state or event named "constructor", "name" or "__proto__" finds nothing.
function bare<T extends object>(): T {
  return Object.create(null) as T;
}

// Every table compile() built: only these are trusted, so a hand-made object cannot reach the reducer.
const COMPILED = new WeakSet<object>();

/** @internal True when `value` is a table built by this module (the default or an extension). */
export function isTransitionTable(value: unknown): value is TransitionTable {
  // WeakSet#has answers false for a primitive: no type guard needed.
  return COMPILED.has(value as object);
}

function compile(rules: readonly TransitionRule[], extensions: readonly TransitionRule[]): TransitionTable {
  const targets = bare<Record<LifecycleState, Partial<Record<LifecycleEventType, LifecycleState | null>>>>();
  for (const s of LIFECYCLE_STATES) targets[s] = bare();
  for (const r of rules) targets[r.from][r.event] = r.to;
  const accepted = bare<Record<LifecycleState, readonly LifecycleEventType[]>>();
  for (const s of LIFECYCLE_STATES) {
    accepted[s] = Object.freeze(LIFECYCLE_EVENTS.filter((e) => targets[s][e] !== undefined));
    Object.freeze(targets[s]);
  }
  const table: TransitionTable = Object.freeze({
    rules: Object.freeze([...rules]),
    targets: Object.freeze(targets),
    accepted: Object.freeze(accepted),
    extensions: Object.freeze([...extensions]),
  });
  COMPILED.add(table);
  return table;
}

/** The default table: {@link DEFAULT_TRANSITION_RULES} and nothing else. */
export const DEFAULT_TRANSITION_TABLE: TransitionTable = compile(DEFAULT_TRANSITION_RULES, []);

function reject(message: string, rule: unknown): never {
  throw new FleetError('INVALID_ARGUMENT', `extendTransitionTable: ${message}`, { status: 400, details: { rule } });
}

function checkRule(table: Readonly<Record<LifecycleState, Partial<Record<LifecycleEventType, LifecycleState | null>>>>, raw: unknown): TransitionRule {
  const parsed = transitionRuleSchema.safeParse(raw);
  if (!parsed.success) reject(`each rule is { from: state, event: event type, to: state | null }: ${describeIssues(parsed.error, 'rule')}`, raw);
  const rule = parsed.data;
  // Decommissioning revokes credentials and wipes data; letting a table revive such a device would
  // break that guarantee, so the terminal state stays terminal in every table.
  if (rule.from === 'decommissioned') reject(`"decommissioned" is terminal; no rule may leave it (only the built-in data_wiped removes the record)`, raw);
  if (rule.event === 'data_wiped' && rule.to !== null) reject(`data_wiped always removes the record; use to: null`, raw);
  if (rule.event !== 'data_wiped' && rule.to === null) reject(`only data_wiped may remove the record (to: null); give "${rule.event}" a target state`, raw);
  const existing = table[rule.from][rule.event];
  if (existing !== undefined) {
    // existing is never null here: the only removal (data_wiped) leaves decommissioned, refused above.
    reject(`"${rule.from}" already handles "${rule.event}" (→ ${String(existing)}); existing transitions cannot be redefined, only new ones added`, raw);
  }
  return Object.freeze({ from: rule.from, event: rule.event, to: rule.to });
}

/**
 * Returns a new table: `base` plus the extra `rules`. This is the only way to allow transitions the
 * default diagram does not have, so a table never grows by accident.
 *
 * @param base - the table to extend (usually {@link DEFAULT_TRANSITION_TABLE})
 * @param rules - the new transitions; validated with {@link transitionRuleSchema}
 * @returns a new frozen table; `base` is not changed
 * @throws FleetError `INVALID_ARGUMENT` when `base` is not a table built here, a rule is malformed,
 *   redefines a transition the base already has, leaves `decommissioned`, or misuses `to: null`.
 *
 * @example
 * ```ts
 * // allow decommissioning a device straight out of maintenance
 * const table = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [
 *   { from: 'maintenance', event: 'end_of_life', to: 'decommissioned' },
 * ]);
 * transition(snapshot, { type: 'end_of_life' }, { now, table });
 * ```
 */
export function extendTransitionTable(base: TransitionTable, rules: readonly unknown[]): TransitionTable {
  if (!isTransitionTable(base)) reject('base must be a table: DEFAULT_TRANSITION_TABLE or one returned by extendTransitionTable', describeValue(base));
  if (!Array.isArray(rules)) reject('rules must be an array of { from, event, to }', describeValue(rules));
  const working = {} as Record<LifecycleState, Partial<Record<LifecycleEventType, LifecycleState | null>>>;
  for (const s of LIFECYCLE_STATES) working[s] = { ...base.targets[s] };
  const added: TransitionRule[] = [];
  // An index loop, not for…of: holes in a sparse array are checked (and refused) too.
  for (let i = 0; i < rules.length; i++) {
    const raw: unknown = rules[i];
    const rule = checkRule(working, raw);
    working[rule.from][rule.event] = rule.to;
    added.push(rule);
  }
  return compile([...base.rules, ...added], [...base.extensions, ...added]);
}
