/**
 * Provisioning templates: how a device record is filled from the identity a device presents.
 */
import { z } from 'zod';
import { tenantIdSchema } from '../ids.js';
import { FleetError } from '../errors.js';
import { describeValue } from '../describe-value.js';
import { describeIssues, issueList } from './issues.js';
import type { Result } from '../errors.js';
import { FORBIDDEN_KEYS, checkJson, isJsonObject } from '../json.js';
import type { JsonObject, JsonValue } from '../json.js';
import { thingNameSchema } from '../shadow/names.js';
import { homeEndpointSchema, resolveHome } from './home-endpoint.js';
import type { HomeAssignment, HomeEndpointConfig } from './home-endpoint.js';

/** Parameters taken from an X.509 certificate. */
export const X509_TEMPLATE_PARAMETERS = [
  'CommonName',
  'Organization',
  'OrganizationalUnit',
  'Country',
  'State',
  'Locality',
  'CertificateSerial',
  'CaId',
  'CaTenantId',
] as const;

/** Parameters taken from a symmetric-key enrollment. */
export const ENROLLMENT_TEMPLATE_PARAMETERS = ['RegistrationId', 'GroupId', 'GroupTenantId'] as const;

/** Parameters derived from the filled `deviceId` and `tenantId`, usable everywhere else. */
export const DERIVED_TEMPLATE_PARAMETERS = ['DeviceId', 'TenantId'] as const;

/** The name of a template parameter, written `{{Name}}` in a template. */
export type TemplateParameter =
  | (typeof X509_TEMPLATE_PARAMETERS)[number]
  | (typeof ENROLLMENT_TEMPLATE_PARAMETERS)[number]
  | (typeof DERIVED_TEMPLATE_PARAMETERS)[number];

/** Parameter values, by name. */
export type TemplateParameters = Readonly<Partial<Record<TemplateParameter, string>>>;

const SOURCE_NAMES: ReadonlySet<string> = new Set([...X509_TEMPLATE_PARAMETERS, ...ENROLLMENT_TEMPLATE_PARAMETERS]);
const ALL_NAMES: ReadonlySet<string> = new Set([...SOURCE_NAMES, ...DERIVED_TEMPLATE_PARAMETERS]);
const PLACEHOLDER = /\{\{([A-Za-z]+)\}\}/g;

/**
 * A parameter value a template may use: 1–128 characters of letters, digits, `.`, `_`, `:` and `-`,
 * starting with a letter or digit, without `..`, and not a prototype key. This keeps values out of
 * topic wildcards (`+`, `#`), topic levels (`/`), placeholders (`{{ }}`), paths and markup.
 */
export const templateParameterValueSchema: z.ZodString = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, 'only letters, digits, ".", "_", ":" and "-", starting with a letter or digit')
  .refine((v) => !v.includes('..'), 'must not contain ".."')
  .refine((v) => !FORBIDDEN_KEYS.has(v), 'must not be a prototype key');

/** A string in which `{{Name}}` placeholders name known parameters and no other braces appear. */
function templateString(max: number, allowed: ReadonlySet<string>): z.ZodString {
  return z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.replace(PLACEHOLDER, '').includes('{') && !s.replace(PLACEHOLDER, '').includes('}'), 'braces are only allowed in {{Name}} placeholders')
    .refine((s) => [...s.matchAll(PLACEHOLDER)].every((m) => allowed.has(m[1] ?? '')), {
      message: `unknown placeholder; known: ${[...allowed].map((n) => `{{${n}}}`).join(', ')}`,
    });
}

const keySchema = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,128}$/, 'attribute names are 1–128 letters, digits, "_", "." or "-"')
  .refine((k) => !FORBIDDEN_KEYS.has(k), 'must not be a prototype key');

/** The definition of a provisioning template, as a user writes it (JSON-compatible). */
export interface ProvisioningTemplateDefinition {
  /** The template's name (recorded on each device). */
  readonly name: string;
  /**
   * The device id.
   * @defaultValue `'{{CommonName}}'` for certificates, `'{{RegistrationId}}'` for enrollments
   */
  readonly deviceId?: string;
  /**
   * The tenant id.
   * @defaultValue `'{{Organization}}'` for certificates, `'{{GroupTenantId}}'` for enrollments
   */
  readonly tenantId?: string;
  /**
   * Values for source parameters the identity may lack (for example `{ OrganizationalUnit: 'none' }`);
   * a parameter the template uses that has neither a value nor a default refuses provisioning.
   */
  readonly parameterDefaults?: TemplateParameters;
  /** Registry attributes; values may use placeholders. */
  readonly attributes?: Readonly<Record<string, string>>;
  /** The initial desired configuration (shadow `desired`); string values may use placeholders. */
  readonly desiredConfig?: JsonObject;
  /** Policies to attach to the credential; names may use placeholders. */
  readonly policies?: readonly string[];
  /** The bootstrap rule: which regional endpoint and topics the device is sent to. */
  readonly home?: HomeEndpointConfig;
}

