/**
 * An in-process aedes broker on a free loopback port (port 0).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';

/** A running aedes broker. */
export interface TestAedes {
  readonly url: string;
  readonly broker: Aedes;
  /** Drops the server side of a client's connection, as a network failure would. */
  kick(clientId: string): boolean;
  close(): Promise<void>;
}

/** Starts aedes on 127.0.0.1 with an OS-assigned port. */
export async function startAedes(options: AedesOptions = {}): Promise<TestAedes> {
  const broker = await Aedes.createBroker(options);
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    broker,
    kick: (clientId) => {
      const client = (broker as unknown as { clients: Record<string, { conn: { destroy(): void } } | undefined> }).clients[clientId];
      if (client === undefined) return false;
      client.conn.destroy();
      return true;
    },
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
