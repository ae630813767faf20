/**
 * mosquitto ACLs generated from the registry: each device may use exactly its own topics.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { assertTenantId } from '../ids.js';
import type { LifecycleState } from '../lifecycle/states.js';
import { assertThingName } from '../shadow/names.js';
import { optionsOf } from './arguments.js';

/** The fields of a registry record the ACL generator reads. */
export interface AclDevice {
  /** The device id: its MQTT user name (the certificate CN with `use_identity_as_username true`). */
  readonly deviceId: string;
  /** Its tenant. */
  readonly tenantId: string;
  /** Its lifecycle state: decommissioned devices get no ACL at all. */
  readonly state: LifecycleState;
}

/** A backend service account in the ACL. */
export interface AclBackend {
  /** The service's MQTT user name. */
  readonly username: string;
  /**
   * Limit it to one tenant: `dt/{tenant}/#`, `cmd/{tenant}/#` and the shadows of that tenant's
   * devices. Omit for a service that serves every tenant (`dt/#`, `cmd/#`, `$aws/things/#`).
   */
  readonly tenantId?: string;
}

/** A gateway account in the ACL: one MQTT connection speaking for its registered children. */
export interface AclGateway {
  /** The gateway's MQTT user name (its certificate CN with `use_identity_as_username true`). */
  readonly username: string;
  /** The device ids of its children. Each must be a registered device of `devices`. */
  readonly children: readonly string[];
  /** When given, every child must belong to this tenant (else `TENANT_MISMATCH`). */
  readonly tenantId?: string;
}

/** Options of {@link mosquittoAcl}. */
export interface MosquittoAclOptions {
  /** Service accounts (shadow service, registry, health monitor, …). @defaultValue none */
  readonly backends?: readonly AclBackend[];
  /**
   * Gateway accounts: each gets exactly the device rules of each of its children that is
   * registered and not decommissioned (a child missing from `devices` or decommissioned gets no
   * rule, so regenerating the file after a decommissioning revokes the gateway's access to it),
   * and nothing else. @defaultValue none
   */
  readonly gateways?: readonly AclGateway[];
  /**
   * Add the `pattern` lines that let a not-yet-registered client publish its provisioning request
   * on `cmd/+/{its user name}/prov/req` and read the answer (the registry checks the tenant and the
   * credential). @defaultValue true
   */
  readonly provisioning?: boolean;
}

/** The topic rules of one device: `[access, topic]` pairs. */
export function deviceAclRules(tenantId: string, deviceId: string): readonly (readonly ['read' | 'write', string])[] {
  const t = assertTenantId(tenantId);
  const d = assertThingName(deviceId);
  const shadow = `$aws/things/${d}/shadow`;
  return [
    ['write', `dt/${t}/${d}/telemetry`],
    ['write', `dt/${t}/${d}/heartbeat`],
    ['read', `cmd/${t}/${d}/req/+`],
    ['write', `cmd/${t}/${d}/res/+`],
    ['read', `cmd/${t}/${d}/job/+`],
    ['write', `cmd/${t}/${d}/job/+/status`],
    ['write', `cmd/${t}/${d}/jobs/next`],
    ['read', `cmd/${t}/${d}/jobs/none`],
    ['write', `cmd/${t}/${d}/prov/req`],
    ['read', `cmd/${t}/${d}/prov/res`],
    // shadow requests (get, update, delete) and their responses (accepted, rejected, delta, documents)
    ['write', `${shadow}/+`],
    ['read', `${shadow}/+/+`],
    ['write', `${shadow}/name/+/+`],
    ['read', `${shadow}/name/+/+/+`],
  ];
}

/**
 * The text of a mosquitto `acl_file` for `devices`: one `user` section per device that is not
 * decommissioned, granting write on its own telemetry, heartbeat, command results, job status,
 * provisioning request and shadow requests, and read on its own commands, jobs, provisioning
 * answer and shadow responses — nothing of any other device. A gateway account (`options.gateways`)
 * gets the rules of each of its registered children and nothing else. Configure mosquitto with
 * `require_certificate true` and `use_identity_as_username true`, so a device's user name is its
 * certificate's CN, which is its device id. Pure: the same devices give the same text (sorted by
 * tenant, then device id).
 *
 * @param devices - registry records (any iterable)
 * @param options - backend accounts and whether to add the provisioning patterns
 * @throws FleetError `INVALID_NAME` for an id outside the topic-safe alphabet, `INVALID_ARGUMENT`
 *   for a backend or gateway without a valid user name, two devices with one id, a gateway whose
 *   user name is also a device's, or a malformed gateway; `TENANT_MISMATCH` for a gateway child of
 *   another tenant than the gateway's `tenantId`.
 *
 * @example
 * ```ts
 * writeFileSync('/etc/mosquitto/acl', mosquittoAcl(devices, { backends: [{ username: 'fleet-backend' }] }));
 * // then reload mosquitto (SIGHUP) to apply it
 * ```
 */
