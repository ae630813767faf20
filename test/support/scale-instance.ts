/**
 * One cloud-tier service instance for the multi-process scale-out tests: `createFleet` on an
 * MqttTransport with the PostgreSQL stores (batched) and a shared-subscription group, plus a
 * LeaderElection whose leader recovers the rollouts of the configured tenants (followLeader).
 *
 * Started with `fork(…, { execArgv: ['--import', 'tsx'] })` (see scale-cluster.ts) and its
 * configuration as JSON in the environment variable FLEETKIT_INSTANCE. It talks to the parent over
 * IPC ({@link InstanceMessage} out, {@link InstanceRequest} in):
 * - sends `ready`, `elected` / `demoted` (its election), `error`, and answers `stats` and `online`;
 * - on `stop` stops the election and the fleet and exits 0;
 * - with `rollouts` in its configuration (rollout mode), its firmware catalog holds the given
 *   signing key and signed images, it creates a rollout on `create-rollout`, and it reports its
 *   rollout controller's steps (`rollout-step`), dispatches (`dispatched`) and errors.
 */
import { createFleet } from '../../src/cloud/index.js';
import type { CreateRolloutSpec, FirmwareImageInput, RolloutProgressEvent } from '../../src/cloud/index.js';
import { defineProvisioningTemplate } from '../../src/lifecycle/index.js';
import { MqttTransport } from '../../src/mqtt.js';
import { LeaderElection, createPostgresStores, followLeader, openPgPool } from '../../src/postgres/index.js';

/** Rollout mode: what the instance's firmware catalog holds (every instance of a test gets the same). */
export interface InstanceRolloutConfig {
  /** The tenant of the key and the images. */
  readonly tenantId: string;
  /** The release signing key: its id and its public key (SPKI PEM). */
  readonly signingKey: { readonly keyId: string; readonly publicKeyPem: string };
  /** Images signed with that key. */
  readonly images: readonly FirmwareImageInput[];
}

/** The configuration passed in FLEETKIT_INSTANCE. */
export interface InstanceConfig {
  readonly id: string;
  readonly mqttUrl: string;
  /** A connection string of a login role that is a member of fleetkit_app. */
  readonly appUrl: string;
  readonly shareGroup: string;
  /** Where the broker delivers shadow requests for shared subscriptions (mosquitto's bridge). */
  readonly requestPrefix?: string;
  readonly tenants: readonly string[];
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly evaluateEveryMs?: number;
  /** Rollout mode (off by default). */
  readonly rollouts?: InstanceRolloutConfig;
}

/** A rollout step as the instance reports it (`rollout:progress` other than device reports). */
export interface RolloutStep {
  readonly rolloutId: string;
  readonly cause: RolloutProgressEvent['cause'];
  readonly reason: string;
  readonly state: RolloutProgressEvent['state'];
  readonly stage: number;
  readonly revision: number;
  readonly succeeded: number;
}

/** What an instance sends to the parent. */
export type InstanceMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'elected'; readonly term: number }
  | { readonly type: 'demoted'; readonly term: number; readonly reason: string }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'stats'; readonly served: number }
  | { readonly type: 'online'; readonly count: number }
  | { readonly type: 'rollout-created'; readonly byStage: readonly number[] }
  | { readonly type: 'rollout-refused'; readonly message: string }
  | ({ readonly type: 'rollout-step' } & RolloutStep)
  | { readonly type: 'dispatched'; readonly rolloutId: string; readonly jobId: string; readonly deviceId: string; readonly notified: boolean }
  | { readonly type: 'rollout-error'; readonly code: string; readonly message: string }
  | { readonly type: 'status-rejected'; readonly code: string };

/** What the parent sends to an instance. */
export type InstanceRequest =
  | { readonly type: 'stats' }
  | { readonly type: 'stop' }
  | { readonly type: 'online'; readonly tenantId: string }
  | { readonly type: 'create-rollout'; readonly tenantId: string; readonly spec: CreateRolloutSpec };

