import fc from 'fast-check';
import { createMachine, initialTransition, transition as xTransition } from 'xstate';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import {
  DEFAULT_TRANSITION_TABLE,
  LIFECYCLE_EVENTS,
  LIFECYCLE_STATES,
  acceptedEvents,
  createDeviceSnapshot,
  extendTransitionTable,
  lifecycleMachineConfig,
  parseDeviceSnapshot,
  transition,
} from '../../src/lifecycle/index.js';
import type { DeviceSnapshot, LifecycleEvent, LifecycleEventType, TransitionOptions } from '../../src/lifecycle/index.js';
import { EVENTS, SPEC, STATES, expected } from './spec-table.js';

function snap(state: DeviceSnapshot['state']): DeviceSnapshot {
  return Object.freeze({ deviceId: 'dev-1', tenantId: 'acme', state, since: 1_000, updatedAt: 2_000 });
}

describe('transition: the 6 × 13 state/event table', () => {
  it('exports exactly the six states and thirteen events', () => {
    expect([...LIFECYCLE_STATES]).toEqual([...STATES]);
    expect([...LIFECYCLE_EVENTS]).toEqual([...EVENTS]);
    expect(SPEC.size).toBe(13);
  });

  for (const state of STATES) {
    for (const event of EVENTS) {
      const to = expected(state, event);
      it(`${state} × ${event} → ${to ?? 'INVALID_TRANSITION'}`, () => {
        const before = snap(state);
        const copy = structuredClone(before);
        const r = transition(before, { type: event, actor: 'ops', reason: 'test' }, { now: 5_000 });
        expect(before).toEqual(copy);
        if (to === undefined) {
          expect(r.ok).toBe(false);
          if (r.ok) return;
          expect(r.error.code).toBe('INVALID_TRANSITION');
          expect(r.error.status).toBe(409);
          expect(r.error.message).toContain(`"${state}"`);
          expect(r.error.message).toContain(`"${event}"`);
          const accepted = EVENTS.filter((e) => expected(state, e) !== undefined);
          expect(r.error.details?.['accepted']).toEqual(accepted);
          for (const e of accepted) expect(r.error.message).toContain(e);
          return;
        }
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        const audit = r.effects.filter((e) => e.type === 'audit');
        expect(audit).toEqual([
          { type: 'audit', deviceId: 'dev-1', tenantId: 'acme', from: state, to: to === 'removed' ? null : to, event, actor: 'ops', reason: 'test', at: 5_000 },
        ]);
        if (to === 'removed') {
          expect(r.next).toBeNull();
          expect(r.effects).toContainEqual({ type: 'remove-record', deviceId: 'dev-1', tenantId: 'acme' });
        } else {
          expect(r.next).toEqual({ ...before, state: to, since: to === state ? before.since : 5_000, updatedAt: 5_000 });
          expect(r.effects).toHaveLength(1);
        }
      });
    }
  }
});

