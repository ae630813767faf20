import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import {
  acknowledgeAlert,
  alertResponseSla,
  EMPTY_ALERT_STATE,
  evaluateAlerts,
  type AlertEvent,
  type AlertInstance,
  type AlertRuleInput,
  type AlertState,
  type MetricSample,
} from '../../src/monitor/index.js';

const cpu: AlertRuleInput = { name: 'HighLatency', metric: 'latency_p99_ms', op: 'above', fire: 100, resolve: 80, forMs: 60_000, severity: 'critical', groupBy: ['tenant', 'building'] };
const battery: AlertRuleInput = { name: 'LowBattery', metric: 'battery_v', op: 'below', fire: 3.0, resolve: 3.2, forMs: 0, groupBy: ['tenant'] };
const RULES = [cpu, battery];

const sampleArb: fc.Arbitrary<MetricSample> = fc.record({
  metric: fc.constantFrom('latency_p99_ms', 'battery_v', 'other'),
  labels: fc.record({ tenant: fc.constantFrom('acme', 'globex'), building: fc.constantFrom('b1', 'b2') }),
  value: fc.oneof(fc.integer({ min: 0, max: 150 }), fc.double({ min: 2.5, max: 3.6, noNaN: true })),
});
const stepsArb = fc.array(fc.tuple(fc.integer({ min: 0, max: 40_000 }), fc.array(sampleArb, { maxLength: 8 })), { maxLength: 30 });

function runSteps(steps: readonly [number, readonly MetricSample[]][]): { state: AlertState; events: AlertEvent[] } {
  let state = EMPTY_ALERT_STATE;
  let now = 1_700_000_000_000;
  const events: AlertEvent[] = [];
  for (const [dt, samples] of steps) {
    now += dt;
    const r = evaluateAlerts(RULES, state, samples, now);
    state = r.next;
    events.push(...r.events);
  }
  return { state, events };
}

