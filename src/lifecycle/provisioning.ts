/**
 * The steps every provisioning method shares once the identity is proven: fill the template, check
 * the device id is free, run `registration_initiated` → `config_complete` and list the effects.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { invalidArgument } from './arguments.js';
import type { AuditEffect, ProvisioningEffect } from './effects.js';
import type { DeviceIdentity, DeviceRecord, ExistingDevice, ExistingDeviceLookup } from './record.js';
import { createDeviceSnapshot } from './snapshot.js';
import type { DeviceSnapshot } from './snapshot.js';
import type { TransitionTable } from './table.js';
import { fillProvisioningTemplate } from './template.js';
import type { ProvisioningTemplate, TemplateParameters } from './template.js';
import { transition } from './transition.js';

/** What a provisioning function returns. */
export type ProvisioningResult =
  | {
      readonly ok: true;
      /** The new device record, in state `active`. */
      readonly record: DeviceRecord;
      /**
       * In order: audit `registration_initiated`, `put-record`, `attach-policies` (if any),
       * `set-desired` (if any), audit `config_complete`, `send-bootstrap` (if the template has a home rule).
       */
      readonly effects: readonly ProvisioningEffect[];
    }
  | { readonly ok: false; readonly error: FleetError };

/** Options every provisioning method shares. */
export interface ProvisioningOptions {
  /** The time of the request (epoch ms). */
  readonly now: number;
  /** The template; see {@link defineProvisioningTemplate}. */
  readonly template: ProvisioningTemplate;
  /** Reads the record currently stored under a device id; omit when the registry is empty. */
  readonly existing?: ExistingDeviceLookup;
  /**
   * The actor recorded in the audit effects.
   * @defaultValue `'provisioning'`
   */
  readonly actor?: string;
  /** An extended transition table, if the caller uses one. */
  readonly table?: TransitionTable;
}

/** The facts a provisioning method has established about the device. */
export interface ProvenIdentity {
  /** The verified credential. */
  readonly identity: DeviceIdentity;
  /** Template parameters taken from the credential (untrusted values; the template checks them). */
  readonly params: TemplateParameters;
  /** The method's default `deviceId` and `tenantId` templates. */
  readonly defaults: { readonly deviceId: string; readonly tenantId: string };
  /** The tenant that owns the CA or group, if any: devices may only join that tenant. */
  readonly ownerTenantId: string | undefined;
  /** What the parameters came from, for messages ("certificate subject"). */
  readonly source: string;
  /** The provisioning method, recorded as the reason of `registration_initiated`. */
  readonly method: string;
}

function failure(code: 'ALREADY_PROVISIONED' | 'TENANT_MISMATCH', status: number, message: string, details: Record<string, unknown>): ProvisioningResult {
  return { ok: false, error: new FleetError(code, message, { status, details }) };
}

/**
 * A pre-registered record in `unprovisioned` may be (re)provisioned by the same identity or, if it has
 * none yet, by any; everything else under that id is a conflict.
 */
function startingPoint(
  existing: ExistingDevice | undefined,
  deviceId: string,
  tenantId: string,
  identity: DeviceIdentity,
  now: number,
): { readonly start: DeviceSnapshot } | { readonly refused: ProvisioningResult } {
  if (existing === undefined) return { start: createDeviceSnapshot({ deviceId, tenantId, now }) };
  const sameIdentity = existing.identity === undefined || existing.identity.fingerprint === identity.fingerprint;
  if (existing.state === 'unprovisioned' && sameIdentity && existing.tenantId === tenantId) return { start: existing };
  return {
    refused: failure(
      'ALREADY_PROVISIONED',
      409,
      `Device "${deviceId}" already exists (state "${existing.state}", tenant "${existing.tenantId}"${sameIdentity ? '' : ', another credential'}); decommission and wipe it before reusing the id`,
      { deviceId, state: existing.state, tenantId: existing.tenantId, sameIdentity },
    ),
  };
}

/**
 * Turns a proven identity into a device record and effects (used by {@link provisionWithCertificate}
 * and {@link provisionWithSymmetricKey}).
 */
export function completeProvisioning(proven: ProvenIdentity, options: ProvisioningOptions): ProvisioningResult {
  const fn = proven.method === 'certificate' ? 'provisionWithCertificate' : 'provisionWithSymmetricKey';
  const lookup: unknown = options.existing;
  if (lookup !== undefined && typeof lookup !== 'function') throw invalidArgument(fn, `existing must be a function (deviceId) => record | undefined, got ${describeValue(lookup)}`);
  const actor: unknown = options.actor ?? 'provisioning';
  if (typeof actor !== 'string') throw invalidArgument(fn, `actor must be a string, got ${describeValue(actor)}`);
  const filled = fillProvisioningTemplate(options.template, proven.params, proven.defaults, proven.source);
  if (!filled.ok) return filled;
  const f = filled.value;
  if (proven.ownerTenantId !== undefined && f.tenantId !== proven.ownerTenantId) {
    return failure('TENANT_MISMATCH', 403, `The ${proven.method} belongs to tenant "${proven.ownerTenantId}" but the template placed the device in "${f.tenantId}"; devices join only their owner's tenant`, {
      ownerTenantId: proven.ownerTenantId,
      tenantId: f.tenantId,
    });
  }
  const found: unknown = options.existing?.(f.deviceId);
  if (found !== undefined && (typeof found !== 'object' || found === null)) {
    throw invalidArgument(fn, `existing(${JSON.stringify(f.deviceId)}) must return the stored record or undefined, got ${describeValue(found)}`);
  }
  const from = startingPoint(found as ExistingDevice | undefined, f.deviceId, f.tenantId, proven.identity, options.now);
  if ('refused' in from) return from.refused;
  const start = from.start;
  const opts = { now: options.now, ...(options.table === undefined ? {} : { table: options.table }) };
  const begun = transition(start, { type: 'registration_initiated', actor, reason: proven.method }, opts);
  if (!begun.ok) return begun;
  const done = transition(begun.next, { type: 'config_complete', actor, reason: `template ${options.template.name}` }, opts);
  if (!done.ok) return done;
  const record: DeviceRecord = {
    ...done.next,
    identity: proven.identity,
    attributes: f.attributes,
    desiredConfig: f.desiredConfig,
    policies: f.policies,
    ...(f.home === undefined ? {} : { home: f.home }),
    template: options.template.name,
    provisionedAt: options.now,
  };
  const ref = { deviceId: f.deviceId, tenantId: f.tenantId };
  const effects: ProvisioningEffect[] = [...(begun.effects as AuditEffect[]), { type: 'put-record', ...ref, record }];
  if (f.policies.length > 0) effects.push({ type: 'attach-policies', ...ref, policies: f.policies });
  if (Object.keys(f.desiredConfig).length > 0) effects.push({ type: 'set-desired', ...ref, desired: f.desiredConfig });
  effects.push(...(done.effects as AuditEffect[]));
  if (f.home !== undefined) effects.push({ type: 'send-bootstrap', ...ref, region: f.home.region, endpoint: f.home.endpoint, topics: f.home.topics });
  return { ok: true, record, effects };
}
