/**
 * OTA job messages, in the rollout tracker's status vocabulary (`fleetkit/rollout`'s
 * `DEVICE_STATUSES`: `in_progress`, `rolled_back`, `timed_out`, …) — one word for a state on the
 * wire, in the job store and in the core:
 *
 * - `cmd/{tenantId}/{deviceId}/job/{jobId}` (cloud → device): the job document
 *   ({@link jobDocumentWireSchema}), sent when the job is queued for an online device, in answer
 *   to a {@link jobNextRequestSchema}, and again with `status: 'cancelled'` when it is withdrawn;
 * - `cmd/{tenantId}/{deviceId}/job/{jobId}/status` (device → cloud): the device's status update
 *   ({@link jobStatusUpdateSchema});
 * - `cmd/{tenantId}/{deviceId}/jobs/next` (device → cloud): a waking device asking for its pending
 *   job ({@link jobNextRequestSchema}); the answer is the job document on its job topic, or
 *   {@link jobNoneMessageSchema} on `cmd/{tenantId}/{deviceId}/jobs/none` when nothing is pending.
 *
 * The schemas are typed against the core's types (checks at the bottom of this file and in
 * `test/protocol/job-wire.test.ts`), so the wire and the tracker cannot drift apart.
 */
import { z } from 'zod';
import type { BootInput } from '../rollout/boot.js';
import type { ResolvedDeadlines } from '../rollout/spec.js';
import { DEVICE_STATUSES, type DeviceReportType, type DeviceStatus, type InProgressPhase } from '../rollout/status.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { messageIdSchema } from './topics.js';

const epochMs = z.number().int().nonnegative();
const durationMs = z.number().int().positive().max(365 * 24 * 3_600_000);

/** Every status a job execution can have: exactly the tracker's `DEVICE_STATUSES`. */
export const jobExecutionStatusSchema = z.enum(DEVICE_STATUSES);
/** A job execution's status (the tracker's `DeviceStatus`). */
export type JobExecutionStatus = z.infer<typeof jobExecutionStatusSchema>;

/** Where an `in_progress` device is: exactly the tracker's `InProgressPhase`. */
export const JOB_PHASES = ['installing', 'booting'] as const satisfies readonly InProgressPhase[];
/** The phase schema. */
export const jobPhaseSchema = z.enum(JOB_PHASES);
/** A phase of an `in_progress` execution. */
export type JobPhase = z.infer<typeof jobPhaseSchema>;

/**
 * The statuses a device may report. The others (`pending`, `dispatched`, `timed_out`,
 * `unreachable`, `cancelled`) are decided by the cloud only.
 */
export const DEVICE_JOB_STATUSES = ['in_progress', 'succeeded', 'failed', 'rejected', 'rolled_back'] as const satisfies readonly DeviceStatus[];
/** A status a device reports. */
export type DeviceJobStatus = (typeof DEVICE_JOB_STATUSES)[number];

/** The signature algorithms a firmware image may be signed with. */
export const FIRMWARE_SIGNATURE_ALGORITHMS = ['ed25519', 'ecdsa-p256-sha256'] as const;
/** A firmware signature algorithm: Ed25519, or ECDSA on P-256 with SHA-256 (DER signature). */
export type FirmwareSignatureAlgorithm = (typeof FIRMWARE_SIGNATURE_ALGORITHMS)[number];

/** The firmware image of an OTA job: what to download, how to check it, who signed it. */
export const firmwareWireSchema = z.object({
  /** The version the device reports once it runs the image (the rollout's firmware version). */
  version: z.string().min(1).max(128),
  /** Where to download the image. */
  url: z.url(),
  /** The image size in bytes. */
  sizeBytes: z.number().int().positive(),
  /** Lowercase hex SHA-256 of the image. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256 (64 characters)'),
  /** base64 signature by the tenant's signing key over {@link firmwareSigningInput} (Ed25519, or DER ECDSA P-256/SHA-256). */
  signature: z.base64().min(1).max(1024),
  /** How `signature` was made. */
  signatureAlgorithm: z.enum(FIRMWARE_SIGNATURE_ALGORITHMS),
  /** Which of the tenant's signing keys made it (the device holds the public keys by id). */
  keyId: messageIdSchema,
});
/** The firmware image of an OTA job. */
export type FirmwareWire = z.infer<typeof firmwareWireSchema>;