describe('alert rules', () => {
  it('a step does not depend on the order of its samples', () => {
    fc.assert(fc.property(stepsArb, fc.array(sampleArb, { maxLength: 10 }), (steps, last) => {
      const { state } = runSteps(steps);
      const a = evaluateAlerts(RULES, state, last, 1_800_000_000_000);
      const b = evaluateAlerts(RULES, state, [...last].reverse(), 1_800_000_000_000);
      expect(b).toEqual(a);
    }));
  });

  it('each instance goes pending → firing → resolved in order, and fires only after `for` of continuous breach', () => {
    fc.assert(fc.property(stepsArb, (steps) => {
      const { events } = runSteps(steps);
      const last = new Map<string, AlertEvent>();
      for (const e of events) {
        const prev = last.get(e.alert.key);
        const rule = e.alert.rule === 'HighLatency' ? cpu : battery;
        if (e.type === 'pending') expect(prev === undefined || prev.type === 'resolved' || prev.type === 'pending').toBe(true);
        if (e.type === 'firing') {
          expect(prev === undefined || prev.type !== 'firing').toBe(true);
          expect(e.at - e.alert.pendingSince).toBeGreaterThanOrEqual(rule.forMs ?? 0);
        }
        if (e.type === 'resolved') expect(prev?.type).toBe('firing');
        last.set(e.alert.key, e);
      }
    }));
  });

  it('`for`: a continuous breach fires at the first step at least forMs after it began, not before', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 120_000 }), fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 1, maxLength: 30 }), (forMs, gaps) => {
      const rule = { ...cpu, forMs };
      let state = EMPTY_ALERT_STATE;
      let now = 1_000;
      const start = now;
      const s = [{ metric: 'latency_p99_ms', labels: { tenant: 'acme', building: 'b1' }, value: 150 }];
      let firedAt: number | undefined;
      for (const dt of [0, ...gaps]) {
        now += dt;
        const r = evaluateAlerts([rule], state, s, now);
        state = r.next;
        for (const e of r.events) if (e.type === 'firing') firedAt = e.at;
        if (firedAt === undefined) expect(now - start).toBeLessThan(forMs);
        else {
          expect(firedAt - start).toBeGreaterThanOrEqual(forMs);
          break;
        }
      }
    }));
  });

  it('hysteresis: a firing alert stays firing for any value between the resolve and fire levels, and resolves past the resolve level', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: 80.0001, max: 99.999, noNaN: true }), { maxLength: 30 }), fc.double({ min: 0, max: 80, noNaN: true }), (band, healthy) => {
      let now = 0;
      const s = (v: number): MetricSample[] => [{ metric: 'latency_p99_ms', labels: { tenant: 'acme', building: 'b1' }, value: v }];
      let st = evaluateAlerts([cpu], EMPTY_ALERT_STATE, s(120), now).next;
      now += 60_000;
      const fired = evaluateAlerts([cpu], st, s(120), now);
      expect(fired.events.map((e) => e.type)).toEqual(['firing']);
      st = fired.next;
      for (const v of band) {
        now += 10_000;
        const r = evaluateAlerts([cpu], st, s(v), now);
        expect(r.events).toEqual([]);
        st = r.next;
      }
      const resolved = evaluateAlerts([cpu], st, s(healthy), now + 1);
      expect(resolved.events.map((e) => e.type)).toEqual(['resolved']);
      expect(resolved.next.alerts).toEqual([]);
    }));
  });

  it('groups per tenant and building with the worst sample, and a pending alert drops when the breach ends', () => {
    const samples: MetricSample[] = [
      { metric: 'latency_p99_ms', labels: { tenant: 'acme', building: 'b1', device: 'd1' }, value: 50 },
      { metric: 'latency_p99_ms', labels: { tenant: 'acme', building: 'b1', device: 'd2' }, value: 130 },
      { metric: 'latency_p99_ms', labels: { tenant: 'acme', building: 'b2' }, value: 90 },
    ];
    const r = evaluateAlerts(RULES, EMPTY_ALERT_STATE, samples, 0);
    expect(r.next.alerts.map((a) => [a.key, a.phase, a.value])).toEqual([['HighLatency{tenant="acme",building="b1"}', 'pending', 130]]);
    const dropped = evaluateAlerts(RULES, r.next, [{ metric: 'latency_p99_ms', labels: { tenant: 'acme', building: 'b1' }, value: 99 }], 30_000);
    expect(dropped.next.alerts).toEqual([]);
    expect(dropped.events).toEqual([]);
    const kept = evaluateAlerts(RULES, r.next, [], 30_000);
    expect(kept.next).toEqual(r.next);
  });

  it('acknowledgement and the alert-response-time SLA', () => {
    const low = (v: number): MetricSample[] => [{ metric: 'battery_v', labels: { tenant: 'acme' }, value: v }];
    const fired = evaluateAlerts(RULES, EMPTY_ALERT_STATE, low(2.9), 1_000);
    const key = 'LowBattery{tenant="acme"}';
    expect(fired.events[0]?.type).toBe('firing');
    const { next, event } = acknowledgeAlert(fired.next, key, 'ops', 1_000 + 30 * 60_000);
    expect(event.alert.ackedAt).toBe(1_000 + 30 * 60_000);
    expectFleetError(() => acknowledgeAlert(next, key, 'ops', 5_000_000), 'INVALID_OPERATION', 'already acknowledged');
    expectFleetError(() => acknowledgeAlert(next, 'nope', 'ops', 5_000_000), 'INVALID_OPERATION', 'not an active alert');
    const late: AlertInstance = { ...(event.alert), key: 'x', severity: 'critical' };
    const open: AlertInstance = { ...(fired.next.alerts[0] as AlertInstance), key: 'y' };
    const r = alertResponseSla([event.alert, late, open], 1_000 + 40 * 60_000);
    expect(r).toMatchObject({ fired: 3, withinTarget: 1, open: 1, compliancePct: 50, meanResponseMs: 30 * 60_000 });
    expect(r.late.map((l) => l.key)).toEqual(['x']);
  });

  it('compliance is 100 % when every alert is acknowledged within its target, and always within 0–100', () => {
    fc.assert(fc.property(stepsArb, fc.integer({ min: 0, max: 3_600_000 }), (steps, wait) => {
      const { state } = runSteps(steps);
      const firing = state.alerts.filter((a) => a.phase === 'firing');
      const acked = firing.map((a) => ({ ...a, ackedAt: (a.firedAt as number) + Math.min(wait, 15 * 60_000), ackedBy: 'ops' }));
      expect(alertResponseSla(acked, 1_900_000_000_000).compliancePct).toBe(100);
      const r = alertResponseSla(firing, 1_700_000_000_000 + wait);
      expect(r.compliancePct >= 0 && r.compliancePct <= 100).toBe(true);
    }));
  });

  it('refuses malformed rules with INVALID_INPUT', () => {
    expectFleetError(() => evaluateAlerts([{ ...cpu, resolve: 120 }], EMPTY_ALERT_STATE, [], 0), 'INVALID_INPUT', 'resolve');
    expectFleetError(() => evaluateAlerts([cpu, cpu], EMPTY_ALERT_STATE, [], 0), 'INVALID_INPUT', 'twice');
    expectFleetError(() => evaluateAlerts(RULES, EMPTY_ALERT_STATE, [{ metric: 'm', value: Number.NaN }], 0), 'INVALID_INPUT', 'samples.0.value');
  });
});
