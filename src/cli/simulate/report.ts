/**
 * The simulation's HTML report: one self-contained page (inline CSS and SVG, no scripts, no
 * external resources) with the summary tables and four charts — devices reached per rollout stage
 * over time, the failure rate against the abort threshold, fleet health over time, and device
 * counts by lifecycle state.
 */

/** One point of a time series: virtual epoch ms and a value. */
export interface SeriesPoint {
  readonly at: number;
  readonly value: number;
}

/** A rollout as the report shows it. */
export interface ReportRollout {
  /** The rollout id. */
  readonly rolloutId: string;
  /** The firmware version it installs. */
  readonly firmwareVersion: string;
  /** How it ended: `completed`, `aborted`, `rolled_back`, … */
  readonly outcome: string;
  /** The abort rule's failure-rate threshold (0–1). */
  readonly abortThreshold: number;
  /** Per stage: its share of the fleet, devices targeted and reached, failures, the decision taken. */
  readonly stages: readonly {
    readonly name: string;
    readonly percent: number;
    readonly targeted: number;
    readonly succeeded: number;
    readonly failed: number;
    readonly decision: string;
  }[];
  /** Devices that reported a final status, over time. */
  readonly reached: readonly SeriesPoint[];
  /** The failure rate of the current stage, over time (0–1). */
  readonly failureRate: readonly SeriesPoint[];
}

/** The fog gateways as the report shows them. */
export interface ReportFog {
  /** Gateways that ran a fog gateway, and the sensors on them. */
  readonly gateways: number;
  readonly sensors: number;
  /** Raw samples observed, window summaries and raw samples forwarded. */
  readonly rawSamples: number;
  readonly summaries: number;
  readonly rawForwarded: number;
  /** The data reduction achieved (0–1), and the lowest and highest of a single gateway. */
  readonly reductionFraction: number;
  readonly reductionRange: readonly [number, number];
  /** Sensors with an injected fault, by fault; findings by detector kind. */
  readonly injectedFaults: Readonly<Record<string, number>>;
  readonly anomalies: Readonly<Record<string, number>>;
}

/** Everything the report shows. */
export interface SimulationReportData {
  /** The page title. */
  readonly title: string;
  /** The seed of the run (the same seed gives the same story). */
  readonly seed: number;
  /** Devices by lifecycle state at the end. */
  readonly byState: Readonly<Record<string, number>>;
  /** Devices by health at the end. */
  readonly byHealth: Readonly<Record<string, number>>;
  /** Provisioning: accepted, refused, and refusals by error code. */
  readonly provisioning: { readonly accepted: number; readonly refused: number; readonly refusedByCode: Readonly<Record<string, number>> };
  /** The rollouts, in order. */
  readonly rollouts: readonly ReportRollout[];
  /** Fleet health over time: one series per health status (and `silent`). */
  readonly health: Readonly<Record<string, readonly SeriesPoint[]>>;
  /** Broker messages carried, by phase of the story. */
  readonly messagesByPhase: Readonly<Record<string, number>>;
  /** The fog gateways' figures over the soak (absent when none ran). */
  readonly fog?: ReportFog;
  /** Wall time of the run (ms). */
  readonly wallMs: number;
  /** Peak resident set size (bytes). */
  readonly peakRssBytes: number;
}

const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const HEALTH_COLORS: Readonly<Record<string, string>> = { good: '#16a34a', warning: '#d97706', critical: '#dc2626', silent: '#4b5563', unknown: '#94a3b8' };

