/**
 * Wide objects: an object of `desired`/`reported` (and its metadata) of {@link WIDE_KEYS} keys or
 * more, and every object above such an object. V8 copies an object of a few dozen keys in well
 * under a microsecond but a wider one key by key (and beyond ~1,000 keys it is a hash table), so
 * an update that writes k of its keys does not copy it: the engine keeps a persistent map, an
 * immutable plain `base` plus a log of the writes since, shared append-only by the versions that
 * extend one another, and a document shows its wide sections as plain objects built on first read
 * (once per version, cached). Writing k keys costs O(k); the log is folded into a new base once it
 * is twice as long as the object is wide (or for free, from a version that was read), so that cost
 * stays amortised O(k).
 *
 * Inside the engine a wide object is a read-only Proxy over its {@link WideNode}, so that every
 * algorithm reads it like the plain object it stands for; the Proxy never leaves the engine: a
 * plain object never holds a wide one (the objects above a wide one are wide), documents show
 * their wide sections through getters, and payloads and conflicts get plain objects.
 */
import type { JsonObject } from '../json.js';

/** @internal Objects with at least this many keys are kept as a persistent map. */
export const WIDE_KEYS = 64;

/** The thresholds in force: {@link WIDE_KEYS}, and the shortest log that is folded into a new base. */
const tuning = { keys: WIDE_KEYS, fold: WIDE_KEYS };

/**
 * @internal For tests only: the width from which objects are kept as persistent maps
 * (`Infinity`: never, the plain-object merge for every object) and the shortest log that is
 * folded into a new base.
 */
export function tuneWide(next: { readonly keys: number; readonly fold: number }): void {
  tuning.keys = next.keys;
  tuning.fold = next.fold;
}

/** @internal True when an object of `size` keys is kept as a persistent map. */
export function isWideSize(size: number): boolean {
  return size >= tuning.keys;
}

const DELETED: unique symbol = Symbol('deleted');
type Slot<V> = V | typeof DELETED;

interface Entry<V> {
  readonly key: string;
  readonly value: Slot<V>;
  /** The index of the previous entry of the same key, or -1. */
  readonly prev: number;
}

/** The writes since a base, in order; shared by the versions that extend one another. */
interface Log<V> {
  readonly entries: Entry<V>[];
  /** The last entry of each key. */
  readonly last: Map<string, number>;
}

const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** One version of a wide object: `base` with the first `length` entries of `log` applied. */
class WideNode<V> {
  /** The plain object this version stands for, once built. */
  plain: Record<string, V> | undefined;
  constructor(
    readonly base: Readonly<Record<string, V>>,
    readonly log: Log<V>,
    readonly length: number,
    /** The number of keys. */
    readonly size: number,
  ) {}
}

/** Read through the Proxy, this key gives its node (no weak map: they cost the collector dearly). */
const NODE: unique symbol = Symbol('wide node');

function nodeOf(value: object): WideNode<unknown> | undefined {
  return (value as { [NODE]?: WideNode<unknown> })[NODE];
}

function lookup<V>(node: WideNode<V>, key: string): V | undefined {
  let i = node.log.last.get(key);
  while (i !== undefined && i >= node.length) i = (node.log.entries[i] as Entry<V>).prev;
  if (i !== undefined && i >= 0) {
    const value = (node.log.entries[i] as Entry<V>).value;
    return value === DELETED ? undefined : value;
  }
  return hasOwn(node.base, key) ? node.base[key] : undefined;
}

function build<V>(node: WideNode<V>): Record<string, V> {
  if (node.plain !== undefined) return node.plain;
  let out: Record<string, V>;
  if (node.length === 0) out = node.base as Record<string, V>;
  else {
    out = {};
    for (const key in node.base) out[key] = node.base[key] as V;
    const written = new Set<string>();
    for (let i = 0; i < node.length; i++) {
      const e = node.log.entries[i] as Entry<V>;
      if (e.value === DELETED) delete out[e.key];
      else out[e.key] = e.value;
      written.add(e.key);
    }
    // only the values that stand: a key written many times is built once
    for (const key of written) if (hasOwn(out, key)) out[key] = plainValue(out[key] as V);
  }
  node.plain = out;
  return out;
}

