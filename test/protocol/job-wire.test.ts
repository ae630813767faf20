import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  DEVICE_JOB_STATUSES,
  fleetMessageSchemas,
  firmwareSigningInput,
  jobDocumentWireSchema,
  jobExecutionStatusSchema,
  jobNextRequestSchema,
  jobNextTopic,
  jobNoneTopic,
  jobPhaseSchema,
  jobStatusUpdateSchema,
  jsonCodec,
  parseMessage,
  parseTopic,
  reportTypeOf,
  type ActiveJobDocument,
  type DeviceJobStatus,
  type JobExecutionStatus,
  type JobPhase,
} from '../../src/protocol/index.js';
import { createRolloutProgress, DEVICE_REPORT_TYPES, DEVICE_STATUSES, isTerminalStatus, planRollout, type DeviceReportType, type DeviceStatus, type InProgressPhase } from '../../src/rollout/index.js';

const SHA = 'ab'.repeat(32);
const doc: ActiveJobDocument = {
  jobId: 'fw-2',
  rolloutId: 'fw-2',
  executionVersion: 1,
  issuedAt: 1000,
  status: 'dispatched',
  operation: 'ota',
  intent: 'update',
  firmware: { version: '2.0.0', url: 'https://fw.example.com/2.bin', sizeBytes: 1024, sha256: SHA, signature: 'AAAA', signatureAlgorithm: 'ed25519', keyId: 'k1' },
  deadlines: { pickupBy: 2000, runMs: 3_600_000 },
  bootValidation: { windowMs: 300_000 },
};

describe('job wire: one status vocabulary with the tracker', () => {
  it('the execution status enum is exactly the tracker’s DeviceStatus, and the phase its InProgressPhase', () => {
    expectTypeOf<JobExecutionStatus>().toEqualTypeOf<DeviceStatus>();
    expectTypeOf<JobPhase>().toEqualTypeOf<InProgressPhase>();
    expectTypeOf<ReturnType<typeof reportTypeOf>>().toEqualTypeOf<DeviceReportType>();
    expectTypeOf<DeviceJobStatus>().toExtend<DeviceStatus>();
    expect(jobExecutionStatusSchema.options).toEqual([...DEVICE_STATUSES]);
    expect(jobPhaseSchema.options).toEqual(['installing', 'booting']);
  });

  it('every tracker report is reachable from exactly one device status (and phase)', () => {
    const updates = DEVICE_JOB_STATUSES.flatMap((status): { status: DeviceJobStatus; phase?: JobPhase }[] => (status === 'in_progress' ? (['installing', 'booting'] as const).map((phase) => ({ status, phase })) : [{ status }]));
    const reports = updates.map((u) => reportTypeOf(u));
    expect([...reports].sort()).toEqual([...DEVICE_REPORT_TYPES].sort());
    expect(new Set(reports).size).toBe(reports.length);
  });

  it('a device status lands the tracker in that same status (the words mean the same thing)', () => {
    const plan = planRollout({
      rolloutId: 'r',
      firmware: { version: '2', url: 'https://x.example/2', sha256: SHA, size: 1 },
      devices: DEVICE_JOB_STATUSES.map((_, i) => ({ id: `d${i}`, tenantId: 't', firmware: '1', state: 'active' })),
      stages: [{ percent: 100 }],
      abort: { failureRate: 0.99 },
    });
    const progress = createRolloutProgress(plan);
    const dispatch = progress.apply({ rolloutId: 'r', revision: progress.revision, now: 0, decision: 'wait', stage: 0, effects: { dispatch: plan.devices.map((d) => ({ deviceId: d.id, tenantId: 't', stage: 0 })), cancel: [], rollBack: [], expire: [] } });
    expect(dispatch.ok).toBe(true);
    DEVICE_JOB_STATUSES.forEach((status, i) => {
      const update = parseMessage(jobStatusUpdateSchema, { jobId: 'r', status, ...(status === 'in_progress' ? { phase: 'booting' } : {}), executionVersion: 1, ts: 1 });
      const r = progress.report({ deviceId: `d${i}`, type: reportTypeOf(update) }, 1);
      expect(r.ok).toBe(true);
      expect(progress.statusOf(`d${i}`)).toBe(status);
      if (status === 'in_progress') expect(progress.device(`d${i}`)?.phase).toBe('booting');
    });
    // The cloud-only statuses are never accepted from a device.
    for (const status of DEVICE_STATUSES.filter((s) => !(DEVICE_JOB_STATUSES as readonly string[]).includes(s))) {
      expect(jobStatusUpdateSchema.safeParse({ jobId: 'r', status, executionVersion: 1, ts: 1 }).success).toBe(false);
      expect(['pending', 'dispatched'].includes(status) || isTerminalStatus(status)).toBe(true);
    }
  });

  it('the old hyphenated words are refused', () => {
    for (const status of ['rolled-back', 'timed-out', 'in-progress', 'canceled', 'queued']) {
      expect(jobStatusUpdateSchema.safeParse({ jobId: 'j', status, executionVersion: 1, ts: 1 }).success).toBe(false);
    }
  });
});

