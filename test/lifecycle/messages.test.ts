/**
 * Messages and details of lifecycle refusals that the other tests only matched loosely: a stored
 * snapshot that fails its schema, a malformed transition rule, and a corrupt updatedAt.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSITION_TABLE, extendTransitionTable, parseDeviceSnapshot, transition } from '../../src/lifecycle/index.js';
import type { DeviceSnapshot } from '../../src/lifecycle/index.js';

function thrown(f: () => unknown): { code: string; status: number; message: string; details?: unknown } {
  try {
    f();
  } catch (e) {
    return e as { code: string; status: number; message: string; details?: unknown };
  }
  throw new Error('expected a throw');
}

describe('lifecycle refusal messages', () => {
  it('parseDeviceSnapshot names every offending field, or the snapshot itself', () => {
    const e = thrown(() => parseDeviceSnapshot({ deviceId: '', tenantId: 't', state: 'flying', since: 1 }));
    expect(e).toMatchObject({ code: 'INVALID_INPUT', status: 400 });
    expect(e.message).toMatch(/^Invalid device snapshot: deviceId: .+; state: .+$/);
    expect(thrown(() => parseDeviceSnapshot(null)).message).toMatch(/^Invalid device snapshot: snapshot: /);
  });

  it('extendTransitionTable names the rule field that is wrong', () => {
    const rule = { from: 'active', event: 'nope', to: 'active' };
    const e = thrown(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [rule]));
    expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, details: { rule } });
    expect(e.message).toMatch(/^extendTransitionTable: each rule is \{ from: state, event: event type, to: state \| null \}: event: .+$/);
    expect(thrown(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [7])).message).toMatch(/^extendTransitionTable: each rule is \{ from: state, event: event type, to: state \| null \}: rule: /);
  });

  it('transition: a corrupt updatedAt is described in the details', () => {
    const snapshot = { deviceId: 'd', tenantId: 't', state: 'active', since: 1, updatedAt: 'x' } as unknown as DeviceSnapshot;
    const r = transition(snapshot, { type: 'heartbeat' }, { now: 5 });
    expect(!r.ok && r.error).toMatchObject({ code: 'INVALID_ARGUMENT', status: 400, details: { updatedAt: '"x"' } });
    expect(!r.ok && r.error.message).toBe('transition: the snapshot\'s updatedAt ("x") must be a finite epoch-ms time; validate stored snapshots with parseDeviceSnapshot');
  });
});
