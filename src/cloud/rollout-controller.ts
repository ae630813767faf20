/**
 * `RolloutController`: runs staged OTA rollouts over a transport — the rollout core decides,
 * the controller dispatches jobs outbound-only, maps device status updates onto the tracker,
 * enforces deadlines on the clock, and keeps everything in the `JobStore` so a restarted
 * controller resumes without dispatching any device twice.
 */
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError, isFleetError } from '../errors.js';
import type { JsonObject, JsonValue } from '../json.js';
import { jsonCodec, type Codec } from '../protocol/codec.js';
import {
  jobNextRequestSchema,
  jobStatusUpdateSchema,
  reportTypeOf,
  type ActiveJobDocument,
  type CancelledJobDocument,
  type JobStatusUpdate,
} from '../protocol/job-wire.js';
import { jobNoneTopic, jobTopic, messageIdSchema, safeParseTopic } from '../protocol/topics.js';
import { stepRollout, type RolloutDecisionKind } from '../rollout/evaluate.js';
import { planRollout } from '../rollout/plan.js';
import type { RolloutPlan } from '../rollout/plan.js';
import { createRolloutProgress, type RolloutDeviceRef, type RolloutEffects, type RolloutProgress, type RollbackRef } from '../rollout/progress.js';
import type { AbortCriteria, Deadlines, MaintenanceWindow, RateLimit, RolloutDevice, StageSpec, TargetFilter } from '../rollout/spec.js';
import { DEVICE_STATUSES, isTerminalStatus, type DeviceReportType, type DeviceStatus, type InProgressPhase } from '../rollout/status.js';
import { restoreRolloutProgress, saveRolloutProgress } from '../rollout/tracker-snapshot.js';
import type { DeviceStore, RegisteredDevice } from '../store/device-store.js';
import type { JobExecutionInput, JobStore, RolloutListOptions, StoredJobExecution, StoredRollout } from '../store/job-store.js';
import type { Page } from '../store/page.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import type { InboundMessage, QoS, Transport, Unsubscribe } from '../transport/types.js';
import { optionsOf } from './arguments.js';
import { incompatibility, type FirmwareCatalog, type FirmwareImage } from './firmware-catalog.js';
import type { EffectRunner } from './effect-runner.js';
import type { DevicePresence } from './health-monitor.js';
import type { RolloutControllerEvents, RolloutProgressEvent, RolloutSummary } from './rollout-events.js';
import { ThingLanes } from './thing-lanes.js';

/**
 * Devices dispatched at once: each dispatch is a store write and a QoS 1 publish, so one at a time
 * a stage waits a broker round trip per device (tens of ms on a loaded broker: minutes for 10,000).
 */
const DISPATCH_WINDOW = 64;

/** Runs `fn` over `items`, at most `window` at a time (each window waits for its slowest). */
async function inWindows<T>(items: readonly T[], window: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += window) await Promise.all(items.slice(i, i + window).map(fn));
}

/** Options of {@link RolloutController}. */
export interface RolloutControllerOptions {
  /** Where job documents go and status updates arrive (connect it yourself). */
  readonly transport: Transport;
  /** Rollouts (plan, tracker snapshot, revision) and per-device job executions. */
  readonly jobs: JobStore;
  /** The registry: the fleet a rollout plans over, and each device's hardware at dispatch. */
  readonly devices: DeviceStore;
  /** Firmware images and signing keys; images are verified when planned and before every dispatch. */
  readonly catalog: FirmwareCatalog;
  /** Time and timers. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** Payload encoding. @defaultValue `jsonCodec` */
  readonly codec?: Codec;
  /**
   * Who is online (a `HealthMonitor`). A job document is published at dispatch to online devices
   * only; the others receive it when they ask (`jobs/next`) or come online. Without it every
   * dispatch is published at once (a persistent session holds it for an offline device).
   */
  readonly presence?: DevicePresence;
  /** How often a running rollout is evaluated, at least (deadlines and soaks schedule earlier checks). @defaultValue 60000 */
  readonly evaluateEveryMs?: number;
  /** QoS of publications and subscriptions. @defaultValue 1 */
  readonly qos?: QoS;
  /**
   * The fleet's effect runner: while started, the controller executes `cancel-pending` (scope
   * `rollout-actions`) — a decommissioned device is withdrawn from the rollouts this controller
   * drives ({@link RolloutController.withdraw}).
   */
  readonly effects?: EffectRunner;
}

/** What {@link RolloutController.create} takes: the rollout spec without the fleet (the registry is the fleet). */
export interface CreateRolloutSpec {
  /** 1–55 of `[a-zA-Z0-9:_-]`: the rollout id and the job id of its OTA jobs (rollback jobs are `{rolloutId}:rollback`). */
  readonly rolloutId: string;
  /** A version in the tenant's firmware catalog. */
  readonly firmwareVersion: string;
  /** Which of the tenant's devices (default: all of them; decommissioned and maintenance devices are skipped). */
  readonly target?: TargetFilter;
  /** Cumulative stages. @defaultValue 1 % → 10 % → 50 % → 100 % */
  readonly stages?: readonly StageSpec[];
  /** Abort criteria. */
  readonly abort?: AbortCriteria;
  /** Pick-up, run and boot-health deadlines. */
  readonly deadlines?: Deadlines;
  /** Dispatch rate limit. */
  readonly rateLimit?: RateLimit;
  /** When dispatching may happen. */
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  /** Cohort seed. */
  readonly seed?: string;
  /**
   * Devices whose hardware the image does not list: `refuse` the rollout (`FIRMWARE_INCOMPATIBLE`
   * naming them) or `skip` them (they are left out of the plan). @defaultValue `'refuse'`
   */
  readonly incompatible?: 'refuse' | 'skip';
}

/** Where an operator action or rollback applies. */
export interface RollbackOptions {
  /** Stage indices to roll back. @defaultValue every started stage */
  readonly stages?: readonly number[];
}

/** A change to an execution: the status, and the phase (absent: none). */
interface ExecutionChange {
  readonly status: DeviceStatus;
  readonly phase?: InProgressPhase | undefined;
  readonly document?: JsonObject;
  readonly statusDetails?: JsonObject;
}

/** A rollout this controller drives. */
interface Active {
  readonly tenantId: string;
  readonly rolloutId: string;
  readonly plan: RolloutPlan;
  readonly progress: RolloutProgress;
  readonly createdAt: number;
  storedRevision: number;
  timer: TimerHandle | undefined;
  nextAt: number;
  /** Another controller wrote the rollout: this one stops driving it. */
  lost: boolean;
}