describe('job wire: messages', () => {
  it('fleetMessageSchemas maps the job topics to these schemas', () => {
    expect(fleetMessageSchemas.job).toBe(jobDocumentWireSchema);
    expect(fleetMessageSchemas['job-status']).toBe(jobStatusUpdateSchema);
    expect(fleetMessageSchemas['job-next']).toBe(jobNextRequestSchema);
    expect(parseTopic(jobNextTopic('acme', 'd1'))).toEqual({ kind: 'job-next', tenantId: 'acme', deviceId: 'd1' });
    expect(parseTopic(jobNoneTopic('acme', 'd1'))).toEqual({ kind: 'job-none', tenantId: 'acme', deviceId: 'd1' });
    expect(jobNextTopic('acme', 'd1')).toBe('cmd/acme/d1/jobs/next');
  });

  it('a job document survives the codec and the schema unchanged', () => {
    expect(parseMessage(jobDocumentWireSchema, jsonCodec.decode(jsonCodec.encode(doc)))).toEqual(doc);
    const cancelled = { jobId: 'fw-2', rolloutId: 'fw-2', executionVersion: 2, issuedAt: 5, status: 'cancelled' };
    expect(parseMessage(jobDocumentWireSchema, cancelled)).toEqual(cancelled);
  });

  it('refuses malformed documents and updates with INVALID_PAYLOAD naming the field', () => {
    const bad: [typeof jobDocumentWireSchema | typeof jobStatusUpdateSchema, unknown, string][] = [
      [jobDocumentWireSchema, { ...doc, firmware: { ...doc.firmware, sha256: SHA.toUpperCase() } }, 'firmware.sha256'],
      [jobDocumentWireSchema, { ...doc, firmware: { ...doc.firmware, signatureAlgorithm: 'rsa' } }, 'firmware.signatureAlgorithm'],
      [jobDocumentWireSchema, { ...doc, firmware: { ...doc.firmware, signature: 'not base64!' } }, 'firmware.signature'],
      [jobDocumentWireSchema, { ...doc, operation: 'reboot' }, 'operation'],
      [jobDocumentWireSchema, { ...doc, executionVersion: 0 }, 'executionVersion'],
      [jobDocumentWireSchema, { ...doc, jobId: 'a/b' }, 'jobId'],
      [jobStatusUpdateSchema, { jobId: 'j', status: 'in_progress', executionVersion: 1, ts: 1 }, 'phase'],
      [jobStatusUpdateSchema, { jobId: 'j', status: 'failed', phase: 'booting', executionVersion: 1, ts: 1 }, 'phase'],
      [jobStatusUpdateSchema, { jobId: 'j', status: 'failed', executionVersion: 1.5, ts: 1 }, 'executionVersion'],
      [jobStatusUpdateSchema, { jobId: 'j', status: 'failed', executionVersion: 1, ts: 1, statusDetails: { code: 7 } }, 'statusDetails.code'],
      [jobStatusUpdateSchema, { jobId: 'j', status: 'failed', executionVersion: 1, ts: 1, statusDetails: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])) }, 'statusDetails'],
    ];
    for (const [schema, value, path] of bad) {
      let error: unknown;
      try {
        parseMessage(schema, value);
      } catch (e) {
        error = e;
      }
      expect(error, path).toMatchObject({ code: 'INVALID_PAYLOAD', status: 400 });
      expect((error as { details: { issues: { path: string }[] } }).details.issues.map((i) => i.path)).toContain(path);
    }
  });

  it('any valid update round-trips and maps to a tracker report (property)', () => {
    const update = fc.oneof(
      fc.record({ status: fc.constant('in_progress' as const), phase: fc.constantFrom('installing' as const, 'booting' as const) }),
      fc.record({ status: fc.constantFrom('succeeded' as const, 'failed' as const, 'rejected' as const, 'rolled_back' as const) }),
    );
    fc.assert(
      fc.property(update, fc.integer({ min: 1, max: 1e6 }), fc.nat(), fc.dictionary(fc.constantFrom('code', 'reason', 'check'), fc.string({ maxLength: 20 })), (u, v, ts, details) => {
        const msg = { jobId: 'j-1', ...u, executionVersion: v, ts, statusDetails: details };
        const parsed = parseMessage(jobStatusUpdateSchema, jsonCodec.decode(jsonCodec.encode(msg)));
        expect(parsed).toEqual(msg);
        expect(DEVICE_REPORT_TYPES).toContain(reportTypeOf(parsed));
      }),
      { numRuns: 200 },
    );
  });

  it('the signing input binds version, size and digest', () => {
    const text = new TextDecoder().decode(firmwareSigningInput(doc.firmware));
    expect(text).toBe(`fleetkit-firmware-v1\n2.0.0\n1024\n${SHA}`);
    expect(new TextDecoder().decode(firmwareSigningInput({ ...doc.firmware, sizeBytes: 1025 }))).not.toBe(text);
  });
});
