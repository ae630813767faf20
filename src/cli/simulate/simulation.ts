/**
 * The smart-building story, end to end on a broker: `createFleet` on a `SimulatedClock`, one
 * gateway per building (X.509, a CA made at start), sensors enrolled by symmetric key through their
 * gateway (a few with bad credentials), the buildings' configuration through shadows, two days of
 * soak (per-building fog summaries every hour, relayed per-sensor heartbeats every day; batteries
 * run down, sensors go silent, some come back), a staged rollout of 2.2.0 that the canary aborts
 * and rolls back, 2.2.1 that completes, and a few sensors decommissioned. The same seed tells the
 * same story and gives the same summary. See docs/cli.md for what runs on the wire.
 */
import { generateKeyPairSync, createHash, randomBytes } from 'node:crypto';
import { resourceUsage } from 'node:process';
import { SimulatedClock } from '../../clock.js';
import { FleetError } from '../../errors.js';
import { createFleet, type Fleet } from '../../cloud/fleet.js';
import { signFirmware } from '../../cloud/firmware-catalog.js';
import { seededRandom } from '../../device/random.js';
import { defineProvisioningTemplate, type ProvisioningTemplate } from '../../lifecycle/template.js';
import type { RolloutSummary } from '../../cloud/rollout-events.js';
import type { Transport } from '../../transport/types.js';
import type { FogReport } from '../../device/fog-gateway.js';
import { Building, SENSOR, hash32, type BuildingContext, type InjectedFault } from './building.js';
import { openBroker, type BrokerChoice, type SimulationBroker } from './broker.js';
import { SimulationCa } from './pki.js';
import type { SeriesPoint } from './report.js';

/** Options of {@link runSimulation}. */
export interface SimulationOptions {
  /** Sensors in the fleet. */
  readonly devices: number;
  /**
   * Share of the sensors (0–1) that talk to the cloud on their own topics through their gateway
   * (provisioning, heartbeats, OTA jobs); the others are modeled by their gateway, which reports
   * them in its per-building summaries. Sensors with a story role (bad credentials, silent,
   * draining) are always on the wire. @defaultValue 1 up to 5,000 sensors, else 0.1
   */
  readonly wireShare?: number;
  /** Buildings (one gateway each). */
  readonly buildings: number;
  /** Seed of every draw: the same seed tells the same story. */
  readonly seed: number;
  /**
   * Simulated time per wall-clock time during the soak (e.g. 100000: two days in about 1.7 s at
   * least); 0 runs as fast as the machine allows.
   */
  readonly timeScale: number;
  /** The broker. */
  readonly broker: BrokerChoice;
  /** Aborting it stops the run at the next step (Ctrl-C): everything is closed and the summary says how far it got. */
  readonly signal?: AbortSignal;
  /** Progress of each phase. */
  readonly onProgress?: (event: ProgressEvent) => void;
}

/** A progress report: the phase, how far it is, and the messages carried so far. */
export interface ProgressEvent {
  readonly phase: PhaseName;
  readonly done: number;
  readonly total: number;
  /** Simulated hours since the start. */
  readonly hours: number;
  /** Broker messages so far (all phases). */
  readonly messages: number;
  /** A short note (a decision, a count). */
  readonly note?: string;
}

/** The phases of the story, in order. */
export const PHASES = ['provisioning', 'configuration', 'soak', 'rollout 2.2.0', 'rollout 2.2.1', 'decommissioning'] as const;
/** One of {@link PHASES}. */
export type PhaseName = (typeof PHASES)[number];

/** One stage of a rollout in the summary. */
export interface StageSummary {
  readonly name: string;
  /** The stage's cumulative share of the fleet (%). */
  readonly percent: number;
  /** Devices the stage added. */
  readonly targeted: number;
  readonly succeeded: number;
  /** Failed, rolled back or rejected. */
  readonly failed: number;
  /** The failure rate among devices with an outcome (0–1). */
  readonly failureRate: number;
  /** The last decision the evaluator took on the stage, in words. */
  readonly decision: string;
}

/** One rollout in the summary. */
export interface RolloutResult {
  readonly rolloutId: string;
  readonly firmwareVersion: string;
  /** The rollout's final state: `completed`, `rolled_back`, `aborted`, … */
  readonly outcome: string;
  /** The abort threshold on a stage's failure rate (0–1). */
  readonly abortThreshold: number;
  /** Why it aborted (the numbers that fired the rule), when it did. */
  readonly abortReason?: string;
  readonly stages: readonly StageSummary[];
  /** Rollback jobs that finished (`succeeded`), after an abort with rollback. */
  readonly rolledBackDevices: number;
}

