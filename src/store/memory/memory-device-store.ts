/**
 * `MemoryDeviceStore`: the in-memory {@link DeviceStore}.
 */
import { z } from 'zod';
import { FleetError } from '../../errors.js';
import { tenantIdSchema } from '../../ids.js';
import { caRegistrationSchema } from '../../lifecycle/ca-registry.js';
import { lifecycleStateSchema, type LifecycleState } from '../../lifecycle/states.js';
import { revocationEntrySchema, revocationKey, type RevocationEntry } from '../../lifecycle/revocation.js';
import { enrollmentGroupSchema } from '../../lifecycle/symmetric-key.js';
import { thingNameSchema } from '../../shadow/names.js';
import type { DeviceFilter, DeviceInput, DeviceLocation, DeviceQueryOptions, DeviceStats, DeviceStore, RegisteredDevice, StoredCa, StoredEnrollmentGroup } from '../device-store.js';
import { frozenCopy } from '../isolation.js';
import { SortedKeys, decodeCursor, listOptions, pageLimit, toPage, type Page, type PageOptions } from '../page.js';
import { checkRecordTenant, tenantMismatch, tenantOf, type TenantContext } from '../tenant.js';
import { Interner, checkId, oneOrMany, checkRevision, labelSchema, parseRecord, revisionConflict, timeSchema } from '../validate.js';

const healthSchema = z.enum(['good', 'warning', 'critical']);

/** zod schema of a {@link DeviceInput} (unknown fields are refused, so a typo cannot be stored silently). */
export const deviceInputSchema: z.ZodType<DeviceInput> = z.strictObject({
  deviceId: thingNameSchema,
  tenantId: tenantIdSchema,
  state: lifecycleStateSchema,
  since: timeSchema,
  updatedAt: timeSchema.exactOptional(),
  attributes: z.record(labelSchema, z.string().max(800)).refine((a) => Object.keys(a).length <= 100, 'at most 100 attributes').exactOptional(),
  tags: z
    .array(labelSchema)
    .max(50)
    .refine((t) => new Set(t).size === t.length, 'tags must not repeat')
    .exactOptional(),
  firmwareVersion: labelSchema.exactOptional(),
  hardware: labelSchema.exactOptional(),
  health: healthSchema.exactOptional(),
  lastSeen: timeSchema.exactOptional(),
  identity: z.looseObject({ kind: z.enum(['x509', 'symmetric-key']), fingerprint: z.string().min(1).max(256) }).exactOptional(),
  desiredConfig: z.record(z.string(), z.unknown()).exactOptional(),
  policies: z.array(labelSchema).max(100).exactOptional(),
  home: z.looseObject({ region: z.string(), endpoint: z.string(), topics: z.record(z.string(), z.string()) }).exactOptional(),
  template: labelSchema.exactOptional(),
  provisionedAt: timeSchema.exactOptional(),
  revision: z.number().exactOptional(),
}) as unknown as z.ZodType<DeviceInput>;

/** @internal zod schema of a {@link StoredCa} (shared with the SQL stores). */
export const caSchema = z.strictObject({
  tenantId: tenantIdSchema,
  caId: labelSchema,
  pem: z.string().min(1).max(65_536),
  status: z.enum(['active', 'inactive']),
});

const EMPTY: readonly string[] = Object.freeze([]);
const NO_ATTRIBUTES: Readonly<Record<string, string>> = Object.freeze({});

interface TenantData {
  readonly devices: SortedKeys;
  readonly cas: Map<string, StoredCa>;
  readonly casKeys: SortedKeys;
  readonly groups: Map<string, StoredEnrollmentGroup>;
  readonly groupKeys: SortedKeys;
  readonly revocations: Map<string, RevocationEntry>;
  readonly revocationKeys: SortedKeys;
  readonly nonces: Map<string, number>;
}

