import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  commandAckSchema,
  commandRequestSchema,
  fleetMessageSchemas,
  jobDocumentWireSchema,
  jsonCodec,
  parseMessage,
  provisioningResponseSchema,
  shadowErrorResponseSchema,
  shadowUpdateRequestSchema,
  telemetryMessageSchema,
} from '../../src/protocol/index.js';

describe('wire schemas', () => {
  it('accept well-formed messages and survive an encode/decode round trip (property)', () => {
    const telemetry = fc.record({
      ts: fc.nat(),
      seq: fc.nat(),
      values: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string())),
    });
    fc.assert(
      fc.property(telemetry, (msg) => {
        const normal = JSON.parse(JSON.stringify(msg)) as unknown;
        expect(parseMessage(telemetryMessageSchema, jsonCodec.decode(jsonCodec.encode(msg)))).toEqual(normal);
      }),
      { numRuns: 300 },
    );
  });

  it('reject malformed messages with INVALID_PAYLOAD and the zod issues', () => {
    const cases: [unknown, unknown][] = [
      [telemetryMessageSchema, { ts: -1, values: {} }],
      [telemetryMessageSchema, { ts: 1 }],
      [commandRequestSchema, { commandId: 'a/b', name: 'reboot', issuedAt: 1 }],
      [commandAckSchema, { commandId: 'c1', status: 'done', ts: 1 }],
      [jobDocumentWireSchema, { jobId: 'j1', rolloutId: 'r1', executionVersion: 1, status: 'dispatched', operation: 'ota', issuedAt: 1, firmware: { version: '1', url: 'nope', sha256: 'x', sizeBytes: 1 } }],
      [provisioningResponseSchema, { ok: true, nonce: '12345678' }],
      [shadowUpdateRequestSchema, { clientToken: 'x'.repeat(65), state: {} }],
      [shadowUpdateRequestSchema, { state: { desired: [] } }],
      [shadowErrorResponseSchema, { code: 200, message: 'ok', timestamp: 1 }],
    ];
    for (const [schema, value] of cases) {
      let thrown: unknown;
      try {
        parseMessage(schema as typeof telemetryMessageSchema, value);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toMatchObject({ code: 'INVALID_PAYLOAD', status: 400 });
      expect((thrown as { details: { issues: unknown[] } }).details.issues.length).toBeGreaterThan(0);
    }
  });

  it('have one schema per fleetkit topic kind', () => {
    expect(Object.keys(fleetMessageSchemas).sort()).toEqual(
      ['command', 'command-ack', 'heartbeat', 'job', 'job-next', 'job-none', 'job-status', 'provisioning-request', 'provisioning-response', 'telemetry'].sort(),
    );
    expect(parseMessage(shadowUpdateRequestSchema, { state: null, clientToken: 'abc', version: 3 })).toEqual({ state: null, clientToken: 'abc', version: 3 });
    expect(parseMessage(shadowUpdateRequestSchema, { state: { desired: { a: 1 }, reported: null } })).toEqual({ state: { desired: { a: 1 }, reported: null } });
  });
});
