/**
 * fleetkit's topic tree: AWS-compatible shadow topics plus a `dt/…` telemetry tree and a `cmd/…`
 * command tree with the tenant and the device in fixed positions, so broker ACLs can be written
 * per tenant and per device (see docs/topics.md).
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError, type Result } from '../errors.js';
import { assertTenantId } from '../ids.js';
import { assertShadowName, assertThingName } from '../shadow/names.js';

const ID_CHARS = /^[a-zA-Z0-9:_-]+$/;

/** Maximum length of a command id or a job id. */
export const MAX_ID_LENGTH = 64;

/** A command id or job id: 1–64 characters of `[a-zA-Z0-9:_-]`. */
export const messageIdSchema: z.ZodString = z.string().min(1).max(MAX_ID_LENGTH).regex(ID_CHARS, 'only letters, digits, ":", "_" and "-" are allowed');

/** `options` itself when it is an object, `{}` when it is omitted; anything else is the caller's mistake. */
function optionsOf<T extends object>(fn: string, name: string, options: T | undefined): Partial<T> {
  if (options === undefined) return {};
  if (typeof options === 'object' && options !== null) return options;
  throw new FleetError('INVALID_ARGUMENT', `${fn}: ${name} must be an object, got ${describeValue(options)}`, { status: 400 });
}

function checkId(kind: 'command id' | 'job id', value: unknown): string {
  if (typeof value === 'string' && value.length >= 1 && value.length <= MAX_ID_LENGTH && ID_CHARS.test(value)) return value;
  throw new FleetError('INVALID_NAME', `Invalid ${kind} ${describeValue(value)}: use 1–${MAX_ID_LENGTH} characters of letters, digits, ":", "_" and "-"`, {
    status: 400,
    details: { kind, value: typeof value === 'string' ? value.slice(0, 200) : typeof value },
  });
}


/** A shadow operation a device or service requests. */
export type ShadowOperation = 'get' | 'update' | 'delete';
/** A response suffix: `accepted`/`rejected` for every operation, `delta`/`documents` for `update` only. */
export type ShadowResponse = 'accepted' | 'rejected' | 'delta' | 'documents';

/** `$aws/things/{thingName}/shadow[/name/{shadowName}]/{operation}[/{response}]` */
export interface ShadowTopic {
  readonly kind: 'shadow';
  readonly thingName: string;
  /** Absent for the classic (unnamed) shadow. */
  readonly shadowName?: string;
  readonly operation: ShadowOperation;
  /** Absent on a request topic. */
  readonly response?: ShadowResponse;
}

/** Fields every fleetkit (`dt/…`, `cmd/…`) topic carries at fixed positions 1 and 2. */
interface DeviceScoped {
  readonly tenantId: string;
  readonly deviceId: string;
}

/** `dt/{tenantId}/{deviceId}/telemetry`: device → cloud measurements. */
export interface TelemetryTopic extends DeviceScoped {
  readonly kind: 'telemetry';
}
/** `dt/{tenantId}/{deviceId}/heartbeat`: device → cloud liveness. */
export interface HeartbeatTopic extends DeviceScoped {
  readonly kind: 'heartbeat';
}
/** `cmd/{tenantId}/{deviceId}/req/{commandId}`: cloud → device command. */
export interface CommandTopic extends DeviceScoped {
  readonly kind: 'command';
  readonly commandId: string;
}
/** `cmd/{tenantId}/{deviceId}/res/{commandId}`: device → cloud acknowledgement or result. */
export interface CommandAckTopic extends DeviceScoped {
  readonly kind: 'command-ack';
  readonly commandId: string;
}
/** `cmd/{tenantId}/{deviceId}/job/{jobId}`: cloud → device job (OTA) document. */
export interface JobTopic extends DeviceScoped {
  readonly kind: 'job';
  readonly jobId: string;
}
/** `cmd/{tenantId}/{deviceId}/job/{jobId}/status`: device → cloud job progress. */
export interface JobStatusTopic extends DeviceScoped {
  readonly kind: 'job-status';
  readonly jobId: string;
}
/** `cmd/{tenantId}/{deviceId}/jobs/next`: device → cloud, a waking device asks for its pending job. */
export interface JobNextTopic extends DeviceScoped {
  readonly kind: 'job-next';
}
/** `cmd/{tenantId}/{deviceId}/jobs/none`: cloud → device, the answer to `jobs/next` when no job is pending. */
export interface JobNoneTopic extends DeviceScoped {
  readonly kind: 'job-none';
}
/** `cmd/{tenantId}/{deviceId}/prov/req`: device → cloud provisioning request (deviceId = the claimed identity). */
export interface ProvisioningRequestTopic extends DeviceScoped {
  readonly kind: 'provisioning-request';
}
/** `cmd/{tenantId}/{deviceId}/prov/res`: cloud → device provisioning response. */
export interface ProvisioningResponseTopic extends DeviceScoped {
  readonly kind: 'provisioning-response';
}