const ROLLBACK_SUFFIX = ':rollback';
const MAX_ROLLOUT_ID = 64 - ROLLBACK_SUFFIX.length;
const PAGE = 1000;
const key = (tenantId: string, id: string): string => `${tenantId}\u0000${id}`;
const OPEN_STATUSES: readonly DeviceStatus[] = ['dispatched', 'in_progress'];
// Statuses a device reports (the others are the cloud's decisions).
const REPORTED: ReadonlySet<DeviceStatus> = new Set<DeviceStatus>(['in_progress', 'succeeded', 'failed', 'rejected', 'rolled_back']);
// How far a rollback job is; it only moves forward.
const ROLLBACK_RANK: Readonly<Partial<Record<DeviceStatus, number>>> = { dispatched: 0, in_progress: 1, succeeded: 2, failed: 2, rejected: 2, rolled_back: 2, cancelled: 2 };

function zeroCounts(): Record<DeviceStatus, number> {
  const c = {} as Record<DeviceStatus, number>;
  for (const s of DEVICE_STATUSES) c[s] = 0;
  return c;
}

/** The tracker report that brings a tracker to an execution's stored status. */
function reportFor(exec: Pick<StoredJobExecution, 'status' | 'phase'>): DeviceReportType | undefined {
  if (!REPORTED.has(exec.status)) return undefined;
  return reportTypeOf({ status: exec.status as JobStatusUpdate['status'], ...(exec.phase === undefined ? {} : { phase: exec.phase }) });
}

/**
 * Runs staged OTA rollouts (`fleetkit/rollout`'s `planRollout` / `stepRollout`) over a transport.
 *
 * - **Create** plans over the tenant's registered devices, with an image from the
 *   {@link FirmwareCatalog} whose signature verifies and whose hardware list covers every targeted
 *   device (or skips the others, on request); the rollout is stored in the `JobStore` and starts.
 * - **Outbound-only dispatch.** Each dispatch creates the device's job execution in the store
 *   (compare-and-set on version 0: at most once per device and job, across restarts and
 *   controllers) and publishes the job document on `cmd/{t}/{d}/job/{jobId}` to an online device.
 *   A device that wakes asks on `cmd/{t}/{d}/jobs/next` and receives its pending documents (or
 *   `jobs/none`). The image is re-verified before every dispatch; a device whose hardware no longer
 *   matches is not sent the job (its execution is `rejected` with `FIRMWARE_INCOMPATIBLE`).
 * - **Status updates** on `cmd/{t}/{d}/job/{jobId}/status` become tracker reports
 *   (`reportTypeOf`); the execution stores the tracker's resulting status. A malformed message, an
 *   unknown job, a version the device was never sent or a step the tracker refuses is a
 *   `status:rejected` event for that device and changes nothing.
 * - **On the clock**: the rollout is evaluated every `evaluateEveryMs` and when a deadline or a soak
 *   ends; `stepRollout`'s effects are executed — dispatch, cancel (a `cancelled` document),
 *   expiry (`unreachable`, `timed_out`) and rollback (a job `{rolloutId}:rollback` with the version
 *   the device ran before, from the catalog).
 * - **Decommissioned devices leave**: with the fleet's `effects` runner, `cancel-pending` (scope
 *   `rollout-actions`) withdraws the device from every rollout this controller drives
 *   ({@link RolloutController.withdraw}): its open executions end `cancelled` and its stage's size
 *   and success requirement shrink to the remaining devices. A device found decommissioned at
 *   dispatch or on {@link recover} is withdrawn too.
 * - **State lives in the store**: the tracker snapshot is written (compare-and-set on the rollout's
 *   revision) before the effects of a step are executed, and executions record every device's
 *   status; {@link recover} rebuilds the tracker from the snapshot, replays the executions written
 *   after it and finishes effects that were decided but not executed.
 *
 * @example
 * ```ts
 * const rollouts = new RolloutController({ transport, jobs: stores.jobs, devices: stores.devices, catalog, clock });
 * await rollouts.start();
 * await rollouts.create({ tenantId: 'acme' }, { rolloutId: 'fw-2-4-0', firmwareVersion: '2.4.0', stages: [{ percent: 1 }, { percent: 100 }] });
 * rollouts.on('rollout:progress', (e) => console.log(e.state, e.counts.succeeded, e.reason));
 * ```
 */
export class RolloutController extends EventEmitter<RolloutControllerEvents> {
  readonly #transport: Transport;
  readonly #jobs: JobStore;
  readonly #devices: DeviceStore;
  readonly #catalog: FirmwareCatalog;
  readonly #clock: Clock;
  readonly #codec: Codec;
  readonly #presence: DevicePresence | undefined;
  readonly #effects: EffectRunner | undefined;
  #offEffects: (() => void) | undefined;
  readonly #every: number;
  readonly #qos: QoS;
  readonly #active = new Map<string, Active>();
  readonly #lanes: ThingLanes;
  #subscriptions: Unsubscribe[] = [];
  #offPresence: (() => void) | undefined;
  #stopped = false;

  /**
   * @param options - transport, stores, catalog, clock, codec, presence
   * @throws FleetError `INVALID_ARGUMENT` for a missing transport, store or catalog, or a bad option.
   */
  constructor(options: RolloutControllerOptions) {
    super();
    const bad = (what: string): never => {
      throw new FleetError('INVALID_ARGUMENT', `new RolloutController: ${what}`, { status: 400 });
    };
    if (typeof options !== 'object' || options === null) bad('pass { transport, jobs, devices, catalog, … }');
    if (typeof options.transport?.subscribe !== 'function') bad('transport must be a Transport');
    if (typeof options.jobs?.putExecution !== 'function') bad('jobs must be a JobStore');
    if (typeof options.devices?.get !== 'function') bad('devices must be a DeviceStore');
    if (typeof options.catalog?.verify !== 'function') bad('catalog must be a FirmwareCatalog');
    if (options.effects !== undefined && typeof options.effects?.use !== 'function') bad('effects must be an EffectRunner');
    const every = options.evaluateEveryMs ?? 60_000;
    if (!Number.isFinite(every) || every <= 0) bad(`evaluateEveryMs must be a positive number of ms, got ${describeValue(every)}`);
    const qos = options.qos ?? 1;
    if (qos !== 0 && qos !== 1) bad(`qos must be 0 or 1, got ${describeValue(qos)}`);
    this.#transport = options.transport;
    this.#jobs = options.jobs;
    this.#devices = options.devices;
    this.#catalog = options.catalog;
    this.#clock = options.clock ?? systemClock;
    this.#codec = options.codec ?? jsonCodec;
    this.#presence = options.presence;
    this.#effects = options.effects;
    this.#every = every;
    this.#qos = qos;
    this.#lanes = new ThingLanes(1_000_000, (e) => this.#failed(e));
  }

