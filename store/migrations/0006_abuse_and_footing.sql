-- 0006: the CA's own footing (issue 12).

-- The CRL base URL is a property of the CA, recorded at init: every server
-- puts the same distribution point into the certificates it issues. NULL
-- for CAs made before this migration until `hostca-server migrate
-- --crl-base-url URL` records the URL their certificates already carry.
ALTER TABLE ca ADD COLUMN crl_base_url text
  CHECK (crl_base_url IS NULL OR crl_base_url ~ '^https?://[^/?#[:space:]]+(/[^?#[:space:]]*)?$');

-- A certificate failure reported by a caller that did not present that
-- host's valid client certificate is kept, marked unverified; it never
-- replaces a verified one.
ALTER TABLE hosts ADD COLUMN certificate_failure_verified boolean NOT NULL DEFAULT false;

-- Least privilege. `hostca-server migrate` and `init` create the role
-- hostca_server (LOGIN, owning nothing) before they apply migrations, so
-- the grants of every migration take effect; a database migrated before the
-- role existed gets them all here, and so does every later run of migrate
-- (hostca_grant_server_role; a later migration that adds a table replaces it). The server role may read and write what
-- the CA needs, only append to the audit log, and owns no table: it can
-- neither disable the audit log's triggers nor drop them.
CREATE FUNCTION hostca_grant_server_role() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server') THEN
    RETURN;
  END IF;
  GRANT SELECT ON ca, schema_migrations TO hostca_server;
  GRANT SELECT, INSERT, UPDATE ON hosts, certificates, tokens TO hostca_server;
  GRANT SELECT, INSERT ON admin_keys TO hostca_server;
  GRANT SELECT, INSERT ON audit_log TO hostca_server;
  GRANT USAGE ON SEQUENCE audit_log_sequence_seq TO hostca_server;
  GRANT SELECT, UPDATE ON crl_shards TO hostca_server;
  GRANT SELECT, INSERT ON revocation_events TO hostca_server;
  GRANT SELECT, INSERT, UPDATE, DELETE ON host_names TO hostca_server;
  REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM hostca_server;
END;
$$;
-- Only the owner (who migrates) runs it; the migrator calls it on every
-- run, so a role created after the tables still gets its grants.
REVOKE ALL ON FUNCTION hostca_grant_server_role() FROM PUBLIC;
SELECT hostca_grant_server_role();
