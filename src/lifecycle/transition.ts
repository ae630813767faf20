/**
 * The lifecycle reducer: one event in, the next snapshot and its effects out.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { AuditEffect, TransitionEffect } from './effects.js';
import type { DeviceSnapshot, LifecycleEvent } from './snapshot.js';
import { LIFECYCLE_STATES, isLifecycleEventType, isLifecycleState } from './states.js';
import type { LifecycleEventType, LifecycleState } from './states.js';
import { DEFAULT_TRANSITION_TABLE, isTransitionTable } from './table.js';
import type { TransitionTable } from './table.js';

/** Options of {@link transition}. */
export interface TransitionOptions {
  /** The time of the event (epoch ms); it becomes the audit time. */
  readonly now: number;
  /**
   * The transition table. Extend it explicitly with {@link extendTransitionTable}.
   * @defaultValue {@link DEFAULT_TRANSITION_TABLE}
   */
  readonly table?: TransitionTable;
}

/** The snapshot after an event: `null` after `data_wiped` (the record is removed), else the snapshot. */
export type NextSnapshot<S extends DeviceSnapshot, T extends LifecycleEventType> = T extends 'data_wiped' ? null : S;

/**
 * What {@link transition} returns: the next snapshot and the effects to run, or the reason the
 * event was refused (the snapshot passed in is never changed).
 */
export type TransitionResult<S extends DeviceSnapshot = DeviceSnapshot, T extends LifecycleEventType = LifecycleEventType> =
  | { readonly ok: true; readonly next: NextSnapshot<S, T>; readonly effects: readonly TransitionEffect[] }
  | { readonly ok: false; readonly error: FleetError };

function invalidArgument(message: string, details: Record<string, unknown>): { ok: false; error: FleetError } {
  return { ok: false, error: new FleetError('INVALID_ARGUMENT', `transition: ${message}`, { status: 400, details }) };
}

// Only reached when the fast path failed: say exactly what was wrong.
function refuse(snapshot: DeviceSnapshot | null | undefined, event: LifecycleEvent | null | undefined, now: number, table: TransitionTable): { ok: false; error: FleetError } {
  if (!isTransitionTable(table)) {
    return invalidArgument(`options.table must be a table built by extendTransitionTable (or DEFAULT_TRANSITION_TABLE), got ${describeValue(table)}`, {});
  }
  if (typeof snapshot !== 'object' || snapshot === null) {
    return invalidArgument(`the snapshot must be an object { deviceId, tenantId, state, since, updatedAt? }, got ${snapshot === null ? 'null' : typeof snapshot}`, {});
  }
  if (typeof event !== 'object' || event === null) {
    return invalidArgument(`the event must be an object { type, actor?, reason? }, got ${event === null ? 'null' : typeof event}`, {});
  }
  // ARCHITECTURE: every record carries its tenant. A record without its identity would audit
  // "tenantId: undefined" and could not be stored back under its key.
  for (const field of ['deviceId', 'tenantId'] as const) {
    const value: unknown = Object.hasOwn(snapshot, field) ? snapshot[field] : undefined;
    if (typeof value !== 'string') {
      return invalidArgument(
        `the snapshot's ${field} must be a string field of the record, got ${describeValue(value)}; every record carries its deviceId and tenantId (validate stored snapshots with parseDeviceSnapshot)`,
        { field },
      );
    }
  }
  const state: unknown = snapshot.state;
  const type: unknown = event.type;
  if (!isLifecycleState(state)) {
    return invalidArgument(`unknown state ${describeValue(state)}; a snapshot's state is one of ${Object.keys(table.accepted).join(', ')}`, { state });
  }
  if (!isLifecycleEventType(type)) {
    return invalidArgument(`unknown event type ${describeValue(type)}; "${state}" accepts ${table.accepted[state].join(', ')}`, { state, event: type });
  }
  const since: unknown = snapshot.since;
  // Number.isFinite is false for anything but a finite number: it is the type check too.
  if (!Number.isFinite(since)) {
    return invalidArgument(`the snapshot's since (${describeValue(since)}) must be a finite epoch-ms time; validate stored snapshots with parseDeviceSnapshot`, {
      since: describeValue(since),
    });
  }
  const last: unknown = snapshot.updatedAt ?? since;
  // A corrupt stored time would otherwise fail every comparison and read as "event not accepted".
  // since is valid here, so a bad last is a bad updatedAt.
  if (!Number.isFinite(last)) {
    return invalidArgument(`the snapshot's updatedAt (${describeValue(last)}) must be a finite epoch-ms time; validate stored snapshots with parseDeviceSnapshot`, {
      updatedAt: describeValue(last),
    });
  }
  if (!Number.isFinite(now) || now < (last as number)) {
    return invalidArgument(`now (${describeValue(now)}) must be a finite epoch-ms time not earlier than the snapshot's last event (${last}); audit time never goes backwards`, {
      now,
      last,
    });
  }
  const accepted = table.accepted[state];
  return {
    ok: false,
    error: new FleetError(
      'INVALID_TRANSITION',
      // Every state accepts at least one event: tables only ever add to the default diagram.
      `Device "${snapshot.deviceId}" is in state "${state}", which does not accept "${type}"; events accepted in "${state}": ${accepted.join(', ')}`,
      { status: 409, details: { deviceId: snapshot.deviceId, state, event: type, accepted } },
    ),
  };
}

