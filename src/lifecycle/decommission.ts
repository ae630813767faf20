/**
 * Secure decommissioning: the ordered effects that retire a device for good.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { invalidArgument, objectArgument } from './arguments.js';
import type { AuditEffect, DecommissionEffect, LifecycleEffect } from './effects.js';
import type { DeviceIdentity } from './record.js';
import { describeIssues } from './issues.js';
import { addRevocations, revocationEntrySchema } from './revocation.js';
import type { RevocationEntry, RevocationList } from './revocation.js';
import type { DeviceSnapshot } from './snapshot.js';
import { isLifecycleState } from './states.js';
import type { LifecycleEventType } from './states.js';
import { DEFAULT_TRANSITION_TABLE, isTransitionTable } from './table.js';
import type { TransitionTable } from './table.js';
import { transition } from './transition.js';

/** The fields of a record {@link planDecommission} reads. */
export type DecommissionCandidate = DeviceSnapshot & { readonly identity?: DeviceIdentity; readonly policies?: readonly string[] };

/** Options of {@link planDecommission}. */
export interface DecommissionOptions {
  /** Why (recorded in the audit effect). Required. */
  readonly reason: string;
  /** Who decided it (recorded in the audit effect). Required. */
  readonly actor: string;
  /** When (epoch ms). */
  readonly now: number;
  /**
   * The event to use. @defaultValue `end_of_life` when the state accepts it, else `unrecoverable`,
   * else any event of the table that leads to `decommissioned` from the device's state
   */
  readonly event?: LifecycleEventType;
  /** An extended table (for example one that decommissions from `maintenance`). */
  readonly table?: TransitionTable;
}

/** What {@link planDecommission} returns. */
export type DecommissionPlan<S extends DecommissionCandidate = DecommissionCandidate> =
  | { readonly ok: true; readonly next: S; readonly effects: readonly DecommissionEffect[] }
  | { readonly ok: false; readonly error: FleetError };

/**
 * The revocation entry that retires a device's credential.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `identity` is not an `x509` or `symmetric-key` identity.
 */
export function revocationFor(identity: DeviceIdentity): RevocationEntry {
  const kind: unknown = (objectArgument('revocationFor', 'identity', identity, "a device identity { kind: 'x509' | 'symmetric-key', … }") as { kind?: unknown }).kind;
  if (kind !== 'x509' && kind !== 'symmetric-key') throw invalidArgument('revocationFor', `identity.kind must be 'x509' or 'symmetric-key', got ${describeValue(kind)}`);
  return identity.kind === 'x509'
    ? { kind: 'x509', issuer: identity.issuer, serial: identity.serial }
    : { kind: 'enrollment', groupId: identity.groupId, registrationId: identity.registrationId };
}

/**
 * The entry that revokes the record's credential, checked now: a plan whose revocation the list
 * later refuses would leave the credential able to provision again.
 */
function revocationOf(record: DecommissionCandidate): RevocationEntry | undefined | FleetError {
  const identity: unknown = record.identity;
  if (identity === undefined) return undefined;
  // Optional chaining covers null; any other primitive simply has no kind.
  const kind = (identity as { kind?: unknown } | null)?.kind;
  const entry = kind === 'x509' || kind === 'symmetric-key' ? revocationEntrySchema.safeParse(revocationFor(identity as DeviceIdentity)) : undefined;
  if (entry?.success === true) return entry.data;
  return new FleetError(
    'INVALID_ARGUMENT',
    `planDecommission: the record's identity is malformed, so its credential cannot be revoked; expected { kind: 'x509', issuer, serial, … } or { kind: 'symmetric-key', groupId, registrationId, … }${entry === undefined ? '' : `: ${describeIssues(entry.error, 'identity')}`}`,
    { status: 400, details: { deviceId: record.deviceId } },
  );
}

function pickEvent(record: DecommissionCandidate, options: DecommissionOptions, table: TransitionTable): LifecycleEventType | FleetError {
  if (options.event !== undefined) return options.event;
  // The table rows are indexed by state: an unknown one has no row to search.
  if (!isLifecycleState(record.state)) {
    return new FleetError('INVALID_ARGUMENT', `planDecommission: unknown state ${describeValue(record.state)}; validate stored records with parseDeviceSnapshot`, {
      status: 400,
      details: { state: record.state },
    });
  }
  const row = table.targets[record.state];
  const leading = table.accepted[record.state].filter((e) => row[e] === 'decommissioned');
  const event = (['end_of_life', 'unrecoverable'] as const).find((e) => leading.includes(e)) ?? leading[0];
  if (event !== undefined) return event;
  const from = table.rules.filter((r) => r.to === 'decommissioned').map((r) => r.from);
  return new FleetError(
    'INVALID_TRANSITION',
    record.state === 'decommissioned'
      ? `Device ${describeValue(record.deviceId)} is already decommissioned`
      : `Device ${describeValue(record.deviceId)} in state "${record.state}" cannot be decommissioned; states that can: ${from.join(', ')} (extend the transition table to allow "${record.state}")`,
    { status: 409, details: { deviceId: record.deviceId, state: record.state, decommissionableFrom: from } },
  );
}

