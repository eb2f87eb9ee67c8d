-- 0015: the state of each host, for the console's dashboard and its hosts
-- page filter (issue 16). A host's state is that of its newest certificate
-- (latest not_after, then latest issued): valid, expiring, expired,
-- revoked, or none. Worked out from the certificates at each request, the
-- dashboard's counts took 170-830 ms with 100,000 hosts and 300,000
-- certificates (bench/console_scale.sh); kept on the host row, they are one
-- scan of hosts.
--
-- The three columns follow the certificates through a trigger, so that
-- every path that issues or revokes (enrolment and reissue batches, renewal,
-- revocation, name release, a rollover's revocations) keeps them without
-- knowing of them. They are in no index: the trigger's updates stay HOT (no
-- index entry is written).
ALTER TABLE hosts
  ADD COLUMN newest_serial_hex text,
  ADD COLUMN newest_not_after timestamptz,
  ADD COLUMN newest_revoked boolean NOT NULL DEFAULT false;

UPDATE hosts h
   SET newest_serial_hex = c.serial_hex, newest_not_after = c.not_after,
       newest_revoked = c.revoked_at IS NOT NULL
  FROM (SELECT DISTINCT ON (host_id) host_id, serial_hex, not_after, revoked_at
          FROM certificates WHERE host_id IS NOT NULL
         ORDER BY host_id, not_after DESC, created_at DESC) c
 WHERE c.host_id = h.host_id;

-- The trigger works the newest certificate out again from the host's own
-- rows (certificates_host_idx) and writes the row only if that changed. It
-- fires at commit (a deferred constraint trigger), once per certificate
-- inserted or revoked: a reissue revokes the host's certificates and then
-- inserts the new one, and by the commit the first firing finds the final
-- state and the others find nothing to write. Fired at once, each wrote its
-- own version of the host row.
CREATE FUNCTION hosts_follow_certificates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE hosts h
     SET newest_serial_hex = c.serial_hex, newest_not_after = c.not_after,
         newest_revoked = c.revoked_at IS NOT NULL
    FROM (SELECT x.serial_hex, x.not_after, x.revoked_at FROM certificates x
           WHERE x.host_id = NEW.host_id
           ORDER BY x.not_after DESC, x.created_at DESC LIMIT 1) c
   WHERE h.host_id = NEW.host_id
     AND (h.newest_serial_hex, h.newest_not_after, h.newest_revoked)
         IS DISTINCT FROM (c.serial_hex, c.not_after, c.revoked_at IS NOT NULL);
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER certificates_issued_follow AFTER INSERT ON certificates
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.host_id IS NOT NULL) EXECUTE FUNCTION hosts_follow_certificates();
CREATE CONSTRAINT TRIGGER certificates_revoked_follow AFTER UPDATE OF revoked_at ON certificates
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (NEW.host_id IS NOT NULL AND OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
  EXECUTE FUNCTION hosts_follow_certificates();

-- Enrolment, as migration 0009 made it, with one change: the host row is
-- written with its first certificate already named, so that the trigger
-- finds nothing to write (a second version of every new host row). With it, enrolment at 64 clients was 12-17 % slower in each
-- of four rounds (bench/run.sh with bench/without_host_state_trigger.sql
-- to compare; docs/benchmarks.md).
CREATE OR REPLACE FUNCTION hostca_enrol_batch(
  p_token_hashes bytea[], p_patterns_checked boolean[], p_host_ids uuid[], p_hostnames text[],
  p_aliases jsonb[], p_created_at bigint[], p_crl_shards integer[], p_serials text[],
  p_kinds text[], p_not_before bigint[], p_not_after bigint[], p_ders bytea[], p_spkis bytea[],
  p_ca_generations integer[], p_audit jsonb[], p_names text[], p_name_items integer[])
RETURNS TABLE (item integer, outcome text, detail text)
LANGUAGE plpgsql
-- Each statement is planned once per connection: with the arrays' sizes
-- known, PostgreSQL kept planning some of them again on every call (0.15
-- ms each), and every lookup here is an equality that an index answers
-- under any plan.
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  v_n integer := cardinality(p_host_ids);
  -- The tokens, locked, as counted so far.
  v_t_hash bytea[];
  v_t_id uuid[];
  v_t_kind text[];
  v_t_uses integer[];
  v_t_max integer[];
  v_t_names jsonb[];
  v_t_usable_until bigint[];  -- NULL: deleted
  -- Keys and names taken by this batch's items (the database's are looked
  -- up one by one: an equality on an index, whatever the plan).
  v_key bytea[];
  v_key_holder uuid[];
  v_name text[];
  v_name_holder uuid[];
  -- Per item.
  v_outcome text[] := array_fill(NULL::text, ARRAY[v_n]);
  v_detail text[] := array_fill(NULL::text, ARRAY[v_n]);
  v_ok boolean[] := array_fill(false, ARRAY[v_n]);
  v_token uuid[] := array_fill(NULL::uuid, ARRAY[v_n]);
  v_uses integer[] := array_fill(NULL::integer, ARRAY[v_n]);
  v_max integer[] := array_fill(NULL::integer, ARRAY[v_n]);
  v_i integer;
  v_j integer := 1;
  v_k integer;
  v_t integer;
  v_first integer;
  v_last integer;
  v_conflicts jsonb;
  v_expected integer := 0;
  v_claimed integer;
  v_row record;
  v_hash bytea;
  v_holder uuid;
  v_pos integer;
