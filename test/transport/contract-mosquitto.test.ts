import { afterAll, beforeAll, describe } from 'vitest';
import { MqttTransport } from '../../src/mqtt.js';
import { transportContract } from '../../src/testing/index.js';
import { mosquittoEnabled, startMosquitto, type TestMosquitto } from '../support/mosquitto.js';

const enabled = mosquittoEnabled('the MqttTransport + mosquitto contract');

describe.skipIf(!enabled)('MqttTransport + mosquitto', () => {
  let broker: TestMosquitto;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.dispose();
  });

  describe('plain listener', () => {
    transportContract(({ clientId, clean, queue }) => new MqttTransport({ url: broker.url, clientId, clean, ...(queue === undefined ? {} : { queue }) }), {
      name: 'passes the Transport contract',
    });
  });

  describe('mutual-TLS listener', () => {
    transportContract(
      ({ clientId, clean, queue }) =>
        new MqttTransport({
          url: broker.tlsUrl,
          clientId,
          clean,
          tls: { ca: broker.certs.caCert, cert: broker.certs.clientCert, key: broker.certs.clientKey },
          ...(queue === undefined ? {} : { queue }),
        }),
      { name: 'passes the Transport contract' },
    );
  });
});
