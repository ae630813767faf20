-- fleetkit 0002: the transactional outbox.
--
-- A store write and the messages it must send (shadow accepted/delta/documents, job
-- notifications, commands) commit in one transaction: a row here per message. A relay (role
-- fleetkit_relay, which reads every tenant's rows and may only set sent_at) publishes unsent rows
-- in id order and marks them sent; rows committed but not yet sent when a process dies are
-- published by the next relay (at-least-once).

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fleetkit_relay') THEN
    BEGIN
      CREATE ROLE fleetkit_relay NOLOGIN;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN
      NULL;
    END;
  END IF;
END
$$;

CREATE TABLE fleetkit_outbox (
  id bigserial PRIMARY KEY,
  tenant_id text NOT NULL,
  topic text NOT NULL,
  payload text NOT NULL,
  qos smallint NOT NULL DEFAULT 1 CHECK (qos IN (0, 1)),
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX fleetkit_outbox_unsent ON fleetkit_outbox (id) WHERE sent_at IS NULL;

ALTER TABLE fleetkit_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE fleetkit_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON fleetkit_outbox
  USING (tenant_id = current_setting('fleetkit.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('fleetkit.tenant_id', true));
CREATE POLICY relay_read ON fleetkit_outbox FOR SELECT TO fleetkit_relay USING (true);
CREATE POLICY relay_mark ON fleetkit_outbox FOR UPDATE TO fleetkit_relay USING (true) WITH CHECK (true);

GRANT SELECT, INSERT ON fleetkit_outbox TO fleetkit_app;
GRANT USAGE ON SEQUENCE fleetkit_outbox_id_seq TO fleetkit_app;
GRANT SELECT, UPDATE (sent_at) ON fleetkit_outbox TO fleetkit_relay;
