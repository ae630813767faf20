// A small consumer of every public entry point, type-checked against the packed tarball by
// scripts/check-package.sh under each compiler setting a user may have (see the matrix there).
// It is never run: it must only compile, with skipLibCheck off, as both ESM and CommonJS.
import { applyShadowUpdate, FleetError, isFleetError, jsonCodec, SimulatedClock, type JsonObject, type JsonValue, type Result } from 'fleetkit';
import { ackProperty, computeDelta, getShadow, propertyAcks, type PropertyAck, type ShadowUpdateResult } from 'fleetkit/shadow';
import { createDeviceSnapshot, defineProvisioningTemplate, transition, type DeviceSnapshot, type TransitionResult } from 'fleetkit/lifecycle';
import { cohortOf, planRollout, type RolloutPlan } from 'fleetkit/rollout';
import { failuresAtScale, type FailuresAtScaleResult } from 'fleetkit/calc';
import { createLimiter, decide, type LimiterDecision } from 'fleetkit/tenancy';
import { LatencySketch, evaluateAlerts, EMPTY_ALERT_STATE, type AlertStep } from 'fleetkit/monitor';
import { createSensorState, observeSensor, type Finding } from 'fleetkit/fog';
import { parseMessage, telemetryMessageSchema, telemetryTopic, type FleetTopic } from 'fleetkit/protocol';
import { MemoryBroker, MemoryTransport, type MemoryBrokerStats } from 'fleetkit/memory';
import { MqttTransport, type MqttTransportOptions } from 'fleetkit/mqtt';
import { cborCodec } from 'fleetkit/cbor';
import { DeviceAgent, GatewayConnection, VirtualDevice, esp32, seededRandom, type DeviceAgentOptions, type JobReport } from 'fleetkit/device';
import { FirmwareCatalog, createFleet, type CreateFleetOptions, type Fleet, type RolloutSummary } from 'fleetkit/cloud';
import { shadowUpdateRequest, transportContract, type TransportFactory } from 'fleetkit/testing';
import { createPostgresStores, migrate, openPGlite, type MigrateResult, type PostgresStores, type SqlDriver } from 'fleetkit/postgres';

// An acknowledgement is a JSON value a device reports.
const ack: PropertyAck = ackProperty(21, { version: 7 });
const reported: JsonValue = { targetTemp: ack };
const update: ShadowUpdateResult = applyShadowUpdate(undefined, { state: { reported } }, { now: 0 });
if (update.ok) {
  const acks = propertyAcks(update.document);
  const delta: JsonObject | undefined = computeDelta(update.document.state.desired, update.document.state.reported);
  void acks.length;
  void delta;
  void getShadow(update.document, { now: 1 });
} else {
  const code: number = update.rejected.code;
  void code;
}

const error: unknown = new FleetError('INVALID_ARGUMENT', 'x');
if (isFleetError(error, 'INVALID_ARGUMENT')) {
  const status: number | undefined = error.status;
  void status;
}
const parsed: Result<number> = { ok: true, value: 1 };
void parsed;

const device: DeviceSnapshot = createDeviceSnapshot({ deviceId: 'pump-7', tenantId: 'acme', now: 0 });
const moved: TransitionResult = transition(device, { type: 'registration_initiated', actor: 'ops' }, { now: 1 });
void moved;

const cohort: number = cohortOf('fw-2.5.0', 'pump-7');
const plan: (spec: never) => RolloutPlan = planRollout;
void cohort;
void plan;

const failures: FailuresAtScaleResult = failuresAtScale({ devices: 10_000, failuresPerDeviceYear: 1, messageIntervalSeconds: 10 });
void failures.failuresPerDay;

const decision: LimiterDecision = decide(createLimiter({ ratePerSecond: 10, burst: 5 }), 1, 0);
const alerts: AlertStep = evaluateAlerts([{ name: 'Hot', metric: 'temp', op: 'above', fire: 30, resolve: 28 }], EMPTY_ALERT_STATE, [], 0);
const p99: number = new LatencySketch().record(12).percentile(99);
const findings: readonly Finding[] = observeSensor(createSensorState({ id: 't', range: { min: 0, max: 50 }, intervalMs: 60_000 }), 21, 0);
void decision.retryAfterMs;
void alerts.events;
void p99;
void findings;

const topic: string = telemetryTopic('acme', 'pump-7');
const message = parseMessage(telemetryMessageSchema, jsonCodec.decode(jsonCodec.encode({ ts: 0, values: { rpm: 1 } })));
const ts: number = message.ts;
const kind: FleetTopic['kind'] | undefined = undefined;
void topic;
void ts;
void kind;
void cborCodec.decode(cborCodec.encode({ a: 1 }));

const clock = new SimulatedClock(0);
const broker = new MemoryBroker({ clock, seed: 7, faults: { latencyMs: [0, 10] } });
const stats: MemoryBrokerStats = broker.stats;
const transport = new MemoryTransport({ broker, clientId: 'pump-7' });
const factory: TransportFactory = () => new MemoryTransport({ broker, clientId: 'contract' });
const mqtt: MqttTransportOptions = { url: 'mqtts://broker.example.com', clientId: 'pump-7' };
void stats;
void transport;
void factory;
void transportContract;
void shadowUpdateRequest();
void new MqttTransport(mqtt);

const agentOptions: DeviceAgentOptions = { transport, clock, tenantId: 'acme', deviceId: 'pump-7', heartbeatIntervalMs: 10_000 };
const agent = new DeviceAgent(agentOptions);
agent.handle('reboot', () => ({ rebooting: true }));
const virtualDevice = new VirtualDevice({ transport, clock, tenantId: 'acme', deviceId: 'esp32-1', seed: 7 });
const lastReport: JobReport | undefined = undefined;
void virtualDevice.state;
void lastReport;
void seededRandom(1)();
const openDb: (options?: { dataDir?: string }) => Promise<SqlDriver> = openPGlite;
const migrated: (driver: SqlDriver) => Promise<MigrateResult> = migrate;
const sqlStores: (driver: SqlDriver) => PostgresStores = createPostgresStores;
void openDb;
void migrated;
void sqlStores;

const gateway = new GatewayConnection({ transport, tenantId: 'acme' });
void gateway.child({ deviceId: 'sensor-1' });
void esp32;
const fleetOptions: CreateFleetOptions = { transport, clock, template: defineProvisioningTemplate({ name: 'v1' }), firmware: new FirmwareCatalog() };
const started: Promise<Fleet> = createFleet(fleetOptions);
void started.then(async (fleet) => {
  const summary: RolloutSummary | undefined = await fleet.rollouts.get({ tenantId: 'acme' }, 'fw-2');
  void summary?.state;
  await fleet.close();
});
