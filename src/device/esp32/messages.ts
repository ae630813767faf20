/**
 * The ESP32 adapter: parses the firmware's messages leniently (field-name variants, enums as names
 * or indexes, unknown fields ignored) and strictly where safety needs it (ids, counters and
 * versions), maps them to the SDK's message types, and builds the canonical ESP32 form of SDK
 * values. `parse(build(v))` equals `v` for every valid value; `parse` throws nothing but
 * `FleetError`. The protocol is written down in docs/esp32-protocol.md.
 */
import { describeValue } from '../../describe-value.js';
import { FleetError, isFleetError, type Result } from '../../errors.js';
import { utf8ByteLength, type JsonObject, type JsonValue } from '../../json.js';
import type { HealthSample, HealthStatus } from '../../lifecycle/health.js';
import type { LifecycleState } from '../../lifecycle/states.js';
import type { CommandAckMessage, CommandRequestMessage } from '../../protocol/command-wire.js';
import type { HeartbeatMessage, TelemetryMessage } from '../../protocol/schemas.js';
import { MAX_ID_LENGTH } from '../../protocol/topics.js';
import { MAX_THING_NAME_LENGTH } from '../../shadow/names.js';
import {
  ACK_BY_INDEX,
  ACK_SPELLINGS,
  coreHealthToEsp32,
  coreStateToEsp32,
  ESP32_COMMANDS,
  ESP32_HEALTH_STATUSES,
  ESP32_LIFECYCLE_STATES,
  enumKey,
  HEALTH_BY_INDEX,
  HEALTH_SPELLINGS,
  STATE_BY_INDEX,
  STATE_SPELLINGS,
  type Esp32HealthStatus,
  type Esp32LifecycleState,
} from './enums.js';
import {
  counterField,
  enumField,
  invalid,
  jsonObjectField,
  jsonValueField,
  numberField,
  objectOf,
  pick,
  stringField,
  timeField,
  without,
  type Esp32Kind,
  type WireObject,
} from './read.js';

export type { Esp32Kind } from './read.js';

/** The largest counter the firmware keeps (`uint32_t`): `seq`, `configVersion`, shadow `version`. */
export const ESP32_MAX_COUNTER = 4_294_967_295;
/** Shortest interval the firmware accepts (ms). */
export const ESP32_MIN_INTERVAL_MS = 1000;
/** Longest interval the firmware accepts (ms): one day. */
export const ESP32_MAX_INTERVAL_MS = 86_400_000;

const ID_CHARS = /^[a-zA-Z0-9:_-]+$/;

/** Options of the parsers. */
export interface Esp32ParseOptions {
  /**
   * Epoch ms to use when a message carries no time (a device without NTP). Without it, a message
   * without a time is refused.
   */
  readonly receivedAt?: number;
  /** The device the topic names: a `deviceId` in the payload must be this one (else `FORBIDDEN`). */
  readonly deviceId?: string;
  /** The command id the topic names: the payload's command id must be this one. */
  readonly commandId?: string;
}

/** A heartbeat as the SDK reads it: the cloud's {@link HeartbeatMessage} plus the lab firmware's lifecycle state and health. */
export interface Esp32HeartbeatValue extends HeartbeatMessage {
  /** The device's lifecycle state, in the core's vocabulary. */
  readonly state?: LifecycleState;
  /** The device's own health verdict, in the core's vocabulary. */
  readonly health?: HealthStatus;
}

/** A health report: the device's verdict and the vitals it rated. */
export interface Esp32HealthValue {
  /** When it was rated (epoch ms). */
  readonly at: number;
  /** The device's verdict. */
  readonly status: HealthStatus;
  /** Battery charge, 0–100 %. */
  readonly batteryPct?: number;
  /** Wi-Fi RSSI (dBm). */
  readonly rssiDbm?: number;
  /** Free heap (bytes). */
  readonly freeHeapBytes?: number;
}

/** A reported-state update for the device's shadow (a valid `shadowUpdateRequestSchema` request). */
export interface Esp32ShadowReport {
  /** The reported section, with the protocol's field names (see docs/esp32-protocol.md). */
  readonly state: { readonly reported: JsonObject };
  /** Echoed in the shadow service's answer. */
  readonly clientToken?: string;
  /** Optimistic-locking version. */
  readonly version?: number;
}

/** The device configuration the cloud sets in the shadow's desired state. */
export interface Esp32Config {
  /** Monotonic: the device applies a configuration only when this is greater than the one it runs. */
  readonly configVersion: number;
  /** Telemetry period (ms). */
  readonly telemetryIntervalMs?: number;
  /** Heartbeat period (ms). */
  readonly heartbeatIntervalMs?: number;
  /** Health-check period (ms). */
  readonly healthCheckIntervalMs?: number;
  /** Shadow-sync period (ms). */
  readonly shadowSyncIntervalMs?: number;
  /** Configuration-check period (ms). */
  readonly configCheckIntervalMs?: number;
}

