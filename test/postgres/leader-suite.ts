/**
 * Leader election through a lease row, for either driver: election, renewal on the injected
 * clock, takeover after the leader stops renewing, release on stop, self-demotion when the
 * database is unreachable, and the law that at no instant two instances both lead.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedClock, type Clock } from '../../src/clock.js';
import { FleetError, isFleetError } from '../../src/errors.js';
import { LeaderElection, OutboxRelay, PostgresShadowStore, followLeader, type DemotionReason, type RelayedMessage, type SqlDriver } from '../../src/postgres/index.js';

/** A database for the leader tests. */
export interface LeaderDatabase {
  /** The application driver. */
  readonly app: SqlDriver;
  /** A driver as a member of fleetkit_relay. */
  relay(): Promise<SqlDriver>;
  /** Empties the lease and store tables. */
  reset(): Promise<void>;
}

const T0 = 1_800_000_000_000;

/** A driver whose every call fails with STORE_UNAVAILABLE while `down` is set. */
function flaky(driver: SqlDriver): SqlDriver & { down: boolean } {
  const unavailable = (): FleetError => new FleetError('STORE_UNAVAILABLE', 'the database is unreachable (test)', { status: 503 });
  const d: SqlDriver & { down: boolean } = {
    down: false,
    kind: driver.kind,
    query: <R>(text: string, params?: readonly unknown[]) => (d.down ? Promise.reject(unavailable()) : driver.query<R>(text, params)),
    transaction: ((fn, options) => (d.down ? Promise.reject(unavailable()) : driver.transaction(fn, options))) as SqlDriver['transaction'],
    exec: (sql: string) => (d.down ? Promise.reject(unavailable()) : driver.exec(sql)),
    close: () => Promise.resolve(),
  };
  return d;
}

function record(e: LeaderElection): { elected: number[]; demoted: DemotionReason[] } {
  const log = { elected: [] as number[], demoted: [] as DemotionReason[] };
  e.onElected(({ term }) => log.elected.push(term));
  e.onDemoted(({ reason }) => log.demoted.push(reason));
  return log;
}

