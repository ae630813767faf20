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
 * the whole last level, no NUL character, non-empty.
 *
 * @throws FleetError `INVALID_TOPIC` (400) otherwise.
 */
export function assertTopicFilter(filter: unknown): string {
  if (typeof filter !== 'string') throw notAString('filter', filter);
  if (filter.length === 0) throw invalidTopic('filter', filter, 'a topic filter must not be empty');
  if (filter.length > MAX_TOPIC_LENGTH) throw invalidTopic('filter', filter, `longer than ${MAX_TOPIC_LENGTH} characters`);
  const levels = filter.split('/');
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
