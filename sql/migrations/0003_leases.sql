-- fleetkit 0003: leases for leader election (src/postgres/leader.ts).
--
-- One row per lease name: the instance holding it, a term that grows by one at every change of
-- holder (a fencing number), and when the lease runs out (milliseconds since the epoch, on the
-- instances' clocks). An instance takes the lease with one conditional upsert: only when it
-- already holds it or when it has run out. The rows hold no tenant data (a lease covers every
-- tenant an instance serves), so the one policy lets the application and relay roles read and
-- write every row; row-level security is still enabled and forced, as on every table.

CREATE TABLE fleetkit_leases (
  name text COLLATE "C" PRIMARY KEY,
  holder text NOT NULL,
  term bigint NOT NULL,
  expires_at double precision NOT NULL,
  renewed_at double precision NOT NULL
);

ALTER TABLE fleetkit_leases ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleetkit_leases FORCE ROW LEVEL SECURITY;
CREATE POLICY lease_holders ON fleetkit_leases TO fleetkit_app, fleetkit_relay USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE ON fleetkit_leases TO fleetkit_app, fleetkit_relay;