/**
 * The bytes a firmware signature covers: UTF-8 of
 * `"fleetkit-firmware-v1\n" + version + "\n" + sizeBytes + "\n" + sha256` (sha256 in lowercase
 * hex). Signing the digest binds the signature to the image's exact bytes; a device recomputes
 * this from the job document, verifies the signature with the tenant's public key `keyId`, and
 * checks the downloaded image's size and SHA-256 against the document.
 *
 * @param image - the image's version, size and SHA-256
 * @throws FleetError `INVALID_ARGUMENT` when a field is missing or malformed.
 * @example
 * ```ts
 * crypto.verify(null, firmwareSigningInput(doc.firmware), publicKey, Buffer.from(doc.firmware.signature, 'base64'));
 * ```
 */
export function firmwareSigningInput(image: Pick<FirmwareWire, 'version' | 'sizeBytes' | 'sha256'>): Uint8Array {
  const i = image as Partial<Record<'version' | 'sizeBytes' | 'sha256', unknown>> | null;
  const version = i?.version;
  const sizeBytes = i?.sizeBytes;
  const sha256 = i?.sha256;
  if (typeof i !== 'object' || i === null || typeof version !== 'string' || version.length === 0 || typeof sizeBytes !== 'number' || !Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    throw new FleetError('INVALID_ARGUMENT', `firmwareSigningInput: expected { version: non-empty string, sizeBytes: positive integer, sha256: 64 hex digits }, got ${describeValue(image)}`, { status: 400 });
  }
  return new TextEncoder().encode(`fleetkit-firmware-v1\n${version}\n${sizeBytes}\n${sha256.toLowerCase()}`);
}

const jobBase = {
  jobId: messageIdSchema,
  /** The rollout the job belongs to. */
  rolloutId: messageIdSchema,
  /**
   * The execution's document version: 1 when queued, bumped each time the cloud changes the
   * execution on its side (a cancellation). The device echoes it in its status updates.
   */
  executionVersion: z.number().int().positive(),
  /** When the cloud issued this version of the document (epoch ms). */
  issuedAt: epochMs,
};

/** A job the device should run (`dispatched`) or is running (`in_progress`, when a device asks again). */
export const activeJobDocumentSchema = z.object({
  ...jobBase,
  status: z.enum(['dispatched', 'in_progress']),
  /** Only OTA jobs for now. */
  operation: z.literal('ota'),
  /** `update` installs the rollout's image; `rollback` reinstalls the version the device ran before it. */
  intent: z.enum(['update', 'rollback']),
  firmware: firmwareWireSchema,
  deadlines: z.object({
    /** Pick the job up (report `in_progress`) by this time (epoch ms), or the cloud marks the device `unreachable`. */
    pickupBy: epochMs,
    /** From pick-up to "installed, booting" at most this long, or the device is `timed_out`. */
    runMs: durationMs,
  }),
  /** How long the device's post-boot checks have to pass before it commits or falls back (feed to `evaluateBoot` as `windowMs`). */
  bootValidation: z.object({ windowMs: durationMs }),
});

/** A job the cloud withdrew: the device must not start it (one already installing may finish). */
export const cancelledJobDocumentSchema = z.object({
  ...jobBase,
  status: z.literal('cancelled'),
});

/** `cmd/{tenantId}/{deviceId}/job/{jobId}`: the job document, by `status`. */
export const jobDocumentWireSchema = z.discriminatedUnion('status', [activeJobDocumentSchema, cancelledJobDocumentSchema]);
/** An active job document. */
export type ActiveJobDocument = z.infer<typeof activeJobDocumentSchema>;
/** A cancellation notice. */
export type CancelledJobDocument = z.infer<typeof cancelledJobDocumentSchema>;
/** Any job document. */
export type JobDocumentWire = z.infer<typeof jobDocumentWireSchema>;

const MAX_DETAILS = 32;

/**
 * `cmd/{tenantId}/{deviceId}/job/{jobId}/status`: the device's status update.
 *
 * `in_progress` needs a `phase` (`installing`: picked up, downloading and writing the image;
 * `booting`: the image is installed and the device reboots into it); the other statuses have
 * none. `succeeded` means boot-confirmed: the device committed the new slot.
 */
export const jobStatusUpdateSchema = z
  .object({
    jobId: messageIdSchema,
    status: z.enum(DEVICE_JOB_STATUSES),
    phase: jobPhaseSchema.optional(),
    /** The `executionVersion` of the job document the device acted on. */
    executionVersion: z.number().int().positive(),
    /** Up to 32 short strings for logs: an error code, a reason for rejecting, the boot checks that failed, … */
    statusDetails: z
      .record(z.string().min(1).max(64), z.string().max(1024))
      .refine((d) => Object.keys(d).length <= MAX_DETAILS, `at most ${MAX_DETAILS} entries`)
      .optional(),
    /** The device's time (epoch ms). */
    ts: epochMs,
  })
  .superRefine((u, ctx) => {
    if (u.status === 'in_progress' && u.phase === undefined) ctx.addIssue({ code: 'custom', path: ['phase'], message: 'in_progress needs a phase: "installing" or "booting"' });
    if (u.status !== 'in_progress' && u.phase !== undefined) ctx.addIssue({ code: 'custom', path: ['phase'], message: `phase is only for in_progress, not ${u.status}` });
  });
