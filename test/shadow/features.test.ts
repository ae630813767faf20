import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FleetError, isFleetError } from '../../src/errors.js';
import { checkJson, isJsonObject, jsonEqual, type JsonObject, type JsonValue } from '../../src/json.js';
import {
  ackProperty,
  applyShadowUpdate,
  CONFLICT_RESOLVERS,
  deleteShadow,
  getShadow,
  isPropertyAck,
  propertyAcks,
  reconcileShadow,
  rejectedPayload,
  unwrapAck,
  type ConflictPolicy,
  type ReconcileInput,
  type ShadowConflict,
  type ShadowDocument,
  type StoredShadow,
} from '../../src/shadow/index.js';
import { shadowStateObject, shadowUpdateRequest } from '../../src/testing/shadow-arbitraries.js';
import { runs } from './runs.js';

const T = 1_000_000_000_000; // epoch ms
function ok(stored: StoredShadow | undefined, request: unknown, now: number, opts: { policy?: ConflictPolicy; skipIfEqual?: boolean; acknowledgements?: boolean } = {}): ShadowDocument {
  const r = applyShadowUpdate(stored, request, { now, ...opts });
  if (!r.ok) throw r.error;
  return r.document;
}

describe('versions across delete', () => {
  it('delete answers the version, get then 404s, and an update with that version re-creates at V+1', () => {
    let doc = ok(undefined, { state: { reported: { a: 1 } } }, T);
    doc = ok(doc, { state: { reported: { a: 2 } } }, T + 1000);
    const del = deleteShadow(doc, { now: T + 2000, request: '{"clientToken":"del-1"}', name: 'lamp' });
    expect(del.ok).toBe(true);
    if (!del.ok) return;
    expect(del.accepted).toEqual({ version: 2, timestamp: (T + 2000) / 1000, clientToken: 'del-1' });
    const get = getShadow(del.tombstone, { now: T + 3000, name: 'lamp', request: { clientToken: 'g' } });
    expect(get.ok).toBe(false);
    if (!get.ok) expect(get.rejected).toEqual({ code: 404, message: "No shadow exists with name: 'lamp'", timestamp: (T + 3000) / 1000, clientToken: 'g' });
    expect(deleteShadow(del.tombstone, { now: T }).ok).toBe(false);
    const again = applyShadowUpdate(del.tombstone, { state: { desired: { a: 3 } }, version: 2 }, { now: T + 4000 });
    expect(again.ok && again.document.version).toBe(3);
    expect(again.ok && again.documents.previous).toBeNull();
    const stale = applyShadowUpdate(del.tombstone, { state: { desired: { a: 3 } }, version: 1 }, { now: T + 4000 });
    expect(!stale.ok && stale.rejected.code).toBe(409);
  });

  it('state:null clears all state but the shadow lives on and the version bumps', () => {
    const doc = ok(ok(undefined, { state: { desired: { a: 1 }, reported: { b: 1 } } }, T), { state: null }, T + 1000);
    expect(doc).toEqual({ state: {}, metadata: {}, version: 2 });
    const get = getShadow(doc, { now: T });
    expect(get.ok && get.response.state).toEqual({});
  });
});