/** What each kind of ESP32 message maps to in the SDK. */
export interface Esp32Values {
  /** `dt/{tenant}/{device}/heartbeat`. */
  heartbeat: Esp32HeartbeatValue;
  /** `dt/{tenant}/{device}/telemetry`. */
  telemetry: TelemetryMessage;
  /** `dt/{tenant}/{device}/telemetry` carrying a health report. */
  health: Esp32HealthValue;
  /** `$aws/things/{device}/shadow/update` (reported state). */
  shadow: Esp32ShadowReport;
  /** The shadow's desired state, or its delta. */
  config: Esp32Config;
  /** `cmd/{tenant}/{device}/req/{commandId}`. */
  command: CommandRequestMessage;
  /** `cmd/{tenant}/{device}/res/{commandId}`. */
  ack: CommandAckMessage;
}

const options0: Esp32ParseOptions = {};

function optionsOf(value: unknown): Esp32ParseOptions {
  if (value === undefined) return options0;
  if (typeof value !== 'object' || value === null) {
    throw new FleetError('INVALID_ARGUMENT', `esp32 parser: options must be an object such as { receivedAt: Date.now() }, got ${describeValue(value)}`, { status: 400 });
  }
  const o = value as Esp32ParseOptions;
  if (o.receivedAt !== undefined && (typeof o.receivedAt !== 'number' || !Number.isSafeInteger(o.receivedAt) || o.receivedAt < 0)) {
    throw new FleetError('INVALID_ARGUMENT', `esp32 parser: options.receivedAt must be epoch ms (a non-negative integer), got ${describeValue(o.receivedAt)}`, { status: 400 });
  }
  return o;
}

// ── shared fields ────────────────────────────────────────────────────────────────────────────

const SECONDS = 1000;
const VITALS = {
  batteryPct: { names: ['batteryPct', 'battery', 'bat', 'battery_pct', 'batteryLevel'], rule: { min: 0, max: 100 } },
  rssiDbm: { names: ['rssiDbm', 'rssi', 'wifiRssi', 'rssi_dbm'], rule: { min: -200, max: 50 } },
  freeHeapBytes: { names: ['freeHeapBytes', 'freeHeap', 'heap', 'free_heap', 'heapFree'], rule: { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true } },
} as const;
type Vital = keyof typeof VITALS;
const VITAL_NAMES: readonly Vital[] = ['batteryPct', 'rssiDbm', 'freeHeapBytes'];

const FIRMWARE = ['firmwareVersion', 'fw', 'fwVersion', 'firmware', 'firmware_version'];
const DEVICE_ID = ['deviceId', 'device_id', 'device', 'clientId'];
const STATE = ['state', 'lifecycle', 'lifecycleState', 'lifecycle_state'];
const HEALTH = ['health', 'healthStatus', 'health_status', 'status'];

const INTERVALS = ['telemetry', 'heartbeat', 'healthCheck', 'shadowSync', 'configCheck'] as const;
const SNAKE: Record<(typeof INTERVALS)[number], string> = { telemetry: 'telemetry', heartbeat: 'heartbeat', healthCheck: 'health_check', shadowSync: 'shadow_sync', configCheck: 'config_check' };

function intervalNames(kind: (typeof INTERVALS)[number]): { names: string[]; scale: Record<string, number> } {
  const s = SNAKE[kind];
  return { names: [`${kind}IntervalMs`, `${s}_interval_ms`, `${kind}Interval`, `${s}_interval`], scale: { [`${kind}Interval`]: SECONDS, [`${s}_interval`]: SECONDS } };
}

function interval(kind: Esp32Kind, o: WireObject, which: (typeof INTERVALS)[number]): number | undefined {
  const { names, scale } = intervalNames(which);
  return numberField(kind, o, names, { min: ESP32_MIN_INTERVAL_MS, max: ESP32_MAX_INTERVAL_MS, integer: true, scale });
}

function vitals(kind: Esp32Kind, o: WireObject): Partial<Record<Vital, number>> {
  const out: Partial<Record<Vital, number>> = {};
  for (const v of VITAL_NAMES) {
    const n = numberField(kind, o, VITALS[v].names, VITALS[v].rule);
    if (n !== undefined) out[v] = n;
  }
  return out;
}

