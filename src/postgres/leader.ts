/**
 * Leader election through PostgreSQL: a lease row with an expiry, taken and renewed with one
 * conditional upsert on the injected {@link Clock}. Work that must run once across several
 * service instances (clock-driven rollout steps, the outbox relay) runs on the holder only.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { FleetError, isFleetError } from '../errors.js';
import type { TenantContext } from '../store/tenant.js';
import type { SqlDriver } from './driver.js';
import type { OutboxRelay } from './outbox.js';
import { int } from './sql-common.js';

/** Options of {@link LeaderElection}. */
export interface LeaderElectionOptions {
  /** The lease's name: instances that compete for one lease share it. @defaultValue `'fleetkit'` */
  readonly name?: string;
  /** This instance's id in the lease row (unique per instance). @defaultValue a random UUID */
  readonly holder?: string;
  /** The clock the lease times and the renewal timer run on. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** How long a taken or renewed lease lasts (ms). @defaultValue 15000 */
  readonly leaseMs?: number;
  /** How often the holder renews and the others try to take it (ms, less than half of `leaseMs`). @defaultValue leaseMs / 3 */
  readonly renewEveryMs?: number;
}

/** Why an instance stopped being the leader. */
export type DemotionReason = 'lost' | 'unreachable' | 'stopped';

/** The events of {@link LeaderElection}. */
export interface LeaderElectionEvents {
  /** This instance took the lease: `term` is the lease's term (it grows at every change of holder). */
  elected: [event: { readonly term: number }];
  /**
   * This instance no longer holds the lease: another took it (`lost`), the database could not be
   * reached before the lease would run out (`unreachable`), or {@link LeaderElection.stop} (`stopped`).
   */
  demoted: [event: { readonly term: number; readonly reason: DemotionReason }];
  /** A renewal or takeover attempt failed (the election keeps trying). */
  error: [error: FleetError];
}

// Takes the lease when this holder has it or it has run out; a new holder increments the term.
const ACQUIRE = `INSERT INTO fleetkit_leases AS l (name, holder, term, expires_at, renewed_at) VALUES ($1, $2, 1, $4, $3)
  ON CONFLICT (name) DO UPDATE SET
    term = CASE WHEN l.holder = EXCLUDED.holder THEN l.term ELSE l.term + 1 END,
    holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, renewed_at = EXCLUDED.renewed_at
  WHERE l.holder = EXCLUDED.holder OR l.expires_at <= $3
  RETURNING term`;

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Elects one leader among the instances that share a database, with a **lease row**: the holder
 * renews it every `renewEveryMs`; when it stops renewing (crash, SIGKILL, partition), the lease
 * runs out `leaseMs` after its last renewal and the next instance to try takes it. So a survivor
 * takes over at most `leaseMs + renewEveryMs` after the leader's last renewal. Each change of
 * holder increments the lease's `term` (a fencing number).
 *
 * A leader that cannot reach the database demotes itself (`unreachable`) before its lease could
 * run out — when the next attempt would come after the expiry — so two instances never both
 * believe they lead, provided the instances' clocks agree to well within `renewEveryMs` (NTP).
 *
 * The driver runs as the application role (a member of `fleetkit_app`) or the relay role; the
 * lease table is created by migration `0003_leases.sql`.
 *
 * @example
 * ```ts
 * const election = new LeaderElection(app, { leaseMs: 10_000 });
 * election.onElected(({ term }) => console.log('leading, term', term));
 * await election.start();
 * ```
 */
export class LeaderElection extends EventEmitter<LeaderElectionEvents> {
  readonly #db: SqlDriver;
  readonly #name: string;
  readonly #holder: string;
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #every: number;
  #leader = false;
  #term = 0;
  #expiresAt = 0;
  #timer: TimerHandle | undefined;
  #running = false;
  #attempt: Promise<void> | undefined;

