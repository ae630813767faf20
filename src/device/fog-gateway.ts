/**
 * `FogGateway`: a building's fog gateway on the gateway mode. It takes its sensors' raw samples,
 * aggregates them in tumbling windows and runs the anomaly detectors at the edge (the `fleetkit/fog`
 * core), and forwards over one uplink only window summaries, the raw samples that leave a deadband,
 * the raw samples around each anomaly and the anomalies themselves, with store-and-forward across
 * uplink loss. See docs/operations.md ("Fog gateway").
 */
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { assertTenantId } from '../ids.js';
import { utf8ByteLength } from '../json.js';
import { addSample, EMPTY_AGGREGATE, type Aggregate } from '../fog/aggregate.js';
import { defineSensor, SensorBank, type Finding, type SensorConfig, type SensorConfigInput } from '../fog/detectors.js';
import type { QoS, TransportState } from '../transport/types.js';
import type { GatewayChild, GatewayConnection } from './gateway.js';

/** One sensor behind a {@link FogGateway}. */
export interface FogSensor {
  /** Its detector configuration (`fleetkit/fog`); `config.id` is its device id: the child's client id and the device level of its topics. */
  readonly config: SensorConfigInput | SensorConfig;
  /**
   * Report by exception: a raw sample is forwarded when it differs from the last one forwarded
   * this way by more than this (the first sample always is). @defaultValue Infinity (summaries only)
   */
  readonly deadband?: number;
}

/** Options of {@link FogGateway}. */
export interface FogGatewayOptions {
  /** The gateway connection whose children the sensors become (the uplink is its shared transport). */
  readonly gateway: GatewayConnection;
  /** The sensors' tenant (their topics are `dt/{tenantId}/{sensorId}/telemetry`). */
  readonly tenantId: string;
  /** The building's sensors; ids must be unique. */
  readonly sensors: readonly FogSensor[];
  /** Time for windows, gap checks and the children's reconnects. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** Tumbling window length, ms (windows are `[k·windowMs, (k+1)·windowMs)`). @defaultValue 60000 */
  readonly windowMs?: number;
  /**
   * Raw samples forwarded around each anomaly: the last `anomalyContext + 2` samples up to the one
   * that completed the finding (a spike is confirmed by the sample after it, so this is the
   * context before the spike, the spike and the confirming sample) and the `anomalyContext`
   * samples after it. @defaultValue 5
   */
  readonly anomalyContext?: number;
  /** Uplink messages kept while the uplink is down; beyond it the oldest is dropped (counted). @defaultValue 10000 */
  readonly maxBuffered?: number;
  /** Uplink messages in flight at once while online. @defaultValue 16 */
  readonly maxInFlight?: number;
  /** QoS of the uplink messages. @defaultValue 1 */
  readonly qos?: QoS;
  /** Bytes one raw sample is counted as in the reduction figure (as `fogDataReduction`'s `bytesPerMessage`). @defaultValue 200 */
  readonly rawBytesPerSample?: number;
  /** Bytes one window summary is counted as (as `fogDataReduction`'s `aggregateBytesPerMessage`). @defaultValue 400 */
  readonly summaryBytes?: number;
}

/** What a {@link FogGateway} did so far (from {@link FogGateway.report}). */
export interface FogReport {
  /** Raw samples observed. */
  readonly rawSamples: number;
  /** Window summaries forwarded (one per sensor per non-empty window). */
  readonly summaries: number;
  /** Raw samples forwarded (deadband exceptions, anomaly context and late samples; each sample at most once). */
  readonly rawForwarded: number;
  /** Of those, forwarded as context of an anomaly. */
  readonly anomalySamples: number;
  /** Anomaly messages forwarded (one per finding). */
  readonly anomalyMessages: number;
  /** `rawSamples × rawBytesPerSample`. */
  readonly rawBytes: number;
  /** `summaries × summaryBytes + rawForwarded × rawBytesPerSample`. */
  readonly forwardedBytes: number;
  /** `1 − forwardedBytes ÷ rawBytes` (0 before any sample): the figure `fleetkit calc fog-data-reduction` estimates. */
  readonly reductionFraction: number;
  /** `rawForwarded ÷ rawSamples`: `fogDataReduction`'s `exceptionFraction`. */
  readonly exceptionFraction: number;
  /** Findings per detector kind. */
  readonly anomalies: Readonly<Record<Finding['kind'], number>>;
  /** Uplink messages published (acknowledged by the uplink). */
  readonly sent: number;
  /** Payload bytes of those messages, as encoded. */
  readonly sentBytes: number;
  /** Uplink messages waiting in the store-and-forward buffer. */
  readonly buffered: number;
  /** Uplink messages dropped from a full buffer (the oldest first). */
  readonly dropped: number;
}