/**
 * The in-memory {@link DeviceStore}. Records are validated, copied and frozen on write (the
 * caller's object is left as it was); reads return the frozen records without copying. Strings
 * that repeat across devices (tenant ids, states, firmware versions, tags) are stored once.
 * Queries scan the tenant's devices in id order, so a selective filter costs O(tenant) per page.
 */
export class MemoryDeviceStore implements DeviceStore {
  readonly #devices = new Map<string, RegisteredDevice>();
  readonly #tenants = new Map<string, TenantData>();
  readonly #strings = new Interner();

  /** Number of registered devices across tenants. */
  get size(): number {
    return this.#devices.size;
  }

  /** {@inheritDoc DeviceStore.create} */
  async create(ctx: TenantContext, device: DeviceInput): Promise<RegisteredDevice> {
    const api = 'DeviceStore.create';
    const tenantId = tenantOf(ctx, api);
    const input = this.#parse(api, tenantId, device);
    const existing = this.#devices.get(input.deviceId);
    if (existing !== undefined) {
      if (existing.tenantId !== tenantId) throw tenantMismatch(api, `device "${input.deviceId}"`, tenantId);
      throw new FleetError('ALREADY_EXISTS', `${api}: device "${input.deviceId}" is already registered; use update() with its revision`, { status: 409, details: { deviceId: input.deviceId } });
    }
    const stored = this.#record(input, 1);
    this.#devices.set(stored.deviceId, stored);
    this.#tenant(tenantId).devices.add(stored.deviceId);
    return stored;
  }

  /** {@inheritDoc DeviceStore.get} */
  async get(ctx: TenantContext, deviceId: string): Promise<RegisteredDevice | undefined> {
    const api = 'DeviceStore.get';
    return this.#owned(api, tenantOf(ctx, api), deviceId);
  }

  /** {@inheritDoc DeviceStore.update} */
  async update(ctx: TenantContext, device: DeviceInput, expectedRevision: number): Promise<RegisteredDevice> {
    const api = 'DeviceStore.update';
    const tenantId = tenantOf(ctx, api);
    const expected = checkRevision(api, 'expectedRevision', expectedRevision);
    const input = this.#parse(api, tenantId, device);
    const current = this.#owned(api, tenantId, input.deviceId);
    if (current === undefined) {
      throw new FleetError('DEVICE_NOT_FOUND', `${api}: device "${input.deviceId}" is not registered; create() it first`, { status: 404, details: { deviceId: input.deviceId } });
    }
    if (current.revision !== expected) throw revisionConflict(api, `device "${input.deviceId}"`, expected, current.revision);
    const stored = this.#record(input, expected + 1);
    this.#devices.set(stored.deviceId, stored);
    return stored;
  }

  /** {@inheritDoc DeviceStore.remove} */
  async remove(ctx: TenantContext, deviceId: string): Promise<boolean> {
    const api = 'DeviceStore.remove';
    const tenantId = tenantOf(ctx, api);
    if (this.#owned(api, tenantId, deviceId) === undefined) return false;
    this.#devices.delete(deviceId);
    this.#tenants.get(tenantId)?.devices.delete(deviceId);
    return true;
  }

  /** {@inheritDoc DeviceStore.locate} */
  async locate(deviceId: string): Promise<DeviceLocation | undefined> {
    if (typeof deviceId !== 'string') return undefined;
    const d = this.#devices.get(deviceId);
    return d === undefined ? undefined : { tenantId: d.tenantId, state: d.state };
  }

  /** {@inheritDoc DeviceStore.query} */
  async query(ctx: TenantContext, options: DeviceQueryOptions = {}): Promise<Page<RegisteredDevice>> {
    const api = 'DeviceStore.query';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'devices', options);
    const match = matcher(api, options.filter);
    const keys = this.#tenants.get(tenantId)?.devices;
    if (keys === undefined) return { items: [] };
    return toPage(
      tenantId,
      'devices',
      keys.page(after, limit, (id) => {
        const d = this.#devices.get(id);
        return d !== undefined && match(d) ? d : undefined;
      }),
    );
  }

