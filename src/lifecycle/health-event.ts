/**
 * Combining heartbeat and health into the one lifecycle event a monitor should send.
 */
import type { HealthEvaluation } from './health.js';
import type { HeartbeatReport } from './heartbeat.js';
import type { LifecycleState } from './states.js';

/**
 * The lifecycle event a health monitor should send, if any. An `active` device degrades when its
 * heartbeat says so or its health is `critical`; a `degraded` device recovers only when everything
 * given is fully healthy (heartbeat on time, health `good`) — warnings keep it degraded, so a value
 * hovering at a threshold does not flap. Other states get no health events.
 *
 * @param state - the device's lifecycle state
 * @param signals - the latest heartbeat report and/or health evaluation
 */
export function nextHealthEvent(
  state: LifecycleState,
  signals: { readonly heartbeat?: HeartbeatReport; readonly health?: HealthEvaluation },
): 'health_check_failed' | 'auto_recovery' | undefined {
  const { heartbeat, health } = signals ?? {};
  if (state === 'active') {
    return heartbeat?.event === 'health_check_failed' || health?.status === 'critical' ? 'health_check_failed' : undefined;
  }
  if (state === 'degraded' && (heartbeat !== undefined || health !== undefined)) {
    const beating = heartbeat === undefined || heartbeat.status === 'on-time';
    const healthy = health === undefined || health.status === 'good';
    return beating && healthy ? 'auto_recovery' : undefined;
  }
  return undefined;
}