/** Events of a {@link FogGateway}. */
export interface FogGatewayEvents {
  /** A detector found an anomaly (also forwarded on the uplink). */
  anomaly: (finding: Finding) => void;
  /** The buffer was full: the oldest uplink message was dropped. */
  dropped: (event: { readonly topic: string; readonly dropped: number }) => void;
  /** A failure of the gateway itself (a child that could not connect, an uplink publish refused for good). */
  error: (error: FleetError) => void;
}

interface Outgoing {
  readonly sensor: number;
  readonly topic: string;
  readonly payload: string;
}

type RawReason = 'deadband' | 'anomaly' | 'late';

const KINDS: readonly Finding['kind'][] = ['out_of_range', 'stuck', 'spike', 'drift', 'gap'];

/** Per-sensor state besides the detectors: the open window, the deadband and the anomaly context. */
class SensorSlot {
  window: Aggregate = EMPTY_AGGREGATE;
  windowStart = NaN;
  /** Windows before this start are closed. */
  closedBefore = -Infinity;
  forwarded = NaN;
  seq = 0;
  /** Samples still to forward after an anomaly. */
  after = 0;
  readonly ringValue: Float64Array;
  readonly ringAt: Float64Array;
  readonly ringSent: Uint8Array;
  ringHead = 0;
  ringLen = 0;
  constructor(
    readonly index: number,
    readonly config: SensorConfig,
    readonly deadband: number,
    readonly topic: string,
    context: number,
  ) {
    const size = context === 0 ? 0 : context + 2;
    this.ringValue = new Float64Array(size);
    this.ringAt = new Float64Array(size);
    this.ringSent = new Uint8Array(size);
  }
}

/**
 * A building's fog gateway. Each sensor becomes a child of the {@link GatewayConnection} (so the
 * cloud sees it on its own topics); the gateway:
 *
 * - aggregates each sensor's samples in tumbling windows and forwards one **summary** per
 *   non-empty window (`{ fog: 'summary', start, end, count, min, max, mean, variance, last }`),
 *   when a later sample or the clock passes the window's end;
 * - forwards a **raw** sample (`{ fog: 'raw', value, reason }`) when it leaves the sensor's
 *   deadband (`deadband`), when it is within `anomalyContext` samples before or after a finding
 *   (`anomaly`), or when its window has already been summarised (`late`); each sample at most once;
 * - runs the sensor's detectors (range, stuck, spike, drift, gap; gaps from a clock tick every half
 *   of the shortest sensor interval) and forwards each finding (`{ fog: 'anomaly', kind, evidence }`)
 *   and emits `anomaly`;
 * - keeps uplink messages in a bounded **store-and-forward** buffer: they are sent in order while
 *   the uplink and the children are online (at most `maxInFlight` at once) and kept while it is
 *   down; when the buffer is full the oldest is dropped and counted. Each message carries the
 *   sensor's uplink `seq`, so the cloud sees a drop as a sequence gap.
 *
 * Every uplink message is a telemetry message (`{ ts, seq, values }`) on the sensor's
 * `dt/{tenant}/{sensor}/telemetry` topic. {@link report} gives the reduction achieved (on the same
 * byte model as `fleetkit calc fog-data-reduction`) and the anomalies found.
 *
 * @example
 * ```ts
 * const fog = new FogGateway({ gateway, tenantId: 'acme', clock, sensors: [
 *   { config: { id: 'temp-3-12', range: { min: -10, max: 50 }, intervalMs: 1000 }, deadband: 0.2 },
 * ] });
 * await fog.start();
 * fog.observe('temp-3-12', 21.4);
 * fog.report().reductionFraction;
 * await fog.stop();
 * ```
 */
