/**
 * OTA with A/B slots: a job's image is downloaded, verified (size, SHA-256, signature by a trusted
 * key) and written to the inactive slot; the device boots it and commits it only when the core's
 * `evaluateBoot` says so, otherwise it falls back to the slot it ran before. An image that fails
 * verification is refused (`rejected`) and no slot changes.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { FleetError, isFleetError } from '../errors.js';
import { evaluateBoot, type BootCheck } from '../rollout/boot.js';
import type { DeviceReportType } from '../rollout/status.js';
import { verifyFirmwareImage, type FirmwareManifest, type SigningKeySet } from './firmware-image.js';

/** One of the two firmware slots. */
export type SlotName = 'A' | 'B';

/** What a slot holds. */
export interface SlotContent {
  /** The firmware version written to it. */
  readonly version: string;
  /** The image's SHA-256 (absent for the factory image). */
  readonly sha256?: string;
}

/** The slots as the device sees them. */
export interface FirmwareSlots {
  /** The slot the device runs. */
  readonly active: SlotName;
  /** False while a freshly booted slot awaits its boot validation. */
  readonly committed: boolean;
  /** Slot A's content. */
  readonly A: SlotContent | undefined;
  /** Slot B's content. */
  readonly B: SlotContent | undefined;
}

/** An update job as the job agent handles it. */
export interface OtaJob {
  /** The job id (1–64 of `[a-zA-Z0-9:_-]`). */
  readonly jobId: string;
  /** The rollout it belongs to, if any. */
  readonly rolloutId?: string;
  /** The image to install. */
  readonly firmware: FirmwareManifest;
  /** The boot validation window for this job (the job document's `bootValidation.windowMs`). @defaultValue the agent's */
  readonly bootWindowMs?: number;
}

/** A progress report of a job, in the rollout core's report vocabulary (`DeviceReportType`). */
export interface JobReport {
  /** The job. */
  readonly jobId: string;
  /** Its rollout, when the job named one. */
  readonly rolloutId?: string;
  /** `picked_up`, `installed`, `boot_confirmed`, `failed`, `rejected` or `rolled_back`. */
  readonly type: DeviceReportType;
  /** The device's time (epoch ms). */
  readonly ts: number;
  /** The version the device runs after this step. */
  readonly firmwareVersion: string;
  /** Why, with `failed`, `rejected` and `rolled_back`. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** What the booted firmware does, for {@link OtaAgentOptions.runtime}. */
export interface FirmwareRuntime {
  /** Whether the new image comes up at all (false: the watchdog resets the device). @defaultValue always true */
  boot?(version: string): boolean;
  /** The post-boot health checks at `now` (see `evaluateBoot`). @defaultValue one check that passes at boot */
  checks?(version: string, bootedAt: number, now: number): BootCheck[];
}

/** Options of {@link OtaAgent}. */
export interface OtaAgentOptions {
  /** Time for reports and the boot validation timer. */
  readonly clock: Clock;
  /** The public keys images must be signed with (see `toSigningKeys`). */
  readonly trustedSigningKeys: SigningKeySet;
  /** Downloads a job's image. A rejection reports the job `failed` (`DOWNLOAD_FAILED`). */
  readonly fetchImage: (job: OtaJob) => Promise<Uint8Array>;
  /** Where reports go. */
  readonly report: (report: JobReport) => void;
  /** The factory image in slot A. */
  readonly firmwareVersion: string;
  /** The firmware's behaviour after a slot switch. */
  readonly runtime?: FirmwareRuntime;
  /** Boot validation window. @defaultValue 300000 (the core's default, 5 minutes) */
  readonly bootWindowMs?: number;
  /** How often the boot checks are evaluated while pending. @defaultValue 5000 */
  readonly bootCheckIntervalMs?: number;
}

const DONE_MEMORY = 32;

interface Booting {
  readonly job: OtaJob;
  readonly previous: SlotName;
  readonly bootedAt: number;
  readonly rebooted: boolean;
  readonly finish: (report: JobReport) => void;
  timer: TimerHandle | undefined;
}

/**
 * Runs update jobs on the device: one at a time, each id once (a repeated job gets its final report
 * again). See the module comment for the steps.
 */
export class OtaAgent {
  readonly #o: OtaAgentOptions;
  #slots: { active: SlotName; committed: boolean; A: SlotContent | undefined; B: SlotContent | undefined };
  #busy: string | undefined;
  #booting: Booting | undefined;
  readonly #done = new Map<string, JobReport>();
  #waiting: { jobId: string; resolve: (report: JobReport) => void }[] = [];

  /** @param options - clock, trusted keys, image source, report sink and the factory version */
  constructor(options: OtaAgentOptions) {
    this.#o = options;
    this.#slots = { active: 'A', committed: true, A: { version: options.firmwareVersion }, B: undefined };
  }

