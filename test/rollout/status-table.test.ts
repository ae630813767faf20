/**
 * The device status table, cell by cell, through the public tracker: every report type from
 * every status a device can be in — the status it moves to (and its in-progress phase), a repeat
 * or late report that changes nothing, or a refusal naming the status and the report.
 */
import { describe, expect, it } from 'vitest';
import { HOUR, fleet, rig } from './helpers.js';
import { DEVICE_REPORT_TYPES, DEVICE_STATUSES, isTerminalStatus } from './imports.js';
import type { DeviceReportType } from './imports.js';

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0);
const N = DEVICE_REPORT_TYPES.length;

type Start = 'pending' | 'dispatched' | 'installing' | 'booting' | 'succeeded' | 'failed' | 'rejected' | 'rolled_back' | 'timed_out' | 'unreachable' | 'cancelled';

/** A tracker with N devices all in `start` (and one more device, used to reach the deadline and cancelled states). */
function devicesIn(start: Start) {
  const r = rig(fleet(N + 1), { stages: [{ percent: 100 }], abort: { failureRate: start === 'cancelled' ? 0.001 : 0.99 }, deadlines: { pickupMs: HOUR, runMs: HOUR } });
  const ids = r.plan.devices.map((d) => d.id).slice(0, N);
  const extra = r.plan.devices[N]!.id;
  if (start === 'pending') return { r, ids };
  r.step(T0);
  const path: Partial<Record<Start, DeviceReportType[]>> = {
    installing: ['picked_up'],
    booting: ['picked_up', 'installed'],
    succeeded: ['picked_up', 'installed', 'boot_confirmed'],
    failed: ['picked_up', 'failed'],
    rejected: ['rejected'],
    rolled_back: ['picked_up', 'installed', 'rolled_back'],
    timed_out: ['picked_up'],
  };
  r.send(ids, path[start] ?? [], T0 + 1);
  if (start === 'timed_out' || start === 'unreachable') {
    r.send([extra], ['picked_up', 'installed', 'boot_confirmed'], T0 + 1);
    r.step(T0 + HOUR + 1);
  }
  if (start === 'cancelled') {
    // The failure aborts the rollout; the halt cancels the jobs nobody picked up yet.
    r.send([extra], ['failed'], T0 + 2);
    r.step(T0 + 3);
  }
  return { r, ids };
}

// Columns: picked_up, installed, boot_confirmed, failed, rejected, rolled_back. A string is the
// status (with the phase for in_progress) after the report; '=' a report that changes nothing;
// 'x' a refusal.
const TABLE: Record<Start, readonly string[]> = {
  pending: ['x', 'x', 'x', 'x', 'x', 'x'],
  dispatched: ['in_progress:installing', 'in_progress:booting', 'succeeded', 'failed', 'rejected', 'rolled_back'],
  installing: ['=', 'in_progress:booting', 'succeeded', 'failed', 'rejected', 'rolled_back'],
  booting: ['=', '=', 'succeeded', 'failed', 'x', 'rolled_back'],
  succeeded: ['=', '=', '=', '=', '=', '='],
  failed: ['=', '=', '=', '=', '=', '='],
  rejected: ['=', '=', '=', '=', '=', '='],
  rolled_back: ['=', '=', '=', '=', '=', '='],
  timed_out: ['=', '=', '=', '=', '=', '='],
  unreachable: ['=', '=', '=', '=', '=', '='],
  cancelled: ['=', '=', '=', '=', '=', '='],
};

describe('device status table', () => {
  it.each(Object.keys(TABLE) as Start[])('from %s', (start) => {
    const { r, ids } = devicesIn(start);
    const status = start === 'installing' || start === 'booting' ? 'in_progress' : start;
    const phase = start === 'installing' || start === 'booting' ? start : undefined;
    for (const id of ids) expect([r.progress.statusOf(id), r.progress.device(id)?.phase]).toEqual([status, phase]);
    DEVICE_REPORT_TYPES.forEach((type, k) => {
      const id = ids[k]!;
      const cell = TABLE[start][k]!;
      const out = r.progress.report({ deviceId: id, type }, T0 + 10);
      if (cell === 'x') {
        expect(!out.ok && out.error).toMatchObject({
          code: 'INVALID_TRANSITION',
          status: 409,
          message: `Device ${id} is ${status}${start === 'pending' ? ' and was never dispatched' : ''}; a "${type}" report is not valid now`,
          details: { deviceId: id, status, report: type },
        });
        return;
      }
      if (!out.ok) throw out.error;
      const [to, toPhase] = cell === '=' ? [status, phase] : cell.split(':');
      expect({ type, applied: out.applied, from: out.from, to: out.to }).toEqual({ type, applied: cell !== '=', from: status, to });
      expect(r.progress.device(id)?.phase).toBe(toPhase);
    });
  });

  it('terminal statuses are exactly the seven outcomes', () => {
    expect(DEVICE_STATUSES.filter(isTerminalStatus)).toEqual(['succeeded', 'failed', 'rejected', 'timed_out', 'rolled_back', 'unreachable', 'cancelled']);
    expect(isTerminalStatus('nope' as never)).toBe(false);
  });
});
