// The edges of applyShadowUpdate that the laws reach only by chance: the built-in resolvers'
// answers, what a policy sees and skips, skip-if-equal section by section, requests as text and
// bytes at their limits, the exact size of documents read from a store, and the remembered delta.
import { describe, expect, it } from 'vitest';
import { FleetError } from '../../src/errors.js';
import type { JsonObject } from '../../src/json.js';
import {
  ackProperty,
  applyShadowUpdate,
  CONFLICT_RESOLVERS,
  getShadow,
  isTombstone,
  type ConflictPolicy,
  type ShadowConflict,
  type ShadowDocument,
  type StoredShadow,
} from '../../src/shadow/index.js';
import { conflictPatch } from '../../src/shadow/policies.js';
import { REMEMBER_DELTA_BYTES } from '../../src/shadow/update.js';

const T = 1_700_000_000_000;
const S = T / 1000;

function ok(stored: StoredShadow | undefined, request: unknown, now: number, opts: { policy?: ConflictPolicy; skipIfEqual?: boolean; acknowledgements?: boolean } = {}): ShadowDocument {
  const r = applyShadowUpdate(stored, request, { now, ...opts });
  if (!r.ok) throw r.error;
  return r.document;
}

function thrown(fn: () => unknown): FleetError {
  try {
    fn();
  } catch (e) {
    if (e instanceof FleetError) return e;
    throw new Error(`expected a FleetError, got ${String(e)}`);
  }
  throw new Error('expected a FleetError, nothing was thrown');
}

/** The size the engine keeps for `doc` is exact: a no-op update fits a limit of exactly that size, not one byte less. */
function expectExactSize(doc: ShadowDocument): void {
  const exact = Buffer.byteLength(JSON.stringify(doc.state), 'utf8');
  expect(applyShadowUpdate(doc, { state: {} }, { now: T, limits: { maxDocumentBytes: exact } }).ok).toBe(true);
  const over = applyShadowUpdate(doc, { state: {} }, { now: T, limits: { maxDocumentBytes: exact - 1 } });
  expect(!over.ok && over.error.details?.['bytes']).toBe(exact);
}

const conflict = (equal: boolean, desiredTimestamp: number, reportedTimestamp: number): ShadowConflict => ({
  path: ['mode'],
  desired: 'eco',
  reported: equal ? 'eco' : 'boost',
  equal,
  desiredTimestamp,
  reportedTimestamp,
  touched: 'reported',
});

describe('the built-in resolvers answer exactly', () => {
  it('each policy, equal and different, older and newer report', () => {
    const table: Array<[keyof typeof CONFLICT_RESOLVERS, ShadowConflict, string]> = [
      ['cloud-wins', conflict(false, 1, 2), 'keep'],
      ['cloud-wins', conflict(true, 1, 2), 'keep'],
      ['device-wins', conflict(false, 2, 1), 'take-reported'],
      ['device-wins', conflict(true, 1, 2), 'keep'],
      ['newest-wins', conflict(false, 1, 2), 'take-reported'],
      ['newest-wins', conflict(false, 2, 2), 'keep'], // a tie keeps desired
      ['newest-wins', conflict(false, 3, 2), 'keep'],
      ['newest-wins', conflict(true, 1, 2), 'keep'],
      ['clear-when-met', conflict(true, 1, 2), 'clear'],
      ['clear-when-met', conflict(false, 1, 2), 'keep'],
    ];
    for (const [name, c, answer] of table) expect(CONFLICT_RESOLVERS[name](c), `${name} ${JSON.stringify(c)}`).toBe(answer);
  });

  it('a resolver called with something else throws INVALID_ARGUMENT, status 400', () => {
    for (const resolver of Object.values(CONFLICT_RESOLVERS)) {
      const e = thrown(() => resolver({ equal: 1 } as never));
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.status).toBe(400);
    }
  });

  it('conflictPatch refuses a policy that is neither built in nor a function (500) and returns undefined when nothing changes', () => {
    const merged = { value: { mode: 'eco' }, meta: { mode: { timestamp: S } } };
    const long = `x${'y'.repeat(60)}`;
    const e = thrown(() => conflictPatch(long as ConflictPolicy, merged, merged, undefined, { mode: 'eco' }, S, undefined));
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.status).toBe(500);
    expect(e.message).toBe(`applyShadowUpdate: policy must be 'cloud-wins', 'device-wins', 'newest-wins', 'clear-when-met' or a function, got '${long.slice(0, 40)}'`);
    expect(thrown(() => conflictPatch(7 as unknown as ConflictPolicy, merged, merged, undefined, { mode: 'eco' }, S, undefined)).message).toMatch(/, got number$/);
    expect(conflictPatch('device-wins', merged, merged, undefined, { mode: 'eco' }, S, undefined)).toBeUndefined();
    expect(conflictPatch('clear-when-met', merged, merged, undefined, { mode: 'eco' }, S, undefined)).toEqual({ mode: null });
    expect(conflictPatch('cloud-wins', merged, { value: { mode: 'boost' }, meta: {} }, undefined, { mode: 'boost' }, S, undefined)).toBeUndefined();
  });
});

