/**
 * An in-process aedes broker on a free loopback port (port 0).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes } from 'aedes';

/** A running aedes broker. */
export interface TestAedes {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts aedes on 127.0.0.1 with an OS-assigned port. */
export async function startAedes(): Promise<TestAedes> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
