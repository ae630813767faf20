// Laws of the ESP32 adapter: build → parse is the identity on SDK values, JSON and CBOR give the
// same result, parse is total (nothing but FleetError on any input) and canonicalising is idempotent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cborCodec } from '../../src/cbor.js';
import {
  buildEsp32,
  decideEsp32Config,
  decodeEsp32Payload,
  encodeEsp32,
  enumKey,
  ESP32_RECOMMENDED_BUFFER_BYTES,
  mqttPublishPacketBytes,
  PUBSUBCLIENT_DEFAULT_BUFFER_BYTES,
  ESP32_COMMANDS,
  ESP32_KINDS,
  ESP32_MAX_COUNTER,
  parseEsp32,
  type Esp32Kind,
} from '../../src/device/esp32/index.js';
import { isFleetError } from '../../src/errors.js';
import type { JsonObject, JsonValue } from '../../src/json.js';
import { LIFECYCLE_STATES } from '../../src/lifecycle/states.js';
import { COMMAND_ACK_STATUSES } from '../../src/protocol/command-wire.js';
import { jsonCodec } from '../../src/protocol/codec.js';
import { commandAckWireSchema, commandRequestWireSchema } from '../../src/protocol/command-wire.js';
import { heartbeatMessageSchema, shadowUpdateRequestSchema, telemetryMessageSchema } from '../../src/protocol/schemas.js';
import { healthSampleSchema } from '../../src/lifecycle/health.js';
import { esp32HealthSample } from '../../src/device/esp32/index.js';
import type { z } from 'zod';

const noNegZero = (x: number): number => (Object.is(x, -0) ? 0 : x);
const json = (v: unknown): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue; // -0 → 0
// A JSON value without the keys every decoder refuses (they could reach a prototype).
const noForbiddenKey = (v: unknown): boolean => !/"(__proto__|constructor|prototype)":/.test(JSON.stringify(v));
const ms = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const counter = fc.nat({ max: ESP32_MAX_COUNTER });
const real = (min: number, max: number): fc.Arbitrary<number> => fc.double({ min, max, noNaN: true }).map(noNegZero);
const idChars = fc.constantFrom(...'abcXYZ019:_-'.split(''));
const id = (max: number): fc.Arbitrary<string> => fc.string({ unit: idChars, minLength: 1, maxLength: max });
const interval = fc.integer({ min: 1000, max: 86_400_000 });
const health = fc.constantFrom('good', 'warning', 'critical' as const);

// Every key the adapter reads or renames: application keys in generated documents avoid them.
const RESERVED = new Set([
  ...['batteryPct', 'battery', 'bat', 'battery_pct', 'batteryLevel', 'rssiDbm', 'rssi', 'wifiRssi', 'rssi_dbm', 'freeHeapBytes', 'freeHeap', 'heap', 'free_heap', 'heapFree'],
  ...['state', 'lifecycle', 'lifecycleState', 'lifecycle_state', 'health', 'healthStatus', 'health_status', 'firmwareVersion', 'fw', 'fwVersion', 'firmware', 'firmware_version', 'configVersion', 'config_version'],
  ...['telemetry', 'heartbeat', 'healthCheck', 'shadowSync', 'configCheck'].flatMap((k) => [`${k}IntervalMs`, `${k}Interval`]),
  ...['telemetry', 'heartbeat', 'health_check', 'shadow_sync', 'config_check'].flatMap((k) => [`${k}_interval_ms`, `${k}_interval`]),
  '__proto__', 'constructor', 'prototype',
]);
const appKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !RESERVED.has(k));
const appDoc = fc.dictionary(appKey, fc.jsonValue({ maxDepth: 2 }).map(json).filter(noForbiddenKey), { maxKeys: 4 });
// A shadow section holds no null inside an array (the shadow service's rule).
const holdsNull = (v: unknown): boolean => v === null || (typeof v === 'object' && Object.values(v as object).some(holdsNull));
const noNullInArray = (v: unknown): boolean => (Array.isArray(v) ? !v.some(holdsNull) : typeof v === 'object' && v !== null ? Object.values(v).every(noNullInArray) : true);
const shadowDoc = appDoc.filter(noNullInArray);
const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const vitals = fc.record({ batteryPct: opt(real(0, 100)), rssiDbm: opt(real(-200, 50)), freeHeapBytes: opt(fc.nat({ max: Number.MAX_SAFE_INTEGER })) });