/** What a run did. Everything but `run` is the same for the same options and seed. */
export interface SimulationSummary {
  readonly seed: number;
  /** True when the run was interrupted (Ctrl-C): the phases listed in `messagesByPhase` ran. */
  readonly interrupted: boolean;
  /** Sensors on the wire (their own cloud traffic) and modeled by their gateway (in its summaries). */
  readonly fleet: { readonly buildings: number; readonly gateways: number; readonly sensors: number; readonly wireSensors: number; readonly modeledSensors: number };
  readonly provisioning: { readonly gatewaysAccepted: number; readonly accepted: number; readonly refused: number; readonly refusedByCode: Readonly<Record<string, number>> };
  /** Gateways whose reported configuration matched the desired one at the end of the configuration phase. */
  readonly configuration: { readonly gateways: number; readonly inSync: number };
  /** Health alerts (distinct devices), the still-silent sensors operations put in maintenance, presence at the end. */
  readonly health: { readonly flaggedSilent: number; readonly silenceEnded: number; readonly degraded: number; readonly recovered: number; readonly sentToMaintenance: number; readonly silentAtEnd: number; readonly onlineAtEnd: number };
  /** Registry devices (gateways and sensors) by lifecycle state, health and firmware at the end. */
  readonly byState: Readonly<Record<string, number>>;
  readonly byHealth: Readonly<Record<string, number>>;
  readonly byFirmware: Readonly<Record<string, number>>;
  readonly rollouts: readonly RolloutResult[];
  readonly decommissioned: number;
  /** The fog gateways over the wire sensors during the soak: what they reduced and what they found. */
  readonly fog: FogSummary;
  /** Broker messages (publishes) per phase, and in total. */
  readonly messagesByPhase: Readonly<Record<string, number>>;
  readonly messages: number;
  /** Simulated hours the story covered. */
  readonly simulatedHours: number;
  /** Measurements of this run (wall time, memory, broker): they differ from run to run. */
  readonly run: { readonly broker: string; readonly wallMs: number; readonly phaseMs: Readonly<Record<string, number>>; readonly peakRssBytes: number; readonly messagesPerSecond: number };
}

/**
 * The buildings' `FogGateway` reports added up (the soak's wire sensors in service, not the
 * silent ones): bytes on the byte model of `fleetkit calc fog-data-reduction` (200 B a raw sample,
 * 400 B a window summary).
 */
export interface FogSummary {
  /** Gateways that ran a fog gateway, and the sensors on them. */
  readonly gateways: number;
  readonly sensors: number;
  /** Sensors given an injected fault, by fault. */
  readonly injectedFaults: Readonly<Record<InjectedFault, number>>;
  /** Raw samples observed, window summaries forwarded, raw samples forwarded (around anomalies). */
  readonly rawSamples: number;
  readonly summaries: number;
  readonly rawForwarded: number;
  /** `rawSamples × 200` and `summaries × 400 + rawForwarded × 200`. */
  readonly rawBytes: number;
  readonly forwardedBytes: number;
  /** `1 − forwardedBytes ÷ rawBytes` (0 without samples): the data reduction achieved. */
  readonly reductionFraction: number;
  /** The lowest and highest reduction of a single gateway. */
  readonly reductionRange: readonly [number, number];
  /** Findings per detector kind, and in total. */
  readonly anomalies: Readonly<Record<string, number>>;
  readonly findings: number;
  /** Uplink messages the fog gateways published (summaries, raw samples and anomalies), still buffered, dropped. */
  readonly uplinkMessages: number;
  readonly buffered: number;
  readonly dropped: number;
}

