-- 0010: the writes a unit of work only writes, at its commit, in one call
-- (issue 15). A reissue was a transaction of about fourteen round trips;
-- four of them wrote rows that nothing in the transaction reads again:
-- the revocation event, the certificate, the token's use, the end of an
-- auto-reissue window. (The shard's new CRL is one too, but it stays a
-- statement of its own: as hex in JSON, a 12.5 kB CRL cost more than the
-- round trip.) The server now holds them, with
-- the audit rows, and sends them in this one call just before COMMIT (or
-- before any other statement of the unit, so that order never changes).
--
-- p_ops: [{"op": ..., ...}, ...] in the order the server wrote them, each
-- as the statement it replaces took it: 'event' (position,
-- serial_hex, host_id, reason, revoked_at, shard, crl_number,
-- ca_generation), 'certificate' (serial_hex, host_id or '', kind,
-- not_before, not_after, der as hex, created_at, crl_shard or -1,
-- spki_sha256 as hex or '', ca_generation), 'token_use' (token_id),
-- 'auto_reissue' (host_id, until or -1). Times are microseconds since the
-- Unix epoch. p_audit: audit rows as audit_json_array (store/pg_sql.h)
-- writes them.
CREATE FUNCTION hostca_write(p_ops jsonb, p_audit jsonb) RETURNS void
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_op jsonb;
  v_rows integer;
BEGIN
  FOR v_op IN SELECT o FROM jsonb_array_elements(p_ops) WITH ORDINALITY AS x(o, i) ORDER BY i
  LOOP
    CASE v_op->>'op'
    WHEN 'event' THEN
      INSERT INTO revocation_events (sequence, serial_hex, host_id, reason, revoked_at, shard,
                                     crl_number, ca_generation)
      VALUES (pg_current_xact_id()::text::bigint * 1048576 + (v_op->>'position')::bigint,
              v_op->>'serial_hex', (v_op->>'host_id')::uuid, (v_op->>'reason')::integer,
              'epoch'::timestamptz + (v_op->>'revoked_at')::bigint * interval '1 microsecond',
              (v_op->>'shard')::integer, (v_op->>'crl_number')::bigint,
              (v_op->>'ca_generation')::integer);
    WHEN 'certificate' THEN
      INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der,
                                created_at, crl_shard, spki_sha256, ca_generation)
      VALUES (v_op->>'serial_hex', NULLIF(v_op->>'host_id', '')::uuid, v_op->>'kind',
              'epoch'::timestamptz + (v_op->>'not_before')::bigint * interval '1 microsecond',
              'epoch'::timestamptz + (v_op->>'not_after')::bigint * interval '1 microsecond',
              decode(v_op->>'der', 'hex'),
              'epoch'::timestamptz + (v_op->>'created_at')::bigint * interval '1 microsecond',
              NULLIF((v_op->>'crl_shard')::integer, -1),
              NULLIF(decode(v_op->>'spki_sha256', 'hex'), ''::bytea),
              (v_op->>'ca_generation')::integer);
    WHEN 'token_use' THEN
      UPDATE tokens SET uses = uses + 1 WHERE token_id = (v_op->>'token_id')::uuid;
      GET DIAGNOSTICS v_rows = ROW_COUNT;
      IF v_rows <> 1 THEN
        RAISE EXCEPTION 'token % vanished while used', v_op->>'token_id';
      END IF;
    WHEN 'auto_reissue' THEN
      UPDATE hosts
         SET auto_reissue_until = CASE WHEN (v_op->>'until')::bigint < 0 THEN NULL
                                       ELSE 'epoch'::timestamptz
                                            + (v_op->>'until')::bigint * interval '1 microsecond'
                                  END
       WHERE host_id = (v_op->>'host_id')::uuid;
    ELSE
      RAISE EXCEPTION 'hostca_write: unknown operation %', v_op->>'op';
    END CASE;
  END LOOP;
  INSERT INTO audit_log (at, actor, action, subject, outcome, details)
  SELECT 'epoch'::timestamptz + (a->>'at')::bigint * interval '1 microsecond',
         a->>'actor', a->>'action', a->>'subject', a->>'outcome', a->'details'
    FROM jsonb_array_elements(p_audit) WITH ORDINALITY AS x(a, i) ORDER BY i;
  GET DIAGNOSTICS v_rows = ROW_COUNT;
  IF v_rows <> jsonb_array_length(p_audit) THEN
    RAISE EXCEPTION 'the audit log took % of % rows', v_rows, jsonb_array_length(p_audit);
  END IF;
END
$$;