describe('limits and hostile input', () => {
  it('rejects a document over 8 KiB after merging with 413, and changes nothing', () => {
    const doc = ok(undefined, { state: { reported: { big: 'x'.repeat(5000) } } }, T);
    const r = applyShadowUpdate(doc, { state: { desired: { big2: 'y'.repeat(4000) } }, clientToken: 'c' }, { now: T });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.rejected).toEqual({ code: 413, message: 'The payload exceeds the maximum size allowed', timestamp: T / 1000, clientToken: 'c' });
      expect(r.error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(r.error.message).toMatch(/bytes after the update/);
    }
    // …but the same data fits once the big reported value is deleted in the same update
    expect(applyShadowUpdate(doc, { state: { desired: { big2: 'y'.repeat(4000) }, reported: { big: null } } }, { now: T }).ok).toBe(true);
  });

  it('counts multi-byte characters as UTF-8 bytes', () => {
    const r = applyShadowUpdate(undefined, { state: { reported: { s: '€'.repeat(2800) } } }, { now: T });
    expect(!r.ok && r.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('measures clientToken in bytes', () => {
    expect(applyShadowUpdate(undefined, { state: {}, clientToken: 'é'.repeat(32) }, { now: T }).ok).toBe(true);
    expect(applyShadowUpdate(undefined, { state: {}, clientToken: 'é'.repeat(33) }, { now: T }).ok).toBe(false);
    expect(applyShadowUpdate(undefined, { state: {}, clientToken: 5 }, { now: T }).ok).toBe(false);
  });

  it('parses raw text and bytes and maps parse failures to AWS errors', () => {
    expect(applyShadowUpdate(undefined, '{"state":{"reported":{"a":1}}}', { now: T }).ok).toBe(true);
    expect(applyShadowUpdate(undefined, new TextEncoder().encode('{"state":{"reported":{"a":1}}}'), { now: T }).ok).toBe(true);
    const bad = applyShadowUpdate(undefined, '{"state":', { now: T });
    expect(!bad.ok && bad.rejected.message).toBe('Invalid JSON');
    const proto = applyShadowUpdate(undefined, '{"state":{"desired":{"__proto__":{"x":1}}}}', { now: T });
    expect(!proto.ok && proto.error.code).toBe('FORBIDDEN_KEY');
    const huge = applyShadowUpdate(undefined, `{"state":{"reported":{"a":"${'x'.repeat(200_000)}"}}}`, { now: T });
    expect(!huge.ok && huge.rejected.code).toBe(413);
    const deep = applyShadowUpdate(undefined, '['.repeat(10_000) + ']'.repeat(10_000), { now: T });
    expect(!deep.ok && deep.rejected.code).toBe(400);
  });

  it('answers bytes that are not UTF-8 with 415, as AWS does, on update, get and delete', () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0x73, 0xff, 0xfe, 0x22, 0x7d]); // {"s\xff\xfe"}
    const expected = { code: 415, message: 'Unsupported documented encoding; supported encoding is UTF-8', timestamp: T / 1000 };
    const u = applyShadowUpdate(undefined, bytes, { now: T });
    expect(!u.ok && u.rejected).toEqual(expected);
    expect(!u.ok && u.error.code).toBe('INVALID_JSON');
    expect(!u.ok && u.error.status).toBe(415);
    const g = getShadow(undefined, { now: T, request: bytes });
    expect(!g.ok && g.rejected).toEqual(expected);
    const d = deleteShadow(undefined, { now: T, request: bytes });
    expect(!d.ok && d.rejected).toEqual(expected);
    // valid UTF-8 that is not JSON stays a 400
    const text = applyShadowUpdate(undefined, new TextEncoder().encode('{"state":'), { now: T });
    expect(!text.ok && text.rejected.code).toBe(400);
  });

  it('rejects unknown state nodes, bad versions, non-object requests and bad now', () => {
    const cases: Array<[unknown, string]> = [
      [{ state: { desired: {}, other: {} } }, 'State contains an invalid node'],
      [{ state: {}, version: -1 }, 'Invalid version'],
      [{ state: {}, version: 1.5 }, 'Invalid version'],
      [{ state: {}, version: '3' }, 'Invalid version'],
      [[{ state: {} }], 'Invalid JSON'],
      [42, 'Invalid JSON'],
      [{ state: { reported: [1] } }, 'Reported node must be an object'],
      [{ state: 'on' }, 'State node must be an object'],
      [{ state: { reported: { a: [{ b: null }] } } }, 'Invalid JSON'],
      [{ state: { reported: { a: NaN } } }, 'Invalid JSON'],
    ];
    for (const [req, message] of cases) {
      const r = applyShadowUpdate(undefined, req, { now: T });
      expect(!r.ok && r.rejected.message, JSON.stringify(req)).toBe(message);
    }
    const r = applyShadowUpdate(undefined, { state: {} }, { now: Number.NaN });
    expect(!r.ok && r.error.code).toBe('INVALID_ARGUMENT');
  });

  it('every rejection carries its code, AWS status, AWS message and the details that say where', () => {
    const doc = ok(undefined, { state: { reported: { a: 1 } } }, T);
    const cases: Array<[StoredShadow | undefined, unknown, string, number, Record<string, unknown>]> = [
      [doc, { state: {}, version: 7 }, 'VERSION_CONFLICT', 409, { expected: 7, actual: 1, awsMessage: 'Version conflict' }],
      [doc, { state: { reported: { big: 'x'.repeat(9000) } } }, 'PAYLOAD_TOO_LARGE', 413, { bytes: Buffer.byteLength(JSON.stringify({ reported: { a: 1, big: 'x'.repeat(9000) } })), maxDocumentBytes: 8192, awsMessage: 'The payload exceeds the maximum size allowed' }],
      [doc, { state: { desired: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } } }, 'TOO_DEEP', 400, { path: 'state.desired.a.b.c.d.e.f', awsMessage: 'JSON contains too many levels of nesting; maximum is 6' }],
      [doc, JSON.parse('{"state":{"desired":{"x":{"__proto__":1}}}}') as unknown, 'FORBIDDEN_KEY', 400, { key: '__proto__', path: 'state.desired.x' }],
      [doc, '{"state":{"desired":{"x":{"__proto__":1}}}}', 'FORBIDDEN_KEY', 400, { key: '__proto__', path: '$.state.desired.x' }],
      [doc, { state: { reported: { a: [1, null] } } }, 'INVALID_REQUEST', 400, { path: 'state.reported.a[1]', awsMessage: 'Invalid JSON' }],
      [doc, { state: { reported: { a: Number.NaN } } }, 'INVALID_JSON', 400, { path: 'state.reported.a', awsMessage: 'Invalid JSON' }],
      [doc, { state: { other: 1 } }, 'INVALID_REQUEST', 400, { key: 'other', awsMessage: 'State contains an invalid node' }],
      [doc, { state: {}, clientToken: 'x'.repeat(65) }, 'INVALID_CLIENT_TOKEN', 400, { awsMessage: 'Invalid clientToken' }],
      [doc, { state: {}, version: -1 }, 'INVALID_VERSION', 400, { awsMessage: 'Invalid version' }],
      [doc, 'x'.repeat(200_000), 'PAYLOAD_TOO_LARGE', 413, { awsMessage: 'The payload exceeds the maximum size allowed' }],
    ];
    for (const [stored, request, code, status, details] of cases) {
      const r = applyShadowUpdate(stored, request, { now: T });
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      expect(r.error.code, code).toBe(code);
      expect(r.error.status, code).toBe(status);
      expect(r.error.details, code).toMatchObject(details);
      expect(r.rejected.code).toBe(status);
      expect(r.rejected.message).toBe(typeof r.error.details?.['awsMessage'] === 'string' ? r.error.details['awsMessage'] : r.error.message);
      expect(r.error.message.startsWith(r.rejected.message)).toBe(true);
    }
    const missing = getShadow(undefined, { now: T, name: 'lamp' });
    expect(!missing.ok && missing.error.status).toBe(404);
    expect(!missing.ok && missing.error.details).toEqual({ name: 'lamp', awsMessage: "No shadow exists with name: 'lamp'" });
    expect(!missing.ok && missing.error.message).toBe("No shadow exists with name: 'lamp'");
    // an internal failure answers 500 with AWS's message, never the internal text
    const boom = applyShadowUpdate(undefined, { get state(): never { throw new Error('secret detail'); } }, { now: T });
    expect(!boom.ok && boom.error.code).toBe('INTERNAL');
    expect(!boom.ok && boom.rejected).toEqual({ code: 500, message: 'Internal service failure', timestamp: T / 1000 });
  });

  it('tolerates and drops state.delta', () => {
    const r = applyShadowUpdate(undefined, { state: { reported: { a: 1 }, delta: { a: 2 } } }, { now: T });
    expect(r.ok && r.accepted.state).toEqual({ reported: { a: 1 } });
  });
});