function checkDevice(kind: Esp32Kind, o: WireObject, options: Esp32ParseOptions): void {
  const found = pick(o, DEVICE_ID);
  if (found === undefined) return;
  const { name, value } = found;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_THING_NAME_LENGTH || !ID_CHARS.test(value)) {
    throw invalid(kind, name, `must be the device id: 1–${MAX_THING_NAME_LENGTH} characters of letters, digits, ":", "_" and "-", got ${describeValue(value).slice(0, 80)}`, 'INVALID_NAME');
  }
  if (options.deviceId !== undefined && value !== options.deviceId) {
    throw invalid(kind, name, `names device "${value}" but the message arrived on the topic of "${options.deviceId}"; a device may only speak for itself`, 'FORBIDDEN');
  }
}

function messageId(kind: Esp32Kind, o: WireObject, names: readonly string[], expected: string | undefined): string {
  const found = pick(o, names);
  if (found === undefined) throw invalid(kind, names[0], `is missing: send the command id (1–${MAX_ID_LENGTH} characters of letters, digits, ":", "_" and "-")`, 'INVALID_NAME');
  const { name, value } = found;
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH || !ID_CHARS.test(value)) {
    throw invalid(kind, name, `must be 1–${MAX_ID_LENGTH} characters of letters, digits, ":", "_" and "-", got ${describeValue(value).slice(0, 80)}`, 'INVALID_NAME');
  }
  if (expected !== undefined && value !== expected) throw invalid(kind, name, `is "${value}" but the topic names command "${expected}"; send the id of the command being answered`);
  return value;
}

const STATE_NAMES = ESP32_LIFECYCLE_STATES.join(', ');
const HEALTH_NAMES = ESP32_HEALTH_STATUSES.join(', ');

function lifecycle(kind: Esp32Kind, o: WireObject): LifecycleState | undefined {
  return enumField(kind, o, STATE, STATE_SPELLINGS, STATE_BY_INDEX, enumKey, STATE_NAMES);
}

function health(kind: Esp32Kind, o: WireObject, names: readonly string[] = HEALTH): HealthStatus | undefined {
  return enumField(kind, o, names, HEALTH_SPELLINGS, HEALTH_BY_INDEX, enumKey, HEALTH_NAMES);
}

// ── parsers ─────────────────────────────────────────────────────────────────────────────────

/**
 * Parses a heartbeat. Accepts `ts` (ms) or `timestamp` (s); `seq`/`sequence`; `uptimeS`, `uptime`
 * (s) or `uptimeMs`; `firmwareVersion`/`fw`; `rssiDbm`/`rssi`; `batteryPct`/`battery`;
 * `freeHeapBytes`/`freeHeap`/`heap`; `state` and `health` as names or indexes.
 *
 * @throws FleetError `INVALID_PAYLOAD` (a malformed field), `INVALID_NAME` (a bad `deviceId`),
 *   `FORBIDDEN` (a `deviceId` other than `options.deviceId`).
 */
export function parseEsp32Heartbeat(value: unknown, options?: Esp32ParseOptions): Esp32HeartbeatValue {
  const opts = optionsOf(options);
  const o = objectOf('heartbeat', value);
  checkDevice('heartbeat', o, opts);
  const ts = timeField('heartbeat', o, opts.receivedAt);
  const seq = counterField('heartbeat', o, ['seq', 'sequence', 'seqNo'], ESP32_MAX_COUNTER, 'INVALID_PAYLOAD');
  if (seq === undefined) throw invalid('heartbeat', 'seq', 'is missing: send a per-device sequence number (an integer counting up from 0)');
  const uptimeS = numberField('heartbeat', o, ['uptimeS', 'uptime', 'uptime_s', 'uptimeMs', 'uptime_ms'], { min: 0, max: Number.MAX_SAFE_INTEGER, scale: { uptimeMs: 1 / 1000, uptime_ms: 1 / 1000 } });
  const firmwareVersion = stringField('heartbeat', o, FIRMWARE, 64);
  const v = vitals('heartbeat', o);
  const state = lifecycle('heartbeat', o);
  const h = health('heartbeat', o, ['health', 'healthStatus', 'health_status']);
  return {
    ts,
    seq,
    ...(uptimeS === undefined ? {} : { uptimeS }),
    ...(firmwareVersion === undefined ? {} : { firmwareVersion }),
    ...(v.rssiDbm === undefined ? {} : { rssiDbm: v.rssiDbm }),
    ...(v.batteryPct === undefined ? {} : { batteryPct: v.batteryPct }),
    ...(v.freeHeapBytes === undefined ? {} : { freeHeapBytes: v.freeHeapBytes }),
    ...(state === undefined ? {} : { state }),
    ...(h === undefined ? {} : { health: h }),
  };
}

const TELEMETRY_ENVELOPE = new Set(['ts', 'tsMs', 'timestampMs', 'timestamp', 'time', 'seq', 'sequence', 'seqNo', 'type', 'msgType', ...DEVICE_ID]);
const VALUES = ['values', 'data', 'readings', 'sensors', 'metrics'];

