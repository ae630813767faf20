/**
 * A trie of MQTT topic filters for fast matching of a topic name against many subscriptions,
 * with a per-topic result cache (topics repeat far more often than subscriptions change).
 */

/**
 * A fleet simulation holds tens of thousands of tries (one per transport, one per broker) whose
 * per-device branches are chains of single-child nodes with one value at the leaf. So a node
 * keeps its first child and its first value inline and makes a Map or Set only for a second one:
 * a branch of a device's filter costs a few small objects, not a Map and a Set per level.
 */
interface Node<T> {
  /** The level of the only child (when `many` is undefined). */
  key: string | undefined;
  /** The only child, or undefined. */
  only: Node<T> | undefined;
  /** Every child, once there are two or more. */
  many: Map<string, Node<T>> | undefined;
  /** The only value (when `values` is undefined); `has` says whether it is set. */
  one: T | undefined;
  has: boolean;
  /** Every value, once there are two or more. */
  values: Set<T> | undefined;
}

function node<T>(): Node<T> {
  return { key: undefined, only: undefined, many: undefined, one: undefined, has: false, values: undefined };
}

function child<T>(n: Node<T>, level: string): Node<T> | undefined {
  if (n.many !== undefined) return n.many.get(level);
  return n.key === level ? n.only : undefined;
}

function addChild<T>(n: Node<T>, level: string, c: Node<T>): void {
  if (n.many !== undefined) n.many.set(level, c);
  else if (n.only === undefined) {
    n.key = level;
    n.only = c;
  } else {
    n.many = new Map([[n.key as string, n.only], [level, c]]);
    n.key = undefined;
    n.only = undefined;
  }
}

function removeChild<T>(n: Node<T>, level: string): void {
  if (n.many !== undefined) {
    n.many.delete(level);
    if (n.many.size === 1) {
      const [k, c] = n.many.entries().next().value as [string, Node<T>];
      n.key = k;
      n.only = c;
      n.many = undefined;
    }
  } else if (n.key === level) {
    n.key = undefined;
    n.only = undefined;
  }
}

function hasValue<T>(n: Node<T>, value: T): boolean {
  return n.values !== undefined ? n.values.has(value) : n.has && n.one === value;
}

function addValue<T>(n: Node<T>, value: T): void {
  if (n.values !== undefined) n.values.add(value);
  else if (!n.has) {
    n.one = value;
    n.has = true;
  } else {
    n.values = new Set([n.one as T, value]);
    n.one = undefined;
    n.has = false;
  }
}

/** Removes `value`; false when it was not there. */
function removeValue<T>(n: Node<T>, value: T): boolean {
  if (n.values !== undefined) {
    if (!n.values.delete(value)) return false;
    if (n.values.size === 1) {
      n.one = n.values.values().next().value as T;
      n.has = true;
      n.values = undefined;
    }
    return true;
  }
  if (!n.has || n.one !== value) return false;
  n.one = undefined;
  n.has = false;
  return true;
}

function pushValues<T>(n: Node<T>, out: T[]): void {
  if (n.values !== undefined) for (const v of n.values) out.push(v);
  else if (n.has) out.push(n.one as T);
}

const isEmpty = <T>(n: Node<T>): boolean => !n.has && n.values === undefined && n.only === undefined && n.many === undefined;

/** @internal Maps topic filters to values; `match(topic)` returns every value whose filter matches. */
export class TopicTrie<T> {
  readonly #root: Node<T> = node();
  #cache: Map<string, readonly T[]> | undefined;
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

  /** @internal True when no node is left below the root (every branch was pruned). */
  get bare(): boolean {
    return isEmpty(this.#root);
  }

  /** Adds `value` under `filter` (a valid topic filter); returns false when already present. */
  add(filter: string, value: T): boolean {
    let n = this.#root;
    for (const level of filter.split('/')) {
      let next = child(n, level);
      if (next === undefined) {
        next = node();
        addChild(n, level, next);
      }
      n = next;
    }
    if (hasValue(n, value)) return false;
    addValue(n, value);
    this.#size++;
    this.#cache = undefined;
    return true;
  }

  /** Removes `value` from `filter`; returns false when it was not there. */
  remove(filter: string, value: T): boolean {
    const path: Node<T>[] = [this.#root];
    const levels = filter.split('/');
    for (const level of levels) {
      const next = child(path[path.length - 1] as Node<T>, level);
      if (next === undefined) return false;
      path.push(next);
    }
    if (!removeValue(path[path.length - 1] as Node<T>, value)) return false;
    this.#size--;
    this.#cache = undefined;
    // Prune empty branches so a churn of subscriptions does not grow the trie forever.
    for (let i = levels.length; i > 0; i--) {
      if (!isEmpty(path[i] as Node<T>)) break;
      removeChild(path[i - 1] as Node<T>, levels[i - 1] as string);
    }
    return true;
  }

  /** Every value whose filter matches `topic` (a value under several matching filters appears once per filter). */
  match(topic: string): readonly T[] {
    const hit = this.#cache?.get(topic);
    if (hit !== undefined) return hit;
    const out: T[] = [];
    const levels = topic.split('/');
    // MQTT 4.7.2: a leading wildcard does not match topics that start with "$".
    this.#walk(this.#root, levels, 0, out, topic.charCodeAt(0) === 36);
    if (this.#cache === undefined || this.#cache.size >= this.#maxCache) this.#cache = new Map();
    this.#cache.set(topic, out);
    return out;
  }

  #walk(n: Node<T>, levels: readonly string[], i: number, out: T[], dollar: boolean): void {
    const wildOk = !(dollar && i === 0);
    if (wildOk) {
      const hash = child(n, '#');
      if (hash !== undefined) pushValues(hash, out);
    }
    if (i === levels.length) {
      pushValues(n, out);
      return;
    }
    if (n.only === undefined && n.many === undefined) return;
    const exact = child(n, levels[i] as string);
    if (exact !== undefined) this.#walk(exact, levels, i + 1, out, dollar);
    if (wildOk) {
      const plus = child(n, '+');
      if (plus !== undefined) this.#walk(plus, levels, i + 1, out, dollar);
    }
  }
}
