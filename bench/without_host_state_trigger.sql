-- For bench/run.sh (HOSTCA_BENCH_AFTER_INIT_SQL): the schema without
-- migration 0015's triggers, to measure what keeping each host's state on
-- its row costs enrolment and reissue. Benchmark databases only: without
-- them the console's host states go stale.
DROP TRIGGER certificates_issued_follow ON certificates;
DROP TRIGGER certificates_revoked_follow ON certificates;