export class FogGateway extends EventEmitter<FogGatewayEvents> {
  readonly #gateway: GatewayConnection;
  readonly #tenantId: string;
  readonly #clock: Clock;
  readonly #windowMs: number;
  readonly #context: number;
  readonly #maxBuffered: number;
  readonly #maxInFlight: number;
  readonly #qos: QoS;
  readonly #rawBytes: number;
  readonly #summaryBytes: number;
  readonly #tickMs: number;
  readonly #bank: SensorBank;
  readonly #slots: SensorSlot[];
  readonly #index = new Map<string, number>();
  #children: GatewayChild[] = [];
  // The buffer: a deque over an array (head index), compacted as it drains.
  #buffer: Outgoing[] = [];
  #head = 0;
  #pumping: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #started = false;
  #stopped = false;
  readonly #offs: (() => void)[] = [];
  #rawSamples = 0;
  #summaries = 0;
  #rawForwarded = 0;
  #anomalySamples = 0;
  #anomalyMessages = 0;
  #sent = 0;
  #sentBytes = 0;
  #dropped = 0;
  readonly #anomalies: Record<Finding['kind'], number> = { out_of_range: 0, stuck: 0, spike: 0, drift: 0, gap: 0 };

  /**
   * @param options - the gateway connection, tenant, sensors and settings
   * @throws FleetError `INVALID_ARGUMENT` for a missing gateway, bad settings or a duplicate
   *   sensor id; `INVALID_INPUT` for a malformed sensor configuration; `INVALID_NAME` for an
   *   invalid tenant id.
   */
  constructor(options: FogGatewayOptions) {
    super();
    const bad = (what: string): never => {
      throw new FleetError('INVALID_ARGUMENT', `new FogGateway: ${what}`, { status: 400 });
    };
    if (typeof options !== 'object' || options === null) bad(`pass { gateway, tenantId, sensors, clock?, … }, got ${describeValue(options)}`);
    if (typeof options.gateway?.child !== 'function') bad('gateway must be a GatewayConnection');
    this.#gateway = options.gateway;
    this.#tenantId = assertTenantId(options.tenantId);
    this.#clock = options.clock ?? systemClock;
    const positive = (name: string, v: unknown, fallback: number, integer: boolean, min: number): number => {
      const x = v ?? fallback;
      if (typeof x !== 'number' || !(x >= min) || !Number.isFinite(x) || (integer && !Number.isInteger(x))) bad(`${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}, got ${describeValue(x)}`);
      return x as number;
    };
    this.#windowMs = positive('windowMs', options.windowMs, 60_000, false, 1);
    this.#context = positive('anomalyContext', options.anomalyContext, 5, true, 0);
    this.#maxBuffered = positive('maxBuffered', options.maxBuffered, 10_000, true, 1);
    this.#maxInFlight = positive('maxInFlight', options.maxInFlight, 16, true, 1);
    this.#rawBytes = positive('rawBytesPerSample', options.rawBytesPerSample, 200, false, 1);
    this.#summaryBytes = positive('summaryBytes', options.summaryBytes, 400, false, 1);
    const qos = options.qos ?? 1;
    if (qos !== 0 && qos !== 1) bad(`qos must be 0 or 1, got ${describeValue(qos)}`);
    this.#qos = qos;
    if (!Array.isArray(options.sensors) || options.sensors.length === 0) bad('sensors must be a non-empty array of { config, deadband? }');
    const configs: SensorConfig[] = [];
    this.#slots = options.sensors.map((s, i) => {
      if (typeof s !== 'object' || s === null) bad(`sensors[${i}] must be { config, deadband? }, got ${describeValue(s)}`);
      const config = defineSensor(s.config as SensorConfigInput);
      if (this.#index.has(config.id)) bad(`sensor id "${config.id}" is used twice`);
      const deadband = s.deadband ?? Infinity;
      if (typeof deadband !== 'number' || !(deadband >= 0)) bad(`sensors[${i}].deadband must be a number ≥ 0, got ${describeValue(deadband)}`);
      this.#index.set(config.id, i);
      configs.push(config);
      return new SensorSlot(i, config, deadband, `dt/${this.#tenantId}/${config.id}/telemetry`, this.#context);
    });
    this.#bank = new SensorBank(configs);
    this.#tickMs = Math.max(1, Math.min(this.#windowMs, ...configs.map((c) => c.intervalMs / 2)));
  }

