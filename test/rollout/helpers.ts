import { FleetError } from '../../src/errors.js';
import type { RolloutDevice, RolloutSpec } from '../../src/rollout/index.js';

export const FIRMWARE = { version: '2.0.0', url: 'https://updates.example.com/fw-2.0.0.bin', sha256: 'ab'.repeat(32), size: 1_048_576 };

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** `n` active devices on 1.0.0 with ids dev-0000… */
export function fleet(n: number, overrides: (i: number) => Partial<RolloutDevice> = () => ({})): RolloutDevice[] {
  return Array.from({ length: n }, (_, i) => ({ id: `dev-${String(i).padStart(4, '0')}`, tenantId: 'acme', firmware: '1.0.0', state: 'active', ...overrides(i) }));
}

/** A spec for `devices` with the given extras. */
export function spec(devices: RolloutDevice[], extra: Partial<RolloutSpec> = {}): RolloutSpec {
  return { rolloutId: 'fw-2.0.0', firmware: FIRMWARE, devices, ...extra };
}

import { createRolloutProgress, planRollout, stepRollout } from '../../src/rollout/index.js';
import type { DeviceReportType, RolloutPlan, RolloutProgress, RolloutStep } from '../../src/rollout/index.js';

/** A plan and its tracker, plus small drivers used by the example tests. */
export interface Rig {
  readonly plan: RolloutPlan;
  readonly progress: RolloutProgress;
  step(now: number): RolloutStep;
  /** Reports `types` in order for each device; throws on a refused report. */
  send(ids: readonly string[], types: readonly DeviceReportType[], now: number): void;
  /** Ids of the devices of one stage. */
  stageIds(stage: number): string[];
}

export function rig(devices: RolloutDevice[], extra: Partial<RolloutSpec> = {}): Rig {
  const plan = planRollout(spec(devices, extra));
  const progress = createRolloutProgress(plan);
  return {
    plan,
    progress,
    step: (now) => stepRollout(plan, progress, { now }),
    send(ids, types, now) {
      for (const deviceId of ids) {
        for (const type of types) {
          const r = progress.report({ deviceId, type }, now);
          if (!r.ok) throw r.error;
        }
      }
    },
    stageIds: (stage) => plan.devices.filter((d) => d.stage === stage).map((d) => d.id),
  };
}

/** The full happy path of one device. */
export const OK: readonly DeviceReportType[] = ['picked_up', 'installed', 'boot_confirmed'];

/** The FleetError `fn` throws (fails the test when it throws something else or nothing). */
export function errorOf(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FleetError) return e;
    throw e;
  }
  throw new Error('expected a FleetError, nothing was thrown');
}