// Read-only: the engine never writes into a section it already produced.
const handler: ProxyHandler<WideNode<unknown>> = {
  get: (node, key) => {
    if (key === NODE) return node;
    if (typeof key === 'string') {
      const v = lookup(node, key);
      if (v !== undefined) return v;
    }
    return Reflect.get(Object.prototype, key) as unknown;
  },
  has: (node, key) => (typeof key === 'string' && lookup(node, key) !== undefined) || Reflect.has(Object.prototype, key),
  ownKeys: (node) => Object.keys(build(node)),
  getOwnPropertyDescriptor: (node, key) => {
    if (typeof key !== 'string') return undefined;
    const value = lookup(node, key);
    return value === undefined ? undefined : { value, writable: true, enumerable: true, configurable: true };
  },
  getPrototypeOf: () => Object.prototype,
  set: () => false,
  defineProperty: () => false,
  deleteProperty: () => false,
  setPrototypeOf: () => false,
  preventExtensions: () => false,
};

function wrap<V>(node: WideNode<V>): Record<string, V> {
  return new Proxy(node as WideNode<unknown>, handler) as unknown as Record<string, V>;
}

/** @internal True for the engine-internal view of a wide section. */
export function isWide(value: unknown): boolean {
  return typeof value === 'object' && value !== null && nodeOf(value) !== undefined;
}

/** @internal The plain object a wide object stands for (the value itself when it is plain). */
export function plainOf<T extends object>(value: T): T {
  const node = nodeOf(value);
  return node === undefined ? value : (build(node) as T);
}

/** @internal {@link plainOf} for any value (scalars as they are). */
export function plainValue<T>(value: T): T {
  return typeof value === 'object' && value !== null ? plainOf(value) : value;
}

/** @internal `o[key]` when `key` is an own key of `o` (a plain object or a wide section), else `undefined`. */
export function ownValue<V>(o: Readonly<Record<string, V>>, key: string): V | undefined {
  const node = nodeOf(o) as WideNode<V> | undefined;
  if (node !== undefined) return lookup(node, key);
  return hasOwn(o, key) ? o[key] : undefined;
}