  /**
   * Subscribes to `cmd/+/+/job/+/status` and `cmd/+/+/jobs/next` and to the presence signal, and
   * handles `cancel-pending` effects of the effect runner (when given). Idempotent.
   */
  async start(): Promise<void> {
    if (this.#subscriptions.length > 0) return;
    this.#stopped = false;
    this.#offEffects ??= this.#effects?.use('cancel-pending', async (ctx, effect) => {
      if (effect.scopes.includes('rollout-actions')) await this.withdraw(ctx, effect.deviceId, { reason: 'the device was decommissioned' });
    });
    this.#subscriptions.push(await this.#transport.subscribe('cmd/+/+/job/+/status', this.#onStatus, { qos: this.#qos }));
    this.#subscriptions.push(await this.#transport.subscribe('cmd/+/+/jobs/next', this.#onNext, { qos: this.#qos }));
    this.#offPresence = this.#presence?.onOnline((e) => void this.#sendPending(e.tenantId, e.deviceId).catch((err: unknown) => this.#failed(err)));
  }

  /** Unsubscribes, stops the timers, waits for work in progress and forgets the rollouts it drove (they stay in the store). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#offEffects?.();
    this.#offEffects = undefined;
    const subs = this.#subscriptions;
    this.#subscriptions = [];
    await Promise.all(subs.map((off) => off()));
    this.#offPresence?.();
    this.#offPresence = undefined;
    for (const a of this.#active.values()) if (a.timer !== undefined) this.#clock.clearTimeout(a.timer);
    await this.#lanes.idle();
    this.#active.clear();
  }

  /** {@link stop}. */
  async close(): Promise<void> {
    await this.stop();
  }

  /**
   * Number of rollouts with work queued or running: an evaluation (with its dispatches), an
   * operator action or device status updates. 0 when every step decided so far has been executed
   * (a simulation waits for it before it advances its clock).
   */
  get busyRollouts(): number {
    return this.#lanes.active;
  }

  // ── API ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Plans a rollout over the tenant's registered devices, stores it and starts it (the first
   * evaluation, and its dispatches, have run when the promise resolves).
   *
   * @returns the rollout's summary
   * @throws FleetError `INVALID_ARGUMENT` (a bad id or spec field), `INVALID_PLAN` (the planner's
   *   refusal), `FIRMWARE_NOT_FOUND`, `SIGNATURE_INVALID`, `FIRMWARE_INCOMPATIBLE` (devices whose
   *   hardware the image does not list, with `incompatible: 'refuse'`), `ALREADY_EXISTS`.
   */
  async create(ctx: TenantContext, spec: CreateRolloutSpec): Promise<RolloutSummary> {
    const tenantId = tenantOf(ctx, 'RolloutController.create');
    const s = optionsOf('RolloutController.create', spec);
    const rolloutId = s.rolloutId;
    if (typeof rolloutId !== 'string' || rolloutId.length > MAX_ROLLOUT_ID || !messageIdSchema.safeParse(rolloutId).success) {
      throw new FleetError('INVALID_ARGUMENT', `RolloutController.create: rolloutId must be 1–${MAX_ROLLOUT_ID} of [a-zA-Z0-9:_-] (it names the job topics), got ${describeValue(rolloutId)}`, { status: 400 });
    }
    if (s.incompatible !== undefined && s.incompatible !== 'refuse' && s.incompatible !== 'skip') {
      throw new FleetError('INVALID_ARGUMENT', `RolloutController.create: incompatible must be "refuse" or "skip", got ${describeValue(s.incompatible)}`, { status: 400 });
    }
    const image = this.#catalog.verify(ctx, String(s.firmwareVersion));
    if ((await this.#jobs.getRollout(ctx, rolloutId)) !== undefined) throw new FleetError('ALREADY_EXISTS', `Rollout "${rolloutId}" already exists in tenant "${tenantId}"`, { status: 409 });
    const registered = await this.#allDevices(ctx);
    const eligible: RegisteredDevice[] = [];
    const incompatible: string[] = [];
    for (const d of registered) {
      if (d.state !== 'decommissioned' && incompatibility(image, { deviceId: d.deviceId, hardware: d.hardware }) !== undefined) incompatible.push(d.deviceId);
      else eligible.push(d);
    }
    const fleet = (s.incompatible === 'skip' ? eligible : registered).map(
      (d): RolloutDevice => ({ id: d.deviceId, tenantId, firmware: d.firmwareVersion ?? 'unknown', state: d.state, tags: [...d.tags], attributes: { ...d.attributes } }),
    );
    const plan = planRollout({
      rolloutId,
      firmware: { version: image.version, url: image.url, sha256: image.sha256, size: image.sizeBytes },
      devices: fleet,
      ...(s.target === undefined ? {} : { target: s.target }),
      ...(s.stages === undefined ? {} : { stages: s.stages }),
      ...(s.abort === undefined ? {} : { abort: s.abort }),
      ...(s.deadlines === undefined ? {} : { deadlines: s.deadlines }),
      ...(s.rateLimit === undefined ? {} : { rateLimit: s.rateLimit }),
      ...(s.maintenanceWindows === undefined ? {} : { maintenanceWindows: s.maintenanceWindows }),
      ...(s.seed === undefined ? {} : { seed: s.seed }),
    });
    if (s.incompatible !== 'skip') {
      const planned = new Set(plan.devices.map((d) => d.id));
      const refused = incompatible.filter((id) => planned.has(id));
      if (refused.length > 0) {
        throw new FleetError(
          'FIRMWARE_INCOMPATIBLE',
          `Firmware ${image.version} runs on ${image.hardware.join(', ')} only; ${refused.length} targeted device${refused.length === 1 ? '' : 's'} (${refused.slice(0, 10).join(', ')}${refused.length > 10 ? ', …' : ''}) ${refused.length === 1 ? 'has' : 'have'} other or no hardware. Narrow the target or pass incompatible: 'skip'`,
          { status: 409, details: { devices: refused.slice(0, 100), count: refused.length } },
        );
      }
    }
    const progress = createRolloutProgress(plan);
    const now = this.#clock.now();
    const stored = await this.#jobs.createRollout(ctx, {
      tenantId,
      rolloutId,
      plan,
      state: progress.state,
      stage: progress.currentStage,
      trackerRevision: progress.revision,
      tracker: saveRolloutProgress(progress) as unknown as JsonValue,
      createdAt: now,
      updatedAt: now,
    });
    // The stored plan (the store's own copy) is what later saves pass back: the store compares it by identity first.
    const active: Active = { tenantId, rolloutId, plan: stored.plan, progress, createdAt: now, storedRevision: stored.revision, timer: undefined, nextAt: Infinity, lost: false };
    this.#active.set(key(tenantId, rolloutId), active);
    const summary = this.#summary(active);
    if (this.listenerCount('rollout:created') > 0) this.emit('rollout:created', summary);
    await this.#inLane(active, () => this.#step(active, now));
    return this.#summary(active);
  }

  /** Stops dispatching; devices in flight carry on. @throws FleetError `ROLLOUT_NOT_FOUND`, `INVALID_OPERATION` (not running). */
  pause(ctx: TenantContext, rolloutId: string): Promise<RolloutSummary> {
    return this.#operate(ctx, rolloutId, { type: 'pause' }, 'RolloutController.pause');
  }

  /** Continues a paused rollout from a fresh evaluation. @throws FleetError `ROLLOUT_NOT_FOUND`, `INVALID_OPERATION` (not paused). */
  resume(ctx: TenantContext, rolloutId: string): Promise<RolloutSummary> {
    return this.#operate(ctx, rolloutId, { type: 'resume' }, 'RolloutController.resume');
  }

  /** Stops for good; undispatched devices are cancelled, in-flight jobs carry on. @throws FleetError `ROLLOUT_NOT_FOUND`, `INVALID_OPERATION`. */
  cancel(ctx: TenantContext, rolloutId: string): Promise<RolloutSummary> {
    return this.#operate(ctx, rolloutId, { type: 'cancel' }, 'RolloutController.cancel');
  }

  /**
   * Stops for good, withdraws queued jobs and sends every device of the given stages that received
   * the new image a rollback job (the version it ran before).
   * @throws FleetError `ROLLOUT_NOT_FOUND`, `INVALID_ARGUMENT` (bad stages), `INVALID_OPERATION`.
   */
  rollback(ctx: TenantContext, rolloutId: string, options?: RollbackOptions): Promise<RolloutSummary> {
    const { stages } = optionsOf('RolloutController.rollback', options);
    return this.#operate(ctx, rolloutId, { type: 'rollback', ...(stages === undefined ? {} : { stages }) }, 'RolloutController.rollback');
  }

  /**
   * Withdraws a device from every rollout of its tenant that this controller drives (what
   * decommissioning does, through the `cancel-pending` effect with scope `rollout-actions`), in
   * any rollout state. In each: the tracker withdraws it (`operate({ type: 'withdraw' })`: a
   * device without an outcome becomes `cancelled` and its stage's size and success requirement
   * shrink to the remaining devices; an outcome stays), the tracker is saved (compare-and-set on
   * the rollout's revision), the device's open job executions — the OTA job and a rollback job —
   * are ended `cancelled` (so `jobs/next` offers it nothing), a `rollout:progress` event with
   * cause `withdraw` is emitted and the rollout is evaluated again. Idempotent.
   *
   * Rollouts this controller does not drive are left to their driver: a controller withdraws a
   * decommissioned device when it would dispatch it and when it recovers the rollout.
   *
   * @param deviceId - the device
   * @param options - `{ reason }`: why, in words, for the `rollout:progress` event (default
   *   `'withdrawn by the operator'`)
   * @returns the ids of the rollouts the device was withdrawn from now (empty when none, or already)
   * @throws FleetError `INVALID_ARGUMENT` for a device id that is not a non-empty string.
   */
  async withdraw(ctx: TenantContext, deviceId: string, options: { readonly reason?: string } = {}): Promise<string[]> {
    const tenantId = tenantOf(ctx, 'RolloutController.withdraw');
    const { reason } = optionsOf('RolloutController.withdraw', options);
    if (typeof deviceId !== 'string' || deviceId.length === 0) {
      throw new FleetError('INVALID_ARGUMENT', `RolloutController.withdraw: deviceId must be a non-empty string, got ${describeValue(deviceId)}`, { status: 400 });
    }
    if (reason !== undefined && typeof reason !== 'string') throw new FleetError('INVALID_ARGUMENT', `RolloutController.withdraw: reason must be a string, got ${describeValue(reason)}`, { status: 400 });
    const why = reason ?? 'withdrawn by the operator';
    const out: string[] = [];
    for (const a of [...this.#active.values()]) {
      if (a.tenantId !== tenantId || a.lost || a.progress.device(deviceId) === undefined) continue;
      if (await this.#inLane(a, () => this.#withdrawIn(a, deviceId, why))) out.push(a.rolloutId);
    }
    return out;
  }

  /** A rollout of the tenant, or `undefined` (driven here, or read from the store). */
  async get(ctx: TenantContext, rolloutId: string): Promise<RolloutSummary | undefined> {
    const tenantId = tenantOf(ctx, 'RolloutController.get');
    const active = this.#active.get(key(tenantId, String(rolloutId)));
    if (active !== undefined && !active.lost) return this.#summary(active);
    const stored = await this.#jobs.getRollout(ctx, rolloutId);
    return stored === undefined ? undefined : this.#storedSummary(stored);
  }

  /** The tenant's rollouts in pages ordered by id. */
  async list(ctx: TenantContext, options?: RolloutListOptions): Promise<Page<RolloutSummary>> {
    tenantOf(ctx, 'RolloutController.list');
    const page = await this.#jobs.listRollouts(ctx, optionsOf('RolloutController.list', options));
    const items = page.items.map((r) => {
      const active = this.#active.get(key(r.tenantId, r.rolloutId));
      return active !== undefined && !active.lost ? this.#summary(active) : this.#storedSummary(r);
    });
    return { items, ...(page.cursor === undefined ? {} : { cursor: page.cursor }) };
  }

  /** The job executions of a rollout (its OTA jobs; pass `rollback: true` for its rollback jobs). */
  executions(ctx: TenantContext, rolloutId: string, options: { readonly rollback?: boolean; readonly status?: DeviceStatus | readonly DeviceStatus[]; readonly limit?: number; readonly cursor?: string } = {}): Promise<Page<StoredJobExecution>> {
    const o = optionsOf('RolloutController.executions', options);
    const jobId = o.rollback === true ? `${String(rolloutId)}${ROLLBACK_SUFFIX}` : String(rolloutId);
    return this.#jobs.listExecutions(ctx, { jobId, ...(o.status === undefined ? {} : { status: o.status }), ...(o.limit === undefined ? {} : { limit: o.limit }), ...(o.cursor === undefined ? {} : { cursor: o.cursor }) });
  }

  /**
   * Takes over the tenant's unfinished rollouts from the store (after a restart): rebuilds each
   * tracker from its snapshot, replays device statuses stored after it, finishes decided but
   * unexecuted dispatches, cancellations and rollbacks — never creating a second execution for a
   * device — sends the unchanged document of every open job (dispatched or in progress) again to
   * its device when it is online, so that status reports lost while no controller drove the
   * rollout are sent again, and resumes the clock. Returns how many rollouts it took over.
   */
  async recover(ctx: TenantContext): Promise<number> {
    tenantOf(ctx, 'RolloutController.recover');
    let n = 0;
    let cursor: string | undefined;
    do {
      const page = await this.#jobs.listRollouts(ctx, { state: ['running', 'paused', 'aborted', 'cancelled', 'rolled_back'], limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      for (const r of page.items) {
        if (this.#active.has(key(r.tenantId, r.rolloutId))) continue;
        await this.#load(r);
        n++;
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return n;
  }

  // ── driving a rollout ───────────────────────────────────────────────────────────────────────

  async #load(stored: StoredRollout): Promise<Active> {
    const progress = restoreRolloutProgress(stored.plan, stored.tracker);
    const active: Active = { tenantId: stored.tenantId, rolloutId: stored.rolloutId, plan: stored.plan, progress, createdAt: stored.createdAt, storedRevision: stored.revision, timer: undefined, nextAt: Infinity, lost: false };
    this.#active.set(key(active.tenantId, active.rolloutId), active);
    await this.#inLane(active, () => this.#reconcile(active));
    return active;
  }

  async #reconcile(a: Active): Promise<void> {
    const ctx = { tenantId: a.tenantId };
    const now = this.#clock.now();
    const p = a.progress;
    const withExecution = new Set<string>();
    const cancelNow: StoredJobExecution[] = [];
    // Open jobs whose document is sent again: see below.
    const resend: StoredJobExecution[] = [];
    for await (const exec of this.#executionsOf(ctx, a.rolloutId)) {
      withExecution.add(exec.deviceId);
      const type = reportFor(exec);
      const tracked = p.device(exec.deviceId);
      if (tracked === undefined) continue;
      // A status the device reported after the snapshot was saved: replay it.
      if (type !== undefined && (tracked.status !== exec.status || tracked.phase !== exec.phase)) p.report({ deviceId: exec.deviceId, type }, exec.updatedAt);
      // A cancellation or expiry decided before the snapshot whose execution was not written yet.
      const after = p.statusOf(exec.deviceId)!;
      if (OPEN_STATUSES.includes(exec.status) && after !== exec.status && isTerminalStatus(after)) cancelNow.push(exec);
      else if (OPEN_STATUSES.includes(exec.status)) resend.push(exec);
    }
    const rolledBack = new Set<string>();
    for await (const exec of this.#executionsOf(ctx, `${a.rolloutId}${ROLLBACK_SUFFIX}`)) {
      rolledBack.add(exec.deviceId);
      if (OPEN_STATUSES.includes(exec.status)) resend.push(exec);
    }
    // Devices decommissioned while no controller drove this rollout leave it now (after their stored statuses were replayed).
    const gone = await this.#withdrawDecommissioned(a, now);
    await this.#persist(a, now);
    if (a.lost) return;
    for (const deviceId of gone) await this.#closeOpen(a, deviceId, now);
    // Dispatches decided (and saved) but never written: the device has no execution yet.
    const owed: RolloutDeviceRef[] = [];
    const owedRollbacks: RollbackRef[] = [];
    for (const d of a.plan.devices) {
      const t = p.device(d.id)!;
      if (t.status !== 'pending' && t.status !== 'cancelled' && !withExecution.has(d.id)) owed.push({ deviceId: d.id, tenantId: d.tenantId, stage: d.stage });
      if (t.rollbackScheduled && !t.withdrawn && !rolledBack.has(d.id)) owedRollbacks.push({ deviceId: d.id, tenantId: d.tenantId, stage: d.stage, toVersion: d.fromVersion });
    }
    for (const exec of cancelNow) if (!gone.includes(exec.deviceId)) await this.#closeExecution(a, exec, p.statusOf(exec.deviceId)!, now);
    if (owed.length > 0) await this.#dispatchAll(a, owed, now);
    if (owedRollbacks.length > 0) await this.#rollbackAll(a, owedRollbacks, now);
    // While no controller drove the rollout, a device's status reports were refused by every
    // listener and its job document may not have been published (a crash between the execution's
    // write and the publish): send each open job's document again, unchanged. The device acts on a
    // job once and answers a document it already finished with its final status, so the reports
    // lost meanwhile arrive again — now that this controller drives the rollout.
    const withdrawn = new Set(gone);
    await inWindows(resend.filter((exec) => !withdrawn.has(exec.deviceId)), DISPATCH_WINDOW, async (exec) => {
      const doc = exec.document as unknown as ActiveJobDocument | undefined;
      if (doc === undefined || doc.status === undefined) return;
      if (this.#presence !== undefined && !this.#presence.isOnline(a.tenantId, exec.deviceId)) return; // it gets it when it comes online or asks
      await this.#publishDoc(a.tenantId, exec.deviceId, { ...doc, status: exec.status === 'in_progress' ? 'in_progress' : 'dispatched' });
    });
    this.#progressEvent(a, now, 'recover', 'taken over from the store');
    this.#schedule(a, now, now);
  }

  async *#executionsOf(ctx: TenantContext, jobId: string): AsyncGenerator<StoredJobExecution> {
    let cursor: string | undefined;
    do {
      const page = await this.#jobs.listExecutions(ctx, { jobId, limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.items;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  /** One evaluation: verify the image, step, save, execute, report, schedule the next one. */
  async #step(a: Active, now: number): Promise<void> {
    if (a.lost || this.#stopped) return;
    const ctx = { tenantId: a.tenantId };
    const p = a.progress;
    if (p.state === 'running') {
      try {
        this.#catalog.verify(ctx, a.plan.firmware.version);
      } catch (e) {
        const error = isFleetError(e) ? e : new FleetError('INTERNAL', String(e), { status: 500 });
        this.#refused(a, undefined, error);
        const paused = p.operate({ type: 'pause' }, now);
        if (paused.ok) {
          await this.#persist(a, now);
          this.#progressEvent(a, now, 'pause', `paused: the image no longer verifies (${error.message})`);
        }
        this.#schedule(a, now, now);
        return;
      }
    }
    const { decision, effects } = stepRollout(a.plan, p, { now });
    await this.#persist(a, now);
    if (a.lost) return;
    await this.#execute(a, effects, now);
    this.#progressEvent(a, now, decision.decision, decision.reason);
    this.#schedule(a, now, decision.nextCheckAt);
  }

  async #execute(a: Active, effects: RolloutEffects, now: number): Promise<void> {
    const ctx = { tenantId: a.tenantId };
    if (effects.dispatch.length > 0) await this.#dispatchAll(a, effects.dispatch, now);
    const expired = new Map(effects.expire.map((e) => [e.deviceId, e.status]));
    for (const ref of effects.cancel) {
      const exec = await this.#jobs.getExecution(ctx, a.rolloutId, ref.deviceId);
      if (exec !== undefined && OPEN_STATUSES.includes(exec.status)) await this.#closeExecution(a, exec, expired.get(ref.deviceId) ?? 'cancelled', now);
    }
    if (effects.rollBack.length > 0) await this.#rollbackAll(a, effects.rollBack, now);
  }

  async #dispatchAll(a: Active, refs: readonly RolloutDeviceRef[], now: number): Promise<void> {
    const ctx = { tenantId: a.tenantId };
    let image: FirmwareImage;
    try {
      image = this.#catalog.verify(ctx, a.plan.firmware.version);
    } catch (e) {
      // Decided and saved but not sent: the device has no execution, so a later step or recover sends it once the image verifies.
      this.#refused(a, undefined, isFleetError(e) ? e : new FleetError('INTERNAL', String(e), { status: 500 }));
      return;
    }
    let withdrawn = 0;
    await inWindows(refs, DISPATCH_WINDOW, async (ref) => {
      const device = await this.#devices.get(ctx, ref.deviceId);
      if (device?.state === 'decommissioned') {
        // Decommissioned after the plan was made (and its withdrawal did not reach this controller): withdraw it, send nothing.
        if (a.progress.operate({ type: 'withdraw', deviceId: ref.deviceId }, now).ok) withdrawn++;
        return;
      }
      const problem = device === undefined ? `Device "${ref.deviceId}" is no longer registered` : incompatibility(image, { deviceId: ref.deviceId, hardware: device.hardware });
      if (problem !== undefined) {
        const error = new FleetError(device === undefined ? 'DEVICE_NOT_FOUND' : 'FIRMWARE_INCOMPATIBLE', problem, { status: device === undefined ? 404 : 409, details: { deviceId: ref.deviceId } });
        const r = a.progress.report({ deviceId: ref.deviceId, type: 'rejected', reason: error.code }, now);
        if (r.ok) await this.#create(a, ref, a.rolloutId, { tenantId: a.tenantId, jobId: a.rolloutId, deviceId: ref.deviceId, status: 'rejected', stage: ref.stage, statusDetails: { code: error.code, message: problem }, queuedAt: now, updatedAt: now }, undefined);
        this.#refused(a, ref.deviceId, error);
        return;
      }
      const doc = this.#document(a, a.rolloutId, 'update', image, now);
      await this.#create(a, ref, a.rolloutId, { tenantId: a.tenantId, jobId: a.rolloutId, deviceId: ref.deviceId, status: 'dispatched', stage: ref.stage, document: doc as unknown as JsonObject, queuedAt: now, updatedAt: now }, doc);
    });
    if (withdrawn > 0) {
      await this.#persist(a, now);
      if (a.lost) return;
      this.#progressEvent(a, now, 'withdraw', `${withdrawn} decommissioned device${withdrawn === 1 ? '' : 's'} withdrawn instead of dispatched`);
      this.#schedule(a, now, now + 1);
    }
  }

  async #rollbackAll(a: Active, refs: readonly RollbackRef[], now: number): Promise<void> {
    const ctx = { tenantId: a.tenantId };
    const jobId = `${a.rolloutId}${ROLLBACK_SUFFIX}`;
    await inWindows(refs, DISPATCH_WINDOW, async (ref) => {
      let image: FirmwareImage;
      try {
        image = this.#catalog.verify(ctx, ref.toVersion);
        const device = await this.#devices.get(ctx, ref.deviceId);
        this.#catalog.checkCompatible(image, { deviceId: ref.deviceId, hardware: device?.hardware });
      } catch (e) {
        this.#refused(a, ref.deviceId, isFleetError(e) ? e : new FleetError('INTERNAL', String(e), { status: 500 }));
        return;
      }
      const doc = this.#document(a, jobId, 'rollback', image, now);
      await this.#create(a, ref, jobId, { tenantId: a.tenantId, jobId, deviceId: ref.deviceId, status: 'dispatched', stage: ref.stage, document: doc as unknown as JsonObject, queuedAt: now, updatedAt: now }, doc);
    });
  }

  /** Creates an execution (once: version 0) and publishes its document to an online device. */
  async #create(a: Active, ref: RolloutDeviceRef, jobId: string, exec: JobExecutionInput, doc: ActiveJobDocument | undefined): Promise<void> {
    const ctx = { tenantId: a.tenantId };
    try {
      await this.#jobs.putExecution(ctx, exec, 0);
    } catch (e) {
      if (isFleetError(e, 'VERSION_CONFLICT')) return; // dispatched before (by this or an earlier controller): never twice
      throw e;
    }
    if (doc === undefined) return;
    const notify = this.#presence === undefined || this.#presence.isOnline(a.tenantId, ref.deviceId);
    if (notify) await this.#publishDoc(a.tenantId, ref.deviceId, doc);
    if (this.listenerCount('job:dispatched') > 0) {
      this.emit('job:dispatched', { tenantId: a.tenantId, rolloutId: a.rolloutId, jobId, deviceId: ref.deviceId, intent: doc.intent, firmwareVersion: doc.firmware.version, notified: notify });
    }
  }

  #document(a: Active, jobId: string, intent: 'update' | 'rollback', image: FirmwareImage, now: number): ActiveJobDocument {
    const d = a.plan.deadlines;
    return {
      jobId,
      rolloutId: a.rolloutId,
      executionVersion: 1,
      issuedAt: now,
      status: 'dispatched',
      operation: 'ota',
      intent,
      firmware: { version: image.version, url: image.url, sizeBytes: image.sizeBytes, sha256: image.sha256, signature: image.signature, signatureAlgorithm: image.signatureAlgorithm, keyId: image.keyId },
      deadlines: { pickupBy: now + d.pickupMs, runMs: d.runMs },
      bootValidation: { windowMs: d.bootHealthMs },
    };
  }

  /** Ends an open execution with the cloud's status (cancelled, unreachable, timed_out) and tells the device. */
  async #closeExecution(a: Active, exec: StoredJobExecution, status: DeviceStatus, now: number): Promise<void> {
    const version = ((exec.document as { executionVersion?: number } | undefined)?.executionVersion ?? 1) + 1;
    const notice: CancelledJobDocument = { jobId: exec.jobId, rolloutId: a.rolloutId, executionVersion: version, issuedAt: now, status: 'cancelled' };
    const written = await this.#write(a, exec.jobId, exec.deviceId, (cur) => (OPEN_STATUSES.includes(cur.status) ? { status, document: notice as unknown as JsonObject } : undefined), now);
    if (written !== undefined) await this.#publishDoc(a.tenantId, exec.deviceId, notice);
  }

  /** Read, decide, compare-and-set an execution; emits `job:updated`. */
  async #write(a: Active, jobId: string, deviceId: string, decide: (current: StoredJobExecution) => ExecutionChange | undefined, now: number): Promise<StoredJobExecution | undefined> {
    const ctx = { tenantId: a.tenantId };
    for (let attempt = 1; ; attempt++) {
      const current = await this.#jobs.getExecution(ctx, jobId, deviceId);
      if (current === undefined) return undefined;
      const change = decide(current);
      if (change === undefined) return undefined;
      const next: Record<string, unknown> = { ...current, ...change, updatedAt: now };
      if (change.phase === undefined) delete next.phase;
      delete next.version;
      try {
        const stored = await this.#jobs.putExecution(ctx, next as unknown as JobExecutionInput, current.version);
        if (this.listenerCount('job:updated') > 0) this.emit('job:updated', { execution: stored, previous: current.status });
        return stored;
      } catch (e) {
        if (!isFleetError(e, 'VERSION_CONFLICT') || attempt >= 8) throw e;
      }
    }
  }

  async #persist(a: Active, now: number): Promise<void> {
    const p = a.progress;
    try {
      const stored = await this.#jobs.updateRollout(
        { tenantId: a.tenantId },
        { tenantId: a.tenantId, rolloutId: a.rolloutId, plan: a.plan, state: p.state, stage: p.currentStage, trackerRevision: p.revision, tracker: saveRolloutProgress(p) as unknown as JsonValue, createdAt: a.createdAt, updatedAt: now },
        a.storedRevision,
      );
      a.storedRevision = stored.revision;
    } catch (e) {
      if (!isFleetError(e, 'VERSION_CONFLICT')) throw e;
      // Another controller saved this rollout: it drives it now; this one lets go.
      a.lost = true;
      if (a.timer !== undefined) this.#clock.clearTimeout(a.timer);
      this.#active.delete(key(a.tenantId, a.rolloutId));
      this.#failed(new FleetError('VERSION_CONFLICT', `Rollout "${a.rolloutId}" was saved by another controller; this one stops driving it`, { status: 409, cause: e }));
    }
  }

  #schedule(a: Active, now: number, nextCheckAt: number | undefined): void {
    if (a.lost || this.#stopped) return;
    const live = a.progress.state === 'running' || a.progress.state === 'paused';
    let at = nextCheckAt ?? Infinity;
    if (live) at = Math.min(at, now + this.#every);
    if (!Number.isFinite(at)) return;
    at = Math.max(at, now + 1);
    if (a.timer !== undefined && a.nextAt <= at && a.nextAt > now) return;
    if (a.timer !== undefined) this.#clock.clearTimeout(a.timer);
    a.nextAt = at;
    a.timer = this.#clock.setTimeout(() => {
      a.timer = undefined;
      a.nextAt = Infinity;
      const firedAt = this.#clock.now();
      void this.#inLane(a, () => this.#step(a, firedAt)).catch((e: unknown) => this.#failed(e));
    }, at - this.#clock.now());
  }

  /** Withdraws one device from one rollout (in its lane); false when nothing changed. */
  async #withdrawIn(a: Active, deviceId: string, reason: string): Promise<boolean> {
    if (a.lost || this.#stopped) return false;
    const now = this.#clock.now();
    const before = a.progress.revision;
    const r = a.progress.operate({ type: 'withdraw', deviceId }, now);
    if (!r.ok) throw r.error;
    if (a.progress.revision === before) return false; // withdrawn before
    await this.#persist(a, now);
    if (a.lost) return false;
    await this.#execute(a, r.effects, now);
    await this.#closeOpen(a, deviceId, now);
    this.#progressEvent(a, now, 'withdraw', `device "${deviceId}" withdrawn: ${reason}`);
    this.#schedule(a, now, now + 1);
    return true;
  }

  /** Ends a withdrawn device's open executions of the rollout (its OTA job, its rollback job) as `cancelled`. */
  async #closeOpen(a: Active, deviceId: string, now: number): Promise<void> {
    const ctx = { tenantId: a.tenantId };
    for (const jobId of [a.rolloutId, `${a.rolloutId}${ROLLBACK_SUFFIX}`]) {
      const exec = await this.#jobs.getExecution(ctx, jobId, deviceId);
      if (exec !== undefined && OPEN_STATUSES.includes(exec.status)) await this.#closeExecution(a, exec, 'cancelled', now);
    }
  }

  /** Withdraws the plan's devices that the registry says are decommissioned; returns their ids. */
  async #withdrawDecommissioned(a: Active, now: number): Promise<string[]> {
    const ctx = { tenantId: a.tenantId };
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#devices.query(ctx, { filter: { state: 'decommissioned' }, limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      for (const d of page.items) {
        const t = a.progress.device(d.deviceId);
        if (t === undefined || t.withdrawn) continue;
        if (a.progress.operate({ type: 'withdraw', deviceId: d.deviceId }, now).ok) out.push(d.deviceId);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }

  async #operate(ctx: TenantContext, rolloutId: string, action: Parameters<RolloutProgress['operate']>[0], api: string): Promise<RolloutSummary> {
    const tenantId = tenantOf(ctx, api);
    let a = this.#active.get(key(tenantId, String(rolloutId)));
    if (a === undefined) {
      const stored = await this.#jobs.getRollout(ctx, rolloutId);
      if (stored === undefined) throw new FleetError('ROLLOUT_NOT_FOUND', `${api}: no rollout ${describeValue(rolloutId)} in tenant "${tenantId}"`, { status: 404 });
      a = this.#active.get(key(tenantId, stored.rolloutId)) ?? (await this.#load(stored));
    }
    const active = a;
    await this.#inLane(active, async () => {
      const now = this.#clock.now();
      const r = active.progress.operate(action, now);
      if (!r.ok) throw r.error;
      await this.#persist(active, now);
      if (active.lost) throw new FleetError('VERSION_CONFLICT', `${api}: rollout "${active.rolloutId}" is driven by another controller`, { status: 409 });
      await this.#execute(active, r.effects, now);
      this.#progressEvent(active, now, 'operator', `${action.type} by the operator`);
      this.#schedule(active, now, now + 1);
    });
    return this.#summary(active);
  }

  // ── device messages ─────────────────────────────────────────────────────────────────────────

  readonly #onStatus = (message: InboundMessage): void => {
    const parsed = safeParseTopic(message.topic);
    if (!parsed.ok || parsed.value.kind !== 'job-status') {
      this.#rejected(message.topic, undefined, parsed.ok ? new FleetError('INVALID_TOPIC', 'not a job status topic', { status: 400 }) : parsed.error);
      return;
    }
    const route = parsed.value;
    const update = this.#decode(message.payload, jobStatusUpdateSchema, 'job status update');
    if (update instanceof FleetError) return this.#rejected(message.topic, route, update);
    if (update.jobId !== route.jobId) return this.#rejected(message.topic, route, new FleetError('INVALID_PAYLOAD', `The update names job "${update.jobId}" but was sent on the topic of job "${route.jobId}"`, { status: 400, captureStack: false }));
    const rollback = route.jobId.endsWith(ROLLBACK_SUFFIX);
    const rolloutId = rollback ? route.jobId.slice(0, -ROLLBACK_SUFFIX.length) : route.jobId;
    const a = this.#active.get(key(route.tenantId, rolloutId));
    if (a === undefined || a.lost) return this.#rejected(message.topic, route, new FleetError('ROLLOUT_NOT_FOUND', `No running rollout for job "${route.jobId}"`, { status: 404, captureStack: false }));
    void this.#inLane(a, async () => {
      const now = this.#clock.now();
      const ctx = { tenantId: a.tenantId };
      const exec = await this.#jobs.getExecution(ctx, route.jobId, route.deviceId);
      if (exec === undefined) return this.#rejected(message.topic, route, new FleetError('INVALID_REQUEST', `No job "${route.jobId}" for device "${route.deviceId}"`, { status: 404, captureStack: false }));
      const issued = (exec.document as { executionVersion?: number } | undefined)?.executionVersion ?? 0;
      if (update.executionVersion > issued) {
        return this.#rejected(message.topic, route, new FleetError('INVALID_REQUEST', `Execution version ${update.executionVersion} of job "${route.jobId}" was never sent to device "${route.deviceId}" (latest ${issued})`, { status: 409, captureStack: false }));
      }
      const details = update.statusDetails === undefined ? {} : { statusDetails: update.statusDetails as JsonObject };
      if (rollback) return this.#rollbackStatus(a, exec, update, details, message.topic, route, now);
      const reason = update.statusDetails?.code ?? update.statusDetails?.reason;
      const r = a.progress.report({ deviceId: route.deviceId, type: reportTypeOf(update), ...(reason === undefined ? {} : { reason }) }, now);
      if (!r.ok) return this.#rejected(message.topic, route, r.error);
      const t = a.progress.device(route.deviceId)!;
      if (t.status !== exec.status || t.phase !== exec.phase) {
        await this.#write(a, route.jobId, route.deviceId, () => ({ status: t.status, phase: t.phase, ...details }), now);
      }
      if (r.rollBack.length > 0) await this.#rollbackAll(a, r.rollBack, now);
      if (r.aborted) await this.#step(a, now);
      else if (r.applied) this.#progressEvent(a, now, 'report', '');
    }).catch((e: unknown) => this.#failed(e));
  };

  async #rollbackStatus(a: Active, exec: StoredJobExecution, update: JobStatusUpdate, details: { statusDetails?: JsonObject }, topic: string, route: { tenantId: string; deviceId: string }, now: number): Promise<void> {
    const from = ROLLBACK_RANK[exec.status] ?? 2;
    const to = ROLLBACK_RANK[update.status] ?? 2;
    if (from >= 2 || to <= from) {
      if (!(to === from && update.status === exec.status)) this.#rejected(topic, route, new FleetError('INVALID_TRANSITION', `Rollback job of device "${route.deviceId}" is ${exec.status}; "${update.status}" does not move it forward`, { status: 409, captureStack: false }));
      return;
    }
    await this.#write(a, exec.jobId, exec.deviceId, () => ({ status: update.status, phase: update.phase, ...details }), now);
    // The device runs its old image again: the tracker learns it (a late report changes no counter).
    if (update.status === 'succeeded') a.progress.report({ deviceId: exec.deviceId, type: 'rolled_back' }, now);
  }

  readonly #onNext = (message: InboundMessage): void => {
    const parsed = safeParseTopic(message.topic);
    if (!parsed.ok || parsed.value.kind !== 'job-next') {
      this.#rejected(message.topic, undefined, parsed.ok ? new FleetError('INVALID_TOPIC', 'not a jobs/next topic', { status: 400 }) : parsed.error);
      return;
    }
    const route = parsed.value;
    const request = this.#decode(message.payload, jobNextRequestSchema, 'pending-job request');
    if (request instanceof FleetError) return this.#rejected(message.topic, route, request);
    void this.#sendPending(route.tenantId, route.deviceId, request.requestId ?? null).catch((e: unknown) => this.#failed(e));
  };

  /** Publishes a device's open job documents; with a request (`requestId` or null), `jobs/none` when there are none. */
  async #sendPending(tenantId: string, deviceId: string, requestId?: string | null): Promise<void> {
    const ctx = { tenantId };
    const page = await this.#jobs.listExecutions(ctx, { deviceId, status: OPEN_STATUSES, limit: PAGE });
    let sent = 0;
    for (const exec of page.items) {
      const doc = exec.document as unknown as ActiveJobDocument | undefined;
      if (doc === undefined || doc.status === undefined) continue;
      await this.#publishDoc(tenantId, deviceId, { ...doc, status: exec.status === 'in_progress' ? 'in_progress' : 'dispatched' });
      sent++;
    }
    if (sent === 0 && requestId !== undefined) {
      await this.#transport.publish(jobNoneTopic(tenantId, deviceId), this.#codec.encode({ ...(requestId === null ? {} : { requestId }), ts: this.#clock.now() }), { qos: this.#qos });
    }
  }

  async #publishDoc(tenantId: string, deviceId: string, doc: ActiveJobDocument | CancelledJobDocument): Promise<void> {
    await this.#transport.publish(jobTopic(tenantId, deviceId, doc.jobId), this.#codec.encode(doc), { qos: this.#qos });
  }

  #decode<T>(payload: Uint8Array, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } } }, what: string): T | FleetError {
    let value: unknown;
    try {
      value = this.#codec.decode(payload);
    } catch (e) {
      return isFleetError(e) ? e : new FleetError('INVALID_PAYLOAD', `Invalid ${what}: not decodable`, { status: 400, captureStack: false });
    }
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    const i = r.error.issues[0];
    return new FleetError('INVALID_PAYLOAD', `Invalid ${what}: ${i === undefined ? 'rejected by the schema' : `${i.path.map(String).join('.') || '(root)'}: ${i.message}`}`, { status: 400, captureStack: false });
  }

  // ── views and events ────────────────────────────────────────────────────────────────────────

  #summary(a: Active): RolloutSummary {
    return summaryOf(a.tenantId, a.plan, a.progress, a.createdAt, !a.lost);
  }

  #storedSummary(r: StoredRollout): RolloutSummary {
    return summaryOf(r.tenantId, r.plan, restoreRolloutProgress(r.plan, r.tracker), r.createdAt, false);
  }

  #progressEvent(a: Active, at: number, cause: RolloutProgressEvent['cause'], reason: string): void {
    if (this.listenerCount('rollout:progress') === 0) return;
    this.emit('rollout:progress', { ...this.#summary(a), at, cause, reason });
  }

  #refused(a: Active, deviceId: string | undefined, error: FleetError): void {
    if (this.listenerCount('dispatch:refused') > 0) this.emit('dispatch:refused', { tenantId: a.tenantId, rolloutId: a.rolloutId, ...(deviceId === undefined ? {} : { deviceId }), error });
  }

  #rejected(topic: string, route: { readonly tenantId: string; readonly deviceId: string } | undefined, error: FleetError): void {
    if (this.listenerCount('status:rejected') === 0) return;
    this.emit('status:rejected', { topic, ...(route === undefined ? {} : { tenantId: route.tenantId, deviceId: route.deviceId }), error });
  }

  #failed(e: unknown): void {
    const error = isFleetError(e) ? e : new FleetError('INTERNAL', `Rollout controller failure: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e });
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  #inLane<T>(a: Active, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#lanes.admit(key(a.tenantId, a.rolloutId), async () => {
        try {
          resolve(await task());
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  async #allDevices(ctx: TenantContext): Promise<RegisteredDevice[]> {
    const out: RegisteredDevice[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#devices.query(ctx, { limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
      out.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== undefined);
    return out;
  }
}

function summaryOf(tenantId: string, plan: RolloutPlan, p: RolloutProgress, createdAt: number, active: boolean): RolloutSummary {
  const counts = zeroCounts();
  let withdrawn = 0;
  const byStage = plan.stages.map((s) => {
    withdrawn += s.size - p.stageSize(s.index);
    const c = p.stageCounts(s.index);
    for (const k of DEVICE_STATUSES) counts[k] += c[k];
    return c;
  });
  return {
    tenantId,
    rolloutId: plan.rolloutId,
    firmwareVersion: plan.firmware.version,
    state: p.state,
    stage: p.currentStage,
    stages: plan.stages.length,
    devices: plan.devices.length,
    withdrawn,
    revision: p.revision,
    counts,
    byStage,
    ...(p.abortVerdict === undefined ? {} : { abort: p.abortVerdict }),
    createdAt,
    active,
  };
}