describe('skip-if-equal', () => {
  it('does not bump the version or touch metadata when nothing changes', () => {
    const doc = ok(undefined, { state: { reported: { a: 1, b: [1, 2] } } }, T);
    const r = applyShadowUpdate(doc, { state: { reported: { a: 1.0, b: [1, 2] } } }, { now: T + 5000, skipIfEqual: true });
    expect(r.ok && r.changed).toBe(false);
    expect(r.ok && r.document).toBe(doc);
    const changed = applyShadowUpdate(doc, { state: { reported: { a: 2 } } }, { now: T + 5000, skipIfEqual: true });
    expect(changed.ok && changed.changed && changed.document.version).toBe(2);
    // without the option AWS semantics apply: every accepted update bumps
    expect(ok(doc, { state: { reported: { a: 1 } } }, T + 5000).version).toBe(2);
  });
});

describe('conflict policies', () => {
  const base = (): ShadowDocument => ok(undefined, { state: { desired: { mode: 'eco', fan: 2 }, reported: { mode: 'eco', fan: 1 } } }, T);

  it('cloud-wins keeps desired and the delta persists (AWS default)', () => {
    const r = applyShadowUpdate(base(), { state: { reported: { mode: 'boost' } } }, { now: T + 1000 });
    expect(r.ok && r.document.state.desired).toEqual({ mode: 'eco', fan: 2 });
    expect(r.ok && r.delta?.state).toEqual({ mode: 'eco', fan: 2 });
  });

  it('device-wins: a contradicting report replaces desired', () => {
    const r = applyShadowUpdate(base(), { state: { reported: { mode: 'boost' } } }, { now: T + 1000, policy: 'device-wins' });
    expect(r.ok && r.document.state.desired).toEqual({ mode: 'boost', fan: 2 });
    expect(r.ok && r.delta?.state).toEqual({ fan: 2 });
    // a new desired value is never overwritten by the stale report it is meant to change
    const d = applyShadowUpdate(base(), { state: { desired: { fan: 3 } } }, { now: T + 1000, policy: 'device-wins' });
    expect(d.ok && d.document.state.desired?.['fan']).toBe(3);
  });

  it('newest-wins compares the desired write time with when the device observed its value', () => {
    const doc = base(); // desired written at T
    const older = applyShadowUpdate(doc, { state: { reported: { fan: 5 } }, timestamp: T / 1000 - 60 }, { now: T + 10_000, policy: 'newest-wins' });
    expect(older.ok && older.document.state.desired?.['fan']).toBe(2);
    const newer = applyShadowUpdate(doc, { state: { reported: { fan: 5 } } }, { now: T + 10_000, policy: 'newest-wins' });
    expect(newer.ok && newer.document.state.desired?.['fan']).toBe(5);
  });

  it('newest-wins: a request timestamp must be finite epoch seconds within the Date range, or the update is rejected', () => {
    const doc = base();
    for (const timestamp of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e300, 8.64e12 + 1, -1, '5', null]) {
      const r = applyShadowUpdate(doc, { state: { reported: { fan: 5 } }, timestamp, clientToken: 'c' }, { now: T + 10_000, policy: 'newest-wins' });
      expect(r.ok, String(timestamp)).toBe(false);
      if (r.ok) continue;
      expect(r.rejected).toEqual({ code: 400, message: 'Invalid JSON', timestamp: (T + 10_000) / 1000, clientToken: 'c' });
      expect(r.error.code).toBe('INVALID_REQUEST');
      expect(r.error.message).toContain('8640000000000');
      expect(r.error.details?.['field']).toBe('timestamp');
    }
    for (const timestamp of [0, T / 1000 + 0.5, 8.64e12]) {
      expect(applyShadowUpdate(doc, { state: { reported: { fan: 5 } }, timestamp }, { now: T + 10_000, policy: 'newest-wins' }).ok, String(timestamp)).toBe(true);
    }
  });

  it('property: a request timestamp is accepted exactly when it is a finite number in [0, 8.64e12]', () => {
    const timestamp = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(0, 8.64e12, 8.64e12 + 1, -0, Number.MAX_VALUE, Number.MIN_VALUE));
    fc.assert(
      fc.property(timestamp, (t) => {
        const r = applyShadowUpdate(base(), { state: { reported: { fan: 5 } }, timestamp: t }, { now: T + 10_000, policy: 'newest-wins' });
        expect(r.ok).toBe(Number.isFinite(t) && t >= 0 && t <= 8.64e12);
        // an accepted report wins exactly when it was observed after the desired write (T), ties keep desired
        if (r.ok) expect(r.document.state.desired?.['fan']).toBe(t > T / 1000 ? 5 : 2);
      }),
    );
  });

  it('clear-when-met removes desired leaves the device has reached', () => {
    const r = applyShadowUpdate(base(), { state: { reported: { fan: 2 } } }, { now: T + 1000, policy: 'clear-when-met' });
    expect(r.ok && r.document.state.desired).toEqual({ mode: 'eco' }); // mode was touched? no: only fan was reported
    const all = applyShadowUpdate(base(), { state: { reported: { fan: 2, mode: 'eco' } } }, { now: T + 1000, policy: 'clear-when-met' });
    expect(all.ok && all.document.state.desired).toBeUndefined();
    expect(all.ok && all.delta).toBeUndefined();
  });

  it('no policy overwrites or clears a desired value written in the same request (issue: device-wins stored 18 while accepted echoed 20)', () => {
    const doc = ok(undefined, { state: { desired: { fan: 2, mode: 'eco', nested: { t: 20 } }, reported: { fan: 1, mode: 'eco', nested: { t: 19 } } } }, T);
    const both = { state: { desired: { fan: 20, nested: { t: 21 } }, reported: { fan: 18, nested: { t: 22 } } }, timestamp: T / 1000 + 3600 };
    const policies: ConflictPolicy[] = ['device-wins', 'newest-wins', 'clear-when-met', () => 'take-reported', () => 'clear'];
    for (const policy of policies) {
      const r = applyShadowUpdate(doc, both, { now: T + 1000, policy });
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      expect(r.accepted.state).toEqual(both.state);
      expect(r.document.state.desired?.['fan'], String(policy)).toBe(20);
      expect(r.document.state.desired?.['nested'], String(policy)).toEqual({ t: 21 });
      expect(r.document.state.reported?.['fan']).toBe(18);
    }
    // clear-when-met: desired written equal to reported survives its own request…
    const met = applyShadowUpdate(doc, { state: { desired: { mode: 'eco', fan: 1 } } }, { now: T + 1000, policy: 'clear-when-met' });
    expect(met.ok && met.document.state.desired).toEqual({ fan: 1, mode: 'eco', nested: { t: 20 } });
    // …and is cleared by the next report that meets it
    const next = met.ok ? applyShadowUpdate(met.document, { state: { reported: { fan: 1 } } }, { now: T + 2000, policy: 'clear-when-met' }) : met;
    expect(next.ok && next.document.state.desired).toEqual({ mode: 'eco', nested: { t: 20 } });
  });

  it('with acknowledgements, policies compare and take the value inside an envelope, never the envelope', () => {
    const doc = ok(undefined, { state: { desired: { fanSpeed: 3, led: 'on' } } }, T);
    const report = { state: { reported: { fanSpeed: ackProperty(2, { code: 400, version: 1 }), led: ackProperty('on', { version: 1 }) } } };
    const dw = applyShadowUpdate(doc, report, { now: T + 1000, policy: 'device-wins', acknowledgements: true });
    expect(dw.ok && dw.document.state.desired).toEqual({ fanSpeed: 2, led: 'on' });
    expect(dw.ok && dw.delta).toBeUndefined();
    const cm = applyShadowUpdate(doc, report, { now: T + 1000, policy: 'clear-when-met', acknowledgements: true });
    expect(cm.ok && cm.document.state.desired).toEqual({ fanSpeed: 3 });
  });

  it('policies apply to nested leaves, with the full path and both timestamps', () => {
    const doc = ok(undefined, { state: { desired: { light: { color: 'red', level: 5 } }, reported: { light: { color: 'blue', level: 5 } } } }, T);
    const seen: ShadowConflict[] = [];
    const r = applyShadowUpdate(doc, { state: { reported: { light: { color: 'green' } } } }, { now: T + 7000, policy: (c) => (seen.push(c), CONFLICT_RESOLVERS['device-wins'](c)) });
    expect(seen).toEqual([{ path: ['light', 'color'], desired: 'red', reported: 'green', equal: false, desiredTimestamp: T / 1000, reportedTimestamp: T / 1000 + 7, touched: 'reported' }]);
    expect(r.ok && r.document.state.desired).toEqual({ light: { color: 'green', level: 5 } });
    expect(r.ok && r.document.metadata.desired).toEqual({ light: { color: { timestamp: T / 1000 + 7 }, level: { timestamp: T / 1000 } } });
  });

  it('newest-wins: a tie keeps desired, one second later wins', () => {
    const doc = base(); // desired written at T
    const tie = applyShadowUpdate(doc, { state: { reported: { fan: 5 } }, timestamp: T / 1000 }, { now: T + 10_000, policy: 'newest-wins' });
    expect(tie.ok && tie.document.state.desired?.['fan']).toBe(2);
    const later = applyShadowUpdate(doc, { state: { reported: { fan: 5 } }, timestamp: T / 1000 + 1 }, { now: T + 10_000, policy: 'newest-wins' });
    expect(later.ok && later.document.state.desired?.['fan']).toBe(5);
    // without a timestamp the report is observed at the update time
    const sameSecond = applyShadowUpdate(doc, { state: { reported: { fan: 5 } } }, { now: T + 999, policy: 'newest-wins' });
    expect(sameSecond.ok && sameSecond.document.state.desired?.['fan']).toBe(2);
  });

  it('a reported key the device deleted is no conflict: desired stays under every policy', () => {
    for (const policy of ['device-wins', 'newest-wins', 'clear-when-met', () => 'clear'] as ConflictPolicy[]) {
      const r = applyShadowUpdate(base(), { state: { reported: { fan: null } } }, { now: T + 1000, policy });
      expect(r.ok && r.document.state.desired, String(policy)).toEqual({ mode: 'eco', fan: 2 });
      expect(r.ok && r.delta?.state, String(policy)).toEqual({ fan: 2 });
    }
  });

  it('a desired-only update never consults the policy', () => {
    const seen: unknown[] = [];
    const r = applyShadowUpdate(base(), { state: { desired: { fan: 1, mode: 'boost' } } }, { now: T + 1000, policy: (c) => (seen.push(c), 'clear') });
    expect(seen).toEqual([]);
    expect(r.ok && r.document.state.desired).toEqual({ mode: 'boost', fan: 1 });
  });

  it('a custom resolver sees the conflict and decides', () => {
    const seen: string[] = [];
    const r = applyShadowUpdate(base(), { state: { reported: { fan: 9 } } }, {
      now: T + 1000,
      policy: (c) => {
        seen.push(`${c.path.join('.')}:${String(c.desired)}/${String(c.reported)}:${c.touched}`);
        return c.reported === 9 ? 'clear' : 'keep';
      },
    });
    expect(seen).toEqual(['fan:2/9:reported']);
    expect(r.ok && r.document.state.desired).toEqual({ mode: 'eco' });
  });

  it('property: every policy keeps the document laws (no nulls, metadata mirrors, version +1)', () => {
    fc.assert(
      fc.property(shadowStateObject(), shadowStateObject(), shadowStateObject(), fc.constantFrom<ConflictPolicy>('device-wins', 'newest-wins', 'clear-when-met'), (d, r, patch, policy) => {
        const doc = ok(undefined, { state: { desired: d, reported: r } }, T);
        const res = applyShadowUpdate(doc, { state: { reported: patch } }, { now: T + 1000, policy });
        expect(res.ok).toBe(true);
        if (!res.ok) return;
        expect(res.document.version).toBe(2);
        expect(JSON.stringify(res.document.state)).not.toContain('null');
        if (policy === 'device-wins') {
          // every reported leaf that contradicted desired now matches it
          const dd = res.document.state.desired ?? {};
          for (const k of Object.keys(patch)) if (k in dd && !isJsonObject(dd[k]) && !isJsonObject(patch[k])) expect(jsonEqual(dd[k], patch[k] as JsonValue)).toBe(true);
        }
      }),
    );
  });
});

