/**
 * From a calculator's schema to command-line flags and back: `--field value` for every input
 * field (kebab-case, camelCase accepted too), `--component "name=1.2"` for list fields, and the
 * flag a validation error should name.
 */
import { parseArgs } from 'node:util';
import type { Calculator } from '../calc/index.js';
import { expectedForm, inputJsonSchema, type FieldSchema } from '../calc/validate.js';
import { UsageError } from './usage-error.js';

/** A `name=value` list field, such as the SIS components. */
interface ListForm {
  /** The item property given before "=" (a string). */
  readonly keyProp: string;
  /** The item property given after "=" (a number). */
  readonly valueProp: string;
  /** The value property's schema. */
  readonly valueSchema: FieldSchema;
}

/** One input field as a flag. */
export interface FieldFlag {
  /** The input field, e.g. `manualSecondsPerDevice`. */
  readonly field: string;
  /** The flag without dashes, e.g. `manual-seconds-per-device` (or `component` for `components`). */
  readonly flag: string;
  /** The field's JSON Schema. */
  readonly schema: FieldSchema;
  /** True when the input must give it. */
  readonly required: boolean;
  /** Present for list fields given as repeated `--flag name=value`. */
  readonly list?: ListForm;
}

/** `manualSecondsPerDevice` → `manual-seconds-per-device`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function listForm(schema: FieldSchema): ListForm | undefined {
  const props = Object.entries(schema.items?.properties ?? {});
  const key = props.find(([, s]) => s.type === 'string');
  const value = props.find(([, s]) => s.type === 'number' || s.type === 'integer');
  if (schema.type !== 'array' || props.length !== 2 || key === undefined || value === undefined) return undefined;
  return { keyProp: key[0], valueProp: value[0], valueSchema: value[1] };
}

/** The flags of a calculator, in schema order. */
export function fieldFlags(calculator: Calculator): readonly FieldFlag[] {
  const root = inputJsonSchema(calculator.schema) as FieldSchema & { readonly required?: readonly string[] };
  return Object.entries(root.properties ?? {}).map(([field, schema]) => {
    const list = listForm(schema);
    const required = root.required?.includes(field) === true && schema.default === undefined;
    // A list field is given one item per flag, so the flag is singular: --component for components.
    const flag = list === undefined ? kebab(field) : kebab(field.replace(/s$/, ''));
    return list === undefined ? { field, flag, schema, required } : { field, flag, schema, required, list };
  });
}

/**
 * Digits may be grouped with `_` (one between digits, as in JavaScript) or with `,` in groups of
 * three (`1,000,000`). A comma anywhere else is refused rather than dropped: in `62,5` it is a
 * decimal comma, and reading it as 625 would silently multiply the figure by ten.
 */