export function mosquittoAcl(devices: Iterable<AclDevice>, options: MosquittoAclOptions = {}): string {
  const { backends, provisioning, gateways } = optionsOf('mosquittoAcl', options);
  if (typeof (devices as Partial<Iterable<unknown>> | null | undefined)?.[Symbol.iterator] !== 'function') {
    throw new FleetError('INVALID_ARGUMENT', 'mosquittoAcl: devices must be an iterable of { deviceId, tenantId, state } (an array, or registry.all(ctx))', { status: 400 });
  }
  const all = [...devices];
  all.forEach((d: unknown, i) => {
    if (typeof d !== 'object' || d === null) throw new FleetError('INVALID_ARGUMENT', `mosquittoAcl: devices[${i}] must be a { deviceId, tenantId, state } record`, { status: 400 });
  });
  const live = all.filter((d) => d.state !== 'decommissioned');
  live.sort((a, b) => (a.tenantId < b.tenantId ? -1 : a.tenantId > b.tenantId ? 1 : a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0));
  const lines: string[] = ['# Generated by fleetkit from the device registry: each device may use only its own topics.', ''];
  if (provisioning ?? true) {
    lines.push('# provisioning: a client may ask to be provisioned under its own user name (the certificate CN)', 'pattern write cmd/+/%u/prov/req', 'pattern read cmd/+/%u/prov/res', '');
  }
  const seen = new Set<string>();
  for (const d of live) {
    if (seen.has(d.deviceId)) {
      throw new FleetError('INVALID_ARGUMENT', `mosquittoAcl: device id "${d.deviceId}" appears twice; device ids are one name space across tenants`, { status: 400 });
    }
    seen.add(d.deviceId);
    lines.push(`# ${d.tenantId}/${d.deviceId} (${d.state})`, `user ${d.deviceId}`);
    for (const [access, topic] of deviceAclRules(d.tenantId, d.deviceId)) lines.push(`topic ${access} ${topic}`);
    lines.push('');
  }
  lines.push(...gatewayLines(gateways, live, seen));
  if (backends !== undefined && !Array.isArray(backends)) throw new FleetError('INVALID_ARGUMENT', 'mosquittoAcl: backends must be an array of { username, tenantId? }', { status: 400 });
  for (const b of backends ?? []) {
    if (typeof b?.username !== 'string' || !/^[A-Za-z0-9:_.-]{1,128}$/.test(b.username)) {
      throw new FleetError('INVALID_ARGUMENT', `mosquittoAcl: a backend's username must be 1–128 of [A-Za-z0-9:_.-], got ${describeValue(b?.username)}`, { status: 400 });
    }
    lines.push(`# backend ${b.username}${b.tenantId === undefined ? ' (every tenant)' : ` (tenant ${b.tenantId})`}`, `user ${b.username}`);
    if (b.tenantId === undefined) {
      lines.push('topic readwrite dt/#', 'topic readwrite cmd/#', 'topic readwrite $aws/things/#');
    } else {
      const t = assertTenantId(b.tenantId);
      lines.push(`topic readwrite dt/${t}/#`, `topic readwrite cmd/${t}/#`);
      // The shadow tree has no tenant level: list the tenant's things one by one.
      for (const d of live) if (d.tenantId === t) lines.push(`topic readwrite $aws/things/${d.deviceId}/shadow/#`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

const USERNAME = /^[A-Za-z0-9:_.-]{1,128}$/;

/** The `user` sections of the gateway accounts. */
function gatewayLines(gateways: readonly AclGateway[] | undefined, live: readonly AclDevice[], deviceIds: ReadonlySet<string>): string[] {
  if (gateways === undefined) return [];
  if (!Array.isArray(gateways)) throw new FleetError('INVALID_ARGUMENT', 'mosquittoAcl: gateways must be an array of { username, children: [deviceId, …], tenantId? }', { status: 400 });
  const byId = new Map(live.map((d) => [d.deviceId, d]));
  const users = new Set<string>();
  const lines: string[] = [];
  for (const g of gateways as readonly unknown[]) {
    const gw = g as Partial<AclGateway> | null;
    if (typeof gw?.username !== 'string' || !USERNAME.test(gw.username)) {
      throw new FleetError('INVALID_ARGUMENT', `mosquittoAcl: a gateway's username must be 1–128 of [A-Za-z0-9:_.-], got ${describeValue(gw?.username)}`, { status: 400 });
    }
    if (deviceIds.has(gw.username) || users.has(gw.username)) {
      throw new FleetError('INVALID_ARGUMENT', `mosquittoAcl: gateway user name "${gw.username}" is also a device id or another gateway's; give each account its own user name`, { status: 400 });
    }
    users.add(gw.username);
    if (!Array.isArray(gw.children)) throw new FleetError('INVALID_ARGUMENT', `mosquittoAcl: gateway "${gw.username}": children must be an array of device ids`, { status: 400 });
    const tenant = gw.tenantId === undefined ? undefined : assertTenantId(gw.tenantId);
    lines.push(`# gateway ${gw.username}${tenant === undefined ? '' : ` (tenant ${tenant})`}: its registered children only`, `user ${gw.username}`);
    for (const childId of [...new Set(gw.children as readonly unknown[])].sort()) {
      const id = assertThingName(childId);
      const d = byId.get(id);
      if (d === undefined) {
        lines.push(`# ${id}: not registered or decommissioned, no access`);
        continue;
      }
      if (tenant !== undefined && d.tenantId !== tenant) {
        throw new FleetError('TENANT_MISMATCH', `mosquittoAcl: gateway "${gw.username}" of tenant "${tenant}" lists "${id}" of tenant "${d.tenantId}"; a gateway speaks for its own tenant's devices only`, { status: 403 });
      }
      for (const [access, topic] of deviceAclRules(d.tenantId, d.deviceId)) lines.push(`topic ${access} ${topic}`);
    }
    lines.push('');
  }
  return lines;
}
