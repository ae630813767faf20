/**
 * Help texts of `fleetkit calc`: the list of calculators, and one calculator's fields with their
 * defaults, units and expected forms.
 */
import { calculators, type Calculator } from '../calc/index.js';
import { expectedForm } from '../calc/validate.js';
import { fieldFlags, type FieldFlag } from './calc-flags.js';
import { table } from './render.js';
import { num } from '../calc/format.js';

/** `fleetkit calc --help`. */
export function calcListHelp(): string {
  return [
    'Usage: fleetkit calc <calculator> [--field value …] [--json] [--example]',
    '',
    'Calculators:',
    table(calculators.map((c) => ({ label: c.command, value: c.summary }))),
    '',
    'Run `fleetkit calc <calculator> --help` for its fields, defaults and units.',
    'Names may also be given as the function name (provisioningCost).',
    '',
  ].join('\n');
}

function defaultText(f: FieldFlag): string {
  if (f.required) return 'required';
  const d = f.schema.default;
  if (d === undefined) return 'optional';
  if (typeof d !== 'number') return String(d);
  return f.schema.maximum !== undefined && f.schema.maximum <= 1 && f.schema.type === 'number' ? `${num(d, 4)} (${num(d * 100, 2)}%)` : num(d, 4);
}

function flagText(f: FieldFlag): string {
  return f.list === undefined ? `--${f.flag}` : `--${f.flag} "<${f.list.keyProp}>=<${f.list.valueProp}>" (repeat)`;
}

function formText(f: FieldFlag): string {
  return f.list === undefined ? expectedForm(f.schema) : `${f.list.valueProp}: ${expectedForm(f.list.valueSchema)}`;
}

/** Flag and default in two aligned columns, the description beside them, the expected form below. */
function fieldTable(flags: readonly FieldFlag[]): string {
  const names = flags.map(flagText);
  const defaults = flags.map(defaultText);
  const w1 = Math.max(...names.map((n) => n.length));
  const w2 = Math.max(...defaults.map((d) => d.length));
  const pad = ' '.repeat(2 + w1 + 2 + w2 + 2);
  return flags
    .map((f, k) => `  ${(names[k] ?? '').padEnd(w1)}  ${(defaults[k] ?? '').padEnd(w2)}  ${f.schema.description ?? ''}\n${pad}${formText(f)}`)
    .join('\n');
}

/** `fleetkit calc <name> --help`. */
export function calculatorHelp(c: Calculator): string {
  const flags = fieldFlags(c);
  const example = Object.entries(c.example)
    .flatMap(([k, v]) => {
      const f = flags.find((x) => x.field === k);
      if (f === undefined) return [];
      if (Array.isArray(v) && f.list !== undefined) {
        const list = f.list;
        return v.map((item: Record<string, unknown>) => `--${f.flag} "${String(item[list.keyProp])}=${String(item[list.valueProp])}"`);
      }
      return [`--${f.flag} ${String(v)}`];
    })
    .join(' ');
  return [
    `fleetkit calc ${c.command} — ${c.summary}`,
    '',
    `Usage: fleetkit calc ${c.command} [--field value …] [--json] [--example]`,
    '',
    'Fields (units are in the names; fractions take 0.25 or 25%; camelCase names work too):',
    fieldTable(flags),
    '',
    'Options:',
    '  --json      print the result object as JSON (errors too, as one JSON line on stderr)',
    '  --example   start from the worked example; flags given override it',
    '  -h, --help  this help',
    '',
    'Worked example:',
    `  fleetkit calc ${c.command} ${example}`,
    '',
  ].join('\n');
}