/** A device's status update. */
export type JobStatusUpdate = z.infer<typeof jobStatusUpdateSchema>;

/** `cmd/{tenantId}/{deviceId}/jobs/next`: a device that woke up asks for its pending job. */
export const jobNextRequestSchema = z.object({
  /** Echoed in a `jobs/none` answer. */
  requestId: messageIdSchema.optional(),
  /** The device's time (epoch ms). */
  ts: epochMs,
  /** The version the device runs now. */
  firmwareVersion: z.string().min(1).max(128).optional(),
});
/** A pending-job request. */
export type JobNextRequest = z.infer<typeof jobNextRequestSchema>;

/** `cmd/{tenantId}/{deviceId}/jobs/none`: the answer to `jobs/next` when no job is pending. */
export const jobNoneMessageSchema = z.object({
  requestId: messageIdSchema.optional(),
  /** The cloud's time (epoch ms). */
  ts: epochMs,
});
/** A "no pending job" answer. */
export type JobNoneMessage = z.infer<typeof jobNoneMessageSchema>;

/** The tracker report each device status (and phase) stands for. */
export const JOB_STATUS_REPORTS = {
  in_progress: { installing: 'picked_up', booting: 'installed' },
  succeeded: 'boot_confirmed',
  failed: 'failed',
  rejected: 'rejected',
  rolled_back: 'rolled_back',
} as const satisfies { readonly in_progress: Readonly<Record<JobPhase, DeviceReportType>> } & Readonly<Record<Exclude<DeviceJobStatus, 'in_progress'>, DeviceReportType>>;

/**
 * The tracker report (`RolloutProgress.report`'s `type`) a validated status update stands for:
 * `in_progress`/`installing` → `picked_up`, `in_progress`/`booting` → `installed`, `succeeded` →
 * `boot_confirmed`, and `failed`, `rejected`, `rolled_back` as they are.
 *
 * @param update - a status update parsed with {@link jobStatusUpdateSchema}
 * @throws FleetError `INVALID_ARGUMENT` for a status a device cannot report, or a phase that does not fit it.
 */
export function reportTypeOf(update: Pick<JobStatusUpdate, 'status' | 'phase'>): DeviceReportType {
  const status = (update as { status?: unknown } | null)?.status;
  const phase = (update as { phase?: unknown } | null)?.phase;
  if (status === 'in_progress' && (phase === 'installing' || phase === 'booting')) return JOB_STATUS_REPORTS.in_progress[phase];
  if (status !== 'in_progress' && phase === undefined && typeof status === 'string' && (DEVICE_JOB_STATUSES as readonly string[]).includes(status)) {
    return JOB_STATUS_REPORTS[status as Exclude<DeviceJobStatus, 'in_progress'>];
  }
  throw new FleetError('INVALID_ARGUMENT', `reportTypeOf: expected a status update parsed with jobStatusUpdateSchema ({ status: ${DEVICE_JOB_STATUSES.join(' | ')}, phase with in_progress only }), got ${describeValue(update)}`, { status: 400 });
}

// ── drift checks: these fail to compile when the wire and the core's types part ────────────────
type Assert<T extends true> = T;
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type ReportsOnWire = (typeof JOB_STATUS_REPORTS)['in_progress'][JobPhase] | (typeof JOB_STATUS_REPORTS)[Exclude<DeviceJobStatus, 'in_progress'>];
/** @internal Compile-time checks, exported so they count as used. */
export type JobWireDriftChecks = [
  // One status vocabulary: the wire's statuses are the tracker's.
  Assert<Equal<JobExecutionStatus, DeviceStatus>>,
  Assert<Equal<JobPhase, InProgressPhase>>,
  Assert<Equal<ActiveJobDocument['status'] | CancelledJobDocument['status'], 'dispatched' | 'in_progress' | 'cancelled'>>,
  // Every report the tracker knows is reachable from the wire, and nothing else is.
  Assert<Equal<ReportsOnWire, DeviceReportType>>,
  // The boot window is what evaluateBoot takes; the deadlines are the plan's.
  Assert<ActiveJobDocument['bootValidation']['windowMs'] extends NonNullable<BootInput['windowMs']> ? true : false>,
  Assert<ResolvedDeadlines['runMs'] extends ActiveJobDocument['deadlines']['runMs'] ? true : false>,
];
