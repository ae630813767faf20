/**
 * A `Transport` over MQTT 3.1.1/5 with mqtt.js (a peer dependency, loaded only by `fleetkit/mqtt`).
 * fleetkit owns the parts mqtt.js gets wrong for fleets: reconnect pacing (a backoff strategy on an
 * injected clock instead of a fixed period), a bounded offline queue, a bound on in-flight QoS 1
 * publishes, `TCP_NODELAY` on every connection, and authentication failures that stop retrying.
 */
import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { connect as mqttConnect } from 'mqtt';
import type { IClientOptions, IClientPublishOptions, MqttClient } from 'mqtt';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { BaseTransport, type OpenResult, type OutgoingMessage, type TransportOptions } from './base-transport.js';
import { booleanOption, invalidOption, optionsObject } from './options.js';
import type { QoS } from './types.js';

/** TLS settings of {@link MqttTransportOptions.tls}; PEM strings or buffers. */
export interface MqttTlsOptions {
  /** CA certificate(s) that signed the broker's certificate. */
  readonly ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** This client's certificate (mutual TLS). */
  readonly cert?: string | Uint8Array;
  /** This client's private key (mutual TLS). */
  readonly key?: string | Uint8Array;
  /**
   * A context made once with `tls.createSecureContext({ ca, cert, key })` and shared by many
   * transports (thousands of simulated devices): much less memory and CPU than one per client.
   */
  readonly secureContext?: SecureContext;
  /**
   * Verify the broker's certificate.
   * @defaultValue true
   */
  readonly rejectUnauthorized?: boolean;
  /** Server name for SNI and certificate checks (default: the URL's host name). */
  readonly servername?: string;
}

/** Options of {@link MqttTransport}. */
export interface MqttTransportOptions extends TransportOptions {
  /** Broker URL: `mqtt://host:1883`, `mqtts://host:8883`, `ws://…`, `wss://…`. */
  readonly url: string;
  /** The MQTT client id. */
  readonly clientId: string;
  /**
   * Clean session (true) or a persistent session whose subscriptions and QoS 1 messages the
   * broker keeps while this client is offline (false).
   * @defaultValue true
   */
  readonly clean?: boolean;
  /** MQTT user name. */
  readonly username?: string;
  /** MQTT password. */
  readonly password?: string | Uint8Array;
  /** TLS settings for `mqtts://` and `wss://` URLs. */
  readonly tls?: MqttTlsOptions;
  /**
   * Keep-alive interval in seconds.
   * @defaultValue 30
   */
  readonly keepaliveS?: number;
  /**
   * How long one connection attempt may take before it counts as failed (ms).
   * @defaultValue 10000
   */
  readonly connectTimeoutMs?: number;
  /**
   * MQTT protocol version: 4 (3.1.1) or 5.
   * @defaultValue 4
   */
  readonly protocolVersion?: 4 | 5;
}

// CONNACK codes that mean "these credentials will never work": 3.1.1 return codes 4 and 5, MQTT 5
// reason codes 0x86 bad user name or password, 0x87 not authorized, 0x8A banned, 0x8C bad auth method.
const AUTH_CONNACK = new Set([4, 5, 0x86, 0x87, 0x8a, 0x8c]);
// TLS failures: the broker refused our certificate (alerts) or we refused the broker's.
const TLS_FAILURE = /^(ERR_SSL_|ERR_TLS_CERT|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|CERT_|ERR_OSSL)/;

/**
 * Turns an mqtt.js or socket error into a FleetError: `AUTH_FAILED` for refused credentials and
 * failed TLS authentication (either side), `NOT_CONNECTED` for everything worth retrying.
 *
 * @internal
 */
export function classifyMqttError(error: unknown, url: string): FleetError {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = e?.code;
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (typeof code === 'number' && AUTH_CONNACK.has(code)) {
    return new FleetError('AUTH_FAILED', `The broker at ${url} refused the client: ${message}. Check the credentials or certificate; fleetkit does not retry`, {
      status: 401,
      details: { connackCode: code },
      cause: error,
    });
  }
  if ((typeof code === 'string' && TLS_FAILURE.test(code)) || message === 'TLS not authorized') {
    return new FleetError('AUTH_FAILED', `TLS authentication with ${url} failed (${typeof code === 'string' ? code : message}): check the CA, the client certificate and its key; fleetkit does not retry`, {
      status: 401,
      details: { tlsCode: code },
      cause: error,
    });
  }
  return new FleetError('NOT_CONNECTED', `MQTT link to ${url} failed: ${message}${typeof code === 'string' ? ` (${code})` : ''}`, {
    status: 503,
    details: typeof code === 'string' || typeof code === 'number' ? { code } : {},
    cause: error,
  });
}

