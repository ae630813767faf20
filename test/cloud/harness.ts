/**
 * A ShadowService on a MemoryBroker with a SimulatedClock, plus scripted devices that speak the
 * AWS shadow topics over plain MemoryTransports.
 */
import { SimulatedClock } from '../../src/clock.js';
import { ShadowService, type ShadowServiceOptions } from '../../src/cloud/index.js';
import type { LifecycleState } from '../../src/lifecycle/index.js';
import { MemoryBroker, MemoryTransport, createMemoryStores } from '../../src/memory.js';
import type { Transport } from '../../src/memory.js';

export const T0 = 1_700_000_000_000;

/** One message a device received. */
export interface Received {
  readonly topic: string;
  /** The response kind: `update/accepted`, `get/rejected`, `update/delta`, … */
  readonly kind: string;
  readonly shadowName: string | undefined;
  readonly payload: Record<string, unknown>;
}

/** A scripted device speaking the shadow topics of its thing. */
export interface ShadowDevice {
  readonly thing: string;
  readonly inbox: Received[];
  readonly transport: Transport;
  send(operation: 'get' | 'update' | 'delete', payload: unknown, shadowName?: string): Promise<void>;
  sendRaw(topic: string, payload: Uint8Array | string): Promise<void>;
  /** Waits for the next message of `kind` after `from` (an inbox index) and returns it. */
  next(kind: string, from?: number): Promise<Received>;
}

/** Waits (macrotask turns, not timers) until `cond` holds. */
export async function waitFor(cond: () => boolean, what: string, turns = 20_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface Rig {
  readonly clock: SimulatedClock;
  readonly broker: MemoryBroker;
  readonly stores: ReturnType<typeof createMemoryStores>;
  readonly service: ShadowService;
  register(thing: string, tenantId?: string, state?: LifecycleState): Promise<void>;
  device(thing: string): Promise<ShadowDevice>;
  /** Waits until the service has answered everything it accepted. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function shadowRig(options: Partial<Omit<ShadowServiceOptions, 'transport' | 'shadows' | 'devices'>> = {}, start = T0): Promise<Rig> {
  const clock = new SimulatedClock(start);
  const broker = new MemoryBroker();
  const stores = createMemoryStores();
  const open: Transport[] = [];
  const serviceTransport = new MemoryTransport({ broker, clientId: 'shadow-service', queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
  open.push(serviceTransport);
  await serviceTransport.connect();
  const service = new ShadowService({ transport: serviceTransport, shadows: stores.shadows, devices: stores.devices, clock, ...options });
  await service.start();
  return {
    clock,
    broker,
    stores,
    service,
    async register(thing, tenantId = 'acme', state = 'active') {
      await stores.devices.create({ tenantId }, { deviceId: thing, tenantId, state, since: clock.now() });
    },
    async device(thing) {
      const transport = new MemoryTransport({ broker, clientId: `dev-${thing}`, queue: { maxMessages: 100_000 }, maxInFlight: 10_000 });
      open.push(transport);
      await transport.connect();
      const inbox: Received[] = [];
      const decoder = new TextDecoder();
      const onMessage = (m: { topic: string; payload: Uint8Array }): void => {
        const levels = m.topic.split('/');
        const named = levels[4] === 'name';
        inbox.push({ topic: m.topic, kind: levels.slice(named ? 6 : 4).join('/'), shadowName: named ? levels[5] : undefined, payload: JSON.parse(decoder.decode(m.payload)) as Record<string, unknown> });
      };
      await transport.subscribe(`$aws/things/${thing}/shadow/+/+`, onMessage, { qos: 1 });
      await transport.subscribe(`$aws/things/${thing}/shadow/name/+/+/+`, onMessage, { qos: 1 });
      const base = (shadowName?: string): string => (shadowName === undefined ? `$aws/things/${thing}/shadow` : `$aws/things/${thing}/shadow/name/${shadowName}`);
      return {
        thing,
        inbox,
        transport,
        send: (operation, payload, shadowName) => transport.publish(`${base(shadowName)}/${operation}`, typeof payload === 'string' ? payload : JSON.stringify(payload), { qos: 1 }),
        sendRaw: (topic, payload) => transport.publish(topic, payload, { qos: 1 }),
        async next(kind, from = 0) {
          let found: Received | undefined;
          await waitFor(() => {
            found = inbox.slice(from).find((m) => m.kind === kind);
            return found !== undefined;
          }, `${kind} on ${thing}`);
          return found as Received;
        },
      };
    },
    async settle() {
      // Deliveries are batched per microtask: a few quiet macrotask turns with no busy lane mean
      // every request was answered and every response delivered.
      let quiet = 0;
      for (let i = 0; i < 200_000 && quiet < 4; i++) {
        await new Promise((r) => setImmediate(r));
        quiet = service.busyThings === 0 ? quiet + 1 : 0;
      }
    },
    async close() {
      await service.stop();
      await Promise.allSettled(open.map((t) => t.close()));
    },
  };
}
