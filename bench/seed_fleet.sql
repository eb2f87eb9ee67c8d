-- A fleet for the console's queries (bench/console_scale.sh; run with psql
-- -v hosts=N): N hosts named fleet-NNNNNN.bench.invalid, each with its name
-- in host_names and three certificates (two superseded, one of them
-- revoked, and the current one), in the host ID's CRL shard by the
-- rule of migration 0002; 100 failure reports and 21,000 tokens. The DER is a placeholder: the queries measured read the
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
-- Certificates 0 and 1 were superseded (1 revoked); 2 is the current one,
-- whose state the host takes (migration 0015's trigger): of every ten
-- hosts, one revoked, one expiring within 30 days, one expired, seven valid.
INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der, created_at,
                          revoked_at, revocation_reason, crl_shard, ca_generation)
  SELECT (1 + (f.i * 3 + k) % 7)::text || substr(md5(f.host_id::text || k::text), 2),
         f.host_id, CASE k WHEN 0 THEN 'enroll' ELSE 'reissue' END,
         now() - (400 - k * 100) * interval '1 day',
         -- Each certificate ends before the next one: the current one last.
         c.ends - (2 - k) * interval '30 days',
         -- As long as a real certificate's DER (about 700 bytes), so that a
         -- scan of certificates reads what it would.
         decode(repeat(md5(f.host_id::text || k::text), 22), 'hex'),
         now() - (400 - k * 100) * interval '1 day',
         CASE WHEN k = 1 OR (k = 2 AND f.i % 10 = 0) THEN now() - interval '100 days' END,
         CASE WHEN k = 1 THEN 4 WHEN k = 2 AND f.i % 10 = 0 THEN 1 END,
         h.crl_shard, (SELECT generation FROM ca_keys WHERE state = 'active')
    FROM fleet f JOIN hosts h USING (host_id),
         LATERAL (SELECT CASE WHEN f.i % 10 = 1 THEN now() + (1 + f.i % 29) * interval '1 day'
                              WHEN f.i % 10 = 2 THEN now() - interval '5 days'
                              ELSE now() + (31 + f.i % 300) * interval '1 day' END AS ends) c,
         generate_series(0, 2) AS k;
-- One host in a thousand has reported a certificate failure.
UPDATE hosts SET certificate_failure_at = now() - interval '1 hour',
                 certificate_failure_detail = 'reached a CA other than the one it pinned'
  FROM fleet f WHERE f.host_id = hosts.host_id AND f.i % 1000 = 0;
-- Tokens: a reissue token for one host in five (half used), and 1,000
-- authorization tokens.
INSERT INTO tokens (token_id, kind, token_hash, name, host_id, max_uses, uses, created_at,
                    expires_at, created_by)
  SELECT gen_random_uuid(), 'reissue', sha256(convert_to(f.host_id::text, 'UTF8')), '',
         f.host_id, 1, f.i % 2, now() - interval '1 hour', now() + interval '23 hours', 'bench'
    FROM fleet f WHERE f.i % 5 = 0;
INSERT INTO tokens (token_id, kind, token_hash, name, max_uses, uses, created_at, expires_at,
                    created_by)
  SELECT gen_random_uuid(), 'authorization', sha256(convert_to('auth' || g::text, 'UTF8')),
         'rack ' || g, 20, g % 20, now() - interval '1 hour', now() + g * interval '1 hour', 'bench'
    FROM generate_series(1, 1000) AS g;
COMMIT;
VACUUM (ANALYZE) hosts;
VACUUM (ANALYZE) host_names;
VACUUM (ANALYZE) certificates;
VACUUM (ANALYZE) tokens;
SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(*) FROM certificates) AS certificates,
       (SELECT count(*) FROM tokens) AS tokens;
