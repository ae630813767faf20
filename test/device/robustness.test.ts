// A compromised broker can put anything on the topics a device subscribes to. For every subscribed
// topic and any payload (random bytes, random JSON values) that is not a valid message of that
// topic: the agent emits an error event (on the topics it acts on), never throws or rejects, and
// its configuration and shadow version stay exactly as they were.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../src/clock.js';
import { DeviceAgent, type FleetError } from '../../src/device/index.js';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { commandRequestWireSchema } from '../../src/protocol/command-wire.js';
import { jobDocumentWireSchema, jobNoneMessageSchema } from '../../src/protocol/job-wire.js';
import { shadowAcceptedMessageSchema, shadowDeltaMessageSchema, shadowErrorResponseSchema } from '../../src/protocol/schemas.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

interface Target {
  readonly topic: string;
  /** The schema a message must fail for the law to expect an error event; undefined: a topic the agent ignores. */
  readonly schema: { safeParse(v: unknown): { success: boolean } } | undefined;
}

const TARGETS: readonly Target[] = [
  { topic: '$aws/things/dev-1/shadow/update/delta', schema: shadowDeltaMessageSchema },
  { topic: '$aws/things/dev-1/shadow/get/accepted', schema: shadowAcceptedMessageSchema },
  { topic: '$aws/things/dev-1/shadow/get/rejected', schema: shadowErrorResponseSchema },
  { topic: '$aws/things/dev-1/shadow/update/rejected', schema: shadowErrorResponseSchema },
  { topic: '$aws/things/dev-1/shadow/delete/rejected', schema: shadowErrorResponseSchema },
  { topic: '$aws/things/dev-1/shadow/update/accepted', schema: undefined },
  { topic: '$aws/things/dev-1/shadow/update/documents', schema: undefined },
  { topic: '$aws/things/dev-1/shadow/delete/accepted', schema: undefined },
  { topic: 'cmd/acme/dev-1/req/c-1', schema: commandRequestWireSchema },
  { topic: 'cmd/acme/dev-1/job/j-1', schema: jobDocumentWireSchema },
  { topic: 'cmd/acme/dev-1/jobs/none', schema: jobNoneMessageSchema },
];

const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.constantFrom('state', 'version', 'timestamp', 'code', 'message', 'commandId', 'name', 'params', 'issuedAt', '__proto__', 'constructor', 'desired', 'x'), fc.jsonValue()),
  fc.record({ state: fc.jsonValue(), version: fc.oneof(fc.integer(), fc.double(), fc.string()), timestamp: fc.jsonValue() }, { requiredKeys: [] }),
  fc.record({ state: fc.record({ desired: fc.jsonValue(), reported: fc.jsonValue() }, { requiredKeys: [] }), version: fc.jsonValue(), timestamp: fc.nat() }, { requiredKeys: [] }),
);
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes, decoded: undefined as unknown, json: false })),
  jsonish.map((v) => ({ bytes: new TextEncoder().encode(JSON.stringify(v)), decoded: JSON.parse(JSON.stringify(v)) as unknown, json: true })),
  fc.string().map((s) => ({ bytes: new TextEncoder().encode(s), decoded: undefined as unknown, json: false })),
);

function validFor(target: Target, p: { bytes: Uint8Array; json: boolean }): boolean {
  if (target.schema === undefined) return false;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(p.bytes));
  } catch {
    return false;
  }
  return target.schema.safeParse(value).success;
}

