/**
 * The effect runner: the one place where the lifecycle core's effects (from `transition`,
 * provisioning and `planDecommission`) are executed against the stores and the services.
 */
import { FleetError, isFleetError } from '../errors.js';
import type { JsonObject } from '../json.js';
import type { LifecycleEffect, SendBootstrapEffect } from '../lifecycle/effects.js';
import type { AuditEntry, AuditInput, AuditLog } from '../store/audit-log.js';
import type { DeviceInput, DeviceStore, RegisteredDevice } from '../store/device-store.js';
import type { ShadowStore } from '../store/shadow-store.js';
import { tenantOf, type TenantContext } from '../store/tenant.js';
import { optionsOf } from './arguments.js';

/** The type of a lifecycle effect (`audit`, `put-record`, `revoke-credential`, …). */
export type EffectType = LifecycleEffect['type'];

/** The effect of one type. */
export type EffectOf<T extends EffectType> = Extract<LifecycleEffect, { readonly type: T }>;

/**
 * Executes one effect for a service (a command service cancels pending commands, a health
 * monitor stops watching a device, …). It may be async; a throw fails the run.
 */
export type EffectHandler<T extends EffectType = EffectType> = (ctx: TenantContext, effect: EffectOf<T>) => void | Promise<void>;

/**
 * Writes a device's initial desired configuration into its shadow. `ShadowService` fits:
 * `{ update(ctx, thingName, { state: { desired } }) }`.
 */
export interface DesiredStateWriter {
  /** Applies a shadow update request for the thing. */
  update(ctx: TenantContext, thingName: string, request: { readonly state: { readonly desired: JsonObject } }): Promise<unknown>;
}

/** Attaches and detaches credential policies in an external system (a broker, a cloud IAM). */
export interface PolicyPort {
  /** Attaches `policies` to the device's credential. */
  attach(ctx: TenantContext, deviceId: string, policies: readonly string[]): Promise<void>;
  /** Detaches `policies` from the device's credential. */
  detach(ctx: TenantContext, deviceId: string, policies: readonly string[]): Promise<void>;
}

/** Options of {@link EffectRunner}. */
export interface EffectRunnerOptions {
  /** The registry: `put-record`, `remove-record` and `revoke-credential` write here. */
  readonly devices: DeviceStore;
  /** The audit log: every `audit` effect is appended here. */
  readonly audit: AuditLog;
  /** When given, `request-data-wipe` purges the device's shadows (classic, named, tombstones). */
  readonly shadows?: ShadowStore;
  /** When given, `set-desired` writes the desired configuration through it (a `ShadowService`). */
  readonly desired?: DesiredStateWriter;
  /** When given, `attach-policies` / `detach-policies` call it. */
  readonly policies?: PolicyPort;
}

/** What happened to one effect of a run. */
export interface EffectOutcome {
  /** The effect. */
  readonly effect: LifecycleEffect;
  /** `done`: something executed it; `skipped`: nothing is configured for this effect type. */
  readonly status: 'done' | 'skipped';
}

/** A record write that makes a transition real, run before the effects (see {@link EffectRunner.run}). */
export interface RecordWrite {
  /** The device's next record (`transition`'s or `planDecommission`'s `next`). */
  readonly next: DeviceInput;
  /** The revision it was read at: the write is a compare-and-set on it. */
  readonly expectedRevision: number;
}

/** Options of {@link EffectRunner.run}. */
export interface EffectRunOptions {
  /** The record write of a transition; it runs first. */
  readonly write?: RecordWrite;
  /**
   * For `put-record`: the revision of the record the device is provisioned over (a pre-registered
   * device); absent means the record is new and is created.
   */
  readonly expectedRevision?: number;
}

/** What {@link EffectRunner.run} did. */
export interface EffectRunReport {
  /** Every effect in the order it ran, with its outcome. */
  readonly outcomes: readonly EffectOutcome[];
  /** The stored record after the run's write, if it wrote one (`undefined` after `remove-record`). */
  readonly record: RegisteredDevice | undefined;
  /** The `send-bootstrap` effect, for the caller's reply to the device. */
  readonly bootstrap: SendBootstrapEffect | undefined;
}

// Effects that write the device record itself: they run before every other effect.
const WRITES: ReadonlySet<EffectType> = new Set<EffectType>(['put-record', 'remove-record']);

