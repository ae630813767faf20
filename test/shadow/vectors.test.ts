// Every worked example of the shared AWS shadow vectors (read from ../shared when present,
// otherwise from the copy in test/fixtures).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/json.js';
import { applyShadowUpdate, computeDelta, getShadow, type ShadowDocument, type StoredShadow } from '../../src/shadow/index.js';

interface Step {
  op: 'update' | 'get';
  now: number;
  request?: unknown;
  accepted?: unknown;
  delta?: unknown;
  documents?: unknown;
  document?: unknown;
  rejected?: Record<string, unknown>;
  response?: unknown;
}
interface Vectors {
  sequences: Array<{ name: string; initial?: ShadowDocument; steps: Step[] }>;
  deltas: Array<{ desired: JsonObject; reported: JsonObject; delta: JsonObject | null }>;
}

const shared = fileURLToPath(new URL('../../../shared/vectors/shadow-aws.json', import.meta.url));
const fixture = fileURLToPath(new URL('../fixtures/shadow-aws.json', import.meta.url));
const vectors = JSON.parse(readFileSync(existsSync(shared) ? shared : fixture, 'utf8')) as Vectors;

describe('AWS shadow vectors', () => {
  for (const seq of vectors.sequences) {
    it(seq.name, () => {
      let stored: StoredShadow | undefined = seq.initial;
      seq.steps.forEach((step, i) => {
        const where = `${seq.name} step ${i}`;
        if (step.op === 'get') {
          const r = getShadow(stored, { now: step.now * 1000 });
          expect(r.ok, where).toBe(true);
          if (r.ok) expect(r.response, where).toEqual(step.response);
          return;
        }
        const before = JSON.stringify(stored);
        const r = applyShadowUpdate(stored, step.request, { now: step.now * 1000 });
        if (step.rejected !== undefined) {
          expect(r.ok, where).toBe(false);
          if (!r.ok) expect(r.rejected, where).toMatchObject(step.rejected);
          expect(JSON.stringify(stored), where).toBe(before);
        } else {
          expect(r.ok, `${where}: ${r.ok ? '' : r.error.message}`).toBe(true);
          if (!r.ok) return;
          if (step.accepted !== undefined) expect(r.accepted, where).toEqual(step.accepted);
          if ('delta' in step) expect(r.delta ?? null, where).toEqual(step.delta);
          if (step.documents !== undefined) expect(r.documents, where).toEqual(step.documents);
          stored = r.document;
        }
        if (step.document !== undefined) expect(stored, where).toEqual(step.document);
      });
    });
  }

  it('deltas', () => {
    for (const v of vectors.deltas) expect(computeDelta(v.desired, v.reported) ?? null).toEqual(v.delta);
  });
});