describe('what a policy sees', () => {
  it('the desired timestamp of an object or array value is that of its newest leaf', () => {
    let doc = ok(undefined, { state: { desired: { cfg: { x: 1 }, list: [{ a: 1 }, 2] } } }, T);
    doc = ok(doc, { state: { desired: { cfg: { y: 2 } } } }, T + 5000);
    doc = ok(doc, { state: { desired: { cfg: { z: 3 } } } }, T + 2000); // an older clock later: the newest leaf counts, not the last write
    const seen: ShadowConflict[] = [];
    const report = { state: { reported: { cfg: ackProperty({ x: 1, y: 3 }, { version: 3 }) as unknown as JsonObject, list: ackProperty([{ a: 2 }], { version: 3 }) as unknown as JsonObject } } };
    ok(doc, report, T + 9000, { acknowledgements: true, policy: (c) => (seen.push(c), 'keep') });
    expect(seen.map((c) => [c.path, c.desiredTimestamp, c.reportedTimestamp])).toEqual([
      [['cfg'], S + 5, S + 9],
      [['list'], S, S + 9],
    ]);
  });

  it('a desired key written in the same request is skipped, its siblings are not (top level and nested)', () => {
    for (const pad of ['', 'p'.repeat(REMEMBER_DELTA_BYTES)]) {
      const doc = ok(undefined, { state: { desired: { pad, mode: 'eco', fan: 2, light: { color: 'red', level: 1 } }, reported: { mode: 'eco', light: { color: 'red', level: 1 } } } }, T);
      const r = applyShadowUpdate(doc, { state: { desired: { fan: 3, light: { level: 22 } }, reported: { mode: 'boost', fan: 9, light: { color: 'green', level: 7 } } } }, { now: T + 1000, policy: 'device-wins' });
      if (!r.ok) throw r.error;
      expect(r.document.state.desired).toEqual({ pad, mode: 'boost', fan: 3, light: { color: 'green', level: 22 } });
      // the delta and the size follow what the request and the policy wrote together
      const again = getShadow(JSON.parse(JSON.stringify(r.document)) as ShadowDocument, { now: T });
      expect(r.delta?.state).toEqual(again.ok && again.response.state.delta);
      expect(r.delta?.state).toEqual({ pad, fan: 3, light: { level: 22 } });
      expectExactSize(r.document);
    }
  });

  it('without acknowledgements an envelope-shaped report is a plain object', () => {
    const doc = ok(undefined, { state: { desired: { v: 1 } } }, T);
    const envelope = { value: 2, ac: 200, av: 1 };
    expect(ok(doc, { state: { reported: { v: envelope } } }, T + 1000, { policy: 'device-wins' }).state.desired).toEqual({ v: envelope });
    expect(ok(doc, { state: { reported: { v: envelope } } }, T + 1000, { policy: 'device-wins', acknowledgements: true }).state.desired).toEqual({ v: 2 });
  });

  it('a reported object over a desired scalar is one conflict; a reported scalar under a desired object is none', () => {
    const doc = ok(undefined, { state: { desired: { a: 1, light: { color: 'red' } } } }, T);
    const seen: Array<readonly string[]> = [];
    const r = ok(doc, { state: { reported: { a: { x: 2 }, light: 'off' } } }, T + 1000, { policy: (c) => (seen.push(c.path), CONFLICT_RESOLVERS['device-wins'](c)) });
    expect(seen).toEqual([['a']]);
    expect(r.state.desired).toEqual({ a: { x: 2 }, light: { color: 'red' } });
    expectExactSize(r);
  });

  it('a custom resolver that throws answers INTERNAL 500 with its message, and AWS`s text on the wire', () => {
    const doc = ok(undefined, { state: { desired: { a: 1 } } }, T);
    const cause = new Error('resolver bug');
    const r = applyShadowUpdate(doc, { state: { reported: { a: 2 } } }, { now: T + 1000, policy: () => { throw cause; } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe('INTERNAL');
    expect(r.error.status).toBe(500);
    expect(r.error.message).toBe('Internal service failure: resolver bug');
    expect(r.error.cause).toBe(cause);
    expect(r.rejected).toEqual({ code: 500, message: 'Internal service failure', timestamp: S + 1 });
  });
});

describe('skip-if-equal, section by section', () => {
  const both = (): ShadowDocument => ok(undefined, { state: { desired: { a: 1, n: { x: 1, y: 2 } }, reported: { a: 1, b: [1, 2] } } }, T);
  const reportedOnly = (): ShadowDocument => ok(undefined, { state: { reported: { a: 1 } } }, T);
  const desiredOnly = (): ShadowDocument => ok(undefined, { state: { desired: { a: 1 } } }, T);
  const cases: Array<[string, () => ShadowDocument, unknown, boolean]> = [
    ['the same desired scalar', both, { state: { desired: { a: 1 } } }, false],
    ['the same nested desired leaf', both, { state: { desired: { n: { x: 1 } } } }, false],
    ['a different nested desired leaf', both, { state: { desired: { n: { x: 2 } } } }, true],
    ['a desired object replaced by a scalar', both, { state: { desired: { n: 5 } } }, true],
    ['a desired scalar replaced by an object', both, { state: { desired: { a: { x: 1 } } } }, true],
    ['deleting a desired key that is absent', both, { state: { desired: { zz: null } } }, false],
    ['deleting a desired key', both, { state: { desired: { a: null } } }, true],
    ['desired: null over a desired section', both, { state: { desired: null } }, true],
    ['reported: null over a reported section', both, { state: { reported: null } }, true],
    ['the same reported array', both, { state: { reported: { b: [1, 2] } } }, false],
    ['a different reported array', both, { state: { reported: { b: [2, 1] } } }, true],
    ['desired: null with no desired section', reportedOnly, { state: { desired: null } }, false],
    ['desired: null and the same report, no desired section', reportedOnly, { state: { desired: null, reported: { a: 1 } } }, false],
    ['reported: null with no reported section', desiredOnly, { state: { reported: null } }, false],
    ['reported: null over a reported section, no desired', reportedOnly, { state: { reported: null } }, true],
  ];
  for (const [name, base, request, changed] of cases) {
    it(`${name}: changed ${changed}`, () => {
      const doc = base();
      const r = applyShadowUpdate(doc, request, { now: T + 5000, skipIfEqual: true });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.changed).toBe(changed);
      expect(r.document.version).toBe(changed ? 2 : 1);
      if (!changed) expect(r.document).toBe(doc);
    });
  }

  it('a new shadow is always a change, even for an update that writes nothing', () => {
    for (const request of [{ state: { desired: null } }, { state: {} }, { state: { reported: { a: null } } }]) {
      const r = applyShadowUpdate(undefined, request, { now: T, skipIfEqual: true });
      expect(r.ok && [r.changed, r.document.version, r.documents.previous]).toEqual([true, 1, null]);
    }
  });

  it('an equal report is a change when the policy moves desired because of it', () => {
    const doc = ok(undefined, { state: { desired: { mode: 'eco' }, reported: { mode: 'boost' } } }, T);
    const r = applyShadowUpdate(doc, { state: { reported: { mode: 'boost' } } }, { now: T + 1000, skipIfEqual: true, policy: 'device-wins' });
    expect(r.ok && [r.changed, r.document.state.desired]).toEqual([true, { mode: 'boost' }]);
    const cloud = applyShadowUpdate(doc, { state: { reported: { mode: 'boost' } } }, { now: T + 1000, skipIfEqual: true });
    expect(cloud.ok && cloud.changed).toBe(false);
  });
});

describe('requests as text and bytes', () => {
  const limits = { maxRequestBytes: 64 };
  const invalidUtf8 = (n: number): Uint8Array => {
    const bytes = new Uint8Array(n).fill(0x20);
    bytes[0] = 0xff;
    return bytes;
  };

  it('text and UTF-8 bytes are parsed', () => {
    const text = '{"state":{"reported":{"a":"é"}},"clientToken":"t"}';
    for (const request of [text, new TextEncoder().encode(text)]) {
      const r = applyShadowUpdate(undefined, request, { now: T, limits });
      expect(r.ok && r.document.state).toEqual({ reported: { a: 'é' } });
      expect(r.ok && r.accepted.clientToken).toBe('t');
    }
  });

  it('bytes that are not UTF-8: 415 up to the request limit, 413 above it', () => {
    for (const [n, status, code] of [[64, 415, 'INVALID_JSON'], [65, 413, 'PAYLOAD_TOO_LARGE']] as const) {
      const r = applyShadowUpdate(undefined, invalidUtf8(n), { now: T, limits });
      expect(!r.ok && [r.error.code, r.error.status, r.rejected.code], `${n} bytes`).toEqual([code, status, status]);
    }
    const r = applyShadowUpdate(undefined, invalidUtf8(8), { now: T, limits });
    expect(!r.ok && r.error.message).toBe('Unsupported documented encoding; supported encoding is UTF-8: send the request as UTF-8 JSON text');
  });

  it('each parse failure has its code, status and message', () => {
    const deep = `{"state":{"reported":${'{"a":'.repeat(8)}1${'}'.repeat(8)}}}`;
    const table: Array<[unknown, string, number, string]> = [
      [`{"state":{"reported":{"a":"${'x'.repeat(64)}"}}}`, 'PAYLOAD_TOO_LARGE', 413, 'The payload exceeds the maximum size allowed: requests are limited to 64 bytes'],
      [deep, 'TOO_DEEP', 400, 'JSON contains too many levels of nesting; maximum is 6: flatten the document'],
      ['{"state":', 'INVALID_JSON', 400, 'Invalid JSON: '],
    ];
    for (const [request, code, status, message] of table) {
      const r = applyShadowUpdate(undefined, request, { now: T, limits: code === 'PAYLOAD_TOO_LARGE' ? limits : {} });
      expect(!r.ok && [r.error.code, r.error.status], code).toEqual([code, status]);
      expect(!r.ok && r.error.message.startsWith(message), `${code}: ${!r.ok && r.error.message}`).toBe(true);
      if (code === 'TOO_DEEP') expect(!r.ok && r.error.message).toBe(message);
    }
    const proto = applyShadowUpdate(undefined, '{"state":{"reported":{"__proto__":1}}}', { now: T });
    expect(!proto.ok && proto.error.code).toBe('FORBIDDEN_KEY');
    expect(!proto.ok && proto.error.message).toBe(!proto.ok && proto.rejected.message); // the parser's message as it is, no hint appended
  });

  it('a stale version says both versions and what to do', () => {
    const doc = ok(ok(undefined, { state: { reported: { a: 1 } } }, T), { state: { reported: { a: 2 } } }, T);
    const r = applyShadowUpdate(doc, { state: { reported: { a: 3 } }, version: 1 }, { now: T });
    expect(!r.ok && r.error.message).toBe('Version conflict: the shadow is at version 2, the request expected 1; get the shadow and retry');
    expect(!r.ok && r.error.details).toMatchObject({ expected: 1, actual: 2 });
  });
});

describe('payloads', () => {
  it('state: null is accepted with one metadata leaf; a deleted section gets a leaf too', () => {
    const doc = ok(undefined, { state: { desired: { a: 1 }, reported: { a: 1 } } }, T);
    const all = applyShadowUpdate(doc, { state: null }, { now: T + 1000 });
    expect(all.ok && all.accepted).toEqual({ state: null, metadata: { timestamp: S + 1 }, version: 2, timestamp: S + 1 });
    const section = applyShadowUpdate(doc, { state: { desired: null, reported: { b: 2 } } }, { now: T + 1000 });
    expect(section.ok && section.accepted).toEqual({ state: { desired: null, reported: { b: 2 } }, metadata: { desired: { timestamp: S + 1 }, reported: { b: { timestamp: S + 1 } } }, version: 2, timestamp: S + 1 });
  });

  it('payloads carry a clientToken only when the request had one', () => {
    const doc = ok(undefined, { state: { desired: { a: 1 } } }, T);
    const r = applyShadowUpdate(doc, { state: { desired: { a: 2 } } }, { now: T });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    for (const payload of [r.accepted, r.documents, r.delta]) expect(payload !== undefined && 'clientToken' in payload).toBe(false);
  });

  it('isTombstone is true for a tombstone only and never throws', () => {
    expect(isTombstone({ deleted: true, version: 3 })).toBe(true);
    for (const v of [undefined, null, 0, 'deleted', { deleted: 'true', version: 1 }, { state: {}, metadata: {}, version: 1 }]) expect(isTombstone(v as never), String(v)).toBe(false);
  });
});

describe('documents read from a store', () => {
  // A store may hold what the engine never writes: an empty object outside an array. Its size can
  // only be measured, and the limit still holds exactly.
  const stored = (pad: number): ShadowDocument => ({
    state: { desired: { e: {}, pad: 'x'.repeat(pad) } },
    metadata: { desired: { e: {}, pad: { timestamp: S } } },
    version: 4,
  });

  it('an update that takes such a document over the limit is refused with its exact size; one at the limit is accepted', () => {
    const doc = stored(100);
    const size = (s: ShadowDocument['state']): number => Buffer.byteLength(JSON.stringify(s), 'utf8');
    const after = size({ desired: { e: {}, pad: 'x'.repeat(100), more: 'abc' } });
    const fits = applyShadowUpdate(doc, { state: { desired: { more: 'abc' } } }, { now: T, limits: { maxDocumentBytes: after } });
    expect(fits.ok && fits.document.version).toBe(5);
    const over = applyShadowUpdate(doc, { state: { desired: { more: 'abc' } } }, { now: T, limits: { maxDocumentBytes: after - 1 } });
    expect(!over.ok && [over.error.code, over.error.details?.['bytes']]).toEqual(['PAYLOAD_TOO_LARGE', after]);
  });
});

describe('the remembered delta', () => {
  const big = (): ShadowDocument =>
    ok(undefined, { state: { desired: { pad: 'y'.repeat(REMEMBER_DELTA_BYTES), mode: 'eco', fan: 2 }, reported: { mode: 'boost', fan: ackProperty(1, { version: 1 }) as unknown as JsonObject } } }, T);

  it('a large document remembers its delta: a get shares the published objects', () => {
    const r = applyShadowUpdate(big(), { state: { reported: { mode: 'eco' } } }, { now: T + 1000 });
    expect(r.ok).toBe(true);
    if (!r.ok || r.delta === undefined) throw new Error('expected a delta');
    const get = getShadow(r.document, { now: T });
    expect(get.ok && get.response.state.delta).toBe(r.delta.state);
  });

  it('a small document keeps only its size: a get computes its delta again', () => {
    const small = ok(undefined, { state: { desired: { mode: 'eco' }, reported: { mode: 'boost' } } }, T);
    const r = applyShadowUpdate(small, { state: { reported: { fan: 1 } } }, { now: T + 1000 });
    if (!r.ok || r.delta === undefined) throw new Error('expected a delta');
    const get = getShadow(r.document, { now: T });
    expect(get.ok && get.response.state.delta).toEqual(r.delta.state);
    expect(get.ok && get.response.state.delta).not.toBe(r.delta.state);
  });

  it('a delta remembered with one acknowledgement mode is never used for the other', () => {
    let doc = big();
    for (const [i, acknowledgements] of [false, true, true, false, true].entries()) {
      const r = applyShadowUpdate(doc, { state: { reported: { n: i } } }, { now: T + i * 1000, acknowledgements });
      if (!r.ok) throw r.error;
      doc = r.document;
      // acknowledged, fan's envelope value 1 answers nothing (desired is 2): fan stays in the delta either way
      expect(r.delta?.state).toEqual({ pad: 'y'.repeat(REMEMBER_DELTA_BYTES), mode: 'eco', fan: 2 });
      for (const mode of [false, true]) {
        const get = getShadow(doc, { now: T, acknowledgements: mode });
        expect(get.ok && get.response.state.delta).toEqual({ pad: 'y'.repeat(REMEMBER_DELTA_BYTES), mode: 'eco', fan: 2 });
      }
    }
    // an envelope whose value meets desired: only the acknowledging mode drops the key
    const met = applyShadowUpdate(doc, { state: { reported: { fan: ackProperty(2, { version: 9 }) as unknown as JsonObject } } }, { now: T + 9000, acknowledgements: false });
    if (!met.ok) throw met.error;
    expect(met.delta?.state).toHaveProperty('fan');
    const acked = getShadow(met.document, { now: T, acknowledgements: true });
    expect(acked.ok && acked.response.state.delta).not.toHaveProperty('fan');
    const next = applyShadowUpdate(met.document, { state: { reported: { n: 99 } } }, { now: T + 10_000, acknowledgements: true });
    expect(next.ok && next.delta?.state).not.toHaveProperty('fan');
  });
});

describe('merge edges', () => {
  it('accepted metadata has a leaf for every written null and every array element', () => {
    const doc = ok(undefined, { state: { reported: { a: 1, b: { c: 1 } } } }, T);
    const r = applyShadowUpdate(doc, { state: { reported: { a: null, b: { c: null }, list: [1, { x: 2 }] } } }, { now: T + 1000 });
    const leaf = { timestamp: S + 1 };
    expect(r.ok && r.accepted.metadata).toEqual({ reported: { a: leaf, b: { c: leaf }, list: [leaf, { x: leaf }] } });
    expect(r.ok && r.document.state).toEqual({ reported: { list: [1, { x: 2 }] } });
  });

  it('the stored document never shares arrays or objects with the request', () => {
    const list: JsonObject[] = [{ x: 1 }];
    const nested = { deep: [1, 2] };
    const request = { state: { reported: { list, nested: { inner: nested } } } };
    const doc = ok(undefined, request, T);
    (list[0] as { x: number }).x = 9;
    list.push({ x: 2 });
    nested.deep.push(3);
    expect(doc.state.reported).toEqual({ list: [{ x: 1 }], nested: { inner: { deep: [1, 2] } } });
  });

  it('a stored document without metadata for a section still merges and deletes', () => {
    const stored: ShadowDocument = { state: { reported: { a: 1, b: 2, c: { d: 1, e: 2 } } }, metadata: {}, version: 2 };
    const r = applyShadowUpdate(stored, { state: { reported: { a: null, c: { d: null }, f: 3 } } }, { now: T });
    if (!r.ok) throw r.error;
    expect(r.document.state.reported).toEqual({ b: 2, c: { e: 2 }, f: 3 });
    expect(r.document.metadata.reported).toEqual({ c: {}, f: { timestamp: S } });
    expect(stored.state.reported).toEqual({ a: 1, b: 2, c: { d: 1, e: 2 } });
  });

  it('an empty section read from a store goes when it is written to without a value', () => {
    const stored: ShadowDocument = { state: { desired: {}, reported: { a: 1 } }, metadata: { desired: {}, reported: { a: { timestamp: S } } }, version: 1 };
    const r = applyShadowUpdate(stored, { state: { desired: {} } }, { now: T });
    expect(r.ok && r.document.state).toEqual({ reported: { a: 1 } });
    expectExactSize((r.ok && r.document) as ShadowDocument);
  });
});
