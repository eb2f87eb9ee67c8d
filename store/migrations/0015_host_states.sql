-- 0015: the state of each host, for the console's dashboard and its hosts
-- page filter (issue 16). A host's state is that of its newest certificate
-- (latest not_after; the later issued on a tie): valid, expiring, expired,
-- revoked, or none. Worked out from the certificates at each request, the
-- dashboard's counts took 170-830 ms with 100,000 hosts and 300,000
-- certificates (bench/console_scale.sh); kept on the host row, they are one
-- scan of hosts.
--
-- The three columns follow the certificates through a trigger, so that
-- every path that issues or revokes (enrolment and reissue batches, renewal,
-- revocation, name release) keeps them without knowing of them. They are in
-- no index: the trigger's updates stay HOT (no index entry is written).
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

CREATE FUNCTION hosts_follow_certificates() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    UPDATE hosts
       SET newest_serial_hex = NEW.serial_hex, newest_not_after = NEW.not_after,
           newest_revoked = NEW.revoked_at IS NOT NULL
     WHERE host_id = NEW.host_id
       AND (newest_not_after IS NULL OR NEW.not_after >= newest_not_after);
  ELSE
    UPDATE hosts SET newest_revoked = NEW.revoked_at IS NOT NULL
     WHERE host_id = NEW.host_id AND newest_serial_hex = NEW.serial_hex;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER certificates_issued_follow AFTER INSERT ON certificates
  FOR EACH ROW WHEN (NEW.host_id IS NOT NULL) EXECUTE FUNCTION hosts_follow_certificates();
CREATE TRIGGER certificates_revoked_follow AFTER UPDATE OF revoked_at ON certificates
  FOR EACH ROW WHEN (NEW.host_id IS NOT NULL AND OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
  EXECUTE FUNCTION hosts_follow_certificates();

-- The failure filter lists few hosts of many: this index holds only them
-- (written when a report comes or is cleared, never by issuance).
CREATE INDEX hosts_failure_idx ON hosts (hostname, host_id)
  WHERE certificate_failure_at IS NOT NULL;
