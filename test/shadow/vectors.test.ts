// Every worked example of the shared AWS shadow vectors (../shared, when present) and of the copy in
// test/fixtures, which holds the shared sequences unchanged plus fixture-only ones (see its "about").
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/json.js';
import { applyShadowUpdate, computeDelta, deleteShadow, getShadow, type ShadowDocument, type StoredShadow } from '../../src/shadow/index.js';

interface Step {
  op: 'update' | 'get' | 'delete';
  now: number;
  request?: unknown;
  accepted?: unknown;
  delta?: unknown;
  documents?: unknown;
  document?: unknown;
  rejected?: Record<string, unknown>;
  response?: unknown;
}
interface Sequence {
  name: string;
  fixtureOnly?: boolean;
  thing?: string;
  shadow?: string;
  initial?: ShadowDocument;
  steps: Step[];
}
interface Vectors {
  sequences: Sequence[];
  deltas: Array<{ desired: JsonObject; reported: JsonObject; delta: JsonObject | null }>;
}

const sharedPath = fileURLToPath(new URL('../../../shared/vectors/shadow-aws.json', import.meta.url));
const fixturePath = fileURLToPath(new URL('../fixtures/shadow-aws.json', import.meta.url));
const fixture = JSON.parse(readFileSync(fixturePath, 'utf8')) as Vectors;
const shared = existsSync(sharedPath) ? (JSON.parse(readFileSync(sharedPath, 'utf8')) as Vectors) : undefined;

function runSequence(seq: Sequence): void {
  let stored: StoredShadow | undefined = seq.initial;
  // AWS names a classic shadow's 404 after the thing, a named shadow's after the shadow
  const name = seq.shadow ?? seq.thing;
  seq.steps.forEach((step, i) => {
    const where = `${seq.name} step ${i}`;
    const before = JSON.stringify(stored);
    if (step.op === 'get' || step.op === 'delete') {
      const options = { now: step.now * 1000, ...(name === undefined ? {} : { name }), ...(step.request === undefined ? {} : { request: step.request }) };
      const r = step.op === 'get' ? getShadow(stored, options) : deleteShadow(stored, options);
      if (step.rejected !== undefined) {
        expect(r.ok, where).toBe(false);
        if (!r.ok) expect(r.rejected, where).toEqual(step.rejected);
        expect(JSON.stringify(stored), where).toBe(before);
        return;
      }
      expect(r.ok, `${where}: ${r.ok ? '' : r.error.message}`).toBe(true);
      if (r.ok && 'response' in r) expect(r.response, where).toEqual(step.response);
      if (r.ok && 'accepted' in r) {
        expect(r.accepted, where).toEqual(step.response);
        stored = r.tombstone;
      }
      return;
    }
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
}

for (const [label, vectors] of [['shared vectors', shared], ['test fixture', fixture]] as const) {
  if (vectors === undefined) continue;
  describe(`AWS shadow vectors (${label})`, () => {
    for (const seq of vectors.sequences) it(seq.name, () => runSequence(seq));
    it('deltas', () => {
      for (const v of vectors.deltas) expect(computeDelta(v.desired, v.reported) ?? null).toEqual(v.delta);
    });
  });
}

describe('test fixture', () => {
  it('holds every shared sequence and delta unchanged; its own additions are marked fixtureOnly', () => {
    expect(fixture.sequences.filter((s) => s.fixtureOnly !== true).length).toBeGreaterThan(0);
    if (shared === undefined) return;
    expect(fixture.sequences.filter((s) => s.fixtureOnly !== true)).toEqual(shared.sequences);
    expect(fixture.deltas).toEqual(shared.deltas);
  });
});