/** Every leaf a request section writes: [path, value] where value is a scalar, an array, or null (a deletion). */
function requestLeaves(patch: JsonObject, prefix: string[] = []): Array<[string[], JsonValue]> {
  return Object.entries(patch).flatMap(([k, v]) => (isJsonObject(v) ? requestLeaves(v, [...prefix, k]) : [[[...prefix, k], v] as [string[], JsonValue]]));
}
const valueAt = (o: JsonValue | undefined, path: readonly string[]): JsonValue | undefined =>
  path.reduce<JsonValue | undefined>((cur, k) => (isJsonObject(cur) && Object.prototype.hasOwnProperty.call(cur, k) ? cur[k] : undefined), o);

describe('law: what /update/accepted echoes is what is stored, under every policy', () => {
  const policies: ConflictPolicy[] = ['cloud-wins', 'device-wins', 'newest-wins', 'clear-when-met', () => 'take-reported', () => 'clear', (c) => (c.equal ? 'clear' : 'take-reported')];
  it('property: every leaf a request writes (or deletes) in desired or reported is stored as written', () => {
    fc.assert(
      fc.property(
        fc.array(shadowUpdateRequest(), { maxLength: 4 }),
        shadowUpdateRequest(),
        fc.option(fc.integer({ min: 0, max: 2 * (T / 1000) }), { nil: undefined }),
        fc.constantFrom(...policies.keys()),
        (history, request, timestamp, which) => {
          const policy = policies[which] as ConflictPolicy;
          let doc: StoredShadow | undefined;
          history.forEach((h, i) => {
            const r = applyShadowUpdate(doc, h, { now: T + i * 1000, policy });
            if (r.ok) doc = r.document;
          });
          const req = timestamp === undefined ? request : { ...request, timestamp };
          const r = applyShadowUpdate(doc, req, { now: T + 60_000, policy });
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.accepted.state).toEqual(request.state);
          for (const section of ['desired', 'reported'] as const) {
            const written = request.state[section];
            if (written === undefined) continue;
            if (written === null) {
              expect(r.document.state[section]).toBeUndefined();
              continue;
            }
            for (const [path, value] of requestLeaves(written)) {
              const stored = valueAt(r.document.state[section], path);
              if (value === null) expect(stored, `${section}.${path.join('.')}`).toBeUndefined();
              else expect(jsonEqual(stored, value), `${section}.${path.join('.')}: stored ${JSON.stringify(stored)}, written ${JSON.stringify(value)}`).toBe(true);
            }
          }
        },
      ),
    );
  });
});

