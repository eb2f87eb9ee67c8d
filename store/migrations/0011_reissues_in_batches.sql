-- 0011: reissues in batches (issue 15). A reissue publishes its shard's
-- CRL; with the batch, several reissues take their locks, revoke, and
-- write in one transaction of a few set-based statements, and the CRLs
-- they publish go with the other writes held to the commit.
--
-- hostca_write gains the CRLs: p_crls holds their DER, and an operation
-- 'crl' (ca_generation, shard, crl_number, this_update, next_update, index
-- into p_crls, from 1) writes one, as save_crl did. The CRLs cross as a
-- bytea array, not as hex inside the JSON: a 12.5 kB CRL in JSON cost
-- more than the round trip it saved (migration 0010's note).
DROP FUNCTION hostca_write(jsonb, jsonb);

CREATE FUNCTION hostca_write(p_ops jsonb, p_audit jsonb, p_crls bytea[]) RETURNS void
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
    WHEN 'crl' THEN
      UPDATE crl_shards
         SET crl_number = (v_op->>'crl_number')::bigint,
             this_update = 'epoch'::timestamptz
                           + (v_op->>'this_update')::bigint * interval '1 microsecond',
             next_update = 'epoch'::timestamptz
                           + (v_op->>'next_update')::bigint * interval '1 microsecond',
             der = p_crls[(v_op->>'index')::integer]
       WHERE ca_generation = (v_op->>'ca_generation')::integer
         AND shard = (v_op->>'shard')::integer;
      GET DIAGNOSTICS v_rows = ROW_COUNT;
      IF v_rows <> 1 THEN
        RAISE EXCEPTION 'CRL shard % of CA key % does not exist', v_op->>'shard',
          v_op->>'ca_generation';
      END IF;
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
