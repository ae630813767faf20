/**
 * Where the simulation's messages go: an embedded aedes broker on a free loopback port (the
 * default), the in-process `MemoryBroker`, or a broker at a URL (mosquitto, EMQX, HiveMQ, …).
 * Every transport the simulation opens comes from here, and every publish through them is counted.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo, Server } from 'node:net';
import { FleetError, isFleetError } from '../../errors.js';
import { MemoryBroker } from '../../transport/memory-broker.js';
import { MemoryTransport } from '../../transport/memory-transport.js';
import type { Transport } from '../../transport/types.js';

/** The broker to run against. */
export type BrokerChoice =
  | { readonly kind: 'embedded' }
  | { readonly kind: 'memory' }
  | { readonly kind: 'url'; readonly url: string; readonly ca?: string; readonly cert?: string; readonly key?: string };

/** An open broker: transports on it, the publish count, and `close()`. */
export interface SimulationBroker {
  /** What it is, for the summary: `aedes (embedded) mqtt://127.0.0.1:PORT`, `memory`, or the URL. */
  readonly label: string;
  /** A new transport (not connected). `backend` ones get deep queues. */
  transport(clientId: string, backend?: boolean): Promise<Transport>;
  /** Messages published through every transport made here. */
  readonly published: () => number;
  /** Publishes of backend transports still waiting for their acknowledgement. */
  readonly backendInFlight: () => number;
  /** Closes the broker (when it is ours). */
  close(): Promise<void>;
}

/** A broker that cannot be reached or started: the CLI prints its message on one line, exit 1. */
export class BrokerUnavailableError extends Error {
  override readonly name = 'BrokerUnavailableError';
}

/** Publishes counted (all transports) and not yet acknowledged (backend transports). */
interface Counter {
  n: number;
  backendInFlight: number;
}

function counting(t: Transport, counter: Counter, backend: boolean): Transport {
  const publish = t.publish.bind(t);
  t.publish = (topic, payload, options) => {
    counter.n++;
    const sent = publish(topic, payload, options);
    if (backend) {
      counter.backendInFlight++;
      const done = (): void => void counter.backendInFlight--;
      sent.then(done, done);
    }
    return sent;
  };
  return t;
}

async function mqttTransports(url: string, tls: { ca?: string; cert?: string; key?: string }, counter: Counter): Promise<(clientId: string, backend?: boolean, probe?: boolean) => Promise<Transport>> {
  let MqttTransport: typeof import('../../transport/mqtt-transport.js').MqttTransport;
  try {
    ({ MqttTransport } = await import('../../transport/mqtt-transport.js'));
  } catch (error) {
    throw new BrokerUnavailableError(`the mqtt package is needed for --broker and the embedded broker (npm install mqtt@5): ${error instanceof Error ? error.message : String(error)}`);
  }
  const read = (flag: string, file: string | undefined): string | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new BrokerUnavailableError(`cannot read ${flag} ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const ca = read('--ca', tls.ca);
  const cert = read('--cert', tls.cert);
  const key = read('--key', tls.key);
  let secureContext: import('node:tls').SecureContext | undefined;
  if (url.startsWith('mqtts:') || url.startsWith('wss:')) {
    const { createSecureContext } = await import('node:tls');
    secureContext = createSecureContext({ ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) });
  }
  return async (clientId, backend = false, probe = false) =>
    counting(
      new MqttTransport({
        url,
        clientId,
        ...(probe ? { autoReconnect: false } : {}),
        connectTimeoutMs: 5_000,
        maxInFlight: backend ? 65_535 : 10_000,
        queue: { maxMessages: backend ? 2_000_000 : 200_000 },
        ...(secureContext === undefined ? {} : { tls: { secureContext } }),
      }),
      counter,
      backend,
    );
}

/** Opens the broker of `choice`; throws {@link BrokerUnavailableError} when it cannot. */
export async function openBroker(choice: BrokerChoice): Promise<SimulationBroker> {
  const counter: Counter = { n: 0, backendInFlight: 0 };
  if (choice.kind === 'memory') {
    const broker = new MemoryBroker();
    return {
      label: 'memory (in-process MemoryBroker)',
      transport: async (clientId, backend = false) => counting(new MemoryTransport({ broker, clientId, queue: { maxMessages: backend ? 2_000_000 : 200_000 }, maxInFlight: backend ? 65_535 : 10_000 }), counter, backend),
      published: () => counter.n,
      backendInFlight: () => counter.backendInFlight,
      close: async () => undefined,
    };
  }
  if (choice.kind === 'url') {
    const make = await mqttTransports(choice.url, choice, counter);
    // Probe once without reconnecting: an unreachable broker fails here, in a few seconds at most.
    const probe = await make('fleetkit-simulate-probe', false, true);
    try {
      await withTimeout(probe.connect(), 8_000, `no answer from ${choice.url} within 8 s`);
    } catch (error) {
      await probe.close().catch(() => undefined);
      throw new BrokerUnavailableError(`cannot reach the broker at ${choice.url}: ${reason(error)}`);
    }
    await probe.close().catch(() => undefined);
    counter.n = 0;
    return { label: choice.url, transport: make, published: () => counter.n, backendInFlight: () => counter.backendInFlight, close: async () => undefined };
  }
  // The embedded aedes broker: an optional peer dependency, loaded only here.
  let Aedes: typeof import('aedes').Aedes;
  try {
    ({ Aedes } = await import('aedes'));
  } catch {
    throw new BrokerUnavailableError('the embedded broker needs the aedes package (npm install aedes@1.2), or run with --transport memory or --broker mqtt://host:port');
  }
  const { createServer } = await import('node:net');
  const broker = await Aedes.createBroker({ concurrency: 1_000 });
  // Nagle off on the broker's side too: small QoS 1 packets and their acknowledgements go out at once.
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `mqtt://127.0.0.1:${port}`;
  const make = await mqttTransports(url, {}, counter);
  return {
    label: `aedes (embedded) ${url}`,
    transport: make,
    published: () => counter.n,
    backendInFlight: () => counter.backendInFlight,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function reason(error: unknown): string {
  if (isFleetError(error)) return error.message;
  return error instanceof Error ? error.message : String(error);
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new FleetError('TIMEOUT', message, { status: 504 })), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
