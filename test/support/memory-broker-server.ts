/**
 * fleetkit's MemoryBroker behind a real MQTT 3.1.1/5 socket listener (loopback, free port), for
 * multi-process tests that need shared subscriptions on `$`-topics: Debian 12's mosquitto 2.0.11
 * never delivers a topic that starts with `$` (the AWS shadow tree, `$aws/things/…`) to a
 * `$share/…` subscription. Each TCP connection becomes one MemoryTransport session; the broker does
 * the routing, shared-subscription round robin and session removal when a socket closes (a killed
 * process). Deliberately small: CONNECT, SUBSCRIBE, UNSUBSCRIBE, PUBLISH (QoS 0/1 in; deliveries go
 * out at QoS 0, as a broker may downgrade), PINGREQ, DISCONNECT; no retained replay, wills or TLS.
 */
import { createServer, type Server, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import type { Unsubscribe } from '../../src/transport/types.js';
import { freePort } from './mosquitto.js';

/** A running socket front of a MemoryBroker. */
export interface MemoryBrokerServer {
  readonly url: string;
  readonly broker: MemoryBroker;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}

type Packet = ReturnType<typeof mqttPacket.parser> extends { on(e: 'packet', fn: (p: infer P) => void): unknown } ? P : never;

function serve(broker: MemoryBroker, socket: Socket, sockets: Set<Socket>): void {
  sockets.add(socket);
  socket.setNoDelay(true);
  const parser = mqttPacket.parser();
  let version: 4 | 5 = 4;
  let transport: MemoryTransport | undefined;
  const subs = new Map<string, Unsubscribe>();
  let chain: Promise<void> = Promise.resolve();
  const write = (packet: object): void => {
    if (!socket.destroyed) socket.write(mqttPacket.generate(packet as never, { protocolVersion: version }));
  };
  const handle = async (p: Packet): Promise<void> => {
    const packet = p as unknown as Record<string, unknown> & { cmd: string };
    switch (packet.cmd) {
      case 'connect': {
        version = packet.protocolVersion === 5 ? 5 : 4;
        transport = new MemoryTransport({ broker, clientId: String(packet.clientId), queue: { maxMessages: 1_000_000 }, maxInFlight: 65_535 });
        await transport.connect();
        write(version === 5 ? { cmd: 'connack', reasonCode: 0, sessionPresent: false } : { cmd: 'connack', returnCode: 0, sessionPresent: false });
        return;
      }
      case 'subscribe': {
        const granted: number[] = [];
        for (const s of packet.subscriptions as { topic: string; qos: number }[]) {
          const off = await transport!.subscribe(
            s.topic,
            (m) => write({ cmd: 'publish', topic: m.topic, payload: Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength), qos: 0, retain: false, dup: false }),
            { qos: s.qos === 0 ? 0 : 1 },
          );
          subs.set(s.topic, off);
          granted.push(s.qos === 0 ? 0 : 1);
        }
        write({ cmd: 'suback', messageId: packet.messageId, granted });
        return;
      }
      case 'unsubscribe': {
        for (const t of packet.unsubscriptions as string[]) {
          await subs.get(t)?.();
          subs.delete(t);
        }
        write({ cmd: 'unsuback', messageId: packet.messageId });
        return;
      }
      case 'publish': {
        const qos = packet.qos === 0 ? 0 : 1;
        await transport!.publish(String(packet.topic), packet.payload as Buffer, { qos, retain: packet.retain === true });
        if (qos === 1) write({ cmd: 'puback', messageId: packet.messageId });
        return;
      }
      case 'pingreq':
        write({ cmd: 'pingresp' });
        return;
      case 'disconnect':
        socket.end();
        return;
      default:
        return;
    }
  };
  parser.on('packet', (p) => {
    chain = chain.then(() => handle(p)).catch(() => void socket.destroy());
  });
  parser.on('error', () => socket.destroy());
  socket.on('data', (d) => parser.parse(d));
  socket.on('error', () => undefined);
  socket.on('close', () => {
    sockets.delete(socket);
    void chain.then(() => transport?.close()).catch(() => undefined);
  });
}

/** Starts a MemoryBroker behind an MQTT listener on a free loopback port. */
export async function startMemoryBrokerServer(): Promise<MemoryBrokerServer> {
  const broker = new MemoryBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => serve(broker, socket, sockets));
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