  /**
   * @param driver - the database (application or relay role), migrated
   * @param options - lease name, holder id, clock, lease and renewal times
   * @throws FleetError `INVALID_ARGUMENT` for a bad name, holder or time.
   */
  constructor(driver: SqlDriver, options: LeaderElectionOptions = {}) {
    super();
    const bad = (what: string): never => {
      throw new FleetError('INVALID_ARGUMENT', `new LeaderElection: ${what}`, { status: 400 });
    };
    if (typeof driver?.transaction !== 'function') bad('pass a SqlDriver (openPGlite, openPgPool)');
    const name = options.name ?? 'fleetkit';
    if (typeof name !== 'string' || !NAME.test(name)) bad(`name must be 1–128 characters of A–Z a–z 0–9 _ . : -, got ${JSON.stringify(String(name).slice(0, 80))}`);
    const holder = options.holder ?? randomUUID();
    if (typeof holder !== 'string' || !NAME.test(holder)) bad(`holder must be 1–128 characters of A–Z a–z 0–9 _ . : -, got ${JSON.stringify(String(holder).slice(0, 80))}`);
    const leaseMs = options.leaseMs ?? 15_000;
    if (!Number.isInteger(leaseMs) || leaseMs < 10 || leaseMs > 3_600_000) bad(`leaseMs must be an integer from 10 to 3600000, got ${String(leaseMs)}`);
    const every = options.renewEveryMs ?? Math.floor(leaseMs / 3);
    if (!Number.isInteger(every) || every < 1 || every * 2 >= leaseMs) bad(`renewEveryMs must be an integer ≥ 1 and less than half of leaseMs (${leaseMs}), got ${String(every)}`);
    this.#db = driver;
    this.#name = name;
    this.#holder = holder;
    this.#clock = options.clock ?? systemClock;
    this.#leaseMs = leaseMs;
    this.#every = every;
  }

  /**
   * Whether this instance holds the lease now: elected, and its last renewal's lease has not run
   * out on the clock (a leader whose renewals stall stops being one at the expiry, even before the
   * next attempt reports `demoted`).
   */
  get isLeader(): boolean {
    return this.#leader && this.#clock.now() < this.#expiresAt;
  }

  /** The term of the lease this instance holds, or of the last one it held (0: never elected). */
  get term(): number {
    return this.#term;
  }

  /** This instance's holder id. */
  get holder(): string {
    return this.#holder;
  }

  /** The longest time from the leader's last renewal until a survivor has taken over (ms). */
  get takeoverWithinMs(): number {
    return this.#leaseMs + this.#every;
  }

  /** Calls `fn` whenever this instance is elected; returns a function that removes it. */
  onElected(fn: (event: { readonly term: number }) => void): () => void {
    this.on('elected', fn);
    return () => this.off('elected', fn);
  }

  /** Calls `fn` whenever this instance is demoted; returns a function that removes it. */
  onDemoted(fn: (event: { readonly term: number; readonly reason: DemotionReason }) => void): () => void {
    this.on('demoted', fn);
    return () => this.off('demoted', fn);
  }