describe('hostile inbound messages', () => {
  const clock = new SimulatedClock(1_700_000_000_000);
  const broker = new MemoryBroker();
  const hostile = new MemoryTransport({ broker, clientId: 'compromised-broker', queue: { maxMessages: 100_000 } });
  const transport = new MemoryTransport({ broker, clientId: 'dev-1', clock, queue: { maxMessages: 100_000 } });
  const agent = new DeviceAgent({
    transport,
    clock,
    tenantId: 'acme',
    deviceId: 'dev-1',
    initialConfig: { rate: 1, mode: 'eco' },
    heartbeatIntervalMs: 0,
    telemetryIntervalMs: 0,
    jobs: { trustedSigningKeys: [generateKeyPairSync('ed25519').publicKey], fetchImage: () => Promise.resolve(new Uint8Array(16)) },
  });
  const errors: FleetError[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => void unhandled.push(e);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    agent.on('error', (e) => errors.push(e));
    await hostile.connect();
    await agent.start();
    await turn();
    // A real configuration first, at version 7.
    await hostile.publish('$aws/things/dev-1/shadow/update/delta', JSON.stringify({ state: { rate: 2 }, version: 7, timestamp: 1 }), { qos: 1 });
    for (let i = 0; i < 4; i++) await turn();
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await agent.stop();
    await hostile.close();
    await transport.close();
  });

  it('starts from a configuration applied at version 7', () => {
    expect(agent.config).toEqual({ rate: 2, mode: 'eco' });
    expect(agent.shadowVersion).toBe(7);
  });

  it('any invalid message on any subscribed topic: an error event where the agent acts on the topic, no throw, configuration and version unchanged (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...TARGETS), payload, async (target, p) => {
        fc.pre(!validFor(target, p));
        const config = agent.config;
        const version = agent.shadowVersion;
        const slots = agent.slots;
        const before = errors.length;
        await hostile.publish(target.topic, p.bytes, { qos: 1 });
        for (let i = 0; i < 3; i++) await turn();
        expect(agent.config).toEqual(config);
        expect(agent.shadowVersion).toBe(version);
        expect(agent.slots).toEqual(slots);
        expect(unhandled).toEqual([]);
        if (target.schema !== undefined) {
          expect(errors.length).toBe(before + 1);
          expect(typeof errors.at(-1)?.code).toBe('string');
        } else {
          expect(errors.length).toBe(before);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a command on another command id’s topic is refused and not run', async () => {
    let runs = 0;
    agent.handle('noop', () => void runs++);
    const before = errors.length;
    await hostile.publish('cmd/acme/dev-1/req/c-2', JSON.stringify({ commandId: 'c-3', name: 'noop', params: {}, issuedAt: 1 }), { qos: 1 });
    for (let i = 0; i < 3; i++) await turn();
    expect(runs).toBe(0);
    expect(errors.length).toBe(before + 1);
  });

  it('covers every subscribed topic kind of the corpus', () => {
    // The fixed corpus above names every response topic under the shadow filter the agent holds, its command filter and its job topics.
    const kinds = new Set(TARGETS.map((t) => t.topic.split('/').slice(-2).join('/')));
    expect(kinds).toEqual(new Set(['update/delta', 'get/accepted', 'get/rejected', 'update/rejected', 'delete/rejected', 'update/accepted', 'update/documents', 'delete/accepted', 'req/c-1', 'job/j-1', 'jobs/none']));
  });
});

describe('hostile provisioning answers', () => {
  it('anything but the answer to its own request is an error event; the device keeps waiting, provisions nothing, and times out on the clock (property)', async () => {
    const clock = new SimulatedClock(1_700_000_000_000);
    const broker = new MemoryBroker();
    const hostile = new MemoryTransport({ broker, clientId: 'compromised-broker' });
    const transport = new MemoryTransport({ broker, clientId: 'dev-9', clock });
    await hostile.connect();
    await transport.connect();
    const agent = new DeviceAgent({ transport, clock, tenantId: 'acme', deviceId: 'dev-9', provisioningTimeoutMs: 60_000, credentials: { method: 'symmetric-key', groupId: 'field', deviceKey: 'a2V5' } });
    const errors: FleetError[] = [];
    agent.on('error', (e) => errors.push(e));
    const outcome = agent.provision().then(
      () => 'provisioned',
      (e: { code?: string }) => e.code,
    );
    for (let i = 0; i < 3; i++) await turn();
    // A well-formed "accepted" that answers no request of this device is refused like garbage.
    const forged = fc.record({ type: fc.constant('accepted'), requestId: fc.constantFrom('p999-1', 'other'), deviceId: fc.constant('dev-9'), tenantId: fc.constant('acme'), topics: fc.constant({}), desired: fc.constant({ evil: true }) });
    await fc.assert(
      fc.asyncProperty(fc.oneof(payload, forged.map((v) => ({ bytes: new TextEncoder().encode(JSON.stringify(v)), decoded: v as unknown, json: true }))), async (p) => {
        const before = errors.length;
        await hostile.publish('cmd/acme/dev-9/prov/res', p.bytes, { qos: 1 });
        for (let i = 0; i < 3; i++) await turn();
        expect(errors.length).toBe(before + 1);
        expect(agent.provisioning).toBeUndefined();
        expect(agent.config).toEqual({});
      }),
      { numRuns: 100 },
    );
    clock.advance(60_000);
    expect(await outcome).toBe('TIMEOUT');
    await hostile.close();
    await transport.close();
  });
});
