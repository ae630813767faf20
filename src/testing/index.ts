/**
 * `fleetkit/testing`: contract suites every implementation of a fleetkit interface must pass
 * (vitest and fast-check are optional peer dependencies, needed only here).
 *
 * @module
 */
export { transportContract, waitUntil } from './transport-contract.js';
export type { TransportContractOptions, TransportFactory, TransportFactoryOptions } from './transport-contract.js';
export type {
  InboundMessage,
  MessageHandler,
  OfflineQueueOptions,
  OverflowPolicy,
  PublishOptions,
  QoS,
  SubscribeOptions,
  Transport,
  TransportEvents,
  TransportState,
  Unsubscribe,
} from '../transport/types.js';
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
export { shadowLeaf, shadowPatch, shadowScalar, shadowStateObject, shadowUpdateRequest } from './shadow-arbitraries.js';
export type { ShadowArbitraryOptions } from './shadow-arbitraries.js';
export { shadowStoreContract } from './store-contract/shadow-store-contract.js';
export type { StoreContractOptions, StoreFactory } from './store-contract/helpers.js';
export { deviceStoreContract } from './store-contract/device-store-contract.js';
export { jobStoreContract } from './store-contract/job-store-contract.js';
export { commandStoreContract } from './store-contract/command-store-contract.js';
export { auditLogContract } from './store-contract/audit-log-contract.js';
export { presenceStoreContract } from './store-contract/presence-store-contract.js';
