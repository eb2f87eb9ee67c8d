-- 0013: sessions of the admin console (issue 16). Signing in with an admin
-- key starts one; any server behind a load balancer accepts it, and signing
-- out ends it on all of them. Only the SHA-256 of the session secret is
-- stored (the cookie holds the secret); the anti-CSRF token is derived from
-- the secret, so it is not stored either.
CREATE TABLE admin_sessions (
  session_id   uuid PRIMARY KEY,
  token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  key_id       uuid NOT NULL REFERENCES admin_keys (key_id),
  address      text NOT NULL,
  created_at   timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  -- The absolute end, whatever the use; the idle end is last_seen_at plus
  -- the server's console.session_idle.
  expires_at   timestamptz NOT NULL CHECK (expires_at > created_at),
  ended_at     timestamptz
);
GRANT SELECT, INSERT, UPDATE ON admin_sessions TO hostca_server;
