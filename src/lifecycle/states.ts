/**
 * The lifecycle vocabulary: the six device states and the thirteen events.
 */
import { z } from 'zod';

/** Every lifecycle state, in the order of a device's normal life. */
export const LIFECYCLE_STATES = ['unprovisioned', 'provisioning', 'active', 'degraded', 'maintenance', 'decommissioned'] as const;

/** A device's lifecycle state. */
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

/** Every lifecycle event type. */
export const LIFECYCLE_EVENTS = [
  'registration_initiated',
  'config_complete',
  'provisioning_failed',
  'health_check_failed',
  'scheduled_update',
  'heartbeat',
  'auto_recovery',
  'manual_intervention',
  'unrecoverable',
  'update_complete',
  'update_failed',
  'end_of_life',
  'data_wiped',
] as const;

/** The type of a lifecycle event. */
export type LifecycleEventType = (typeof LIFECYCLE_EVENTS)[number];

/** zod schema of {@link LifecycleState}. */
export const lifecycleStateSchema: z.ZodEnum<{ [K in LifecycleState]: K }> = z.enum(LIFECYCLE_STATES);

/** zod schema of {@link LifecycleEventType}. */
export const lifecycleEventTypeSchema: z.ZodEnum<{ [K in LifecycleEventType]: K }> = z.enum(LIFECYCLE_EVENTS);

// Sets of unknown: Set#has compares with SameValueZero and never converts, so it is the type check too.
const STATE_SET: ReadonlySet<unknown> = new Set(LIFECYCLE_STATES);
const EVENT_SET: ReadonlySet<unknown> = new Set(LIFECYCLE_EVENTS);

/** True when `value` is one of the {@link LIFECYCLE_STATES}. */
export function isLifecycleState(value: unknown): value is LifecycleState {
  return STATE_SET.has(value);
}

/** True when `value` is one of the {@link LIFECYCLE_EVENTS}. */
export function isLifecycleEventType(value: unknown): value is LifecycleEventType {
  return EVENT_SET.has(value);
}
