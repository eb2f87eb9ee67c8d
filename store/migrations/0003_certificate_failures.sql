-- 0003: hosts that reported a certificate failure (the CA their agent
-- reached was not the one it pinned).
ALTER TABLE hosts ADD COLUMN certificate_failure_at timestamptz;
ALTER TABLE hosts ADD COLUMN certificate_failure_detail text NOT NULL DEFAULT '';
