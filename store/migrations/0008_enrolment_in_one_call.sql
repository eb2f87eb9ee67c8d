-- 0008: an enrolment as one call (issue 15). The server checks the CSR and
-- signs the certificate first, with no transaction open, then calls
-- hostca_enrol once: one statement, one round trip, its own transaction.
-- It finds the authorization token by its hash and locks it, checks that
-- it is usable at the host's created_at, that no host holds the key and no
-- one the names, and only then writes the host, the claim of its names,
-- the certificate, the token's use and the audit rows. A check that fails
-- writes nothing and says which:
--   'unknown'  no authorization token has that hash;
--   'token'    it is used up, expired or deleted (the server reads it to say which);
--   'patterns' it limits names (detail: its allowed_names) and the server has
--              not checked the names against them yet: it does, then calls
--              again with p_patterns_checked;
--   'key'      detail: the host certified for the key;
--   'names'    detail: [[name, holder or null], ...].
-- A name claimed by a concurrent enrolment between the check and the claim
-- raises HC002 and rolls everything back; the server calls again and gets
-- 'names'. Audit rows come with an empty actor, which becomes
-- 'token:<token_id>'; the token.use row also gets the token as its subject
-- and its count of uses under the lock. Times are microseconds since the
-- Unix epoch, as everywhere.
CREATE FUNCTION hostca_enrol(
  p_token_hash bytea, p_patterns_checked boolean,
  p_host_id uuid, p_hostname text, p_aliases jsonb, p_created_at bigint, p_crl_shard integer,
  p_serial_hex text, p_kind text, p_not_before bigint, p_not_after bigint, p_der bytea,
  p_spki_sha256 bytea, p_audit jsonb, p_names jsonb, p_ca_generation integer)
RETURNS TABLE (outcome text, detail text)
LANGUAGE plpgsql AS $$
DECLARE
  v_at timestamptz := 'epoch'::timestamptz + p_created_at * interval '1 microsecond';
  v_token tokens%ROWTYPE;
  v_holder text;
  v_conflicts jsonb;
  v_claimed integer;
  -- An array, so that every plan (PL/pgSQL keeps generic ones) looks the
  -- names up in host_names' primary key.
  v_names text[] := ARRAY(SELECT DISTINCT jsonb_array_elements_text(p_names));
BEGIN
  SELECT * INTO v_token FROM tokens t WHERE t.token_hash = p_token_hash FOR UPDATE;
  IF NOT FOUND OR v_token.kind <> 'authorization' THEN
    RETURN QUERY SELECT 'unknown'::text, ''::text;
    RETURN;
  END IF;
  IF v_token.deleted_at IS NOT NULL OR v_token.expires_at <= v_at
     OR v_token.uses >= v_token.max_uses THEN
    RETURN QUERY SELECT 'token'::text, v_token.token_id::text;
    RETURN;
  END IF;
  IF v_token.allowed_names <> '[]'::jsonb AND NOT p_patterns_checked THEN
    RETURN QUERY SELECT 'patterns'::text, v_token.allowed_names::text;
    RETURN;
  END IF;

  SELECT c.host_id::text INTO v_holder FROM certificates c
   WHERE c.spki_sha256 = p_spki_sha256 AND c.host_id IS NOT NULL LIMIT 1;
  IF FOUND THEN
    RETURN QUERY SELECT 'key'::text, v_holder;
    RETURN;
  END IF;

  SELECT coalesce(jsonb_agg(jsonb_build_array(n.name, n.host_id) ORDER BY n.name), '[]')
    INTO v_conflicts FROM host_names n
   WHERE n.name = ANY (v_names);
  IF v_conflicts <> '[]'::jsonb THEN
    RETURN QUERY SELECT 'names'::text, v_conflicts::text;
    RETURN;
  END IF;

  INSERT INTO hosts (host_id, hostname, aliases, created_at, crl_shard)
  VALUES (p_host_id, p_hostname, p_aliases, v_at, p_crl_shard);
  INSERT INTO host_names (name, host_id, claimed_at)
  SELECT unnest(v_names), p_host_id, v_at
  ON CONFLICT (name) DO NOTHING;
  GET DIAGNOSTICS v_claimed = ROW_COUNT;
  IF v_claimed < cardinality(v_names) THEN
    RAISE EXCEPTION 'a name of the host was claimed by another enrolment at the same moment'
      USING ERRCODE = 'HC002';
  END IF;
  INSERT INTO certificates (serial_hex, host_id, kind, not_before, not_after, der, created_at,
                            crl_shard, spki_sha256, ca_generation)
  VALUES (p_serial_hex, p_host_id, p_kind,
          'epoch'::timestamptz + p_not_before * interval '1 microsecond',
          'epoch'::timestamptz + p_not_after * interval '1 microsecond',
          p_der, v_at, p_crl_shard, p_spki_sha256, p_ca_generation);
  UPDATE tokens SET uses = uses + 1 WHERE token_id = v_token.token_id;
  INSERT INTO audit_log (at, actor, action, subject, outcome, details)
  SELECT 'epoch'::timestamptz + (a->>'at')::bigint * interval '1 microsecond',
         CASE WHEN a->>'actor' = '' THEN 'token:' || v_token.token_id ELSE a->>'actor' END,
         a->>'action',
         CASE WHEN a->>'action' = 'token.use' THEN v_token.token_id::text ELSE a->>'subject' END,
         a->>'outcome',
         CASE WHEN a->>'action' = 'token.use'
              THEN a->'details' || jsonb_build_object('uses', v_token.uses + 1,
                                                      'max_uses', v_token.max_uses)
              ELSE a->'details' END
    FROM jsonb_array_elements(p_audit) WITH ORDINALITY AS x(a, i) ORDER BY i;
  RETURN QUERY SELECT 'ok'::text, v_token.token_id::text;
END
$$;