// Typed loosely: `clean` drops the undefined members the generators draw.
const values: { readonly [K in Esp32Kind]: fc.Arbitrary<unknown> } = {
  heartbeat: fc
    .record({ ts: ms, seq: counter, uptimeS: opt(real(0, 1e12)), firmwareVersion: opt(fc.string({ minLength: 1, maxLength: 64 })), state: opt(fc.constantFrom(...LIFECYCLE_STATES)), health: opt(health) })
    .chain((h) => vitals.map((v) => clean({ ...h, ...v }))),
  telemetry: fc.record({ ts: ms, seq: opt(counter), app: appDoc, v: vitals }).map(({ ts, seq, app, v }) => clean({ ts, seq, values: { ...app, ...clean(v) } as JsonObject })),
  health: fc.record({ at: ms, status: health }).chain((h) => vitals.map((v) => clean({ ...h, ...v }))),
  shadow: fc
    .record({ state: opt(fc.constantFrom('UNPROVISIONED', 'ACTIVE', 'DECOMMISSIONED')), health: opt(fc.constantFrom('HEALTH_GOOD', 'HEALTH_CRITICAL')), firmwareVersion: opt(fc.string({ minLength: 1, maxLength: 64 })), configVersion: opt(counter), telemetryIntervalMs: opt(interval), app: shadowDoc, v: vitals, clientToken: opt(fc.string({ minLength: 1, maxLength: 64 }).filter((t) => new TextEncoder().encode(t).length <= 64)), version: opt(counter) })
    .map(({ app, v, clientToken, version, ...known }) => clean({ state: { reported: { ...app, ...clean(v), ...clean(known) } as JsonObject }, clientToken, version })),
  config: fc.record({ configVersion: counter, telemetryIntervalMs: opt(interval), heartbeatIntervalMs: opt(interval), healthCheckIntervalMs: opt(interval), shadowSyncIntervalMs: opt(interval), configCheckIntervalMs: opt(interval) }).map(clean),
  command: fc
    .record({
      commandId: id(64),
      // A name is canonical when it is one of the lab's, or not a spelling of one.
      name: fc.oneof(fc.constantFrom(...ESP32_COMMANDS), fc.string({ minLength: 1, maxLength: 128 }).filter((n) => !ESP32_COMMANDS.some((c) => enumKey(c) === enumKey(n)))),
      params: appDoc,
      issuedAt: ms,
      expiresAt: opt(ms),
    })
    .map(clean),
  ack: fc
    .record({
      commandId: id(64),
      status: fc.constantFrom(...COMMAND_ACK_STATUSES),
      ts: ms,
      result: opt(fc.jsonValue({ maxDepth: 2 }).map(json).filter(noForbiddenKey)),
      error: opt(fc.record({ code: fc.string({ minLength: 1, maxLength: 64 }), message: fc.string({ maxLength: 200 }) })),
    })
    .map(clean),
};

// What the cloud tier consumes: every parsed message is valid input for it.
const SDK_SCHEMAS: { readonly [K in Esp32Kind]: (value: unknown) => { success: boolean; error?: unknown } } = {
  heartbeat: (v) => heartbeatMessageSchema.safeParse(v),
  telemetry: (v) => telemetryMessageSchema.safeParse(v),
  health: (v) => healthSampleSchema.safeParse(esp32HealthSample(v as never)),
  shadow: (v) => shadowUpdateRequestSchema.safeParse(v),
  config: () => ({ success: true }),
  command: (v) => commandRequestWireSchema.safeParse(v),
  ack: (v) => commandAckWireSchema.safeParse(v),
};
const conforms = (kind: Esp32Kind, value: unknown): void => {
  const r = SDK_SCHEMAS[kind](value);
  expect(r.success, `${kind} ${JSON.stringify(value)}: ${JSON.stringify((r.error as z.ZodError | undefined)?.issues)}`).toBe(true);
};

