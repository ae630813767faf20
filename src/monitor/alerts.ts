/**
 * Prometheus-style alert rules evaluated as a pure step: samples and the time come in, the next
 * alert state and the lifecycle events go out.
 *
 * A rule compares a metric with a level. An alert instance exists per rule and group (the values
 * of the rule's `groupBy` labels, e.g. tenant and building); its value in a step is the worst
 * sample of the group (the highest for `above`, the lowest for `below`). Lifecycle:
 * - inactive → `pending` when the value reaches the `fire` level;
 * - `pending` → inactive (silently) when a step's value is no longer at the fire level;
 * - `pending` → `firing` once it has been pending for `forMs` (at once when `forMs` is 0);
 * - `firing` → `resolved` only when the value crosses back past the `resolve` level (hysteresis:
 *   between the two levels a firing alert stays firing);
 * - a firing alert may be acknowledged once; the response time is `ackedAt − firedAt`.
 * A group with no sample in a step keeps its state.
 */
import { z } from 'zod';
import { describeValue } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { invalidArgument, MAX_TIME_MS, numberArgument, parseWith } from '../tenancy/parse.js';

/** Alert severities, most severe first. */
export const ALERT_SEVERITIES = ['critical', 'warning', 'info'] as const;
/** How urgent an alert is. */
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

const labelName = z.string().min(1).max(64).regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'a label name: letters, digits and "_", not starting with a digit');

/** Schema of {@link AlertRule}. */
export const alertRuleSchema = z
  .strictObject({
    name: z.string().min(1).max(128).regex(/^[a-zA-Z_][a-zA-Z0-9_:]*$/, 'a rule name: letters, digits, "_" and ":"'),
    metric: z.string().min(1).max(256),
    op: z.enum(['above', 'below']),
    fire: z.number().refine(Number.isFinite, 'a finite number'),
    resolve: z.number().refine(Number.isFinite, 'a finite number'),
    forMs: z.number().min(0).max(MAX_TIME_MS).default(0),
    severity: z.enum(ALERT_SEVERITIES).default('warning'),
    groupBy: z.array(labelName).max(8).default([]),
    summary: z.string().max(1024).optional(),
  })
  .refine((r) => (r.op === 'above' ? r.resolve <= r.fire : r.resolve >= r.fire), {
    message: 'the resolve level must be on the healthy side of the fire level (≤ fire for "above", ≥ fire for "below")',
    path: ['resolve'],
  });

/** One alert rule as written (`forMs`, `severity` and `groupBy` have defaults). */
export type AlertRuleInput = z.input<typeof alertRuleSchema>;
/** One alert rule. */
export type AlertRule = z.output<typeof alertRuleSchema>;

/** Schema of {@link MetricSample}. */
export const metricSampleSchema = z.strictObject({
  metric: z.string().min(1).max(256),
  labels: z.record(z.string().max(256), z.string().max(1024)).default({}),
  value: z.number().refine(Number.isFinite, 'a finite number'),
});

/** One observation of a metric in a step. */
export interface MetricSample {
  /** The metric name. */
  readonly metric: string;
  /** Its labels (tenant, building, device, …). */
  readonly labels?: Readonly<Record<string, string>>;
  /** The value. */
  readonly value: number;
}

/** Lifecycle phase of an alert instance. */
export type AlertPhase = 'pending' | 'firing' | 'resolved';

/** One alert instance (per rule and group). */
export interface AlertInstance {
  /** `rule{label="value",…}`: unique per rule and group. */
  readonly key: string;
  /** The rule's name. */
  readonly rule: string;
  /** The rule's severity. */
  readonly severity: AlertSeverity;
  /** The group's label values. */
  readonly group: Readonly<Record<string, string>>;
  /** Phase. */
  readonly phase: AlertPhase;
  /** When it became pending, epoch ms. */
  readonly pendingSince: number;
  /** When it fired, epoch ms. */
  readonly firedAt?: number;
  /** When it resolved, epoch ms. */
  readonly resolvedAt?: number;
  /** When it was acknowledged, epoch ms. */
  readonly ackedAt?: number;
  /** Who acknowledged it. */
  readonly ackedBy?: string;
  /** The latest value. */
  readonly value: number;
  /** The worst value seen while active. */
  readonly peak: number;
}

