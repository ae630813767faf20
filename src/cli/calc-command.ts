/**
 * `fleetkit calc <calculator> [--field value …] [--json]`: runs one planning calculator.
 */
import { calculators, findCalculator, type Calculator } from '../calc/index.js';
import { expectedForm } from '../calc/validate.js';
import { isFleetError, type FleetError } from '../errors.js';
import { calcListHelp, calculatorHelp } from './calc-help.js';
import { fieldFlags, flagForField, parseCalcArgs, type CalcArgs } from './calc-flags.js';
import type { CliIo, Subcommand } from './main.js';
import { renderResult } from './render.js';
import { UsageError, usageError } from './usage-error.js';

/** A validation error from the calculator, in the words of the command line. */
function usageFor(c: Calculator, error: FleetError): UsageError {
  const field = typeof error.details?.['field'] === 'string' ? error.details['field'] : 'input';
  const expected = typeof error.details?.['expected'] === 'string' ? error.details['expected'] : 'a valid value';
  const received = typeof error.details?.['received'] === 'string' ? error.details['received'] : 'something else';
  const flag = flagForField(c, field);
  const problem = received === 'nothing' ? `${flag} is required: expected ${expected} (or use --example)` : `${flag}: expected ${expected}, got ${received}`;
  return new UsageError(`calc ${c.command}: ${problem}`, { code: 'INVALID_INPUT', problems: [{ flag: flag.replace(/ #\d+$/, ''), message: problem }] });
}

/** Every required flag the input lacks, in one error (validation would stop at the first). */
function missingRequired(c: Calculator, input: Readonly<Record<string, unknown>>): UsageError | undefined {
  const missing = fieldFlags(c).filter((f) => f.required && input[f.field] === undefined);
  if (missing.length === 0) return undefined;
  const problems = missing.map((f) => ({ flag: `--${f.flag}`, message: `--${f.flag} is required: expected ${expectedForm(f.schema)}` }));
  return new UsageError(`calc ${c.command}: ${problems.map((p) => p.message).join('; ')} (or use --example)`, { code: 'INVALID_INPUT', problems });
}

/** Flag problems, prefixed with the command so the line stands on its own. */
function parseOrExplain(c: Calculator, args: readonly string[]): CalcArgs {
  try {
    return parseCalcArgs(c, args);
  } catch (error) {
    const usage = usageError(error);
    if (usage === undefined) throw error;
    throw new UsageError(`calc ${c.command}: ${usage.message} (see fleetkit calc ${c.command} --help)`, { code: usage.code, problems: usage.problems });
  }
}

function runCalculator(c: Calculator, args: readonly string[], io: CliIo): number {
  const parsed = parseOrExplain(c, args);
  if (parsed.help) {
    io.out(calculatorHelp(c));
    return 0;
  }
  const input = parsed.example ? { ...c.example, ...parsed.input } : parsed.input;
  const missing = missingRequired(c, input);
  if (missing !== undefined) throw missing;
  let result;
  try {
    result = c.calculate(input);
  } catch (error) {
    if (isFleetError(error, 'INVALID_INPUT')) throw usageFor(c, error);
    throw error;
  }
  io.out(parsed.json ? `${JSON.stringify(result, null, 2)}\n` : renderResult(`${c.command}`, result));
  return 0;
}

function run(args: readonly string[], io: CliIo): number {
  const [name, ...rest] = args;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.out(calcListHelp());
    return 0;
  }
  if (name === undefined) {
    io.err(calcListHelp());
    return 2;
  }
  const c = findCalculator(name);
  if (c === undefined) {
    const hint = name.startsWith('-') ? 'the calculator name comes first' : `unknown calculator "${name}"`;
    throw new UsageError(`calc: ${hint}; calculators: ${calculators.map((x) => x.command).join(', ')}`);
  }
  return runCalculator(c, rest, io);
}

/** The `calc` subcommand. */
export const calcCommand: Subcommand = {
  name: 'calc',
  summary: 'planning calculators: provisioning cost, maintenance ROI, SIS budget, scale, architecture, fleet cost, fog',
  run,
};
