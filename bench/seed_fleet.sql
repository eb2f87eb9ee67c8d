-- A fleet for the console's queries (bench/console_scale.sh; run with psql
-- -v hosts=N): N hosts named fleet-NNNNNN.bench.invalid, each with its name
-- in host_names and three certificates (one valid, one expired, one
-- revoked and superseded), in the host ID's CRL shard by the rule of
-- migration 0002. The DER is a placeholder: the queries measured read the
-- columns, never the DER. Benchmark databases only.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE fleet ON COMMIT DROP AS
  SELECT gen_random_uuid() AS host_id, i,
         'fleet-' || lpad(i::text, 6, '0') || '.bench.invalid' AS name
    FROM generate_series(1, :hosts) AS i;
INSERT INTO hosts (host_id, hostname, created_at, crl_shard)
  SELECT host_id, name, now() - interval '400 days',
         (('x' || left(replace(host_id::text, '-', ''), 8))::bit(32)::bigint
           % (SELECT crl_shards FROM ca))::integer
    FROM fleet;
INSERT INTO host_names (name, host_id, claimed_at)
  SELECT name, host_id, now() - interval '400 days' FROM fleet;
-- 16 octets, first nibble 1-7: a positive serial without a leading zero octet.
INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der, created_at,
                          revoked_at, revocation_reason, crl_shard, ca_generation)
  SELECT (1 + (f.i * 3 + k) % 7)::text || substr(md5(f.host_id::text || k::text), 2),
         f.host_id, CASE k WHEN 0 THEN 'enroll' ELSE 'reissue' END,
         now() - (400 - k * 100) * interval '1 day',
         CASE k WHEN 0 THEN now() - interval '35 days'      -- expired
                WHEN 1 THEN now() + interval '100 days'     -- revoked, superseded
                ELSE now() + (30 + f.i % 300) * interval '1 day' END,
         '\x3000'::bytea, now() - (400 - k * 100) * interval '1 day',
         CASE k WHEN 1 THEN now() - interval '200 days' END, CASE k WHEN 1 THEN 4 END,
         h.crl_shard, (SELECT generation FROM ca_keys WHERE state = 'active')
    FROM fleet f JOIN hosts h USING (host_id), generate_series(0, 2) AS k;
COMMIT;
VACUUM (ANALYZE) hosts;
VACUUM (ANALYZE) host_names;
VACUUM (ANALYZE) certificates;
SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM certificates) AS certificates;
