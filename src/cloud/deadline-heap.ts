/**
 * A min-heap of (time, key) deadlines in two parallel arrays: compact enough for one entry per
 * device at fleet scale.
 */

/** @internal Deadlines ordered by time (ties: insertion order is not kept; callers must not depend on it). */
export class DeadlineHeap {
  readonly #at: number[] = [];
  readonly #keys: string[] = [];

  /** Number of entries. */
  get size(): number {
    return this.#at.length;
  }

  /** The earliest time, or `undefined` when empty. */
  peek(): number | undefined {
    return this.#at[0];
  }

  /** Adds `key` due at `at`. */
  push(at: number, key: string): void {
    const a = this.#at;
    const k = this.#keys;
    let i = a.length;
    a.push(at);
    k.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if ((a[p] as number) <= at) break;
      a[i] = a[p] as number;
      k[i] = k[p] as string;
      i = p;
    }
    a[i] = at;
    k[i] = key;
  }

  /** Removes and returns the earliest entry's key if it is due at or before `now`. */
  popDue(now: number): string | undefined {
    const a = this.#at;
    const k = this.#keys;
    const top = a[0];
    if (top === undefined || top > now) return undefined;
    const key = k[0] as string;
    const lastAt = a.pop() as number;
    const lastKey = k.pop() as string;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (a[r] as number) < (a[l] as number) ? r : l;
        if ((a[c] as number) >= lastAt) break;
        a[i] = a[c] as number;
        k[i] = k[c] as string;
        i = c;
      }
      a[i] = lastAt;
      k[i] = lastKey;
    }
    return key;
  }
}
