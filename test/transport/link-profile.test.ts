import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import {
  decodeBatch,
  encodeBatch,
  ethernet,
  lora,
  loraMaxPayload,
  loraTimeOnAirMs,
  MemoryBroker,
  MemoryTransport,
  nbiot,
  wifi,
  withLinkProfile,
  type InboundMessage,
  type Transport,
} from '../../src/memory.js';

import { expectFleetError, hostileValues } from '../support/hostile.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

async function setup(clock = new SimulatedClock(0)) {
  const broker = new MemoryBroker({ clock });
  const device = new MemoryTransport({ broker, clientId: 'device', clock });
  const cloud = new MemoryTransport({ broker, clientId: 'cloud', clock });
  const got: InboundMessage[] = [];
  await cloud.connect();
  await cloud.subscribe('#', (m) => got.push(m), { qos: 1 });
  return { broker, device, cloud, got, clock };
}

describe('LoRa airtime arithmetic', () => {
  it('matches the Semtech calculator on known points', () => {
    expect(loraTimeOnAirMs(51, 0)).toBeCloseTo(2793.5, 0); // SF12/125 kHz
    expect(loraTimeOnAirMs(51, 5)).toBeCloseTo(118.0, 0); // SF7/125 kHz
    expect(loraMaxPayload(0)).toBe(51);
    expect(loraMaxPayload(3)).toBe(115);
    expect(loraMaxPayload(5)).toBe(222);
  });

  it('grows with the payload and shrinks with the data rate (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 221 }), fc.integer({ min: 0, max: 4 }), (n, dr) => {
        const rate = dr as 0 | 1 | 2 | 3 | 4;
        expect(loraTimeOnAirMs(n + 1, rate)).toBeGreaterThanOrEqual(loraTimeOnAirMs(n, rate));
        expect(loraTimeOnAirMs(n, (rate + 1) as 1)).toBeLessThan(loraTimeOnAirMs(n, rate));
      }),
    );
  });
});