/** The active (pending or firing) alerts: a plain JSON value, sorted by key. */
export interface AlertState {
  /** Pending and firing instances, sorted by key. */
  readonly alerts: readonly AlertInstance[];
}

/** An alert lifecycle event. */
export interface AlertEvent {
  /** What happened. */
  readonly type: 'pending' | 'firing' | 'resolved' | 'acknowledged';
  /** When, epoch ms. */
  readonly at: number;
  /** The instance after the event. */
  readonly alert: AlertInstance;
}

/** The outcome of {@link evaluateAlerts}. */
export interface AlertStep {
  /** The state to keep. */
  readonly next: AlertState;
  /** Events of this step, in key order. */
  readonly events: readonly AlertEvent[];
}

/** The state with no active alert. */
export const EMPTY_ALERT_STATE: AlertState = Object.freeze({ alerts: Object.freeze([]) as readonly AlertInstance[] });

/**
 * Validates alert rules and fills in the defaults; rule names must be unique.
 *
 * @param rules - rules as written
 * @throws FleetError `INVALID_INPUT` (400) naming the malformed field
 */
export function defineAlertRules(rules: readonly AlertRuleInput[]): readonly AlertRule[] {
  const parsed = parseWith('defineAlertRules', 'rules', z.array(alertRuleSchema).max(10_000), rules, 'INVALID_INPUT');
  const names = new Set<string>();
  for (const r of parsed) {
    if (names.has(r.name)) throw new FleetError('INVALID_INPUT', `defineAlertRules: rule name ${describeValue(r.name)} is used twice; names must be unique`, { status: 400 });
    names.add(r.name);
  }
  return parsed;
}

function keyOf(rule: string, group: Readonly<Record<string, string>>, groupBy: readonly string[]): string {
  return `${rule}{${groupBy.map((l) => `${l}=${JSON.stringify(group[l] ?? '')}`).join(',')}}`;
}

const instanceSchema = z.strictObject({
  key: z.string(),
  rule: z.string(),
  severity: z.enum(ALERT_SEVERITIES),
  group: z.record(z.string(), z.string()),
  phase: z.enum(['pending', 'firing', 'resolved']),
  pendingSince: z.number(),
  firedAt: z.number().optional(),
  resolvedAt: z.number().optional(),
  ackedAt: z.number().optional(),
  ackedBy: z.string().optional(),
  value: z.number(),
  peak: z.number(),
});
/** Schema of {@link AlertState}. */
export const alertStateSchema = z.strictObject({ alerts: z.array(instanceSchema) });

function checkState(fn: string, state: unknown): AlertState {
  if (state === EMPTY_ALERT_STATE) return EMPTY_ALERT_STATE;
  return parseWith(fn, 'state', alertStateSchema, state) as AlertState;
}

const worse = (op: 'above' | 'below', a: number, b: number): boolean => (op === 'above' ? a > b : a < b);
const atFire = (r: AlertRule, v: number): boolean => (r.op === 'above' ? v >= r.fire : v <= r.fire);
const pastResolve = (r: AlertRule, v: number): boolean => (r.op === 'above' ? v <= r.resolve : v >= r.resolve);

/**
 * One evaluation step: applies every rule to this step's samples at time `now`.
 *
 * The result does not depend on the order of `samples` (a group's value is its worst sample).
 *
 * @param rules - rules (as written or from {@link defineAlertRules})
 * @param state - the previous state ({@link EMPTY_ALERT_STATE} to start)
 * @param samples - this step's samples
 * @param now - the evaluation time, epoch ms
 * @returns the next state and the lifecycle events
 * @throws FleetError `INVALID_INPUT` (400) for malformed rules, state or samples
 */