/** zod schema of a {@link ProvisioningTemplateDefinition}. */
export const provisioningTemplateDefinitionSchema: z.ZodType<ProvisioningTemplateDefinition> = z.strictObject({
  name: z.string().min(1).max(128),
  deviceId: templateString(256, SOURCE_NAMES).exactOptional(),
  tenantId: templateString(256, SOURCE_NAMES).exactOptional(),
  parameterDefaults: z
    .record(
      z.string().refine((k) => SOURCE_NAMES.has(k), { message: `defaults are for source parameters: ${[...SOURCE_NAMES].join(', ')}` }),
      templateParameterValueSchema,
    )
    .exactOptional() as z.ZodType<TemplateParameters>,
  attributes: z.record(keySchema, templateString(800, ALL_NAMES)).exactOptional(),
  desiredConfig: z.custom<JsonObject>((v) => isJsonObject(v) && checkJson(v) === undefined, 'desiredConfig must be a plain JSON object').exactOptional(),
  policies: z.array(templateString(128, ALL_NAMES)).max(10).exactOptional(),
  home: homeEndpointSchema(
    templateString(256, ALL_NAMES),
    z.string().refine((k) => ALL_NAMES.has(k), { message: `a home rule tests template parameters: ${[...ALL_NAMES].join(', ')}` }),
  ).exactOptional(),
});

// Symbol.for: a template made by another copy of fleetkit in the same process is still recognised.
const BRAND: unique symbol = Symbol.for('fleetkit.ProvisioningTemplate');

/** A validated, frozen template; create it with {@link defineProvisioningTemplate}. */
export interface ProvisioningTemplate extends ProvisioningTemplateDefinition {
  /** Proof that the template went through {@link defineProvisioningTemplate}. */
  readonly [BRAND]: true;
}

/**
 * Validates a template definition once, up front.
 *
 * @throws FleetError `TEMPLATE_INVALID` (400) naming each offending field: unknown placeholders, stray
 *   braces, bad attribute names, non-JSON desired config, topic wildcards in the home rule, …
 *
 * @example
 * ```ts
 * const template = defineProvisioningTemplate({
 *   name: 'sensors-v1',
 *   deviceId: '{{CommonName}}',
 *   tenantId: '{{Organization}}',
 *   attributes: { site: '{{OrganizationalUnit}}' },
 *   desiredConfig: { reportIntervalS: 60 },
 *   home: {
 *     rules: [{ when: { Country: 'DE' }, region: 'eu-central-1', endpoint: 'mqtts://eu.iot.example.com:8883' }],
 *     fallback: { region: 'us-east-1', endpoint: 'mqtts://us.iot.example.com:8883' },
 *     topics: { telemetry: 'tenants/{{TenantId}}/devices/{{DeviceId}}/telemetry' },
 *   },
 * });
 * ```
 */
export function defineProvisioningTemplate(definition: unknown): ProvisioningTemplate {
  const r = provisioningTemplateDefinitionSchema.safeParse(definition);
  if (!r.success) {
    throw new FleetError('TEMPLATE_INVALID', `Invalid provisioning template: ${describeIssues(r.error, 'template')}`, {
      status: 400,
      details: { issues: issueList(r.error) },
    });
  }
  return Object.freeze({ ...r.data, [BRAND]: true as const });
}

/** A template filled for one device. */
export interface FilledTemplate {
  /** The device id. */
  readonly deviceId: string;
  /** The tenant id. */
  readonly tenantId: string;
  /** Registry attributes. */
  readonly attributes: Readonly<Record<string, string>>;
  /** Initial desired configuration. */
  readonly desiredConfig: JsonObject;
  /** Policies to attach. */
  readonly policies: readonly string[];
  /** The device's home region, endpoint and topics, when the template has a home rule. */
  readonly home: HomeAssignment | undefined;
}

function templateError(message: string, details: Record<string, unknown>): { ok: false; error: FleetError } {
  return { ok: false, error: new FleetError('TEMPLATE_INVALID', message, { status: 400, details }) };
}

