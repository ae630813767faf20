/**
 * A trie of MQTT topic filters for fast matching of a topic name against many subscriptions,
 * with a per-topic result cache (topics repeat far more often than subscriptions change).
 */

interface Node<T> {
  readonly children: Map<string, Node<T>>;
  readonly values: Set<T>;
}

function node<T>(): Node<T> {
  return { children: new Map(), values: new Set() };
}

/** @internal Maps topic filters to values; `match(topic)` returns every value whose filter matches. */
export class TopicTrie<T> {
  readonly #root: Node<T> = node();
  #cache = new Map<string, readonly T[]>();
  readonly #maxCache: number;
  #size = 0;

  /** @param maxCache - topics whose match result is remembered before the cache is reset */
  constructor(maxCache = 10_000) {
    this.#maxCache = maxCache;
  }

  /** Number of (filter, value) pairs. */
  get size(): number {
    return this.#size;
  }

  /** Adds `value` under `filter` (a valid topic filter); returns false when already present. */
  add(filter: string, value: T): boolean {
    let n = this.#root;
    for (const level of filter.split('/')) {
      let next = n.children.get(level);
      if (next === undefined) {
        next = node();
        n.children.set(level, next);
      }
      n = next;
    }
    if (n.values.has(value)) return false;
    n.values.add(value);
    this.#size++;
    this.#cache.clear();
    return true;
  }

  /** Removes `value` from `filter`; returns false when it was not there. */
  remove(filter: string, value: T): boolean {
    const path: Node<T>[] = [this.#root];
    const levels = filter.split('/');
    for (const level of levels) {
      const next = (path[path.length - 1] as Node<T>).children.get(level);
      if (next === undefined) return false;
      path.push(next);
    }
    const leaf = path[path.length - 1] as Node<T>;
    if (!leaf.values.delete(value)) return false;
    this.#size--;
    this.#cache.clear();
    // Prune empty branches so a churn of subscriptions does not grow the trie forever.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i] as Node<T>;
      if (n.values.size > 0 || n.children.size > 0) break;
      (path[i - 1] as Node<T>).children.delete(levels[i - 1] as string);
    }
    return true;
  }

  /** Every value whose filter matches `topic` (a value under several matching filters appears once per filter). */
  match(topic: string): readonly T[] {
    const hit = this.#cache.get(topic);
    if (hit !== undefined) return hit;
    const out: T[] = [];
    const levels = topic.split('/');
    // MQTT 4.7.2: a leading wildcard does not match topics that start with "$".
    this.#walk(this.#root, levels, 0, out, topic.charCodeAt(0) === 36);
    if (this.#cache.size >= this.#maxCache) this.#cache = new Map();
    this.#cache.set(topic, out);
    return out;
  }

  #walk(n: Node<T>, levels: readonly string[], i: number, out: T[], dollar: boolean): void {
    const wildOk = !(dollar && i === 0);
    if (wildOk) {
      const hash = n.children.get('#');
      if (hash !== undefined) for (const v of hash.values) out.push(v);
    }
    if (i === levels.length) {
      for (const v of n.values) out.push(v);
      return;
    }
    const exact = n.children.get(levels[i] as string);
    if (exact !== undefined) this.#walk(exact, levels, i + 1, out, dollar);
    if (wildOk) {
      const plus = n.children.get('+');
      if (plus !== undefined) this.#walk(plus, levels, i + 1, out, dollar);
    }
  }
}
