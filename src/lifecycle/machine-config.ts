/**
 * An xstate-compatible machine definition of the lifecycle, for visualisation and interop.
 */
import { describeValue } from '../describe-value.js';
import { invalidArgument } from './arguments.js';
import { LIFECYCLE_STATES } from './states.js';
import type { LifecycleEventType, LifecycleState } from './states.js';
import { DEFAULT_TRANSITION_TABLE, isTransitionTable } from './table.js';
import type { TransitionTable } from './table.js';

/** The name of the final state that stands for "record removed" in {@link lifecycleMachineConfig}. */
export const REMOVED_STATE = 'removed';

/** A plain machine definition in xstate's config format (no xstate import needed). */
export interface LifecycleMachineConfig {
  /** Machine id. */
  readonly id: string;
  /** Initial state: `unprovisioned` (the factory default). */
  readonly initial: LifecycleState;
  /** One node per state; `removed` is final. */
  readonly states: Readonly<
    Record<LifecycleState, { readonly on: Readonly<Partial<Record<LifecycleEventType, string>>> }> & Record<typeof REMOVED_STATE, { readonly type: 'final' }>
  >;
}

/**
 * The lifecycle as an xstate machine config: pass it to xstate's `createMachine` or to the Stately
 * visualiser. fleetkit itself runs {@link transition}, not xstate. `data_wiped` goes to the final
 * state `removed`.
 *
 * @param table - @defaultValue {@link DEFAULT_TRANSITION_TABLE}
 * @param id - @defaultValue `'deviceLifecycle'`
 * @throws FleetError `INVALID_ARGUMENT` for a table not built by {@link extendTransitionTable} or an
 *   id that is not a string.
 *
 * @example
 * ```ts
 * import { createMachine } from 'xstate';
 * const machine = createMachine(lifecycleMachineConfig());
 * ```
 */
export function lifecycleMachineConfig(table: TransitionTable = DEFAULT_TRANSITION_TABLE, id = 'deviceLifecycle'): LifecycleMachineConfig {
  if (!isTransitionTable(table)) throw invalidArgument('lifecycleMachineConfig', `table must be built by extendTransitionTable (or be DEFAULT_TRANSITION_TABLE), got ${describeValue(table)}`);
  if (typeof id !== 'string') throw invalidArgument('lifecycleMachineConfig', `id must be a string, got ${describeValue(id)}`);
  const states = {} as Record<LifecycleState, { on: Partial<Record<LifecycleEventType, string>> }>;
  for (const s of LIFECYCLE_STATES) states[s] = { on: {} };
  for (const r of table.rules) states[r.from].on[r.event] = r.to ?? REMOVED_STATE;
  return { id, initial: 'unprovisioned', states: { ...states, [REMOVED_STATE]: { type: 'final' } } };
}
