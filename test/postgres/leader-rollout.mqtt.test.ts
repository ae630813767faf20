// The leader dies during a rollout, across processes: an MQTT broker over TCP, one PostgreSQL
// server and three service instances in separate processes (test/support/scale-instance.ts in
// rollout mode: createFleet on the PostgreSQL stores, a LeaderElection with a 3 s lease and
// followLeader recovering the tenant's rollouts; every instance's firmware catalog holds the same
// signed image). 300 devices in this process answer their jobs slowly (each status report waits
// 150–1,000 ms), so a stage takes seconds. A staged rollout (5 % → 50 % → 100 %) is created on the
// leader, and the leader is killed with SIGKILL during the 50 % stage — in one scenario once 20 of
// the stage's devices are done, in the other as soon as the first of its job documents reaches a
// device (while the leader may still be dispatching the stage). Afterwards: a survivor leads
// within the stated takeover time, the rollout completes (every device succeeded, `completed` in
// the JobStore), no device was dispatched twice (one job execution per device in the store, one
// job document per device at the devices, one install each), the tracker's revision chain in the
// store has no decision applied twice, and the devices whose job was in flight on the killed
// leader finished.
//
// The broker is mosquitto with fleetkit's shadow bridge when installed, else fleetkit's MemoryBroker
// behind an MQTT socket listener (test/support/scale-cluster.ts; the job topics need no bridge).
import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { signFirmware, type FirmwareImageInput } from '../../src/cloud/index.js';
import { MqttTransport } from '../../src/mqtt.js';
import { PostgresDeviceStore, PostgresJobStore, openPgPool, type SqlDriver } from '../../src/postgres/index.js';
import { heartbeatTopic, jsonCodec } from '../../src/protocol/index.js';
import type { StoredJobExecution } from '../../src/store/index.js';
import type { Transport } from '../../src/transport/types.js';
import { attachJobResponder, type JobResponder } from '../cloud/job-responder.js';
import { postgresEnabled } from '../support/postgres.js';
import {
  ask,
  currentLeader,
  electedSince,
  electionTerms,
  isAlive,
  killInstances,
  BRIDGED_PREFIX,
  leaseHolder,
  mulberry32,
  startInstance,
  startScaleBackend,
  stopInstances,
  waitUntil,
  type Instance,
  type ScaleBackend,
} from '../support/scale-cluster.js';
import type { InstanceEvent } from '../support/scale-cluster.js';

const enabled = postgresEnabled('the multi-process leader-kill rollout test');

const DEVICES = 300;
const CONNECTIONS = 3;
const LEASE_MS = 3000;
const RENEW_MS = 750;
const EVALUATE_EVERY_MS = 250;
const STATUS_DELAY_MS: readonly [number, number] = [150, 1000];
const KILL_AFTER_STAGE_DONE = 20; // devices of the second stage that finished before the kill
const TENANT = 'acme';
const ACME = { tenantId: TENANT };
const ROLLOUT = 'fw-2-0-0';
const FROM = '1.0.0';
const TO = '2.0.0';

/** A device's view: its job responder, and the status reports that have left it (in order). */
interface SimDevice {
  readonly id: string;
  readonly responder: JobResponder;
  readonly sent: string[];
}

