-- 0012: up to 65,536 CRL shards (was 4,096). A reissue or revocation
-- republishes its host's whole shard, so what it costs grows with the
-- entries in one shard: with a million revocations on record, 4,096 shards
-- hold about 244 entries each (a 12.5 kB CRL read, encoded and written with
-- every reissue), 16,384 about 61 (3 kB). docs/benchmarks.md has the
-- figures. The count is still fixed at init.
ALTER TABLE ca DROP CONSTRAINT ca_crl_shards_check;
ALTER TABLE ca ADD CONSTRAINT ca_crl_shards_check CHECK (crl_shards BETWEEN 1 AND 65536);
