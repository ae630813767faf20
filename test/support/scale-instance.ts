/**
 * One cloud-tier service instance for the multi-process scale-out tests: `createFleet` on an
 * MqttTransport with the PostgreSQL stores (batched) and a shared-subscription group, plus a
 * LeaderElection whose leader recovers the rollouts of the configured tenants (followLeader).
 *
 * Started with `fork(…, { execArgv: ['--import', 'tsx'] })` and its configuration as JSON in the
 * environment variable FLEETKIT_INSTANCE. It talks to the parent over IPC:
 * - sends `{ type: 'ready' }`, `{ type: 'elected', term }`, `{ type: 'demoted', term, reason }`,
 *   `{ type: 'stats', served }` (answer to `{ type: 'stats' }`) and `{ type: 'error', message }`;
 * - on `{ type: 'stop' }` stops the election and the fleet and exits 0.
 */
import { createFleet } from '../../src/cloud/index.js';
import { defineProvisioningTemplate } from '../../src/lifecycle/index.js';
import { MqttTransport } from '../../src/mqtt.js';
import { LeaderElection, createPostgresStores, followLeader, openPgPool } from '../../src/postgres/index.js';

/** The configuration passed in FLEETKIT_INSTANCE. */
export interface InstanceConfig {
  readonly id: string;
  readonly mqttUrl: string;
  /** A connection string of a login role that is a member of fleetkit_app. */
  readonly appUrl: string;
  readonly shareGroup: string;
  readonly tenants: readonly string[];
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly evaluateEveryMs?: number;
}

type Message = { type: 'stats' } | { type: 'stop' };

const send = (m: object): void => {
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
    closeTransport: true,
    health: { certificates: false },
    ...(config.evaluateEveryMs === undefined ? {} : { rollouts: { evaluateEveryMs: config.evaluateEveryMs } }),
  });
  let served = 0;
  fleet.shadows.on('shadow:updated', () => void served++);
  fleet.shadows.on('error', (e) => send({ type: 'error', message: e.message }));
  const election = new LeaderElection(app, { holder: `instance-${config.id}`, leaseMs: config.leaseMs, renewEveryMs: config.renewEveryMs });
  election.onElected(({ term }) => send({ type: 'elected', term }));
  election.onDemoted(({ term, reason }) => send({ type: 'demoted', term, reason }));
  followLeader(election, { rollouts: fleet.rollouts, tenants: config.tenants, onError: (e) => send({ type: 'error', message: String(e) }) });
  await election.start();
  process.on('message', (m: Message) => {
    if (m.type === 'stats') send({ type: 'stats', served });
    else if (m.type === 'stop') {
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