BEGIN
  -- The tokens, each locked once, in hash order: every batch locks in
  -- that order.
  FOR v_hash IN SELECT DISTINCT h FROM unnest(p_token_hashes) AS h ORDER BY h LOOP
    SELECT t.token_id, t.kind, t.uses, t.max_uses, t.allowed_names,
           CASE WHEN t.deleted_at IS NULL
                THEN (extract(epoch FROM t.expires_at) * 1000000)::bigint END AS usable_until
      INTO v_row FROM tokens t WHERE t.token_hash = v_hash FOR UPDATE;
    IF FOUND THEN
      v_t_hash := v_t_hash || v_hash;
      v_t_id := v_t_id || v_row.token_id;
      v_t_kind := v_t_kind || v_row.kind;
      v_t_uses := v_t_uses || v_row.uses;
      v_t_max := v_t_max || v_row.max_uses;
      v_t_names := v_t_names || v_row.allowed_names;
      v_t_usable_until := v_t_usable_until || v_row.usable_until;
    END IF;
  END LOOP;

  FOR v_i IN 1 .. v_n LOOP
    -- This item's names: p_names[v_first .. v_last].
    v_first := v_j;
    WHILE v_j <= cardinality(p_names) AND p_name_items[v_j] = v_i LOOP
      v_j := v_j + 1;
    END LOOP;
    v_last := v_j - 1;

    v_t := array_position(v_t_hash, p_token_hashes[v_i]);
    IF v_t IS NULL OR v_t_kind[v_t] <> 'authorization' THEN
      v_outcome[v_i] := 'unknown';
      v_detail[v_i] := '';
      CONTINUE;
    END IF;
    IF v_t_usable_until[v_t] IS NULL OR v_t_usable_until[v_t] <= p_created_at[v_i]
       OR v_t_uses[v_t] >= v_t_max[v_t] THEN
      v_outcome[v_i] := 'token';
      v_detail[v_i] := v_t_id[v_t]::text;
      CONTINUE;
    END IF;
    IF v_t_names[v_t] <> '[]'::jsonb AND NOT p_patterns_checked[v_i] THEN
      v_outcome[v_i] := 'patterns';
      v_detail[v_i] := v_t_names[v_t]::text;
      CONTINUE;
    END IF;
    v_k := array_position(v_key, p_spkis[v_i]);
    IF v_k IS NOT NULL THEN
      v_outcome[v_i] := 'key';
      v_detail[v_i] := v_key_holder[v_k]::text;
      CONTINUE;
    END IF;
    SELECT c.host_id INTO v_holder FROM certificates c
     WHERE c.spki_sha256 = p_spkis[v_i] AND c.host_id IS NOT NULL LIMIT 1;
    IF FOUND THEN
      v_outcome[v_i] := 'key';
      v_detail[v_i] := v_holder::text;
      CONTINUE;
    END IF;
    v_conflicts := '[]';
    FOR v_k IN v_first .. v_last LOOP
      v_pos := array_position(v_name, p_names[v_k]);
      IF v_pos IS NOT NULL THEN
        v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_array(
          p_names[v_k], v_name_holder[v_pos]));
      ELSE
        SELECT n.host_id INTO v_holder FROM host_names n WHERE n.name = p_names[v_k];
        IF FOUND THEN
          v_conflicts := v_conflicts || jsonb_build_array(jsonb_build_array(p_names[v_k], v_holder));
        END IF;
      END IF;
    END LOOP;
    IF v_conflicts <> '[]'::jsonb THEN
      v_outcome[v_i] := 'names';
      v_detail[v_i] := v_conflicts::text;
      CONTINUE;
    END IF;
    -- Passed: what it takes is taken for the items after it.
    v_t_uses[v_t] := v_t_uses[v_t] + 1;
    v_key := v_key || p_spkis[v_i];
    v_key_holder := v_key_holder || p_host_ids[v_i];
    FOR v_k IN v_first .. v_last LOOP
      v_name := v_name || p_names[v_k];
      v_name_holder := v_name_holder || p_host_ids[v_i];
      v_expected := v_expected + 1;
    END LOOP;
    v_ok[v_i] := true;
    v_token[v_i] := v_t_id[v_t];
    v_uses[v_i] := v_t_uses[v_t];
    v_max[v_i] := v_t_max[v_t];
    v_outcome[v_i] := 'ok';
    v_detail[v_i] := v_t_id[v_t]::text;
  END LOOP;

  IF true = ANY (v_ok) THEN
    -- The host's first certificate is its newest: named on the row as it is
    -- made, so that the trigger (above) finds nothing to change.
    INSERT INTO hosts (host_id, hostname, aliases, created_at, crl_shard, newest_serial_hex,
                       newest_not_after)
    SELECT u.host_id, u.hostname, u.aliases,
           'epoch'::timestamptz + u.created_at * interval '1 microsecond', u.crl_shard, u.serial,
           'epoch'::timestamptz + u.not_after * interval '1 microsecond'
      FROM unnest(p_host_ids, p_hostnames, p_aliases, p_created_at, p_crl_shards, p_serials,
                  p_not_after, v_ok)
           AS u(host_id, hostname, aliases, created_at, crl_shard, serial, not_after, ok)
     WHERE u.ok;
    INSERT INTO host_names (name, host_id, claimed_at)
    SELECT u.name, p_host_ids[u.i],
           'epoch'::timestamptz + p_created_at[u.i] * interval '1 microsecond'
      FROM unnest(p_names, p_name_items) AS u(name, i)
     WHERE v_ok[u.i]
     ORDER BY u.name
    ON CONFLICT (name) DO NOTHING;
    GET DIAGNOSTICS v_claimed = ROW_COUNT;
    IF v_claimed < v_expected THEN
      RAISE EXCEPTION 'a name of a host was claimed by another enrolment at the same moment'
        USING ERRCODE = 'HC002';
    END IF;
    INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der, created_at,
                              crl_shard, spki_sha256, ca_generation)
    SELECT u.serial, u.host_id, u.kind,
           'epoch'::timestamptz + u.not_before * interval '1 microsecond',
           'epoch'::timestamptz + u.not_after * interval '1 microsecond',
           u.der, 'epoch'::timestamptz + u.created_at * interval '1 microsecond',
           u.crl_shard, u.spki, u.generation
      FROM unnest(p_serials, p_host_ids, p_kinds, p_not_before, p_not_after, p_ders, p_created_at,
                  p_crl_shards, p_spkis, p_ca_generations, v_ok)
           AS u(serial, host_id, kind, not_before, not_after, der, created_at, crl_shard, spki,
                generation, ok)
     WHERE u.ok;
    -- Each token once (mostly each item has its own), in token_id order.
    FOR v_row IN
      SELECT u.token_id, count(*)::integer AS n FROM unnest(v_token) AS u(token_id)
       WHERE u.token_id IS NOT NULL GROUP BY 1 ORDER BY 1
    LOOP
      UPDATE tokens SET uses = uses + v_row.n WHERE token_id = v_row.token_id;
    END LOOP;
    INSERT INTO audit_log (at, actor, action, subject, outcome, details)
    SELECT 'epoch'::timestamptz + (a->>'at')::bigint * interval '1 microsecond',
           CASE WHEN a->>'actor' = '' THEN 'token:' || u.token_id ELSE a->>'actor' END,
           a->>'action',
           CASE WHEN a->>'action' = 'token.use' THEN u.token_id::text ELSE a->>'subject' END,
           a->>'outcome',
           CASE WHEN a->>'action' = 'token.use'
                THEN a->'details' || jsonb_build_object('uses', u.uses, 'max_uses', u.max_uses)
                ELSE a->'details' END
      FROM unnest(p_audit, v_token, v_uses, v_max, v_ok)
           WITH ORDINALITY AS u(rows, token_id, uses, max_uses, ok, k),
           jsonb_array_elements(u.rows) WITH ORDINALITY AS r(a, i)
     WHERE u.ok
     ORDER BY u.k, r.i;
  END IF;
  RETURN QUERY SELECT u.i::integer, u.o, u.d
                 FROM unnest(v_outcome, v_detail) WITH ORDINALITY AS u(o, d, i);
END
$$;

-- The failure filter lists few hosts of many: this index holds only them
-- (written when a report comes or is cleared, never by issuance).
CREATE INDEX hosts_failure_idx ON hosts (hostname, host_id)
  WHERE certificate_failure_at IS NOT NULL;
