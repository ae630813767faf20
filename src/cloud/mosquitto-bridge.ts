/**
 * A mosquitto bridge of the broker to itself that republishes the AWS shadow request topics under
 * a plain prefix, so several `ShadowService` instances can split them through a shared
 * subscription: mosquitto 2.0 never delivers a topic that starts with `$` (the whole
 * `$aws/things/…` tree) to a `$share/…` subscription.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { optionsOf } from './arguments.js';

/** Options of {@link mosquittoShadowBridge}. */
export interface MosquittoShadowBridgeOptions {
  /** The port of a listener of the same broker that the bridge connects to. */
  readonly port: number;
  /** That listener's address. @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** The prefix the requests are republished under: pass the same as `ShadowService`'s `requestPrefix`. @defaultValue `'fleetkit/aws/'` */
  readonly prefix?: string;
  /** Bridge named-shadow requests (`…/shadow/name/{name}/{op}`) too. @defaultValue true */
  readonly named?: boolean;
  /** The bridge's connection name and MQTT client id. @defaultValue `'fleetkit-shadow-bridge'` */
  readonly name?: string;
  /** The user name the bridge connects with (for `password_file` or ACLs). @defaultValue none */
  readonly username?: string;
  /** Mutual TLS to the listener: files on the broker's host. @defaultValue plain TCP */
  readonly tls?: { readonly cafile: string; readonly certfile: string; readonly keyfile: string };
}

/** What {@link mosquittoShadowBridge} returns: the config section and the bridge's ACL lines. */
export interface MosquittoShadowBridge {
  /** The `connection` section to append to mosquitto.conf (after the listeners). */
  readonly config: string;
  /**
   * The `acl_file` section of the bridge's user (when `username` is given): read on the request
   * topics, write under the prefix. The service accounts also need `topic read {prefix}things/#`.
   */
  readonly acl: string;
  /** The filters the bridge subscribes to on the broker (the request topics, `$aws/…`). */
  readonly sources: readonly string[];
}

const NAME = /^[A-Za-z0-9:_.-]{1,128}$/;

/**
 * The mosquitto configuration of a bridge from the broker to itself that republishes every shadow
 * request (`$aws/things/{thing}/shadow/{get|update|delete}`, and the named ones) as
 * `{prefix}things/{thing}/shadow/…` at QoS 1, with a persistent session, so that `ShadowService`
 * instances started with `{ shareGroup, requestPrefix: prefix }` split them. Answers are
 * published by the services on the `$aws/…` topics directly; devices see no difference. Order per
 * topic is kept by the bridge; across instances, the store's compare-and-set keeps each thing's
 * version chain whole (docs/scaling.md). Pure: the same options give the same text.
 *
 * @throws FleetError `INVALID_ARGUMENT` for a port outside 1–65535, a bad prefix (it must end in
 *   `/`, hold no `+`, `#` or empty level, and not start with `$`), host, name, user name or TLS files.
 *
 * @example
 * ```ts
 * const bridge = mosquittoShadowBridge({ port: 1883, prefix: 'fleetkit/aws/' });
 * appendFileSync('/etc/mosquitto/conf.d/fleetkit.conf', bridge.config);
 * // every instance: new ShadowService({ …, shareGroup: 'shadows', requestPrefix: 'fleetkit/aws/' })
 * ```
 */
export function mosquittoShadowBridge(options: MosquittoShadowBridgeOptions): MosquittoShadowBridge {
  const o = optionsOf('mosquittoShadowBridge', options);
  const bad = (what: string, got: unknown): never => {
    throw new FleetError('INVALID_ARGUMENT', `mosquittoShadowBridge: ${what}, got ${describeValue(got)}`, { status: 400 });
  };
  const port: unknown = o.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) bad('port must be an integer 1–65535 (a listener of this broker)', port);
  const host: unknown = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) bad('host must be a host name or address', host);
  const prefix: unknown = o.prefix ?? 'fleetkit/aws/';
  if (typeof prefix !== 'string' || !/^[^$/+#\s\u0000][^+#\s\u0000]*\/$/.test(prefix) || prefix.includes('//') || prefix.length > 128) {
    bad('prefix must end in "/", hold no "+", "#", blank or empty level and not start with "$" (for example "fleetkit/aws/")', prefix);
  }
  const name: unknown = o.name ?? 'fleetkit-shadow-bridge';
  if (typeof name !== 'string' || !NAME.test(name)) bad('name must be 1–128 of [A-Za-z0-9:_.-]', name);
  const username: unknown = o.username;
  if (username !== undefined && (typeof username !== 'string' || !NAME.test(username))) bad('username must be 1–128 of [A-Za-z0-9:_.-]', username);
  const named: unknown = o.named ?? true;
  if (typeof named !== 'boolean') bad('named must be true or false', named);
  const tls: unknown = o.tls;
  if (tls !== undefined) {
    const files = tls as Partial<Record<'cafile' | 'certfile' | 'keyfile', unknown>>;
    for (const k of ['cafile', 'certfile', 'keyfile'] as const) {
      const f = typeof tls === 'object' && tls !== null ? files[k] : undefined;
      if (typeof f !== 'string' || f.length === 0 || /[\n\r]/.test(f)) bad(`tls.${k} must be a file path`, f);
    }
  }
  const patterns = named === true ? ['things/+/shadow/+', 'things/+/shadow/name/+/+'] : ['things/+/shadow/+'];
  const lines = [
    `# fleetkit: shadow requests ($aws/things/…) republished under ${prefix as string} for shared subscriptions`,
    `connection ${name as string}`,
    `address ${host as string}:${port as number}`,
    `clientid ${name as string}`,
    'cleansession false',
    // The remote end is this broker: no loop detection handshake, no $SYS notifications.
    'try_private false',
    'notifications false',
    'bridge_protocol_version mqttv311',
  ];
  if (username !== undefined) lines.push(`remote_username ${username as string}`);
  if (tls !== undefined) {
    const t = tls as { cafile: string; certfile: string; keyfile: string };
    lines.push(`bridge_cafile ${t.cafile}`, `bridge_certfile ${t.certfile}`, `bridge_keyfile ${t.keyfile}`);
  }
  // topic <pattern> in <qos> <local prefix> <remote prefix>: subscribe to remote-prefix + pattern,
  // publish locally as local-prefix + pattern.
  for (const p of patterns) lines.push(`topic ${p} in 1 ${prefix as string} $aws/`);
  const sources = patterns.map((p) => `$aws/${p}`);
  const acl =
    username === undefined
      ? ''
      : [`# fleetkit shadow bridge`, `user ${username as string}`, ...sources.map((s) => `topic read ${s}`), `topic write ${prefix as string}things/#`, ''].join('\n');
  return { config: `${lines.join('\n')}\n`, acl, sources };
}
