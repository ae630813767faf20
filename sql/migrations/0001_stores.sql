-- fleetkit 0001: the tables of every store, with row-level security by tenant.
--
-- Every table carries tenant_id. Row-level security is enabled and forced (so it also binds the
-- table owner unless it is a superuser or has BYPASSRLS), and every policy compares tenant_id with
-- the transaction's setting fleetkit.tenant_id (set by the stores with set_config(..., true)).
-- With no tenant set, current_setting(..., true) is NULL and no row matches: a query that forgets
-- the tenant sees nothing and can write nothing.
--
-- The application connects as a role that is a member of fleetkit_app (not the owner).
-- Keys that are compared and ordered use the "C" collation (code-unit order, as the memory stores).

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetkit_app') THEN
    BEGIN
      CREATE ROLE fleetkit_app NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL; -- created concurrently by a migration of another database of the cluster
    END;
  END IF;
END
$$;

-- Name directories: thing names and device ids are one name space across tenants (the AWS topic
-- tree has no tenant level). These two tables map a name to its owning tenant and nothing else;
-- every role may read them (to answer TENANT_MISMATCH and to route a device's message), only the
-- owning tenant may insert, change or delete a row.
CREATE TABLE fleetkit_shadow_things (
  thing_name text COLLATE "C" PRIMARY KEY,
  tenant_id text NOT NULL
);

CREATE TABLE fleetkit_device_directory (
  device_id text COLLATE "C" PRIMARY KEY,
  tenant_id text NOT NULL
);

CREATE TABLE fleetkit_shadows (
  tenant_id text NOT NULL,
  thing_name text COLLATE "C" NOT NULL,
  shadow_name text COLLATE "C" NOT NULL, -- '' for the classic shadow
  version bigint NOT NULL,
  deleted boolean NOT NULL,
  document json, -- NULL for a tombstone
  PRIMARY KEY (thing_name, shadow_name)
);
CREATE INDEX fleetkit_shadows_tenant ON fleetkit_shadows (tenant_id, thing_name, shadow_name);

CREATE TABLE fleetkit_devices (
  tenant_id text NOT NULL,
  device_id text COLLATE "C" NOT NULL PRIMARY KEY,
  state text NOT NULL,
  health text,
  firmware_version text,
  tags text[] NOT NULL,
  last_seen double precision,
  revision bigint NOT NULL,
  record json NOT NULL
);
CREATE INDEX fleetkit_devices_tenant ON fleetkit_devices (tenant_id, device_id);

CREATE TABLE fleetkit_cas (
  tenant_id text NOT NULL,
  ca_id text COLLATE "C" NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (tenant_id, ca_id)
);

CREATE TABLE fleetkit_enrollment_groups (
  tenant_id text NOT NULL,
  group_id text COLLATE "C" NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (tenant_id, group_id)
);

CREATE TABLE fleetkit_revocations (
  tenant_id text NOT NULL,
  revocation_key text COLLATE "C" NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (tenant_id, revocation_key)
);

CREATE TABLE fleetkit_nonces (
  tenant_id text NOT NULL,
  nonce_key text COLLATE "C" NOT NULL,
  at double precision NOT NULL,
  PRIMARY KEY (tenant_id, nonce_key)
);

CREATE TABLE fleetkit_rollouts (
  tenant_id text NOT NULL,
  rollout_id text COLLATE "C" NOT NULL,
  state text NOT NULL,
  revision bigint NOT NULL,
  plan json NOT NULL,
  record json NOT NULL, -- every field but the plan
  PRIMARY KEY (tenant_id, rollout_id)
);

CREATE TABLE fleetkit_job_executions (
  tenant_id text NOT NULL,
  job_id text COLLATE "C" NOT NULL,
  device_id text COLLATE "C" NOT NULL,
  status text NOT NULL,
  version bigint NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (tenant_id, job_id, device_id)
);

CREATE TABLE fleetkit_commands (
  tenant_id text NOT NULL,
  command_id text COLLATE "C" NOT NULL,
  device_id text NOT NULL,
  status text NOT NULL,
  expires_at double precision,
  version bigint NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (tenant_id, command_id)
);

CREATE TABLE fleetkit_audit_sequences (
  tenant_id text PRIMARY KEY,
  seq bigint NOT NULL
);

CREATE TABLE fleetkit_audit_log (
  tenant_id text NOT NULL,
  seq bigint NOT NULL,
  at double precision NOT NULL,
  action text NOT NULL,
  subject text,
  record json NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

-- Row-level security on every table.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'fleetkit_shadows', 'fleetkit_devices', 'fleetkit_cas', 'fleetkit_enrollment_groups',
    'fleetkit_revocations', 'fleetkit_nonces', 'fleetkit_rollouts', 'fleetkit_job_executions',
    'fleetkit_commands', 'fleetkit_audit_sequences', 'fleetkit_audit_log'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''fleetkit.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''fleetkit.tenant_id'', true))',
      t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO fleetkit_app', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['fleetkit_shadow_things', 'fleetkit_device_directory'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY directory_read ON %I FOR SELECT USING (true)', t);
    EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT WITH CHECK (tenant_id = current_setting(''fleetkit.tenant_id'', true))', t);
    EXECUTE format(
      'CREATE POLICY tenant_update ON %I FOR UPDATE USING (tenant_id = current_setting(''fleetkit.tenant_id'', true)) WITH CHECK (tenant_id = current_setting(''fleetkit.tenant_id'', true))',
      t);
    EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE USING (tenant_id = current_setting(''fleetkit.tenant_id'', true))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO fleetkit_app', t);
  END LOOP;
END
$$;
