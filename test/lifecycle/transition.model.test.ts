import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_TRANSITION_TABLE, extendTransitionTable, transition } from '../../src/lifecycle/index.js';
import type { AuditEffect, DeviceSnapshot, TransitionEffect, TransitionResult } from '../../src/lifecycle/index.js';
import { EVENTS, STATES, expected } from './spec-table.js';
import type { E, S } from './spec-table.js';

/** The model: the diagram's state (or "removed"), the number of accepted events and the last audit time. */
interface Model {
  state: S | 'removed';
  accepted: number;
  lastAt: number;
}

/** The real system: the stored snapshot (null once removed) and every effect run so far. */
interface Real {
  snapshot: DeviceSnapshot | null;
  audit: AuditEffect[];
  effects: TransitionEffect[];
}

class Send implements fc.Command<Model, Real> {
  constructor(
    readonly event: E,
    readonly advance: number,
  ) {}
  check(m: Readonly<Model>): boolean {
    return m.state !== 'removed';
  }
  run(m: Model, r: Real): void {
    const before = r.snapshot as DeviceSnapshot;
    const copy = structuredClone(before);
    const now = m.lastAt + this.advance;
    const result = transition(before, { type: this.event, actor: 'model' }, { now });
    expect(before).toEqual(copy);
    const to = expected(m.state as S, this.event);
    if (to === undefined) {
      expect(result.ok).toBe(false);
      expect(!result.ok && result.error.code).toBe('INVALID_TRANSITION');
      return;
    }
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const audits = result.effects.filter((e): e is AuditEffect => e.type === 'audit');
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ from: m.state, to: to === 'removed' ? null : to, event: this.event, at: now });
    r.audit.push(...audits);
    r.effects.push(...result.effects);
    r.snapshot = result.next;
    if (to === 'removed') expect(r.snapshot).toBeNull();
    else expect(r.snapshot?.state).toBe(to);
    m.state = to;
    m.accepted += 1;
    m.lastAt = now;
  }
  toString(): string {
    return `${this.event}@+${this.advance}`;
  }
}

const commands = EVENTS.map((event) => fc.integer({ min: 0, max: 60_000 }).map((advance) => new Send(event, advance)));

describe('transition: model-based (fc.commands)', () => {
  it('matches the diagram for random event sequences', () => {
    fc.assert(
      fc.property(fc.constantFrom(...STATES), fc.commands(commands, { maxCommands: 60 }), (start, cmds) => {
        const model: Model = { state: start, accepted: 0, lastAt: 1_000 };
        const real: Real = { snapshot: { deviceId: 'd-1', tenantId: 't-1', state: start, since: 1_000 }, audit: [], effects: [] };
        fc.modelRun(() => ({ model, real }), cmds);
        expect(real.audit).toHaveLength(model.accepted);
      }),
      { numRuns: 300 },
    );
  });
});

describe('transition: properties', () => {
  const eventArb = fc.constantFrom(...EVENTS);

  it('decommissioned is terminal: only data_wiped is accepted, and it removes the record', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 40 }), (events) => {
        let s: DeviceSnapshot | null = { deviceId: 'd', tenantId: 't', state: 'decommissioned', since: 0 };
        for (const type of events) {
          if (s === null) break;
          const r: TransitionResult = transition(s, { type }, { now: 1 });
          if (r.ok) {
            expect(type).toBe('data_wiped');
            expect(r.next).toBeNull();
          } else {
            expect(r.error.code).toBe('INVALID_TRANSITION');
          }
          s = r.ok ? r.next : s;
          if (s !== null) expect(s.state).toBe('decommissioned');
        }
      }),
    );
  });

  it('no extension can make decommissioned non-terminal', () => {
    const ruleArb = fc.record({ from: fc.constantFrom(...STATES), event: eventArb, to: fc.option(fc.constantFrom(...STATES), { nil: null }) });
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 6 }), (rules) => {
        let table = DEFAULT_TRANSITION_TABLE;
        for (const rule of rules) {
          try {
            table = extendTransitionTable(table, [rule]);
          } catch {
            // refused rules are fine; what matters is what got in
          }
        }
        for (const event of EVENTS) {
          const r = transition({ deviceId: 'd', tenantId: 't', state: 'decommissioned', since: 0 }, { type: event }, { now: 1, table });
          if (r.ok) expect(r.next).toBeNull();
        }
      }),
    );
  });

  it('one audit effect per accepted transition, none per rejected one; audit time never goes backwards', () => {
    const step = fc.record({ type: eventArb, dt: fc.integer({ min: -5_000, max: 5_000 }) });
    fc.assert(
      fc.property(fc.constantFrom(...STATES), fc.array(step, { maxLength: 80 }), (start, steps) => {
        let s: DeviceSnapshot | null = { deviceId: 'd', tenantId: 't', state: start, since: 10_000 };
        let now = 10_000;
        let accepted = 0;
        const audit: AuditEffect[] = [];
        for (const { type, dt } of steps) {
          if (s === null) break;
          now += dt;
          const r: TransitionResult = transition(s, { type }, { now });
          if (!r.ok) continue;
          accepted += 1;
          audit.push(...r.effects.filter((e): e is AuditEffect => e.type === 'audit'));
          s = r.next;
        }
        expect(audit).toHaveLength(accepted);
        for (let i = 1; i < audit.length; i++) expect((audit[i] as AuditEffect).at).toBeGreaterThanOrEqual((audit[i - 1] as AuditEffect).at);
      }),
    );
  });
});