/** The measurements, with the vitals under their canonical names. */
function telemetryValues(kind: Esp32Kind, o: WireObject): JsonObject {
  const nested = pick(o, VALUES);
  const raw = nested === undefined ? jsonObjectField(kind, without(kind, o, TELEMETRY_ENVELOPE, 'values'), 'values') : jsonObjectField(kind, nested.value, nested.name);
  const v = vitals(kind, raw);
  const variants = new Set<string>();
  for (const name of VITAL_NAMES) for (const n of VITALS[name].names) if (n !== name) variants.add(n);
  const out: JsonObject = {};
  for (const key of Object.keys(raw)) {
    if (variants.has(key)) continue;
    out[key] = (VITAL_NAMES as readonly string[]).includes(key) ? (v[key as Vital] as number) : (raw[key] as JsonValue);
  }
  for (const name of VITAL_NAMES) if (v[name] !== undefined && !(name in out)) out[name] = v[name];
  return out;
}

/**
 * Parses telemetry: `{ ts, seq?, values }`, the measurements also accepted under `data`,
 * `readings`, `sensors` or `metrics`, or flat beside `ts` (every field that is not part of the
 * envelope is a measurement). Vital signs are renamed to the names the cloud's `HealthMonitor`
 * rates (`battery` → `batteryPct`, `rssi` → `rssiDbm`, `freeHeap` → `freeHeapBytes`).
 *
 * @throws FleetError `INVALID_PAYLOAD`, `INVALID_NAME`, `FORBIDDEN` as {@link parseEsp32Heartbeat}.
 */
export function parseEsp32Telemetry(value: unknown, options?: Esp32ParseOptions): TelemetryMessage {
  const opts = optionsOf(options);
  const o = objectOf('telemetry', value);
  checkDevice('telemetry', o, opts);
  const ts = timeField('telemetry', o, opts.receivedAt);
  const seq = counterField('telemetry', o, ['seq', 'sequence', 'seqNo'], ESP32_MAX_COUNTER, 'INVALID_PAYLOAD');
  const values = telemetryValues('telemetry', o);
  return { ts, ...(seq === undefined ? {} : { seq }), values };
}

/**
 * Parses a health report: the telemetry envelope whose values hold `health` (the verdict) and the
 * vitals, or the same fields flat. The verdict is required.
 *
 * @throws FleetError `INVALID_PAYLOAD`, `INVALID_NAME`, `FORBIDDEN` as {@link parseEsp32Heartbeat}.
 */
export function parseEsp32Health(value: unknown, options?: Esp32ParseOptions): Esp32HealthValue {
  const opts = optionsOf(options);
  const o = objectOf('health', value);
  checkDevice('health', o, opts);
  const at = timeField('health', o, opts.receivedAt);
  const nested = pick(o, VALUES);
  const body = nested === undefined ? o : objectOf('health', nested.value, nested.name);
  const status = health('health', body);
  if (status === undefined) throw invalid('health', 'health', `is missing: send the verdict as one of ${HEALTH_NAMES}`);
  const v = vitals('health', body);
  return { at, status, ...v };
}

const REPORTED_RENAMES = new Set<string>([...FIRMWARE, ...STATE, ...VITAL_NAMES.flatMap((n) => VITALS[n].names), ...INTERVALS.flatMap((i) => intervalNames(i).names), 'configVersion', 'config_version', 'health', 'healthStatus', 'health_status']);

/** The reported section in canonical form: known fields renamed and normalised, others kept. */
function reportedSection(kind: Esp32Kind, raw: WireObject): JsonObject {
  const r = jsonObjectField(kind, raw, 'reported');
  const out: JsonObject = {};
  const state = lifecycle(kind, r);
  if (state !== undefined) out['state'] = coreStateToEsp32(state);
  const h = health(kind, r, ['health', 'healthStatus', 'health_status']);
  if (h !== undefined) out['health'] = coreHealthToEsp32(h);
  const fw = stringField(kind, r, FIRMWARE, 64);
  if (fw !== undefined) out['firmwareVersion'] = fw;
  Object.assign(out, vitals(kind, r));
  const configVersion = counterField(kind, r, ['configVersion', 'config_version'], ESP32_MAX_COUNTER, 'INVALID_VERSION');
  if (configVersion !== undefined) out['configVersion'] = configVersion;
  for (const i of INTERVALS) {
    const ms = interval(kind, r, i);
    if (ms !== undefined) out[`${i}IntervalMs`] = ms;
  }
  for (const key of Object.keys(r)) if (!REPORTED_RENAMES.has(key)) out[key] = r[key] as JsonValue;
  // The shadow service's rules for a section (no null inside an array): refuse here what it would refuse.
  const path = nullInArray(out, ['state', 'reported']);
  if (path !== undefined) throw invalid(kind, path.join('.'), 'is not a valid shadow value: an array may not hold null at any depth (null deletes a key, so it cannot be an element); remove the null');
  return out;
}