/** A filler that validates each parameter the first time it is used, then substitutes in one pass. */
function substituter(params: TemplateParameters, source: string): (s: string) => string {
  return (s) =>
    s.replace(PLACEHOLDER, (_m, name: string) => {
      const value: unknown = params[name as TemplateParameter];
      if (value === undefined) throw templateError(`The template uses {{${name}}}, but the ${source} does not provide it`, { parameter: name }).error;
      const check = templateParameterValueSchema.safeParse(value);
      if (!check.success) {
        throw templateError(`Template parameter {{${name}}} from the ${source} is not acceptable (${check.error.issues[0]?.message ?? 'invalid'}); provisioning refused`, {
          parameter: name,
          value: typeof value === 'string' ? value.slice(0, 200) : describeValue(value),
        }).error;
      }
      return check.data;
    });
}

function fillJson(value: JsonValue, fill: (s: string) => string): JsonValue {
  if (typeof value === 'string') return fill(value);
  if (Array.isArray(value)) return value.map((v) => fillJson(v, fill));
  if (isJsonObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = fillJson(v, fill);
    return out;
  }
  return value;
}

function fillOrThrow(template: ProvisioningTemplate, params: TemplateParameters, defaults: { deviceId: string; tenantId: string }, source: string): FilledTemplate {
  const fill = substituter({ ...template.parameterDefaults, ...params }, source);
  const deviceId = fill(template.deviceId ?? defaults.deviceId);
  const tenantId = fill(template.tenantId ?? defaults.tenantId);
  // The parameters were checked one by one; the results are checked again as a whole, because a
  // template may join several of them.
  if (!thingNameSchema.safeParse(deviceId).success) throw templateError(`The filled device id "${deviceId.slice(0, 200)}" is not a valid thing name`, { deviceId }).error;
  if (!tenantIdSchema.safeParse(tenantId).success) throw templateError(`The filled tenant id "${tenantId.slice(0, 200)}" is not a valid tenant id`, { tenantId }).error;
  const all: TemplateParameters = { ...template.parameterDefaults, ...params, DeviceId: deviceId, TenantId: tenantId };
  const fillAll = substituter(all, source);
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(template.attributes ?? {})) attributes[k] = fillAll(v);
  const home = template.home === undefined ? undefined : resolveHome(template.home, all, fillAll);
  return {
    deviceId,
    tenantId,
    attributes,
    desiredConfig: fillJson(template.desiredConfig ?? {}, fillAll) as JsonObject,
    policies: (template.policies ?? []).map(fillAll),
    home,
  };
}

function invalidArgumentResult(message: string): { ok: false; error: FleetError } {
  return { ok: false, error: new FleetError('INVALID_ARGUMENT', `fillProvisioningTemplate: ${message}`, { status: 400 }) };
}

/**
 * Fills `template` for one device. Substitution is a single pass: a parameter value is never read
 * as a template, and every value used is checked with {@link templateParameterValueSchema}.
 *
 * @param template - a template from {@link defineProvisioningTemplate}
 * @param params - parameter values from the certificate or enrollment (untrusted)
 * @param defaults - the default `deviceId` and `tenantId` templates for the provisioning method
 * @param source - what the parameters came from, for messages ("certificate subject", …)
 * @returns the filled template, or `TEMPLATE_INVALID`, or `INVALID_ARGUMENT` when `template` did not
 *   come from {@link defineProvisioningTemplate} or another argument has the wrong type
 */
export function fillProvisioningTemplate(
  template: ProvisioningTemplate,
  params: TemplateParameters,
  defaults: { readonly deviceId: string; readonly tenantId: string },
  source = 'device identity',
): Result<FilledTemplate> {
  // The type demands a validated template; plain objects (from JavaScript or a cast) would skip the
  // placeholder, topic and JSON checks, so they are refused at run time too.
  if (typeof template !== 'object' || template === null || (template as Partial<ProvisioningTemplate>)[BRAND] !== true) {
    return {
      ok: false,
      error: new FleetError('INVALID_ARGUMENT', 'The provisioning template was not created by defineProvisioningTemplate; pass defineProvisioningTemplate(definition)', { status: 400 }),
    };
  }
  if (typeof params !== 'object' || params === null) return invalidArgumentResult(`params must be an object of template parameters, got ${describeValue(params)}`);
  const d = defaults as Partial<Record<string, unknown>> | null;
  if (typeof d !== 'object' || d === null || typeof d['deviceId'] !== 'string' || typeof d['tenantId'] !== 'string') {
    return invalidArgumentResult(`defaults must be { deviceId, tenantId } templates (strings), got ${describeValue(defaults)}`);
  }
  if (typeof source !== 'string') return invalidArgumentResult(`source must be a string, got ${describeValue(source)}`);
  try {
    return { ok: true, value: fillOrThrow(template, params, defaults, source) };
  } catch (e) {
    if (e instanceof FleetError) return { ok: false, error: e };
    throw e;
  }
}