/**
 * Runs the lifecycle core's effects. Every service hands its effects here instead of interpreting
 * them itself, so an effect means the same thing wherever it comes from.
 *
 * **Order.** The record write that makes the change real runs first — the `write` of a transition
 * (compare-and-set on its revision), or the `put-record` / `remove-record` effects — and then the
 * other effects in the core's order. So an audit entry never describes a change that was not
 * stored: if the write loses a race (`VERSION_CONFLICT`, `ALREADY_EXISTS`), nothing ran and the
 * caller re-reads and retries. In a decommission plan the record becomes `decommissioned` first
 * (which already stops provisioning, the shadow service and the ACLs for that id), then the
 * credential is revoked, as the core orders it.
 *
 * **Built-in effects**: `audit` → {@link AuditLog.append} (action `lifecycle.transition`);
 * `put-record` → {@link DeviceStore.create} (or `update` over a pre-registered record);
 * `remove-record` → {@link DeviceStore.remove}; `revoke-credential` →
 * {@link DeviceStore.addRevocations}; `request-data-wipe` → {@link ShadowStore.purge} when a shadow
 * store is configured; `set-desired` → the {@link DesiredStateWriter}; `attach-policies` /
 * `detach-policies` → the {@link PolicyPort}; `send-bootstrap` is handed back in the report for
 * the reply. Services add handlers with {@link use} (for example `cancel-pending` and
 * `remove-from-monitoring`); an effect that nothing executes is reported `skipped`.
 *
 * **Failures.** The first failing effect stops the run. A failure of the record write is thrown
 * as it is (nothing ran); a later one is thrown as `INTERNAL` with `details.failed` (its type),
 * `details.index` and `details.completed` (the types that ran). Every built-in effect is
 * idempotent, so running the same effects again finishes the job.
 *
 * @example
 * ```ts
 * const runner = new EffectRunner({ devices: stores.devices, audit: stores.audit, shadows: stores.shadows });
 * const r = transition(device, { type: 'health_check_failed', actor: 'monitor' }, { now: clock.now() });
 * if (r.ok && r.next !== null) await runner.run(ctx, r.effects, { write: { next: r.next, expectedRevision: device.revision } });
 * ```
 */
export class EffectRunner {
  readonly #devices: DeviceStore;
  readonly #audit: AuditLog;
  readonly #shadows: ShadowStore | undefined;
  readonly #desired: DesiredStateWriter | undefined;
  readonly #policies: PolicyPort | undefined;
  readonly #handlers = new Map<EffectType, EffectHandler[]>();

  /**
   * @param options - the registry, the audit log and the optional shadow store, desired-state
   *   writer and policy port
   * @throws FleetError `INVALID_ARGUMENT` when `devices` or `audit` is missing.
   */
  constructor(options: EffectRunnerOptions) {
    if (typeof options?.devices?.create !== 'function' || typeof options.audit?.append !== 'function') {
      throw new FleetError('INVALID_ARGUMENT', 'new EffectRunner: pass { devices: DeviceStore, audit: AuditLog, shadows?, desired?, policies? }', { status: 400 });
    }
    this.#devices = options.devices;
    this.#audit = options.audit;
    this.#shadows = options.shadows;
    this.#desired = options.desired;
    this.#policies = options.policies;
  }

