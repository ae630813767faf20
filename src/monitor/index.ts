/**
 * Monitoring as a pure core: mergeable latency sketches and Prometheus-style alert rules.
 *
 * @module
 */
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
export { LatencySketch, latencyPercentiles, latencySketchJsonSchema, MAX_LATENCY_MS } from './sketch.js';
export type { LatencyPercentiles, LatencySketchJson } from './sketch.js';
export {
  acknowledgeAlert,
  ALERT_SEVERITIES,
  alertResponseSla,
  alertRuleSchema,
  alertStateSchema,
  DEFAULT_RESPONSE_TARGETS,
  defineAlertRules,
  EMPTY_ALERT_STATE,
  evaluateAlerts,
  metricSampleSchema,
} from './alerts.js';
export type {
  AlertEvent,
  AlertInstance,
  AlertPhase,
  AlertRule,
  AlertRuleInput,
  AlertSeverity,
  AlertState,
  AlertStep,
  MetricSample,
  ResponseSlaReport,
  ResponseTargets,
} from './alerts.js';
