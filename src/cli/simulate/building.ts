/**
 * One building of the simulated fleet: a gateway on its own broker connection (a
 * {@link GatewayConnection}) and the sensors behind it. The gateway provisions itself with its
 * X.509 certificate; each sensor is a lightweight child — a {@link GatewayChild} transport view with
 * one subscription on its own command topics, and a few numbers (battery, drain, behaviour flags)
 * instead of a full device agent. The gateway speaks for its sensors on their own topics:
 * symmetric-key enrollment requests, heartbeats it relays, OTA job statuses after it flashed them.
 * Between the relayed heartbeats it aggregates its sensors' readings with the fog core and sends
 * one summary per window for the whole building. During the soak the wire sensors' readings also go
 * through a device-tier {@link FogGateway} (`startFog`/`stopFog`): per-sensor windows, the anomaly
 * detectors at the edge, summaries and the raw samples around anomalies forwarded on the sensors'
 * own telemetry topics. A few of them carry injected faults (a stuck sensor, a drifting one).
 */
import { createHash, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { Clock } from '../../clock.js';
import { FogGateway, type FogReport } from '../../device/fog-gateway.js';
import { GatewayConnection, type GatewayChild } from '../../device/gateway.js';
import { provision } from '../../device/provisioning-client.js';
import { seededRandom, type RandomSource } from '../../device/random.js';
import { isFleetError } from '../../errors.js';
import { EMPTY_AGGREGATE, mergeAggregates, type Aggregate } from '../../fog/aggregate.js';
import { computeEnrollmentProof, deriveDeviceKey } from '../../lifecycle/symmetric-key.js';
import { jsonCodec } from '../../protocol/codec.js';
import { firmwareSigningInput, jobDocumentWireSchema, type ActiveJobDocument } from '../../protocol/job-wire.js';
import { provisioningWireResponseSchema } from '../../protocol/provisioning-wire.js';
import { jobStatusTopic, provisioningRequestTopic } from '../../protocol/topics.js';
import { evaluateBoot } from '../../rollout/boot.js';
import type { InboundMessage, Transport } from '../../transport/types.js';
import type { IssuedCertificate } from './pki.js';

/** Behaviour flags of a sensor (a bit set). */
export const SENSOR = {
  /** Presents an enrollment proof made with the wrong key: refused. */
  BAD_CREDENTIALS: 1,
  /** Stops heartbeating after the first day and stays silent. */
  SILENT: 2,
  /** Stops heartbeating after the first day and comes back on the second. */
  SILENT_RECOVERS: 4,
  /** Its battery runs down fast (critical by the end of the soak). */
  DRAINING: 8,
  /** A draining sensor whose battery is replaced on the second day. */
  BATTERY_REPLACED: 16,
  /** Fails the post-boot check of the buggy release (the canary finds it). */
  FAILS_BUGGY_RELEASE: 32,
  /** Talks to the cloud on its own topics (the gateway relays it): provisioning, heartbeats, OTA jobs. */
  WIRE: 64,
} as const;

/** A sensor fault the simulation injects into a fog sensor's readings. */
export type InjectedFault = 'stuck' | 'drift';

/** Simulated hour of the soak from which the injected faults show. */
export const FAULT_FROM_HOUR = 20;
/** Drift of a drifting sensor, °C per simulated hour. */
const DRIFT_PER_HOUR = 0.5;
/** The value a stuck sensor keeps reporting, °C. */
const STUCK_AT = 21.7;
const HOUR_MS = 3_600_000;
/** The fog gateways' tumbling window: a day (one summary per sensor per day). */
export const FOG_WINDOW_MS = 24 * HOUR_MS;

/**
 * The fault injected in building `index`: every 25th building has a stuck sensor, the one after it a
 * drifting sensor (the first sensor of its fog gateway); a fleet of 250 buildings has 10 of each.
 */
export function injectedFault(index: number): InjectedFault | undefined {
  const k = index % 25;
  return k === 0 ? 'stuck' : k === 1 ? 'drift' : undefined;
}

/** What the simulation tells every building. */
export interface BuildingContext {
  readonly tenantId: string;
  readonly clock: Clock;
  /** The enrollment group's id and key (the key only derives the sensors' keys, as a factory would). */
  readonly groupId: string;
  readonly groupKey: string;
  /** The firmware signing key devices trust. */
  readonly signingKey: KeyObject;
  /** The release whose post-boot check fails on the flagged sensors. */
  readonly buggyVersion: string;
  /** Called for every job document a sensor received (the simulation waits for them before it steps). */
  readonly onJobDocument: (deviceId: string, jobId: string) => void;
}

/** A job a sensor received and will answer on the gateway's next tick. */
interface PendingJob {
  readonly sensor: number;
  readonly doc: ActiveJobDocument;
}

/** The bit flags of each building's sensors, drawn from the seed. */
export interface SensorPlan {
  readonly ids: readonly string[];
  readonly flags: Uint8Array;
}

/** One building: a gateway and its sensors. */
export class Building {
  readonly gatewayId: string;
  readonly gateway: GatewayConnection;
  readonly ids: readonly string[];
  readonly flags: Uint8Array;
  /** Battery charge (%) and drain (% per simulated hour) of each sensor. */
  readonly battery: Float64Array;
  readonly drain: Float64Array;
  /** 1 once provisioned. */
  readonly provisioned: Uint8Array;
  /** The firmware each sensor runs. */
  readonly firmware: string[];
  readonly #children: (GatewayChild | undefined)[];
  readonly #ctx: BuildingContext;
  readonly #random: RandomSource;
  readonly #self: GatewayChild;
  #seq = 0;
  #hour = 0;
  #lastAt: number;
  #pendingProv = new Map<string, (m: Record<string, unknown>) => void>();
  #jobs: PendingJob[] = [];
  #booting: PendingJob[] = [];
  readonly #verified = new Map<string, boolean>();
  /** The building's configuration, as the gateway applied it from its shadow. */
  config: Record<string, unknown> = {};
  /** Shadow deltas the gateway received. */
  deltas = 0;
  /** Provisioning outcomes of the sensors. */
  accepted = 0;
  refused = 0;
  readonly refusedByCode = new Map<string, number>();
  /** Fog aggregates of the current window. */
  #temperature: Aggregate = EMPTY_AGGREGATE;
  #batteryAgg: Aggregate = EMPTY_AGGREGATE;
  readonly #index: number;
  /** The fog gateway over the wire sensors during the soak, and its report once stopped. */
  #fog: FogGateway | undefined;
  #fogReport: FogReport | undefined;
  /** Per sensor: 1 when its readings go through the fog gateway. */
  #onFog: Uint8Array;
  /** The sensor with the injected fault (−1: none) and the fault. */
  #faulty = -1;
  /** The fault injected in this building's fog sensors, if any (and only once the fog has a sensor). */
  fault: InjectedFault | undefined;

  constructor(ctx: BuildingContext, index: number, transport: Transport, plan: SensorPlan, seed: number) {
    this.#ctx = ctx;
    this.gatewayId = transport.clientId;
    this.gateway = new GatewayConnection({ transport, tenantId: ctx.tenantId });
    this.ids = plan.ids;
    this.flags = plan.flags;
    const n = plan.ids.length;
    this.#random = seededRandom((seed ^ (index * 0x9e3779b1)) >>> 0);
    this.battery = new Float64Array(n);
    this.drain = new Float64Array(n);
    this.provisioned = new Uint8Array(n);
    this.firmware = new Array<string>(n).fill('2.1.0');
    this.#children = new Array<GatewayChild | undefined>(n);
    for (let i = 0; i < n; i++) {
      const draining = ((this.flags[i] ?? 0) & SENSOR.DRAINING) !== 0;
      this.battery[i] = draining ? 30 + this.#random() * 10 : 70 + this.#random() * 30;
      this.drain[i] = draining ? 0.6 + this.#random() * 0.2 : 0.005 + this.#random() * 0.01;
    }
    this.#self = this.gateway.child({ deviceId: this.gatewayId });
    this.#lastAt = ctx.clock.now();
    this.#index = index;
    this.#onFog = new Uint8Array(n);
  }

  /**
   * Starts the building's fog gateway over its wire sensors in service (not those the story makes
   * silent: the gateway forwards on a sensor's own telemetry topic, which the cloud counts as a sign
   * of life). Its children are views of a second {@link GatewayConnection} over the gateway's own
   * MQTT connection, so they do not take the sessions of the sensors' command views. The first fog
   * sensor of every 25th building reads stuck, of the building after it drifts.
   */
  async startFog(): Promise<void> {
    const c = this.#ctx;
    const sensors = [];
    for (let i = 0; i < this.ids.length; i++) {
      const f = this.flags[i] ?? 0;
      if ((f & SENSOR.WIRE) === 0 || this.provisioned[i] !== 1 || (f & (SENSOR.SILENT | SENSOR.SILENT_RECOVERS)) !== 0) continue;
      this.#onFog[i] = 1;
      if (this.#faulty < 0) this.#faulty = i;
      // Room temperature: plausible −10…50 °C, one reading an hour; stuck after 12 equal readings,
      // drift when the EWMA (α = 1/8) moves 4 °C from the baseline.
      sensors.push({ config: { id: this.ids[i] as string, range: { min: -10, max: 50 }, intervalMs: HOUR_MS, stuck: { samples: 12, tolerance: 0 }, drift: { threshold: 4, alpha: 1 / 8 } } });
    }
    if (sensors.length === 0) return;
    this.fault = injectedFault(this.#index);
    const uplink = new GatewayConnection({ transport: this.gateway.transport, tenantId: c.tenantId });
    // A window closes for every fog sensor at once: 4 publishes in flight per gateway (1,000 for
    // the fleet) keep that burst from crowding the broker (measured a little faster than 16).
    this.#fog = new FogGateway({ gateway: uplink, tenantId: c.tenantId, clock: c.clock, sensors, windowMs: FOG_WINDOW_MS, maxInFlight: 4 });
    this.#fog.on('error', () => undefined);
    await this.#fog.start();
  }

  /** Stops the fog gateway (its last windows summarised and sent); resolves to its report (undefined without one). */
  async stopFog(): Promise<FogReport | undefined> {
    if (this.#fog === undefined) return this.#fogReport;
    const fog = this.#fog;
    this.#fog = undefined;
    await fog.stop();
    this.#fogReport = fog.report();
    return this.#fogReport;
  }

  /** Sensors whose readings go through the fog gateway. */
  get fogSensors(): number {
    return this.#onFog.reduce((a, x) => a + x, 0);
  }

  /** The fog gateway's report: its final one once stopped, its current one while running. */
  get fogReport(): FogReport | undefined {
    return this.#fog?.report() ?? this.#fogReport;
  }

  /** Connects the gateway's shared connection and its own view. */
  async connect(): Promise<void> {
    await this.gateway.connect();
    await this.#self.connect();
  }

  /** Provisions the gateway with its certificate (challenge, signed nonce) and subscribes to its shadow deltas. */
  async provisionGateway(credentials: IssuedCertificate): Promise<void> {
    const c = this.#ctx;
    await provision(
      { transport: this.#self, clock: c.clock, codec: jsonCodec, qos: 1, tenantId: c.tenantId, deviceId: this.gatewayId, random: this.#random, timeoutMs: 3_600_000, onError: () => undefined },
      { method: 'x509', certificateChain: [credentials.pem], privateKey: credentials.privateKey },
    );
    await this.#self.subscribe(`$aws/things/${this.gatewayId}/shadow/update/delta`, (m) => this.#onDelta(m), { qos: 1 });
  }

  #onDelta(m: InboundMessage): void {
    const doc = jsonCodec.decode(m.payload) as { state?: Record<string, unknown> };
    this.deltas++;
    this.config = { ...this.config, ...(doc.state ?? {}) };
    void this.#self.publish(`$aws/things/${this.gatewayId}/shadow/update`, jsonCodec.encode({ state: { reported: doc.state ?? {} } }), { qos: 1 }).catch(() => undefined);
  }

  /**
   * Provisions every sensor by symmetric-key enrollment, each through its own child view (subscribed
   * to its provisioning answer and its jobs). Sensors flagged with bad
   * credentials present a proof made with a key that is not derived from the group key.
   */
  async provisionSensors(): Promise<void> {
    const c = this.#ctx;
    const wrongGroupKey = randomBytes(32).toString('base64');
    await Promise.all(
      this.ids.map(async (id, i) => {
        if (((this.flags[i] ?? 0) & SENSOR.WIRE) === 0) return;
        const child = this.gateway.child({ deviceId: id });
        this.#children[i] = child;
        await child.connect();
        const handler = (m: InboundMessage): void => this.#onSensorMessage(i, m);
        await Promise.all([child.subscribe(`cmd/${c.tenantId}/${id}/prov/res`, handler, { qos: 1 }), child.subscribe(`cmd/${c.tenantId}/${id}/job/+`, handler, { qos: 1 })]);
        const bad = ((this.flags[i] ?? 0) & SENSOR.BAD_CREDENTIALS) !== 0;
        const key = deriveDeviceKey(bad ? wrongGroupKey : c.groupKey, id);
        const nonce = randomBytes(16).toString('hex');
        const timestamp = c.clock.now();
        const requestId = `prov-${id}`;
        const answer = new Promise<Record<string, unknown>>((resolve) => this.#pendingProv.set(requestId, resolve));
        await child.publish(provisioningRequestTopic(c.tenantId, id), jsonCodec.encode({ type: 'symmetric-key', requestId, enrollment: { groupId: c.groupId, registrationId: id, nonce, timestamp, proof: computeEnrollmentProof(key, nonce, timestamp) } }), { qos: 1 });
        const a = await answer;
        if (a['type'] === 'accepted') {
          this.provisioned[i] = 1;
          this.accepted++;
        } else {
          this.refused++;
          const code = String((a['error'] as { code?: unknown } | undefined)?.code ?? 'UNKNOWN');
          this.refusedByCode.set(code, (this.refusedByCode.get(code) ?? 0) + 1);
          // A refused sensor is not on the network: its view is closed.
          this.#children[i] = undefined;
          await child.close();
        }
      }),
    );
  }

  #onSensorMessage(i: number, m: InboundMessage): void {
    const levels = m.topic.split('/');
    const kind = levels[3];
    if (kind === 'prov' && levels[4] === 'res') {
      const parsed = provisioningWireResponseSchema.safeParse(jsonCodec.decode(m.payload));
      if (!parsed.success) return;
      const r = parsed.data as Record<string, unknown>;
      const resolve = this.#pendingProv.get(String(r['requestId']));
      if (resolve === undefined) return;
      this.#pendingProv.delete(String(r['requestId']));
      resolve(r);
      return;
    }
    if (kind === 'job' && levels.length === 5) {
      const doc = jobDocumentWireSchema.safeParse(jsonCodec.decode(m.payload));
      if (!doc.success || doc.data.status === 'cancelled') return;
      this.#jobs.push({ sensor: i, doc: doc.data as ActiveJobDocument });
      this.#ctx.onJobDocument(this.ids[i] as string, doc.data.jobId);
    }
  }

  /** True when the sensor heartbeats at simulated hour `hour` of the soak. */
  #alive(i: number, hour: number): boolean {
    const f = this.flags[i] ?? 0;
    if (this.provisioned[i] !== 1 && (f & SENSOR.WIRE) !== 0) return false;
    if ((f & SENSOR.SILENT) !== 0) return hour < 24;
    if ((f & SENSOR.SILENT_RECOVERS) !== 0) return hour < 24 || hour >= 48;
    return true;
  }

  /**
   * Advances the sensors' model to now: batteries drain, the gateway polls every sensor in service
   * once and folds the poll into the window's fog aggregates (the poll's own summary, merged with
   * the fog core's `mergeAggregates`). A replaced battery is back at 100 %. The readings of the fog
   * sensors (with their injected faults) also go to the fog gateway, taken at the clock's now.
   */
  sample(hour: number): void {
    this.#hour = hour;
    const now = this.#ctx.clock.now();
    const hours = (now - this.#lastAt) / 3_600_000;
    this.#lastAt = now;
    const t = new Poll();
    const b = new Poll();
    for (let i = 0; i < this.ids.length; i++) {
      if (!this.#alive(i, hour)) continue;
      const f = this.flags[i] ?? 0;
      let level = (this.battery[i] ?? 0) - (this.drain[i] ?? 0) * hours;
      if ((f & SENSOR.BATTERY_REPLACED) !== 0 && hour === 40) {
        level = 100;
        this.drain[i] = 0.01;
      }
      level = Math.max(0, level);
      this.battery[i] = level;
      let temperature = 19 + this.#random() * 6;
      if (this.#fog !== undefined && this.#onFog[i] === 1) {
        if (i === this.#faulty && hour >= FAULT_FROM_HOUR) {
          if (this.fault === 'stuck') temperature = STUCK_AT;
          else if (this.fault === 'drift') temperature += DRIFT_PER_HOUR * (hour - FAULT_FROM_HOUR);
        }
        this.#fog.observe(this.ids[i] as string, temperature, now);
      }
      t.add(temperature);
      b.add(level);
    }
    this.#temperature = mergeAggregates(this.#temperature, t.aggregate(now));
    this.#batteryAgg = mergeAggregates(this.#batteryAgg, b.aggregate(now));
  }

  /** The gateway's own heartbeat and one summary of the building for the window; resets the window. */
  async publishSummary(): Promise<number> {
    const c = this.#ctx;
    const now = c.clock.now();
    const t = this.#temperature;
    const b = this.#batteryAgg;
    let low = 0;
    for (let i = 0; i < this.ids.length; i++) if (this.#alive(i, this.#hour) && (this.battery[i] ?? 0) < 20) low++;
    this.#temperature = EMPTY_AGGREGATE;
    this.#batteryAgg = EMPTY_AGGREGATE;
    await Promise.all([
      this.#self.publish(`dt/${c.tenantId}/${this.gatewayId}/heartbeat`, jsonCodec.encode({ ts: now, seq: ++this.#seq, batteryPct: 100, rssiDbm: -55, firmwareVersion: '5.0.0' }), { qos: 1 }),
      this.#self.publish(
        `dt/${c.tenantId}/${this.gatewayId}/telemetry`,
        jsonCodec.encode({ ts: now, seq: this.#seq, values: { sensors: this.ids.length, readings: t.count, temperatureMeanC: round(t.mean), temperatureMinC: round(t.count > 0 ? t.min : 0), temperatureMaxC: round(t.count > 0 ? t.max : 0), batteryMeanPct: round(b.mean), batteryLow: low } }),
        { qos: 1 },
      ),
    ]);
    return 2;
  }

  /** Relays one heartbeat for every live sensor (the cloud's per-device presence and health); resolves to the number sent. */
  async relayHeartbeats(hour: number): Promise<number> {
    const c = this.#ctx;
    const now = c.clock.now();
    const sends: Promise<void>[] = [];
    for (let i = 0; i < this.ids.length; i++) {
      const child = this.#children[i];
      if (child === undefined || this.provisioned[i] !== 1 || !this.#alive(i, hour)) continue;
      const id = this.ids[i] as string;
      const rssi = -60 - Math.round(this.#random() * 15);
      sends.push(child.publish(`dt/${c.tenantId}/${id}/heartbeat`, jsonCodec.encode({ ts: now, seq: hour + 1, batteryPct: Math.round((this.battery[i] ?? 0) * 10) / 10, rssiDbm: rssi, firmwareVersion: this.firmware[i] }), { qos: 1 }));
    }
    await Promise.all(sends);
    return sends.length;
  }

  /** Jobs received and not yet answered. */
  get pendingJobs(): number {
    return this.#jobs.length + this.#booting.length;
  }

  /**
   * The gateway's OTA tick: for each job received since the last tick it verifies the image
   * signature (once per image), flashes the sensor and runs the post-boot check with the core's
   * `evaluateBoot`. A passing sensor reports `succeeded` now; a failing one reports it is booting
   * now and `rolled_back` at the next tick (when its boot window has passed). Resolves to the
   * number of statuses sent.
   */
  async otaTick(): Promise<number> {
    const c = this.#ctx;
    const now = c.clock.now();
    const sends: Promise<void>[] = [];
    const report = (j: PendingJob, update: Record<string, unknown>): void => {
      const child = this.#children[j.sensor];
      if (child === undefined) return;
      sends.push(child.publish(jobStatusTopic(c.tenantId, this.ids[j.sensor] as string, j.doc.jobId), jsonCodec.encode({ jobId: j.doc.jobId, executionVersion: j.doc.executionVersion, ts: now, ...update }), { qos: 1 }));
    };
    for (const j of this.#booting.splice(0)) {
      const verdict = evaluateBoot({ bootedAt: now - j.doc.bootValidation.windowMs, now, windowMs: j.doc.bootValidation.windowMs, checks: [{ name: 'sensor-selftest', status: 'fail', at: now }] });
      report(j, { status: 'rolled_back', statusDetails: { reason: verdict.verdict === 'commit' ? 'unexpected' : verdict.reason.slice(0, 200) } });
    }
    for (const j of this.#jobs.splice(0)) {
      const fw = j.doc.firmware;
      const key = `${fw.version}:${fw.signature}`;
      let ok = this.#verified.get(key);
      if (ok === undefined) {
        ok = verify(null, firmwareSigningInput(fw), c.signingKey, Buffer.from(fw.signature, 'base64'));
        this.#verified.set(key, ok);
      }
      if (!ok) {
        report(j, { status: 'rejected', statusDetails: { code: 'BAD_SIGNATURE' } });
        continue;
      }
      const fails = j.doc.intent !== 'rollback' && fw.version === c.buggyVersion && ((this.flags[j.sensor] ?? 0) & SENSOR.FAILS_BUGGY_RELEASE) !== 0;
      if (fails) {
        report(j, { status: 'in_progress', phase: 'booting' });
        this.#booting.push(j);
        continue;
      }
      this.firmware[j.sensor] = fw.version;
      report(j, { status: 'succeeded' });
    }
    await Promise.all(sends);
    return sends.length;
  }

  /** True when the sensor is in service: a wire sensor once provisioned, a gateway-modeled one always. */
  inService(i: number): boolean {
    return ((this.flags[i] ?? 0) & SENSOR.WIRE) === 0 || this.provisioned[i] === 1;
  }

  /** Closes every view and the shared connection. */
  async close(): Promise<void> {
    await this.stopFog().catch(() => undefined);
    await this.gateway.close().catch((e: unknown) => (isFleetError(e) ? undefined : undefined));
  }
}

/** One poll of a building's sensors: Welford's running moments over plain numbers. */
class Poll {
  count = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;
  last = 0;

  add(v: number): void {
    this.count++;
    const d = v - this.mean;
    this.mean += d / this.count;
    this.m2 += d * (v - this.mean);
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    this.last = v;
  }

  /** The poll as a fog aggregate (all readings taken at `at`). */
  aggregate(at: number): Aggregate {
    if (this.count === 0) return EMPTY_AGGREGATE;
    return { count: this.count, min: this.min, max: this.max, mean: this.mean, m2: this.m2, last: this.last, lastAt: at };
  }
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

/** A stable 32-bit hash (for per-building seeds). */
export function hash32(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0);
}