const NUMBER = /^[+-]?(?:(?:\d{1,3}(?:,\d{3})+|\d+(?:_\d+)*)(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;

/** A fraction field accepts "25%" as well as 0.25. */
function acceptsPercent(schema: FieldSchema): boolean {
  return schema.maximum !== undefined && schema.maximum <= 1;
}

/**
 * Parses a number as a person types it: `1000`, `1_000`, `1,000`, `1e3`; `25%` for fractions.
 * `62,5` (a decimal comma) and `1__0` are refused, not guessed at.
 *
 * @throws UsageError naming `--flag` and the expected form
 */
export function parseNumber(text: string, schema: FieldSchema, flag: string): number {
  const trimmed = text.trim();
  const percent = trimmed.endsWith('%') && acceptsPercent(schema);
  const body = percent ? trimmed.slice(0, -1).trim() : trimmed;
  if (!NUMBER.test(body)) {
    const hint = body.includes(',') ? ' (use "." for decimals; "," only between groups of three digits)' : '';
    const message = `--${flag}: expected ${expectedForm(schema)}, got "${text}"${hint}`;
    throw new UsageError(message, { problems: [{ flag: `--${flag}`, message }] });
  }
  const value = Number(body.replace(/[_,]/g, ''));
  return percent ? value / 100 : value;
}

function parseListItem(text: string, f: FieldFlag & { readonly list: ListForm }): Record<string, unknown> {
  const at = text.lastIndexOf('=');
  const name = at === -1 ? '' : text.slice(0, at).trim();
  if (name === '') {
    const message = `--${f.flag}: expected "<${f.list.keyProp}>=<${f.list.valueProp}>" (e.g. --${f.flag} "valve stroke=1.2"), got "${text}"`;
    throw new UsageError(message, { problems: [{ flag: `--${f.flag}`, message }] });
  }
  return { [f.list.keyProp]: name, [f.list.valueProp]: parseNumber(text.slice(at + 1), f.list.valueSchema, f.flag) };
}

function parseValue(text: string, f: FieldFlag): unknown {
  if (f.schema.type === 'number' || f.schema.type === 'integer') return parseNumber(text, f.schema, f.flag);
  return text;
}

/** What `fleetkit calc <name> …` asked for. */
export interface CalcArgs {
  /** The input built from the field flags (only the fields given). */
  readonly input: Record<string, unknown>;
  /** `--json`: print the result object. */
  readonly json: boolean;
  /** `--help`: print the calculator's fields. */
  readonly help: boolean;
  /** `--example`: start from the worked example. */
  readonly example: boolean;
}

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string };

/**
 * parseArgs refuses `--devices -5` as ambiguous (the value looks like a flag); a negative number
 * after a value flag is plainly its value, so pass it on as `--devices=-5` and let validation
 * say what is wrong with it.
 */
function joinNegativeValues(args: readonly string[], options: Readonly<Record<string, OptionSpec>>): string[] {
  const out: string[] = [];
  for (let k = 0; k < args.length; k += 1) {
    const arg = args[k] ?? '';
    const next = args[k + 1];
    const name = arg.startsWith('--') ? arg.slice(2) : '';
    if (options[name]?.type === 'string' && next !== undefined && /^-[\d.]/.test(next)) {
      out.push(`${arg}=${next}`);
      k += 1;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const TIMES = ['', 'once', 'twice'];

/**
 * A flag that takes one value, given more than once (under either spelling), is refused: "the
 * last one wins" would silently drop a value the user typed. List flags repeat by design.
 */
function refuseRepeats(tokens: readonly { kind: string; name?: string; rawName?: string }[], flags: readonly FieldFlag[]): void {
  const canonical = new Map<string, { flag: string; repeatable: boolean }>([
    ['json', { flag: 'json', repeatable: false }],
    ['help', { flag: 'help', repeatable: false }],
    ['example', { flag: 'example', repeatable: false }],
  ]);
  for (const f of flags) {
    canonical.set(f.flag, { flag: f.flag, repeatable: f.list !== undefined });
    canonical.set(f.field, { flag: f.flag, repeatable: f.list !== undefined });
  }
  const seen = new Map<string, string[]>();
  for (const t of tokens) {
    const c = t.kind === 'option' && t.name !== undefined ? canonical.get(t.name) : undefined;
    if (c === undefined || c.repeatable) continue;
    seen.set(c.flag, [...(seen.get(c.flag) ?? []), t.rawName ?? `--${t.name ?? ''}`]);
  }
  for (const [flag, spellings] of seen) {
    if (spellings.length < 2) continue;
    const times = TIMES[spellings.length] ?? `${spellings.length} times`;
    const message = `--${flag}: given ${times} (as ${spellings.join(', ')}); give each flag once`;
    throw new UsageError(message, { problems: [{ flag: `--${flag}`, message }] });
  }
}

/**
 * Parses the arguments after `fleetkit calc <name>` with `node:util` parseArgs.
 *
 * @throws UsageError (or a parseArgs error) for unknown flags, flags given twice and malformed values
 */
export function parseCalcArgs(calculator: Calculator, args: readonly string[]): CalcArgs {
  const flags = fieldFlags(calculator);
  const options: Record<string, OptionSpec> = { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, example: { type: 'boolean' } };
  for (const f of flags) {
    const spec: OptionSpec = f.list === undefined ? { type: 'string' } : { type: 'string', multiple: true };
    options[f.flag] = spec;
    if (f.field !== f.flag) options[f.field] = spec;
  }
  const { values, tokens } = parseArgs({ args: joinNegativeValues(args, options), options, strict: true, allowPositionals: false, tokens: true });
  refuseRepeats(tokens, flags);
  const input: Record<string, unknown> = {};
  for (const f of flags) {
    const raw = [values[f.flag], f.field === f.flag ? undefined : values[f.field]].filter((v) => v !== undefined).flat() as (string | boolean)[];
    if (raw.length === 0) continue;
    if (f.list !== undefined) {
      const list = f.list;
      input[f.field] = raw.map((text) => parseListItem(String(text), { ...f, list }));
    } else {
      input[f.field] = parseValue(String(raw[0]), f);
    }
  }
  return { input, json: values['json'] === true, help: values['help'] === true, example: values['example'] === true };
}

/**
 * The flag a validation error's field path refers to: `devices` → `--devices`,
 * `components[2].responseTimeSeconds` → `--component #3`.
 */
export function flagForField(calculator: Calculator, field: string): string {
  const top = /^[^.[]+/.exec(field)?.[0] ?? field;
  const f = fieldFlags(calculator).find((x) => x.field === top);
  if (f === undefined) return field;
  const index = /^[^[]+\[(\d+)\]/.exec(field)?.[1];
  return index === undefined ? `--${f.flag}` : `--${f.flag} #${Number(index) + 1}`;
}
