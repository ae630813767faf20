/**
 * `MemoryShadowStore`: the in-memory {@link ShadowStore}.
 */
import { FleetError } from '../../errors.js';
import { assertShadowName, assertThingName } from '../../shadow/names.js';
import type { ShadowTombstone, StoredShadow } from '../../shadow/types.js';
import { checkAndFreeze } from '../isolation.js';
import { checkShadowShape } from '../validate.js';
import { SortedKeys, decodeCursor, listOptions, pageLimit, toPage, type Page } from '../page.js';
import type { CompareAndSetResult, DeleteShadowOutcome, ShadowListOptions, ShadowRecord, ShadowStore } from '../shadow-store.js';
import { tenantMismatch, tenantOf, type TenantContext } from '../tenant.js';

// One slot per thing: its owner and its shadows. Kept small: 60,000 things must fit in a few MB.
interface ThingSlot {
  readonly tenantId: string;
  classic: StoredShadow | undefined;
  named: Map<string, StoredShadow> | undefined;
}

const SEP = '\u0000';
const LIST = 'shadows';

function isTombstone(s: StoredShadow): s is ShadowTombstone {
  return (s as { deleted?: unknown }).deleted === true;
}

/**
 * The in-memory {@link ShadowStore}. Documents are frozen in place when stored, not copied: the
 * shadow engine never mutates a document and shares untouched subtrees between versions, so
 * freezing costs only the paths an update changed, and the frozen document is returned by `get`
 * without a copy. Pass documents you will not mutate afterwards (the engine's always qualify).
 *
 * @example
 * ```ts
 * const shadows = new MemoryShadowStore();
 * const r = applyShadowUpdate(undefined, { state: { reported: { on: true } } }, { now: clock.now() });
 * if (r.ok) await shadows.compareAndSet({ tenantId: 'acme' }, 'pump-7', undefined, 0, r.document);
 * ```
 */
export class MemoryShadowStore implements ShadowStore {
  readonly #things = new Map<string, ThingSlot>();
  readonly #byTenant = new Map<string, SortedKeys>();
  // Tenant ids are interned so that 60,000 slots share one string per tenant.
  readonly #tenantIds = new Map<string, string>();

  /** Number of things that hold at least one shadow or tombstone. */
  get size(): number {
    return this.#things.size;
  }

  /** {@inheritDoc ShadowStore.get} */
  async get(ctx: TenantContext, thingName: string, shadowName?: string): Promise<StoredShadow | undefined> {
    const api = 'ShadowStore.get';
    const tenantId = tenantOf(ctx, api);
    const slot = this.#slot(api, tenantId, thingName, shadowName);
    if (slot === undefined) return undefined;
    return shadowName === undefined ? slot.classic : slot.named?.get(shadowName);
  }

