// Scale-out with real sockets: an MQTT broker, one PostgreSQL server and three service instances in
// separate processes (test/support/scale-instance.ts: createFleet on PostgreSQL stores with a
// shared-subscription group and a leader election). 1,000 devices send 20,000 shadow updates, a
// third of them with a version (so some are refused 409); the leader is killed with SIGKILL in the
// middle. Afterwards: a survivor leads within the stated takeover time, no accepted update is lost,
// no version is accepted twice, every device's view equals the store, and every request left
// unanswered by the killed instance succeeds on retry.
//
// The broker is Debian's mosquitto (started by the test) with fleetkit's shadow bridge: mosquitto
// 2.0 never delivers a topic that starts with `$` — the whole AWS shadow tree — to a `$share/…`
// subscription, so the broker bridges to itself and republishes the requests under a plain prefix
// the instances share (`requestPrefix`; docs/scaling.md). Without mosquitto (or with
// FLEETKIT_SCALE_BROKER=memory) it is fleetkit's MemoryBroker behind an MQTT socket listener.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeviceSnapshot } from '../../src/lifecycle/index.js';
import { MqttTransport } from '../../src/mqtt.js';
import { PostgresDeviceStore, PostgresShadowStore, openPgPool } from '../../src/postgres/index.js';
import type { ShadowDocument } from '../../src/shadow/types.js';
import { postgresEnabled } from '../support/postgres.js';
import { BRIDGED_PREFIX, ask, currentLeader, electedSince, electionTerms, killInstances, mulberry32, startInstance, startScaleBackend, stopInstances, waitUntil, type Instance, type ScaleBackend } from '../support/scale-cluster.js';

const enabled = postgresEnabled('the multi-process scale-out test');

const DEVICES = 1000;
const UPDATES_PER_DEVICE = 20;
const CONNECTIONS = 10; // device connections, each carrying DEVICES / CONNECTIONS things
const IN_FLIGHT_PER_DEVICE = 1;
const ANSWER_TIMEOUT_MS = 8000;
const LEASE_MS = 3000;
const RENEW_MS = 750;
const ACME = { tenantId: 'acme' };