/** Every topic fleetkit builds and parses, discriminated by `kind`. */
export type FleetTopic =
  | ShadowTopic
  | TelemetryTopic
  | HeartbeatTopic
  | CommandTopic
  | CommandAckTopic
  | JobTopic
  | JobStatusTopic
  | JobNextTopic
  | JobNoneTopic
  | ProvisioningRequestTopic
  | ProvisioningResponseTopic;

/** The `kind` of a {@link FleetTopic}. */
export type FleetTopicKind = FleetTopic['kind'];

const SHADOW_OPERATIONS: ReadonlySet<string> = new Set(['get', 'update', 'delete']);
const ACK_RESPONSES: ReadonlySet<string> = new Set(['accepted', 'rejected']);

function shadowBase(thingName: string, shadowName: string | undefined): string {
  const base = `$aws/things/${assertThingName(thingName)}/shadow`;
  return shadowName === undefined ? base : `${base}/name/${assertShadowName(shadowName)}`;
}

/**
 * Builds an AWS IoT shadow topic.
 *
 * @param thingName - the device's thing name (AWS rules: 1–128 of `[a-zA-Z0-9:_-]`)
 * @param operation - `get`, `update` or `delete`
 * @param options - `shadowName` for a named shadow; `response` for a response topic
 * @throws FleetError `INVALID_NAME` for a bad thing or shadow name, `INVALID_TOPIC` for a
 *   response that does not exist for the operation (`delta`/`documents` exist for `update` only),
 *   `INVALID_ARGUMENT` when `options` is not an object.
 * @example
 * ```ts
 * shadowTopic('pump-7', 'update');                                  // "$aws/things/pump-7/shadow/update"
 * shadowTopic('pump-7', 'update', { shadowName: 'cfg', response: 'delta' });
 * // "$aws/things/pump-7/shadow/name/cfg/update/delta"
 * ```
 */
export function shadowTopic(thingName: string, operation: ShadowOperation, options: { shadowName?: string; response?: ShadowResponse } = {}): string {
  const { shadowName, response } = optionsOf('shadowTopic', 'options', options);
  const base = shadowBase(thingName, shadowName);
  if (!SHADOW_OPERATIONS.has(operation)) {
    throw new FleetError('INVALID_TOPIC', `Unknown shadow operation ${describeValue(operation)}: use "get", "update" or "delete"`, { status: 400 });
  }
  if (response === undefined) return `${base}/${operation}`;
  if (!ACK_RESPONSES.has(response) && !(operation === 'update' && (response === 'delta' || response === 'documents'))) {
    throw new FleetError('INVALID_TOPIC', `Shadow ${operation} has no ${describeValue(response)} topic: use "accepted" or "rejected" (and "delta"/"documents" for update)`, {
      status: 400,
    });
  }
  return `${base}/${operation}/${response}`;
}

/**
 * The filter matching every response topic of one shadow (accepted, rejected, delta, documents
 * of get, update and delete): what a device subscribes to.
 *
 * @param thingName - the thing
 * @param shadowName - a named shadow, or omit for the classic shadow
 * @throws FleetError `INVALID_NAME` for a bad thing or shadow name.
 */
export function shadowResponseFilter(thingName: string, shadowName?: string): string {
  return `${shadowBase(thingName, shadowName)}/+/+`;
}

/**
 * The filter matching shadow request topics (`get`, `update`, `delete`): what a shadow service
 * subscribes to. Omit `thingName` for every thing.
 *
 * @param options - `thingName` (default every thing, `+`); `named: true` for named shadows
 * @throws FleetError `INVALID_NAME` for a bad thing name, `INVALID_ARGUMENT` when `options` is not an object.
 */