  /** {@inheritDoc DeviceStore.count} */
  async count(ctx: TenantContext, filter?: DeviceFilter): Promise<number> {
    const api = 'DeviceStore.count';
    const tenantId = tenantOf(ctx, api);
    const match = matcher(api, filter);
    let n = 0;
    for (const id of this.#tenants.get(tenantId)?.devices.sorted() ?? EMPTY) {
      const d = this.#devices.get(id);
      if (d !== undefined && match(d)) n++;
    }
    return n;
  }

  /** {@inheritDoc DeviceStore.stats} */
  async stats(ctx: TenantContext): Promise<DeviceStats> {
    const tenantId = tenantOf(ctx, 'DeviceStore.stats');
    const byState: Partial<Record<LifecycleState, number>> = {};
    const byHealth: Record<string, number> = {};
    const byFirmware: Record<string, number> = {};
    let total = 0;
    for (const id of this.#tenants.get(tenantId)?.devices.sorted() ?? EMPTY) {
      const d = this.#devices.get(id);
      if (d === undefined) continue;
      total++;
      byState[d.state] = (byState[d.state] ?? 0) + 1;
      const h = d.health ?? 'unknown';
      byHealth[h] = (byHealth[h] ?? 0) + 1;
      const f = d.firmwareVersion ?? 'unknown';
      byFirmware[f] = (byFirmware[f] ?? 0) + 1;
    }
    return { total, byState, byHealth, byFirmware };
  }

  /** {@inheritDoc DeviceStore.putCa} */
  async putCa(ctx: TenantContext, ca: StoredCa): Promise<void> {
    const api = 'DeviceStore.putCa';
    const tenantId = tenantOf(ctx, api);
    checkRecordTenant(api, tenantId, ca, 'the CA');
    const parsed = parseRecord(api, 'ca', caSchema, ca);
    // The same status vocabulary as the lifecycle core's CA registrations.
    caRegistrationSchema.parse({ id: parsed.caId, pem: parsed.pem, status: parsed.status });
    const t = this.#tenant(tenantId);
    t.cas.set(parsed.caId, frozenCopy(parsed));
    t.casKeys.add(parsed.caId);
  }

  /** {@inheritDoc DeviceStore.getCa} */
  async getCa(ctx: TenantContext, caId: string): Promise<StoredCa | undefined> {
    const api = 'DeviceStore.getCa';
    const tenantId = tenantOf(ctx, api);
    return this.#tenants.get(tenantId)?.cas.get(checkId(api, 'caId', caId));
  }

  /** {@inheritDoc DeviceStore.listCas} */
  async listCas(ctx: TenantContext, options?: PageOptions): Promise<Page<StoredCa>> {
    const api = 'DeviceStore.listCas';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const t = this.#tenants.get(tenantId);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'cas', options);
    if (t === undefined) return { items: [] };
    return toPage(tenantId, 'cas', t.casKeys.page(after, limit, (k) => t.cas.get(k)));
  }

  /** {@inheritDoc DeviceStore.removeCa} */
  async removeCa(ctx: TenantContext, caId: string): Promise<boolean> {
    const api = 'DeviceStore.removeCa';
    const t = this.#tenants.get(tenantOf(ctx, api));
    const id = checkId(api, 'caId', caId);
    if (t === undefined || !t.cas.delete(id)) return false;
    t.casKeys.delete(id);
    return true;
  }

  /** {@inheritDoc DeviceStore.putEnrollmentGroup} */
  async putEnrollmentGroup(ctx: TenantContext, group: StoredEnrollmentGroup): Promise<void> {
    const api = 'DeviceStore.putEnrollmentGroup';
    const tenantId = tenantOf(ctx, api);
    checkRecordTenant(api, tenantId, group, 'the enrollment group');
    const parsed = parseRecord(api, 'group', enrollmentGroupSchema, group);
    const t = this.#tenant(tenantId);
    t.groups.set(parsed.groupId, frozenCopy(parsed));
    t.groupKeys.add(parsed.groupId);
  }

