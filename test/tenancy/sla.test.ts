import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectFleetError } from '../support/hostile.js';
import { checkQuota, coveredMs, defineTenantQuota, evaluateSla, tenantLimiters, type TimeInterval } from '../../src/tenancy/index.js';
import { LatencySketch } from '../../src/monitor/index.js';

const W: TimeInterval = { startMs: 1_000, endMs: 101_000 };
const intervalArb = fc.tuple(fc.integer({ min: 0, max: 120_000 }), fc.integer({ min: 0, max: 20_000 })).map(([s, d]) => ({ startMs: s, endMs: s + d }));
const outagesArb = fc.array(intervalArb, { maxLength: 15 });

function brute(window: TimeInterval, outages: readonly TimeInterval[]): number {
  let n = 0;
  for (let t = window.startMs; t < window.endMs; t += 50) if (outages.some((o) => o.startMs <= t && t < o.endMs)) n += 50;
  return n;
}

describe('SLA evaluation', () => {
  it('downtime is the union of outages clipped to the window (equal to a brute-force count on a 50 ms grid)', () => {
    const grid = fc.array(intervalArb.map((i) => ({ startMs: i.startMs - (i.startMs % 50), endMs: i.endMs - (i.endMs % 50) })), { maxLength: 10 });
    fc.assert(fc.property(grid, (outages) => {
      expect(coveredMs(W, outages)).toBe(brute(W, outages));
    }));
  });

  it('uptime does not depend on outage order or splitting, and an extra outage never raises it', () => {
    fc.assert(fc.property(outagesArb, intervalArb, fc.integer({ min: 0, max: 20_000 }), (outages, extra, cut) => {
      const base = evaluateSla({ window: W, outages });
      expect(evaluateSla({ window: W, outages: [...outages].reverse() }).uptimePct).toBe(base.uptimePct);
      const mid = Math.min(extra.endMs, extra.startMs + cut);
      const split = [...outages, { startMs: extra.startMs, endMs: mid }, { startMs: mid, endMs: extra.endMs }];
      const more = evaluateSla({ window: W, outages: [...outages, extra] });
      expect(evaluateSla({ window: W, outages: split }).uptimePct).toBe(more.uptimePct);
      expect(more.uptimePct).toBeLessThanOrEqual(base.uptimePct);
      expect(more.creditPct).toBeGreaterThanOrEqual(base.creditPct);
      expect(base.uptimePct >= 0 && base.uptimePct <= 100).toBe(true);
    }));
  });

  it('reports breaches and the credit tier', () => {
    const day = 86_400_000;
    const latency = new LatencySketch();
    for (let i = 1; i <= 1000; i++) latency.record(i);
    const r = evaluateSla(
      { window: { startMs: 0, endMs: 30 * day }, outages: [{ startMs: 0, endMs: 3_600_000 }], latency, delivery: { sent: 1000, delivered: 990 }, feeUsd: 200 },
      { p99LatencyMs: 500 },
    );
    expect(r.uptimePct).toBeCloseTo(100 * (1 - 1 / 720), 10);
    expect(r.creditPct).toBe(10);
    expect(r.creditUsd).toBe(20);
    expect(r.breaches.map((b) => b.objective)).toEqual(['uptime', 'p99Latency', 'delivery']);
    expect(r.latency?.p99).toBeCloseTo(990, 0);
    expect(evaluateSla({ window: { startMs: 0, endMs: day }, outages: [] }).breaches).toEqual([]);
  });

  it('refuses malformed input', () => {
    expectFleetError(() => evaluateSla({ window: { startMs: 5, endMs: 1 }, outages: [] }), 'INVALID_INPUT', 'input.window');
    expectFleetError(() => evaluateSla({ window: W, outages: [], delivery: { sent: 1, delivered: 2 } }), 'INVALID_INPUT', 'delivered');
  });
});

describe('tenant quotas', () => {
  it('fills defaults, builds limiters and reports violations above (not at) the quota', () => {
    const q = defineTenantQuota({ tenantId: 'acme', devices: 10, messagesPerSecond: 2.5, storageBytes: 100 });
    expect(q.messageBurst).toBe(3);
    const l = tenantLimiters(q);
    expect(l.messages.intervalUs).toBe(400_000);
    expect(checkQuota(q, { devices: 10, bytesToday: 0, storageBytes: 100 })).toEqual([]);
    expect(checkQuota(q, { devices: 11, bytesToday: q.bytesPerDay + 1, storageBytes: 101 }).map((v) => v.resource)).toEqual(['devices', 'bytesPerDay', 'storageBytes']);
    expectFleetError(() => defineTenantQuota({ tenantId: 'acme', devices: -1 }), 'INVALID_INPUT', 'devices');
    expectFleetError(() => defineTenantQuota({ tenantId: 'acme', extra: 1 } as never), 'INVALID_INPUT');
  });
});
