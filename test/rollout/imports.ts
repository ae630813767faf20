// One import point for the rollout tests: the public barrel plus the shared error guard.
export * from '../../src/rollout/index.js';
export { FleetError, isFleetError } from '../../src/errors.js';