/** @internal The number of keys of a plain object. */
export function countKeys(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** @internal The number of keys of a wide section, or `undefined` for a plain object. */
export function wideSize(value: object): number | undefined {
  return nodeOf(value)?.size;
}

/** @internal A write: a key and its new value, or `undefined` to delete it. */
export type WideWrite<V> = readonly [key: string, value: V | undefined];

/**
 * @internal `current` (a wide section, or a plain object of `size` keys) with `writes` applied, in
 * order, as a new wide section (`current` is unchanged); `undefined` when no key is left. Writes
 * of keys that are absent and stay absent must not be passed.
 */
export function writeWide<V>(current: Record<string, V>, size: number, writes: ReadonlyArray<WideWrite<V>>): Record<string, V> | undefined {
  let node = (nodeOf(current) as WideNode<V> | undefined) ?? new WideNode<V>(current, { entries: [], last: new Map() }, 0, size);
  // A version already built as a plain object (someone read it) is a base for free: its log can go.
  if (node.plain !== undefined && node.length > 0) node = new WideNode<V>(node.plain, { entries: [], last: new Map() }, 0, node.size);
  let count = node.size;
  for (const [key, value] of writes) {
    const had = lookup(node, key) !== undefined;
    if (value === undefined) {
      if (had) count--;
    } else if (!had) count++;
  }
  if (count === 0) return undefined;
  // Extend the shared log when this version is its newest, else start a log of its own.
  let log = node.log;
  if (node.length !== log.entries.length) {
    log = { entries: [], last: new Map() };
    for (let i = 0; i < node.length; i++) append(log, node.log.entries[i] as Entry<V>);
  }
  for (const [key, value] of writes) append(log, { key, value: value === undefined ? DELETED : value, prev: -1 });
  const next = new WideNode<V>(node.base, log, log.entries.length, count);
  // Fold the log into a new base once it is twice as long as the object is wide: amortised O(1) per write.
  if (next.length >= 2 * Math.max(tuning.fold, next.size)) return wrap(new WideNode<V>(build(next), { entries: [], last: new Map() }, 0, count));
  return wrap(next);
}

function append<V>(log: Log<V>, e: Entry<V>): void {
  const prev = log.last.get(e.key) ?? -1;
  log.last.set(e.key, log.entries.length);
  log.entries.push(prev === e.prev ? e : { key: e.key, value: e.value, prev });
}

/** The engine's view of a document with a wide section, on its public `state` and `metadata` (non-enumerable). */
const INTERNAL: unique symbol = Symbol('shadow internals');

/** @internal What the engine keeps on the public `state` and `metadata` of a document with a wide section. */
export interface Internals<S extends object, M extends object> {
  /** The public state. */
  readonly publicState: S;
  /** The public metadata. */
  readonly publicMetadata: M;
  /** The state the engine works on. */
  readonly state: S;
  /** The metadata the engine works on. */
  readonly meta: M;
}

type Section = 'desired' | 'reported';

function sectionOf(self: unknown, side: 'state' | 'meta', key: Section): unknown {
  const internals = typeof self === 'object' && self !== null ? (self as { [INTERNAL]?: Internals<Record<Section, object | undefined>, Record<Section, object | undefined>> })[INTERNAL] : undefined;
  const value = internals?.[side][key];
  return value === undefined ? undefined : plainOf(value);
}

// One getter per section, shared by every document (a getter of its own per object would give
// each object a hidden class of its own): it builds the section's plain object on first read.
const getters = {
  state: {
    desired: { get: function desired(this: unknown) { return sectionOf(this, 'state', 'desired'); }, enumerable: true, configurable: true },
    reported: { get: function reported(this: unknown) { return sectionOf(this, 'state', 'reported'); }, enumerable: true, configurable: true },
  },
  meta: {
    desired: { get: function desired(this: unknown) { return sectionOf(this, 'meta', 'desired'); }, enumerable: true, configurable: true },
    reported: { get: function reported(this: unknown) { return sectionOf(this, 'meta', 'reported'); }, enumerable: true, configurable: true },
  },
} as const;

/**
 * @internal The public `state` and `metadata` of a document whose engine view is `state` and
 * `meta`: the same objects when no section is wide, else objects whose wide sections are
 * getters building the plain object on first read (the engine's view is attached to both).
 */
export function exposeSections<S extends Partial<Record<Section, object>>, M extends Partial<Record<Section, object>>>(state: S, meta: M): { state: S; metadata: M } {
  if (!isWide(state.desired) && !isWide(state.reported) && !isWide(meta.desired) && !isWide(meta.reported)) return { state, metadata: meta };
  const publicState = {} as S;
  const publicMetadata = {} as M;
  const internals: Internals<S, M> = { publicState, publicMetadata, state, meta };
  Object.defineProperty(publicState, INTERNAL, { value: internals });
  Object.defineProperty(publicMetadata, INTERNAL, { value: internals });
  for (const key of ['desired', 'reported'] as const) {
    const value = state[key];
    if (value !== undefined) {
      if (isWide(value)) Object.defineProperty(publicState, key, getters.state[key]);
      else (publicState as Record<Section, object>)[key] = value;
    }
    const m = meta[key];
    if (m !== undefined) {
      if (isWide(m)) Object.defineProperty(publicMetadata, key, getters.meta[key]);
      else (publicMetadata as Record<Section, object>)[key] = m;
    }
  }
  return { state: publicState, metadata: publicMetadata };
}

/** @internal The engine's view of a document's `state` and `metadata` (themselves when the engine attached none, or they are not a pair it built). */
export function internalsOf<S extends object, M extends object>(state: S, metadata: M): { readonly state: S; readonly metadata: M } {
  const internals = Object.prototype.hasOwnProperty.call(state, INTERNAL) ? (state as { [INTERNAL]?: Internals<S, M> })[INTERNAL] : undefined;
  return internals !== undefined && internals.publicState === state && internals.publicMetadata === metadata ? { state: internals.state, metadata: internals.meta } : { state, metadata };
}

/**
 * @internal True for the `state` and `metadata` of a document the engine built with a wide
 * section: their sections are known to be objects, and checking them would build the wide one.
 */
export function isEngineSections(state: object, metadata: object): boolean {
  return internalsOf(state, metadata).state !== state;
}