const send = (m: InstanceMessage): void => {
  process.send?.(m);
};

async function main(): Promise<void> {
  const raw = process.env.FLEETKIT_INSTANCE;
  if (raw === undefined) throw new Error('FLEETKIT_INSTANCE is not set');
  const config = JSON.parse(raw) as InstanceConfig;
  const app = await openPgPool({ url: config.appUrl, max: 16, connectionTimeoutMillis: 15_000 });
  const transport = new MqttTransport({ url: config.mqttUrl, clientId: `svc-${config.id}`, maxInFlight: 1000, queue: { maxMessages: 200_000 } });
  const fleet = await createFleet({
    transport,
    stores: createPostgresStores(app, { batch: true }),
    template: defineProvisioningTemplate({ name: 'scale-v1', policies: ['{{TenantId}}-device'] }),
    shareGroup: config.shareGroup,
    ...(config.requestPrefix === undefined ? {} : { shadows: { requestPrefix: config.requestPrefix } }),
    closeTransport: true,
    health: { certificates: false },
    ...(config.evaluateEveryMs === undefined ? {} : { rollouts: { evaluateEveryMs: config.evaluateEveryMs } }),
  });
  let served = 0;
  fleet.shadows.on('shadow:updated', () => void served++);
  fleet.shadows.on('error', (e) => send({ type: 'error', message: e.message }));
  if (config.rollouts !== undefined) {
    const r = config.rollouts;
    const ctx = { tenantId: r.tenantId };
    fleet.firmware.addSigningKey(ctx, r.signingKey.keyId, r.signingKey.publicKeyPem);
    for (const image of r.images) fleet.firmware.add(ctx, image);
    fleet.rollouts.on('rollout:progress', (e) => {
      if (e.cause !== 'report') send({ type: 'rollout-step', rolloutId: e.rolloutId, cause: e.cause, reason: e.reason, state: e.state, stage: e.stage, revision: e.revision, succeeded: e.counts.succeeded });
    });
    fleet.rollouts.on('job:dispatched', (e) => send({ type: 'dispatched', rolloutId: e.rolloutId, jobId: e.jobId, deviceId: e.deviceId, notified: e.notified }));
    fleet.rollouts.on('error', (e) => send({ type: 'rollout-error', code: e.code, message: e.message }));
    fleet.rollouts.on('status:rejected', (e) => send({ type: 'status-rejected', code: e.error.code }));
  }
  const election = new LeaderElection(app, { holder: `instance-${config.id}`, leaseMs: config.leaseMs, renewEveryMs: config.renewEveryMs });
  election.onElected(({ term }) => send({ type: 'elected', term }));
  election.onDemoted(({ term, reason }) => send({ type: 'demoted', term, reason }));
  followLeader(election, { rollouts: fleet.rollouts, tenants: config.tenants, onError: (e) => send({ type: 'error', message: String(e) }) });
  await election.start();
  process.on('message', (m: InstanceRequest) => {
    if (m.type === 'stats') send({ type: 'stats', served });
    else if (m.type === 'online') send({ type: 'online', count: fleet.health.devices({ tenantId: m.tenantId }).filter((d) => d.online).length });
    else if (m.type === 'create-rollout') {
      fleet.rollouts.create({ tenantId: m.tenantId }, m.spec).then(
        (s) => send({ type: 'rollout-created', byStage: s.byStage.map((c) => Object.values(c).reduce((a, b) => a + b, 0)) }),
        (e: unknown) => send({ type: 'rollout-refused', message: e instanceof Error ? e.message : String(e) }),
      );
    } else if (m.type === 'stop') {
      void (async () => {
        await election.stop();
        await fleet.close();
        await app.close();
        process.exit(0);
      })();
    }
  });
  send({ type: 'ready' });
}

main().catch((e: unknown) => {
  send({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
});