/**
 * Plans the decommissioning of a device, as ordered effects: revoke the credential (the entry goes
 * on the revocation list provisioning reads, so the same certificate or enrollment can never
 * provision again), detach its policies, cancel pending rollout actions and commands, request the
 * wipe of its data, remove it from monitoring and from billing, and the audit record of the
 * transition to `decommissioned`. The credential is revoked first so that nothing the later steps
 * leave behind can be used by the device.
 *
 * @param record - the device record (its `identity` and `policies` are read when present)
 * @param options - `reason`, `actor` and `now` (all required), optional `event` and `table`
 * @returns `{ ok: true, next, effects }`, or `INVALID_TRANSITION` when the state cannot be
 *   decommissioned (or already is), or `INVALID_ARGUMENT` for a missing record or options, an empty
 *   reason or actor, an unknown state or a bad `now`. A record without an `identity` (no credential
 *   was ever issued) gets no `revoke-credential` effect.
 *
 * @example
 * ```ts
 * const plan = planDecommission(record, { reason: 'RMA 4411', actor: 'ops@acme', now: clock.now() });
 * if (plan.ok) { revoked = applyRevocations(revoked, plan.effects); await runEffects(plan.effects); }
 * ```
 */
export function planDecommission<S extends DecommissionCandidate>(record: S, options: DecommissionOptions): DecommissionPlan<S> {
  if (typeof record !== 'object' || record === null) {
    return { ok: false, error: new FleetError('INVALID_ARGUMENT', `planDecommission: record must be a device record object, got ${record === null ? 'null' : typeof record}`, { status: 400 }) };
  }
  const reason: unknown = options?.reason;
  const actor: unknown = options?.actor;
  if (typeof reason !== 'string' || reason.trim() === '' || typeof actor !== 'string' || actor.trim() === '') {
    return {
      ok: false,
      error: new FleetError('INVALID_ARGUMENT', 'planDecommission: pass { reason, actor, now }; reason and actor are required non-empty strings (they go to the audit trail)', { status: 400 }),
    };
  }
  const now = options.now;
  const revocation = revocationOf(record);
  if (revocation instanceof FleetError) return { ok: false, error: revocation };
  const table = options.table ?? DEFAULT_TRANSITION_TABLE;
  if (!isTransitionTable(table)) {
    return { ok: false, error: invalidArgument('planDecommission', `table must be built by extendTransitionTable, got ${describeValue(table)}`) };
  }
  const event = pickEvent(record, options, table);
  if (event instanceof FleetError) return { ok: false, error: event };
  const moved = transition(record, { type: event, actor, reason }, { now, table });
  if (!moved.ok) return moved;
  if (moved.next === null || moved.next.state !== 'decommissioned') {
    return {
      ok: false,
      error: new FleetError('INVALID_ARGUMENT', `planDecommission: event "${event}" does not lead from "${record.state}" to "decommissioned"`, { status: 400, details: { event } }),
    };
  }
  const ref = { deviceId: record.deviceId, tenantId: record.tenantId };
  const effects: DecommissionEffect[] = [];
  if (revocation !== undefined) effects.push({ type: 'revoke-credential', ...ref, revocation });
  effects.push(
    { type: 'detach-policies', ...ref, policies: record.policies ?? [] },
    { type: 'cancel-pending', ...ref, scopes: ['rollout-actions', 'commands'] },
    { type: 'request-data-wipe', ...ref },
    { type: 'remove-from-monitoring', ...ref },
    { type: 'remove-from-billing', ...ref },
  );
  // A move to decommissioned (not a removal) yields exactly its audit effect.
  effects.push(...(moved.effects as AuditEffect[]));
  return { ok: true, next: moved.next, effects };
}

/**
 * Adds the credentials that `effects` revoke to `list` and returns the new list (`list` is unchanged).
 *
 * @param list - the current revocation list
 * @param effects - effects from {@link planDecommission} (other effect types are ignored)
 * @throws FleetError `INVALID_ARGUMENT` when `effects` is not an array or a revocation in it is malformed.
 */
export function applyRevocations(list: RevocationList, effects: readonly LifecycleEffect[]): RevocationList {
  if (!Array.isArray(effects)) {
    throw new FleetError('INVALID_ARGUMENT', 'applyRevocations: effects must be the effects array of a decommission plan', { status: 400 });
  }
  const entries = (effects as readonly unknown[]).flatMap((e) =>
    typeof e === 'object' && e !== null && (e as { type?: unknown }).type === 'revoke-credential' ? [(e as { revocation?: unknown }).revocation] : [],
  );
  return entries.length === 0 ? list : addRevocations(list, entries);
}