/**
 * An MQTT 5 PUBACK whose reason code is 0x80 or above refuses that one message (0x87 "Not
 * authorized" for a topic the client may not publish to, e.g. `$SYS…` on mosquitto); the link is fine.
 */
function refusedPublish(error: unknown, topic: string): FleetError | undefined {
  const e = error as { code?: unknown; message?: unknown };
  if (typeof e.code !== 'number' || e.code < 0x80) return undefined;
  const why = typeof e.message === 'string' ? e.message : `reason code 0x${e.code.toString(16)}`;
  return new FleetError('FORBIDDEN', `The broker refused the message to "${topic}" (${why}); check the broker's ACL for this client`, {
    status: 403,
    details: { reasonCode: e.code, topic },
    cause: error,
  });
}

// mqtt.js copies the options it is given, so four shared objects serve every publish.
const PUBLISH_OPTIONS: readonly IClientPublishOptions[] = [
  { qos: 0, retain: false },
  { qos: 0, retain: true },
  { qos: 1, retain: false },
  { qos: 1, retain: true },
];

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function pem(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' ? value : toBuffer(value);
}

/** `value` as PEM text or bytes; refuses anything else, naming `name`. */
function pemOption(name: string, value: unknown): string | Buffer {
  if (typeof value === 'string' || value instanceof Uint8Array) return pem(value);
  throw invalidOption('MqttTransport', `${name} must be PEM text (a string) or its bytes (a Uint8Array such as readFileSync's Buffer), got ${describeValue(value)}`);
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  throw invalidOption('MqttTransport', `${name} must be a string, got ${describeValue(value)}`);
}

/** Checks the TLS settings and turns them into mqtt.js options. */
function tlsClientOptions(tls: unknown): Record<string, unknown> {
  if (tls === undefined) return { rejectUnauthorized: true };
  if (typeof tls !== 'object' || tls === null || Array.isArray(tls)) {
    throw invalidOption('MqttTransport', `tls must be an object such as { ca: readFileSync('ca.crt') }, got ${describeValue(tls)}`);
  }
  const t = tls as MqttTlsOptions;
  const ca: unknown = t.ca;
  const servername = optionalString('tls.servername', t.servername);
  const secureContext: unknown = t.secureContext;
  if (secureContext !== undefined && (typeof secureContext !== 'object' || secureContext === null)) {
    throw invalidOption('MqttTransport', `tls.secureContext must be a context made by tls.createSecureContext(), got ${describeValue(secureContext)}`);
  }
  return {
    ...(ca === undefined ? {} : { ca: Array.isArray(ca) ? ca.map((c: unknown, i) => pemOption(`tls.ca[${i}]`, c)) : pemOption('tls.ca', ca) }),
    ...(t.cert === undefined ? {} : { cert: pemOption('tls.cert', t.cert) }),
    ...(t.key === undefined ? {} : { key: pemOption('tls.key', t.key) }),
    ...(secureContext === undefined ? {} : { secureContext: secureContext as SecureContext }),
    ...(servername === undefined ? {} : { servername }),
    rejectUnauthorized: booleanOption('MqttTransport', 'tls.rejectUnauthorized', t.rejectUnauthorized, true),
  };
}

/**
 * A transport over an MQTT broker (mosquitto, EMQX, HiveMQ, AWS IoT Core, aedes…).
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { MqttTransport } from 'fleetkit/mqtt';
 * const t = new MqttTransport({
 *   url: 'mqtts://broker.example.com:8883',
 *   clientId: 'pump-7',
 *   clean: false,
 *   tls: { ca: readFileSync('ca.crt'), cert: readFileSync('pump-7.crt'), key: readFileSync('pump-7.key') },
 * });
 * await t.connect();
 * ```
 */
