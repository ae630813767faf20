/**
 * Bytes on the wire for an ESP32: payload decoding (JSON or CBOR, told apart by the first byte),
 * encoding of the canonical form, and the MQTT packet size that must fit the firmware's buffer.
 */
import { describeValue } from '../../describe-value.js';
import { FleetError } from '../../errors.js';
import { jsonCodec, type Codec } from '../../protocol/codec.js';

/** PubSubClient's default `MQTT_MAX_PACKET_SIZE`: the whole packet (header, topic, payload) must fit. */
export const PUBSUBCLIENT_DEFAULT_BUFFER_BYTES = 256;
/** The buffer the protocol asks firmware to configure (`client.setBufferSize(1024)`, esp-mqtt `buffer_size`). */
export const ESP32_RECOMMENDED_BUFFER_BYTES = 1024;

const utf8 = new TextEncoder();

function optionsOf<T extends object>(fn: string, options: unknown): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new FleetError('INVALID_ARGUMENT', `${fn}: options must be an object (or omitted), got ${describeValue(options)}`, { status: 400 });
  return options as Partial<T>;
}

function codecOption(fn: string, name: string, codec: unknown, fallback: Codec | undefined): Codec | undefined {
  if (codec === undefined) return fallback;
  if (typeof codec === 'object' && codec !== null && typeof (codec as Codec).encode === 'function' && typeof (codec as Codec).decode === 'function') return codec as Codec;
  throw new FleetError('INVALID_ARGUMENT', `${fn}: options.${name} must be a Codec (jsonCodec, or cborCodec from fleetkit/cbor), got ${describeValue(codec)}`, { status: 400 });
}

/**
 * The size in bytes of the MQTT 3.1.1 PUBLISH packet carrying `payloadBytes` to `topic`: fixed
 * header (1 byte + 1–4 bytes of remaining length), topic (2 + its UTF-8 length), packet id (2, QoS 1 only), payload.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a topic that is not a string or a negative size.
 */
export function mqttPublishPacketBytes(topic: string, payloadBytes: number, qos: 0 | 1 = 0): number {
  if (typeof topic !== 'string' || !Number.isInteger(payloadBytes) || payloadBytes < 0) {
    throw new FleetError('INVALID_ARGUMENT', `mqttPublishPacketBytes(topic, payloadBytes): pass a topic string and a byte count, got ${describeValue(topic)}, ${describeValue(payloadBytes)}`, { status: 400 });
  }
  const remaining = 2 + utf8.encode(topic).byteLength + (qos === 1 ? 2 : 0) + payloadBytes;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16_384 ? 2 : remaining < 2_097_152 ? 3 : 4;
  return 1 + lengthBytes + remaining;
}

/** Options of {@link encodeEsp32}. */
export interface Esp32EncodeOptions {
  /** @defaultValue `jsonCodec` (pass `cborCodec` from `fleetkit/cbor` for CBOR) */
  readonly codec?: Codec;
  /** The topic it goes to: with it the whole packet is checked against `bufferBytes`. */
  readonly topic?: string;
  /** QoS of the publish (2 bytes of packet id at QoS 1). @defaultValue 1 */
  readonly qos?: 0 | 1;
  /** The device's MQTT buffer. @defaultValue {@link ESP32_RECOMMENDED_BUFFER_BYTES} */
  readonly bufferBytes?: number;
}

/**
 * Encodes a built message for a device, refusing one that would not fit its MQTT buffer.
 *
 * @throws FleetError `PAYLOAD_TOO_LARGE` (413) when the packet is larger than `bufferBytes`, and
 *   whatever the codec throws.
 */
export function encodeEsp32(message: unknown, options: Esp32EncodeOptions = {}): Uint8Array {
  const o = optionsOf<Esp32EncodeOptions>('encodeEsp32', options);
  const codec = codecOption('encodeEsp32', 'codec', o.codec, jsonCodec) as Codec;
  const buffer = o.bufferBytes ?? ESP32_RECOMMENDED_BUFFER_BYTES;
  if (o.topic !== undefined && typeof o.topic !== 'string') throw new FleetError('INVALID_ARGUMENT', `encodeEsp32: options.topic must be a topic string, got ${describeValue(o.topic)}`, { status: 400 });
  if (o.qos !== undefined && o.qos !== 0 && o.qos !== 1) throw new FleetError('INVALID_ARGUMENT', `encodeEsp32: options.qos must be 0 or 1, got ${describeValue(o.qos)}`, { status: 400 });
  if (!Number.isInteger(buffer) || buffer < 16) throw new FleetError('INVALID_ARGUMENT', `encodeEsp32: bufferBytes must be an integer ≥ 16, got ${describeValue(buffer)}`, { status: 400 });
  const bytes = codec.encode(message);
  const size = o.topic === undefined ? bytes.byteLength : mqttPublishPacketBytes(o.topic, bytes.byteLength, o.qos ?? 1);
  if (size > buffer) {
    throw new FleetError('PAYLOAD_TOO_LARGE', `encodeEsp32: the ${o.topic === undefined ? 'payload' : 'MQTT packet'} is ${size} bytes, over the device's ${buffer}-byte buffer; send less (fewer values, shorter params) or raise the firmware's buffer`, {
      status: 413,
      details: { size, bufferBytes: buffer },
    });
  }
  return bytes;
}

/** Options of {@link decodeEsp32Payload}. */
export interface Esp32DecodeOptions {
  /** The CBOR codec (`cborCodec` from `fleetkit/cbor`); without it CBOR payloads are refused. */
  readonly cbor?: Codec;
  /** The JSON codec. @defaultValue `jsonCodec` */
  readonly json?: Codec;
}

/**
 * Decodes a payload from a device: JSON when its first non-blank byte is `{`, otherwise CBOR (a
 * CBOR map starts with a byte from 0xa0 to 0xbf, or the self-describe tag 0xd9 0xd9 0xf7), so one
 * topic can carry either.
 *
 * @throws FleetError `INVALID_PAYLOAD` (malformed bytes, or CBOR without a CBOR codec), `PAYLOAD_TOO_LARGE`.
 */
export function decodeEsp32Payload(payload: Uint8Array, options: Esp32DecodeOptions = {}): unknown {
  if (!(payload instanceof Uint8Array)) throw new FleetError('INVALID_PAYLOAD', `decodeEsp32Payload: expected bytes (a Uint8Array), got ${describeValue(payload)}`, { status: 400 });
  const o = optionsOf<Esp32DecodeOptions>('decodeEsp32Payload', options);
  const json = codecOption('decodeEsp32Payload', 'json', o.json, jsonCodec) as Codec;
  const cbor = codecOption('decodeEsp32Payload', 'cbor', o.cbor, undefined);
  let i = 0;
  while (i < payload.length && (payload[i] === 0x20 || payload[i] === 0x0a || payload[i] === 0x0d || payload[i] === 0x09)) i++;
  const first = payload[i];
  if (first === 0x7b || first === undefined) return json.decode(payload);
  if (cbor === undefined) {
    throw new FleetError('INVALID_PAYLOAD', 'decodeEsp32Payload: the payload is not JSON (it does not start with "{") and no CBOR codec was given; pass { cbor: cborCodec } from fleetkit/cbor', { status: 400 });
  }
  return cbor.decode(payload);
}