/**
 * Applies one lifecycle event to a device snapshot. Pure: it reads no clock and changes nothing;
 * the caller stores `next` and runs `effects`.
 *
 * Every accepted event yields exactly one {@link AuditEffect}. `data_wiped` (from `decommissioned`)
 * yields `next: null` and a `remove-record` effect: the record is gone. Self-transitions
 * (`heartbeat` in `active`) keep `since` and move `updatedAt`.
 *
 * @param snapshot - the device's current snapshot; it must carry its own `deviceId` and `tenantId`
 *   (every record carries its tenant). Every other field is carried over to `next` unchanged.
 * @param event - the event; `actor` and `reason` go to the audit record
 * @param options - `now` (epoch ms) and an optional extended `table`
 * @returns `{ ok: true, next, effects }`, or `{ ok: false, error }` with `INVALID_TRANSITION` (409)
 *   naming the state, the event and the events that state accepts, or `INVALID_ARGUMENT` (400) for a
 *   record without its own string `deviceId` and `tenantId`, an unknown state or event type, a
 *   `since` that is not a finite time, a `table` not built by {@link extendTransitionTable}, or a
 *   `now` earlier than the snapshot's last event.
 *
 * @example
 * ```ts
 * const r = transition(device, { type: 'health_check_failed', actor: 'monitor', reason: 'battery 8 %' }, { now });
 * if (r.ok) { store(r.next); run(r.effects); } else console.warn(r.error.message);
 * ```
 */
