/**
 * `MemoryPresenceStore`: the in-memory {@link PresenceStore}.
 */
import { checkBeats, checkDeviceId, checkDeviceIds, checkLimits, levelUnder, type PresenceBeat, type PresenceRaised, type PresenceRecord, type PresenceStore, type PresenceTouched } from '../presence-store.js';
import { tenantOf, type TenantContext } from '../tenant.js';

interface Entry {
  lastSeen: number;
  level: number;
}

/**
 * The in-memory {@link PresenceStore}: a map per tenant. It serves several `HealthMonitor`s of one
 * process (tests, simulations); instances in separate processes need the PostgreSQL store.
 *
 * @example
 * ```ts
 * const presence = new MemoryPresenceStore();
 * await presence.touch({ tenantId: 'acme' }, [{ deviceId: 'pump-7', at: clock.now() }]);
 * ```
 */
export class MemoryPresenceStore implements PresenceStore {
  readonly #tenants = new Map<string, Map<string, Entry>>();

  /** {@inheritDoc PresenceStore.touch} */
  async touch(ctx: TenantContext, beats: readonly PresenceBeat[]): Promise<readonly PresenceTouched[]> {
    const api = 'MemoryPresenceStore.touch';
    const tenantId = tenantOf(ctx, api);
    const checked = checkBeats(api, beats);
    let devices = this.#tenants.get(tenantId);
    const out: PresenceTouched[] = [];
    for (const { deviceId, at } of checked) {
      const e = devices?.get(deviceId);
      if (e === undefined) {
        if (devices === undefined) this.#tenants.set(tenantId, (devices = new Map()));
        devices.set(deviceId, { lastSeen: at, level: 0 });
        out.push({ deviceId, lastSeen: at, previousLastSeen: undefined, previousLevel: undefined });
      } else if (at > e.lastSeen) {
        out.push({ deviceId, lastSeen: at, previousLastSeen: e.lastSeen, previousLevel: e.level });
        e.lastSeen = at;
        e.level = 0;
      }
    }
    return out;
  }

  /** {@inheritDoc PresenceStore.sweep} */
  async sweep(ctx: TenantContext, limits: readonly number[]): Promise<readonly PresenceRaised[]> {
    const api = 'MemoryPresenceStore.sweep';
    const tenantId = tenantOf(ctx, api);
    const checked = checkLimits(api, limits);
    const out: PresenceRaised[] = [];
    for (const [deviceId, e] of this.#tenants.get(tenantId) ?? []) {
      const level = levelUnder(e.lastSeen, checked);
      if (level <= e.level) continue;
      out.push({ deviceId, lastSeen: e.lastSeen, previousLevel: e.level, level });
      e.level = level;
    }
    return out;
  }

  /** {@inheritDoc PresenceStore.get} */
  async get(ctx: TenantContext, deviceIds: readonly string[]): Promise<readonly PresenceRecord[]> {
    const api = 'MemoryPresenceStore.get';
    const tenantId = tenantOf(ctx, api);
    const ids = checkDeviceIds(api, deviceIds);
    const devices = this.#tenants.get(tenantId);
    const out: PresenceRecord[] = [];
    for (const deviceId of ids) {
      const e = devices?.get(deviceId);
      if (e !== undefined) out.push({ deviceId, lastSeen: e.lastSeen, level: e.level });
    }
    return out;
  }

  /** {@inheritDoc PresenceStore.countByLevel} */
  async countByLevel(ctx: TenantContext): Promise<readonly number[]> {
    const tenantId = tenantOf(ctx, 'MemoryPresenceStore.countByLevel');
    const counts: number[] = [];
    for (const e of this.#tenants.get(tenantId)?.values() ?? []) {
      while (counts.length <= e.level) counts.push(0);
      counts[e.level] = (counts[e.level] as number) + 1;
    }
    return counts;
  }

  /** {@inheritDoc PresenceStore.remove} */
  async remove(ctx: TenantContext, deviceId: string): Promise<boolean> {
    const api = 'MemoryPresenceStore.remove';
    const tenantId = tenantOf(ctx, api);
    checkDeviceId(api, deviceId);
    const devices = this.#tenants.get(tenantId);
    const removed = devices?.delete(deviceId) ?? false;
    if (devices?.size === 0) this.#tenants.delete(tenantId);
    return removed;
  }

  /** {@inheritDoc PresenceStore.tenants} */
  async tenants(): Promise<readonly string[]> {
    return [...this.#tenants.keys()].sort();
  }
}
