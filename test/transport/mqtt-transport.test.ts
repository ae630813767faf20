import { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isFleetError } from '../../src/errors.js';
import { exponentialBackoff, MqttTransport, type BackoffStrategy } from '../../src/mqtt.js';
import { waitUntil } from '../../src/testing/index.js';
import { classifyMqttError } from '../../src/transport/mqtt-transport.js';
import { startAedes, type TestAedes } from '../support/aedes.js';
import { expectFleetError, hostileValues } from '../support/hostile.js';

const fastBackoff = (): BackoffStrategy => exponentialBackoff({ initialMs: 20, maxMs: 100 });

/** Resolves once `t` has gone offline (recorded from events: with a fast backoff it may be back online before a poll). */
function wentOffline(t: MqttTransport): () => boolean {
  let seen = false;
  t.on('state', (s) => {
    if (s === 'offline') seen = true;
  });
  return () => seen;
}

describe('MqttTransport (against in-process aedes)', () => {
  let aedes: TestAedes;
  const open: MqttTransport[] = [];
  const make = (clientId: string, extra: Partial<ConstructorParameters<typeof MqttTransport>[0]> = {}): MqttTransport => {
    const t = new MqttTransport({ url: aedes.url, clientId, backoff: fastBackoff(), ...extra });
    open.push(t);
    return t;
  };
  beforeAll(async () => {
    aedes = await startAedes({
      authenticate: (_client, username, _password, done) => {
        if (username === 'intruder') done(Object.assign(new Error('nope'), { returnCode: 5 as const }), false);
        else done(null, true);
      },
    });
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.allSettled(open.splice(0).map((t) => t.close()));
  });
  afterAll(async () => {
    await aedes.close();
  });

  it('sets TCP_NODELAY on the first connection and on every reconnection', async () => {
    const spy = vi.spyOn(Socket.prototype, 'setNoDelay');
    const t = make('nodelay');
    await t.connect();
    const afterFirst = spy.mock.calls.filter(([v]) => v === true).length;
    expect(afterFirst).toBeGreaterThanOrEqual(1);
    const offline = wentOffline(t);
    expect(aedes.kick('nodelay')).toBe(true);
    await waitUntil(offline, 5000, 'the link to drop');
    await t.connect();
    expect(spy.mock.calls.filter(([v]) => v === true).length).toBeGreaterThan(afterFirst);
  });

  it('reconnects with its backoff strategy, restores subscriptions and flushes what was queued offline', async () => {
    const delays: number[] = [];
    const inner = fastBackoff();
    const backoff: BackoffStrategy = {
      next: () => {
        const d = inner.next();
        delays.push(d);
        return d;
      },
      reset: () => inner.reset(),
      get attempt() {
        return inner.attempt;
      },
    };
    const sub = make('restore-sub', { backoff });
    const got: string[] = [];
    await sub.subscribe('restore/t', (m) => got.push(Buffer.from(m.payload).toString()), { qos: 1 });
    await sub.connect();
    const pub = make('restore-pub');
    await pub.connect();
    const subOffline = wentOffline(sub);
    const pubOffline = wentOffline(pub);
    expect(aedes.kick('restore-sub')).toBe(true);
    await waitUntil(subOffline, 5000, 'the subscriber to go offline');
    await sub.connect(); // back online: its clean session was re-subscribed by the transport
    expect(aedes.kick('restore-pub')).toBe(true);
    await waitUntil(pubOffline, 5000, 'the publisher to go offline');
    const sent = pub.publish('restore/t', 'while-offline', { qos: 1 });
    await sent;
    await waitUntil(() => got.includes('while-offline'), 5000, 'the message published while offline');
    expect(delays.length).toBeGreaterThanOrEqual(1);
    expect(delays.every((d) => d >= 0 && d < 100)).toBe(true);
  });

  it('never has more QoS 1 publishes in flight than maxInFlight', async () => {
    const t = make('inflight', { maxInFlight: 8, queue: { maxMessages: 1000 } });
    await t.connect();
    let peak = 0;
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      sends.push(t.publish('inflight/t', String(i), { qos: 1 }));
      peak = Math.max(peak, t.inFlight);
    }
    const sampler = setInterval(() => (peak = Math.max(peak, t.inFlight)), 1);
    await Promise.all(sends);
    clearInterval(sampler);
    expect(peak).toBe(8);
    expect(t.inFlight).toBe(0);
    expect(t.queued).toBe(0);
  });

  it('maps a CONNACK "not authorized" to AUTH_FAILED and stops', async () => {
    const t = make('intruder', { username: 'intruder', password: 'x' });
    const states: string[] = [];
    t.on('state', (s) => states.push(s));
    await expect(t.connect()).rejects.toSatisfy((e: unknown) => isFleetError(e, 'AUTH_FAILED'));
    expect(t.state).toBe('closed');
    expect(states).toEqual(['connecting', 'closed']);
    await expect(t.publish('a/b', 'x')).rejects.toSatisfy((e: unknown) => isFleetError(e, 'AUTH_FAILED'));
  });

  it('reports a refused SUBSCRIBE as FORBIDDEN and forgets that subscription', async () => {
    const strict = await startAedes({ authorizeSubscribe: (_c, sub, done) => done(null, sub.topic.startsWith('secret/') ? null : sub) });
    try {
      const t = new MqttTransport({ url: strict.url, clientId: 'forbidden', backoff: fastBackoff() });
      open.push(t);
      await t.connect();
      await expect(t.subscribe('secret/#', () => {}, { qos: 1 })).rejects.toSatisfy((e: unknown) => isFleetError(e, 'FORBIDDEN'));
      await expect(t.subscribe('public/#', () => {}, { qos: 1 })).resolves.toBeTypeOf('function');
      await t.close();
    } finally {
      await strict.close();
    }
  });

  it('settles every QoS 0 publish when the link drops while they wait for the socket to drain', async () => {
    const t = make('qos0-drain', { autoReconnect: false });
    await t.connect();
    const big = new Uint8Array(256 * 1024);
    const outcomes: string[] = [];
    const sends = Array.from({ length: 40 }, () =>
      t.publish('drain/t', big, { qos: 0 }).then(
        () => outcomes.push('sent'),
        (e: unknown) => outcomes.push(isFleetError(e) ? e.code : 'other'),
      ),
    );
    expect(aedes.kick('qos0-drain')).toBe(true);
    await waitUntil(() => outcomes.length === sends.length, 5000, `all ${sends.length} QoS 0 publishes to settle (have ${outcomes.length})`);
    expect(outcomes.filter((o) => o !== 'sent' && o !== 'NOT_CONNECTED')).toEqual([]);
    expect(outcomes).toContain('NOT_CONNECTED');
  });

  it('rejects bad options early with INVALID_ARGUMENT', () => {
    expect(() => new MqttTransport({ url: 'http://x', clientId: 'a' })).toThrow(/url must look like/);
    expect(() => new MqttTransport({ url: aedes.url, clientId: '' })).toThrow(/clientId/);
    expect(() => new MqttTransport({ url: aedes.url, clientId: 'a', maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => new MqttTransport({ url: aedes.url, clientId: 'a', keepaliveS: -1 })).toThrow(/keepaliveS/);
  });
});

describe('classifyMqttError', () => {
  it('treats refused credentials and TLS failures as AUTH_FAILED and the rest as retryable', () => {
    for (const code of [4, 5, 0x86, 0x87]) expect(classifyMqttError(Object.assign(new Error('refused'), { code }), 'mqtt://x').code).toBe('AUTH_FAILED');
    for (const code of ['ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      expect(classifyMqttError(Object.assign(new Error('tls'), { code }), 'mqtts://x').code).toBe('AUTH_FAILED');
    }
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 3]) {
      expect(classifyMqttError(Object.assign(new Error('net'), { code }), 'mqtt://x').code).toBe('NOT_CONNECTED');
    }
    expect(classifyMqttError('weird', 'mqtt://x').code).toBe('NOT_CONNECTED');
  });
});

