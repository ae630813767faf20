/**
 * A scripted device's side of the job topics, over a plain transport with the wire schemas: it
 * verifies the image signature, "installs", runs evaluateBoot on its post-boot check, and reports
 * each step; a device acts on a job once and answers a repeated document with its last final
 * status. Used by the rollout rig and by the fleet scenario.
 */
import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import type { Clock } from '../../src/clock.js';
import type { Transport } from '../../src/memory.js';
import { firmwareSigningInput, jobDocumentWireSchema, jobNextTopic, jobStatusTopic, jsonCodec, parseMessage, type ActiveJobDocument, type JobStatusUpdate } from '../../src/protocol/index.js';
import { evaluateBoot } from '../../src/rollout/index.js';

/** What a device does with an update to a given version. */
export type Behaviour = 'ok' | 'boot-fail' | 'install-fail' | 'silent';

export interface JobResponder {
  readonly id: string;
  /** The version it runs. */
  version: string;
  /** Jobs it installed: `${intent}:${version}` in order. */
  readonly installs: string[];
  /** Documents it received (all, including repeats). */
  readonly received: ActiveJobDocument[];
  /** Cancellations it received. */
  cancellations: number;
  /** `jobs/none` answers it received. */
  nones: number;
  /** Status updates it published. */
  statuses: number;
  /** Asks for its pending job. */
  wake(): Promise<void>;
  /** Publishes raw bytes on its own job status topic. */
  sendRaw(jobId: string, payload: string | Uint8Array): Promise<void>;
}

export interface JobResponderOptions {
  readonly transport: Transport;
  readonly tenantId: string;
  readonly deviceId: string;
  readonly clock: Clock;
  /** The release signing key images must verify against. */
  readonly publicKey: KeyObject;
  /** What installing `version` does on this device (a rollback always succeeds). */
  readonly behaviour: (version: string) => Behaviour;
  /** @defaultValue '1.0.0' */
  readonly version?: string;
}

/** Subscribes the device to its job topics and answers them; resolves once subscribed. */
export async function attachJobResponder(o: JobResponderOptions): Promise<JobResponder> {
  const { transport, tenantId, deviceId: id, clock } = o;
  const seen = new Set<string>();
  // The latest status sent per job: a device that is sent a job it already finished says so again.
  const last = new Map<string, Omit<JobStatusUpdate, 'jobId' | 'executionVersion' | 'ts'>>();
  const send = (doc: ActiveJobDocument, u: Omit<JobStatusUpdate, 'jobId' | 'executionVersion' | 'ts'>): Promise<void> => {
    last.set(doc.jobId, u);
    device.statuses++;
    return transport.publish(jobStatusTopic(tenantId, id, doc.jobId), jsonCodec.encode({ jobId: doc.jobId, executionVersion: doc.executionVersion, ts: clock.now(), ...u }), { qos: 1 });
  };
  const device: JobResponder = {
    id,
    version: o.version ?? '1.0.0',
    installs: [],
    received: [],
    cancellations: 0,
    nones: 0,
    statuses: 0,
    wake: () => transport.publish(jobNextTopic(tenantId, id), jsonCodec.encode({ ts: clock.now(), firmwareVersion: device.version }), { qos: 1 }),
    sendRaw: (jobId, payload) => transport.publish(jobStatusTopic(tenantId, id, jobId), payload, { qos: 1 }),
  };
  const onDoc = async (doc: ActiveJobDocument): Promise<void> => {
    device.received.push(doc);
    // A device acts on a job once: repeats (a notification and an answer to jobs/next) are ignored.
    if (seen.has(doc.jobId)) {
      const u = last.get(doc.jobId);
      if (u !== undefined && u.status !== 'in_progress') await send(doc, u);
      return;
    }
    seen.add(doc.jobId);
    const fw = doc.firmware;
    const signed = cryptoVerify(null, firmwareSigningInput(fw), o.publicKey, Buffer.from(fw.signature, 'base64'));
    if (!signed) return send(doc, { status: 'rejected', statusDetails: { code: 'BAD_SIGNATURE' } });
    const b = doc.intent === 'rollback' ? 'ok' : o.behaviour(fw.version);
    if (b === 'silent') return;
    await send(doc, { status: 'in_progress', phase: 'installing' });
    if (b === 'install-fail') return send(doc, { status: 'failed', statusDetails: { code: 'FLASH_WRITE' } });
    await send(doc, { status: 'in_progress', phase: 'booting' });
    device.installs.push(`${doc.intent}:${fw.version}`);
    const bootedAt = clock.now();
    const verdict = evaluateBoot({ bootedAt, now: bootedAt + doc.bootValidation.windowMs, windowMs: doc.bootValidation.windowMs, checks: [{ name: 'app-healthy', status: b === 'boot-fail' ? 'fail' : 'pass', at: bootedAt }] });
    if (verdict.verdict === 'commit') {
      device.version = fw.version;
      return send(doc, { status: 'succeeded' });
    }
    return send(doc, { status: 'rolled_back', statusDetails: { reason: verdict.reason.slice(0, 200) } });
  };
  await transport.subscribe(`cmd/${tenantId}/${id}/job/+`, (m) => {
    const doc = parseMessage(jobDocumentWireSchema, jsonCodec.decode(m.payload));
    if (doc.status === 'cancelled') device.cancellations++;
    else void onDoc(doc);
  }, { qos: 1 });
  await transport.subscribe(`cmd/${tenantId}/${id}/jobs/none`, () => device.nones++, { qos: 1 });
  return device;
}
