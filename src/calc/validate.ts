/**
 * Input validation for the calculators: zod parses, and the first problem becomes one
 * `FleetError('INVALID_INPUT', 400)` that names the field and the form it expects.
 */
import { z } from 'zod';
import { describeValue as describeSafely } from '../describe-value.js';
import { FleetError } from '../errors.js';
import { limit } from './format.js';

/**
 * A JSON-Schema fragment, as `z.toJSONSchema` describes one field.
 *
 * @internal
 */
export interface FieldSchema {
  readonly type?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly enum?: readonly unknown[];
  readonly items?: FieldSchema;
  readonly properties?: Readonly<Record<string, FieldSchema>>;
  readonly default?: unknown;
  readonly description?: string;
}

const jsonSchemas = new WeakMap<z.ZodType, FieldSchema>();

/**
 * The input-side JSON Schema of a calculator's schema (cached; used for help texts and error
 * messages).
 *
 * @internal
 */
export function inputJsonSchema(schema: z.ZodType): FieldSchema {
  let cached = jsonSchemas.get(schema);
  if (cached === undefined) {
    cached = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as FieldSchema;
    jsonSchemas.set(schema, cached);
  }
  return cached;
}


function bounds(s: FieldSchema): string {
  const lo =
    s.exclusiveMinimum !== undefined ? `> ${limit(s.exclusiveMinimum)}` : s.minimum !== undefined ? `≥ ${limit(s.minimum)}` : '';
  const hi =
    s.exclusiveMaximum !== undefined ? `< ${limit(s.exclusiveMaximum)}` : s.maximum !== undefined ? `≤ ${limit(s.maximum)}` : '';
  return [lo, hi].filter((b) => b !== '').join(' and ');
}

/**
 * The form a field expects, in words: "an integer ≥ 1 and ≤ 1,000,000,000", "a fraction from 0
 * to 1", "one of: simple, ml", …
 *
 * @internal
 */
export function expectedForm(s: FieldSchema | undefined): string {
  if (s === undefined) return 'a known field';
  if (s.enum !== undefined) return `one of: ${s.enum.map(String).join(', ')}`;
  if (s.type === 'number' && s.minimum === 0 && s.maximum === 1) {
    return 'a fraction from 0 to 1 (0.25 = 25%)';
  }
  if (s.type === 'integer') return `an integer ${bounds(s)}`.trim();
  if (s.type === 'number') return `a number ${bounds(s)}`.trim();
  if (s.type === 'string') {
    const text = s.minLength !== undefined && s.minLength > 0 ? 'a non-empty string' : 'a string';
    return s.maxLength === undefined ? text : `${text} of at most ${s.maxLength} characters`;
  }
  if (s.type === 'array') {
    const item = s.items?.properties === undefined ? 'items' : `{ ${Object.keys(s.items.properties).join(', ')} } objects`;
    const count = s.minItems !== undefined && s.minItems > 0 ? `a list of ${s.minItems} or more ${item}` : `a list of ${item}`;
    return s.maxItems === undefined ? count : `${count} (at most ${s.maxItems})`;
  }
  if (s.type === 'object') return 'an object';
  return 'a valid value';
}

/** The JSON-Schema fragment at `path` inside `root` (object properties and array items). */
function schemaAt(root: FieldSchema, path: readonly PropertyKey[]): FieldSchema | undefined {
  let s: FieldSchema | undefined = root;
  for (const key of path) {
    if (s === undefined) return undefined;
    s = typeof key === 'number' ? s.items : s.properties?.[String(key)];
  }
  return s;
}

/** JSON text of `value`, or `undefined` when it has none (a BigInt inside, a cycle, a throwing toJSON). */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

/**
 * A short, single-line rendering of a received value. Total: whatever the caller passed, it
 * describes it rather than throwing, so that bad input always ends as a `FleetError`. Plain data
 * is shown as JSON; anything JSON cannot show falls back to the shared safe description.
 */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value !== 'object' && typeof value !== 'string') return describeSafely(value);
  const text = jsonText(value) ?? describeSafely(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** `components.2.responseTimeSeconds` → `components[2].responseTimeSeconds`. */
export function fieldName(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc === '' ? String(key) : `${acc}.${String(key)}`), '');
}

function toError(calculator: string, schema: z.ZodType, input: unknown, issue: z.core.$ZodIssue): FleetError {
  if (issue.code === 'unrecognized_keys') {
    const root = schemaAt(inputJsonSchema(schema), issue.path);
    const known = Object.keys(root?.properties ?? {}).join(', ');
    const field = fieldName([...issue.path, issue.keys[0] ?? '']);
    const expected = `no field of that name; known fields: ${known}`;
    return invalid(calculator, field, expected, valueAt(input, [...issue.path, issue.keys[0] ?? '']), `${calculator}: unknown field ${field}: ${expected}`);
  }
  const field = issue.path.length === 0 ? 'input' : fieldName(issue.path);
  const received = valueAt(input, issue.path);
  // Refinements across fields carry their own expectation as the message.
  const expected = issue.code === 'custom' ? issue.message : issue.path.length === 0 ? 'an object of named fields' : expectedForm(schemaAt(inputJsonSchema(schema), issue.path));
  const verb = received === undefined && issue.code === 'invalid_type' ? 'is required' : 'is invalid';
  return invalid(calculator, field, expected, received, `${calculator}: ${field} ${verb}: expected ${expected}, got ${describeValue(received)}`);
}

function invalid(calculator: string, field: string, expected: string, received: unknown, message: string): FleetError {
  return new FleetError('INVALID_INPUT', message, { status: 400, details: { calculator, field, expected, received: describeValue(received) } });
}

/**
 * Parses `input` with `schema`, or throws the first problem as a `FleetError`.
 *
 * @throws FleetError `INVALID_INPUT` (400) with `details.field` and `details.expected`.
 * @internal
 */
export function parseCalcInput<S extends z.ZodType>(calculator: string, schema: S, input: unknown): z.output<S> {
  let parsed: z.ZodSafeParseResult<z.output<S>>;
  try {
    parsed = schema.safeParse(input);
  } catch (cause) {
    // Only reading the input can throw here (a getter or proxy trap that fails): still bad input.
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FleetError('INVALID_INPUT', `${calculator}: the input could not be read (${reason}): pass a plain object of numbers and strings`, {
      status: 400,
      cause,
      details: { calculator, field: 'input', expected: 'a plain object of numbers and strings', received: 'an unreadable object' },
    });
  }
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue === undefined) throw invalid(calculator, 'input', 'a valid input', input, `${calculator}: invalid input`);
  throw toError(calculator, schema, input, issue);
}

/**
 * Throws when any number in `result` is NaN or infinite. The input bounds make this unreachable;
 * it guards the promise that a calculator never returns a non-finite figure.
 *
 * @internal
 */
export function assertFinite<T>(calculator: string, result: T): T {
  const visit = (v: unknown, path: string): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new FleetError('INTERNAL', `${calculator}: computed a non-finite ${path}; please report the input`, { status: 500, details: { calculator, field: path } });
    }
    if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) visit(x, path === '' ? k : `${path}.${k}`);
  };
  visit(result, '');
  return result;
}
