import { afterAll, beforeAll, describe } from 'vitest';
import { MqttTransport } from '../../src/mqtt.js';
import { transportContract } from '../../src/testing/index.js';
import { startAedes, type TestAedes } from '../support/aedes.js';

describe('MqttTransport + aedes (in-process)', () => {
  let broker: TestAedes;
  beforeAll(async () => {
    broker = await startAedes();
  });
  afterAll(async () => {
    await broker.close();
  });
  transportContract(({ clientId, clean, queue }) => new MqttTransport({ url: broker.url, clientId, clean, ...(queue === undefined ? {} : { queue }) }), {
    name: 'passes the Transport contract',
  });
});
