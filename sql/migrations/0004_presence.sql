-- fleetkit 0004: device presence shared by several health monitor instances (src/postgres/presence-store.ts).
--
-- One row per device heard from: the greatest time it was heard from (last_seen, epoch ms) and
-- the silence level the leader's sweep has flagged since (0: heard from). Instances flush the
-- devices they heard since their last flush as one batched upsert that only moves last_seen
-- forward (and then resets the level); the leader raises levels with one UPDATE per tenant. The
-- rows are keyed within the tenant and carry tenant_id with row-level security like every table.
--
-- fleetkit_presence_tenants lists the tenants with presence rows: the sweeper walks it. Like the
-- name directories of 0001 every role may read it, only the tenant itself may add its row.

CREATE TABLE fleetkit_presence (
  tenant_id text NOT NULL,
  device_id text COLLATE "C" NOT NULL,
  last_seen double precision NOT NULL,
  level smallint NOT NULL DEFAULT 0 CHECK (level >= -1),
  PRIMARY KEY (tenant_id, device_id)
);
-- The sweep reads the devices heard from at or before its highest limit.
CREATE INDEX fleetkit_presence_last_seen ON fleetkit_presence (tenant_id, last_seen);

CREATE TABLE fleetkit_presence_tenants (
  tenant_id text PRIMARY KEY
);

ALTER TABLE fleetkit_presence ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleetkit_presence FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fleetkit_presence
  USING (tenant_id = current_setting('fleetkit.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('fleetkit.tenant_id', true));
GRANT SELECT, INSERT, UPDATE, DELETE ON fleetkit_presence TO fleetkit_app;

ALTER TABLE fleetkit_presence_tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleetkit_presence_tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY directory_read ON fleetkit_presence_tenants FOR SELECT USING (true);
CREATE POLICY tenant_insert ON fleetkit_presence_tenants FOR INSERT WITH CHECK (tenant_id = current_setting('fleetkit.tenant_id', true));
CREATE POLICY tenant_delete ON fleetkit_presence_tenants FOR DELETE USING (tenant_id = current_setting('fleetkit.tenant_id', true));
GRANT SELECT, INSERT, DELETE ON fleetkit_presence_tenants TO fleetkit_app;