/** Adds up the fog gateways' reports. */
export function fogSummary(reports: readonly FogReport[], faults: readonly (InjectedFault | undefined)[], sensors: number): FogSummary {
  const sum = (f: (r: FogReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  const rawBytes = sum((r) => r.rawBytes);
  const forwardedBytes = sum((r) => r.forwardedBytes);
  const anomalies: Record<string, number> = {};
  for (const r of reports) for (const [k, n] of Object.entries(r.anomalies)) anomalies[k] = (anomalies[k] ?? 0) + n;
  const each = reports.filter((r) => r.rawSamples > 0).map((r) => r.reductionFraction);
  return {
    gateways: reports.length,
    sensors,
    injectedFaults: { stuck: faults.filter((f) => f === 'stuck').length, drift: faults.filter((f) => f === 'drift').length },
    rawSamples: sum((r) => r.rawSamples),
    summaries: sum((r) => r.summaries),
    rawForwarded: sum((r) => r.rawForwarded),
    rawBytes,
    forwardedBytes,
    reductionFraction: rawBytes === 0 ? 0 : 1 - forwardedBytes / rawBytes,
    reductionRange: each.length === 0 ? [0, 0] : [Math.min(...each), Math.max(...each)],
    anomalies,
    findings: Object.values(anomalies).reduce((a, n) => a + n, 0),
    uplinkMessages: sum((r) => r.sent),
    buffered: sum((r) => r.buffered),
    dropped: sum((r) => r.dropped),
  };
}

/** The time series the HTML report draws. */
export interface SimulationSeries {
  readonly health: Readonly<Record<string, SeriesPoint[]>>;
  readonly rollouts: Readonly<Record<string, { reached: SeriesPoint[]; failureRate: SeriesPoint[] }>>;
}

/** A run's summary and the series of its report. */
export interface SimulationResult {
  readonly summary: SimulationSummary;
  readonly series: SimulationSeries;
}

/** The run stopped on request (Ctrl-C). */
class Interrupted extends Error {}

const TENANT = 'acme';
const ctx = { tenantId: TENANT };
const T0 = Date.UTC(2026, 2, 2, 6);
const HOUR = 3_600_000;
const MIN = 60_000;
const SOAK_HOURS = 48;
const HEARTBEAT_EVERY_H = 24;
const OTA_STEP_MS = 10 * MIN;
const ABORT_RATE = 0.05;
const BUGGY = '2.2.0';
const GOOD = '2.2.1';
const HARDWARE = 'sensor-th-v2';

const GATEWAY_TEMPLATE = defineProvisioningTemplate({ name: 'building-gateway-v1', attributes: { role: 'gateway' }, desiredConfig: { summaryWindowMin: 60, sensorHeartbeatH: HEARTBEAT_EVERY_H } });
const SENSOR_TEMPLATE = defineProvisioningTemplate({ name: 'room-sensor-v1', attributes: { role: 'sensor', link: 'wire' } });
const STORY = SENSOR.BAD_CREDENTIALS | SENSOR.SILENT | SENSOR.SILENT_RECOVERS | SENSOR.DRAINING | SENSOR.BATTERY_REPLACED;

/**
 * The fewest sensors the story runs with: two with bad credentials, two silent, three with a
 * draining battery, three decommissioned, and a canary of ten.
 */
export const MIN_SENSORS = 20;

/** The default share of sensors on the wire: all of a small fleet, a tenth of a large one. */
export function defaultWireShare(sensors: number): number {
  return sensors <= 5_000 ? 1 : 0.1;
}

/** How many sensors carry each behaviour (at least one each when the fleet is large enough). */
function planCounts(n: number): { bad: number; silent: number; silentRecovers: number; draining: number; replaced: number; decommission: number } {
  const share = (p: number, min: number): number => Math.max(min, Math.round(n * p));
  return { bad: share(0.001, 2), silent: share(0.0005, 1), silentRecovers: share(0.0005, 1), draining: share(0.002, 2), replaced: share(0.0005, 1), decommission: share(0.0001, 3) };
}

/** Spreads `total` sensors over `buildings` and draws each sensor's behaviour from the seed. */
function planSensors(total: number, buildings: number, seed: number, wireShare: number): { ids: string[]; flags: Uint8Array }[] {
  const random = seededRandom(seed >>> 0);
  const counts = planCounts(total);
  const flags = new Uint8Array(total);
  // Distinct sensors for each behaviour (a partial Fisher–Yates shuffle of the indices).
  const order = Array.from({ length: total }, (_, i) => i);
  let next = 0;
  const take = (k: number): number[] => {
    const out: number[] = [];
    for (let j = 0; j < k && next < total; j++, next++) {
      const r = next + Math.floor(random() * (total - next));
      const a = order[next] as number;
      order[next] = order[r] as number;
      order[r] = a;
      out.push(order[next] as number);
    }
    return out;
  };
  for (const i of take(counts.bad)) flags[i] = (flags[i] ?? 0) | SENSOR.BAD_CREDENTIALS;
  for (const i of take(counts.silent)) flags[i] = (flags[i] ?? 0) | SENSOR.SILENT;
  for (const i of take(counts.silentRecovers)) flags[i] = (flags[i] ?? 0) | SENSOR.SILENT_RECOVERS;
  for (const i of take(counts.draining)) flags[i] = (flags[i] ?? 0) | SENSOR.DRAINING;
  for (const i of take(counts.replaced)) flags[i] = (flags[i] ?? 0) | SENSOR.DRAINING | SENSOR.BATTERY_REPLACED;
  // The buggy release fails the post-boot check on one sensor in four (a hardware revision it mishandles).
  for (let i = 0; i < total; i++) if (random() < 0.25) flags[i] = (flags[i] ?? 0) | SENSOR.FAILS_BUGGY_RELEASE;
  for (let i = 0; i < total; i++) if (((flags[i] ?? 0) & STORY) !== 0 || random() < wireShare) flags[i] = (flags[i] ?? 0) | SENSOR.WIRE;
  const per: { ids: string[]; flags: Uint8Array }[] = [];
  let at = 0;
  for (let b = 0; b < buildings; b++) {
    const size = Math.floor(total / buildings) + (b < total % buildings ? 1 : 0);
    const ids = Array.from({ length: size }, (_, j) => `b${String(b + 1).padStart(3, '0')}-s${String(j + 1).padStart(4, '0')}`);
    per.push({ ids, flags: flags.slice(at, at + size) });
    at += size;
  }
  return per;
}

/** The rollout stages: 1 % → 10 % → 50 % → 100 %; a canary of at least 10 sensors in small fleets. */
function stagesFor(sensors: number): { spec: { name: string; percent?: number; count?: number; minSoakMs: number }[]; percents: number[] } {
  const soak = 30 * MIN;
  const canary = sensors * 0.01 < 10 ? { name: 'canary', count: Math.min(10, sensors), minSoakMs: soak } : { name: 'canary', percent: 1, minSoakMs: soak };
  return {
    spec: [canary, { name: '10 %', percent: 10, minSoakMs: soak }, { name: '50 %', percent: 50, minSoakMs: soak }, { name: '100 %', percent: 100, minSoakMs: soak }],
    percents: [canary.percent ?? Math.round((10_000 * Math.min(10, sensors)) / sensors) / 100, 10, 50, 100],
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the story and resolves to its summary and report series. Interrupted by `signal`, it
 * closes everything and resolves with `interrupted: true` and the phases that ran.
 *
 * @throws BrokerUnavailableError when the broker cannot be reached or started; FleetError
 *   `INVALID_ARGUMENT` for options out of range (nothing is started).
 */
export async function runSimulation(o: SimulationOptions): Promise<SimulationResult> {
  const whole = (v: unknown, min: number): boolean => Number.isSafeInteger(v) && (v as number) >= min;
  if (!whole(o.devices, MIN_SENSORS) || !whole(o.buildings, 1) || o.buildings > o.devices || !whole(o.seed, 0) || !(o.timeScale >= 0) || (o.wireShare !== undefined && !(o.wireShare >= 0 && o.wireShare <= 1))) {
    throw new FleetError('INVALID_ARGUMENT', `runSimulation: pass devices (a whole number ≥ ${MIN_SENSORS}), buildings (1 to devices), seed (a whole number ≥ 0), timeScale ≥ 0 and wireShare in [0, 1]`, { status: 400 });
  }
  const wallStart = performance.now();
  const clock = new SimulatedClock(T0);
  const seed = o.seed >>> 0;
  const broker: SimulationBroker = await openBroker(o.broker);
  const messagesByPhase: Record<string, number> = {};
  const series: { health: Record<string, SeriesPoint[]>; rollouts: Record<string, { reached: SeriesPoint[]; failureRate: SeriesPoint[] }> } = { health: {}, rollouts: {} };
  const transports: Transport[] = [];
  const buildings: Building[] = [];
  let fleet: Fleet | undefined;
  let phaseStart = 0;
  let phase: PhaseName = 'provisioning';
  const hours = (): number => (clock.now() - T0) / HOUR;
  const progress = (done: number, total: number, note?: string): void => {
    if (o.signal?.aborted === true) throw new Interrupted();
    o.onProgress?.({ phase, done, total, hours: hours(), messages: broker.published(), ...(note === undefined ? {} : { note }) });
  };
  const phaseMs: Record<string, number> = {};
  let phaseWall = 0;
  const begin = (name: PhaseName): void => {
    phase = name;
    phaseWall = performance.now();
    phaseStart = broker.published();
    progress(0, 1);
  };
  const end = (): void => {
    phaseMs[phase] = Math.round(performance.now() - phaseWall);
    messagesByPhase[phase] = broker.published() - phaseStart;
  };

  const sensorsTotal = o.devices;
  const wireShare = o.wireShare ?? defaultWireShare(sensorsTotal);
  const plan = planSensors(sensorsTotal, o.buildings, seed, wireShare);
  let modeled = 0;
  const alerts = { silent: new Set<string>(), silenceEnded: new Set<string>(), degraded: new Set<string>(), recovered: new Set<string>() };
  const rollouts: RolloutResult[] = [];
  let provisioning = { gatewaysAccepted: 0, accepted: 0, refused: 0, refusedByCode: {} as Record<string, number> };
  let configuration = { gateways: o.buildings, inSync: 0 };
  let decommissioned = 0;
  let maintenance = 0;
  let interrupted = false;
  const closeAll = async (): Promise<void> => {
    await fleet?.close().catch(() => undefined);
    await Promise.allSettled(buildings.map((b) => b.close()));
    await Promise.allSettled(transports.map((t) => t.close()));
    await broker.close();
  };

  try {
    // ── the cloud tier ───────────────────────────────────────────────────────────────────────
    const backend = await broker.transport('fleet-backend', true);
    transports.push(backend);
    const firmwareKeys = generateKeyPairSync('ed25519');
    fleet = await createFleet({
      transport: backend,
      clock,
      template: (r) => (r.method === 'x509' ? GATEWAY_TEMPLATE : SENSOR_TEMPLATE),
      health: { certificates: false, heartbeat: { intervalMs: HEARTBEAT_EVERY_H * HOUR, graceMs: HOUR, missesToDegrade: 1, silentAfterMs: 30 * HOUR } },
    });
    const f = fleet;
    f.health.on('alert', (a) => {
      if (a.type === 'device-silent') alerts.silent.add(a.deviceId);
      else if (a.type === 'device-silence-ended') alerts.silenceEnded.add(a.deviceId);
      else if (a.type === 'device-degraded') alerts.degraded.add(a.deviceId);
      else if (a.type === 'device-recovered') alerts.recovered.add(a.deviceId);
    });
    // Taps on the backend's own transport: once a message is counted here, every service's handler ran for it.
    const inbound = { heartbeats: 0, statuses: 0, shadows: 0 };
    await backend.subscribe('dt/+/+/heartbeat', () => void inbound.heartbeats++, { qos: 1 });
    await backend.subscribe('cmd/+/+/job/+/status', () => void inbound.statuses++, { qos: 1 });
    const idle = async (): Promise<void> => {
      let quiet = 0;
      for (let i = 0; i < 1_000_000 && quiet < 4; i++) {
        await turn();
        quiet = f.health.busyDevices > 0 || f.registry.busyDevices > 0 || f.shadows.busyThings > 0 ? 0 : quiet + 1;
      }
    };
    const until = async (cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> => {
      const stop = performance.now() + timeoutMs;
      for (let i = 0; !cond(); i++) {
        if (o.signal?.aborted === true) throw new Interrupted();
        if (performance.now() > stop) throw new Error(`the simulation stalled waiting for ${what}`);
        await (i < 50 ? turn() : sleep(2));
      }
    };

    const ca = new SimulationCa(TENANT, T0);
    await f.registry.putCa(ctx, { caId: 'gateway-ca', pem: ca.pem });
    const groupKey = createHash('sha256').update(`group-key-${seed}`).digest('base64');
    await f.registry.putEnrollmentGroup(ctx, { groupId: 'room-sensors', key: groupKey, tenantId: TENANT });
    f.firmware.addSigningKey(ctx, 'release-2026', firmwareKeys.publicKey);
    for (const version of ['2.1.0', BUGGY, GOOD]) {
      const image = randomBytes(64);
      const sha256 = createHash('sha256').update(image).digest('hex');
      f.firmware.add(ctx, { version, url: `https://fw.example.com/room-sensor/${version}.bin`, sizeBytes: image.length, sha256, hardware: [HARDWARE], keyId: 'release-2026', ...signFirmware({ version, sizeBytes: image.length, sha256 }, firmwareKeys.privateKey) });
    }

    // Job documents published and not yet at their gateway (a document may arrive before the event).
    const awaited = new Set<string>();
    const arrived = new Set<string>();
    f.rollouts.on('job:dispatched', (e) => {
      const key = `${e.deviceId} ${e.jobId}`;
      if (e.notified && !arrived.has(key)) awaited.add(key);
    });
    const bctx: BuildingContext = { tenantId: TENANT, clock, groupId: 'room-sensors', groupKey, signingKey: firmwareKeys.publicKey, buggyVersion: BUGGY, onJobDocument: (deviceId, jobId) => {
        const key = `${deviceId} ${jobId}`;
        arrived.add(key);
        awaited.delete(key);
      },
    };

    // ── provisioning ─────────────────────────────────────────────────────────────────────────
    begin('provisioning');
    for (let b = 0; b < o.buildings; b++) {
      const id = `gw-${String(b + 1).padStart(3, '0')}`;
      const t = await broker.transport(id);
      transports.push(t);
      buildings.push(new Building(bctx, b, t, plan[b] as { ids: string[]; flags: Uint8Array }, hash32(`${seed}:${id}`)));
    }
    let done = 0;
    await Promise.all(
      buildings.map(async (b) => {
        await b.connect();
        await b.provisionGateway(ca.issue(b.gatewayId));
        provisioning.gatewaysAccepted++;
        progress(++done, o.buildings * 2, 'gateways (X.509)');
      }),
    );
    // Sensors enroll through their gateways, a few buildings at a time (the backend keeps up).
    const width = 25;
    for (let i = 0; i < buildings.length; i += width) {
      await Promise.all(
        buildings.slice(i, i + width).map(async (b) => {
          await b.provisionSensors();
          progress(++done, o.buildings * 2, 'sensors (symmetric key)');
        }),
      );
    }
    await idle();
    const stats = f.registry.provisioningStats(ctx);
    const refusedByCode: Record<string, number> = {};
    for (const b of buildings) for (const [code, n] of b.refusedByCode) refusedByCode[code] = (refusedByCode[code] ?? 0) + n;
    provisioning = { gatewaysAccepted: provisioning.gatewaysAccepted, accepted: stats.accepted - provisioning.gatewaysAccepted, refused: stats.refused, refusedByCode: Object.fromEntries(Object.entries(refusedByCode).sort()) };
    // The installer's inventory: each commissioned sensor's hardware revision and factory firmware.
    // Sensors modeled by their gateway were in service before the run: their records are loaded
    // into the registry as active devices (an existing installation imported into the cloud).
    await Promise.all(
      buildings.map(async (b) => {
        for (let i = 0; i < b.ids.length; i++) {
          const deviceId = b.ids[i] as string;
          if (((b.flags[i] ?? 0) & SENSOR.WIRE) !== 0) {
            if (b.provisioned[i] === 1) await f.registry.patch(ctx, deviceId, { hardware: HARDWARE, firmwareVersion: '2.1.0' });
            continue;
          }
          await f.stores.devices.create(ctx, { deviceId, tenantId: TENANT, state: 'active', since: clock.now(), hardware: HARDWARE, firmwareVersion: '2.1.0', attributes: { role: 'sensor', link: 'gateway', building: b.gatewayId } });
          modeled++;
        }
      }),
    );
    end();

    // ── configuration through shadows ────────────────────────────────────────────────────────
    begin('configuration');
    const desired = { summaryWindowMin: 60, sensorHeartbeatH: HEARTBEAT_EVERY_H, setpointC: 21.5, batteryAlertPct: 20 };
    await Promise.all(buildings.map((b) => f.shadows.update(ctx, b.gatewayId, { state: { desired } })));
    await until(() => buildings.every((b) => b.config['setpointC'] === 21.5), 'every gateway to receive its configuration');
    let inSync = 0;
    for (let attempt = 0; attempt < 2_000 && inSync < buildings.length; attempt++) {
      await sleep(attempt < 10 ? 0 : 5);
      inSync = 0;
      for (const b of buildings) if ((await f.shadows.get(ctx, b.gatewayId)).state.delta === undefined) inSync++;
      progress(inSync, buildings.length, 'gateways in sync');
    }
    configuration = { gateways: buildings.length, inSync };
    end();

    // ── soak: two days ───────────────────────────────────────────────────────────────────────
    begin('soak');
    const recordHealth = async (): Promise<void> => {
      const s = await f.health.stats(ctx);
      const at = clock.now();
      const add = (name: string, value: number): void => {
        (series.health[name] ??= []).push({ at, value });
      };
      for (const h of ['good', 'warning', 'critical'] as const) add(h, s.byHealth[h] ?? 0);
      add('silent', s.silent);
    };
    const relay = async (hour: number): Promise<void> => {
      const target = inbound.heartbeats;
      const sent = (await Promise.all(buildings.map((b) => b.relayHeartbeats(hour)))).reduce((a, n) => a + n, 0);
      await until(() => inbound.heartbeats >= target + sent, 'the relayed heartbeats');
      await idle();
    };
    await relay(0);
    await recordHealth();
    await Promise.all(buildings.map((b) => b.startFog()));
    const soakWall = performance.now();
    for (let h = 1; h <= SOAK_HOURS; h++) {
      clock.advance(HOUR);
      await idle();
      const target = inbound.heartbeats + buildings.length;
      for (const b of buildings) b.sample(h);
      await Promise.all(buildings.map((b) => b.publishSummary()));
      await until(() => inbound.heartbeats >= target, 'the building summaries');
      if (h % HEARTBEAT_EVERY_H === 0) await relay(h);
      await idle();
      // The fleet's health every 3 simulated hours (a registry-wide count) for the report.
      if (h % 3 === 0) await recordHealth();
      progress(h, SOAK_HOURS, `${alerts.silent.size} flagged silent, ${alerts.recovered.size} recovered`);
      if (o.timeScale > 0) {
        const due = (h * HOUR) / o.timeScale - (performance.now() - soakWall);
        if (due > 0) await sleep(due);
      }
    }
    // The fog gateways close their last windows and send what they hold.
    await Promise.all(buildings.map((b) => b.stopFog()));
    await idle();
    // Operations follows up the sensors still silent: a technician visit, the device in
    // maintenance (rollouts skip it) until it is looked at.
    for (const id of [...alerts.silent].filter((x) => !alerts.silenceEnded.has(x)).sort()) {
      // A silent sensor is degraded by now (a missed heartbeat); anything else is left as it is.
      const ok = await f.registry.transition(ctx, id, { type: 'manual_intervention', actor: 'operations', reason: 'silent for a day: technician visit scheduled' }).then(
        () => true,
        () => false,
      );
      if (ok) maintenance++;
    }
    await idle();
    end();

    // ── rollouts ─────────────────────────────────────────────────────────────────────────────
    const { spec: stages, percents } = stagesFor(provisioning.accepted);
    const runRollout = async (name: PhaseName, rolloutId: string, version: string, after?: () => Promise<void>): Promise<void> => {
      begin(name);
      const decisions: string[] = [];
      const onProgress = (e: { rolloutId: string; cause: string; reason: string; stage: number }): void => {
        if (e.rolloutId !== rolloutId || e.cause === 'report' || e.cause === 'wait' || e.reason === '') return;
        // An advance is the verdict on the stage before the one it starts.
        decisions[e.cause === 'advance' ? Math.max(0, e.stage - 1) : e.stage] = `${e.cause}: ${e.reason}`;
      };
      f.rollouts.on('rollout:progress', onProgress);
      const s = (series.rollouts[rolloutId] = { reached: [] as SeriesPoint[], failureRate: [] as SeriesPoint[] });
      await f.rollouts.create(ctx, {
        rolloutId,
        firmwareVersion: version,
        target: { attributes: { role: 'sensor', link: 'wire' } },
        stages,
        abort: { failureRate: ABORT_RATE, countTimeouts: false, countUnreachable: false, onAbort: 'rollback' },
        deadlines: { pickupMs: 2 * HOUR, runMs: HOUR, bootHealthMs: 30 * MIN },
        seed: `${rolloutId}:${seed}`,
      });
      let summary: RolloutSummary | undefined;
      const record = (r: RolloutSummary): void => {
        const c = r.counts;
        s.reached.push({ at: clock.now(), value: c.succeeded + c.failed + c.rolled_back + c.rejected });
        const st = r.byStage[r.stage];
        const decided = st === undefined ? 0 : st.succeeded + st.failed + st.rolled_back + st.rejected;
        s.failureRate.push({ at: clock.now(), value: decided === 0 || st === undefined ? 0 : (st.failed + st.rolled_back + st.rejected) / decided });
      };
      // The controller dispatches a stage's devices one by one (a store write and a publish each):
      // each step waits until it has dispatched every device it started, then until the gateways
      // have every document, so the story does not depend on how fast the machine is.
      const dispatchedAll = async (): Promise<boolean> => {
        // The controller dispatches device after device, awaiting each document's acknowledgement.
        if (broker.backendInFlight() > 0) return false;
        const r = await f.rollouts.get(ctx, rolloutId);
        if (r === undefined || r.state !== 'running') return true;
        for (let i = 0; i <= r.stage; i++) if ((r.byStage[i]?.pending ?? 0) > 0) return false;
        return true;
      };
      const rollbacksInFlight = async (): Promise<{ total: number; open: number }> => {
        const all = await f.rollouts.executions(ctx, rolloutId, { rollback: true, limit: 1 });
        const open = await f.rollouts.executions(ctx, rolloutId, { rollback: true, status: ['pending', 'dispatched', 'in_progress'], limit: 1 });
        return { total: all.items.length, open: open.items.length };
      };
      let abortedAt: number | undefined;
      for (let step = 0; step < 500; step++) {
        for (let i = 0; !(await dispatchedAll()); i++) {
          if (o.signal?.aborted === true) throw new Interrupted();
          await (i < 20 ? turn() : sleep(2));
        }
        await until(() => awaited.size === 0, 'the job documents');
        const target = inbound.statuses;
        const sent = (await Promise.all(buildings.map((b) => b.otaTick()))).reduce((a, n) => a + n, 0);
        await until(() => inbound.statuses >= target + sent, 'the job statuses');
        await idle();
        summary = await f.rollouts.get(ctx, rolloutId);
        if (summary === undefined) break;
        record(summary);
        progress(summary.counts.succeeded, summary.devices, `${summary.state}, stage ${summary.stage + 1}/${summary.stages}`);
        const quiet = buildings.every((b) => b.pendingJobs === 0) && awaited.size === 0;
        if (summary.state === 'aborted') {
          abortedAt ??= step;
          // Aborted with rollback: done once the rollback jobs are created and all have finished.
          const rb = await rollbacksInFlight();
          if (quiet && rb.open === 0 && (rb.total > 0 || step - abortedAt > 12) && step - abortedAt >= 1) break;
        } else if (summary.state !== 'running' && summary.state !== 'paused' && quiet) break;
        clock.advance(OTA_STEP_MS);
        await idle();
      }
      f.rollouts.off('rollout:progress', onProgress);
      const r = summary ?? (await f.rollouts.get(ctx, rolloutId));
      const rollbacks = r?.abort === undefined ? [] : (await f.rollouts.executions(ctx, rolloutId, { rollback: true, status: 'succeeded', limit: 1000 })).items;
      let rolledBack = rollbacks.length;
      if (r?.abort !== undefined && rollbacks.length === 1000) {
        let cursor: string | undefined;
        rolledBack = 0;
        do {
          const page = await f.rollouts.executions(ctx, rolloutId, { rollback: true, status: 'succeeded', limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
          rolledBack += page.items.length;
          cursor = page.cursor;
        } while (cursor !== undefined);
      }
      rollouts.push({
        rolloutId,
        firmwareVersion: version,
        outcome: r?.state ?? 'unknown',
        abortThreshold: ABORT_RATE,
        ...(r?.abort === undefined ? {} : { abortReason: r.abort.reason }),
        stages: (r?.byStage ?? []).map((st, i) => {
          const failed = st.failed + st.rolled_back + st.rejected;
          const decided = st.succeeded + failed;
          const targeted = Object.values(st).reduce((a, n) => a + n, 0);
          // The abort is told by its verdict: the reports that arrive with the deciding one come in any order.
          const decision = r?.abort !== undefined && r.abort.stage === i ? `abort: ${r.abort.reason}` : (decisions[i] ?? '');
          return { name: stages[i]?.name ?? `stage ${i + 1}`, percent: percents[i] ?? 0, targeted, succeeded: st.succeeded, failed, failureRate: decided === 0 ? 0 : failed / decided, decision };
        }),
        rolledBackDevices: rolledBack,
      });
      await after?.();
      end();
    };
    await runRollout('rollout 2.2.0', 'fw-2-2-0', BUGGY);
    await runRollout('rollout 2.2.1', 'fw-2-2-1', GOOD, async () => {
      // The next daily report: every wire sensor's heartbeat carries the firmware it runs now.
      clock.advance(HOUR);
      await idle();
      await relay(SOAK_HOURS + 24);
    });

    // ── decommissioning ──────────────────────────────────────────────────────────────────────
    begin('decommissioning');
    const candidates = buildings.flatMap((b) => b.ids.filter((_, i) => b.inService(i) && ((b.flags[i] ?? 0) & STORY) === 0));
    const pick = seededRandom((seed ^ 0x5bd1e995) >>> 0);
    const chosen = new Set<string>();
    const want = Math.min(planCounts(sensorsTotal).decommission, candidates.length);
    while (chosen.size < want) chosen.add(candidates[Math.floor(pick() * candidates.length)] as string);
    for (const id of [...chosen].sort()) {
      await f.registry.decommission(ctx, id, { reason: 'room renovated: sensor removed', actor: 'facilities' });
      decommissioned++;
      progress(decommissioned, want);
    }
    await idle();
    end();
  } catch (error) {
    if (!(error instanceof Interrupted)) {
      await closeAll();
      throw error;
    }
    interrupted = true;
    phaseMs[phase] = Math.round(performance.now() - phaseWall);
    messagesByPhase[phase] = broker.published() - phaseStart;
  }
  // The end state is read before anything closes.
  const final = fleet === undefined ? undefined : await fleet.health.stats(ctx).catch(() => undefined);
  await closeAll();
  const wallMs = performance.now() - wallStart;
  const messages = Object.values(messagesByPhase).reduce((a, n) => a + n, 0);
  const summary: SimulationSummary = {
    seed,
    interrupted,
    fleet: { buildings: o.buildings, gateways: o.buildings, sensors: sensorsTotal, wireSensors: plan.reduce((a, p) => a + p.flags.filter((x) => (x & SENSOR.WIRE) !== 0).length, 0), modeledSensors: modeled },
    provisioning,
    configuration,
    health: {
      flaggedSilent: alerts.silent.size,
      silenceEnded: alerts.silenceEnded.size,
      degraded: alerts.degraded.size,
      recovered: alerts.recovered.size,
      sentToMaintenance: maintenance,
      silentAtEnd: final?.silent ?? 0,
      onlineAtEnd: final?.online ?? 0,
    },
    byState: sortRecord(final?.byState ?? {}),
    byHealth: sortRecord(final?.byHealth ?? {}),
    byFirmware: sortRecord(final?.byFirmware ?? {}),
    rollouts,
    decommissioned,
    fog: fogFigures(buildings),
    messagesByPhase,
    messages,
    simulatedHours: Math.round(((fleet === undefined ? T0 : clock.now()) - T0) / 60_000) / 60,
    run: { broker: broker.label, wallMs: Math.round(wallMs), phaseMs, peakRssBytes: resourceUsage().maxRSS * 1024, messagesPerSecond: Math.round(messages / (wallMs / 1000)) },
  };
  return { summary, series };
}

function fogFigures(buildings: readonly Building[]): FogSummary {
  const reports: FogReport[] = [];
  const faults: (InjectedFault | undefined)[] = [];
  let sensors = 0;
  for (const b of buildings) {
    const r = b.fogReport;
    if (r === undefined) continue;
    reports.push(r);
    faults.push(b.fault);
    sensors += b.fogSensors;
  }
  return fogSummary(reports, faults, sensors);
}

function sortRecord(r: Readonly<Record<string, number | undefined>>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(r)
      .filter((e): e is [string, number] => typeof e[1] === 'number')
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}