/** The path of the first array holding a null at any depth, or undefined. */
function nullInArray(value: JsonValue, path: string[]): string[] | undefined {
  if (Array.isArray(value)) return value.some(holdsNull) ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const key of Object.keys(value)) {
    const found = nullInArray(value[key] as JsonValue, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

function holdsNull(value: JsonValue): boolean {
  if (value === null) return true;
  if (typeof value !== 'object') return false;
  return Array.isArray(value) ? value.some(holdsNull) : Object.values(value).some((v) => holdsNull(v as JsonValue));
}

/**
 * Parses a reported-state update: `{ state: { reported: { … } }, clientToken?, version? }` (or
 * `{ reported: { … } }`). In the reported section, `state` and `health` are normalised to the lab
 * names (`ACTIVE`, `HEALTH_GOOD`, …), intervals to `…IntervalMs`, the vitals and firmware version
 * to their canonical names; other fields (the application's own) are kept as they are. The shadow
 * `version` and `configVersion` are strict.
 *
 * @throws FleetError `INVALID_PAYLOAD`; `INVALID_VERSION` for a version that is not a non-negative integer.
 */
export function parseEsp32Shadow(value: unknown, options?: Esp32ParseOptions): Esp32ShadowReport {
  const opts = optionsOf(options);
  const o = objectOf('shadow', value);
  checkDevice('shadow', o, opts);
  const state = pick(o, ['state']);
  const holder = state === undefined ? o : objectOf('shadow', state.value, 'state');
  const reported = pick(holder, ['reported']);
  if (reported === undefined) throw invalid('shadow', 'state.reported', 'is missing: send { "state": { "reported": { … } } }');
  const section = reportedSection('shadow', objectOf('shadow', reported.value, 'state.reported'));
  const clientToken = stringField('shadow', o, ['clientToken', 'client_token'], 64);
  if (clientToken !== undefined && utf8ByteLength(clientToken) > 64) throw invalid('shadow', 'clientToken', 'must be at most 64 bytes of UTF-8');
  const version = counterField('shadow', o, ['version'], ESP32_MAX_COUNTER, 'INVALID_VERSION');
  return { state: { reported: section }, ...(clientToken === undefined ? {} : { clientToken }), ...(version === undefined ? {} : { version }) };
}

/**
 * Parses a configuration: flat, or inside `config`, `state`, `state.desired` or `desired` (a
 * shadow document or delta). `configVersion` is required and strict; intervals accept `…IntervalMs`
 * or `…Interval` in seconds.
 *
 * @throws FleetError `INVALID_VERSION` for a missing or invalid `configVersion`, `INVALID_PAYLOAD` for another field.
 */
export function parseEsp32Config(value: unknown, options?: Esp32ParseOptions): Esp32Config {
  optionsOf(options);
  let o = objectOf('config', value);
  for (const wrapper of ['config', 'state', 'desired']) {
    const inner = pick(o, [wrapper]);
    if (inner !== undefined) o = objectOf('config', inner.value, wrapper);
  }
  const configVersion = counterField('config', o, ['configVersion', 'config_version', 'cfgVersion'], ESP32_MAX_COUNTER, 'INVALID_VERSION');
  if (configVersion === undefined) throw invalid('config', 'configVersion', `is missing: every configuration carries its version (an integer 0–${ESP32_MAX_COUNTER} that only grows)`, 'INVALID_VERSION');
  const out: { -readonly [K in keyof Esp32Config]: Esp32Config[K] } = { configVersion };
  for (const i of INTERVALS) {
    const ms = interval('config', o, i);
    if (ms !== undefined) out[`${i}IntervalMs`] = ms;
  }
  return out;
}

const COMMAND_NAMES = new Map<string, string>(ESP32_COMMANDS.map((c) => [enumKey(c), c]));

/**
 * Parses a command: `commandId` (or `id`, `cmdId`, `command_id`; strict), `name` (or `command`,
 * `cmd`, `action`; the lab's ten commands in any case, with `-` or `_`, or by index), `params` (or
 * `parameters`, `args`; default `{}`), `issuedAt` (or `ts`; `timestamp` in seconds), `expiresAt` or
 * `ttlS` (seconds after `issuedAt`).
 *
 * @throws FleetError `INVALID_NAME` for a missing or invalid command id, `INVALID_PAYLOAD` for another field.
 */
export function parseEsp32Command(value: unknown, options?: Esp32ParseOptions): CommandRequestMessage {
  const opts = optionsOf(options);
  const o = objectOf('command', value);
  checkDevice('command', o, opts);
  const commandId = messageId('command', o, ['commandId', 'id', 'cmdId', 'command_id', 'requestId'], opts.commandId);
  const found = pick(o, ['name', 'command', 'cmd', 'action']);
  let name: string | undefined;
  if (found !== undefined) {
    if (typeof found.value === 'string' && found.value.length >= 1 && found.value.length <= 128) name = COMMAND_NAMES.get(enumKey(found.value)) ?? found.value;
    else if (typeof found.value === 'number' && Number.isInteger(found.value) && found.value >= 0 && found.value < ESP32_COMMANDS.length) name = ESP32_COMMANDS[found.value];
    else throw invalid('command', found.name, `must be the command name (1–128 characters) or the index of one of ${ESP32_COMMANDS.join(', ')}, got ${describeValue(found.value).slice(0, 80)}`);
  }
  if (name === undefined) throw invalid('command', 'name', `is missing: send the command name, e.g. "reboot"`);
  const p = pick(o, ['params', 'parameters', 'args']);
  const params = p === undefined ? {} : jsonObjectField('command', p.value, p.name);
  const issuedAt = timeField('command', o, opts.receivedAt, ['issuedAt', 'issued_at', 'ts'], ['timestamp']);
  let expiresAt = numberField('command', o, ['expiresAt', 'expires_at'], { min: 0, max: Number.MAX_SAFE_INTEGER, integer: true });
  if (expiresAt === undefined) {
    const ttl = numberField('command', o, ['ttlS', 'ttl'], { min: 0, max: 31_536_000 });
    if (ttl !== undefined) expiresAt = issuedAt + Math.round(ttl * 1000);
  }
  return { commandId, name, params, issuedAt, ...(expiresAt === undefined ? {} : { expiresAt }) };
}

const ACK_NAMES = 'received, executing, succeeded, failed, rejected (or the lab spellings RECEIVED, SUCCESS, FAILED, …)';

/**
 * Parses a command acknowledgement: `commandId` (strict, as for commands), `status` as a name in
 * any of the lab spellings or an index (0 `received` … 4 `rejected`), or `success: true|false`;
 * `ts`; `result`; `error` as `{ code, message }` or a string (code `DEVICE_ERROR`).
 *
 * @throws FleetError `INVALID_NAME` for a missing or invalid command id, `INVALID_PAYLOAD` for another field.
 */
export function parseEsp32Ack(value: unknown, options?: Esp32ParseOptions): CommandAckMessage {
  const opts = optionsOf(options);
  const o = objectOf('ack', value);
  checkDevice('ack', o, opts);
  const commandId = messageId('ack', o, ['commandId', 'id', 'cmdId', 'command_id', 'requestId'], opts.commandId);
  let status = enumField('ack', o, ['status', 'state', 'ack'], ACK_SPELLINGS, ACK_BY_INDEX, enumKey, ACK_NAMES);
  if (status === undefined) {
    const ok = pick(o, ['success', 'ok']);
    if (ok !== undefined && typeof ok.value === 'boolean') status = ok.value ? 'succeeded' : 'failed';
    else if (ok !== undefined) throw invalid('ack', ok.name, `must be true or false, got ${describeValue(ok.value).slice(0, 80)}`);
  }
  if (status === undefined) throw invalid('ack', 'status', `is missing: send one of ${ACK_NAMES}`);
  const ts = timeField('ack', o, opts.receivedAt);
  // `result` may be null (a JSON value like any other): read it by presence, not with pick.
  const resultName = ['result', 'data', 'output'].find((n) => Object.prototype.hasOwnProperty.call(o, n) && o[n] !== undefined);
  const result = resultName === undefined ? undefined : jsonValueField('ack', o[resultName], resultName);
  const e = pick(o, ['error', 'err']);
  let error: { code: string; message: string } | undefined;
  if (e !== undefined) {
    if (typeof e.value === 'string') error = { code: 'DEVICE_ERROR', message: e.value.slice(0, 1024) };
    else {
      const eo = objectOf('ack', e.value, e.name);
      const code = stringField('ack', eo, ['code'], 64) ?? 'DEVICE_ERROR';
      const message = pick(eo, ['message', 'msg']);
      if (message !== undefined && typeof message.value !== 'string') throw invalid('ack', `${e.name}.${message.name}`, 'must be a string');
      error = { code, message: message === undefined ? '' : (message.value as string).slice(0, 1024) };
    }
  } else {
    const m = pick(o, ['message', 'reason']);
    if (m !== undefined && typeof m.value === 'string' && (status === 'failed' || status === 'rejected')) error = { code: 'DEVICE_ERROR', message: m.value.slice(0, 1024) };
  }
  return { commandId, status, ts, ...(result === undefined ? {} : { result }), ...(error === undefined ? {} : { error }) };
}

const PARSERS: { readonly [K in Esp32Kind]: (value: unknown, options?: Esp32ParseOptions) => Esp32Values[K] } = {
  heartbeat: parseEsp32Heartbeat,
  telemetry: parseEsp32Telemetry,
  health: parseEsp32Health,
  shadow: parseEsp32Shadow,
  config: parseEsp32Config,
  command: parseEsp32Command,
  ack: parseEsp32Ack,
};

/** Every kind of ESP32 message. */
export const ESP32_KINDS: readonly Esp32Kind[] = Object.keys(PARSERS) as Esp32Kind[];

function kindOf(fn: string, kind: unknown): Esp32Kind {
  if (typeof kind === 'string' && Object.prototype.hasOwnProperty.call(PARSERS, kind)) return kind as Esp32Kind;
  throw new FleetError('INVALID_ARGUMENT', `${fn}: kind must be one of ${ESP32_KINDS.join(', ')}, got ${describeValue(kind)}`, { status: 400 });
}

/**
 * Parses a decoded ESP32 message of `kind` into the SDK's value.
 *
 * @throws FleetError only: `INVALID_PAYLOAD`, `INVALID_NAME`, `INVALID_VERSION`, `FORBIDDEN`
 *   (see the per-kind parsers), `INVALID_ARGUMENT` for an unknown kind or bad options.
 * @example
 * ```ts
 * parseEsp32('heartbeat', { ts: 1764105600000, seq: 7, rssi: -61, battery: 88, state: 2 });
 * // { ts: 1764105600000, seq: 7, rssiDbm: -61, batteryPct: 88, state: 'active' }
 * ```
 */
export function parseEsp32<K extends Esp32Kind>(kind: K, value: unknown, options?: Esp32ParseOptions): Esp32Values[K] {
  return PARSERS[kindOf('parseEsp32', kind)](value, options) as Esp32Values[K];
}

/** {@link parseEsp32} returning a {@link Result} instead of throwing. */
export function safeParseEsp32<K extends Esp32Kind>(kind: K, value: unknown, options?: Esp32ParseOptions): Result<Esp32Values[K]> {
  try {
    return { ok: true, value: parseEsp32(kind, value, options) };
  } catch (error) {
    if (isFleetError(error)) return { ok: false, error };
    throw error;
  }
}

// ── builders ────────────────────────────────────────────────────────────────────────────────

function known(field: string, mapped: string | undefined, value: unknown): string {
  if (mapped === undefined) throw new FleetError('INVALID_ARGUMENT', `${field} ${describeValue(value)} is not in the core's vocabulary`, { status: 400 });
  return mapped;
}

function put(out: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value !== undefined) out[key] = value;
}

const BUILDERS: { readonly [K in Esp32Kind]: (value: Esp32Values[K]) => JsonObject } = {
  heartbeat: (v) => {
    const out: JsonObject = { ts: v.ts, seq: v.seq };
    put(out, 'uptimeS', v.uptimeS);
    put(out, 'firmwareVersion', v.firmwareVersion);
    put(out, 'rssiDbm', v.rssiDbm);
    put(out, 'batteryPct', v.batteryPct);
    put(out, 'freeHeapBytes', v.freeHeapBytes);
    if (v.state !== undefined) out['state'] = known('state', coreStateToEsp32(v.state), v.state);
    if (v.health !== undefined) out['health'] = known('health', coreHealthToEsp32(v.health), v.health);
    return out;
  },
  telemetry: (v) => {
    const out: JsonObject = { ts: v.ts };
    put(out, 'seq', v.seq);
    out['values'] = v.values;
    return out;
  },
  health: (v) => {
    const values: JsonObject = { health: known('status', coreHealthToEsp32(v.status), v.status) };
    put(values, 'batteryPct', v.batteryPct);
    put(values, 'rssiDbm', v.rssiDbm);
    put(values, 'freeHeapBytes', v.freeHeapBytes);
    return { ts: v.at, values };
  },
  shadow: (v) => {
    const out: JsonObject = { state: { reported: v.state?.reported ?? null } };
    put(out, 'clientToken', v.clientToken);
    put(out, 'version', v.version);
    return out;
  },
  config: (v) => {
    const out: JsonObject = { configVersion: v.configVersion };
    for (const i of INTERVALS) put(out, `${i}IntervalMs`, v[`${i}IntervalMs`]);
    return out;
  },
  command: (v) => {
    const out: JsonObject = { commandId: v.commandId, name: v.name, params: v.params, issuedAt: v.issuedAt };
    put(out, 'expiresAt', v.expiresAt);
    return out;
  },
  ack: (v) => {
    const out: JsonObject = { commandId: v.commandId, status: v.status, ts: v.ts };
    put(out, 'result', v.result as JsonValue | undefined);
    if (v.error !== undefined) out['error'] = { code: v.error.code, message: v.error.message };
    return out;
  },
};

/**
 * Builds the canonical ESP32 wire form (a JSON object, to encode with `jsonCodec` or `cborCodec`)
 * of an SDK value. The builders write the fields in the order docs/esp32-protocol.md lists them,
 * so the JSON text is the same bytes the example firmware writes.
 *
 * @throws FleetError (any code {@link parseEsp32} throws) when `value` is not a valid value of
 *   `kind`: a builder checks its output with the parser, so it never emits what a device would refuse.
 * @example
 * ```ts
 * buildEsp32('ack', { commandId: 'c-1', status: 'succeeded', ts: 1764105600000 });
 * // { commandId: 'c-1', status: 'succeeded', ts: 1764105600000 }
 * ```
 */
export function buildEsp32<K extends Esp32Kind>(kind: K, value: Esp32Values[K]): JsonObject {
  const k = kindOf('buildEsp32', kind);
  if (typeof value !== 'object' || value === null) {
    throw new FleetError('INVALID_ARGUMENT', `buildEsp32: value must be the SDK's ${k} value (an object), got ${describeValue(value)}`, { status: 400 });
  }
  let out: JsonObject;
  try {
    out = (BUILDERS[k] as (v: unknown) => JsonObject)(value);
  } catch (cause) {
    throw new FleetError('INVALID_ARGUMENT', `buildEsp32: value is not a valid ${k} value: ${cause instanceof Error ? cause.message : describeValue(cause)}`, { status: 400, cause });
  }
  const back = PARSERS[k](out);
  const diff = firstDifference(back, value, '');
  if (diff !== undefined) {
    throw new FleetError('INVALID_ARGUMENT', `buildEsp32: value is not a valid ${k} value: at "${diff || '(root)'}" it does not survive the wire (the device would read ${describeValue(at(back, diff)).slice(0, 80)}); pass the SDK's vocabulary and ranges`, {
      status: 400,
      details: { kind: k, path: diff },
    });
  }
  return out;
}

function at(value: unknown, path: string): unknown {
  let v = value;
  for (const step of path.split('.').filter((s) => s !== '')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[step] : undefined;
  return v;
}

/** The first path where `a` and `b` differ as JSON values (an undefined member counts as absent), or undefined. */
function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (Object.is(a, b)) return undefined;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return path;
    for (let i = 0; i < a.length; i++) {
      const d = firstDifference(a[i], bb[i], `${path}.${i}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const key of keys) {
    const d = firstDifference(ao[key], bo[key], path === '' ? key : `${path}.${key}`);
    if (d !== undefined) return d;
  }
  return undefined;
}

/**
 * The core's `HealthSample` of a health report, for `evaluateHealth`.
 *
 * @throws FleetError `INVALID_ARGUMENT` when `value` is not a valid health report value.
 */
export function esp32HealthSample(value: Esp32HealthValue): HealthSample {
  buildEsp32('health', value); // validates
  return {
    at: value.at,
    ...(value.batteryPct === undefined ? {} : { batteryPct: value.batteryPct }),
    ...(value.rssiDbm === undefined ? {} : { rssiDbm: value.rssiDbm }),
    ...(value.freeHeapBytes === undefined ? {} : { freeHeapBytes: value.freeHeapBytes }),
  };
}

/** What a device does with a configuration, given the version it runs. */
export type Esp32ConfigDecision = 'apply' | 'duplicate' | 'stale';

/**
 * The monotonic-version rule: a configuration is applied only when its `configVersion` is greater
 * than the running one (`undefined`: none yet); the same version is a duplicate, an older one stale.
 * Neither is applied, and neither is an error (a retained or replayed message).
 *
 * @throws FleetError `INVALID_VERSION` when `runningVersion` is not a counter (0 … {@link ESP32_MAX_COUNTER}).
 */
export function decideEsp32Config(runningVersion: number | undefined, incoming: Esp32Config): Esp32ConfigDecision {
  if (runningVersion !== undefined && (!Number.isInteger(runningVersion) || runningVersion < 0 || runningVersion > ESP32_MAX_COUNTER)) {
    throw invalid('config', 'configVersion', `the running version must be an integer 0–${ESP32_MAX_COUNTER}, got ${describeValue(runningVersion)}`, 'INVALID_VERSION');
  }
  const v = incoming?.configVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > ESP32_MAX_COUNTER) {
    throw invalid('config', 'configVersion', `must be an integer 0–${ESP32_MAX_COUNTER}, got ${describeValue(v)}`, 'INVALID_VERSION');
  }
  if (runningVersion === undefined || v > runningVersion) return 'apply';
  return v === runningVersion ? 'duplicate' : 'stale';
}

export type { Esp32HealthStatus, Esp32LifecycleState };
