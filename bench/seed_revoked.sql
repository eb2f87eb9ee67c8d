-- Seeds revoked certificates on record, for the reissue benchmark at scale
-- (bench/run.sh runs it with psql -v target=N). Tops the number of revoked,
-- unexpired certificates up to :target in one INSERT ... SELECT over
-- generate_series, which PostgreSQL writes as fast as COPY would, without
-- a client shipping a million rows.
--
-- Each seeded row is a host (named seeded-N.bench.invalid) with one revoked
-- certificate in its host ID's CRL shard, by the rule of migration 0002.
-- The certificate's DER is a placeholder: CRLs are built from the serial,
-- revocation date, reason and expiry columns, never from the DER, so the
-- publication cost measured is the real one. Benchmark databases only.
\set ON_ERROR_STOP on
BEGIN;
SELECT greatest(:target - count(*), 0) AS missing
  FROM certificates WHERE revoked_at IS NOT NULL AND NOT off_crl \gset
CREATE TEMP TABLE seed ON COMMIT DROP AS
  SELECT gen_random_uuid() AS host_id, i,
         -- 16 octets, first nibble 1-7: a positive serial, no leading zero octet.
         ((1 + i % 7)::text || substr(md5(random()::text || i::text), 2) ) AS serial_hex
    FROM generate_series(1, :missing) AS i;
INSERT INTO hosts (host_id, hostname, created_at, crl_shard)
  SELECT host_id, 'seeded-' || host_id || '.bench.invalid', now() - interval '60 days',
         (('x' || left(replace(host_id::text, '-', ''), 8))::bit(32)::bigint
           % (SELECT crl_shards FROM ca))::integer
    FROM seed;
INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der, created_at,
                          revoked_at, revocation_reason, crl_shard, ca_generation)
  SELECT s.serial_hex, s.host_id, 'enroll', now() - interval '60 days',
         now() + interval '300 days', '\x3000'::bytea, now() - interval '60 days',
         now() - (s.i % 86400) * interval '1 second', CASE WHEN s.i % 3 = 0 THEN 1 ELSE 4 END,
         h.crl_shard, (SELECT generation FROM ca_keys WHERE state = 'active')
    FROM seed s JOIN hosts h USING (host_id);
COMMIT;
-- What autovacuum does to rows on record for months: statistics, and the
-- visibility map that lets a CRL's entries come from the index alone.
VACUUM (ANALYZE) hosts;
VACUUM (ANALYZE) certificates;
SELECT count(*) AS revoked_on_record FROM certificates WHERE revoked_at IS NOT NULL AND NOT off_crl;