function fogTable(f: ReportFog): string {
  const p1 = (v: number): string => `${(v * 100).toFixed(1)} %`;
  return `<h2>Fog gateways</h2>
<p>The soak's ${escapeHtml(fmtInt(f.sensors))} wire sensors in service on ${escapeHtml(fmtInt(f.gateways))} gateways; bytes counted as 200 B a raw sample, 400 B a window summary.</p>
${table(
  ['figure', 'value'],
  [
    ['raw samples observed', f.rawSamples],
    ['window summaries forwarded', f.summaries],
    ['raw samples forwarded (around anomalies)', f.rawForwarded],
    ['data reduction achieved', p1(f.reductionFraction)],
    ['per gateway, lowest to highest', `${p1(f.reductionRange[0])} – ${p1(f.reductionRange[1])}`],
    ...Object.entries(f.injectedFaults).map(([k, n]): [string, number] => [`injected fault: ${k}`, n]),
    ...Object.entries(f.anomalies)
      .filter(([, n]) => n > 0)
      .map(([k, n]): [string, number] => [`findings: ${k}`, n]),
  ],
)}`;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Round axis ticks: about `count` steps of 1, 2 or 5 × 10^k covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [0];
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag);
  const ticks: number[] = [];
  for (let i = Math.floor(min / step); ; i++) {
    const v = Number((i * step).toPrecision(12));
    ticks.push(v);
    if (v >= max - step * 1e-9 || ticks.length > 50) return ticks;
  }
}

interface LineSeries {
  readonly name: string;
  readonly color: string;
  readonly points: readonly SeriesPoint[];
  readonly dashed?: boolean;
}

interface LineChartSpec {
  readonly id: string;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  /** Format of y tick labels. */
  readonly yFormat?: (v: number) => string;
  /** Fixed y range (e.g. 0–1 for rates). */
  readonly yMax?: number;
}

const W = 640;
const H = 300;
const M = { left: 64, right: 16, top: 32, bottom: 48 };

