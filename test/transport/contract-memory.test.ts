import { MemoryBroker, MemoryTransport } from '../../src/memory.js';
import { transportContract } from '../../src/testing/index.js';

const broker = new MemoryBroker();
transportContract(({ clientId, clean, queue }) => new MemoryTransport({ broker, clientId, clean, ...(queue === undefined ? {} : { queue }) }), {
  name: 'MemoryTransport passes the Transport contract',
});