  /** The sensor ids, in the order given. */
  get sensors(): readonly string[] {
    return this.#slots.map((s) => s.config.id);
  }

  /** Uplink messages waiting in the store-and-forward buffer. */
  get buffered(): number {
    return this.#buffer.length - this.#head;
  }

  /**
   * Connects every sensor's child view (and so the uplink) and starts the window and gap clock.
   * Samples may be observed before; they are forwarded once the uplink is online. Idempotent.
   *
   * @throws FleetError `INVALID_OPERATION` after {@link stop}; the children's connect errors.
   */
  async start(): Promise<void> {
    if (this.#stopped) throw new FleetError('INVALID_OPERATION', 'FogGateway.start: the gateway was stopped; create a new FogGateway', { status: 409 });
    if (this.#started) return;
    this.#started = true;
    this.#children = this.#slots.map((s) => this.#gateway.child({ deviceId: s.config.id, tenantId: this.#tenantId, clock: this.#clock, queue: { maxMessages: this.#maxInFlight * 2 } }));
    for (const child of this.#children) {
      const onState = (state: TransportState): void => {
        if (state === 'online') this.#pump();
      };
      child.on('state', onState);
      this.#offs.push(() => child.off('state', onState));
    }
    await Promise.all(this.#children.map((c) => c.connect()));
    this.#arm();
    this.#pump();
  }

  /**
   * Feeds one raw sample of a sensor: aggregated, checked by the detectors, and forwarded raw when
   * it leaves the deadband or is near an anomaly.
   *
   * @param sensorId - the sensor's id
   * @param value - the reading
   * @param at - its time, epoch ms @defaultValue the clock's now
   * @returns the findings this sample completed (also emitted as `anomaly` and forwarded)
   * @throws FleetError `INVALID_ARGUMENT` for an unknown sensor or a malformed value or time
   */
  observe(sensorId: string, value: number, at: number = this.#clock.now()): readonly Finding[] {
    const i = this.#index.get(sensorId);
    if (i === undefined) throw new FleetError('INVALID_ARGUMENT', `FogGateway.observe: unknown sensor ${describeValue(sensorId)}; the sensors are those given to new FogGateway`, { status: 400 });
    if (typeof value !== 'number' || Number.isNaN(value)) throw new FleetError('INVALID_ARGUMENT', `FogGateway.observe: value must be a number, got ${describeValue(value)}`, { status: 400 });
    const findings = this.#bank.observe(i, value, at); // validates `at`
    const slot = this.#slots[i] as SensorSlot;
    this.#rawSamples++;
    const start = Math.floor(at / this.#windowMs) * this.#windowMs;
    let reason: RawReason | undefined;
    if (start < slot.closedBefore || start < slot.windowStart) reason = 'late';
    else if (Number.isFinite(value)) {
      if (start !== slot.windowStart) {
        this.#closeWindow(slot);
        slot.windowStart = start;
      }
      slot.window = addSample(slot.window, value, at);
    }
    if (slot.deadband !== Infinity && !(Math.abs(value - slot.forwarded) <= slot.deadband)) {
      slot.forwarded = value;
      reason ??= 'deadband';
    }
    if (slot.after > 0) {
      slot.after--;
      reason = 'anomaly';
    }
    // Keep the sample in the context ring (marked when forwarded now). The ring holds two samples
    // more than the context: a spike and the sample after it, which confirms it.
    const ctx = slot.ringValue.length;
    let pos = -1;
    if (ctx > 0) {
      pos = (slot.ringHead + slot.ringLen) % ctx;
      if (slot.ringLen === ctx) slot.ringHead = (slot.ringHead + 1) % ctx;
      else slot.ringLen++;
      slot.ringValue[pos] = value;
      slot.ringAt[pos] = at;
      slot.ringSent[pos] = 0;
    }
    if (reason !== undefined) {
      if (pos >= 0) slot.ringSent[pos] = 1;
      this.#forwardRaw(slot, i, value, at, reason);
    }
    if (findings.length > 0) this.#found(i, findings);
    return findings;
  }

  /**
   * Summarises and forwards every open window that ended by `now` (the clock does this on its own
   * after {@link start}; call it to close windows at a time of your choosing, e.g. at the end of a
   * simulation with `Infinity`).
   *
   * @param now - windows ending at or before this close, epoch ms @defaultValue the clock's now
   */
  closeWindows(now: number = this.#clock.now()): void {
    if (typeof now !== 'number' || Number.isNaN(now)) throw new FleetError('INVALID_ARGUMENT', `FogGateway.closeWindows: now must be a number, got ${describeValue(now)}`, { status: 400 });
    for (const slot of this.#slots) if (slot.window.count > 0 && slot.windowStart + this.#windowMs <= now) this.#closeWindow(slot);
  }

  /** The reduction achieved, the anomalies found and the uplink's state so far. */
  report(): FogReport {
    const rawBytes = this.#rawSamples * this.#rawBytes;
    const forwardedBytes = this.#summaries * this.#summaryBytes + this.#rawForwarded * this.#rawBytes;
    return {
      rawSamples: this.#rawSamples,
      summaries: this.#summaries,
      rawForwarded: this.#rawForwarded,
      anomalySamples: this.#anomalySamples,
      anomalyMessages: this.#anomalyMessages,
      rawBytes,
      forwardedBytes,
      reductionFraction: rawBytes === 0 ? 0 : 1 - forwardedBytes / rawBytes,
      exceptionFraction: this.#rawSamples === 0 ? 0 : this.#rawForwarded / this.#rawSamples,
      anomalies: { ...this.#anomalies },
      sent: this.#sent,
      sentBytes: this.#sentBytes,
      buffered: this.buffered,
      dropped: this.#dropped,
    };
  }

  /**
   * Stops the clock, summarises the open windows, tries once more to send what is buffered (while
   * the uplink is online) and closes the children's views. What could not be sent stays counted in
   * {@link FogReport.buffered}. Idempotent.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.closeWindows(Infinity);
    if (this.#started) {
      // Send what the uplink takes now; stop waiting as soon as the link is lost (the publishes
      // in flight then fail as the children close, and stay counted as buffered).
      this.#pump();
      const pumping = this.#pumping;
      if (pumping !== undefined) {
        let offLink = (): void => undefined;
        const lost = new Promise<void>((resolve) => {
          const onState = (state: TransportState): void => {
            if (state !== 'online') resolve();
          };
          this.#gateway.transport.on('state', onState);
          offLink = () => this.#gateway.transport.off('state', onState);
        });
        await Promise.race([pumping, lost]);
        offLink();
      }
      for (const off of this.#offs.splice(0)) off();
      await Promise.allSettled(this.#children.map((c) => c.close()));
    }
  }

  // ── forwarding ──────────────────────────────────────────────────────────────────────────────

  #closeWindow(slot: SensorSlot): void {
    const w = slot.window;
    if (w.count === 0) return;
    const start = slot.windowStart;
    const end = start + this.#windowMs;
    slot.window = EMPTY_AGGREGATE;
    slot.closedBefore = end;
    this.#summaries++;
    const variance = w.count < 2 ? 0 : Math.max(0, w.m2 / w.count);
    this.#enqueue(slot.index, slot, end, { fog: 'summary', start, end, count: w.count, min: w.min, max: w.max, mean: w.mean, variance, last: w.last });
  }

  #forwardRaw(slot: SensorSlot, i: number, value: number, at: number, reason: RawReason): void {
    this.#rawForwarded++;
    if (reason === 'anomaly') this.#anomalySamples++;
    this.#enqueue(i, slot, at, { fog: 'raw', value: Number.isFinite(value) ? value : String(value), reason });
  }

  #found(i: number, findings: readonly Finding[]): void {
    const slot = this.#slots[i] as SensorSlot;
    for (const f of findings) {
      this.#anomalies[f.kind]++;
      this.#anomalyMessages++;
      this.#enqueue(i, slot, f.at, { fog: 'anomaly', kind: f.kind, evidence: f.evidence as unknown as Record<string, unknown> });
      if (this.listenerCount('anomaly') > 0) this.emit('anomaly', f);
    }
    // The context before: the ring's samples not forwarded yet, oldest first; and the next ones.
    const ctx = slot.ringValue.length;
    for (let k = 0; k < slot.ringLen; k++) {
      const p = (slot.ringHead + k) % ctx;
      if (slot.ringSent[p] === 1) continue;
      slot.ringSent[p] = 1;
      this.#forwardRaw(slot, i, slot.ringValue[p] as number, slot.ringAt[p] as number, 'anomaly');
    }
    slot.after = this.#context;
  }

  #enqueue(i: number, slot: SensorSlot, ts: number, values: Record<string, unknown>): void {
    const payload = JSON.stringify({ ts: Math.max(0, Math.round(ts)), seq: slot.seq++, values });
    if (this.buffered >= this.#maxBuffered) {
      const oldest = this.#buffer[this.#head] as Outgoing;
      this.#buffer[this.#head++] = undefined as unknown as Outgoing;
      this.#dropped++;
      if (this.listenerCount('dropped') > 0) this.emit('dropped', { topic: oldest.topic, dropped: this.#dropped });
    }
    this.#buffer.push({ sensor: i, topic: slot.topic, payload });
    this.#pump();
  }

  #online(): boolean {
    if (!this.#started || this.#gateway.transport.state !== 'online') return false;
    for (const c of this.#children) if (c.state !== 'online') return false;
    return true;
  }

  // Sends the buffer in order, `maxInFlight` at a time, while everything is online. A batch that
  // fails (the link went down under it) is put back at the head, in order: delivery is at least
  // once, never reordered across batches.
  #pump(): void {
    if (this.#pumping !== undefined || this.buffered === 0 || !this.#online()) return;
    let failed = false;
    this.#pumping = (async () => {
      // One drain at a time; it runs until the buffer is empty, the uplink is down or a batch fails.
      failed = !(await this.#drain());
    })().finally(() => {
      this.#pumping = undefined;
      // Messages enqueued while the drain was finishing; after a failure, the next 'online' or message retries.
      if (!failed && !this.#stopped) this.#pump();
    });
  }

  // True when it stopped because the buffer is empty or the uplink is down; false when a batch failed.
  async #drain(): Promise<boolean> {
    while (this.buffered > 0 && this.#online()) {
      const n = Math.min(this.#maxInFlight, this.buffered);
      const batch = this.#buffer.slice(this.#head, this.#head + n);
      for (let k = 0; k < n; k++) this.#buffer[this.#head + k] = undefined as unknown as Outgoing;
      this.#head += n;
      this.#compact();
      const results = await Promise.allSettled(batch.map((m) => (this.#children[m.sensor] as GatewayChild).publish(m.topic, m.payload, { qos: this.#qos })));
      const failed: Outgoing[] = [];
      results.forEach((r, k) => {
        const m = batch[k] as Outgoing;
        if (r.status === 'fulfilled') {
          this.#sent++;
          this.#sentBytes += utf8ByteLength(m.payload);
        } else failed.push(m);
      });
      if (failed.length > 0) {
        this.#buffer.splice(this.#head, 0, ...failed);
        // Put back beyond the bound: the oldest go first.
        while (this.buffered > this.#maxBuffered) {
          this.#buffer[this.#head++] = undefined as unknown as Outgoing;
          this.#dropped++;
        }
        const reason = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as unknown;
        if (this.listenerCount('error') > 0) {
          this.emit('error', reason instanceof FleetError ? reason : new FleetError('NOT_CONNECTED', `FogGateway: an uplink publish failed and is kept for a retry: ${String(reason)}`, { status: 503, cause: reason }));
        }
        return false;
      }
    }
    return true;
  }

  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
  }

  // One timer: every tick checks gaps and closes the windows that ended.
  #arm(): void {
    this.#timer = this.#clock.setTimeout(this.#tick, this.#tickMs);
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#clock.now();
    const gaps = this.#bank.tick(now);
    if (gaps.length > 0) {
      for (const f of gaps) {
        const i = this.#index.get(f.sensorId);
        if (i !== undefined) this.#found(i, [f]);
      }
    }
    this.closeWindows(now);
    this.#arm();
  };
}
