-- 0005: every DNS name a certificate carries belongs to exactly one host.
--
-- host_names is the register of names: one row per name, in lower case and
-- without a trailing dot, so that its primary key compares names the way
-- DNS does. Enrolment, reissue and renewal claim the names they certify in
-- the issuing transaction (INSERT ... ON CONFLICT against this key), so two
-- hosts can never both hold a name, whichever servers they reach. A name
-- stays with its host, whatever becomes of the host's certificates, until an
-- admin releases it or a reissue token renames the host. A row without a
-- host is one of the CA server's own TLS names: no host may hold it.
CREATE TABLE host_names (
  name       text PRIMARY KEY
             CHECK (name <> '' AND name = lower(name) AND right(name, 1) <> '.'),
  host_id    uuid REFERENCES hosts (host_id),
  claimed_at timestamptz NOT NULL
);
CREATE INDEX host_names_host_idx ON host_names (host_id);

-- An authorization token may narrow the names a host enrolling with it may
-- use: name patterns ("db01.example.com", "*.lab.example.com") on top of the
-- CA's own policy. Empty: the CA's policy alone.
ALTER TABLE tokens ADD COLUMN allowed_names jsonb NOT NULL DEFAULT '[]'
  CHECK (jsonb_typeof(allowed_names) = 'array'
         AND (kind = 'authorization' OR allowed_names = '[]'::jsonb));

-- A host whose host name an admin released has none ('') until a reissue
-- names one.
ALTER TABLE hosts DROP CONSTRAINT hosts_hostname_check;

-- Today's names move in: every host name and alias, compared as DNS does.
-- Where two hosts carry one name already (the checks before this migration
-- compared only host names, and only against hosts with a valid
-- certificate), the host that has had it longest keeps it: the host created
-- first (then a host name before an alias, then the lower host ID). Every
-- name a host loses this way is taken off that host's record, so its next
-- certificate no longer carries it, and is written to the audit log as
-- 'name.collision' (subject: the host that lost it; details: the name and
-- the host that kept it). Certificates already issued cannot be changed
-- here: the warning below tells the operator to revoke the losers'
-- (hostca-admin cert revoke --host-id ...; hostca-admin audit shows them).
CREATE TEMPORARY TABLE names_0005 ON COMMIT DROP AS
  SELECT h.host_id, h.created_at, rtrim(lower(h.hostname), '.') AS name, 0 AS rank
    FROM hosts h
  UNION ALL
  SELECT h.host_id, h.created_at, rtrim(lower(a.value), '.'), 1
    FROM hosts h, jsonb_array_elements_text(h.aliases) AS a(value);

INSERT INTO host_names (name, host_id, claimed_at)
  SELECT DISTINCT ON (name) name, host_id, created_at
    FROM names_0005 WHERE name <> ''
   ORDER BY name, created_at, rank, host_id;

INSERT INTO audit_log (at, actor, action, subject, outcome, details)
  SELECT now(), 'migration:0005', 'name.collision', l.host_id::text, 'refused',
         jsonb_build_object('name', l.name, 'kept_by', n.host_id::text,
                            'was', CASE WHEN l.rank = 0 THEN 'hostname' ELSE 'alias' END)
    FROM (SELECT host_id, name, min(rank) AS rank FROM names_0005
           WHERE name <> '' GROUP BY host_id, name) l
    JOIN host_names n ON n.name = l.name AND n.host_id <> l.host_id
   ORDER BY l.name, l.host_id;

UPDATE hosts h SET
  hostname = CASE WHEN EXISTS (SELECT 1 FROM host_names n WHERE n.host_id = h.host_id
                                  AND n.name = rtrim(lower(h.hostname), '.'))
                  THEN rtrim(lower(h.hostname), '.') ELSE '' END,
  aliases = coalesce((SELECT jsonb_agg(to_jsonb(rtrim(lower(a.value), '.')) ORDER BY a.ord)
                        FROM jsonb_array_elements_text(h.aliases) WITH ORDINALITY AS a(value, ord)
                       WHERE EXISTS (SELECT 1 FROM host_names n WHERE n.host_id = h.host_id
                                        AND n.name = rtrim(lower(a.value), '.'))),
                     '[]'::jsonb);

DO $$
DECLARE
  lost bigint;
BEGIN
  SELECT count(*) INTO lost FROM audit_log
   WHERE actor = 'migration:0005' AND action = 'name.collision';
  IF lost > 0 THEN
    RAISE WARNING 'hostca migration 0005: % host name(s) were carried by more than one host; '
      'each now belongs to the host that had it first. The audit log lists them '
      '(action name.collision): revoke the certificates of the hosts that lost a name '
      '(hostca-admin cert revoke --host-id ...) and reissue them with names of their own.', lost;
  END IF;
END;
$$;

DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hostca_server') THEN
    GRANT SELECT, INSERT, UPDATE, DELETE ON host_names TO hostca_server;
  END IF;
END;
$$;
