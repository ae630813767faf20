// The simulation report: axis ticks are round and cover the data (a property), every text from the
// data is escaped, and the page renders in a real headless Chromium with no console error and every
// chart drawn (non-empty SVG paths, axis labels present).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, niceTicks, renderSimulationReport, type SimulationReportData } from '../../src/cli/simulate/report.js';
import { chromiumEnabled, withReportPage } from '../support/chromium.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 0, 1);

function sample(): SimulationReportData {
  const series = (n: number, f: (i: number) => number) => Array.from({ length: n }, (_, i) => ({ at: T0 + i * HOUR, value: f(i) }));
  return {
    title: 'Smart-building fleet <60,000 sensors>',
    seed: 42,
    byState: { active: 59_410, degraded: 310, decommissioned: 12, unprovisioned: 268 },
    byHealth: { good: 59_000, warning: 520, critical: 200 },
    provisioning: { accepted: 59_732, refused: 268, refusedByCode: { ENROLLMENT_INVALID: 250, CERT_UNTRUSTED: 18 } },
    rollouts: [
      {
        rolloutId: 'fw-2.2.0',
        firmwareVersion: '2.2.0',
        outcome: 'aborted',
        abortThreshold: 0.05,
        stages: [{ name: 'canary', percent: 1, targeted: 600, succeeded: 540, failed: 60, decision: 'abort: failure rate 10 % > 5 %' }],
        reached: series(4, (i) => i * 200),
        failureRate: series(4, (i) => i * 0.033),
      },
      {
        rolloutId: 'fw-2.2.1',
        firmwareVersion: '2.2.1',
        outcome: 'completed',
        abortThreshold: 0.05,
        stages: [
          { name: 'canary', percent: 1, targeted: 600, succeeded: 598, failed: 2, decision: 'advance' },
          { name: 'all', percent: 100, targeted: 59_400, succeeded: 59_300, failed: 100, decision: 'complete' },
        ],
        reached: series(10, (i) => i * 6_000),
        failureRate: series(10, () => 0.003),
      },
    ],
    health: { good: series(48, (i) => 59_000 - i), warning: series(48, (i) => 500 + i), critical: series(48, () => 200), silent: series(48, (i) => i % 7) },
    messagesByPhase: { provisioning: 180_000, shadows: 240_000, soak: 300_000, rollouts: 200_000 },
    wallMs: 41_300,
    peakRssBytes: 900 * 1_048_576,
  };
}

describe('report building blocks', () => {
  it('niceTicks: round steps (1, 2 or 5 × 10^k), ascending, covering [min, max] with at most one step outside', () => {
    fc.assert(
      fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 1e-3, max: 1e6, noNaN: true }), (min, span) => {
        const max = min + span;
        const t = niceTicks(min, max);
        expect(t.length).toBeGreaterThanOrEqual(2);
        const step = (t[1] as number) - (t[0] as number);
        const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
        expect([1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6)).toBe(true);
        for (let i = 1; i < t.length; i++) expect((t[i] as number) - (t[i - 1] as number)).toBeCloseTo(step, 6);
        expect(t[0] as number).toBeLessThanOrEqual(min + 1e-9 * Math.abs(min) + 1e-9);
        expect(t.at(-1) as number).toBeGreaterThanOrEqual(max - step * 1e-6);
        expect(t[0] as number).toBeGreaterThanOrEqual(min - step - 1e-9 * Math.abs(min));
        expect(t.length).toBeLessThanOrEqual(13);
      }),
    );
  });

  it('escapes every character that could open markup or end an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'q'`)).toBe('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62; &#38; &#39;q&#39;');
    fc.assert(
      fc.property(fc.string(), (s) => {
        const out = escapeHtml(s);
        expect(out).not.toMatch(/[<>"']|&(?!#\d+;)/);
        expect(out.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))).toBe(s); // nothing lost
      }),
    );
  });

  it('the page carries no script and no external resource; hostile names appear escaped', () => {
    const data = sample();
    const hostile = { ...data, rollouts: [{ ...data.rollouts[0]!, rolloutId: '<img src=x onerror=alert(1)>' }] };
    const html = renderSimulationReport(hostile);
    expect(html).not.toMatch(/<(script|img|link|iframe|object)\b|\s(src|href)=["']|@import|url\(/i);
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    expect(html.match(/<svg /g)).toHaveLength(4);
  });
});

describe.skipIf(!chromiumEnabled('the report page test'))('the report in a real browser', () => {
  it('renders with no console error; every chart drew paths and has its axis labels', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetkit-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderSimulationReport(sample()));
    try {
      await withReportPage(file, async ({ page, problems, charts }) => {
        expect(charts.map((c) => c.id)).toEqual(['chart-rollout-reached', 'chart-failure-rate', 'chart-health', 'chart-states']);
        for (const c of charts) {
          expect(c.width, c.id).toBeGreaterThan(200);
          expect(c.height, c.id).toBeGreaterThan(100);
          expect(c.paths, c.id).toBeGreaterThan(0);
          expect(c.drawn, c.id).toBe(c.paths);
          expect(c.axisLabels.every((t) => t.trim().length > 0) && c.axisLabels.length > 0, c.id).toBe(true);
          expect(c.ticks, c.id).toBeGreaterThan(2);
        }
        expect(charts[1]?.paths).toBe(4); // two failure-rate lines, two thresholds
        expect(await page.title()).toBe('Smart-building fleet <60,000 sensors>');
        expect(problems).toEqual([]);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