export class MqttTransport extends BaseTransport {
  /** The broker URL. */
  readonly url: string;
  readonly #clientOptions: IClientOptions;
  #client: MqttClient | undefined;
  #lastError: unknown;
  #opening: { resolve: (r: OpenResult) => void; reject: (e: FleetError) => void } | undefined;
  // The mqtt.js callback made for the last QoS 0 `done` seen, reused while `done` stays the same.
  #written0For: ((error?: FleetError) => void) | undefined;
  #written0: ((error?: Error) => void) | undefined;

  /**
   * @param options - URL, client id, session kind, credentials, TLS and the shared transport options
   * @throws FleetError `INVALID_ARGUMENT` when `options` is not an object, or for a bad option.
   */
  constructor(options: MqttTransportOptions) {
    const o = optionsObject<MqttTransportOptions>('new MqttTransport(options)', options, "{ url: 'mqtts://broker.example.com:8883', clientId: 'pump-7' }", true);
    super('MqttTransport', o.clientId as string, o as MqttTransportOptions);
    if (typeof o.url !== 'string' || !/^(mqtts?|wss?|tcp|ssl|tls):\/\//.test(o.url)) {
      throw invalidOption('MqttTransport', `url must look like mqtt://host:1883 or mqtts://host:8883, got ${describeValue(o.url)}`);
    }
    const keepalive = o.keepaliveS ?? 30;
    const connectTimeout = o.connectTimeoutMs ?? 10_000;
    if (!Number.isInteger(keepalive) || keepalive < 0 || keepalive > 65_535) {
      throw invalidOption('MqttTransport', `keepaliveS must be an integer from 0 to 65535, got ${describeValue(keepalive)}`);
    }
    if (typeof connectTimeout !== 'number' || !Number.isFinite(connectTimeout) || connectTimeout <= 0) {
      throw invalidOption('MqttTransport', `connectTimeoutMs must be a finite number > 0, got ${describeValue(connectTimeout)}`);
    }
    const protocolVersion = o.protocolVersion ?? 4;
    if (protocolVersion !== 4 && protocolVersion !== 5) {
      throw invalidOption('MqttTransport', `protocolVersion must be 4 (MQTT 3.1.1) or 5, got ${describeValue(protocolVersion)}`);
    }
    const username = optionalString('username', o.username);
    const password: unknown = o.password;
    if (password !== undefined && typeof password !== 'string' && !(password instanceof Uint8Array)) {
      throw invalidOption('MqttTransport', `password must be a string or a Uint8Array, got ${describeValue(password)}`);
    }
    const clean = booleanOption('MqttTransport', 'clean', o.clean, true);
    const tls = tlsClientOptions(o.tls);
    this.url = o.url;
    // mqtt.js calls a QoS 0 callback when the packet is written, at once or on the socket's next
    // 'drain' (in order), or at once with an error.
    this._qos0InOrder = true;
    this.#clientOptions = {
      clientId: this.clientId,
      clean,
      keepalive,
      connectTimeout,
      protocolVersion,
      // fleetkit paces reconnects, queues offline publishes and restores subscriptions itself.
      reconnectPeriod: 0,
      manualConnect: true,
      resubscribe: false,
      queueQoSZero: false,
      ...(username === undefined ? {} : { username }),
      ...(password === undefined ? {} : { password: typeof password === 'string' ? password : toBuffer(password) }),
      ...tls,
    } as IClientOptions;
  }

  /** @internal */
  protected _open(): Promise<OpenResult> {
    return new Promise<OpenResult>((resolve, reject) => {
      this.#opening = { resolve, reject };
      this.#lastError = undefined;
      const existing = this.#client;
      if (existing === undefined) {
        const client = mqttConnect(this.url, this.#clientOptions);
        this.#client = client;
        this.#wire(client);
        client.connect();
      } else {
        // Keep the stores: QoS 1 publishes sent but not acknowledged are re-sent on the new link.
        existing.reconnect({ incomingStore: existing.incomingStore, outgoingStore: existing.outgoingStore });
      }
      this.#noDelay();
    });
  }

  // Nagle's algorithm halves small-message throughput and mqtt.js never disables it; a socket that
  // is not connected yet remembers the setting.
  #noDelay(): void {
    const stream = this.#client?.stream as Partial<Socket> | undefined;
    if (typeof stream?.setNoDelay === 'function') stream.setNoDelay(true);
  }

  #wire(client: MqttClient): void {
    client.on('connect', (connack) => {
      this.#noDelay();
      const opening = this.#opening;
      this.#opening = undefined;
      opening?.resolve({ sessionPresent: connack.sessionPresent === true });
    });
    client.on('error', (error) => {
      this.#lastError = error;
    });
    client.on('close', () => {
      const error = classifyMqttError(this.#lastError ?? new Error('connection closed'), this.url);
      const opening = this.#opening;
      this.#opening = undefined;
      if (opening !== undefined) opening.reject(error);
      else this._linkLost(error);
    });
    client.on('message', (topic, payload, packet) => {
      this._deliver({ topic, payload, qos: (packet.qos === 0 ? 0 : 1) as QoS, retain: packet.retain, duplicate: packet.dup });
    });
  }

  /** @internal */
  protected _send(message: OutgoingMessage, done: (error?: FleetError) => void): void {
    const client = this.#client;
    if (client === undefined) {
      done(new FleetError('NOT_CONNECTED', 'MqttTransport: not connected', { status: 503 }));
      return;
    }
    const options = PUBLISH_OPTIONS[message.qos * 2 + (message.retain ? 1 : 0)] as IClientPublishOptions;
    if (message.qos === 0) {
      // QoS 0 has no PUBACK to refuse it: the callback only says written or not. BaseTransport
      // passes the same `done` to every QoS 0 publish made online, so one callback serves them all.
      if (done !== this.#written0For) {
        this.#written0For = done;
        this.#written0 = (error) => {
          if (error === undefined || error === null) done();
          else done(classifyMqttError(error, this.url));
        };
      }
      client.publish(message.topic, toBuffer(message.payload), options, this.#written0);
      return;
    }
    client.publish(message.topic, toBuffer(message.payload), options, (error) => {
      if (error === undefined || error === null) done();
      else done(refusedPublish(error, message.topic) ?? classifyMqttError(error, this.url));
    });
  }

  /** @internal */
  protected _subscribeRemote(filters: readonly { filter: string; qos: QoS }[]): Promise<void> {
    const client = this.#client;
    if (client === undefined) return Promise.reject(new FleetError('NOT_CONNECTED', 'MqttTransport: not connected', { status: 503 }));
    const map: Record<string, { qos: QoS }> = {};
    for (const { filter, qos } of filters) map[filter] = { qos };
    return new Promise<void>((resolve, reject) => {
      client.subscribe(map, (error, granted) => {
        // mqtt.js reports a SUBACK failure code (0x80 and up) as an error carrying the SUBACK packet.
        const suback = (error as { packet?: { cmd?: string; granted?: unknown } } | null | undefined)?.packet;
        const codes = suback?.cmd === 'suback' && Array.isArray(suback.granted) ? (suback.granted as number[]) : (granted ?? []).map((g) => g.qos as number);
        const refused = filters.filter((_, i) => (codes[i] ?? 0) >= 0x80).map((f) => f.filter);
        if (refused.length > 0) {
          reject(
            new FleetError('FORBIDDEN', `The broker refused the subscription to ${refused.map((f) => JSON.stringify(f)).join(', ')}; check the broker's ACL for this client`, {
              status: 403,
              details: { filters: refused },
            }),
          );
        } else if (error !== null && error !== undefined) reject(classifyMqttError(error, this.url));
        else resolve();
      });
    });
  }

  /** @internal */
  protected _unsubscribeRemote(filters: readonly string[]): Promise<void> {
    const client = this.#client;
    if (client === undefined) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      client.unsubscribe([...filters], (error) => {
        if (error === null || error === undefined) resolve();
        else reject(classifyMqttError(error, this.url));
      });
    });
  }

  /** @internal */
  protected _end(): Promise<void> {
    const client = this.#client;
    const opening = this.#opening;
    this.#opening = undefined;
    opening?.reject(new FleetError('TRANSPORT_CLOSED', 'MqttTransport closed while connecting', { status: 503 }));
    if (client === undefined) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // A graceful DISCONNECT when connected; force it when the link is down or after 2 s.
      const force = !client.connected;
      const timer = setTimeout(() => client.end(true, {}, () => resolve()), 2000);
      client.end(force, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