  /** {@inheritDoc DeviceStore.getEnrollmentGroup} */
  async getEnrollmentGroup(ctx: TenantContext, groupId: string): Promise<StoredEnrollmentGroup | undefined> {
    const api = 'DeviceStore.getEnrollmentGroup';
    return this.#tenants.get(tenantOf(ctx, api))?.groups.get(checkId(api, 'groupId', groupId));
  }

  /** {@inheritDoc DeviceStore.listEnrollmentGroups} */
  async listEnrollmentGroups(ctx: TenantContext, options?: PageOptions): Promise<Page<StoredEnrollmentGroup>> {
    const api = 'DeviceStore.listEnrollmentGroups';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'groups', options);
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return { items: [] };
    return toPage(tenantId, 'groups', t.groupKeys.page(after, limit, (k) => t.groups.get(k)));
  }

  /** {@inheritDoc DeviceStore.removeEnrollmentGroup} */
  async removeEnrollmentGroup(ctx: TenantContext, groupId: string): Promise<boolean> {
    const api = 'DeviceStore.removeEnrollmentGroup';
    const t = this.#tenants.get(tenantOf(ctx, api));
    const id = checkId(api, 'groupId', groupId);
    if (t === undefined || !t.groups.delete(id)) return false;
    t.groupKeys.delete(id);
    return true;
  }

  /** {@inheritDoc DeviceStore.addRevocations} */
  async addRevocations(ctx: TenantContext, entries: readonly RevocationEntry[]): Promise<number> {
    const api = 'DeviceStore.addRevocations';
    const tenantId = tenantOf(ctx, api);
    if (!Array.isArray(entries)) throw new FleetError('INVALID_ARGUMENT', `${api}: entries must be an array of revocation entries`, { status: 400 });
    // Validate all first: a bad entry must leave the list unchanged.
    const parsed = entries.map((e, i) => parseRecord(api, `entries[${i}]`, revocationEntrySchema, e));
    const t = this.#tenant(tenantId);
    let added = 0;
    for (const entry of parsed) {
      const key = revocationKey(entry);
      if (t.revocations.has(key)) continue;
      t.revocations.set(key, frozenCopy(entry));
      t.revocationKeys.add(key);
      added++;
    }
    return added;
  }

  /** {@inheritDoc DeviceStore.isRevoked} */
  async isRevoked(ctx: TenantContext, entry: RevocationEntry): Promise<boolean> {
    const api = 'DeviceStore.isRevoked';
    const tenantId = tenantOf(ctx, api);
    const parsed = parseRecord(api, 'entry', revocationEntrySchema, entry);
    return this.#tenants.get(tenantId)?.revocations.has(revocationKey(parsed)) ?? false;
  }

  /** {@inheritDoc DeviceStore.listRevocations} */
  async listRevocations(ctx: TenantContext, options?: PageOptions): Promise<Page<RevocationEntry>> {
    const api = 'DeviceStore.listRevocations';
    options = listOptions(api, options);
    const tenantId = tenantOf(ctx, api);
    const limit = pageLimit(api, options);
    const after = decodeCursor(api, tenantId, 'revocations', options);
    const t = this.#tenants.get(tenantId);
    if (t === undefined) return { items: [] };
    return toPage(tenantId, 'revocations', t.revocationKeys.page(after, limit, (k) => t.revocations.get(k)));
  }

  /** {@inheritDoc DeviceStore.claimNonce} */
  async claimNonce(ctx: TenantContext, key: string, at: number): Promise<boolean> {
    const api = 'DeviceStore.claimNonce';
    const tenantId = tenantOf(ctx, api);
    checkId(api, 'key', key, 512);
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new FleetError('INVALID_ARGUMENT', `${api}: at must be a finite epoch-ms time, got ${String(at)}`, { status: 400 });
    const nonces = this.#tenant(tenantId).nonces;
    if (nonces.has(key)) return false;
    nonces.set(key, at);
    return true;
  }

  /** {@inheritDoc DeviceStore.nonces} */
  async nonces(ctx: TenantContext, since = -Infinity): Promise<ReadonlyMap<string, number>> {
    const tenantId = tenantOf(ctx, 'DeviceStore.nonces');
    const out = new Map<string, number>();
    for (const [k, t] of this.#tenants.get(tenantId)?.nonces ?? new Map<string, number>()) if (t >= since) out.set(k, t);
    return out;
  }

  /** {@inheritDoc DeviceStore.pruneNonces} */
  async pruneNonces(ctx: TenantContext, before: number): Promise<number> {
    const api = 'DeviceStore.pruneNonces';
    const tenantId = tenantOf(ctx, api);
    if (typeof before !== 'number' || Number.isNaN(before)) throw new FleetError('INVALID_ARGUMENT', `${api}: before must be an epoch-ms time, got ${String(before)}`, { status: 400 });
    const nonces = this.#tenants.get(tenantId)?.nonces;
    let removed = 0;
    for (const [k, t] of nonces ?? []) {
      if (t < before) {
        nonces?.delete(k);
        removed++;
      }
    }
    return removed;
  }

  #parse(api: string, tenantId: string, device: DeviceInput): DeviceInput {
    checkRecordTenant(api, tenantId, device, 'the device');
    return parseRecord(api, 'device', deviceInputSchema, device);
  }

  // The device if the caller's tenant owns it; TENANT_MISMATCH if another tenant does.
  #owned(api: string, tenantId: string, deviceId: string): RegisteredDevice | undefined {
    checkId(api, 'deviceId', deviceId);
    const d = this.#devices.get(deviceId);
    if (d !== undefined && d.tenantId !== tenantId) throw tenantMismatch(api, `device "${deviceId}"`, tenantId);
    return d;
  }

  // A compact frozen copy: repeated strings interned, empty attributes/tags shared.
  #record(input: DeviceInput, revision: number): RegisteredDevice {
    const s = this.#strings;
    const copy = frozenCopy({ ...input, revision }) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(copy)) {
      const v = copy[key];
      out[key] = typeof v === 'string' && key !== 'deviceId' ? s.intern(v) : v;
    }
    const attributes = input.attributes;
    out['attributes'] = attributes === undefined || Object.keys(attributes).length === 0 ? NO_ATTRIBUTES : copy['attributes'];
    const tags = input.tags;
    out['tags'] = tags === undefined || tags.length === 0 ? EMPTY : Object.freeze(tags.map((t) => s.intern(t)));
    return Object.freeze(out) as unknown as RegisteredDevice;
  }

  #tenant(tenantId: string): TenantData {
    let t = this.#tenants.get(tenantId);
    if (t === undefined) {
      t = {
        devices: new SortedKeys(),
        cas: new Map(),
        casKeys: new SortedKeys(),
        groups: new Map(),
        groupKeys: new SortedKeys(),
        revocations: new Map(),
        revocationKeys: new SortedKeys(),
        nonces: new Map(),
      };
      this.#tenants.set(tenantId, t);
    }
    return t;
  }
}

function matcher(api: string, filter: DeviceFilter | undefined): (d: RegisteredDevice) => boolean {
  if (filter === undefined) return () => true;
  if (typeof filter !== 'object' || filter === null) throw new FleetError('INVALID_ARGUMENT', `${api}: filter must be an object`, { status: 400 });
  const states = oneOrMany(filter.state);
  const { health, firmwareVersion, tag, lastSeenBefore } = filter;
  return (d) =>
    (states === undefined || states.has(d.state)) &&
    (health === undefined || (d.health ?? 'unknown') === health) &&
    (firmwareVersion === undefined || d.firmwareVersion === firmwareVersion) &&
    (tag === undefined || d.tags.includes(tag)) &&
    (lastSeenBefore === undefined || d.lastSeen === undefined || d.lastSeen < lastSeenBefore);
}