/** A line chart over virtual time (hours since the first point) as an SVG element. */
function lineChart(spec: LineChartSpec): string {
  const legendRows = Math.ceil(spec.series.length / 3);
  const top = M.top + legendRows * 14;
  const all = spec.series.flatMap((s) => s.points);
  const t0 = all.length > 0 ? Math.min(...all.map((p) => p.at)) : 0;
  const hours = (at: number): number => (at - t0) / 3_600_000;
  const xMax = Math.max(1e-9, ...all.map((p) => hours(p.at)));
  const yMax = spec.yMax ?? Math.max(1, ...all.map((p) => p.value));
  const xt = niceTicks(0, xMax);
  const yt = niceTicks(0, yMax);
  const xHi = Math.max(xMax, xt.at(-1) ?? xMax);
  const yHi = Math.max(yMax, yt.at(-1) ?? yMax);
  const px = (h: number): number => M.left + (h / xHi) * (W - M.left - M.right);
  const py = (v: number): number => H - M.bottom - (v / yHi) * (H - top - M.bottom);
  const yFmt = spec.yFormat ?? fmtInt;
  const parts: string[] = [];
  parts.push(`<svg id="${escapeHtml(spec.id)}" class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(spec.title)}" xmlns="http://www.w3.org/2000/svg">`);
  parts.push(`<text class="title" x="${M.left}" y="20">${escapeHtml(spec.title)}</text>`);
  for (const v of yt) {
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${py(v).toFixed(1)}" y2="${py(v).toFixed(1)}"/>`);
    parts.push(`<text class="tick y" x="${M.left - 6}" y="${(py(v) + 4).toFixed(1)}">${escapeHtml(yFmt(v))}</text>`);
  }
  for (const h of xt) parts.push(`<text class="tick x" x="${px(h).toFixed(1)}" y="${H - M.bottom + 16}">${escapeHtml(String(h))}</text>`);
  parts.push(`<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}"/>`);
  parts.push(`<line class="axis" x1="${M.left}" x2="${M.left}" y1="${top}" y2="${H - M.bottom}"/>`);
  parts.push(`<text class="axis-label x" x="${(M.left + W - M.right) / 2}" y="${H - 10}">${escapeHtml(spec.xLabel)}</text>`);
  parts.push(`<text class="axis-label y" transform="translate(14 ${(top + H - M.bottom) / 2}) rotate(-90)">${escapeHtml(spec.yLabel)}</text>`);
  spec.series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${px(hours(p.at)).toFixed(1)} ${py(p.value).toFixed(1)}`).join(' ');
      parts.push(`<path class="series${s.dashed === true ? ' dashed' : ''}" d="${d}" stroke="${s.color}"><title>${escapeHtml(s.name)}</title></path>`);
    }
    const lx = M.left + (i % 3) * 185;
    const ly = M.top + 4 + Math.floor(i / 3) * 14;
    parts.push(`<rect x="${lx}" y="${ly - 8}" width="10" height="3" fill="${s.color}"/><text class="legend" x="${lx + 14}" y="${ly}">${escapeHtml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

/** A horizontal bar chart of counts by category as an SVG element. */
function barChart(id: string, title: string, counts: Readonly<Record<string, number>>, valueLabel: string): string {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const xt = niceTicks(0, max);
  const xHi = Math.max(max, xt.at(-1) ?? max);
  const left = 150;
  const rowH = 26;
  const height = M.top + Math.max(1, entries.length) * rowH + 48;
  const px = (v: number): number => left + (v / xHi) * (W - left - 72);
  const parts: string[] = [];
  parts.push(`<svg id="${escapeHtml(id)}" class="chart" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(title)}" xmlns="http://www.w3.org/2000/svg">`);
  parts.push(`<text class="title" x="${left}" y="20">${escapeHtml(title)}</text>`);
  const base = M.top + entries.length * rowH;
  for (const v of xt) parts.push(`<line class="grid" x1="${px(v).toFixed(1)}" x2="${px(v).toFixed(1)}" y1="${M.top}" y2="${base}"/><text class="tick x" x="${px(v).toFixed(1)}" y="${base + 16}">${escapeHtml(fmtInt(v))}</text>`);
  entries.forEach(([name, n], i) => {
    const y = M.top + i * rowH + 4;
    parts.push(`<text class="tick y" x="${left - 8}" y="${y + 13}">${escapeHtml(name)}</text>`);
    parts.push(`<path class="bar" d="M${left} ${y} H${px(n).toFixed(1)} V${y + rowH - 8} H${left} Z" fill="${PALETTE[i % PALETTE.length] ?? '#2563eb'}"><title>${escapeHtml(`${name}: ${fmtInt(n)}`)}</title></path>`);
    parts.push(`<text class="value" x="${(px(n) + 4).toFixed(1)}" y="${y + 13}">${escapeHtml(fmtInt(n))}</text>`);
  });
  parts.push(`<line class="axis" x1="${left}" x2="${left}" y1="${M.top}" y2="${base}"/>`);
  parts.push(`<text class="axis-label x" x="${(left + W - 72) / 2}" y="${base + 36}">${escapeHtml(valueLabel)}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function table(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number): string => (typeof v === 'number' ? `<td class="num">${escapeHtml(fmtInt(v))}</td>` : `<td>${escapeHtml(v)}</td>`);
  return `<table><thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

const pct = (v: number): string => `${(v * 100).toFixed(v < 0.1 && v > 0 ? 1 : 0)} %`;

/**
 * Renders the report as one self-contained HTML page (no scripts, no external resources; every
 * piece of text from the data is escaped).
 */
export function renderSimulationReport(data: SimulationReportData): string {
  const reached = lineChart({
    id: 'chart-rollout-reached',
    title: 'Devices reached per rollout over time',
    xLabel: 'simulated hours',
    yLabel: 'devices with a final status',
    series: data.rollouts.map((r, i) => ({ name: `${r.rolloutId} (${r.firmwareVersion})`, color: PALETTE[i % PALETTE.length] ?? '#2563eb', points: r.reached })),
  });
  const failure = lineChart({
    id: 'chart-failure-rate',
    title: 'Stage failure rate against the abort threshold',
    xLabel: 'simulated hours',
    yLabel: 'failure rate',
    yFormat: (v) => `${Math.round(v * 100)} %`,
    yMax: Math.max(0.05, ...data.rollouts.flatMap((r) => [r.abortThreshold * 1.5, ...r.failureRate.map((p) => p.value)])),
    series: data.rollouts.flatMap((r, i) => {
      const color = PALETTE[i % PALETTE.length] ?? '#2563eb';
      const span = [...r.failureRate, ...r.reached];
      const first = Math.min(...span.map((p) => p.at));
      const last = Math.max(...span.map((p) => p.at));
      const threshold = span.length === 0 ? [] : [{ at: first, value: r.abortThreshold }, { at: last, value: r.abortThreshold }];
      return [
        { name: `${r.rolloutId} failure rate`, color, points: r.failureRate },
        { name: `${r.rolloutId} abort threshold`, color, points: threshold, dashed: true },
      ];
    }),
  });
  const health = lineChart({
    id: 'chart-health',
    title: 'Fleet health over time',
    xLabel: 'simulated hours',
    yLabel: 'devices',
    series: Object.entries(data.health).map(([name, points], i) => ({ name, color: HEALTH_COLORS[name] ?? PALETTE[i % PALETTE.length] ?? '#2563eb', points })),
  });
  const states = barChart('chart-states', 'Devices by lifecycle state at the end', data.byState, 'devices');
  const rolloutTables = data.rollouts
    .map(
      (r) =>
        `<h3>${escapeHtml(r.rolloutId)} — firmware ${escapeHtml(r.firmwareVersion)}: ${escapeHtml(r.outcome)}</h3>` +
        table(
          ['stage', 'share', 'targeted', 'succeeded', 'failed', 'failure rate', 'decision'],
          r.stages.map((s) => [s.name, `${s.percent} %`, s.targeted, s.succeeded, s.failed, pct(s.succeeded + s.failed === 0 ? 0 : s.failed / (s.succeeded + s.failed)), s.decision]),
        ),
    )
    .join('');
  const totalMessages = Object.values(data.messagesByPhase).reduce((a, b) => a + b, 0);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(data.title)}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1340px;color:#111827;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}h3{font-size:15px;margin:16px 0 6px}
.meta{color:#4b5563}.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{background:#fff;border:1px solid #e5e7eb;border-radius:6px;max-width:100%;height:auto}
.chart .title{font-weight:600;font-size:13px}.chart .tick{font-size:11px;fill:#4b5563}.chart .tick.y{text-anchor:end}.chart .tick.x{text-anchor:middle}
.chart .axis{stroke:#374151}.chart .grid{stroke:#e5e7eb}.chart .axis-label{font-size:12px;fill:#111827;text-anchor:middle}
.chart .series{fill:none;stroke-width:2}.chart .dashed{stroke-dasharray:6 4}.chart .legend{font-size:11px}.chart .value{font-size:11px}
table{border-collapse:collapse;margin:4px 0 12px}th,td{border:1px solid #e5e7eb;padding:4px 10px;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f9fafb}
</style></head><body>
<h1>${escapeHtml(data.title)}</h1>
<p class="meta">seed ${escapeHtml(String(data.seed))} · wall time ${escapeHtml((data.wallMs / 1000).toFixed(1))} s · peak RSS ${escapeHtml(fmtInt(data.peakRssBytes / 1_048_576))} MB · ${escapeHtml(fmtInt(totalMessages))} broker messages</p>
<div class="charts">${reached}${failure}${health}${states}</div>
<h2>Devices</h2>
${table(['state', 'devices'], Object.entries(data.byState).map(([k, v]) => [k, v]))}
${table(['health', 'devices'], Object.entries(data.byHealth).map(([k, v]) => [k, v]))}
<h2>Provisioning</h2>
${table(['outcome', 'devices'], [['accepted', data.provisioning.accepted], ['refused', data.provisioning.refused], ...Object.entries(data.provisioning.refusedByCode).map(([code, n]): [string, number] => [`refused: ${code}`, n])])}
<h2>Rollouts</h2>
${rolloutTables}
${data.fog === undefined || data.fog.gateways === 0 ? '' : fogTable(data.fog)}
<h2>Messages by phase</h2>
${table(['phase', 'messages'], Object.entries(data.messagesByPhase).map(([k, v]) => [k, v]))}
</body></html>
`;
}