  /** A copy of the slot table. */
  get slots(): FirmwareSlots {
    return { ...this.#slots };
  }

  /** The version of the running slot. */
  get runningVersion(): string {
    return (this.#slots[this.#slots.active] as SlotContent).version;
  }

  /** The job in progress, if any. */
  get busyWith(): string | undefined {
    return this.#busy;
  }

  /**
   * Runs a job to its end and resolves with its final report (`boot_confirmed`, `rolled_back`,
   * `rejected` or `failed`); every step is also handed to `report`. Never rejects.
   */
  async run(job: OtaJob): Promise<JobReport> {
    const seen = this.#done.get(job.jobId);
    if (seen !== undefined) {
      this.#o.report(seen);
      return seen;
    }
    // The same job again while it runs (a `jobs/next` answer after a reconnect): it is under way.
    if (this.#busy === job.jobId) return new Promise<JobReport>((resolve) => this.#waiting.push({ jobId: job.jobId, resolve }));
    if (this.#busy !== undefined) {
      // Not remembered as done: the same job may be sent again once the device is free.
      const busy = this.#make(job, 'rejected', { code: 'BUSY', message: `the device is installing job ${this.#busy}; send this job again later` });
      this.#o.report(busy);
      return busy;
    }
    this.#busy = job.jobId;
    try {
      return await this.#install(job);
    } finally {
      this.#busy = undefined;
    }
  }

  /** Stops a pending boot validation timer (the device shuts down; nothing is reported). */
  stop(): void {
    if (this.#booting?.timer !== undefined) this.#o.clock.clearTimeout(this.#booting.timer);
  }

  #make(job: OtaJob, type: DeviceReportType, error?: { code: string; message: string }): JobReport {
    return {
      jobId: job.jobId,
      ...(job.rolloutId === undefined ? {} : { rolloutId: job.rolloutId }),
      type,
      ts: this.#o.clock.now(),
      firmwareVersion: this.runningVersion,
      ...(error === undefined ? {} : { error }),
    };
  }

  #final(job: OtaJob, report: JobReport): JobReport {
    this.#done.set(job.jobId, report);
    if (this.#done.size > DONE_MEMORY) this.#done.delete(this.#done.keys().next().value as string);
    this.#o.report(report);
    const waiting = this.#waiting.filter((w) => w.jobId === job.jobId);
    this.#waiting = this.#waiting.filter((w) => w.jobId !== job.jobId);
    for (const w of waiting) w.resolve(report);
    return report;
  }

  async #install(job: OtaJob): Promise<JobReport> {
    const running = this.#slots[this.#slots.active] as SlotContent;
    if (running.version === job.firmware.version && this.#slots.committed) return this.#final(job, this.#make(job, 'boot_confirmed'));
    this.#o.report(this.#make(job, 'picked_up'));
    let image: Uint8Array;
    try {
      image = await this.#o.fetchImage(job);
    } catch (error) {
      return this.#final(job, this.#make(job, 'failed', { code: 'DOWNLOAD_FAILED', message: isFleetError(error) || error instanceof Error ? error.message : 'the image could not be downloaded' }));
    }
    const check = verifyFirmwareImage(image, job.firmware, this.#o.trustedSigningKeys);
    if (!check.ok) return this.#final(job, this.#make(job, 'rejected', { code: check.reason, message: check.error.message }));
    const previous = this.#slots.active;
    const target: SlotName = previous === 'A' ? 'B' : 'A';
    this.#slots = { ...this.#slots, [target]: { version: job.firmware.version, sha256: check.sha256 } };
    this.#o.report(this.#make(job, 'installed'));
    // Reboot into the new slot: uncommitted until the boot validation decides.
    this.#slots = { ...this.#slots, active: target, committed: false };
    let came: boolean;
    try {
      came = this.#o.runtime?.boot?.(job.firmware.version) ?? true;
    } catch {
      came = false;
    }
    return new Promise<JobReport>((finish) => {
      this.#booting = { job, previous, bootedAt: this.#o.clock.now(), rebooted: !came, finish, timer: undefined };
      this.#validate();
    });
  }

  #checks(b: Booting, now: number): BootCheck[] {
    const provide = this.#o.runtime?.checks;
    if (provide === undefined) return [{ name: 'booted', status: 'pass', at: b.bootedAt }];
    try {
      return provide(b.job.firmware.version, b.bootedAt, now);
    } catch {
      return [{ name: 'health', status: 'fail' }];
    }
  }

  #validate(): void {
    const b = this.#booting;
    if (b === undefined) return;
    b.timer = undefined;
    const now = this.#o.clock.now();
    let verdict: 'pending' | 'commit' | 'rollback';
    let reason: string;
    try {
      const decision = evaluateBoot({ bootedAt: b.bootedAt, now, checks: this.#checks(b, now), windowMs: b.job.bootWindowMs ?? this.#o.bootWindowMs ?? 300_000, rebooted: b.rebooted });
      verdict = decision.verdict;
      reason = decision.reason;
    } catch (error) {
      verdict = 'rollback';
      reason = error instanceof FleetError ? error.message : 'the boot checks could not be evaluated';
    }
    if (verdict === 'pending') {
      const every = this.#o.bootCheckIntervalMs ?? 5_000;
      b.timer = this.#o.clock.setTimeout(() => this.#validate(), every);
      return;
    }
    this.#booting = undefined;
    if (verdict === 'commit') {
      this.#slots = { ...this.#slots, committed: true };
      b.finish(this.#final(b.job, this.#make(b.job, 'boot_confirmed')));
      return;
    }
    this.#slots = { ...this.#slots, active: b.previous, committed: true };
    b.finish(this.#final(b.job, this.#make(b.job, 'rolled_back', { code: 'BOOT_VALIDATION_FAILED', message: reason })));
  }
}
