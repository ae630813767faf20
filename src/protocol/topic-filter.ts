/**
 * MQTT topic names and topic filters: validation and matching with MQTT 3.1.1 / 5 semantics.
 */
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';

/** Longest topic name or filter accepted, in UTF-16 code units (MQTT allows 65,535 bytes). */
export const MAX_TOPIC_LENGTH = 65_535;

function invalidTopic(kind: 'topic' | 'filter', value: string, why: string): FleetError {
  const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
  return new FleetError('INVALID_TOPIC', `Invalid MQTT ${kind === 'topic' ? 'topic name' : 'topic filter'} ${JSON.stringify(shown)}: ${why}`, {
    status: 400,
    details: { kind, topic: shown },
  });
}

function notAString(kind: 'topic' | 'filter', value: unknown): FleetError {
  const what = kind === 'topic' ? 'topic name' : 'topic filter';
  return new FleetError('INVALID_TOPIC', `Invalid MQTT ${what}: expected a string, got ${describeValue(value)}`, { status: 400, details: { kind, topic: describeValue(value) } });
}

/**
 * Returns `topic` when it is a valid MQTT topic name to publish to: non-empty, no `+` or `#`,
 * no NUL character, at most {@link MAX_TOPIC_LENGTH} long.
 *
 * @throws FleetError `INVALID_TOPIC` (400) otherwise.
 */
export function assertTopicName(topic: unknown): string {
  if (typeof topic !== 'string') throw notAString('topic', topic);
  if (topic.length === 0) throw invalidTopic('topic', topic, 'a topic name must not be empty');
  if (topic.length > MAX_TOPIC_LENGTH) throw invalidTopic('topic', topic, `longer than ${MAX_TOPIC_LENGTH} characters`);
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // '+' (43), '#' (35) are wildcards, only allowed in filters; NUL is forbidden by the MQTT spec.
    if (c === 43 || c === 35) throw invalidTopic('topic', topic, 'wildcards "+" and "#" are only allowed in subscription filters');
    if (c === 0) throw invalidTopic('topic', topic, 'the NUL character is not allowed');
  }
  return topic;
}

/**
 * Returns `filter` when it is a valid MQTT topic filter: `+` only as a whole level, `#` only as
 * the whole last level, no NUL character, non-empty. A shared subscription
 * `$share/{group}/{filter}` is valid when its group is non-empty without `+`, `#` or `/` and its
 * filter is valid.
 *
 * @throws FleetError `INVALID_TOPIC` (400) otherwise.
 */
export function assertTopicFilter(filter: unknown): string {
  if (typeof filter !== 'string') throw notAString('filter', filter);
  if (filter.length === 0) throw invalidTopic('filter', filter, 'a topic filter must not be empty');
  if (filter.length > MAX_TOPIC_LENGTH) throw invalidTopic('filter', filter, `longer than ${MAX_TOPIC_LENGTH} characters`);
  let inner = filter;
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf('/', SHARE_PREFIX.length);
    const group = slash === -1 ? filter.slice(SHARE_PREFIX.length) : filter.slice(SHARE_PREFIX.length, slash);
    if (group.length === 0 || group.includes('+') || group.includes('#') || group.includes('\u0000')) {
      throw invalidTopic('filter', filter, 'a shared subscription is "$share/{group}/{filter}" with a group name of at least one character and no "+", "#" or "/"');
    }
    inner = slash === -1 ? '' : filter.slice(slash + 1);
    if (inner.length === 0) throw invalidTopic('filter', filter, 'a shared subscription needs a topic filter after "$share/{group}/"');
  }
  const levels = inner.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] as string;
    if (level.includes('\u0000')) throw invalidTopic('filter', filter, 'the NUL character is not allowed');
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw invalidTopic('filter', filter, '"#" must be the whole last level (for example "a/b/#")');
    }
    if (level.includes('+') && level !== '+') throw invalidTopic('filter', filter, '"+" must be a whole level (for example "a/+/c")');
  }
  return filter;
}

const SHARE_PREFIX = '$share/';

/** A shared subscription's parts: the share group and the topic filter it applies to. */
export interface SharedFilter {
  /** The share group: subscribers of one group on one filter split the messages between them. */
  readonly group: string;
  /** The topic filter the messages are matched against. */
  readonly filter: string;
}

