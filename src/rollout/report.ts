/**
 * Device reports: what a device says about its update job.
 */
import { z } from 'zod';
import { DEVICE_REPORT_TYPES } from './status.js';
import type { DeviceReportType } from './status.js';

/** Schema of a device report, for validating reports at the edge (wire → core). */
export const deviceReportSchema = z.object({
  deviceId: z.string().min(1).max(256),
  type: z.enum(DEVICE_REPORT_TYPES),
  /** Free text from the device (an error code, a reason for rejecting), kept for logs. */
  reason: z.string().max(1024).optional(),
});

/** One device report. */
export interface DeviceReport {
  readonly deviceId: string;
  readonly type: DeviceReportType;
  /** Free text from the device, for logs. */
  readonly reason?: string;
}