  /** {@inheritDoc ShadowStore.compareAndSet} */
  async compareAndSet(ctx: TenantContext, thingName: string, shadowName: string | undefined, expectedVersion: number, next: StoredShadow): Promise<CompareAndSetResult> {
    const api = 'ShadowStore.compareAndSet';
    const tenantId = tenantOf(ctx, api);
    const slot = this.#slot(api, tenantId, thingName, shadowName);
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new FleetError('INVALID_ARGUMENT', `${api}: expectedVersion must be an integer ≥ 0 (0 for a shadow that does not exist yet), got ${String(expectedVersion)}`, { status: 400 });
    }
    const current = slot === undefined ? undefined : shadowName === undefined ? slot.classic : slot.named?.get(shadowName);
    checkShadowShape(api, next, expectedVersion);
    if ((current?.version ?? 0) !== expectedVersion) return { ok: false, current };
    checkAndFreezeDocument(api, next, current);
    this.#write(slot ?? this.#claim(tenantId, thingName), thingName, shadowName, next);
    return { ok: true };
  }

  /** {@inheritDoc ShadowStore.delete} */
  async delete(ctx: TenantContext, thingName: string, shadowName?: string, expectedVersion?: number): Promise<DeleteShadowOutcome> {
    const api = 'ShadowStore.delete';
    const tenantId = tenantOf(ctx, api);
    const slot = this.#slot(api, tenantId, thingName, shadowName);
    if (expectedVersion !== undefined && (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)) {
      throw new FleetError('INVALID_ARGUMENT', `${api}: expectedVersion must be an integer ≥ 0 or omitted, got ${String(expectedVersion)}`, { status: 400 });
    }
    const current = slot === undefined ? undefined : shadowName === undefined ? slot.classic : slot.named?.get(shadowName);
    if (slot === undefined || current === undefined || isTombstone(current) || (expectedVersion !== undefined && current.version !== expectedVersion)) {
      return { ok: false, current };
    }
    const tombstone: ShadowTombstone = Object.freeze({ deleted: true, version: current.version });
    this.#write(slot, thingName, shadowName, tombstone);
    return { ok: true, tombstone };
  }

  /** {@inheritDoc ShadowStore.purge} */
  async purge(ctx: TenantContext, thingName: string): Promise<number> {
    const api = 'ShadowStore.purge';
    const tenantId = tenantOf(ctx, api);
    const slot = this.#slot(api, tenantId, thingName, undefined);
    if (slot === undefined) return 0;
    const keys = this.#byTenant.get(tenantId);
    let removed = 0;
    if (slot.classic !== undefined) {
      keys?.delete(thingName + SEP);
      removed++;
    }
    for (const name of slot.named?.keys() ?? []) {
      keys?.delete(thingName + SEP + name);
      removed++;
    }
    this.#things.delete(thingName);
    return removed;
  }

  /** {@inheritDoc ShadowStore.list} */
  async list(ctx: TenantContext, options: ShadowListOptions = {}): Promise<Page<ShadowRecord>> {
    const api = 'ShadowStore.list';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, LIST, options);
    const includeDeleted = options.includeDeleted === true;
    const read = (key: string): ShadowRecord | undefined => {
      const cut = key.indexOf(SEP);
      const thingName = key.slice(0, cut);
      const name = key.slice(cut + 1);
      const slot = this.#things.get(thingName);
      const shadow = name === '' ? slot?.classic : slot?.named?.get(name);
      if (shadow === undefined || (!includeDeleted && isTombstone(shadow))) return undefined;
      return name === '' ? { tenantId, thingName, shadow } : { tenantId, thingName, shadowName: name, shadow };
    };
    if (options.thingName !== undefined) {
      const slot = this.#slot(api, tenantId, options.thingName, undefined);
      const keys = new SortedKeys();
      if (slot?.classic !== undefined) keys.add(options.thingName + SEP);
      for (const name of slot?.named?.keys() ?? []) keys.add(options.thingName + SEP + name);
      return toPage(tenantId, LIST, keys.page(after, limit, read));
    }
    const keys = this.#byTenant.get(tenantId);
    if (keys === undefined) return { items: [] };
    return toPage(tenantId, LIST, keys.page(after, limit, read));
  }

  // The slot of a thing, after validating names and checking the caller owns it.
  #slot(api: string, tenantId: string, thingName: string, shadowName: string | undefined): ThingSlot | undefined {
    assertThingName(thingName);
    if (shadowName !== undefined) assertShadowName(shadowName);
    const slot = this.#things.get(thingName);
    if (slot !== undefined && slot.tenantId !== tenantId) throw tenantMismatch(api, `thing "${thingName}"`, tenantId);
    return slot;
  }

  #claim(tenantId: string, thingName: string): ThingSlot {
    let interned = this.#tenantIds.get(tenantId);
    if (interned === undefined) {
      interned = tenantId;
      this.#tenantIds.set(tenantId, tenantId);
    }
    const slot: ThingSlot = { tenantId: interned, classic: undefined, named: undefined };
    this.#things.set(thingName, slot);
    return slot;
  }

  #write(slot: ThingSlot, thingName: string, shadowName: string | undefined, value: StoredShadow): void {
    let isNew: boolean;
    if (shadowName === undefined) {
      isNew = slot.classic === undefined;
      slot.classic = value;
    } else {
      slot.named ??= new Map();
      isNew = !slot.named.has(shadowName);
      slot.named.set(shadowName, value);
    }
    if (!isNew) return;
    let keys = this.#byTenant.get(slot.tenantId);
    if (keys === undefined) {
      keys = new SortedKeys();
      this.#byTenant.set(slot.tenantId, keys);
    }
    keys.add(thingName + SEP + (shadowName ?? ''));
  }
}


// JSON data only, frozen in place; subtrees shared with the stored version were checked when stored.
function checkAndFreezeDocument(api: string, next: StoredShadow, current: StoredShadow | undefined): void {
  if (isTombstone(next)) {
    Object.freeze(next);
    return;
  }
  const prev = current === undefined || isTombstone(current) ? undefined : current;
  checkAndFreeze(api, next.state, prev?.state, 'next.state');
  checkAndFreeze(api, next.metadata, prev?.metadata, 'next.metadata');
  Object.freeze(next);
}
