-- 0002: revocation, CRL shards and the revocation stream.

-- A host's CRL shard: the first 32 bits of its host ID modulo the shard
-- count fixed at init (the same rule as crl_shard_of in the domain).
ALTER TABLE hosts ADD COLUMN crl_shard integer CHECK (crl_shard >= 0);
UPDATE hosts SET crl_shard =
  (('x' || left(replace(host_id::text, '-', ''), 8))::bit(32)::bigint % (SELECT crl_shards FROM ca))::integer;
ALTER TABLE hosts ALTER COLUMN crl_shard SET NOT NULL;

ALTER TABLE certificates ADD COLUMN crl_shard integer;
UPDATE certificates c SET crl_shard = h.crl_shard FROM hosts h WHERE c.host_id = h.host_id;
ALTER TABLE certificates ADD CONSTRAINT certificates_shard_of_host_certificates
  CHECK ((host_id IS NULL) = (crl_shard IS NULL));
-- Set once the entry has appeared on a CRL issued past the certificate's
-- expiry: from then on it is left off the shard's CRLs.
ALTER TABLE certificates ADD COLUMN off_crl boolean NOT NULL DEFAULT false;
-- SHA-256 of the certified SubjectPublicKeyInfo: one key, one host. NULL
-- for certificates issued before this migration.
ALTER TABLE certificates ADD COLUMN spki_sha256 bytea CHECK (octet_length(spki_sha256) = 32);
CREATE INDEX certificates_spki_idx ON certificates (spki_sha256);
-- What a shard's CRL lists, found without reading the rest.
CREATE INDEX certificates_on_crl_idx ON certificates (crl_shard, serial_hex)
  WHERE revoked_at IS NOT NULL AND NOT off_crl;

-- The current CRL of each shard, and (shard -1) of the CA scope: a CRL
-- that covers only CA certificates, so relying parties that check the whole
-- chain (nginx ssl_crl, openssl -crl_check_all) find one for the CA itself.
-- The row lock orders publication across servers; crl_number only grows.
CREATE TABLE crl_shards (
  shard       integer PRIMARY KEY CHECK (shard >= -1),
  crl_number  bigint NOT NULL CHECK (crl_number >= 0),
  this_update timestamptz NOT NULL,
  next_update timestamptz NOT NULL,
  der         bytea NOT NULL  -- empty until first published
);
INSERT INTO crl_shards (shard, crl_number, this_update, next_update, der)
  SELECT s, 0, 'epoch', 'epoch', '' FROM ca, generate_series(-1, ca.crl_shards - 1) AS s;

CREATE FUNCTION crl_shards_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hostca_crl', NEW.shard::text);
  RETURN NULL;
END;
$$;
CREATE TRIGGER crl_shards_published AFTER UPDATE ON crl_shards
  FOR EACH ROW EXECUTE FUNCTION crl_shards_notify();

-- The revocation stream. sequence = transaction ID * 4096 + position in the
-- transaction: readers deliver only events of transactions older than every
-- running one, so a sequence once passed can never gain an event below it,
-- however commits interleave across servers.
CREATE TABLE revocation_events (
  sequence   bigint PRIMARY KEY,
  serial_hex text NOT NULL REFERENCES certificates (serial_hex),
  host_id    uuid NOT NULL,
  reason     smallint NOT NULL,
  revoked_at timestamptz NOT NULL,
  shard      integer NOT NULL,
  crl_number bigint NOT NULL
);

CREATE FUNCTION revocation_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hostca_revocation', NEW.sequence::text);
  RETURN NULL;
END;
$$;
CREATE TRIGGER revocation_events_appended AFTER INSERT ON revocation_events
  FOR EACH ROW EXECUTE FUNCTION revocation_events_notify();

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server') THEN
    GRANT SELECT, UPDATE ON crl_shards TO hostca_server;
    GRANT SELECT, INSERT ON revocation_events TO hostca_server;
  END IF;
END;
$$;
