/**
 * The job wire on the device side: job documents on `cmd/{tenantId}/{deviceId}/job/{jobId}`,
 * status updates on `…/job/{jobId}/status` in the tracker's status vocabulary, `jobs/next` on
 * every (re)connect and `jobs/none` as the empty answer (see `src/protocol/job-wire.ts`).
 */
import type { Clock } from '../clock.js';
import { FleetError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import { jobDocumentWireSchema, jobNoneMessageSchema, type JobStatusUpdate } from '../protocol/job-wire.js';
import { fleetTopicFilter, jobNextTopic, jobNoneTopic, jobStatusTopic } from '../protocol/topics.js';
import type { InboundMessage, QoS, Transport, Unsubscribe } from '../transport/types.js';
import type { JobReport, OtaJob } from './ota.js';

/** What a {@link JobChannel} gets from the agent when it starts. */
export interface JobChannelContext {
  /** The agent's transport. */
  readonly transport: Transport;
  /** The agent's codec. */
  readonly codec: Codec;
  /** The agent's QoS. */
  readonly qos: QoS;
  /** The agent's clock. */
  readonly clock: Clock;
  /** The device's tenant. */
  readonly tenantId: string;
  /** The device id. */
  readonly deviceId: string;
  /** The version the running slot holds. */
  readonly firmwareVersion: () => string;
}

/**
 * The wire side of update jobs: delivers jobs for this device and carries its reports. The
 * default is {@link WireJobChannel}; any channel that speaks another wire plugs in here.
 */
export interface JobChannel {
  /** Starts delivering this device's jobs to `onJob`; undeliverable messages go to `onError`. */
  start(context: JobChannelContext, onJob: (job: OtaJob) => void, onError: (error: FleetError) => void): Promise<void>;
  /** Asks for the device's pending job (on every (re)connect: "fetch pending job on wake"). */
  requestPending(): Promise<void>;
  /** Sends a progress report. */
  report(report: JobReport): Promise<void>;
  /** Stops delivering. */
  stop(): Promise<void>;
}

const MEMORY = 32;

/** The status update (wire vocabulary) a report (the tracker's report vocabulary) stands for: the inverse of `reportTypeOf`. */
function statusOf(type: JobReport['type']): Pick<JobStatusUpdate, 'status' | 'phase'> {
  switch (type) {
    case 'picked_up':
      return { status: 'in_progress', phase: 'installing' };
    case 'installed':
      return { status: 'in_progress', phase: 'booting' };
    case 'boot_confirmed':
      return { status: 'succeeded' };
    default:
      return { status: type };
  }
}

/**
 * fleetkit's job wire over the agent's transport. A job document is checked against
 * `jobDocumentWireSchema` and its topic; a cancelled job is never started (a job already installing
 * finishes); each status update echoes the `executionVersion` of the document the device acted on.
 */
export class WireJobChannel implements JobChannel {
  #ctx: JobChannelContext | undefined;
  #subscriptions: Unsubscribe[] = [];
  // executionVersion of the last document per job id; cancelled job ids.
  readonly #versions = new Map<string, number>();
  readonly #cancelled = new Set<string>();
  #onJob: ((job: OtaJob) => void) | undefined;
  #onError: ((error: FleetError) => void) | undefined;
  #requests = 0;

  /** Subscribes to the device's job topic and `jobs/none`. */
  async start(context: JobChannelContext, onJob: (job: OtaJob) => void, onError: (error: FleetError) => void): Promise<void> {
    this.#ctx = context;
    this.#onJob = onJob;
    this.#onError = onError;
    const { transport, tenantId, deviceId, qos } = context;
    this.#subscriptions.push(await transport.subscribe(fleetTopicFilter('job', { tenantId, deviceId }), this.#onDocument, { qos }));
    this.#subscriptions.push(await transport.subscribe(jobNoneTopic(tenantId, deviceId), this.#onNone, { qos }));
  }

  /** Publishes `jobs/next` with the running version. */
  async requestPending(): Promise<void> {
    const ctx = this.#ctx;
    if (ctx === undefined) return;
    const request = { requestId: `next-${++this.#requests}`, ts: ctx.clock.now(), firmwareVersion: ctx.firmwareVersion() };
    await ctx.transport.publish(jobNextTopic(ctx.tenantId, ctx.deviceId), ctx.codec.encode(request), { qos: ctx.qos });
  }

  /** Publishes the report as a status update on `…/job/{jobId}/status`. */
  async report(report: JobReport): Promise<void> {
    const ctx = this.#ctx;
    if (ctx === undefined) return;
    const details: Record<string, string> = { firmwareVersion: report.firmwareVersion };
    if (report.error !== undefined) {
      details['code'] = report.error.code.slice(0, 1024);
      details['message'] = report.error.message.slice(0, 1024);
    }
    const update: JobStatusUpdate = { jobId: report.jobId, ...statusOf(report.type), executionVersion: this.#versions.get(report.jobId) ?? 1, statusDetails: details, ts: report.ts };
    await ctx.transport.publish(jobStatusTopic(ctx.tenantId, ctx.deviceId, report.jobId), ctx.codec.encode(update), { qos: ctx.qos });
  }

  /** Unsubscribes. */
  async stop(): Promise<void> {
    const subs = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.allSettled(subs.map((off) => off()));
  }

  #decode<T>(m: InboundMessage, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { message: string }[] } } }): T | undefined {
    try {
      const parsed = schema.safeParse((this.#ctx as JobChannelContext).codec.decode(m.payload));
      if (parsed.success) return parsed.data;
      this.#onError?.(new FleetError('INVALID_PAYLOAD', `the message on ${m.topic} does not match its schema: ${parsed.error.issues[0]?.message ?? 'invalid'}`, { status: 400, captureStack: false }));
    } catch (error) {
      this.#onError?.(error instanceof FleetError ? error : new FleetError('INVALID_PAYLOAD', `unreadable message on ${m.topic}`, { status: 400, cause: error }));
    }
    return undefined;
  }

  readonly #onDocument = (m: InboundMessage): void => {
    const doc = this.#decode(m, jobDocumentWireSchema);
    if (doc === undefined) return;
    const topicId = m.topic.slice(m.topic.lastIndexOf('/') + 1);
    if (topicId !== doc.jobId) {
      this.#onError?.(new FleetError('INVALID_PAYLOAD', `job document ${doc.jobId} arrived on the topic of job ${topicId}`, { status: 400, captureStack: false }));
      return;
    }
    const known = this.#versions.get(doc.jobId);
    if (known !== undefined && doc.executionVersion < known) return; // an older version of a document already seen
    this.#versions.set(doc.jobId, doc.executionVersion);
    if (this.#versions.size > MEMORY) this.#versions.delete(this.#versions.keys().next().value as string);
    if (doc.status === 'cancelled') {
      this.#cancelled.add(doc.jobId);
      if (this.#cancelled.size > MEMORY) this.#cancelled.delete(this.#cancelled.values().next().value as string);
      return;
    }
    if (this.#cancelled.has(doc.jobId)) return;
    const f = doc.firmware;
    this.#onJob?.({
      jobId: doc.jobId,
      rolloutId: doc.rolloutId,
      firmware: { version: f.version, url: f.url, sizeBytes: f.sizeBytes, sha256: f.sha256, signature: f.signature, signatureAlgorithm: f.signatureAlgorithm, keyId: f.keyId },
      bootWindowMs: doc.bootValidation.windowMs,
    });
  };

  readonly #onNone = (m: InboundMessage): void => {
    this.#decode(m, jobNoneMessageSchema);
  };
}