  /** Makes the first attempt (resolved when it is done: `isLeader` tells the outcome), then keeps trying and renewing on the clock. Idempotent. */
  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    await this.#tick();
  }

  /** Stops trying and renewing; a leader gives the lease up at once (others may take it at their next attempt) and is demoted (`stopped`). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#attempt;
    if (!this.#leader) return;
    try {
      await this.#db.transaction((tx) => tx.query('UPDATE fleetkit_leases SET expires_at = 0 WHERE name = $1 AND holder = $2', [this.#name, this.#holder]));
    } catch (e) {
      this.#error(e); // the lease runs out by itself
    }
    this.#demote('stopped');
  }

  /** One attempt to take or renew the lease now (the timer makes them every `renewEveryMs`). */
  async tick(): Promise<void> {
    await this.#tick();
  }

  #tick(): Promise<void> {
    const attempt = (this.#attempt ?? Promise.resolve()).then(() => this.#try());
    this.#attempt = attempt;
    return attempt;
  }

  async #try(): Promise<void> {
    if (!this.#running) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = this.#clock.now();
    try {
      const r = await this.#db.transaction((tx) => tx.query<{ term: unknown }>(ACQUIRE, [this.#name, this.#holder, now, now + this.#leaseMs]));
      const row = r.rows[0];
      if (!this.#running) return;
      if (row === undefined) {
        if (this.#leader) this.#demote('lost');
      } else {
        const term = int(row.term);
        this.#expiresAt = now + this.#leaseMs;
        if (this.#leader && term !== this.#term) this.#demote('lost'); // cannot happen without a lapse, but never keep a stale term
        if (!this.#leader) {
          this.#leader = true;
          this.#term = term;
          this.emit('elected', { term });
        }
      }
    } catch (e) {
      this.#error(e);
      // Give up before the lease could run out and another instance take it.
      if (this.#leader && this.#clock.now() + this.#every >= this.#expiresAt) this.#demote('unreachable');
    } finally {
      if (this.#running) this.#timer = this.#clock.setTimeout(() => void this.#tick(), this.#every);
    }
  }

  #demote(reason: DemotionReason): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.emit('demoted', { term: this.#term, reason });
  }

  #error(e: unknown): void {
    if (this.listenerCount('error') === 0) return;
    this.emit('error', isFleetError(e) ? e : new FleetError('INTERNAL', `LeaderElection: ${e instanceof Error ? e.message : String(e)}`, { status: 500, cause: e }));
  }
}

/** What {@link followLeader} drives on the leader: the part of a `RolloutController` it needs. */
export interface LeaderRollouts {
  /** Takes over the tenant's unfinished rollouts from the store. */
  recover(ctx: TenantContext): Promise<number>;
  /** Stops driving every rollout (they stay in the store) and unsubscribes. */
  stop(): Promise<void>;
  /** Subscribes again. */
  start(): Promise<void>;
}

/** Options of {@link followLeader}. */
export interface FollowLeaderOptions {
  /** The fleet's rollout controller (`fleet.rollouts`): on election it recovers `tenants`' rollouts, on demotion it drops them. */
  readonly rollouts?: LeaderRollouts;
  /** The tenants whose rollouts the leader drives. @defaultValue none */
  readonly tenants?: readonly string[];
  /** An outbox relay the leader runs (started on election, stopped on demotion). */
  readonly relay?: OutboxRelay;
  /** Called with a failure of the election-driven work (a recover or relay that failed). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Runs the work that must run once across instances on the elected instance only: on `elected`,
 * `rollouts.recover(tenant)` for each tenant and `relay.start()`; on `demoted`, `relay.stop()` and
 * `rollouts.stop()` + `rollouts.start()` (which forgets the rollouts it drove; they stay in the
 * store for the next leader). Transitions run one after another, in order. Returns a function
 * that detaches it (it does not stop the election).
 *
 * @example
 * ```ts
 * const fleet = await createFleet({ transport, stores: createPostgresStores(app), template, shareGroup: 'fleet' });
 * const election = new LeaderElection(app);
 * followLeader(election, { rollouts: fleet.rollouts, tenants: ['acme'], relay });
 * await election.start();
 * ```
 */
export function followLeader(election: LeaderElection, options: FollowLeaderOptions): () => void {
  if (!(election instanceof LeaderElection)) throw new FleetError('INVALID_ARGUMENT', 'followLeader: pass a LeaderElection', { status: 400 });
  const tenants = options?.tenants ?? [];
  if (!Array.isArray(tenants) || !tenants.every((t) => typeof t === 'string' && t.length > 0)) throw new FleetError('INVALID_ARGUMENT', 'followLeader: tenants must be an array of tenant ids', { status: 400 });
  const report = (e: unknown): void => options.onError?.(e);
  let chain: Promise<void> = Promise.resolve();
  const run = (fn: () => Promise<void>): void => {
    chain = chain.then(fn).catch(report);
  };
  const offElected = election.onElected(() =>
    run(async () => {
      options.relay?.start();
      for (const tenantId of tenants) {
        if (!election.isLeader) return;
        await options.rollouts?.recover({ tenantId });
      }
    }),
  );
  const offDemoted = election.onDemoted(() =>
    run(async () => {
      await options.relay?.stop();
      if (options.rollouts !== undefined) {
        await options.rollouts.stop();
        await options.rollouts.start();
      }
    }),
  );
  return () => {
    offElected();
    offDemoted();
  };
}
