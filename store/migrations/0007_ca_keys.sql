-- 0007: the CA's keys (issue 14). A CA has one or more keys, each with its
-- own self-signed certificate, state, CRLs and CRL numbers. A planned
-- rollover moves through states held here, so every server follows:
--   start:    a 'next' key appears, with its link certificates
--             (new_with_old: its public key certified by the active key;
--             old_with_new: the active public key certified by it);
--   activate: the 'active' key becomes 'retiring', the 'next' key 'active';
--   finish:   the 'retiring' key becomes 'retired' (no longer announced;
--             its CRLs are published until its CA certificate expires).
-- An emergency rollover makes a new key without links and activates it at
-- once. `generation` counts the keys: 1 is the key made at init.
CREATE TABLE ca_keys (
  generation                integer PRIMARY KEY CHECK (generation >= 1),
  key_algorithm             text NOT NULL,
  certificate_der           bytea NOT NULL,
  -- PKCS#8 EncryptedPrivateKeyInfo (PEM) under the CA passphrase; never plaintext.
  encrypted_private_key_pem text NOT NULL
    CHECK (encrypted_private_key_pem LIKE '-----BEGIN ENCRYPTED ' || 'PRIVATE KEY-----%'),
  sha256_fingerprint        text NOT NULL UNIQUE,
  spki_sha256               text NOT NULL UNIQUE,
  state                     text NOT NULL CHECK (state IN ('next', 'active', 'retiring', 'retired')),
  new_with_old_der          bytea,
  old_with_new_der          bytea,
  emergency                 boolean NOT NULL DEFAULT false,
  created_at                timestamptz NOT NULL,
  CHECK ((new_with_old_der IS NULL) = (old_with_new_der IS NULL)),
  CHECK (generation > 1 OR (new_with_old_der IS NULL AND NOT emergency))
);
-- One key issues at a time, and at most one waits to.
CREATE UNIQUE INDEX ca_keys_one_active ON ca_keys ((true)) WHERE state = 'active';
CREATE UNIQUE INDEX ca_keys_one_next ON ca_keys ((true)) WHERE state = 'next';
CREATE UNIQUE INDEX ca_keys_one_retiring ON ca_keys ((true)) WHERE state = 'retiring';

-- The key made at init is generation 1, active.
INSERT INTO ca_keys (generation, key_algorithm, certificate_der, encrypted_private_key_pem,
                     sha256_fingerprint, spki_sha256, state, created_at)
  SELECT 1, key_algorithm, certificate_der, encrypted_private_key_pem, sha256_fingerprint,
         spki_sha256, 'active', created_at
    FROM ca;

-- Every server reloads the keys when they change.
CREATE FUNCTION ca_keys_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hostca_ca', NEW.generation::text || ':' || NEW.state);
  RETURN NULL;
END;
$$;
CREATE TRIGGER ca_keys_changed AFTER INSERT OR UPDATE ON ca_keys
  FOR EACH ROW EXECUTE FUNCTION ca_keys_notify();

-- Which key issued each certificate; the certificates of before are key 1's.
ALTER TABLE certificates ADD COLUMN ca_generation integer NOT NULL DEFAULT 1
  REFERENCES ca_keys (generation);
ALTER TABLE certificates ALTER COLUMN ca_generation DROP DEFAULT;

-- Only the active key issues. A server still holding the keys of before an
-- activate (servers follow within a second) is refused here rather than
-- issue with a key that no longer does; the call changes nothing and the
-- caller tries again (SQLSTATE HC001, UNAVAILABLE).
CREATE FUNCTION certificates_from_active_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM ca_keys
                  WHERE generation = NEW.ca_generation AND state = 'active') THEN
    RAISE EXCEPTION 'CA key % no longer issues', NEW.ca_generation USING ERRCODE = 'HC001';
  END IF;
  RETURN NEW;
END;
$$;
CREATE TRIGGER certificates_issued_by_active_key BEFORE INSERT ON certificates
  FOR EACH ROW EXECUTE FUNCTION certificates_from_active_key();

-- CRL shards per key: each key's CRLs have their own numbers and URLs.
ALTER TABLE crl_shards ADD COLUMN ca_generation integer NOT NULL DEFAULT 1
  REFERENCES ca_keys (generation);
ALTER TABLE crl_shards ALTER COLUMN ca_generation DROP DEFAULT;
ALTER TABLE crl_shards DROP CONSTRAINT crl_shards_pkey;
ALTER TABLE crl_shards ADD PRIMARY KEY (ca_generation, shard);

-- The scheduler's "next shard due" (lock_due_crl_shard) in index order,
-- not a scan and sort of every key's every shard on each call: with 4,096
-- shards the scan cost 1.3 ms a call, and a new CA (or a new key) publishes
-- each of its shards once at start.
CREATE INDEX crl_shards_due_idx ON crl_shards (next_update, ca_generation, shard);

-- The entries of one key's shard, found without reading the rest.
CREATE INDEX certificates_crl_entries_by_key_idx
  ON certificates (ca_generation, crl_shard, serial_hex)
  INCLUDE (revoked_at, revocation_reason, not_after)
  WHERE revoked_at IS NOT NULL AND NOT off_crl;
DROP INDEX certificates_crl_entries_idx;

-- "generation:shard:crl_number" so a server that already holds that CRL
-- (its own publication) need not read it back.
CREATE OR REPLACE FUNCTION crl_shards_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hostca_crl', NEW.ca_generation::text || ':' || NEW.shard::text || ':' ||
                                  NEW.crl_number::text);
  RETURN NULL;
END;
$$;

ALTER TABLE revocation_events ADD COLUMN ca_generation integer NOT NULL DEFAULT 1;
ALTER TABLE revocation_events ALTER COLUMN ca_generation DROP DEFAULT;

-- Which CA keys a host's agent last said it trusts (ReportTrustedCas).
ALTER TABLE hosts ADD COLUMN trusted_ca_spki jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(trusted_ca_spki) = 'array');
ALTER TABLE hosts ADD COLUMN trust_reported_at timestamptz;

-- The server role reads the keys and issues itself TLS certificates from the
-- active one; only the owner (the rollover commands) adds or changes keys.
CREATE OR REPLACE FUNCTION hostca_grant_server_role() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server') THEN
    RETURN;
  END IF;
  GRANT SELECT ON ca, schema_migrations, ca_keys TO hostca_server;
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
REVOKE ALL ON FUNCTION hostca_grant_server_role() FROM PUBLIC;
SELECT hostca_grant_server_role();
