// Admin console sessions: signing in with an admin key, the session of each
// request (idle and absolute ends, the anti-CSRF check), signing out. Rows
// in admin_sessions (migration 0013), so every server accepts a session and
// a sign-out ends it on all of them.
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/uuid.h"
#include "domain/authority.h"
#include "domain/records.h"

namespace hostca {

namespace {

// A session's last_seen_at is written at most this often: a console that
// polls every few seconds must not write a row per request.
constexpr auto kTouchEvery = std::chrono::seconds(60);

std::string minutes_of(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::minutes>(d).count()) + " min";
}

}  // namespace

std::string console_csrf_token(const std::string& session_secret) {
  return to_hex(sha256("hostca console anti-CSRF token\n" + session_secret));
}

StartedConsoleSession Authority::sign_in(const std::string& admin_key, const std::string& peer) {
  const std::string address = peer_address(peer);
  const SecretToken key_secret = parse_token(admin_key, SecretKind::kAdminKey, address);
  const auto key =
      store_.transact([&](store::Tx& tx) { return tx.find_admin_key(key_secret.hash()); });
  if (!key)
    refuse_unknown_token(address, SecretKind::kAdminKey, unauthenticated("unknown admin key"));

  SecretToken secret = SecretToken::generate(SecretKind::kConsoleSession, rng_);
  store::AdminSessionRow row;
  row.session_id = new_uuid(rng_);
  row.token_hash = secret.hash();
  row.key_id = key->key_id;
  row.address = address;
  const Actor actor{"admin:" + key->key_id};
  store_.transact([&](store::Tx& tx) {
    row.created_at = clock_.now();
    row.last_seen_at = row.created_at;
    row.expires_at = row.created_at + config_.console_sessions.absolute;
    tx.insert_admin_session(row);
    tx.append_audit(audit_record(row.created_at, actor.id, "console.sign_in", row.session_id, "ok",
                                 {{"address", address}}));
  });
  StartedConsoleSession out{
      std::move(secret), "",
      row.session_id,    row.key_id,
      row.expires_at,    std::min(row.expires_at, row.created_at + config_.console_sessions.idle)};
  out.csrf_token = console_csrf_token(out.secret.reveal());
  return out;
}

ConsoleSessionView Authority::console_session(const std::string& secret,
                                              const std::string* csrf_token,
                                              const std::string& peer) {
  const std::string address = peer_address(peer);
  const SecretToken token = parse_token(secret, SecretKind::kConsoleSession, address);
  const auto row =
      store_.transact([&](store::Tx& tx) { return tx.find_admin_session(token.hash()); });
  if (!row || row->ended_at) {
    refuse_unknown_token(address, SecretKind::kConsoleSession,
                         unauthenticated("the console session has ended or is unknown: sign in "
                                         "again"));
  }
  const TimePoint now = clock_.now();
  if (now >= row->expires_at) {
    throw unauthenticated("the console session has expired (it lasts " +
                          minutes_of(config_.console_sessions.absolute) + "): sign in again");
  }
  if (now >= row->last_seen_at + config_.console_sessions.idle) {
    throw unauthenticated("the console session was idle for more than " +
                          minutes_of(config_.console_sessions.idle) + ": sign in again");
  }
  const std::string expected_csrf = console_csrf_token(secret);
  if (csrf_token != nullptr && sha256(*csrf_token) != sha256(expected_csrf)) {
    throw permission_denied(
        csrf_token->empty()
            ? "a request that changes something needs the session's X-CSRF-Token header"
            : "the X-CSRF-Token header is not this session's");
  }
  TimePoint last_seen = row->last_seen_at;
  if (now - row->last_seen_at >= kTouchEvery) {
    store_.transact([&](store::Tx& tx) { tx.touch_admin_session(row->session_id, now); });
    last_seen = now;
  }
  return ConsoleSessionView{Actor{"admin:" + row->key_id},
                            row->session_id,
                            row->key_id,
                            expected_csrf,
                            row->expires_at,
                            std::min(row->expires_at, last_seen + config_.console_sessions.idle)};
}

void Authority::sign_out(const std::string& secret, const std::string& csrf_token,
                         const std::string& peer) {
  const ConsoleSessionView session = console_session(secret, &csrf_token, peer);
  store_.transact([&](store::Tx& tx) {
    const TimePoint now = clock_.now();
    if (!tx.end_admin_session(session.session_id, now)) {
      throw unauthenticated("the console session has ended already");
    }
    tx.append_audit(audit_record(now, session.actor.id, "console.sign_out", session.session_id,
                                 "ok", nlohmann::json::object()));
  });
}

}  // namespace hostca