/** Delays every status report of a device by `delayMs` and records it once published. */
function slowReports(transport: Transport, delayMs: number, sent: string[]): Transport {
  return new Proxy(transport, {
    get(target, prop) {
      if (prop === 'publish') {
        return async (topic: string, payload: Uint8Array | string, options?: Parameters<Transport['publish']>[2]): Promise<void> => {
          await new Promise((r) => setTimeout(r, delayMs));
          await target.publish(topic, payload, options);
          if (topic.endsWith('/status')) sent.push((jsonCodec.decode(typeof payload === 'string' ? new TextEncoder().encode(payload) : payload) as { status: string }).status);
        };
      }
      const v: unknown = Reflect.get(target, prop);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

const done = (d: SimDevice): boolean => d.sent.at(-1) === 'succeeded';

describe.skipIf(!enabled)('leader killed during a rollout: three service instances in separate processes on one MQTT broker and PostgreSQL', () => {
  let backend: ScaleBackend | undefined;
  const instances: Instance[] = [];
  const transports: MqttTransport[] = [];
  let heartbeats: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    backend = await startScaleBackend('leaderkill_stage');
  }, 120_000);

  afterAll(async () => {
    if (heartbeats !== undefined) clearInterval(heartbeats);
    for (const t of transports) await t.close().catch(() => undefined);
    killInstances(instances);
    await backend?.close();
  });

  it('the leader SIGKILLed with 20 devices of the 50 % stage done: a survivor takes over within the lease, the rollout completes, no device dispatched twice, no decision applied twice', { timeout: 180_000 }, async () => {
    if (backend === undefined) throw new Error('setup failed');
    await scenario('stage-under-way', backend);
  });

  it('the leader SIGKILLed as the 50 % stage is dispatched: the same', { timeout: 180_000 }, async () => {
    if (backend === undefined) throw new Error('setup failed');
    await scenario('stage-dispatching', await backend.database('leaderkill_dispatch'));
  });

  /** One rollout on a fresh database and three fresh instances; the leader is killed at `kill`. */
  async function scenario(kill: 'stage-under-way' | 'stage-dispatching', db: { readonly owner: SqlDriver; readonly appUrl: string }): Promise<void> {
    if (backend === undefined) throw new Error('setup failed');
    const { broker } = backend;
    const { owner, appUrl } = db;
    // Test-only: every write of a rollout row, with the revision it replaced (the revision chain).
    await owner.exec(`
      CREATE TABLE test_rollout_history (seq bigserial PRIMARY KEY, rollout_id text NOT NULL, old_revision bigint, revision bigint NOT NULL, state text NOT NULL, record json NOT NULL);
      CREATE FUNCTION test_record_rollout() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
      BEGIN
        INSERT INTO test_rollout_history (rollout_id, old_revision, revision, state, record)
          VALUES (NEW.rollout_id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.revision END, NEW.revision, NEW.state, NEW.record);
        RETURN NULL;
      END $$;
      CREATE TRIGGER test_rollout_history AFTER INSERT OR UPDATE ON fleetkit_rollouts FOR EACH ROW EXECUTE FUNCTION test_record_rollout();`);
    const mine: Instance[] = [];
    const connections: MqttTransport[] = [];
    const app = await openPgPool({ url: appUrl, max: 4 });
    try {
      const started = Date.now();
      const ids = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
      await new PostgresDeviceStore(app).createMany(
        ACME,
        ids.map((deviceId) => ({ deviceId, tenantId: TENANT, state: 'active' as const, since: started, updatedAt: started, firmwareVersion: FROM, hardware: 'board-a' })),
      );

      // A signed image in every instance's catalog.
      const keys = generateKeyPairSync('ed25519');
      const bytes = `firmware image ${TO}`;
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const sizeBytes = Buffer.byteLength(bytes);
      const image: FirmwareImageInput = { version: TO, url: `https://fw.example.com/${TO}.bin`, sizeBytes, sha256, hardware: ['board-a'], keyId: 'release', ...signFirmware({ version: TO, sizeBytes, sha256 }, keys.privateKey) };
      const config = {
        mqttUrl: broker.url,
        appUrl,
        shareGroup: 'fleet',
        ...(broker.kind === 'mosquitto' ? { requestPrefix: BRIDGED_PREFIX } : {}),
        tenants: [TENANT],
        leaseMs: LEASE_MS,
        renewEveryMs: RENEW_MS,
        evaluateEveryMs: EVALUATE_EVERY_MS,
        rollouts: { tenantId: TENANT, signingKey: { keyId: 'release', publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString() }, images: [image] },
      };
      const tag = kill === 'stage-under-way' ? 'u' : 'd'; // ids and client ids unique per scenario
      mine.push(...(await Promise.all([0, 1, 2].map((n) => startInstance(`${tag}${n}`, config)))));
      instances.push(...mine);

      // The devices: slow job responders on CONNECTIONS connections, with a heartbeat every 15 s
      // (every instance's health monitor sees every heartbeat: each knows who is online).
      for (let c = 0; c < CONNECTIONS; c++) {
        const t = new MqttTransport({ url: broker.url, clientId: `devices-${tag}${c}`, maxInFlight: 1000, queue: { maxMessages: 100_000 } });
        await t.connect();
        transports.push(t);
        connections.push(t);
      }
      const random = mulberry32(7);
      const devices: SimDevice[] = await Promise.all(
        ids.map(async (id, i) => {
          const sent: string[] = [];
          const delay = Math.round(STATUS_DELAY_MS[0] + random() * (STATUS_DELAY_MS[1] - STATUS_DELAY_MS[0]));
          const responder = await attachJobResponder({ transport: slowReports(connections[i % CONNECTIONS]!, delay, sent), tenantId: TENANT, deviceId: id, clock: systemClock, publicKey: keys.publicKey, behaviour: () => 'ok', version: FROM });
          return { id, responder, sent };
        }),
      );
      let seq = 0;
      const beat = (): Promise<unknown> => {
        seq++;
        return Promise.all(ids.map((id, i) => connections[i % CONNECTIONS]!.publish(heartbeatTopic(TENANT, id), jsonCodec.encode({ ts: Date.now(), seq }), { qos: 1 })));
      };
      await beat();
      heartbeats = setInterval(() => void beat().catch(() => undefined), 15_000);
      for (const i of mine) {
        const end = Date.now() + 30_000;
        while ((await ask(i, { type: 'online', tenantId: TENANT }, 'online')).count < DEVICES) {
          if (Date.now() > end) throw new Error(`instance ${i.id} does not see every device online`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }

      // The rollout, created on the leader.
      const creator = currentLeader(mine);
      expect(creator.events.some((e) => e.type === 'elected')).toBe(true);
      const created = await ask(creator, { type: 'create-rollout', tenantId: TENANT, spec: { rolloutId: ROLLOUT, firmwareVersion: TO, stages: [{ percent: 5, minSoakMs: 500 }, { percent: 50, minSoakMs: 500 }, { percent: 100 }] } }, 'rollout-created');
      const sizes = created.byStage;
      expect(sizes.length).toBe(3);
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(DEVICES);
      const rolloutStarted = Date.now();

      // Kill the leader while the second stage is under way.
      const updateDocs = (d: SimDevice): number => d.responder.received.filter((doc) => doc.jobId === ROLLOUT).length;
      const secondStageOut = (): boolean => devices.filter((d) => updateDocs(d) > 0).length > sizes[0]!;
      if (kill === 'stage-under-way') await waitUntil(() => secondStageOut() && devices.filter(done).length >= sizes[0]! + KILL_AFTER_STAGE_DONE, 'the second stage to be under way', 90_000);
      else await waitUntil(secondStageOut, 'the second stage to be dispatched', 90_000);
      const killed = (await leaseHolder(owner, mine)) ?? currentLeader(mine);
      const inFlight = devices.filter((d) => updateDocs(d) > 0 && !done(d)).map((d) => d.id);
      const notYetReceived = devices.filter((d) => updateDocs(d) === 0).length;
      const killedAt = Date.now();
      killed.child.kill('SIGKILL');
      const survivors = mine.filter((i) => i !== killed);

      // A survivor leads within the stated takeover time (lease + renewal interval, plus slack for a loaded machine).
      await waitUntil(() => electedSince(survivors, killedAt).length > 0, 'a survivor to be elected', 30_000);
      const takeover = Math.min(...electedSince(survivors, killedAt).map((e) => e.at)) - killedAt;
      expect(takeover).toBeLessThanOrEqual(LEASE_MS + RENEW_MS + 3000);
      const terms = electionTerms(mine);
      expect(new Set(terms).size).toBe(terms.length);

      // The rollout completes.
      const jobs = new PostgresJobStore(app);
      const executions = async (jobId: string): Promise<StoredJobExecution[]> => {
        const out: StoredJobExecution[] = [];
        let cursor: string | undefined;
        do {
          const page = await jobs.listExecutions(ACME, { jobId, limit: 1000, ...(cursor === undefined ? {} : { cursor }) });
          out.push(...page.items);
          cursor = page.cursor;
        } while (cursor !== undefined);
        return out;
      };
      const end = Date.now() + 90_000;
      while ((await jobs.getRollout(ACME, ROLLOUT))?.state !== 'completed' || !devices.every(done)) {
        if (Date.now() > end) {
          const byStatus = new Map<string, number>();
          for (const e of await executions(ROLLOUT)) byStatus.set(e.status, (byStatus.get(e.status) ?? 0) + 1);
          const r = await jobs.getRollout(ACME, ROLLOUT);
          throw new Error(
            `the rollout did not complete: ${r?.state} at stage ${r?.stage}, executions ${JSON.stringify(Object.fromEntries(byStatus))}, ` +
              `devices done ${devices.filter(done).length}/${DEVICES}, not done: ${devices.filter((d) => !done(d)).slice(0, 5).map((d) => `${d.id} [${d.sent.join(',')}] docs ${updateDocs(d)}`).join('; ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const completedMs = Date.now() - rolloutStarted;
      const stored = (await jobs.getRollout(ACME, ROLLOUT))!;
      expect(stored.state).toBe('completed');

      // No device dispatched twice: one execution per device in the store, succeeded; no rollback job.
      const execs = await executions(ROLLOUT);
      expect(execs.map((e) => e.deviceId).sort()).toEqual(ids);
      for (const e of execs) expect(e.status, e.deviceId).toBe('succeeded');
      expect(await executions(`${ROLLOUT}:rollback`)).toEqual([]);
      // … and at the devices: every job document a device received is that one execution's
      // document (a repeat of the same document is a redelivery, not a dispatch); one install each.
      const issuedAt = new Map(execs.map((e) => [e.deviceId, (e.document as { issuedAt: number }).issuedAt]));
      let redeliveries = 0;
      for (const d of devices) {
        const docs = d.responder.received.filter((doc) => doc.jobId === ROLLOUT);
        expect(docs.length, d.id).toBeGreaterThan(0);
        expect(new Set(docs.map((doc) => `${doc.issuedAt}/${doc.executionVersion}`)), d.id).toEqual(new Set([`${issuedAt.get(d.id)}/1`]));
        redeliveries += docs.length - 1;
        expect(d.responder.received.filter((doc) => doc.jobId !== ROLLOUT), d.id).toEqual([]);
        expect(d.responder.installs, d.id).toEqual([`update:${TO}`]);
        expect(d.responder.cancellations, d.id).toBe(0);
        expect(d.sent.filter((s) => s === 'in_progress').length, d.id).toBe(2); // installing, booting: acted on once
      }
      // The dispatches the instances reported (those the killed one sent before it died may be lost with it): at most one per device.
      const dispatchedBy = new Map<string, string[]>();
      for (const i of mine) for (const e of i.events) if (e.type === 'dispatched' && e.jobId === ROLLOUT) dispatchedBy.set(e.deviceId, [...(dispatchedBy.get(e.deviceId) ?? []), i.id]);
      for (const [deviceId, by] of dispatchedBy) expect(by.length, `${deviceId} dispatched by ${by.join(', ')}`).toBe(1);

      // The devices whose job was in flight on the killed leader finished.
      expect(inFlight.length).toBeGreaterThan(0);
      const statusOf = new Map(execs.map((e) => [e.deviceId, e.status]));
      for (const id of inFlight) expect(statusOf.get(id), id).toBe('succeeded');

      // The revision chain: every save replaced the revision before it, each revision written
      // once; the tracker's revision, stage and per-device dispatch marks only move forward; each
      // stage was started once.
      const history = (
        await owner.query<{ old_revision: string | null; revision: string; state: string; record: { trackerRevision: number; stage: number; tracker: { flags: string; startedAt: (number | null)[] } } }>(
          'SELECT old_revision, revision, state, record FROM test_rollout_history WHERE rollout_id = $1 ORDER BY seq',
          [ROLLOUT],
        )
      ).rows;
      expect(history[0]!.old_revision).toBeNull();
      expect(history.map((h) => Number(h.revision))).toEqual(history.map((_, n) => n + 1));
      for (let n = 1; n < history.length; n++) {
        const [before, after] = [history[n - 1]!, history[n]!];
        expect(Number(after.old_revision)).toBe(Number(before.revision));
        expect(after.record.trackerRevision).toBeGreaterThanOrEqual(before.record.trackerRevision);
        expect(after.record.stage).toBeGreaterThanOrEqual(before.record.stage);
        for (let d = 0; d < DEVICES; d++) {
          const was = Number.parseInt(before.record.tracker.flags[d]!, 8) & 1;
          const now = Number.parseInt(after.record.tracker.flags[d]!, 8) & 1;
          if (was === 1) expect(now, `device ${d} at revision ${after.revision}`).toBe(1);
        }
        before.record.tracker.startedAt.forEach((t, s) => {
          if (t !== null) expect(after.record.tracker.startedAt[s], `stage ${s} started again`).toBe(t);
        });
      }
      // Running until it completed, and completed from then on.
      const firstCompleted = history.findIndex((h) => h.state === 'completed');
      expect(history.map((h) => h.state)).toEqual(history.map((_, n) => (n < firstCompleted ? 'running' : 'completed')));
      // The decisions as the instances reported them: each stage entered at most once, completed at
      // most once (the killed instance's last reports may be lost with it).
      const steps = mine.flatMap((i) => i.events.filter((e): e is Extract<InstanceEvent, { type: 'rollout-step' }> => e.type === 'rollout-step'));
      const advances = steps.filter((e) => e.cause === 'advance');
      expect(new Set(advances.map((a) => a.stage)).size).toBe(advances.length);
      expect(steps.filter((e) => e.cause === 'complete').length).toBeLessThanOrEqual(1);

      // The survivor that took over recovered the rollout; no survivor reported a failure. (A
      // controller that loses the lease while it runs a step may still report VERSION_CONFLICT:
      // the revision check refused its save. That is allowed, and counted.)
      const leader = currentLeader(survivors);
      const recoveredAt = leader.events.find((e) => e.type === 'rollout-step' && e.cause === 'recover' && e.at >= killedAt)?.at;
      expect(recoveredAt).toBeDefined();
      for (const i of survivors) expect(i.events.filter((e) => (e.type === 'rollout-error' && e.code !== 'VERSION_CONFLICT') || e.type === 'error'), `instance ${i.id}`).toEqual([]);
      const conflicts = survivors.flatMap((i) => i.events.filter((e) => e.type === 'rollout-error')).length;
      expect(isAlive(killed)).toBe(false);

      // Status reports that arrived while no instance drove the rollout (refused by the next leader before it recovered it).
      const leaderless = leader.events.filter((e) => e.type === 'status-rejected' && e.at >= killedAt && e.at < recoveredAt!).length;
      const dispatchedBySurvivors = survivors.flatMap((i) => i.events.filter((e) => e.type === 'dispatched')).length;
      console.info(
        `leader-rollout (${kill}): ${DEVICES} devices, stages ${sizes.join(' / ')}, killed instance ${killed.id} with ${inFlight.length} jobs in flight ` +
          `and ${notYetReceived} devices without their job yet (${dispatchedBySurvivors} dispatched by the survivors), ` +
          `${devices.filter(done).length} devices done at the end, takeover ${takeover} ms after the kill by instance ${leader.id}, ` +
          `rollout completed ${completedMs} ms after it started, ${history.length} rollout saves, ${redeliveries} repeated job documents, ` +
          `${leaderless} status reports arrived while no instance drove the rollout, ${conflicts} saves refused by the revision check, wall ${Date.now() - started} ms`,
      );
    } finally {
      if (heartbeats !== undefined) clearInterval(heartbeats);
      heartbeats = undefined;
      await stopInstances(mine);
      for (const t of connections) await t.close().catch(() => undefined);
      await app.close();
    }
  }
});
