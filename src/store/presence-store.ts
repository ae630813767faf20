/**
 * `PresenceStore`: when each device was last heard from and how far into silence it has been
 * flagged — the heartbeat state several `HealthMonitor` instances share, so it does not matter
 * which instance received a heartbeat.
 */
import { FleetError } from '../errors.js';
import { thingNameSchema } from '../shadow/names.js';
import type { TenantContext } from './tenant.js';

/** One device heard from at `at`: what an instance flushes to the store. */
export interface PresenceBeat {
  /** The device. */
  readonly deviceId: string;
  /** When it was heard from (epoch ms, finite). */
  readonly at: number;
}

/** A device's presence as stored. */
export interface PresenceRecord {
  /** The device. */
  readonly deviceId: string;
  /** The latest time it was heard from (epoch ms): the greatest `at` ever touched. */
  readonly lastSeen: number;
  /**
   * How many of the silence limits of the latest sweeps it has passed since it was last heard
   * from (0: none, it is heard from; the meaning of each level is the sweeper's).
   */
  readonly level: number;
}

/** What a touch changed for one device: its `lastSeen` moved forward (its level went back to 0). */
export interface PresenceTouched {
  /** The device. */
  readonly deviceId: string;
  /** The new `lastSeen` (the beat's `at`). */
  readonly lastSeen: number;
  /** The `lastSeen` before, or `undefined` when the device had no presence yet. */
  readonly previousLastSeen: number | undefined;
  /** The level before, or `undefined` when the device had no presence yet. */
  readonly previousLevel: number | undefined;
}

/** What a sweep changed for one device: its level went up. */
export interface PresenceRaised {
  /** The device. */
  readonly deviceId: string;
  /** When it was last heard from. */
  readonly lastSeen: number;
  /** The level before. */
  readonly previousLevel: number;
  /** The level now (greater than `previousLevel`). */
  readonly level: number;
}

/** Most beats in one {@link PresenceStore.touch}, and most ids in one {@link PresenceStore.get}. */
export const MAX_PRESENCE_BATCH = 100_000;
/** Most limits in one {@link PresenceStore.sweep}. */
export const MAX_PRESENCE_LIMITS = 16;

/**
 * Device presence shared by several service instances.
 *
 * Rules every implementation keeps (the `presenceStoreContract` suite in `fleetkit/testing`
 * checks them):
 * - **The greatest time wins.** {@link touch} keeps, per device, the greatest `at` it was ever
 *   given, whatever the order in which instances flush their beats; a beat later than the stored
 *   one resets the device's level to 0, an earlier or equal one changes nothing.
 * - **Each change is reported once.** A touch returns the devices whose `lastSeen` it moved, with
 *   their level before; a sweep returns the devices whose level it raised, with their level before.
 *   Two writers never both see the same change (in SQL: row locks in one transaction), so an event
 *   raised from what a call returned is raised once, fleet-wide.
 * - **Keyed within the tenant**: a device's presence lives in its tenant; another tenant's calls
 *   neither see nor change it (row-level security in SQL).
 * - Bad arguments are `INVALID_ARGUMENT` and change nothing.
 */
export interface PresenceStore {
  /**
   * Records that devices were heard from: per device, `lastSeen` becomes the greatest of the
   * stored and the given times (a device given twice counts once, with its greatest `at`); a
   * device whose `lastSeen` moved forward goes back to level 0. One call is one batched write.
   *
   * @returns the devices whose `lastSeen` moved forward, with what they had before
   * @throws FleetError `INVALID_ARGUMENT` for a bad device id or time, or more than
   *   {@link MAX_PRESENCE_BATCH} beats.
   */
  touch(ctx: TenantContext, beats: readonly PresenceBeat[]): Promise<readonly PresenceTouched[]>;
  /**
   * Raises levels: `limits` are times in non-increasing order; a device's level becomes the number
   * of limits its `lastSeen` is at or before, when that is more than its level now (a level never
   * goes down in a sweep). One call is one batched write.
   *
   * @returns the devices whose level it raised
   * @throws FleetError `INVALID_ARGUMENT` unless `limits` is 1–{@link MAX_PRESENCE_LIMITS} finite
   *   times in non-increasing order.
   */
  sweep(ctx: TenantContext, limits: readonly number[]): Promise<readonly PresenceRaised[]>;
  /** The presence of those of `deviceIds` the tenant has one for (in no particular order). */
  get(ctx: TenantContext, deviceIds: readonly string[]): Promise<readonly PresenceRecord[]>;
  /** The tenant's devices with a presence, counted by level (index = level; trailing zeros omitted). */
  countByLevel(ctx: TenantContext): Promise<readonly number[]>;
  /** Forgets a device's presence (a decommissioned device); true when there was one. */
  remove(ctx: TenantContext, deviceId: string): Promise<boolean>;
  /** The tenants with at least one presence, sorted (unscoped: what a sweeper walks). */
  tenants(): Promise<readonly string[]>;
}