export function evaluateAlerts(rules: readonly AlertRuleInput[], state: AlertState, samples: readonly MetricSample[], now: number): AlertStep {
  const rs = defineAlertRules(rules);
  const st = checkState('evaluateAlerts', state);
  const ss = parseWith('evaluateAlerts', 'samples', z.array(metricSampleSchema), samples, 'INVALID_INPUT');
  numberArgument('evaluateAlerts', 'now', now, 0, MAX_TIME_MS);
  const byKey = new Map<string, AlertInstance>(st.alerts.map((a) => [a.key, a]));
  const events: AlertEvent[] = [];
  for (const rule of rs) {
    const groups = new Map<string, { group: Record<string, string>; value: number }>();
    for (const s of ss) {
      if (s.metric !== rule.metric) continue;
      const group: Record<string, string> = {};
      for (const l of rule.groupBy) group[l] = Object.hasOwn(s.labels, l) ? (s.labels[l] as string) : '';
      const key = keyOf(rule.name, group, rule.groupBy);
      const g = groups.get(key);
      if (g === undefined) groups.set(key, { group, value: s.value });
      else if (worse(rule.op, s.value, g.value)) g.value = s.value;
    }
    for (const [key, { group, value }] of groups) {
      const prev = byKey.get(key);
      const next = stepInstance(rule, key, group, prev, value, now);
      if (next === undefined) {
        byKey.delete(key);
        continue;
      }
      if (next.phase === 'resolved') byKey.delete(key);
      else byKey.set(key, next);
      if (prev === undefined || prev.phase !== next.phase) events.push({ type: next.phase, at: now, alert: next });
    }
  }
  events.sort((a, b) => (a.alert.key < b.alert.key ? -1 : a.alert.key > b.alert.key ? 1 : 0));
  return { next: { alerts: [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1)) }, events };
}

function stepInstance(rule: AlertRule, key: string, group: Record<string, string>, prev: AlertInstance | undefined, value: number, now: number): AlertInstance | undefined {
  if (prev === undefined) {
    if (!atFire(rule, value)) return undefined;
    const pending: AlertInstance = { key, rule: rule.name, severity: rule.severity, group, phase: 'pending', pendingSince: now, value, peak: value };
    return rule.forMs === 0 ? { ...pending, phase: 'firing', firedAt: now } : pending;
  }
  const peak = worse(rule.op, value, prev.peak) ? value : prev.peak;
  if (prev.phase === 'pending') {
    if (!atFire(rule, value)) return undefined;
    if (now - prev.pendingSince >= rule.forMs) return { ...prev, phase: 'firing', firedAt: now, value, peak };
    return { ...prev, value, peak };
  }
  if (pastResolve(rule, value)) return { ...prev, phase: 'resolved', resolvedAt: now, value, peak };
  return { ...prev, value, peak };
}

/**
 * Acknowledges a firing alert (once).
 *
 * @param state - the alert state
 * @param key - the alert's key
 * @param by - who acknowledges (an operator or a system)
 * @param now - the time, epoch ms
 * @returns the next state and the `acknowledged` event
 * @throws FleetError `INVALID_OPERATION` (409) when the alert is not firing or already acknowledged;
 * `INVALID_ARGUMENT` (400) for malformed arguments
 */