const anyKindValue = fc.oneof(...ESP32_KINDS.map((kind) => values[kind].map((value) => ({ kind, value }) as { kind: Esp32Kind; value: unknown })));

describe('ESP32 adapter laws', () => {
  it('parse(build(v)) = v for every SDK value of every kind, and is what the cloud services accept', () => {
    fc.assert(
      fc.property(anyKindValue, ({ kind, value }) => {
        const wire = buildEsp32(kind, value as never);
        const parsed = parseEsp32(kind, wire);
        expect(parsed).toEqual(value);
        conforms(kind, parsed);
      }),
      { numRuns: 700 },
    );
  });

  it('JSON and CBOR bytes of a message parse to the same value', () => {
    fc.assert(
      fc.property(anyKindValue, ({ kind, value }) => {
        const wire = buildEsp32(kind, value as never);
        const fromJson = parseEsp32(kind, decodeEsp32Payload(jsonCodec.encode(wire), { cbor: cborCodec }));
        const fromCbor = parseEsp32(kind, decodeEsp32Payload(cborCodec.encode(wire), { cbor: cborCodec }));
        expect(fromCbor).toEqual(fromJson);
        expect(fromJson).toEqual(value);
      }),
      { numRuns: 400 },
    );
  });

  const kind = fc.constantFrom(...ESP32_KINDS);
  /** Parses, and checks the law that holds for what is accepted: canonicalising is idempotent. */
  const total = (k: Esp32Kind, input: unknown): void => {
    let value: unknown;
    try {
      value = parseEsp32(k, input, { receivedAt: 1 });
    } catch (e) {
      if (!isFleetError(e)) throw e;
      return;
    }
    conforms(k, value);
    const again = parseEsp32(k, buildEsp32(k, value as never));
    expect(again).toEqual(value);
  };

  it('parse is total: any value gives a value or a FleetError', () => {
    fc.assert(
      fc.property(kind, fc.anything({ withBoxedValues: true, withMap: true, withSet: true, withObjectString: true, withNullPrototype: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true }), (k, input) => total(k, input)),
      { numRuns: 1000 },
    );
  });

  it('parse is total on valid messages with one field replaced by anything', () => {
    const field = fc.constantFrom('ts', 'seq', 'values', 'state', 'health', 'status', 'commandId', 'name', 'params', 'issuedAt', 'configVersion', 'version', 'result', 'error', 'battery', 'rssi', 'uptime', 'reported', 'deviceId', 'telemetryInterval', 'success');
    fc.assert(
      fc.property(anyKindValue, field, fc.anything({ withNullPrototype: true, withBigInt: true }), ({ kind: k, value }, f, replacement) => {
        const built = buildEsp32(k, value as never);
        total(k, { ...built, [f]: replacement });
        if (k === 'shadow') total(k, { state: { reported: { ...(built['state'] as { reported: object }).reported, [f]: replacement } } });
      }),
      { numRuns: 1000 },
    );
  });

  it('decoding arbitrary bytes then parsing gives a value or a FleetError', () => {
    fc.assert(
      fc.property(kind, fc.uint8Array({ maxLength: 64 }), (k, bytes) => {
        try {
          total(k, decodeEsp32Payload(bytes, { cbor: cborCodec }));
        } catch (e) {
          if (!isFleetError(e)) throw e;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('configVersion is monotonic: the running version never decreases and each version is applied at most once', () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 20 }), { maxLength: 40 }), (versions) => {
        let running: number | undefined;
        const applied: number[] = [];
        for (const v of versions) {
          const decision = decideEsp32Config(running, { configVersion: v });
          expect(decision).toBe(running === undefined || v > running ? 'apply' : v === running ? 'duplicate' : 'stale');
          if (decision === 'apply') {
            applied.push(v);
            running = v;
          }
        }
        expect(applied).toEqual([...new Set(applied)].sort((a, b) => a - b));
      }),
    );
  });

  it('decideEsp32Config refuses a running version that is not a counter', () => {
    for (const bad of [-1, 1.5, ESP32_MAX_COUNTER + 1, Number.NaN]) {
      expect(() => decideEsp32Config(bad, { configVersion: 1 })).toThrow(expect.objectContaining({ code: 'INVALID_VERSION' }));
    }
  });

  it('buildEsp32 refuses values the device would refuse, with a FleetError', () => {
    const bad: [Esp32Kind, unknown][] = [
      ['heartbeat', { ts: -1, seq: 0 }],
      ['heartbeat', { ts: 1, seq: 0, state: 'sleeping' }],
      ['config', { configVersion: 1.5 }],
      ['command', { commandId: 'a/b', name: 'reboot', params: {}, issuedAt: 1 }],
      ['ack', { commandId: 'c', status: 'done', ts: 1 }],
      ['telemetry', null],
    ];
    for (const [k, v] of bad) expect(() => buildEsp32(k, v as never), `${k} ${JSON.stringify(v)}`).toThrow(expect.objectContaining({ name: 'FleetError' }));
  });
});

