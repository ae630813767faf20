/**
 * The simulation summary as the text table `fleetkit simulate` prints, and as the data of its HTML
 * report.
 */
import type { SimulationReportData } from './report.js';
import type { SimulationSeries, SimulationSummary } from './simulation.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const pct = (v: number): string => `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)} %`;

function section(title: string, rows: readonly (readonly string[])[], headers?: readonly string[]): string {
  const all = headers === undefined ? rows : [headers, ...rows];
  const widths = all.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  // Numbers right-aligned, words left-aligned.
  const fmt = (r: readonly string[]): string => `  ${r.map((c, i) => (/^[\d,.\s%-]+$/.test(c) && i > 0 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()}`;
  const lines = [title];
  if (headers !== undefined) {
    lines.push(fmt(headers));
    lines.push(`  ${widths.map((w) => '─'.repeat(w)).join('  ')}`);
  }
  for (const r of rows) lines.push(fmt(r));
  return `${lines.join('\n')}\n`;
}

/** The summary as text tables (what stdout shows). */
export function formatSummary(s: SimulationSummary): string {
  const out: string[] = [];
  out.push(
    `Smart-building fleet: ${int(s.fleet.sensors)} sensors in ${int(s.fleet.buildings)} buildings (${int(s.fleet.gateways)} gateways; ${int(s.fleet.wireSensors)} sensors on the wire, ${int(s.fleet.modeledSensors)} modeled by their gateway), seed ${s.seed}, ${s.simulatedHours.toFixed(1)} simulated hours${s.interrupted ? ' — INTERRUPTED' : ''}\n`,
  );
  out.push(
    section('Provisioning', [
      ['gateways accepted (X.509)', int(s.provisioning.gatewaysAccepted)],
      ['sensors accepted (symmetric key)', int(s.provisioning.accepted)],
      ['refused', int(s.provisioning.refused)],
      ...Object.entries(s.provisioning.refusedByCode).map(([code, n]) => [`  refused: ${code}`, int(n)]),
      ['gateways with their configuration (shadows)', `${int(s.configuration.inSync)} of ${int(s.configuration.gateways)}`],
    ]),
  );
  out.push(
    section('Health', [
      ['flagged silent', int(s.health.flaggedSilent)],
      ['silence ended', int(s.health.silenceEnded)],
      ['degraded', int(s.health.degraded)],
      ['recovered', int(s.health.recovered)],
      ['still silent: put in maintenance', int(s.health.sentToMaintenance)],
      ['online at the end', int(s.health.onlineAtEnd)],
      ['silent at the end', int(s.health.silentAtEnd)],
    ]),
  );
  const states = Object.entries(s.byState);
  const health = Object.entries(s.byHealth);
  const firmware = Object.entries(s.byFirmware);
  const rows = Math.max(states.length, health.length, firmware.length);
  out.push(
    section(
      'Devices at the end (gateways and sensors)',
      Array.from({ length: rows }, (_, i) => [states[i]?.[0] ?? '', states[i] === undefined ? '' : int(states[i][1]), health[i]?.[0] ?? '', health[i] === undefined ? '' : int(health[i][1]), firmware[i]?.[0] ?? '', firmware[i] === undefined ? '' : int(firmware[i][1])]),
      ['state', 'devices', 'health', 'devices', 'firmware', 'devices'],
    ),
  );
  for (const r of s.rollouts) {
    out.push(
      section(
        `Rollout ${r.rolloutId} (firmware ${r.firmwareVersion}): ${r.outcome}${r.abortReason === undefined ? '' : ` — ${r.abortReason}`}${r.rolledBackDevices > 0 ? `; ${int(r.rolledBackDevices)} devices rolled back` : ''}`,
        r.stages.map((st) => [st.name, `${st.percent} %`, int(st.targeted), int(st.succeeded), int(st.failed), pct(st.failureRate), st.decision.length > 90 ? `${st.decision.slice(0, 89)}…` : st.decision]),
        ['stage', 'share', 'targeted', 'succeeded', 'failed', 'fail rate', `decision (abort threshold ${pct(r.abortThreshold)})`],
      ),
    );
  }
  const fog = s.fog;
  if (fog.gateways > 0) {
    const pct1 = (v: number): string => `${(v * 100).toFixed(1)} %`;
    out.push(
      section(`Fog gateways (the soak's ${int(fog.sensors)} wire sensors in service on ${int(fog.gateways)} gateways; the modeled sensors are in the building summaries)`, [
        ['raw samples observed', int(fog.rawSamples)],
        ['window summaries forwarded (1 day windows)', int(fog.summaries)],
        ['raw samples forwarded (around anomalies)', int(fog.rawForwarded)],
        ['data reduction achieved (200 B a sample, 400 B a summary)', pct1(fog.reductionFraction)],
        ['  per gateway, lowest to highest', `${pct1(fog.reductionRange[0])} – ${pct1(fog.reductionRange[1])}`],
        ['injected faults: stuck, drifting', `${int(fog.injectedFaults.stuck)}, ${int(fog.injectedFaults.drift)}`],
        ['anomalies found', int(fog.findings)],
        ...Object.entries(fog.anomalies)
          .filter(([, n]) => n > 0)
          .map(([kind, n]) => [`  ${kind}`, int(n)]),
        ['uplink messages (buffered, dropped)', `${int(fog.uplinkMessages)} (${int(fog.buffered)}, ${int(fog.dropped)})`],
      ]),
    );
  }
  out.push(section('Decommissioned', [['sensors', int(s.decommissioned)]]));
  out.push(
    section(
      'Messages carried by the broker',
      [...Object.entries(s.messagesByPhase).map(([phase, n]) => [phase, int(n)]), ['total', int(s.messages)]],
      ['phase', 'messages'],
    ),
  );
  out.push(
    section('Run', [
      ['broker', s.run.broker],
      ['wall time', `${(s.run.wallMs / 1000).toFixed(1)} s`],
      ['peak RSS', `${int(s.run.peakRssBytes / 1_048_576)} MB`],
      ['messages per second', int(s.run.messagesPerSecond)],
    ]),
  );
  return out.join('\n');
}

