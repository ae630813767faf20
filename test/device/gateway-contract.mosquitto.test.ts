// The child view over a gateway whose shared connection is an MqttTransport to a real mosquitto
// passes the transport contract (children talk to each other through the broker and back).
import { afterAll, beforeAll, describe } from 'vitest';
import { GatewayConnection } from '../../src/device/gateway.js';
import { MqttTransport } from '../../src/mqtt.js';
import { transportContract } from '../../src/testing/index.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';

const enabled = mosquittoEnabled('the GatewayChild + mosquitto contract');

describe.skipIf(!enabled)('GatewayChild over MqttTransport + mosquitto', () => {
  let broker: TestMosquitto;
  let gateway: GatewayConnection | undefined;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await gateway?.close();
    await broker?.dispose();
  });

  transportContract(
    ({ clientId, clean, queue }) => {
      gateway ??= new GatewayConnection({ transport: new MqttTransport({ url: broker.url, clientId: 'gateway-contract' }), topicScope: 'any' });
      return gateway.child({ deviceId: clientId, clean, ...(queue === undefined ? {} : { queue }) });
    },
    { name: 'passes the Transport contract' },
  );
});
