-- 0004: a CRL publication reads its shard's entries from the index alone,
-- and a publication's NOTIFY says which CRL it published.

-- Every column a CRL entry needs rides in the partial index, already in
-- serial order: publishing a shard is an index-only scan of that shard,
-- not one heap page per revoked certificate.
CREATE INDEX certificates_crl_entries_idx ON certificates (crl_shard, serial_hex)
  INCLUDE (revoked_at, revocation_reason, not_after)
  WHERE revoked_at IS NOT NULL AND NOT off_crl;
DROP INDEX certificates_on_crl_idx;

-- "shard:crl_number", so a server that already holds that CRL (its own
-- publication) need not read it back. Readers of the old payload that
-- parse the leading number still get the shard.
CREATE OR REPLACE FUNCTION crl_shards_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hostca_crl', NEW.shard::text || ':' || NEW.crl_number::text);
  RETURN NULL;
END;
$$;
