/**
 * The ESP32 adapter: the wire protocol of ESP32 firmware (docs/esp32-protocol.md) parsed leniently
 * where variants are harmless and strictly for ids and versions, mapped to the SDK's messages, and
 * built back from them.
 *
 * @module
 */
export {
  ESP32_COMMANDS,
  ESP32_HEALTH_STATUSES,
  ESP32_LIFECYCLE_STATES,
  coreHealthToEsp32,
  coreStateToEsp32,
  enumKey,
  esp32HealthToCore,
  esp32StateToCore,
} from './enums.js';
export type { Esp32Command, Esp32HealthStatus, Esp32LifecycleState } from './enums.js';
export {
  ESP32_KINDS,
  ESP32_MAX_COUNTER,
  ESP32_MAX_INTERVAL_MS,
  ESP32_MIN_INTERVAL_MS,
  buildEsp32,
  decideEsp32Config,
  esp32HealthSample,
  parseEsp32,
  parseEsp32Ack,
  parseEsp32Command,
  parseEsp32Config,
  parseEsp32Health,
  parseEsp32Heartbeat,
  parseEsp32Shadow,
  parseEsp32Telemetry,
  safeParseEsp32,
} from './messages.js';
export type { Esp32Config, Esp32ConfigDecision, Esp32HealthValue, Esp32HeartbeatValue, Esp32Kind, Esp32ParseOptions, Esp32ShadowReport, Esp32Values } from './messages.js';
export { ESP32_RECOMMENDED_BUFFER_BYTES, PUBSUBCLIENT_DEFAULT_BUFFER_BYTES, decodeEsp32Payload, encodeEsp32, mqttPublishPacketBytes } from './packet.js';
export type { Esp32DecodeOptions, Esp32EncodeOptions } from './packet.js';