export function shadowRequestFilter(options: { thingName?: string; named?: boolean } = {}): string {
  const { thingName, named } = optionsOf('shadowRequestFilter', 'options', options);
  const thing = thingName === undefined ? '+' : assertThingName(thingName);
  return named === true ? `$aws/things/${thing}/shadow/name/+/+` : `$aws/things/${thing}/shadow/+`;
}

function dev(tenantId: string, deviceId: string): string {
  return `${assertTenantId(tenantId)}/${assertThingName(deviceId)}`;
}

/** `dt/{tenantId}/{deviceId}/telemetry` @throws FleetError `INVALID_NAME` for a bad id. */
export function telemetryTopic(tenantId: string, deviceId: string): string {
  return `dt/${dev(tenantId, deviceId)}/telemetry`;
}
/** `dt/{tenantId}/{deviceId}/heartbeat` @throws FleetError `INVALID_NAME` for a bad id. */
export function heartbeatTopic(tenantId: string, deviceId: string): string {
  return `dt/${dev(tenantId, deviceId)}/heartbeat`;
}
/** `cmd/{tenantId}/{deviceId}/req/{commandId}` @throws FleetError `INVALID_NAME` for a bad id. */
export function commandTopic(tenantId: string, deviceId: string, commandId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/req/${checkId('command id', commandId)}`;
}
/** `cmd/{tenantId}/{deviceId}/res/{commandId}` @throws FleetError `INVALID_NAME` for a bad id. */
export function commandAckTopic(tenantId: string, deviceId: string, commandId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/res/${checkId('command id', commandId)}`;
}
/** `cmd/{tenantId}/{deviceId}/job/{jobId}` @throws FleetError `INVALID_NAME` for a bad id. */
export function jobTopic(tenantId: string, deviceId: string, jobId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/job/${checkId('job id', jobId)}`;
}
/** `cmd/{tenantId}/{deviceId}/job/{jobId}/status` @throws FleetError `INVALID_NAME` for a bad id. */
export function jobStatusTopic(tenantId: string, deviceId: string, jobId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/job/${checkId('job id', jobId)}/status`;
}
/** `cmd/{tenantId}/{deviceId}/jobs/next` @throws FleetError `INVALID_NAME` for a bad id. */
export function jobNextTopic(tenantId: string, deviceId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/jobs/next`;
}
/** `cmd/{tenantId}/{deviceId}/jobs/none` @throws FleetError `INVALID_NAME` for a bad id. */
export function jobNoneTopic(tenantId: string, deviceId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/jobs/none`;
}
/** `cmd/{tenantId}/{deviceId}/prov/req` @throws FleetError `INVALID_NAME` for a bad id. */
export function provisioningRequestTopic(tenantId: string, deviceId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/prov/req`;
}
/** `cmd/{tenantId}/{deviceId}/prov/res` @throws FleetError `INVALID_NAME` for a bad id. */
export function provisioningResponseTopic(tenantId: string, deviceId: string): string {
  return `cmd/${dev(tenantId, deviceId)}/prov/res`;
}

/** Which parts of a fleetkit topic to pin in a filter; omitted parts become `+`. */
export interface FleetTopicFilterParts {
  /** Pin the tenant (default: any, `+`). */
  readonly tenantId?: string;
  /** Pin the device (default: any, `+`). */
  readonly deviceId?: string;
  /** Pin the command or job id (default: any, `+`); ignored by kinds without one. */
  readonly id?: string;
}

/**
 * A subscription filter for one kind of fleetkit topic; parts left out match any value.
 *
 * @example
 * ```ts
 * fleetTopicFilter('telemetry', { tenantId: 'acme' });             // "dt/acme/+/telemetry"
 * fleetTopicFilter('command', { tenantId: 'acme', deviceId: 'd1' }); // "cmd/acme/d1/req/+"
 * ```
 * @throws FleetError `INVALID_NAME` for a bad id, `INVALID_TOPIC` for `kind: 'shadow'` (use
 *   {@link shadowRequestFilter} / {@link shadowResponseFilter}), `INVALID_ARGUMENT` when `parts`
 *   is not an object.
 */
export function fleetTopicFilter(kind: Exclude<FleetTopicKind, 'shadow'>, parts: FleetTopicFilterParts = {}): string {
  const { tenantId, deviceId, id: pinned } = optionsOf('fleetTopicFilter', 'parts', parts);
  const t = tenantId === undefined ? '+' : assertTenantId(tenantId);
  const d = deviceId === undefined ? '+' : assertThingName(deviceId);
  const id = (what: 'command id' | 'job id'): string => (pinned === undefined ? '+' : checkId(what, pinned));
  switch (kind) {
    case 'telemetry':
      return `dt/${t}/${d}/telemetry`;
    case 'heartbeat':
      return `dt/${t}/${d}/heartbeat`;
    case 'command':
      return `cmd/${t}/${d}/req/${id('command id')}`;
    case 'command-ack':
      return `cmd/${t}/${d}/res/${id('command id')}`;
    case 'job':
      return `cmd/${t}/${d}/job/${id('job id')}`;
    case 'job-status':
      return `cmd/${t}/${d}/job/${id('job id')}/status`;
    case 'job-next':
      return `cmd/${t}/${d}/jobs/next`;
    case 'job-none':
      return `cmd/${t}/${d}/jobs/none`;
    case 'provisioning-request':
      return `cmd/${t}/${d}/prov/req`;
    case 'provisioning-response':
      return `cmd/${t}/${d}/prov/res`;
    default:
      throw new FleetError('INVALID_TOPIC', `Unknown fleet topic kind ${describeValue(kind)}; for shadows use shadowRequestFilter/shadowResponseFilter`, {
        status: 400,
      });
  }
}

/**
 * Formats a {@link FleetTopic} as its topic string; the inverse of {@link parseTopic}.
 *
 * @throws FleetError `INVALID_NAME` or `INVALID_TOPIC` when a part is invalid or `topic` is not an object.
 */
export function formatTopic(topic: FleetTopic): string {
  if (typeof topic !== 'object' || topic === null) {
    throw new FleetError('INVALID_TOPIC', `formatTopic: expected a topic object such as { kind: 'telemetry', tenantId, deviceId }, got ${describeValue(topic)}`, { status: 400 });
  }
  switch (topic.kind) {
    case 'shadow': {
      const options: { shadowName?: string; response?: ShadowResponse } = {};
      if (topic.shadowName !== undefined) options.shadowName = topic.shadowName;
      if (topic.response !== undefined) options.response = topic.response;
      return shadowTopic(topic.thingName, topic.operation, options);
    }
    case 'telemetry':
      return telemetryTopic(topic.tenantId, topic.deviceId);
    case 'heartbeat':
      return heartbeatTopic(topic.tenantId, topic.deviceId);
    case 'command':
      return commandTopic(topic.tenantId, topic.deviceId, topic.commandId);
    case 'command-ack':
      return commandAckTopic(topic.tenantId, topic.deviceId, topic.commandId);
    case 'job':
      return jobTopic(topic.tenantId, topic.deviceId, topic.jobId);
    case 'job-status':
      return jobStatusTopic(topic.tenantId, topic.deviceId, topic.jobId);
    case 'job-next':
      return jobNextTopic(topic.tenantId, topic.deviceId);
    case 'job-none':
      return jobNoneTopic(topic.tenantId, topic.deviceId);
    case 'provisioning-request':
      return provisioningRequestTopic(topic.tenantId, topic.deviceId);
    case 'provisioning-response':
      return provisioningResponseTopic(topic.tenantId, topic.deviceId);
    default:
      throw new FleetError('INVALID_TOPIC', `Unknown topic kind ${describeValue((topic as { kind?: unknown }).kind)}`, { status: 400 });
  }
}

function noMatch(topic: string, why: string, cause?: unknown): FleetError {
  const shown = topic.length > 200 ? `${topic.slice(0, 200)}…` : topic;
  return new FleetError('INVALID_TOPIC', `Topic ${JSON.stringify(shown)} is not a fleetkit topic: ${why}. See docs/topics.md for the topic tree`, {
    status: 400,
    details: { topic: shown },
    cause,
  });
}

function parseShadow(topic: string, levels: readonly string[]): ShadowTopic {
  // levels: $aws things {thing} shadow [name {shadow}] op [response]
  if (levels[1] !== 'things' || levels[3] !== 'shadow') throw noMatch(topic, 'shadow topics start with "$aws/things/{thing}/shadow/"');
  const thingName = levels[2] as string;
  const named = levels[4] === 'name';
  const rest = levels.slice(named ? 6 : 4);
  const shadowName = named ? levels[5] : undefined;
  if (named && shadowName === undefined) throw noMatch(topic, 'a named shadow topic needs ".../shadow/name/{shadowName}/{operation}"');
  const [operation, response, extra] = rest;
  if (operation === undefined || !SHADOW_OPERATIONS.has(operation)) throw noMatch(topic, 'the shadow operation must be "get", "update" or "delete"');
  if (extra !== undefined) throw noMatch(topic, 'too many levels after the shadow operation');
  const parsed: ShadowTopic = {
    kind: 'shadow',
    thingName,
    ...(shadowName === undefined ? {} : { shadowName }),
    operation: operation as ShadowOperation,
    ...(response === undefined ? {} : { response: response as ShadowResponse }),
  };
  // Re-format to validate names and the operation/response pair with the builder's rules.
  check(topic, parsed);
  return parsed;
}

function check(topic: string, parsed: FleetTopic): void {
  let again: string;
  try {
    again = formatTopic(parsed);
  } catch (cause) {
    throw noMatch(topic, cause instanceof Error ? cause.message : String(cause), cause);
  }
  if (again !== topic) throw noMatch(topic, 'it does not have the canonical form');
}

function parseDevice(topic: string, levels: readonly string[]): FleetTopic {
  const [tree, tenantId, deviceId, channel, id, tail, extra] = levels as readonly (string | undefined)[];
  if (tenantId === undefined || deviceId === undefined || channel === undefined) throw noMatch(topic, 'expected "{tree}/{tenantId}/{deviceId}/{channel}/…"');
  if (extra !== undefined) throw noMatch(topic, 'too many levels');
  const base = { tenantId, deviceId };
  let parsed: FleetTopic | undefined;
  if (tree === 'dt' && id === undefined) {
    if (channel === 'telemetry') parsed = { kind: 'telemetry', ...base };
    else if (channel === 'heartbeat') parsed = { kind: 'heartbeat', ...base };
  } else if (tree === 'cmd' && id !== undefined) {
    if (channel === 'req' && tail === undefined) parsed = { kind: 'command', ...base, commandId: id };
    else if (channel === 'res' && tail === undefined) parsed = { kind: 'command-ack', ...base, commandId: id };
    else if (channel === 'job' && tail === undefined) parsed = { kind: 'job', ...base, jobId: id };
    else if (channel === 'job' && tail === 'status') parsed = { kind: 'job-status', ...base, jobId: id };
    else if (channel === 'jobs' && tail === undefined && id === 'next') parsed = { kind: 'job-next', ...base };
    else if (channel === 'jobs' && tail === undefined && id === 'none') parsed = { kind: 'job-none', ...base };
    else if (channel === 'prov' && tail === undefined && id === 'req') parsed = { kind: 'provisioning-request', ...base };
    else if (channel === 'prov' && tail === undefined && id === 'res') parsed = { kind: 'provisioning-response', ...base };
  }
  if (parsed === undefined) throw noMatch(topic, `unknown ${tree} channel "${channel}${id === undefined ? '' : `/${id}`}${tail === undefined ? '' : `/${tail}`}"`);
  check(topic, parsed);
  return parsed;
}

/**
 * Parses a topic string into a {@link FleetTopic}.
 *
 * @throws FleetError `INVALID_TOPIC` (400) when the topic is not part of fleetkit's tree
 *   (unknown root, wrong number of levels, an invalid name in a fixed position).
 * @example
 * ```ts
 * parseTopic('cmd/acme/pump-7/req/c-42');
 * // { kind: 'command', tenantId: 'acme', deviceId: 'pump-7', commandId: 'c-42' }
 * ```
 */
export function parseTopic(topic: string): FleetTopic {
  if (typeof topic !== 'string') {
    throw new FleetError('INVALID_TOPIC', `parseTopic: a topic is a string, got ${describeValue(topic)}`, { status: 400, details: { topic: describeValue(topic) } });
  }
  const levels = topic.split('/');
  switch (levels[0]) {
    case '$aws':
      return parseShadow(topic, levels);
    case 'dt':
    case 'cmd':
      return parseDevice(topic, levels);
    default:
      throw noMatch(topic, 'the first level must be "dt", "cmd" or "$aws"');
  }
}

/** {@link parseTopic} that returns a {@link Result} instead of throwing. */
export function safeParseTopic(topic: string): Result<FleetTopic> {
  try {
    return { ok: true, value: parseTopic(topic) };
  } catch (error) {
    if (error instanceof FleetError) return { ok: false, error };
    throw error;
  }
}
