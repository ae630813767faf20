// The conformance fixtures of the ESP32 protocol (test/fixtures/esp32/), one test per case.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cborCodec } from '../../src/cbor.js';
import { buildEsp32, decodeEsp32Payload, ESP32_KINDS, parseEsp32, type Esp32Kind, type Esp32ParseOptions, type Esp32Values } from '../../src/device/esp32/index.js';
import { isFleetError } from '../../src/errors.js';
import { jsonCodec } from '../../src/protocol/codec.js';

interface Case {
  readonly name: string;
  readonly kind: Esp32Kind;
  readonly input: unknown;
  readonly options?: Esp32ParseOptions;
  readonly expect?: unknown;
  readonly error?: { readonly code: string; readonly field?: string };
}

const load = (file: string): Case[] => (JSON.parse(readFileSync(new URL(`../fixtures/esp32/${file}`, import.meta.url), 'utf8')) as { cases: Case[] }).cases;
const valid = load('valid.json');
const variants = load('variants.json');
const malformed = load('malformed.json');

describe('ESP32 conformance fixtures', () => {
  it('cover every kind with a valid, a variant and a malformed case', () => {
    for (const kind of ESP32_KINDS) {
      expect(valid.some((c) => c.kind === kind), `valid ${kind}`).toBe(true);
      expect(variants.some((c) => c.kind === kind), `variant ${kind}`).toBe(true);
      expect(malformed.some((c) => c.kind === kind), `malformed ${kind}`).toBe(true);
    }
  });

  describe('valid (canonical): parse gives the SDK value, build gives the same bytes back', () => {
    it.each(valid.map((c) => [c.name, c] as const))('%s', (_, c) => {
      expect(parseEsp32(c.kind, c.input, c.options)).toEqual(c.expect);
      const built = buildEsp32(c.kind, c.expect as Esp32Values[typeof c.kind]);
      expect(new TextDecoder().decode(jsonCodec.encode(built))).toBe(JSON.stringify(c.input));
      // The same message as CBOR parses to the same value.
      expect(parseEsp32(c.kind, decodeEsp32Payload(cborCodec.encode(c.input), { cbor: cborCodec }), c.options)).toEqual(c.expect);
    });
  });

  describe('variants: parse gives the SDK value', () => {
    it.each(variants.map((c) => [c.name, c] as const))('%s', (_, c) => {
      const value = parseEsp32(c.kind, c.input, c.options);
      expect(value).toEqual(c.expect);
      // Canonicalising is idempotent: the built form parses to the same value.
      expect(parseEsp32(c.kind, buildEsp32(c.kind, value))).toEqual(c.expect);
    });
  });

  describe('malformed: a FleetError with a stable code that names the field', () => {
    it.each(malformed.map((c) => [c.name, c] as const))('%s', (_, c) => {
      let thrown: unknown;
      try {
        parseEsp32(c.kind, c.input, c.options);
      } catch (e) {
        thrown = e;
      }
      expect(isFleetError(thrown), String(thrown)).toBe(true);
      const e = thrown as { code: string; message: string; details?: { field?: string } };
      expect(e.code).toBe(c.error?.code);
      if (c.error?.field !== undefined) {
        expect(e.details?.field).toBe(c.error.field);
        expect(e.message).toContain(`"${c.error.field}"`);
      }
      expect(e.message).toContain('docs/esp32-protocol.md');
    });
  });
});