/**
 * @internal The beats of a touch, checked, one per device with its greatest time, sorted by
 * device id (so concurrent SQL writers lock rows in one order).
 * @throws FleetError `INVALID_ARGUMENT`.
 */
export function checkBeats(api: string, beats: unknown): PresenceBeat[] {
  if (!Array.isArray(beats)) throw new FleetError('INVALID_ARGUMENT', `${api}: beats must be an array of { deviceId, at }`, { status: 400 });
  if (beats.length > MAX_PRESENCE_BATCH) throw new FleetError('INVALID_ARGUMENT', `${api}: at most ${MAX_PRESENCE_BATCH} beats per call, got ${beats.length}; split the batch`, { status: 400 });
  const latest = new Map<string, number>();
  for (let i = 0; i < beats.length; i++) {
    const b: unknown = beats[i];
    const deviceId = typeof b === 'object' && b !== null ? (b as { deviceId?: unknown }).deviceId : undefined;
    const at = typeof b === 'object' && b !== null ? (b as { at?: unknown }).at : undefined;
    checkDeviceId(api, deviceId, `beats[${i}].deviceId`);
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new FleetError('INVALID_ARGUMENT', `${api}: beats[${i}].at must be a finite epoch-ms time, got ${typeof at === 'number' ? String(at) : typeof at}`, { status: 400 });
    const known = latest.get(deviceId as string);
    if (known === undefined || at > known) latest.set(deviceId as string, at);
  }
  return [...latest].map(([deviceId, at]) => ({ deviceId, at })).sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
}

/**
 * @internal Sweep limits, checked.
 * @throws FleetError `INVALID_ARGUMENT`.
 */
export function checkLimits(api: string, limits: unknown): number[] {
  const bad = (): never => {
    throw new FleetError('INVALID_ARGUMENT', `${api}: limits must be 1–${MAX_PRESENCE_LIMITS} finite epoch-ms times in non-increasing order (the limit of level 1 first)`, { status: 400 });
  };
  if (!Array.isArray(limits) || limits.length === 0 || limits.length > MAX_PRESENCE_LIMITS) return bad();
  const out: number[] = [];
  for (const l of limits as unknown[]) {
    if (typeof l !== 'number' || !Number.isFinite(l)) return bad();
    if (out.length > 0 && l > (out[out.length - 1] as number)) return bad();
    out.push(l);
  }
  return out;
}

/**
 * @internal Device ids of a read, checked.
 * @throws FleetError `INVALID_ARGUMENT`.
 */
export function checkDeviceIds(api: string, ids: unknown): string[] {
  if (!Array.isArray(ids)) throw new FleetError('INVALID_ARGUMENT', `${api}: deviceIds must be an array of device ids`, { status: 400 });
  if (ids.length > MAX_PRESENCE_BATCH) throw new FleetError('INVALID_ARGUMENT', `${api}: at most ${MAX_PRESENCE_BATCH} device ids per call, got ${ids.length}`, { status: 400 });
  (ids as unknown[]).forEach((id, i) => checkDeviceId(api, id, `deviceIds[${i}]`));
  return [...new Set(ids as string[])];
}

/**
 * @internal One device id, checked (a thing name: 1–128 characters of `[a-zA-Z0-9:_-]`).
 * @throws FleetError `INVALID_ARGUMENT`.
 */
export function checkDeviceId(api: string, id: unknown, what = 'deviceId'): asserts id is string {
  if (typeof id === 'string' && thingNameSchema.safeParse(id).success) return;
  throw new FleetError('INVALID_ARGUMENT', `${api}: ${what} must be a device id (1–128 characters of a–z A–Z 0–9 : _ -), got ${typeof id === 'string' ? JSON.stringify(id.slice(0, 80)) : typeof id}`, { status: 400 });
}

/** @internal The level a device at `lastSeen` reaches under `limits`: how many limits it is at or before. */
export function levelUnder(lastSeen: number, limits: readonly number[]): number {
  let n = 0;
  while (n < limits.length && lastSeen <= (limits[n] as number)) n++;
  return n;
}
