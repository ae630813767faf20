// The child view of a gateway is a Transport: it passes the transport contract suite, with the
// children of one gateway connection (on the memory broker) talking to each other and to
// themselves over the shared connection.
import { MemoryBroker } from '../../src/transport/memory-broker.js';
import { MemoryTransport } from '../../src/transport/memory-transport.js';
import { GatewayConnection } from '../../src/device/gateway.js';
import { transportContract } from '../../src/testing/transport-contract.js';

const broker = new MemoryBroker();
// `any` scope: the contract uses its own topics (fk-contract/…), not device topics.
const gateway = new GatewayConnection({ transport: new MemoryTransport({ broker, clientId: 'gateway-contract' }), topicScope: 'any' });

transportContract(({ clientId, clean, queue }) => gateway.child({ deviceId: clientId, clean, ...(queue === undefined ? {} : { queue }) }), { name: 'GatewayChild (transport contract)' });