describe.skipIf(!enabled)('scale-out: three service instances in separate processes on one MQTT broker and PostgreSQL', () => {
  let backend: ScaleBackend | undefined;
  const instances: Instance[] = [];
  const transports: MqttTransport[] = [];

  beforeAll(async () => {
    backend = await startScaleBackend('scale');
  }, 120_000);

  afterAll(async () => {
    for (const t of transports) await t.close().catch(() => undefined);
    killInstances(instances);
    await backend?.close();
  });

  it('1,000 devices, 20,000 updates, the leader SIGKILLed mid-way: nothing accepted is lost, no version accepted twice, views equal the store, unanswered requests succeed on retry', { timeout: 180_000 }, async () => {
    if (backend === undefined) throw new Error('setup failed');
    const { broker, appUrl } = backend;
    const app = await openPgPool({ url: appUrl, max: 4 });
    try {
      const things = Array.from({ length: DEVICES }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
      await new PostgresDeviceStore(app).createMany(
        ACME,
        things.map((t) => createDeviceSnapshot({ deviceId: t, tenantId: 'acme', now: Date.now() })),
      );
      const config = { mqttUrl: broker.url, appUrl, shareGroup: 'fleet', ...(broker.kind === 'mosquitto' ? { requestPrefix: BRIDGED_PREFIX } : {}), tenants: ['acme'], leaseMs: LEASE_MS, renewEveryMs: RENEW_MS };
      instances.push(await startInstance('0', config));
      instances.push(...(await Promise.all([startInstance('1', config), startInstance('2', config)])));
      expect(instances[0]!.events.some((e) => e.type === 'elected')).toBe(true); // the first to start leads

      // Device side: CONNECTIONS connections, each subscribed to the update and get answers of its things.
      type Answer = { topic: string; version: number; token: string; reported?: Record<string, unknown>; code?: number };
      const waiting = new Map<string, (a: Answer) => void>();
      const accepted = new Map<string, { version: number; token: string }[]>();
      const onAnswer = (topic: string, payload: Uint8Array): void => {
        const body = JSON.parse(new TextDecoder().decode(payload)) as { version?: number; clientToken?: string; code?: number; state?: { reported?: Record<string, unknown> } };
        const thing = topic.split('/')[2]!;
        const token = body.clientToken ?? '';
        const answer: Answer = { topic, version: body.version ?? -1, token, ...(body.code === undefined ? {} : { code: body.code }), ...(body.state?.reported === undefined ? {} : { reported: body.state.reported }) };
        if (topic.endsWith('/update/accepted')) accepted.set(thing, [...(accepted.get(thing) ?? []), { version: answer.version, token }]);
        const w = waiting.get(token);
        if (w !== undefined) {
          waiting.delete(token);
          w(answer);
        }
      };
      const connectionOf: MqttTransport[] = [];
      for (let c = 0; c < CONNECTIONS; c++) {
        const t = new MqttTransport({ url: broker.url, clientId: `devices-${c}`, maxInFlight: 1000, queue: { maxMessages: 100_000 } });
        await t.connect();
        transports.push(t);
        connectionOf.push(t);
      }
      await Promise.all(
        things.map(async (thing, i) => {
          const t = connectionOf[i % CONNECTIONS]!;
          for (const suffix of ['update/accepted', 'update/rejected', 'get/accepted']) await t.subscribe(`$aws/things/${thing}/shadow/${suffix}`, (m) => onAnswer(m.topic, m.payload), { qos: 1 });
        }),
      );

      const request = (thing: string, op: 'update' | 'get', body: Record<string, unknown>, token: string): Promise<Answer | undefined> =>
        new Promise((resolve) => {
          const timer = setTimeout(() => {
            waiting.delete(token);
            resolve(undefined);
          }, ANSWER_TIMEOUT_MS);
          waiting.set(token, (a) => {
            clearTimeout(timer);
            resolve(a);
          });
          const t = connectionOf[things.indexOf(thing) % CONNECTIONS]!;
          t.publish(`$aws/things/${thing}/shadow/${op}`, JSON.stringify({ ...body, clientToken: token }), { qos: 1 }).catch(() => undefined);
        });

      // The workload: update n of a thing reports key u<n>; a third carry the version the device last saw.
      const random = mulberry32(12);
      const outcome = new Map<string, 'accepted' | 'rejected'>(); // `${thing}/${n}`
      const unanswered: { thing: string; n: number }[] = [];
      const seen = new Map<string, number>();
      let answeredCount = 0;
      let killedAt: number | undefined;
      let killed: Instance | undefined;
      const total = DEVICES * UPDATES_PER_DEVICE;
      const plan = things.map((thing) => Array.from({ length: UPDATES_PER_DEVICE }, (_, n) => ({ thing, n, withVersion: random() < 1 / 3 })));
      const started = Date.now();
      await Promise.all(
        plan.flatMap((updates) =>
          Array.from({ length: IN_FLIGHT_PER_DEVICE }, async (_, lane) => {
            for (let k = lane; k < updates.length; k += IN_FLIGHT_PER_DEVICE) {
              const { thing, n, withVersion } = updates[k]!;
              const body: Record<string, unknown> = { state: { reported: { [`u${n}`]: n } } };
              if (withVersion) body.version = seen.get(thing) ?? 1;
              const a = await request(thing, 'update', body, `${thing}:${n}`);
              answeredCount++;
              if (killedAt === undefined && answeredCount >= total / 2) {
                // Kill the instance that leads now (under load the lease may have moved since the start).
                const leading = currentLeader(instances);
                killedAt = Date.now();
                killed = leading;
                leading.child.kill('SIGKILL');
              }
              if (a === undefined) unanswered.push({ thing, n });
              else if (a.topic.endsWith('/accepted')) {
                outcome.set(`${thing}/${n}`, 'accepted');
                seen.set(thing, Math.max(seen.get(thing) ?? 0, a.version));
              } else {
                expect(a.code, JSON.stringify(a)).toBe(409);
                outcome.set(`${thing}/${n}`, 'rejected');
              }
            }
          }),
        ),
      );
      const workloadMs = Date.now() - started;
      expect(killedAt).toBeDefined();

      // A survivor leads within the stated takeover time after the kill (lease + renewal interval,
      // plus slack for a loaded machine). On a starved machine a renewal may come late and the lease
      // pass between instances more than once: every election has its own, higher term.
      const survivors = instances.filter((i) => i !== killed);
      const electedAfterKill = (): { at: number }[] => electedSince(survivors, killedAt!);
      await waitUntil(() => electedAfterKill().length > 0, 'a survivor to be elected', 30_000);
      const terms = electionTerms(instances);
      expect(new Set(terms).size).toBe(terms.length);
      const takeover = Math.min(...electedAfterKill().map((e) => e.at)) - killedAt!;
      expect(takeover).toBeLessThanOrEqual(LEASE_MS + RENEW_MS + 3000);

      // Unanswered requests succeed on retry against the survivors (no version: they apply to whatever is current).
      const byThing = new Map<string, number[]>();
      for (const u of unanswered) byThing.set(u.thing, [...(byThing.get(u.thing) ?? []), u.n]);
      await Promise.all(
        [...byThing].map(async ([thing, ns]) => {
          for (const n of ns) {
            let a: Answer | undefined;
            for (let attempt = 1; attempt <= 3 && a === undefined; attempt++) a = await request(thing, 'update', { state: { reported: { [`u${n}`]: n } } }, `${thing}:${n}:retry${attempt}`);
            expect(a?.topic, `retry of ${thing}/${n}`).toMatch(/update\/accepted$/);
            outcome.set(`${thing}/${n}`, 'accepted');
          }
        }),
      );

      // Checks against the store.
      const store = new PostgresShadowStore(app);
      let acceptedTotal = 0;
      for (const thing of things) {
        const doc = (await store.get(ACME, thing)) as ShadowDocument;
        const versions = (accepted.get(thing) ?? []).map((a) => a.version);
        acceptedTotal += versions.length;
        // No version accepted twice; every accepted version is in the document's history (≤ the stored version).
        expect(new Set(versions).size, `${thing} versions ${versions.join(',')}`).toBe(versions.length);
        expect(Math.max(...versions)).toBeLessThanOrEqual(doc.version);
        // No accepted update lost; no refused one applied.
        const reported = (doc.state.reported ?? {}) as Record<string, unknown>;
        for (let n = 0; n < UPDATES_PER_DEVICE; n++) {
          const o = outcome.get(`${thing}/${n}`);
          if (o === 'accepted') expect(reported[`u${n}`], `${thing} u${n}`).toBe(n);
          if (o === 'rejected') expect(reported[`u${n}`], `${thing} u${n} was refused`).toBeUndefined();
        }
      }
      expect(acceptedTotal).toBeGreaterThan(total / 2);

      // Every device's view (a get through the survivors) equals the store.
      await Promise.all(
        things.map(async (thing) => {
          const a = await request(thing, 'get', {}, `${thing}:get`);
          const doc = (await store.get(ACME, thing)) as ShadowDocument;
          expect(a?.version, thing).toBe(doc.version);
          expect(a?.reported, thing).toEqual(doc.state.reported);
        }),
      );
      const served = await Promise.all(survivors.map(async (i) => (await ask(i, { type: 'stats' }, 'stats')).served));
      for (const s of served) expect(s).toBeGreaterThan(total / 10); // both survivors took a share
      console.info(
        `scale-out: ${total} updates in ${workloadMs} ms (${Math.round((total / workloadMs) * 1000)}/s incl. the kill), ${acceptedTotal} accepted answers, ` +
          `${[...outcome.values()].filter((o) => o === 'rejected').length} refused 409, ${unanswered.length} unanswered and retried, ` +
          `takeover ${takeover} ms after the kill, survivors served ${served.join(' / ')}`,
      );
    } finally {
      await stopInstances(instances);
      await app.close();
    }
  });
});