describe('transition: details', () => {
  it('types next as null for data_wiped and as the snapshot type otherwise', () => {
    const wiped = transition(snap('decommissioned'), { type: 'data_wiped' }, { now: 5_000 });
    if (wiped.ok) expectTypeOf(wiped.next).toEqualTypeOf<null>();
    const beat = transition(snap('active'), { type: 'heartbeat' }, { now: 5_000 });
    if (beat.ok) expectTypeOf(beat.next).toEqualTypeOf<Readonly<DeviceSnapshot>>();
    const any = transition(snap('active'), { type: 'heartbeat' } as { type: LifecycleEventType }, { now: 5_000 });
    if (any.ok) expectTypeOf(any.next).toEqualTypeOf<Readonly<DeviceSnapshot> | null>();
    expect(wiped.ok && beat.ok && any.ok).toBe(true);
  });

  it('fills actor "system" and reason null when the event names none', () => {
    const r = transition(snap('active'), { type: 'heartbeat' }, { now: 3_000 });
    expect(r.ok && r.effects[0]).toMatchObject({ actor: 'system', reason: null });
  });

  it('keeps extra record fields', () => {
    const record = { ...snap('active'), attributes: { site: 'plant-3' } };
    const r = transition(record, { type: 'scheduled_update' }, { now: 3_000 });
    expect(r.ok && r.next.attributes).toEqual({ site: 'plant-3' });
    // five keys, but not the five lifecycle fields: the extra one must survive too
    const odd = { deviceId: 'd', tenantId: 't', state: 'active' as const, since: 1, extra: 'keep' };
    const o = transition(odd, { type: 'heartbeat' }, { now: 2 });
    expect(o.ok && o.next).toEqual({ ...odd, updatedAt: 2 });
  });

  it('refuses a record without its tenant or identity instead of dropping fields', () => {
    // Five keys, but "site" in place of tenantId: it used to be accepted, lose "site" and audit tenantId: undefined.
    const noTenant = { deviceId: 'd', state: 'active' as const, since: 1, updatedAt: 2, site: 'plant-3' };
    const r = transition(noTenant as unknown as DeviceSnapshot, { type: 'heartbeat' }, { now: 3 });
    expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
    expect(!r.ok && r.error.message).toContain('tenantId');
    const cases: [Record<string, unknown>, string][] = [
      [{ tenantId: 't', state: 'active', since: 1, updatedAt: 2, site: 's' }, 'deviceId'],
      [{ deviceId: 'd', tenantId: 10, state: 'active', since: 1, updatedAt: 2 }, 'tenantId'],
      [{ deviceId: 10n, tenantId: 't', state: 'active', since: 1, updatedAt: 2 }, 'deviceId'],
      [{ deviceId: 'd', tenantId: 't', state: 'active', updatedAt: 2, site: 's' }, 'since'],
      [{ deviceId: 'd', tenantId: 't', state: 'active', since: '1', updatedAt: 2 }, 'since'],
    ];
    for (const [snapshot, field] of cases) {
      const c = transition(snapshot as unknown as DeviceSnapshot, { type: 'heartbeat' }, { now: 3 });
      expect(!c.ok && c.error.code, field).toBe('INVALID_ARGUMENT');
      expect(!c.ok && c.error.message, field).toContain(field);
    }
    // A record whose tenant is inherited rather than its own is refused too: the record must carry it.
    const inherited = Object.assign(Object.create({ tenantId: 't' }) as object, { deviceId: 'd', state: 'active', since: 1, updatedAt: 2, site: 's' });
    expect(transition(inherited as unknown as DeviceSnapshot, { type: 'heartbeat' }, { now: 3 }).ok).toBe(false);
  });

  it('property: an accepted transition keeps every field of the record except the lifecycle fields it sets', () => {
    const LIFECYCLE = new Set(['deviceId', 'tenantId', 'state', 'since', 'updatedAt']);
    const extraKey = fc.string({ minLength: 1, maxLength: 8 }).filter((k) => !LIFECYCLE.has(k) && k !== '__proto__');
    // Identity fields may be missing: such a record must be refused, never accepted with fields lost.
    const recordArb = fc.record(
      {
        deviceId: fc.constant('dev-1'),
        tenantId: fc.constant('acme'),
        state: fc.constantFrom(...STATES),
        since: fc.integer({ min: 0, max: 50 }),
        updatedAt: fc.integer({ min: 50, max: 100 }),
        extra: fc.dictionary(extraKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
      },
      { requiredKeys: ['state', 'since', 'extra'] },
    );
    fc.assert(
      fc.property(recordArb, fc.constantFrom(...EVENTS), fc.integer({ min: 100, max: 200 }), (r, type, now) => {
        const { extra, ...lifecycle } = r;
        const snapshot = { ...extra, ...lifecycle } as DeviceSnapshot & Record<string, unknown>;
        const result = transition(snapshot, { type }, { now });
        const to = expected(r.state, type);
        expect(result.ok).toBe(to !== undefined && r.deviceId !== undefined && r.tenantId !== undefined);
        if (!result.ok || result.next === null) return;
        const next = result.next as Record<string, unknown>;
        for (const key of Object.keys(snapshot)) {
          if (key !== 'state' && key !== 'since' && key !== 'updatedAt') expect(next[key], key).toBe(snapshot[key]);
        }
        expect(Object.keys(next).sort()).toEqual([...new Set([...Object.keys(snapshot), 'updatedAt'])].sort());
        expect(next['state']).toBe(to);
        expect(next['updatedAt']).toBe(now);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a now earlier than the last event, so audit time never goes backwards', () => {
    const r = transition(snap('active'), { type: 'heartbeat' }, { now: 1_999 });
    expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
    for (const now of [Number.NaN, Infinity]) {
      const bad = transition(snap('active'), { type: 'heartbeat' }, { now });
      expect(!bad.ok && bad.error.code).toBe('INVALID_ARGUMENT');
    }
    // updatedAt missing: since is the floor
    const noUpdated = { deviceId: 'd', tenantId: 't', state: 'active' as const, since: 10 };
    expect(transition(noUpdated, { type: 'heartbeat' }, { now: 9 }).ok).toBe(false);
    expect(transition(noUpdated, { type: 'heartbeat' }, { now: 10 }).ok).toBe(true);
  });

  it('diagnoses unknown states and event types, including prototype names', () => {
    for (const type of ['reboot', 'toString', '__proto__', 'constructor']) {
      const r = transition(snap('active'), { type: type as LifecycleEventType }, { now: 3_000 });
      expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
      expect(!r.ok && r.error.message).toContain('unknown event type');
    }
    for (const [state, type] of [['constructor', 'name'], ['__proto__', '__proto__'], ['valueOf', 'length']]) {
      const r = transition({ ...snap('active'), state: state as 'active' }, { type: type as LifecycleEventType }, { now: 3_000 });
      expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
    }
    for (const state of ['broken', 'toString', '__proto__']) {
      const r = transition({ ...snap('active'), state: state as 'active' }, { type: 'heartbeat' }, { now: 3_000 });
      expect(!r.ok && r.error.message).toContain('unknown state');
    }
  });

  it('refuses missing arguments and corrupt stored times with INVALID_ARGUMENT instead of throwing', () => {
    const cases: [unknown, unknown, unknown, string][] = [
      [null, { type: 'heartbeat' }, { now: 3_000 }, 'snapshot must be an object'],
      [snap('active'), null, { now: 3_000 }, 'event must be an object'],
      [snap('active'), { type: 'heartbeat' }, undefined, 'now (undefined)'],
      [{ ...snap('active'), updatedAt: Number.NaN }, { type: 'heartbeat' }, { now: 3_000 }, 'updatedAt (NaN)'],
      [{ deviceId: 'd', tenantId: 't', state: 'active', since: Number.NaN }, { type: 'heartbeat' }, { now: 3_000 }, 'since (NaN)'],
      [{ deviceId: 'd', tenantId: 't', state: 'active', since: '5' }, { type: 'heartbeat' }, { now: 3_000 }, 'since ("5")'],
      [{ deviceId: 'd', tenantId: 't', state: 'active', since: -Infinity }, { type: 'heartbeat' }, { now: 3_000 }, 'since (-Infinity)'],
      [snap('active'), { type: 'heartbeat' }, { now: '3000' }, 'now ("3000")'],
      // values whose own toString throws, or that JSON cannot print, are described, not called
      [{ ...snap('active'), updatedAt: { toString: {} } }, { type: 'heartbeat' }, { now: 3_000 }, 'updatedAt (an object)'],
      [snap('active'), { type: 'heartbeat' }, { now: { valueOf: () => { throw new Error('boom'); } } }, 'now (an object)'],
      [{ ...snap('active'), state: 10n }, { type: 'heartbeat' }, { now: 3_000 }, 'unknown state 10'],
      [snap('active'), { type: 10n }, { now: 3_000 }, 'unknown event type 10'],
    ];
    for (const [s, e, o, fragment] of cases) {
      const r = transition(s as DeviceSnapshot, e as LifecycleEvent, o as TransitionOptions);
      expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
      expect(!r.ok && r.error.message).toContain(fragment);
    }
  });

  it('property: any malformed input is refused with a FleetError (never thrown, never mutated), and INVALID_TRANSITION only for a pair the diagram lacks', () => {
    const hostile = fc.constantFrom<unknown>({ toString: {} }, { valueOf: {} }, [1], 10n);
    const junk = fc.oneof(fc.constant(undefined), fc.constant(null), fc.double(), fc.integer(), fc.string({ maxLength: 12 }), fc.constant(-Infinity), hostile);
    const time = fc.oneof(fc.integer({ min: 0, max: 100 }), junk);
    const snapshotArb = fc.oneof(
      { weight: 1, arbitrary: junk },
      {
        weight: 6,
        arbitrary: fc.record(
          { deviceId: fc.constant('d'), tenantId: fc.constant('t'), state: fc.oneof(fc.constantFrom(...STATES), junk), since: time, updatedAt: time },
          { requiredKeys: ['deviceId', 'tenantId', 'state', 'since'] },
        ),
      },
    );
    const eventArb = fc.oneof({ weight: 1, arbitrary: junk }, { weight: 6, arbitrary: fc.record({ type: fc.oneof(fc.constantFrom(...EVENTS), junk) }) });
    const nowArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 200 }) }, { weight: 1, arbitrary: junk });
    fc.assert(
      fc.property(snapshotArb, eventArb, nowArb, (s, e, now) => {
        const copy = structuredClone(s);
        const r = transition(s as DeviceSnapshot, e as LifecycleEvent, { now: now as number });
        expect(s).toEqual(copy);
        if (r.ok) {
          const valid = s as DeviceSnapshot;
          const last = valid.updatedAt ?? valid.since;
          expect(typeof now === 'number' && typeof last === 'number' && Number.isFinite(now) && Number.isFinite(last) && now >= last).toBe(true);
          expect(expected(valid.state, (e as LifecycleEvent).type)).not.toBeUndefined();
          return;
        }
        expect(isFleetError(r.error)).toBe(true);
        expect(['INVALID_ARGUMENT', 'INVALID_TRANSITION']).toContain(r.error.code);
        if (r.error.code === 'INVALID_TRANSITION') {
          // the refusal is about the pair, never a disguised bad time or value
          expect(expected((s as DeviceSnapshot).state, (e as LifecycleEvent).type)).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('createDeviceSnapshot is the factory default; parseDeviceSnapshot validates', () => {
    expect(createDeviceSnapshot({ deviceId: 'd', tenantId: 't', now: 7 })).toEqual({ deviceId: 'd', tenantId: 't', state: 'unprovisioned', since: 7, updatedAt: 7 });
    expect(() => createDeviceSnapshot({ deviceId: '', tenantId: 't', now: 7 })).toThrow(/deviceId/);
    expect(parseDeviceSnapshot({ ...snap('degraded'), extra: 1 })).toMatchObject({ state: 'degraded', extra: 1 });
    try {
      parseDeviceSnapshot({ deviceId: 'd', tenantId: 't', state: 'zombie', since: 1 });
      expect.unreachable();
    } catch (e) {
      expect(isFleetError(e, 'INVALID_INPUT')).toBe(true);
      expect((e as Error).message).toContain('state');
    }
  });
});

describe('extendTransitionTable', () => {
  const table = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [{ from: 'maintenance', event: 'end_of_life', to: 'decommissioned' }]);

  it('adds transitions only to the table it returns', () => {
    expect(transition(snap('maintenance'), { type: 'end_of_life' }, { now: 3_000 }).ok).toBe(false);
    const r = transition(snap('maintenance'), { type: 'end_of_life' }, { now: 3_000, table });
    expect(r.ok && r.next.state).toBe('decommissioned');
    expect(acceptedEvents('maintenance', table)).toEqual(['update_complete', 'update_failed', 'end_of_life']);
    expect(acceptedEvents('maintenance')).toEqual(['update_complete', 'update_failed']);
    expect(table.extensions).toEqual([{ from: 'maintenance', event: 'end_of_life', to: 'decommissioned' }]);
    expect(DEFAULT_TRANSITION_TABLE.rules).toHaveLength(13);
    // lookups by an untrusted state name never find inherited members such as "toString"
    expect(Object.getPrototypeOf(DEFAULT_TRANSITION_TABLE.accepted)).toBeNull();
    expect(Object.getPrototypeOf(table.targets)).toBeNull();
  });

  it('refuses redefinitions, exits from decommissioned, misuse of removal and malformed rules', () => {
    const bad: unknown[] = [
      { from: 'active', event: 'heartbeat', to: 'degraded' },
      { from: 'decommissioned', event: 'auto_recovery', to: 'active' },
      { from: 'unprovisioned', event: 'data_wiped', to: 'active' },
      { from: 'unprovisioned', event: 'end_of_life', to: null },
      { from: 'active', event: 'reboot', to: 'active' },
      { from: 'active', event: 'heartbeat' },
      'active->degraded',
    ];
    for (const rule of bad) {
      expect(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [rule])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    }
    // the same pair twice in one call is a redefinition too
    const twice = { from: 'unprovisioned', event: 'end_of_life', to: 'decommissioned' };
    expect(() => extendTransitionTable(DEFAULT_TRANSITION_TABLE, [twice, twice])).toThrow(/already handles/);
    // removal of a never-provisioned record is a legal extension
    const removable = extendTransitionTable(DEFAULT_TRANSITION_TABLE, [{ from: 'unprovisioned', event: 'data_wiped', to: null }]);
    expect(transition(snap('unprovisioned'), { type: 'data_wiped' }, { now: 3_000, table: removable })).toMatchObject({ ok: true, next: null });
  });
});

describe('lifecycleMachineConfig', () => {
  it('drives xstate to the same states as the reducer', () => {
    const machine = createMachine(lifecycleMachineConfig());
    for (const state of STATES) {
      for (const event of EVENTS) {
        const to = expected(state, event);
        const [start] = initialTransition(machine);
        const at = machine.resolveState({ ...start, value: state } as Parameters<typeof machine.resolveState>[0]);
        const [next] = xTransition(machine, at, { type: event });
        expect(next.value).toBe(to === undefined ? state : to);
      }
    }
  });

  it('is plain data (JSON round-trip)', () => {
    const config = lifecycleMachineConfig();
    expect(JSON.parse(JSON.stringify(config))).toEqual(config);
  });
});