describe('per-property acknowledgement', () => {
  it('reports accepted, rejected and pending per desired property', () => {
    let doc = ok(undefined, { state: { desired: { targetTemp: 21, fanSpeed: 3, led: 'on' } } }, T);
    doc = ok(doc, { state: { reported: { targetTemp: ackProperty(21, { version: doc.version }), fanSpeed: ackProperty(2, { code: 400, version: doc.version, description: 'max 2' }) } } }, T + 1000, { acknowledgements: true });
    const acks = Object.fromEntries(propertyAcks(doc).map((a) => [a.path.join('.'), a.status]));
    expect(acks).toEqual({ targetTemp: 'accepted', fanSpeed: 'rejected', led: 'pending' });
    const get = getShadow(doc, { now: T + 2000, acknowledgements: true });
    expect(get.ok && get.response.state.delta).toEqual({ fanSpeed: 3, led: 'on' });
    // a new desired value after the rejection is pending again
    doc = ok(doc, { state: { desired: { fanSpeed: 2 } } }, T + 3000, { acknowledgements: true });
    const fan = propertyAcks(doc).find((a) => a.path[0] === 'fanSpeed');
    expect(fan?.status).toBe('accepted');
    doc = ok(doc, { state: { desired: { fanSpeed: 1 } } }, T + 4000, { acknowledgements: true });
    expect(propertyAcks(doc).find((a) => a.path[0] === 'fanSpeed')?.status).toBe('pending');
  });
});