/** Registers the leader tests against `open`'s database. */
export function leaderSuite(label: string, open: () => Promise<LeaderDatabase>): void {
  describe(`${label}: leader election through a lease row`, () => {
    it('one of two instances is elected; the leader renews on the clock and keeps its term', async () => {
      const db = await open();
      await db.reset();
      const clock = new SimulatedClock(T0);
      const a = new LeaderElection(db.app, { clock, holder: 'a', leaseMs: 3000, renewEveryMs: 1000 });
      const b = new LeaderElection(db.app, { clock, holder: 'b', leaseMs: 3000, renewEveryMs: 1000 });
      const la = record(a);
      const lb = record(b);
      await a.start();
      await b.start();
      expect([a.isLeader, b.isLeader]).toEqual([true, false]);
      expect(a.term).toBe(1);
      for (let i = 0; i < 10; i++) {
        clock.advance(1000);
        await a.tick();
        await b.tick();
        expect([a.isLeader, b.isLeader]).toEqual([true, false]);
      }
      expect(la).toEqual({ elected: [1], demoted: [] });
      expect(lb).toEqual({ elected: [], demoted: [] });
      expect(a.takeoverWithinMs).toBe(4000);
      await a.stop();
      await b.stop();
    });

    it('a leader that stops renewing (killed) is replaced within leaseMs + renewEveryMs, with the next term; when it wakes it learns it lost', async () => {
      const db = await open();
      await db.reset();
      const frozen = new SimulatedClock(T0); // the killed process: its clock and timers stand still
      const clock = new SimulatedClock(T0);
      const a = new LeaderElection(db.app, { clock: frozen, holder: 'a', leaseMs: 3000, renewEveryMs: 1000 });
      const b = new LeaderElection(db.app, { clock, holder: 'b', leaseMs: 3000, renewEveryMs: 1000 });
      const la = record(a);
      const lb = record(b);
      await a.start();
      await b.start();
      expect(b.isLeader).toBe(false);
      let tookOver: number | undefined;
      for (let t = 0; t <= 4000 && tookOver === undefined; t += 1000) {
        await b.tick();
        if (b.isLeader) tookOver = clock.now() - T0;
        clock.advance(1000);
      }
      expect(tookOver).toBe(3000); // the lease of a's last renewal (at T0) ran out at T0 + 3000
      expect(tookOver!).toBeLessThanOrEqual(b.takeoverWithinMs);
      expect(b.term).toBe(2);
      frozen.set(T0 + 5000);
      expect(a.isLeader).toBe(false); // its lease ran out on its own clock, before its next attempt
      await a.tick();
      expect(la).toEqual({ elected: [1], demoted: ['lost'] });
      expect(lb).toEqual({ elected: [2], demoted: [] });
      await a.stop();
      await b.stop();
    });

    it('stop gives the lease up at once: another instance takes it at its next attempt', async () => {
      const db = await open();
      await db.reset();
      const clock = new SimulatedClock(T0);
      const a = new LeaderElection(db.app, { clock, holder: 'a', leaseMs: 60_000, renewEveryMs: 1000 });
      const b = new LeaderElection(db.app, { clock, holder: 'b', leaseMs: 60_000, renewEveryMs: 1000 });
      const la = record(a);
      await a.start();
      await b.start();
      await a.stop();
      expect(la.demoted).toEqual(['stopped']);
      await b.tick();
      expect(b.isLeader).toBe(true);
      expect(b.term).toBe(2);
      await b.stop();
    });

    it('a leader that cannot reach the database demotes itself before its lease could run out; nobody takes it earlier', async () => {
      const db = await open();
      await db.reset();
      const clock = new SimulatedClock(T0);
      const link = flaky(db.app);
      const a = new LeaderElection(link, { clock, holder: 'a', leaseMs: 3000, renewEveryMs: 1000 });
      const b = new LeaderElection(db.app, { clock, holder: 'b', leaseMs: 3000, renewEveryMs: 1000 });
      const errors: FleetError[] = [];
      a.on('error', (e) => errors.push(e));
      const la = record(a);
      await a.start();
      await b.start();
      link.down = true;
      let demotedAt: number | undefined;
      a.onDemoted(() => (demotedAt = clock.now() - T0));
      for (let t = 1000; t <= 3000; t += 1000) {
        clock.advance(1000);
        await a.tick();
        await b.tick();
        expect(a.isLeader && b.isLeader).toBe(false);
        if (clock.now() - T0 < 3000) expect(b.isLeader).toBe(false);
      }
      expect(la.demoted).toEqual(['unreachable']);
      expect(demotedAt!).toBeLessThan(3000);
      expect(b.isLeader).toBe(true);
      expect(errors.length).toBeGreaterThan(0);
      expect(isFleetError(errors[0], 'STORE_UNAVAILABLE')).toBe(true);
      link.down = false;
      await a.tick();
      expect(a.isLeader).toBe(false);
      await a.stop();
      await b.stop();
    });

    it('law: whatever the interleaving of attempts, clock steps, outages and restarts, at no instant do two instances lead, and terms only grow', async () => {
      const db = await open();
      const action = fc.oneof(
        fc.record({ kind: fc.constant('tick' as const), who: fc.integer({ min: 0, max: 2 }) }),
        fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 2500 }) }),
        fc.record({ kind: fc.constant('outage' as const), who: fc.integer({ min: 0, max: 2 }), down: fc.boolean() }),
        fc.record({ kind: fc.constant('restart' as const), who: fc.integer({ min: 0, max: 2 }) }),
        fc.record({ kind: fc.constant('stall' as const), who: fc.integer({ min: 0, max: 2 }), stalled: fc.boolean() }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 40 }), async (actions) => {
          await db.reset();
          const clock = new SimulatedClock(T0);
          const links = [flaky(db.app), flaky(db.app), flaky(db.app)];
          // A stalled process (paused, swapped out): time passes, its timers do not fire until it wakes.
          const stalled = [false, false, false];
          const held: (() => void)[][] = [[], [], []];
          const clockOf = (i: number): Clock => ({
            now: () => clock.now(),
            setTimeout: (fn, ms) => clock.setTimeout(() => (stalled[i] ? held[i]!.push(fn) : fn()), ms),
            clearTimeout: (h) => clock.clearTimeout(h),
          });
          const make = (i: number): LeaderElection => new LeaderElection(links[i]!, { clock: clockOf(i), holder: `i${i}`, leaseMs: 2000, renewEveryMs: 500 });
          const nodes = [make(0), make(1), make(2)];
          let lastTerm = 0;
          const watch = (e: LeaderElection): void => {
            e.onElected(({ term }) => {
              expect(term).toBeGreaterThan(lastTerm);
              lastTerm = term;
            });
          };
          nodes.forEach(watch);
          for (const n of nodes) await n.start();
          try {
            for (const a of actions) {
              if (a.kind === 'tick') {
                if (!stalled[a.who]) await nodes[a.who]!.tick();
              } else if (a.kind === 'stall') {
                stalled[a.who] = a.stalled;
                if (!a.stalled) for (const fn of held[a.who]!.splice(0)) fn();
              } else if (a.kind === 'advance') clock.advance(a.ms);
              else if (a.kind === 'outage') links[a.who]!.down = a.down;
              else {
                await nodes[a.who]!.stop();
                nodes[a.who] = make(a.who);
                watch(nodes[a.who]!);
                await nodes[a.who]!.start();
              }
              expect(nodes.filter((n) => n.isLeader).length).toBeLessThanOrEqual(1);
            }
          } finally {
            stalled.fill(false);
            for (const l of links) l.down = false;
            for (const n of nodes) await n.stop();
          }
        }),
        { numRuns: 40 },
      );
    }, 120_000);

    it('followLeader: rollouts are recovered and the relay runs on the leader only; demotion drops them', async () => {
      const db = await open();
      await db.reset();
      const clock = new SimulatedClock(T0);
      const calls: string[] = [];
      const rollouts = {
        recover: async (ctx: { tenantId: string }) => {
          calls.push(`recover ${ctx.tenantId}`);
          return 0;
        },
        stop: async () => void calls.push('stop'),
        start: async () => void calls.push('start'),
      };
      const published: RelayedMessage[] = [];
      const relay = new OutboxRelay(await db.relay(), { publish: async (m) => void published.push(m), clock, pollEveryMs: 50 });
      const a = new LeaderElection(db.app, { clock, holder: 'a', leaseMs: 3000, renewEveryMs: 1000 });
      const errors: unknown[] = [];
      const detach = followLeader(a, { rollouts, tenants: ['acme', 'globex'], relay, onError: (e) => errors.push(e) });
      const shadows = new PostgresShadowStore(db.app);
      const doc = { state: { reported: { on: true } }, metadata: { reported: { on: { timestamp: 1 } } }, version: 1 };
      await shadows.compareAndSet({ tenantId: 'acme' }, 'pump-1', undefined, 0, doc, { outbox: [{ topic: 't/1', payload: 'one' }] });
      await a.start();
      for (let i = 0; i < 50 && (published.length === 0 || calls.length < 2); i++) await new Promise((r) => setTimeout(r, 10));
      expect(calls).toEqual(['recover acme', 'recover globex']);
      expect(published.map((m) => m.payload)).toEqual(['one']);
      expect(relay.running).toBe(true);
      await a.stop();
      for (let i = 0; i < 50 && relay.running; i++) await new Promise((r) => setTimeout(r, 10));
      for (let i = 0; i < 50 && calls.length < 4; i++) await new Promise((r) => setTimeout(r, 10));
      expect(relay.running).toBe(false);
      expect(calls).toEqual(['recover acme', 'recover globex', 'stop', 'start']);
      expect(errors).toEqual([]);
      detach();
    });

    it('bad options are INVALID_ARGUMENT with what to fix', async () => {
      const db = await open();
      const bad = (o: object): unknown => {
        try {
          new LeaderElection(db.app, o);
          return undefined;
        } catch (e) {
          return e;
        }
      };
      for (const o of [{ name: "x'; DROP TABLE fleetkit_leases; --" }, { holder: '' }, { leaseMs: 5 }, { leaseMs: 3000, renewEveryMs: 1500 }, { renewEveryMs: 0 }]) {
        const e = bad(o);
        expect(isFleetError(e, 'INVALID_ARGUMENT')).toBe(true);
      }
      expect(() => followLeader({} as LeaderElection, {})).toThrow(/LeaderElection/);
      for (const pollEveryMs of [0, 1.5, -1]) {
        expect(() => new OutboxRelay(db.app, { publish: async () => undefined, pollEveryMs })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }) as unknown as Error);
      }
    });
  });
}