export function transition<S extends DeviceSnapshot, E extends LifecycleEvent>(
  snapshot: S,
  event: E,
  options: TransitionOptions,
): TransitionResult<S, E['type']> {
  // Optional chaining keeps the hot path cheap and lets a missing argument reach the diagnosis
  // below as a FleetError instead of a TypeError.
  const table = options?.table ?? DEFAULT_TRANSITION_TABLE;
  const now = options?.now as number;
  const from = snapshot?.state;
  const type = event?.type;
  // Only strings index the table: an object key would run its own toString. Only compiled tables
  // are read: a hand-made one could hold anything.
  const row = typeof from === 'string' && isTransitionTable(table) ? (table.targets[from] as Readonly<Record<string, unknown>> | undefined) : undefined;
  const to = row === undefined || typeof type !== 'string' ? undefined : row[type];
  // Fast path: a table hit is a string (a state) or null (record removed); anything else — including
  // inherited properties such as "toString" — falls through to the diagnosis.
  if (typeof to !== 'string' && to !== null) return refuse(snapshot, event, now, table);
  const last = snapshot.updatedAt ?? snapshot.since;
  // typeof guards: ">=" would coerce a string time and let it into the audit record.
  if (typeof now !== 'number' || typeof last !== 'number' || !(now >= last) || now === Infinity || last === -Infinity) return refuse(snapshot, event, now, table);
  const since = snapshot.since;
  if (!Number.isFinite(since) || typeof snapshot.deviceId !== 'string' || typeof snapshot.tenantId !== 'string') return refuse(snapshot, event, now, table);
  let next: S | null = null;
  if (to !== null) {
    next = advance(snapshot, to as LifecycleState, to === from ? since : now, now);
    // A copy holds own fields only: an identity the record merely inherits is not its own.
    if (next.deviceId !== snapshot.deviceId || next.tenantId !== snapshot.tenantId) return refuse(snapshot, event, now, table);
  } else if (!Object.hasOwn(snapshot, 'deviceId') || !Object.hasOwn(snapshot, 'tenantId')) return refuse(snapshot, event, now, table);
  const audit: AuditEffect = {
    type: 'audit',
    deviceId: snapshot.deviceId,
    tenantId: snapshot.tenantId,
    from,
    to: to as LifecycleState | null,
    event: type,
    actor: event.actor ?? 'system',
    reason: event.reason ?? null,
    at: now,
  };
  if (next === null) {
    const removed: TransitionEffect = { type: 'remove-record', deviceId: snapshot.deviceId, tenantId: snapshot.tenantId };
    return { ok: true, next: null as NextSnapshot<S, E['type']>, effects: [audit, removed] };
  }
  return { ok: true, next: next as NextSnapshot<S, E['type']>, effects: [audit] };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * True when the record's own keys are exactly the five lifecycle fields in the order
 * {@link createDeviceSnapshot} and this reducer write them (any other record takes the spread).
 */
function isBare(snapshot: DeviceSnapshot): boolean {
  const keys = Object.keys(snapshot);
  return keys.length === 5 && keys[0] === 'deviceId' && keys[1] === 'tenantId' && keys[2] === 'state' && keys[3] === 'since' && keys[4] === 'updatedAt';
}

/**
 * The snapshot in its new state. A bare snapshot (its own keys exactly the five lifecycle fields) is
 * rebuilt as a literal: V8's object spread with overridden keys costs ~40× more, and this is the hot
 * path. Counting keys is not enough: five keys with one lifecycle field missing hold an extra one.
 * Records with more fields are copied by a plain spread (V8 clones those fast) and the three
 * lifecycle fields set on the fresh copy: about 2.5× faster than a spread with overrides.
 */
function advance<S extends DeviceSnapshot>(snapshot: S, state: LifecycleState, since: number, updatedAt: number): S {
  if (isBare(snapshot)) {
    return { deviceId: snapshot.deviceId, tenantId: snapshot.tenantId, state, since, updatedAt } as S;
  }
  const next: Writable<DeviceSnapshot> = { ...snapshot };
  next.state = state;
  next.since = since;
  next.updatedAt = updatedAt;
  return next as S;
}

/**
 * The events `state` accepts under `table`, in {@link LIFECYCLE_EVENTS} order.
 *
 * @param state - a lifecycle state
 * @param table - @defaultValue {@link DEFAULT_TRANSITION_TABLE}
 * @throws FleetError `INVALID_ARGUMENT` for an unknown state or a table not built by
 *   {@link extendTransitionTable}.
 */
export function acceptedEvents(state: LifecycleState, table: TransitionTable = DEFAULT_TRANSITION_TABLE): readonly LifecycleEventType[] {
  if (!isTransitionTable(table)) {
    throw new FleetError('INVALID_ARGUMENT', `acceptedEvents: table must be built by extendTransitionTable (or be DEFAULT_TRANSITION_TABLE), got ${describeValue(table)}`, { status: 400 });
  }
  if (!isLifecycleState(state)) {
    throw new FleetError('INVALID_ARGUMENT', `acceptedEvents: unknown state ${describeValue(state)}; use one of ${LIFECYCLE_STATES.join(', ')}`, { status: 400 });
  }
  return table.accepted[state];
}
