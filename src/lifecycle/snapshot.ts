/**
 * The lifecycle snapshot of one device and the event type the reducer takes.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import { describeValue } from '../describe-value.js';
import { describeIssues, issueList } from './issues.js';
import { lifecycleEventTypeSchema, lifecycleStateSchema } from './states.js';
import type { LifecycleEventType, LifecycleState } from './states.js';

/**
 * A device's lifecycle snapshot: who it is, which state it is in and since when. Records may carry
 * more fields (identity, attributes, …); {@link transition} keeps them.
 */
export interface DeviceSnapshot {
  /** The device (thing) id. */
  readonly deviceId: string;
  /** The tenant the device belongs to. */
  readonly tenantId: string;
  /** The current lifecycle state. */
  readonly state: LifecycleState;
  /** When the device entered `state` (epoch ms). Self-transitions (`heartbeat`) keep it. */
  readonly since: number;
  /**
   * When the last accepted event happened (epoch ms); the audit clock. Missing means `since`.
   * Events earlier than this are refused so that audit time never goes backwards.
   */
  readonly updatedAt?: number;
}

/** A lifecycle event: its type, and who caused it and why (both go to the audit record). */
export interface LifecycleEvent<T extends LifecycleEventType = LifecycleEventType> {
  /** The event type, one of {@link LIFECYCLE_EVENTS}. */
  readonly type: T;
  /**
   * Who caused it (a user, a service, `device`).
   * @defaultValue `'system'` in the audit record
   */
  readonly actor?: string;
  /**
   * Why, in words.
   * @defaultValue `null` in the audit record
   */
  readonly reason?: string;
}

const idSchema = z.string().min(1).max(128);
const timeSchema = z.number().finite();

/** zod schema of a {@link DeviceSnapshot} (extra fields are kept). */
export const deviceSnapshotSchema: z.ZodType<DeviceSnapshot> = z.looseObject({
  deviceId: idSchema,
  tenantId: idSchema,
  state: lifecycleStateSchema,
  since: timeSchema,
  updatedAt: timeSchema.exactOptional(),
});

/** zod schema of a {@link LifecycleEvent} (for events arriving over a boundary; extra fields are kept). */
export const lifecycleEventSchema: z.ZodType<LifecycleEvent> = z.looseObject({
  type: lifecycleEventTypeSchema,
  actor: z.string().min(1).max(256).exactOptional(),
  reason: z.string().max(1024).exactOptional(),
});

/**
 * The "factory default" snapshot of a new device: `unprovisioned` since `now`.
 *
 * @param init - the device id, tenant id and the creation time
 * @throws FleetError `INVALID_ARGUMENT` when an id is empty or `now` is not a finite number.
 *
 * @example
 * ```ts
 * const device = createDeviceSnapshot({ deviceId: 'pump-7', tenantId: 'acme', now: clock.now() });
 * device.state; // 'unprovisioned'
 * ```
 */
export function createDeviceSnapshot(init: { readonly deviceId: string; readonly tenantId: string; readonly now: number }): DeviceSnapshot {
  const deviceId: unknown = init?.deviceId;
  const tenantId: unknown = init?.tenantId;
  const now: unknown = init?.now;
  // The schema refuses non-strings and Number.isFinite non-numbers: no separate type checks.
  if (!idSchema.safeParse(deviceId).success || !idSchema.safeParse(tenantId).success || !Number.isFinite(now)) {
    throw new FleetError('INVALID_ARGUMENT', 'createDeviceSnapshot: deviceId and tenantId must be 1–128 characters and now a finite epoch-ms number', {
      status: 400,
      details: { deviceId: describeValue(deviceId), tenantId: describeValue(tenantId), now: describeValue(now) },
    });
  }
  return { deviceId: deviceId as string, tenantId: tenantId as string, state: 'unprovisioned', since: now as number, updatedAt: now as number };
}

/**
 * Validates an untrusted snapshot (from a store or the wire) against {@link deviceSnapshotSchema}.
 *
 * @throws FleetError `INVALID_INPUT` naming the offending fields.
 */
export function parseDeviceSnapshot(input: unknown): DeviceSnapshot {
  const r = deviceSnapshotSchema.safeParse(input);
  if (r.success) return r.data;
  throw new FleetError('INVALID_INPUT', `Invalid device snapshot: ${describeIssues(r.error, 'snapshot')}`, {
    status: 400,
    details: { issues: issueList(r.error) },
  });
}