describe('MqttTransport options (checked at construction, nothing is connected)', () => {
  const base = { url: 'mqtt://127.0.0.1:1', clientId: 'c' };
  const make = (options: Record<string, unknown>) => () => new MqttTransport({ ...base, ...options } as never);

  it('refuses options that are not an object', () => {
    for (const bad of [undefined, null, 5, 'mqtt://x', [] as unknown]) {
      expectFleetError(() => new MqttTransport(bad as never), 'INVALID_ARGUMENT', 'new MqttTransport(options): options must be an object such as { url');
    }
  });

  it('refuses badly typed connection options instead of handing them to mqtt.js', () => {
    expectFleetError(make({ clean: 1 }), 'INVALID_ARGUMENT', 'MqttTransport: clean must be true or false', 'got 1');
    expectFleetError(make({ username: 5 }), 'INVALID_ARGUMENT', 'MqttTransport: username must be a string', 'got 5');
    expectFleetError(make({ password: 5 }), 'INVALID_ARGUMENT', 'MqttTransport: password must be a string or a Uint8Array', 'got 5');
    expectFleetError(make({ protocolVersion: 3 }), 'INVALID_ARGUMENT', 'MqttTransport: protocolVersion must be 4 (MQTT 3.1.1) or 5', 'got 3');
    expectFleetError(make({ tls: null }), 'INVALID_ARGUMENT', 'MqttTransport: tls must be an object such as { ca', 'got null');
    expectFleetError(make({ tls: { ca: 5 } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.ca must be', 'got 5');
    expectFleetError(make({ tls: { ca: ['pem', 5] } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.ca[1] must be', 'got 5');
    expectFleetError(make({ tls: { cert: {} } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.cert must be', 'got an object');
    expectFleetError(make({ tls: { key: null } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.key must be', 'got null');
    expectFleetError(make({ tls: { servername: 1 } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.servername must be a string');
    expectFleetError(make({ tls: { rejectUnauthorized: 'no' } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.rejectUnauthorized must be true or false');
    expectFleetError(make({ tls: { secureContext: 'ctx' } }), 'INVALID_ARGUMENT', 'MqttTransport: tls.secureContext must be');
    expect(make({ tls: { ca: ['a', new Uint8Array(1)], cert: 'c', key: new Uint8Array(1), rejectUnauthorized: false, servername: 'x' }, username: 'u', password: new Uint8Array(1), clean: false, protocolVersion: 5 })().url).toBe(base.url);
  });

  it('describes a BigInt, Symbol or object option without calling its conversion hooks', () => {
    for (const { value, shown } of hostileValues()) {
      expectFleetError(make({ url: value }), 'INVALID_ARGUMENT', 'MqttTransport: url', `got ${shown}`);
      expectFleetError(make({ clientId: value }), 'INVALID_ARGUMENT', 'MqttTransport: clientId', `got ${shown}`);
      expectFleetError(make({ keepaliveS: value }), 'INVALID_ARGUMENT', 'MqttTransport: keepaliveS', `got ${shown}`);
      expectFleetError(make({ connectTimeoutMs: value }), 'INVALID_ARGUMENT', 'MqttTransport: connectTimeoutMs', `got ${shown}`);
    }
  });
});
