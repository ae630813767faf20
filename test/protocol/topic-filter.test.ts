import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assertTopicFilter, assertTopicName, topicMatches } from '../../src/protocol/index.js';
import { TopicTrie } from '../../src/transport/topic-trie.js';

/** A reference matcher written from the MQTT spec's wording, level by level, for comparison. */
function reference(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

const level = fc.constantFrom('a', 'b', 'c', '', '$x', 'dt', 'acme');
const topicArb = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/')).filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => [...levels, ...(hash ? ['#'] : [])].join('/'))
  .filter((f) => f.length > 0);

describe('topic names and filters', () => {
  it('matches like the MQTT reference for any filter and topic (property)', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(topicMatches(filter, topic)).toBe(reference(filter, topic));
      }),
      { numRuns: 2000 },
    );
  });

  it('the trie returns exactly the filters that match (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(filterArb, { maxLength: 12 }), topicArb, (filters, topic) => {
        const trie = new TopicTrie<string>();
        for (const f of filters) trie.add(f, f);
        expect([...trie.match(topic)].sort()).toEqual(filters.filter((f) => reference(f, topic)).sort());
        for (const f of filters) trie.remove(f, f);
        expect(trie.size).toBe(0);
        expect(trie.match(topic)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('under any interleaving of adds and removes (several values per filter), the trie matches the model and prunes to nothing when emptied (property)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), filter: filterArb, value: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('remove' as const), filter: filterArb, value: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ kind: fc.constant('match' as const), topic: topicArb }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), fc.array(topicArb, { minLength: 1, maxLength: 4 }), (ops, topics) => {
        const trie = new TopicTrie<string>();
        const model = new Set<string>(); // `${filter}\u0000${value}`
        const check = (topic: string): void => {
          const want = [...model].map((k) => k.split('\u0000')).filter(([f]) => reference(f!, topic)).map(([f, v]) => `${f}=${v}`).sort();
          // Values are the pair, so a value under two filters is told apart.
          expect([...trie.match(topic)].sort()).toEqual(want);
        };
        for (const o of ops) {
          if (o.kind === 'match') check(o.topic);
          else {
            const k = `${o.filter}\u0000${o.value}`;
            const v = `${o.filter}=${o.value}`;
            if (o.kind === 'add') expect(trie.add(o.filter, v)).toBe(!model.has(k)), model.add(k);
            else expect(trie.remove(o.filter, v)).toBe(model.delete(k));
            expect(trie.size).toBe(model.size);
          }
        }
        for (const t of topics) check(t);
        for (const k of [...model]) {
          const [f, v] = k.split('\u0000') as [string, string];
          expect(trie.remove(f, `${f}=${v}`)).toBe(true);
        }
        expect(trie.size).toBe(0);
        expect(trie.bare).toBe(true);
        for (const t of topics) expect(trie.match(t)).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('knows the edge cases of the spec', () => {
    expect(topicMatches('sport/#', 'sport')).toBe(true);
    expect(topicMatches('sport/+', 'sport')).toBe(false);
    expect(topicMatches('sport/+', 'sport/')).toBe(true);
    expect(topicMatches('+/+', '/finance')).toBe(true);
    expect(topicMatches('#', '$SYS/x')).toBe(false);
    expect(topicMatches('$SYS/#', '$SYS/x')).toBe(true);
    expect(topicMatches('+/monitor/Clients', '$SYS/monitor/Clients')).toBe(false);
  });

  it('rejects wildcards in topic names and misplaced wildcards in filters', () => {
    for (const bad of ['', 'a/+', 'a/#', 'a\u0000b']) expect(() => assertTopicName(bad)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    for (const bad of ['', 'a/#/b', 'a#', 'a/b+', '+a']) expect(() => assertTopicFilter(bad)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    for (const ok of ['#', '+', 'a/+/b', 'a/#', '/', '$aws/things/+/shadow/#']) expect(assertTopicFilter(ok)).toBe(ok);
    expect(() => assertTopicName(42)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
    expect(() => assertTopicFilter(null)).toThrow(expect.objectContaining({ code: 'INVALID_TOPIC' }));
  });
});
