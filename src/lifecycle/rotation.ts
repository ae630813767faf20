/**
 * Certificate rotation planning: which devices need a new certificate, and how soon.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import type { DeviceIdentity, DeviceRecord } from './record.js';

/** One device in a {@link RotationPlan}. */
export interface RotationItem {
  /** The device. */
  readonly deviceId: string;
  /** Its tenant. */
  readonly tenantId: string;
  /** Serial of the certificate in use. */
  readonly serial: string;
  /** Its issuer. */
  readonly issuer: string;
  /** When it expires (epoch ms). */
  readonly notAfter: number;
  /** Time left (ms); negative when already expired. */
  readonly expiresInMs: number;
  /**
   * `rotate`: the device can still authenticate and request a new certificate over its current one.
   * `reprovision`: it expired; the device cannot authenticate any more and needs a new identity
   * through the factory or a claim flow (an expired certificate is never accepted).
   */
  readonly action: 'rotate' | 'reprovision';
}

/** What {@link certificatesExpiring} returns. */
export interface RotationPlan {
  /** The `now` the plan was made for. */
  readonly generatedAt: number;
  /** The horizon (ms). */
  readonly within: number;
  /** Devices in order of expiry, soonest (or longest expired) first. */
  readonly items: readonly RotationItem[];
}

/**
 * The fields of a record the planner reads. `identity` may be missing (a pre-registered device that
 * has no credential yet), so a whole registry can be passed as it is.
 */
export type RotationCandidate = Pick<DeviceRecord, 'deviceId' | 'tenantId' | 'state'> & { readonly identity?: DeviceIdentity };

/**
 * Lists the certificate devices whose certificate expires within `within` ms of `now` (or already
 * has). Symmetric-key devices, devices without a credential yet and decommissioned devices are skipped.
 *
 * @param records - device records (any iterable: an array, `registry.values()`, …)
 * @param options - `within` (ms, ≥ 0) and `now` (epoch ms)
 * @throws FleetError `INVALID_ARGUMENT` when `within` or `now` is not a finite number (or `within` < 0),
 *   when `records` is not iterable, or when an entry is not a record object (or is a certificate record
 *   without a numeric `identity.notAfter` or a string `deviceId`).
 *
 * @example
 * ```ts
 * const plan = certificatesExpiring(records, { within: 30 * 86_400_000, now: clock.now() });
 * for (const item of plan.items) if (item.action === 'rotate') scheduleRotation(item.deviceId);
 * ```
 */
export function certificatesExpiring(records: Iterable<RotationCandidate>, options: { readonly within: number; readonly now: number }): RotationPlan {
  const within = options?.within;
  const now = options?.now;
  if (!Number.isFinite(within) || within < 0 || !Number.isFinite(now)) {
    throw new FleetError('INVALID_ARGUMENT', `certificatesExpiring: within must be a finite number of ms ≥ 0 and now a finite epoch-ms time (got within=${describeValue(within)}, now=${describeValue(now)})`, {
      status: 400,
    });
  }
  if (typeof (records as Partial<Iterable<unknown>> | null)?.[Symbol.iterator] !== 'function') {
    throw new FleetError('INVALID_ARGUMENT', 'certificatesExpiring: records must be an iterable of device records (an array or registry.values())', { status: 400 });
  }
  const items: RotationItem[] = [];
  let index = 0;
  for (const r of records) {
    if (typeof r !== 'object' || r === null) {
      throw new FleetError('INVALID_ARGUMENT', `certificatesExpiring: entry ${index} is ${r === null ? 'null' : typeof r}, not a device record; pass records with deviceId, tenantId, state and identity`, {
        status: 400,
        details: { index },
      });
    }
    index += 1;
    const id = r.identity;
    if (id?.kind !== 'x509' || r.state === 'decommissioned') continue;
    // typeof: a corrupt record must be named, never compared (which would convert its values).
    if (typeof id.notAfter !== 'number' || typeof r.deviceId !== 'string') {
      throw new FleetError('INVALID_ARGUMENT', `certificatesExpiring: entry ${index - 1} has an x509 identity without a numeric notAfter or a string deviceId; validate stored records`, {
        status: 400,
        details: { index: index - 1 },
      });
    }
    if (id.notAfter > now + within) continue;
    const expiresInMs = id.notAfter - now;
    items.push({ deviceId: r.deviceId, tenantId: r.tenantId, serial: id.serial, issuer: id.issuer, notAfter: id.notAfter, expiresInMs, action: expiresInMs < 0 ? 'reprovision' : 'rotate' });
  }
  items.sort((a, b) => a.notAfter - b.notAfter || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  return { generatedAt: now, within, items };
}