/**
 * Splits a shared subscription `$share/{group}/{filter}` (MQTT 5 §4.8.2, also supported by
 * mosquitto ≥ 1.6, EMQX and HiveMQ on MQTT 3.1.1) into its group and topic filter; `undefined`
 * for an ordinary filter. The filter is assumed valid (see {@link assertTopicFilter}).
 *
 * @example
 * ```ts
 * parseSharedFilter('$share/shadow-service/$aws/things/+/shadow/update'); // { group: 'shadow-service', filter: '$aws/things/+/shadow/update' }
 * parseSharedFilter('dt/+/+/telemetry');                                   // undefined
 * ```
 */
export function parseSharedFilter(filter: string): SharedFilter | undefined {
  if (typeof filter !== 'string' || !filter.startsWith(SHARE_PREFIX)) return undefined;
  const slash = filter.indexOf('/', SHARE_PREFIX.length);
  if (slash === -1) return undefined;
  return { group: filter.slice(SHARE_PREFIX.length, slash), filter: filter.slice(slash + 1) };
}

/**
 * The filter a message's topic is matched against: the topic filter of a shared subscription,
 * the filter itself otherwise.
 */
export function matchingFilter(filter: string): string {
  if (typeof filter !== 'string') throw notAString('filter', filter);
  return parseSharedFilter(filter)?.filter ?? filter;
}

/**
 * `$share/{group}/{filter}`: the shared-subscription form of `filter` for `group`.
 *
 * @throws FleetError `INVALID_TOPIC` for a group with `/`, `+` or `#`, an empty group, or a bad filter.
 */
export function sharedFilter(group: string, filter: string): string {
  if (typeof filter !== 'string') throw notAString('filter', filter);
  if (typeof group !== 'string' || group.includes('/')) {
    throw new FleetError('INVALID_TOPIC', `Invalid share group ${describeValue(group)}: use a non-empty name without "/", "+" or "#"`, { status: 400 });
  }
  return assertTopicFilter(`${SHARE_PREFIX}${group}/${filter}`);
}

/**
 * True when `filter` contains a `+` or `#` wildcard.
 *
 * @throws FleetError `INVALID_TOPIC` when `filter` is not a string.
 */
export function hasWildcard(filter: string): boolean {
  if (typeof filter !== 'string') throw notAString('filter', filter);
  return filter.includes('+') || filter.includes('#');
}

/**
 * True when the topic name `topic` matches the topic filter `filter` under MQTT rules: `+`
 * matches exactly one level (possibly empty), `#` matches the parent level and any number of
 * levels below, and a filter starting with a wildcard never matches a topic starting with `$`.
 * Both arguments are assumed valid (see {@link assertTopicName}, {@link assertTopicFilter});
 * only their type is checked here, to keep matching cheap.
 *
 * @throws FleetError `INVALID_TOPIC` when either argument is not a string.
 * @example
 * ```ts
 * topicMatches('dt/+/+/telemetry', 'dt/acme/dev-1/telemetry'); // true
 * topicMatches('#', '$aws/things/x/shadow/update');            // false
 * ```
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (typeof filter !== 'string') throw notAString('filter', filter);
  if (typeof topic !== 'string') throw notAString('topic', topic);
  if (filter === topic) return true;
  const f0 = filter.charCodeAt(0);
  // MQTT 4.7.2: "$…" topics are not matched by a filter whose first level is a wildcard.
  if (topic.charCodeAt(0) === 36 && (f0 === 43 || f0 === 35)) return false;
  let fi = 0;
  let ti = 0;
  const fl = filter.length;
  const tl = topic.length;
  for (;;) {
    const fEnd = indexOrEnd(filter, fi);
    const fLevel = filter.slice(fi, fEnd);
    if (fLevel === '#') return true;
    if (ti > tl) return false;
    const tEnd = indexOrEnd(topic, ti);
    if (fLevel !== '+' && fLevel !== topic.slice(ti, tEnd)) return false;
    const fDone = fEnd >= fl;
    const tDone = tEnd >= tl;
    if (fDone && tDone) return true;
    if (tDone) {
      // "a/#" also matches "a": the only way a longer filter matches is a trailing "/#".
      return filter.slice(fEnd + 1) === '#';
    }
    if (fDone) return false;
    fi = fEnd + 1;
    ti = tEnd + 1;
  }
}

function indexOrEnd(s: string, from: number): number {
  const i = s.indexOf('/', from);
  return i === -1 ? s.length : i;
}
