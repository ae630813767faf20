/**
 * The bootstrap ("home endpoint") rule: a global entry point tells each device which regional
 * endpoint and topics to use.
 */
import { z } from 'zod';
import { FleetError } from '../errors.js';
import type { TemplateParameters } from './template.js';

/** A region and the endpoint devices of that region connect to. */
export interface HomeTarget {
  /** Region name (`eu-central-1`, `emea`, …). */
  readonly region: string;
  /** Endpoint URL (`mqtts://…`, `wss://…`). */
  readonly endpoint: string;
}

/** A home rule: when every `when` parameter equals its value, the device goes to this target. */
export interface HomeRule extends HomeTarget {
  /** Parameter name → exact value (for example `{ Country: 'DE' }`); all must match. */
  readonly when: Readonly<Record<string, string>>;
}

/** The bootstrap configuration inside a provisioning template. */
export interface HomeEndpointConfig {
  /** Rules in order; the first that matches wins. */
  readonly rules: readonly HomeRule[];
  /** Where devices go when no rule matches; without it such devices are refused. */
  readonly fallback?: HomeTarget;
  /** Topic templates by purpose, for example `{ telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/telemetry' }`. */
  readonly topics: Readonly<Record<string, string>>;
}

/** Where a device was sent, with its topics filled in. */
export interface HomeAssignment extends HomeTarget {
  /** Topic names by purpose. */
  readonly topics: Readonly<Record<string, string>>;
}

const region = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a region is lower-case letters, digits and "-"');
const endpoint = z.string().max(512).regex(/^(mqtts?|wss?|ssl|tls|https?):\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[^\s]*)?$/, 'an endpoint is a URL such as mqtts://host:8883');
const target = z.strictObject({ region, endpoint });

/**
 * zod schema of a {@link HomeEndpointConfig}; `topic` validates each topic template and `parameter`
 * each parameter name a rule's `when` tests (a misspelt name would otherwise never match, silently).
 * Topics may not contain MQTT wildcards, empty levels or a leading `$` (reserved for the broker).
 */
export function homeEndpointSchema(topic: z.ZodString, parameter: z.ZodType<string>): z.ZodType<HomeEndpointConfig> {
  const topicTemplate = topic.refine((t) => !/[+#]/.test(t) && !t.startsWith('$') && !t.split('/').includes(''), 'topics have no "+", "#", empty levels or leading "$"');
  return z.strictObject({
    rules: z.array(z.strictObject({ when: z.record(parameter, z.string()), region, endpoint })).max(100),
    fallback: target.exactOptional(),
    topics: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), topicTemplate),
  });
}

/**
 * Picks the device's home target: the first rule whose `when` values all equal the parameters, else
 * the fallback. Throws `TEMPLATE_INVALID` (caught by the template filler) when nothing matches.
 */
export function resolveHome(config: HomeEndpointConfig, params: TemplateParameters, fill: (s: string) => string): HomeAssignment {
  const values = params as Readonly<Record<string, string | undefined>>;
  const rule = config.rules.find((r) => Object.entries(r.when).every(([k, v]) => values[k] === v));
  const chosen = rule ?? config.fallback;
  if (chosen === undefined) {
    throw new FleetError('TEMPLATE_INVALID', 'No home rule matches this device and the template has no fallback; add a fallback target or a matching rule', {
      status: 400,
      details: { rules: config.rules.length },
    });
  }
  const topics: Record<string, string> = {};
  for (const [purpose, t] of Object.entries(config.topics)) topics[purpose] = fill(t);
  return { region: chosen.region, endpoint: chosen.endpoint, topics };
}
