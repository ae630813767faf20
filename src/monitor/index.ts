/**
 * Monitoring as a pure core: mergeable latency sketches and Prometheus-style alert rules.
 *
 * @module
 */
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
export { LatencySketch, latencyPercentiles, latencySketchJsonSchema, MAX_LATENCY_MS } from './sketch.js';
export type { LatencyPercentiles, LatencySketchJson } from './sketch.js';
