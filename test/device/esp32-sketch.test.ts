// The example sketch (examples/esp32/esp32_fleetkit.ino) builds the canonical messages byte for
// byte: its snprintf format strings, filled with the fixtures' values, are the fixtures' JSON.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ESP32_COMMANDS, ESP32_HEALTH_STATUSES, ESP32_LIFECYCLE_STATES, ESP32_RECOMMENDED_BUFFER_BYTES, parseEsp32, type Esp32Kind } from '../../src/device/esp32/index.js';

const sketch = readFileSync(new URL('../../examples/esp32/esp32_fleetkit.ino', import.meta.url), 'utf8');
const fixtures = (JSON.parse(readFileSync(new URL('../fixtures/esp32/valid.json', import.meta.url), 'utf8')) as {
  cases: { name: string; kind: Esp32Kind; input: unknown; sketch?: { format: string; args: (string | number)[] } }[];
}).cases;

/** The value of a C string literal (escapes \" \\ \n \t). */
function cString(literal: string): string {
  return literal.slice(1, -1).replace(/\\(["\\nt])/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** `static const char NAME[] = "…";` → NAME → its text. */
function formats(source: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of source.matchAll(/static const char (\w+)\[\] = ((?:"(?:[^"\\]|\\.)*"\s*)+);/g)) {
    const literals = (m[2] as string).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    out.set(m[1] as string, literals.map(cString).join(''));
  }
  return out;
}

/** The `static const char *const NAME[] = { "…", … };` string tables. */
function table(source: string, name: string): string[] {
  const m = new RegExp(`static const char \\*const ${name}\\[\\] = \\{([^}]*)\\};`).exec(source);
  expect(m, `table ${name} in the sketch`).not.toBeNull();
  return ((m?.[1] ?? '').match(/"(?:[^"\\]|\\.)*"/g) ?? []).map(cString);
}

/** C printf for the conversions the sketch uses: %s %d %lu %llu %.Nf %%. */
function printf(format: string, args: readonly (string | number)[]): string {
  let i = 0;
  return format.replace(/%(%|s|d|lu|llu|\.(\d)f)/g, (whole, conv: string, digits: string | undefined) => {
    if (conv === '%') return '%';
    const arg = args[i++];
    if (arg === undefined) throw new Error(`too few arguments for ${format}`);
    if (conv === 's') {
      if (typeof arg !== 'string') throw new Error(`%s needs a string, got ${arg}`);
      return arg;
    }
    if (typeof arg !== 'number') throw new Error(`${whole} needs a number, got ${arg}`);
    if (digits !== undefined) return arg.toFixed(Number(digits));
    if (!Number.isInteger(arg) || ((conv === 'lu' || conv === 'llu') && arg < 0)) throw new Error(`${whole} needs an ${conv === 'd' ? '' : 'unsigned '}integer, got ${arg}`);
    return String(arg);
  });
}

describe('the ESP32 example sketch', () => {
  const fmts = formats(sketch);
  const linked = fixtures.filter((c) => c.sketch !== undefined);

  it('has the format strings the fixtures name, and every format string is checked by a fixture', () => {
    expect(fmts.size).toBeGreaterThanOrEqual(7);
    expect([...fmts.keys()].sort()).toEqual([...new Set(linked.map((c) => c.sketch?.format as string))].sort());
  });

  it.each(linked.map((c) => [c.name, c] as const))('builds the %s fixture byte for byte', (_, c) => {
    const format = fmts.get(c.sketch?.format as string) as string;
    const built = printf(format, c.sketch?.args ?? []);
    expect(built).toBe(JSON.stringify(c.input));
    expect(() => parseEsp32(c.kind, JSON.parse(built))).not.toThrow();
  });

  it('uses the protocol vocabulary and buffer size', () => {
    expect(table(sketch, 'LIFECYCLE_STATES')).toEqual([...ESP32_LIFECYCLE_STATES]);
    expect(table(sketch, 'HEALTH_STATUSES')).toEqual([...ESP32_HEALTH_STATUSES]);
    expect(table(sketch, 'COMMANDS')).toEqual([...ESP32_COMMANDS]);
    expect(sketch).toContain(`MQTT_BUFFER_BYTES = ${ESP32_RECOMMENDED_BUFFER_BYTES};`);
    expect(sketch).toContain('mqtt.setBufferSize(MQTT_BUFFER_BYTES);');
  });
});