describe('withLinkProfile', () => {
  it('lora: refuses a payload over the data rate cap with a clear PAYLOAD_TOO_LARGE', async () => {
    const { device } = await setup();
    const link = withLinkProfile(device, lora());
    await link.connect();
    await expect(link.publish('dt/a/d/telemetry', new Uint8Array(52))).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413, details: { maxBytes: 51, size: 52 } });
    await expect(link.publish('dt/a/d/telemetry', new Uint8Array(51))).resolves.toBeUndefined();
    const fast = withLinkProfile(device, lora({ dataRate: 5 }));
    await expect(fast.publish('dt/a/d/telemetry', new Uint8Array(200))).resolves.toBeUndefined();
  });

  it('lora: sends confirmed (QoS 1) only for critical messages', async () => {
    const { device, got } = await setup();
    const link = withLinkProfile(device, lora({ dataRate: 5 }));
    await link.connect();
    await link.publish('dt/a/d/telemetry', 'n', { qos: 1 });
    await link.publish('dt/a/d/telemetry', 'c', { critical: true });
    await flush();
    expect(got.map((m) => [new TextDecoder().decode(m.payload), m.qos])).toEqual([
      ['n', 0],
      ['c', 1],
    ]);
  });

  it('lora: spends a duty-cycle budget and refuses with TOO_MANY_REQUESTS until it refills', async () => {
    const clock = new SimulatedClock(0);
    const { device } = await setup(clock);
    const link = withLinkProfile(device, lora({ dataRate: 0, dutyCycle: 0.01, windowMs: 3_600_000, clock }));
    await link.connect();
    const airtime = loraTimeOnAirMs(51, 0);
    const fits = Math.floor(36_000 / airtime);
    for (let i = 0; i < fits; i++) await link.publish('dt/a/d/telemetry', new Uint8Array(51));
    const refused = await link.publish('dt/a/d/telemetry', new Uint8Array(51)).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'TOO_MANY_REQUESTS', status: 429 });
    const retryAfterMs = (refused as { details: { retryAfterMs: number } }).details.retryAfterMs;
    clock.advance(retryAfterMs);
    await expect(link.publish('dt/a/d/telemetry', new Uint8Array(51))).resolves.toBeUndefined();
  });

  it('nbiot: batches up to maxBatch messages per topic into one publish that subscribers unpack', async () => {
    const { device, cloud, broker } = await setup();
    const link = withLinkProfile(device, nbiot({ maxBatch: 5, maxDelayMs: 1000 }));
    const view = withLinkProfile(cloud, nbiot());
    const unpacked: string[] = [];
    await view.subscribe('dt/#', (m) => unpacked.push(new TextDecoder().decode(m.payload)));
    await link.connect();
    const before = broker.stats.published;
    await Promise.all(Array.from({ length: 10 }, (_, i) => link.publish('dt/a/d/telemetry', String(i), { qos: 1 })));
    await flush();
    expect(broker.stats.published - before).toBe(2);
    expect(unpacked).toEqual(Array.from({ length: 10 }, (_, i) => String(i)));
  });

  it('nbiot: flushes a partial batch after maxDelayMs and on close', async () => {
    const clock = new SimulatedClock(0);
    const { device, got } = await setup(clock);
    const link = withLinkProfile(device, nbiot({ maxBatch: 100, maxDelayMs: 500, clock }));
    await link.connect();
    const first = link.publish('dt/a/d/telemetry', 'a');
    await flush();
    expect(got).toEqual([]);
    clock.advance(500);
    await first;
    await flush();
    expect(got.map((m) => decodeBatch(m.payload)?.length)).toEqual([1]);
    const last = link.publish('dt/a/d/heartbeat', 'b');
    await link.close();
    await last;
    await flush();
    expect(got.map((m) => [m.topic, decodeBatch(m.payload)?.map((p) => new TextDecoder().decode(p))])).toEqual([
      ['dt/a/d/telemetry', ['a']],
      ['dt/a/d/heartbeat', ['b']],
    ]);
  });

  it('nbiot and lora reject publishes on a closed transport at once, without waiting for a batch', async () => {
    const clock = new SimulatedClock(0);
    const { device } = await setup(clock);
    const batching = withLinkProfile(device, nbiot({ maxBatch: 100, maxDelayMs: 60_000, clock }));
    const radio = withLinkProfile(device, lora({ clock }));
    await device.connect();
    await device.close();
    // The clock never advances: a publish parked in a batch would never settle.
    await expect(batching.publish('dt/a/d/telemetry', 'x')).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
    await expect(radio.publish('dt/a/d/telemetry', 'x')).rejects.toMatchObject({ code: 'TRANSPORT_CLOSED' });
  });

  it('wifi and ethernet publish with QoS 1 unless told otherwise', async () => {
    const { device, got } = await setup();
    for (const profile of [wifi(), ethernet()]) {
      const link: Transport = withLinkProfile(device, profile);
      await link.connect();
      await link.publish('x/1', 'a');
      await link.publish('x/0', 'b', { qos: 0 });
    }
    await flush();
    expect(got.map((m) => m.qos)).toEqual([1, 0, 1, 0]);
  });

  it('batch frames round-trip and anything else is not a batch (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 10 }), fc.uint8Array({ maxLength: 60 }), (parts, junk) => {
        expect(decodeBatch(encodeBatch(parts))?.map((p) => Array.from(p))).toEqual(parts.map((p) => Array.from(p)));
        const frame = encodeBatch(parts);
        expect(decodeBatch(frame.subarray(0, frame.length - 1))).toBeUndefined();
        if (junk[0] !== 0) expect(decodeBatch(junk)).toBeUndefined();
      }),
    );
  });

  it('rejects bad profiles and options', () => {
    expect(() => lora({ dataRate: 9 as 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => lora({ maxPayloadBytes: 100 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => nbiot({ maxBatch: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const broker = new MemoryBroker();
    expect(() => withLinkProfile(new MemoryTransport({ broker, clientId: 'x' }), { kind: 'satellite' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => withLinkProfile(undefined as unknown as Transport, wifi())).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('lora() and nbiot() refuse options that are not an object, and a clock that is not a Clock', () => {
    for (const bad of [null, 5, 'dr0', [] as unknown]) {
      expectFleetError(() => lora(bad as never), 'INVALID_ARGUMENT', 'lora(options): options must be an object such as { dataRate');
      expectFleetError(() => nbiot(bad as never), 'INVALID_ARGUMENT', 'nbiot(options): options must be an object such as { maxBatch');
    }
    for (const clock of [5, {}, { now: () => 0 }, null]) {
      expectFleetError(() => lora({ clock: clock as never }), 'INVALID_ARGUMENT', 'lora: clock must be a Clock');
      expectFleetError(() => nbiot({ clock: clock as never }), 'INVALID_ARGUMENT', 'nbiot: clock must be a Clock');
    }
    expect(lora(undefined).maxPayloadBytes).toBe(51);
    expect(nbiot(undefined).maxBatch).toBe(10);
  });

  it('describes a BigInt, Symbol or object data rate, size or option without calling its conversion hooks', () => {
    for (const { value, shown } of hostileValues()) {
      expectFleetError(() => loraMaxPayload(value as 0), 'INVALID_ARGUMENT', 'LoRa data rate', `got ${shown}`);
      expectFleetError(() => loraTimeOnAirMs(10, value as 0), 'INVALID_ARGUMENT', 'LoRa data rate', `got ${shown}`);
      expectFleetError(() => loraTimeOnAirMs(value as number, 0), 'INVALID_ARGUMENT', 'loraTimeOnAirMs: payloadBytes', `got ${shown}`);
      expectFleetError(() => lora({ dataRate: value as 0 }), 'INVALID_ARGUMENT', 'LoRa data rate', `got ${shown}`);
      for (const name of ['maxPayloadBytes', 'dutyCycle', 'windowMs']) expectFleetError(() => lora({ [name]: value }), 'INVALID_ARGUMENT', `lora: ${name}`, `got ${shown}`);
      for (const name of ['maxBatch', 'maxDelayMs', 'maxBatchBytes']) expectFleetError(() => nbiot({ [name]: value }), 'INVALID_ARGUMENT', `nbiot: ${name}`, `got ${shown}`);
    }
  });

  it('withLinkProfile checks a hand-made profile as lora()/nbiot() would, and describes an unknown one without calling its hooks', async () => {
    const clock = new SimulatedClock(0);
    const { device } = await setup(clock);
    // A profile built by hand (or deserialised) gets the factory's checks and defaults, not a TypeError later.
    expect(() => withLinkProfile(device, { kind: 'lora' } as never)).not.toThrow();
    expect(() => withLinkProfile(device, { kind: 'nbiot', clock } as never)).not.toThrow();
    expectFleetError(() => withLinkProfile(device, { kind: 'lora', dataRate: 9 } as never), 'INVALID_ARGUMENT', 'LoRa data rate', 'got 9');
    expectFleetError(() => withLinkProfile(device, { kind: 'nbiot', clock: 5 } as never), 'INVALID_ARGUMENT', 'nbiot: clock must be a Clock');
    for (const { value, shown } of hostileValues()) expectFleetError(() => withLinkProfile(device, value as never), 'INVALID_ARGUMENT', 'withLinkProfile: unknown profile', shown);
  });

  it('encodeBatch and decodeBatch refuse arguments that are not (arrays of) Uint8Array', () => {
    for (const { value, shown } of hostileValues()) {
      expectFleetError(() => encodeBatch(value as never), 'INVALID_ARGUMENT', 'encodeBatch(payloads): payloads must be an array of Uint8Array', `got ${shown}`);
      expectFleetError(() => encodeBatch([new Uint8Array(1), value as Uint8Array]), 'INVALID_ARGUMENT', 'encodeBatch(payloads): payloads[1] must be a Uint8Array', `got ${shown}`);
      expectFleetError(() => decodeBatch(value as Uint8Array), 'INVALID_ARGUMENT', 'decodeBatch(frame): frame must be a Uint8Array', `got ${shown}`);
    }
    expectFleetError(() => encodeBatch(undefined as never), 'INVALID_ARGUMENT', 'got undefined');
    expectFleetError(() => encodeBatch(['text'] as never), 'INVALID_ARGUMENT', 'payloads[0] must be a Uint8Array', 'got "text"');
    expectFleetError(() => decodeBatch(null as never), 'INVALID_ARGUMENT', 'got null');
    expectFleetError(() => encodeBatch([]), 'INVALID_ARGUMENT', '1–65535 payloads');
  });

  it('rejects a bad QoS under every profile, as the transports do', async () => {
    const clock = new SimulatedClock(0);
    const { device, broker } = await setup(clock);
    await device.connect();
    for (const profile of [nbiot({ clock }), lora({ clock }), wifi()]) {
      const link = withLinkProfile(device, profile);
      await expect(link.publish('dt/a/d/telemetry', 'x', { qos: 2 as 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    clock.advance(60_000);
    await flush();
    expect(broker.stats.published).toBe(0);
  });
});