/** The data of the HTML report. */
export function reportData(s: SimulationSummary, series: SimulationSeries): SimulationReportData {
  return {
    title: `Smart-building fleet — ${int(s.fleet.sensors)} sensors${s.fleet.modeledSensors > 0 ? ` (${int(s.fleet.wireSensors)} on the wire, ${int(s.fleet.modeledSensors)} modeled by their gateway)` : ''} in ${int(s.fleet.buildings)} buildings`,
    seed: s.seed,
    byState: s.byState,
    byHealth: s.byHealth,
    provisioning: { accepted: s.provisioning.accepted + s.provisioning.gatewaysAccepted, refused: s.provisioning.refused, refusedByCode: s.provisioning.refusedByCode },
    rollouts: s.rollouts.map((r) => ({
      rolloutId: r.rolloutId,
      firmwareVersion: r.firmwareVersion,
      outcome: r.outcome,
      abortThreshold: r.abortThreshold,
      stages: r.stages.map((st) => ({ name: st.name, percent: st.percent, targeted: st.targeted, succeeded: st.succeeded, failed: st.failed, decision: st.decision })),
      reached: series.rollouts[r.rolloutId]?.reached ?? [],
      failureRate: series.rollouts[r.rolloutId]?.failureRate ?? [],
    })),
    health: series.health,
    fog: { gateways: s.fog.gateways, sensors: s.fog.sensors, rawSamples: s.fog.rawSamples, summaries: s.fog.summaries, rawForwarded: s.fog.rawForwarded, reductionFraction: s.fog.reductionFraction, reductionRange: s.fog.reductionRange, injectedFaults: s.fog.injectedFaults, anomalies: s.fog.anomalies },
    messagesByPhase: s.messagesByPhase,
    wallMs: s.run.wallMs,
    peakRssBytes: s.run.peakRssBytes,
  };
}