  /**
   * Adds a handler for one effect type; it runs after the built-in execution (if any), in the
   * order handlers were added.
   *
   * @returns a function that removes the handler
   * @throws FleetError `INVALID_ARGUMENT` when `handler` is not a function.
   */
  use<T extends EffectType>(type: T, handler: EffectHandler<T>): () => void {
    if (typeof handler !== 'function') throw new FleetError('INVALID_ARGUMENT', `EffectRunner.use: the handler for "${String(type)}" must be a function`, { status: 400 });
    const list = this.#handlers.get(type) ?? [];
    const stored = handler as unknown as EffectHandler;
    list.push(stored);
    this.#handlers.set(type, list);
    return () => {
      const i = list.indexOf(stored);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /**
   * Appends an audit entry that no core effect describes (a registration, a CA change, a command
   * sent): audit entries are written only through the runner.
   *
   * @throws FleetError from the audit log (`TENANT_MISMATCH`, `INVALID_ARGUMENT`).
   */
  record(ctx: TenantContext, entry: AuditInput): Promise<AuditEntry> {
    return this.#audit.append(ctx, entry);
  }

  /**
   * Runs `effects` for the tenant `ctx`: the record write first, then the rest in order.
   *
   * @param ctx - the tenant every effect must belong to
   * @param effects - effects from `transition`, a provisioning function or `planDecommission`
   * @param options - the transition's record `write`, or the `expectedRevision` for `put-record`
   * @returns the outcomes, the stored record and the bootstrap effect
   * @throws FleetError `TENANT_MISMATCH` (nothing runs) when an effect names another tenant;
   *   `INVALID_ARGUMENT` for something that is not an effect; the write's own error
   *   (`VERSION_CONFLICT`, `ALREADY_EXISTS`, …) when the write fails; `INTERNAL` with
   *   `details.completed` when a later effect fails.
   */
  async run(ctx: TenantContext, effects: readonly LifecycleEffect[], options: EffectRunOptions = {}): Promise<EffectRunReport> {
    const tenantId = tenantOf(ctx, 'EffectRunner.run');
    const { write, expectedRevision } = optionsOf('EffectRunner.run', options);
    checkEffects(tenantId, effects);
    const outcomes: EffectOutcome[] = [];
    let record: RegisteredDevice | undefined;
    let bootstrap: SendBootstrapEffect | undefined;
    if (write !== undefined) record = await this.#devices.update(ctx, write.next, write.expectedRevision);
    const ordered = [...effects.filter((e) => WRITES.has(e.type)), ...effects.filter((e) => !WRITES.has(e.type))];
    for (let index = 0; index < ordered.length; index++) {
      const effect = ordered[index] as LifecycleEffect;
      try {
        if (effect.type === 'put-record') record = await this.#putRecord(ctx, effect.record, expectedRevision);
        else if (effect.type === 'remove-record') {
          await this.#devices.remove(ctx, effect.deviceId);
          record = undefined;
        } else if (effect.type === 'send-bootstrap') bootstrap = effect;
        const builtIn = await this.#builtIn(ctx, effect);
        const handled = await this.#handle(ctx, effect);
        outcomes.push({ effect, status: builtIn || handled ? 'done' : 'skipped' });
      } catch (cause) {
        // A failed write: nothing else ran, so the caller can re-read and retry as for a conflict.
        if (WRITES.has(effect.type) && outcomes.length === 0 && isFleetError(cause)) throw cause;
        throw failure(effect, index, outcomes, cause);
      }
    }
    return { outcomes, record, bootstrap };
  }

  async #putRecord(ctx: TenantContext, next: DeviceInput, expectedRevision: number | undefined): Promise<RegisteredDevice> {
    return expectedRevision === undefined ? this.#devices.create(ctx, next) : this.#devices.update(ctx, next, expectedRevision);
  }

  // The stores' own part of each effect; true when the runner executed something.
  async #builtIn(ctx: TenantContext, effect: LifecycleEffect): Promise<boolean> {
    switch (effect.type) {
      case 'put-record':
      case 'remove-record':
      case 'send-bootstrap':
        return true;
      case 'audit':
        await this.#audit.append(ctx, {
          tenantId: effect.tenantId,
          at: effect.at,
          actor: effect.actor,
          action: 'lifecycle.transition',
          subject: effect.deviceId,
          ...(effect.reason === null ? {} : { reason: effect.reason }),
          details: { from: effect.from, to: effect.to, event: effect.event },
        });
        return true;
      case 'revoke-credential':
        await this.#devices.addRevocations(ctx, [effect.revocation]);
        return true;
      case 'request-data-wipe':
        if (this.#shadows === undefined) return false;
        await this.#shadows.purge(ctx, effect.deviceId);
        return true;
      case 'set-desired':
        if (this.#desired === undefined) return false;
        await this.#desired.update(ctx, effect.deviceId, { state: { desired: effect.desired } });
        return true;
      case 'attach-policies':
        if (this.#policies === undefined) return false;
        await this.#policies.attach(ctx, effect.deviceId, effect.policies);
        return true;
      case 'detach-policies':
        if (this.#policies === undefined) return false;
        await this.#policies.detach(ctx, effect.deviceId, effect.policies);
        return true;
      default:
        return false;
    }
  }

  async #handle(ctx: TenantContext, effect: LifecycleEffect): Promise<boolean> {
    const list = this.#handlers.get(effect.type);
    if (list === undefined || list.length === 0) return false;
    for (const handler of [...list]) await handler(ctx, effect as never);
    return true;
  }
}

// Every effect is checked before any runs: one from another tenant means the caller mixed
// tenants up, and running half of them would be worse than running none.
function checkEffects(tenantId: string, effects: readonly LifecycleEffect[]): void {
  if (!Array.isArray(effects)) throw new FleetError('INVALID_ARGUMENT', 'EffectRunner.run: effects must be an array of lifecycle effects', { status: 400 });
  effects.forEach((e: unknown, index) => {
    const effect = e as Partial<LifecycleEffect> | null;
    if (typeof effect !== 'object' || effect === null || typeof effect.type !== 'string') {
      throw new FleetError('INVALID_ARGUMENT', `EffectRunner.run: effects[${index}] is not a lifecycle effect ({ type, deviceId, tenantId, … })`, { status: 400, details: { index } });
    }
    if (effect.tenantId !== tenantId) {
      throw new FleetError('TENANT_MISMATCH', `EffectRunner.run: effects[${index}] (${effect.type}) belongs to another tenant than "${tenantId}"; run each tenant's effects with its own context`, {
        status: 403,
        details: { tenantId, index },
      });
    }
  });
}

function failure(effect: LifecycleEffect, index: number, done: readonly EffectOutcome[], cause: unknown): FleetError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new FleetError('INTERNAL', `EffectRunner.run: the "${effect.type}" effect for device "${effect.deviceId}" failed after ${done.length} effect(s) ran (${why}); the effects are idempotent, so run them again to finish`, {
    status: 500,
    cause,
    details: { failed: effect.type, index, deviceId: effect.deviceId, completed: done.map((o) => o.effect.type) },
  });
}
