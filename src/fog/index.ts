/**
 * Fog-tier processing as a pure core: tumbling-window aggregation with mergeable summaries, the
 * data-reduction figure, and per-sensor anomaly detectors with bounded state (out of range,
 * stuck-at, spikes, drift and gaps), each finding typed with its evidence.
 *
 * @module
 */
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
export { addSample, EMPTY_AGGREGATE, measureReduction, mergeAggregates, tumblingWindows, aggregateVariance } from './aggregate.js';
export type { Aggregate, ReductionOptions, ReductionReport, TimedSample, WindowSummary } from './aggregate.js';
export {
  createSensorState,
  defineSensor,
  DETECTOR_KINDS,
  DETECTOR_WARMUP_SAMPLES,
  MAX_BANK_SENSORS,
  observeSensor,
  restoreSensorState,
  SENSOR_STATE_NUMBERS,
  SensorBank,
  sensorConfigSchema,
  SensorState,
  tickSensor,
} from './detectors.js';
export type {
  DetectorKind,
  DriftFinding,
  Finding,
  GapFinding,
  OutOfRangeFinding,
  SensorConfig,
  SensorBankJson,
  SensorConfigInput,
  SensorStateJson,
  SpikeFinding,
  StuckFinding,
} from './detectors.js';
