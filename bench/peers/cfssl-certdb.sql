-- CFSSL's certificate database for hostca's peer benchmark (bench/peers.sh).
-- Debian's golang-github-cloudflare-cfssl-dev (1.2.0+git20160825) ships the
-- code that writes it (certdb/sql/database_accessor.go: INSERT INTO
-- certificates (serial_number, authority_key_identifier, ca_label, status,
-- reason, expiry, revoked_at, pem)) but not its migrations, so this is the
-- table that code writes, keyed as CFSSL keys it: one row per certificate,
-- unique by serial number and authority key identifier.
CREATE TABLE IF NOT EXISTS certificates (
  serial_number            text NOT NULL,
  authority_key_identifier text NOT NULL,
  ca_label                 text,
  status                   text NOT NULL,
  reason                   integer,
  expiry                   timestamptz,
  revoked_at               timestamptz,
  pem                      text NOT NULL,
  PRIMARY KEY (serial_number, authority_key_identifier)
);

CREATE TABLE IF NOT EXISTS ocsp_responses (
  serial_number            text NOT NULL,
  authority_key_identifier text NOT NULL,
  body                     text NOT NULL,
  expiry                   timestamptz,
  PRIMARY KEY (serial_number, authority_key_identifier)
);
