/**
 * Per-device rollout status: the public names, the compact codes the tracker stores, and the
 * transition table device reports move through.
 */

/**
 * Every status a device can have in a rollout.
 *
 * `pending → dispatched → in_progress → succeeded | failed | rejected | timed_out | rolled_back | unreachable`,
 * plus `cancelled` for devices whose job was withdrawn before they picked it up, and for devices
 * withdrawn from the rollout (decommissioned) before they had an outcome.
 * `succeeded` means boot-confirmed: the device runs the new image and committed its slot.
 */
export const DEVICE_STATUSES = [
  'pending',
  'dispatched',
  'in_progress',
  'succeeded',
  'failed',
  'rejected',
  'timed_out',
  'rolled_back',
  'unreachable',
  'cancelled',
] as const;

/** A device's status in a rollout. */
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** Where an `in_progress` device is: downloading/writing the image, or booted into it awaiting its health checks. */
export type InProgressPhase = 'installing' | 'booting';

// Compact codes stored per device (a Uint8Array). BOOTING is `in_progress` in the booting phase.
/** @internal */ export const PENDING = 0;
/** @internal */ export const DISPATCHED = 1;
/** @internal */ export const INSTALLING = 2;
/** @internal */ export const SUCCEEDED = 3;
/** @internal */ export const FAILED = 4;
/** @internal */ export const REJECTED = 5;
/** @internal */ export const TIMED_OUT = 6;
/** @internal */ export const ROLLED_BACK = 7;
/** @internal */ export const UNREACHABLE = 8;
/** @internal */ export const CANCELLED = 9;
/** @internal */ export const BOOTING = 10;
/** @internal Number of internal codes. */ export const CODE_COUNT = 11;

/** @internal The public status of an internal code. */
export function statusName(code: number): DeviceStatus {
  return code === BOOTING ? 'in_progress' : DEVICE_STATUSES[code]!;
}

const TERMINAL: ReadonlySet<string> = new Set<DeviceStatus>(['succeeded', 'failed', 'rejected', 'timed_out', 'rolled_back', 'unreachable', 'cancelled']);

/**
 * True for a status no device report can change any more; false for `pending`, `dispatched`,
 * `in_progress` and for anything that is not a {@link DeviceStatus}.
 *
 * @param status - a device status
 */
export function isTerminalStatus(status: DeviceStatus): boolean {
  return TERMINAL.has(status);
}

/** What a device can report about its update job. */
export const DEVICE_REPORT_TYPES = ['picked_up', 'installed', 'boot_confirmed', 'failed', 'rejected', 'rolled_back'] as const;

/**
 * A device report type:
 * - `picked_up`: the device accepted its job and started downloading;
 * - `installed`: the image is written to the inactive slot and the device is rebooting into it;
 * - `boot_confirmed`: the device booted the new slot, its health checks passed and it committed
 *   the slot (see `evaluateBoot`); only this makes a device `succeeded`;
 * - `failed`: download, verification or installation failed (the device stays on its old slot);
 * - `rejected`: the device declined the job before installing (incompatible, low battery, …);
 * - `rolled_back`: the device booted the new slot, failed its checks or rebooted, and fell back
 *   to its old slot.
 */
export type DeviceReportType = (typeof DEVICE_REPORT_TYPES)[number];

/** @internal Sentinel results of {@link nextCode}. */
export const DUPLICATE = -1;
/** @internal */ export const LATE = -2;
/** @internal */ export const INVALID = -3;

/** @internal Report type → compact index. */
export const REPORT_INDEX: Readonly<Record<DeviceReportType, number>> = {
  picked_up: 0,
  installed: 1,
  boot_confirmed: 2,
  failed: 3,
  rejected: 4,
  rolled_back: 5,
};

const I = INVALID;
const D = DUPLICATE;
const L = LATE;
// Rows: current code; columns: picked_up, installed, boot_confirmed, failed, rejected, rolled_back.
// A device that skips a step (a lost message) still lands in the right place: a boot confirmation
// is the only way to success, so nothing is recorded as a success before the post-boot check.
const TABLE: readonly (readonly number[])[] = [
  /* pending     */ [I, I, I, I, I, I],
  /* dispatched  */ [INSTALLING, BOOTING, SUCCEEDED, FAILED, REJECTED, ROLLED_BACK],
  /* installing  */ [D, BOOTING, SUCCEEDED, FAILED, REJECTED, ROLLED_BACK],
  /* succeeded   */ [L, L, D, L, L, L],
  /* failed      */ [L, L, L, D, L, L],
  /* rejected    */ [L, L, L, L, D, L],
  /* timed_out   */ [L, L, L, L, L, L],
  /* rolled_back */ [L, L, L, L, L, D],
  /* unreachable */ [L, L, L, L, L, L],
  /* cancelled   */ [L, L, L, L, L, L],
  /* booting     */ [D, D, SUCCEEDED, FAILED, I, ROLLED_BACK],
];

/**
 * @internal The code a device moves to on a report, or DUPLICATE (repeat of what is already
 * recorded), LATE (the device is terminal; the report changes no counter) or INVALID.
 */
export function nextCode(code: number, report: number): number {
  // The tracker only holds codes below CODE_COUNT: every code has its row.
  return TABLE[code]![report] ?? INVALID;
}