describe('acknowledgement details', () => {
  it('a rejection reported in the same second as the desired write counts; an older one leaves the property pending', () => {
    const doc = ok(undefined, { state: { desired: { fan: 3 } } }, T);
    const same = ok(doc, { state: { reported: { fan: ackProperty(2, { code: 400, version: 1 }) } } }, T + 999, { acknowledgements: true });
    expect(propertyAcks(same)[0]?.status).toBe('rejected');
    const newer = ok(same, { state: { desired: { fan: 4 } } }, T + 5000, { acknowledgements: true });
    expect(propertyAcks(newer)[0]).toEqual({ path: ['fan'], desired: 4, status: 'pending', reported: 2, ack: { code: 400, version: 1, description: 'rejected' } });
  });

  it('ackProperty takes versions from 0 and codes from 100 to 599', () => {
    expect(ackProperty(1, { version: 0, code: 100 })).toStrictEqual({ value: 1, ac: 100, av: 0, ad: 'completed' });
    expect(ackProperty(1, { version: 0, code: 599 }).ac).toBe(599);
  });

  it('propertyAcks: an old value acknowledged with 200 is pending; an envelope without av/ad reports only its code; toString is a key like any other', () => {
    const doc = ok(undefined, { state: { desired: { fan: 3, toString: 1 }, reported: { fan: { value: 2, ac: 200 } } } }, T);
    expect(propertyAcks(doc)).toStrictEqual([
      { path: ['fan'], desired: 3, status: 'pending', reported: 2, ack: { code: 200 } },
      { path: ['toString'], desired: 1, status: 'pending' },
    ]);
  });

  it('propertyAcks: a desired object against a reported scalar is one pending property; an array leaf is timed by its newest element', () => {
    const doc = ok(undefined, { state: { desired: { light: { color: 'red' }, list: [1, 2] }, reported: { light: 'off' } } }, T);
    expect(propertyAcks(doc)).toStrictEqual([
      { path: ['light'], desired: { color: 'red' }, status: 'pending', reported: 'off' },
      { path: ['list'], desired: [1, 2], status: 'pending' },
    ]);
    const acked = ok(doc, { state: { reported: { list: ackProperty([1], { code: 400, version: 1 }) } } }, T + 1000, { acknowledgements: true });
    expect(propertyAcks(acked)[1]?.status).toBe('rejected');
    const late = ok(acked, { state: { desired: { list: [1, 2, 3] } } }, T + 2000, { acknowledgements: true });
    expect(propertyAcks(late)[1]?.status).toBe('pending');
  });

  it('propertyAcks reads malformed metadata timestamps as time 0, never throws', () => {
    const doc = { state: { desired: { a: 1, b: 1, c: 1 }, reported: { a: { value: 0, ac: 400 }, b: { value: 0, ac: 400 }, c: { value: 0, ac: 400 } } }, version: 1,
      metadata: { desired: { a: { timestamp: 'x' }, b: null, c: 'abc' }, reported: { a: { ac: { timestamp: 5 } }, b: { ac: 5 }, c: { ac: [{ timestamp: 2 }, 'z'] } } } } as unknown as ShadowDocument;
    expect(propertyAcks(doc).map((p) => p.status)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('ackProperty describes codes below 300 as completed, others as rejected, unless told', () => {
    expect(ackProperty(1, { version: 2 })).toEqual({ value: 1, ac: 200, av: 2, ad: 'completed' });
    expect(ackProperty(1, { version: 2, code: 299 }).ad).toBe('completed');
    expect(ackProperty(1, { version: 2, code: 300 }).ad).toBe('rejected');
    expect(ackProperty(1, { version: 2, code: 202, description: 'working' }).ad).toBe('working');
  });

  it('isPropertyAck accepts exactly { value, ac: number, av?, ad? }', () => {
    const yes: unknown[] = [{ value: 1, ac: 200 }, { value: null, ac: 400, av: 3, ad: 'x' }];
    const no: unknown[] = [{ ac: 200 }, { value: 1 }, { value: 1, ac: '200' }, { value: 1, ac: 200, extra: 1 }, [1], 'x', null, undefined];
    for (const v of yes) expect(isPropertyAck(v as JsonValue), JSON.stringify(v)).toBe(true);
    for (const v of no) expect(isPropertyAck(v as JsonValue), JSON.stringify(v)).toBe(false);
    expect(unwrapAck({ value: 5, ac: 200 })).toBe(5);
    expect(unwrapAck({ value: 5 })).toEqual({ value: 5 });
  });

  it('propertyAcks walks nested desired objects and reports plain (unwrapped) values as accepted or pending', () => {
    const doc = ok(undefined, { state: { desired: { light: { color: 'red', level: 3 }, mode: 'eco' }, reported: { light: { color: 'red', level: 2 }, mode: { x: 1 } } } }, T);
    expect(propertyAcks(doc)).toEqual([
      { path: ['light', 'color'], desired: 'red', status: 'accepted', reported: 'red' },
      { path: ['light', 'level'], desired: 3, status: 'pending', reported: 2 },
      { path: ['mode'], desired: 'eco', status: 'pending', reported: { x: 1 } },
    ]);
  });
});

describe('payload edge cases', () => {
  it('get and delete take an empty payload, text or bytes; rejectedPayload falls back to the internal message only for 5xx', () => {
    const doc = ok(undefined, { state: { reported: { a: 1 } } }, T);
    for (const request of ['', new Uint8Array(0), '{"clientToken":"t"}', new TextEncoder().encode('{"clientToken":"t"}')]) {
      const g = getShadow(doc, { now: T, request });
      expect(g.ok, String(request)).toBe(true);
    }
    const got = getShadow(doc, { now: T, request: '{"clientToken":"t"}' });
    expect(got.ok && got.response.clientToken).toBe('t');
    const notObject = getShadow(doc, { now: T, request: '[1]' });
    expect(!notObject.ok && notObject.rejected).toEqual({ code: 400, message: 'Invalid JSON', timestamp: T / 1000 });
    const big = applyShadowUpdate(undefined, new Uint8Array(131_073).fill(0x20), { now: T });
    expect(!big.ok && big.rejected.code).toBe(413);
    expect(rejectedPayload(new FleetError('INVALID_INPUT', 'plain words', { status: 422 }), { now: T })).toEqual({ code: 422, message: 'plain words', timestamp: T / 1000 });
    expect(rejectedPayload(new FleetError('INTERNAL', 'secret'), { now: T, clientToken: 'c' })).toEqual({ code: 500, message: 'Internal service failure', timestamp: T / 1000, clientToken: 'c' });
    expect(rejectedPayload(new FleetError('INTERNAL', 'secret', { status: 503 }), { now: T }).message).toBe('Internal service failure');
  });
});

describe('reconcileShadow', () => {
  it('takes one-sided changes and decides two-sided ones by owner', () => {
    const base = { a: 1, b: 1, c: 1, d: { x: 1, y: 1 } };
    const local = { a: 2, b: 1, d: { x: 2, y: 1 } }; // a changed, c deleted, d.x changed
    const remote = { a: 3, b: 5, c: 1, d: { x: 1, y: 7 } }; // a changed, b changed, d.y changed
    const r = reconcileShadow({ base, local, remote, owner: 'remote' });
    expect(r.merged).toEqual({ a: 3, b: 5, d: { x: 2, y: 7 } });
    expect(r.conflicts).toEqual([{ path: ['a'], base: 1, local: 2, remote: 3, resolved: 3 }]);
    expect(reconcileShadow({ base, local, remote, owner: 'local' }).merged['a']).toBe(2);
    expect(reconcileShadow({ base, local, remote, resolve: (c) => (c.local as number) + (c.remote as number) }).merged['a']).toBe(5);
    expect(() => reconcileShadow({ base, local, remote })).toThrowError(/owner/);
  });

  it('refuses an own __proto__ key (FORBIDDEN_KEY, as applyShadowUpdate does) and never changes a prototype', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as JsonObject;
    for (const input of [
      { base: {}, local: hostile, remote: {} },
      { base: {}, local: {}, remote: hostile },
      { base: hostile, local: {}, remote: {} },
      { base: {}, local: { n: hostile }, remote: { n: { a: 2 } } },
    ]) {
      let caught: unknown;
      try {
        reconcileShadow({ ...input, owner: 'local' });
      } catch (e) {
        caught = e;
      }
      expect(isFleetError(caught, 'FORBIDDEN_KEY')).toBe(true);
      expect((caught as FleetError).status).toBe(400);
      expect((caught as FleetError).details?.['key']).toBe('__proto__');
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('treats keys named like Object.prototype members as data', () => {
    const r = reconcileShadow({ base: {}, local: { valueOf: 1 }, remote: { toString: 2, hasOwnProperty: 3 }, owner: 'local' });
    expect(r.merged).toEqual({ valueOf: 1, toString: 2, hasOwnProperty: 3 });
    expect(r.conflicts).toEqual([]);
    expect(Object.getPrototypeOf(r.merged)).toBe(Object.prototype);
    // below a key whose base is not an object, an inherited member must not pose as a local value
    const nested = reconcileShadow({ base: { n: 5 }, local: { n: { a: 1 } }, remote: { n: { toString: 2 } }, owner: 'local' });
    expect(nested.merged).toEqual({ n: { a: 1, toString: 2 } });
  });

  it('bad arguments throw a FleetError that says what to pass (a misspelt owner never means remote-wins)', () => {
    const cases: Array<[unknown, string]> = [
      [{ base: {}, local: { a: 1 }, remote: { a: 2 }, owner: 'lcoal' }, "owner must be 'local' or 'remote'"],
      [{ base: {}, local: {}, remote: {}, resolve: 'local' }, 'resolve must be a function'],
      [{ base: {}, local: {}, remote: {} }, 'pass owner'],
      [null, 'pass { base, local, remote'],
      [42, 'pass { base, local, remote'],
      [{ base: [], local: {}, remote: {}, owner: 'local' }, 'base must be a JSON object'],
      [{ base: {}, local: { a: Number.NaN }, remote: {}, owner: 'local' }, 'reconcileShadow: local: Invalid JSON at $.a'],
      [{ base: {}, local: {}, remote: { a: [undefined] }, owner: 'local' }, 'reconcileShadow: remote: Invalid JSON'],
      [{ base: { a: () => 1 }, local: {}, remote: {}, owner: 'local' }, 'reconcileShadow: base: Invalid JSON'],
      [{ base: {}, local: { n: { x: 1 } }, remote: { n: { x: 2 } }, resolve: () => Number.NaN }, 'resolve returned NaN for n.x'],
      [{ base: {}, local: { a: 1 }, remote: { a: 2 }, resolve: () => Number.POSITIVE_INFINITY }, 'resolve returned'],
    ];
    for (const [input, message] of cases) {
      let caught: unknown;
      try {
        reconcileShadow(input as ReconcileInput);
      } catch (e) {
        caught = e;
      }
      expect(isFleetError(caught), String(caught)).toBe(true);
      expect((caught as FleetError).message, JSON.stringify(input)).toContain(message);
      expect((caught as FleetError).status).toBe(400);
    }
    let forbidden: unknown;
    try {
      reconcileShadow({ base: {}, local: JSON.parse('{"x":{"__proto__":1}}') as JsonObject, remote: {}, owner: 'local' });
    } catch (e) {
      forbidden = e;
    }
    expect((forbidden as FleetError).details).toMatchObject({ key: '__proto__', side: 'local' });
    expect((forbidden as FleetError).message.startsWith('reconcileShadow: local: Key "__proto__"')).toBe(true);
  });

  it('both sides making the same change is no conflict; a resolver returning undefined deletes; objects left empty go', () => {
    const same = reconcileShadow({ base: { a: 1, n: { x: 1 } }, local: { a: 2, n: { x: 3 } }, remote: { a: 2, n: { x: 3 } }, owner: 'remote' });
    expect(same).toEqual({ merged: { a: 2, n: { x: 3 } }, conflicts: [] });
    const deleted = reconcileShadow({ base: { a: 1, b: 1 }, local: { a: 2, b: 1 }, remote: { a: 3, b: 1 }, resolve: () => undefined });
    expect(deleted.merged).toEqual({ b: 1 });
    expect(deleted.conflicts).toEqual([{ path: ['a'], base: 1, local: 2, remote: 3, resolved: undefined }]);
    // each side deleted a different key of n: nothing of n is left, so n goes
    const emptied = reconcileShadow({ base: { n: { a: 1, b: 1 }, k: 1 }, local: { n: { a: 1 }, k: 1 }, remote: { n: { b: 1 }, k: 1 }, owner: 'local' });
    expect(emptied).toEqual({ merged: { k: 1 }, conflicts: [] });
    const nested = reconcileShadow({ base: { n: { x: 1 } }, local: { n: { x: 2 } }, remote: { n: { x: 3 } }, owner: 'local' });
    expect(nested.conflicts).toEqual([{ path: ['n', 'x'], base: 1, local: 2, remote: 3, resolved: 2 }]);
  });

  it('property: the three-way table holds for every leaf', () => {
    const leaf = fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 2 }), fc.array(fc.integer({ min: 0, max: 1 }), { maxLength: 2 }));
    const state = fc.dictionary(fc.constantFrom('p', 'q', 'toString', 'valueOf'), leaf).map((o) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as JsonObject);
    fc.assert(
      fc.property(state, state, state, fc.constantFrom<'local' | 'remote'>('local', 'remote'), (base, local, remote, owner) => {
        const { merged, conflicts } = reconcileShadow({ base, local, remote, owner });
        for (const k of new Set([...Object.keys(base), ...Object.keys(local), ...Object.keys(remote)])) {
          const [b, l, r] = [base[k], local[k], remote[k]];
          const m = merged[k];
          if (jsonEqual(l, b)) expect(m).toEqual(r); // only remote changed (or neither), deletions included
          else if (jsonEqual(r, b)) expect(m).toEqual(l); // only local changed
          else if (jsonEqual(l, r)) expect(m).toEqual(l);
          else {
            expect(m).toEqual(owner === 'local' ? l : r);
            expect(conflicts.some((c) => c.path[0] === k)).toBe(true);
          }
        }
      }),
    );
  });
});

describe('reconcileShadow on nested input', () => {
  it('property: the merge is plain JSON built only from the inputs, whatever the keys are named', () => {
    const keys = fc.constantFrom('a', 'toString', 'valueOf', 'hasOwnProperty');
    const leaf: fc.Arbitrary<JsonValue> = fc.oneof(fc.integer({ min: 0, max: 2 }), fc.constant([1]).map((a) => [...a]));
    const value: fc.Arbitrary<JsonValue> = fc.oneof(leaf, fc.dictionary(keys, leaf, { maxKeys: 3 }));
    const side: fc.Arbitrary<JsonObject | undefined> = fc.option(fc.dictionary(keys, fc.oneof(value, fc.dictionary(keys, value, { maxKeys: 3 })), { maxKeys: 4 }), { nil: undefined });
    fc.assert(
      fc.property(side, side, side, fc.constantFrom<'local' | 'remote'>('local', 'remote'), (base, local, remote, owner) => {
        const { merged, conflicts } = reconcileShadow({ base, local, remote, owner });
        expect(checkJson(merged)).toBeUndefined();
        expect([Object.prototype, null]).toContain(Object.getPrototypeOf(merged));
        const seen = JSON.stringify([base, local, remote]);
        for (const c of conflicts) expect(seen).toContain(JSON.stringify(c.resolved ?? null) === 'null' ? '' : JSON.stringify(c.resolved));
        // with no conflicts at all, a side that did not change yields the other side
        if (jsonEqual(base ?? {}, local ?? {})) expect(merged).toEqual(remote ?? {});
      }),
    );
  });
});

describe('size bound', () => {
  it('property: the 413 decision equals an exact measurement after any sequence of updates', () => {
    const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('"\\\u0001', '\ud800', '€€€'));
    const value = fc.oneof(text, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.array(text, { maxLength: 3 }));
    const patch = fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !['__proto__', 'constructor', 'prototype'].includes(k)), value, { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(fc.record({ desired: patch, reported: patch }, { requiredKeys: [] }), { maxLength: 25 }), fc.integer({ min: 200, max: 2000 }), (states, max) => {
        let doc: StoredShadow | undefined;
        for (const state of states) {
          const r = applyShadowUpdate(doc, { state }, { now: T, limits: { maxDocumentBytes: max } });
          // what an exact check would decide
          const prev = doc as ShadowDocument | undefined;
          const merged = applyShadowUpdate(prev, { state }, { now: T, limits: { maxDocumentBytes: 1e9 } });
          if (!merged.ok) throw merged.error;
          const bytes = Buffer.byteLength(JSON.stringify(merged.document.state), 'utf8');
          expect(r.ok, `${bytes} bytes vs limit ${max}`).toBe(bytes <= max);
          if (r.ok) doc = r.document;
        }
      }),
      { numRuns: runs(200) },
    );
  });
});
