/**
 * `fleetkit/device`: the device tier — {@link DeviceAgent} (the device side of every cloud
 * service over any transport and clock), {@link VirtualDevice} (the lab ESP32's behaviour on a
 * `DeviceAgent`, for simulations and load tests), OTA with A/B slots and image verification.
 *
 * @module
 */
export { DeviceAgent } from './agent.js';
export type { CommandContext, CommandHandler, DeviceAgentOptions, DeviceAgentStats, DeviceConflictPolicy, DeviceJobOptions, HeartbeatVitals } from './agent.js';
export { WireJobChannel } from './job-channel.js';
export type { JobChannel, JobChannelContext } from './job-channel.js';
export type { CommandEvent, ConfigChangedEvent, DeviceAgentEvents, StaleShadowEvent } from './agent-events.js';
export type { DeviceCredentials, SymmetricKeyCredentials, X509Credentials } from './provisioning-client.js';
export { OtaAgent } from './ota.js';
export type { FirmwareRuntime, FirmwareSlots, JobReport, OtaAgentOptions, OtaJob, SlotContent, SlotName } from './ota.js';
export { signFirmwareImage, toSigningKeys, verifyFirmwareImage } from './firmware-image.js';
export type { FirmwareManifest, ImageRefusal, ImageVerification, SigningKey, SigningKeySet, TrustedSigningKeys } from './firmware-image.js';
export { DEFAULT_VIRTUAL_INTERVALS, LAB_STATES, VIRTUAL_DEVICE_COMMANDS, VirtualDevice } from './virtual-device.js';
export type { BatteryModel, FirmwareBehaviour, LabCommand, LabState, VirtualDeviceIntervals, VirtualDeviceOptions } from './virtual-device.js';
export * as esp32 from './esp32/index.js';
export { GatewayConnection, GatewayChild, filtersIntersect } from './gateway.js';
export type { GatewayConnectionOptions, GatewayChildOptions, GatewayTopicScope } from './gateway.js';
export { FogGateway } from './fog-gateway.js';
export type { FogGatewayEvents, FogGatewayOptions, FogReport, FogSensor } from './fog-gateway.js';
export type { Finding, SensorConfig, SensorConfigInput } from '../fog/detectors.js';
export { seededRandom } from './random.js';
export type { RandomSource } from './random.js';
export type { InboundMessage, MessageHandler, PublishOptions, QoS, SubscribeOptions, Transport, TransportState, Unsubscribe } from '../transport/types.js';
export type { Clock, TimerHandle } from '../clock.js';
export { FleetError, isFleetError } from '../errors.js';
export type { FleetErrorCode, FleetErrorOptions } from '../errors.js';