export function acknowledgeAlert(state: AlertState, key: string, by: string, now: number): { readonly next: AlertState; readonly event: AlertEvent } {
  const st = checkState('acknowledgeAlert', state);
  if (typeof key !== 'string') throw invalidArgument('acknowledgeAlert', `key must be an alert key, got ${describeValue(key)}`);
  if (typeof by !== 'string' || by.length === 0 || by.length > 256) throw invalidArgument('acknowledgeAlert', `by must be a name of 1–256 characters, got ${describeValue(by)}`);
  numberArgument('acknowledgeAlert', 'now', now, 0, MAX_TIME_MS);
  const alert = st.alerts.find((a) => a.key === key);
  if (alert === undefined || alert.phase !== 'firing' || alert.ackedAt !== undefined) {
    throw new FleetError('INVALID_OPERATION', `acknowledgeAlert: ${describeValue(key)} is ${alert === undefined ? 'not an active alert' : alert.phase !== 'firing' ? `still ${alert.phase}` : 'already acknowledged'}; only a firing, unacknowledged alert can be acknowledged`, { status: 409 });
  }
  const acked: AlertInstance = { ...alert, ackedAt: Math.max(now, alert.firedAt ?? now), ackedBy: by };
  return { next: { alerts: st.alerts.map((a) => (a.key === key ? acked : a)) }, event: { type: 'acknowledged', at: acked.ackedAt as number, alert: acked } };
}

/** Response-time targets per severity, ms. */
export type ResponseTargets = Readonly<Record<AlertSeverity, number>>;

/** Default response targets: 15 min for critical, 1 h for warning, 24 h for info. */
export const DEFAULT_RESPONSE_TARGETS: ResponseTargets = Object.freeze({ critical: 15 * 60_000, warning: 60 * 60_000, info: 24 * 60 * 60_000 });

/** The alert-response-time SLA over a set of alerts. */
export interface ResponseSlaReport {
  /** Alerts that fired. */
  readonly fired: number;
  /** Acknowledged within their target. */
  readonly withinTarget: number;
  /** Late: acknowledged after the target, or unacknowledged past it at `now`. */
  readonly late: readonly { readonly key: string; readonly severity: AlertSeverity; readonly responseMs: number; readonly targetMs: number }[];
  /** Still unacknowledged and not yet past the target at `now` (not counted either way). */
  readonly open: number;
  /** 100 × within ÷ (within + late); 100 when nothing was decided. */
  readonly compliancePct: number;
  /** Mean response time of the acknowledged alerts, ms (0 when none). */
  readonly meanResponseMs: number;
}

/**
 * The alert-response-time SLA: the share of fired alerts acknowledged within their severity's
 * target. An alert resolved without acknowledgement counts by its time to resolution.
 *
 * @param alerts - alert instances (active ones from the state and resolved ones from events)
 * @param now - the time, epoch ms: unacknowledged alerts past their target by now are late
 * @param targets - targets per severity @defaultValue {@link DEFAULT_RESPONSE_TARGETS}
 * @throws FleetError `INVALID_INPUT` (400) for malformed alerts or targets
 */
export function alertResponseSla(alerts: readonly AlertInstance[], now: number, targets: ResponseTargets = DEFAULT_RESPONSE_TARGETS): ResponseSlaReport {
  const list = parseWith('alertResponseSla', 'alerts', z.array(instanceSchema), alerts, 'INVALID_INPUT');
  numberArgument('alertResponseSla', 'now', now, 0, MAX_TIME_MS);
  const t = parseWith('alertResponseSla', 'targets', z.strictObject({ critical: z.number().min(0), warning: z.number().min(0), info: z.number().min(0) }), targets, 'INVALID_INPUT');
  let fired = 0;
  let within = 0;
  let open = 0;
  let ackSum = 0;
  let acks = 0;
  const late: { key: string; severity: AlertSeverity; responseMs: number; targetMs: number }[] = [];
  for (const a of list) {
    if (a.firedAt === undefined) continue;
    fired++;
    const target = t[a.severity];
    const end = a.ackedAt ?? a.resolvedAt;
    if (a.ackedAt !== undefined) {
      ackSum += a.ackedAt - a.firedAt;
      acks++;
    }
    const responseMs = (end ?? now) - a.firedAt;
    if (end !== undefined && responseMs <= target) within++;
    else if (responseMs > target) late.push({ key: a.key, severity: a.severity, responseMs, targetMs: target });
    else open++;
  }
  const decided = within + late.length;
  return { fired, withinTarget: within, late, open, compliancePct: decided === 0 ? 100 : (100 * within) / decided, meanResponseMs: acks === 0 ? 0 : ackSum / acks };
}