describe('ESP32 packet sizes', () => {
  // The longest ids the topic tree allows: tenant 64, device 128, command 64 characters.
  const tenant = 't'.repeat(64);
  const device = 'd'.repeat(128);
  const command = 'c'.repeat(64);
  const fits = (kind: Esp32Kind, topic: string, value: unknown): void => {
    const bytes = jsonCodec.encode(buildEsp32(kind, value as never));
    expect(mqttPublishPacketBytes(topic, bytes.byteLength, 1)).toBeLessThanOrEqual(ESP32_RECOMMENDED_BUFFER_BYTES);
  };

  it('heartbeats, health reports, configurations and acks without result or error fit the 1024-byte buffer at the longest ids', () => {
    fc.assert(
      fc.property(values.heartbeat, values.health, values.config, values.ack, (hb, health, config, ack) => {
        fits('heartbeat', `dt/${tenant}/${device}/heartbeat`, hb);
        fits('health', `dt/${tenant}/${device}/telemetry`, health);
        fits('config', `$aws/things/${device}/shadow/update/delta`, config);
        const { result: _r, error: _e, ...bare } = ack as { result?: unknown; error?: unknown };
        fits('ack', `cmd/${tenant}/${device}/res/${command}`, bare);
      }),
      { numRuns: 300 },
    );
  });

  it('encodeEsp32 refuses a message over the device buffer, counting the whole MQTT packet', () => {
    const msg = buildEsp32('telemetry', { ts: 1, values: { blob: 'x'.repeat(300) } });
    const topic = 'dt/acme/esp32-0001/telemetry';
    expect(() => encodeEsp32(msg, { topic, bufferBytes: PUBSUBCLIENT_DEFAULT_BUFFER_BYTES })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    const size = mqttPublishPacketBytes(topic, encodeEsp32(msg).byteLength, 1);
    expect(encodeEsp32(msg, { topic, bufferBytes: size }).byteLength).toBe(size - topic.length - 2 - 2 - 1 - 2);
    expect(() => encodeEsp32(msg, { topic, bufferBytes: size - 1 })).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    // MQTT's remaining-length field grows at 128 and 16384 bytes.
    expect(mqttPublishPacketBytes('t', 124, 0)).toBe(1 + 1 + 127);
    expect(mqttPublishPacketBytes('t', 125, 0)).toBe(1 + 2 + 128);
  });
});
