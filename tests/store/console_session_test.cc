// Admin console sessions against the real database (migration 0013): a
// valid admin key starts one, stored only as a hash; it ends when idle, at
// its absolute end and at sign-out, on every server; anything that changes
// state needs its anti-CSRF token; unknown keys and sessions count against
// the caller's address like unknown tokens, and a valid key still signs in.
#include <gtest/gtest.h>

#include <string>

#include <botan/system_rng.h>

#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using namespace std::chrono_literals;
using testing::database_state;
using testing::query_value;
using testing::TestCa;

constexpr const char* kPeer = "ipv4:192.0.2.10:5000";

TEST(ConsoleSession, AValidKeyStartsASessionStoredOnlyAsItsHashAndAudited) {
  TestCa ca;
  const StartedConsoleSession s = ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer);
  EXPECT_EQ(s.secret.reveal().rfind("hca_session_", 0), 0u);
  EXPECT_EQ(s.key_id, ca.init.admin_key_id);
  EXPECT_EQ(s.csrf_token, console_csrf_token(s.secret.reveal()));
  EXPECT_NE(s.csrf_token, s.secret.reveal());
  EXPECT_EQ(s.expires_at, ca.clock.now() + 12h);
  EXPECT_EQ(s.idle_expires_at, ca.clock.now() + 30min);
  EXPECT_EQ(
      query_value<std::string>(ca.conninfo, "SELECT encode(token_hash, 'hex') FROM admin_sessions"),
      to_hex(sha256(s.secret.reveal())));
  EXPECT_EQ(query_value<std::string>(ca.conninfo, "SELECT address FROM admin_sessions"),
            "ipv4:192.0.2.10");
  // Neither the secret nor its anti-CSRF token is in any row of any table.
  const std::string dump = query_value<std::string>(
      ca.conninfo,
      "SELECT string_agg(t::text, ' ') FROM (SELECT row_to_json(a)::text AS t FROM admin_sessions a"
      " UNION ALL SELECT row_to_json(l)::text FROM audit_log l) x");
  EXPECT_EQ(dump.find(s.secret.reveal()), std::string::npos);
  EXPECT_EQ(dump.find(s.csrf_token), std::string::npos);
  EXPECT_EQ(query_value<std::string>(
                ca.conninfo, "SELECT actor FROM audit_log WHERE action = 'console.sign_in'"),
            "admin:" + ca.init.admin_key_id);

  const ConsoleSessionView v = ca.authority->console_session(s.secret.reveal(), nullptr, kPeer);
  EXPECT_EQ(v.actor.id, ca.admin().id);
  EXPECT_EQ(v.session_id, s.session_id);
  EXPECT_EQ(v.csrf_token, s.csrf_token);
}

TEST(ConsoleSession, ItEndsWhenIdleAndAtItsAbsoluteEndWhateverTheUse) {
  TestCa ca;
  const StartedConsoleSession idle = ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer);
  ca.clock.advance(29min);
  EXPECT_NO_THROW(ca.authority->console_session(idle.secret.reveal(), nullptr, kPeer));
  // Used at minute 29: idle from there.
  ca.clock.advance(29min);
  EXPECT_NO_THROW(ca.authority->console_session(idle.secret.reveal(), nullptr, kPeer));
  ca.clock.advance(31min);
  std::string msg =
      HOSTCA_EXPECT_ERROR(ca.authority->console_session(idle.secret.reveal(), nullptr, kPeer),
                          ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("idle for more than 30 min"), std::string::npos) << msg;

  const StartedConsoleSession busy = ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer);
  for (int i = 0; i < 71; ++i) {  // a request every 10 minutes for 11 h 50 min
    ca.clock.advance(10min);
    ASSERT_NO_THROW(ca.authority->console_session(busy.secret.reveal(), nullptr, kPeer)) << i;
  }
  ca.clock.advance(10min);
  msg = HOSTCA_EXPECT_ERROR(ca.authority->console_session(busy.secret.reveal(), nullptr, kPeer),
                            ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("expired"), std::string::npos) << msg;
}

TEST(ConsoleSession, AnythingButAReadNeedsTheSessionsAntiCsrfToken) {
  TestCa ca;
  const StartedConsoleSession s = ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer);
  const StartedConsoleSession other = ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer);
  // The token with its first digit changed.
  const std::string none,
      wrong = std::string(1, s.csrf_token[0] == '0' ? '1' : '0') + s.csrf_token.substr(1);
  std::string msg = HOSTCA_EXPECT_ERROR(
      ca.authority->console_session(s.secret.reveal(), &none, kPeer), ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("X-CSRF-Token"), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(ca.authority->console_session(s.secret.reveal(), &wrong, kPeer),
                      ErrorKind::kPermissionDenied);
  // Another session's token does not do either.
  HOSTCA_EXPECT_ERROR(ca.authority->console_session(s.secret.reveal(), &other.csrf_token, kPeer),
                      ErrorKind::kPermissionDenied);
  EXPECT_EQ(ca.authority->console_session(s.secret.reveal(), &s.csrf_token, kPeer).actor.id,
            ca.admin().id);
  // Sign-out needs it too, and without it the session goes on.
  HOSTCA_EXPECT_ERROR(ca.authority->sign_out(s.secret.reveal(), "", kPeer),
                      ErrorKind::kPermissionDenied);
  EXPECT_NO_THROW(ca.authority->console_session(s.secret.reveal(), nullptr, kPeer));
}

TEST(ConsoleSession, SignOutEndsItOnEveryServer) {
  TestCa ca;
  store::PgStore second_store(store::PgStoreOptions{ca.conninfo, 2});
  const auto second = ca.make_authority(second_store);
  const StartedConsoleSession s = ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer);
  // Started on one server, accepted on the other.
  EXPECT_EQ(second->console_session(s.secret.reveal(), nullptr, kPeer).session_id, s.session_id);
  second->sign_out(s.secret.reveal(), s.csrf_token, kPeer);
  for (Authority* server : {ca.authority.get(), second.get()}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(
        server->console_session(s.secret.reveal(), nullptr, kPeer), ErrorKind::kUnauthenticated);
    EXPECT_NE(msg.find("sign in again"), std::string::npos) << msg;
  }
  HOSTCA_EXPECT_ERROR(ca.authority->sign_out(s.secret.reveal(), s.csrf_token, kPeer),
                      ErrorKind::kUnauthenticated);
  EXPECT_EQ(query_value<std::int64_t>(
                ca.conninfo, "SELECT count(*) FROM audit_log WHERE action = 'console.sign_out'"),
            1);
}

TEST(ConsoleSession, UnknownKeysCountAgainstTheAddressAndChangeNothingButAValidKeySignsIn) {
  TestCa ca;
  Botan::System_RNG rng;
  const auto before = database_state(ca.conninfo);
  const std::int64_t sessions_before =
      query_value<std::int64_t>(ca.conninfo, "SELECT count(*) FROM admin_sessions");
  const std::string token = ca.new_token(1).token.reveal();
  const auto after_token = database_state(ca.conninfo);
  // The budget is 20 unknown credentials a minute per address.
  for (int i = 0; i < 20; ++i) {
    const std::string unknown = SecretToken::generate(SecretKind::kAdminKey, rng).reveal();
    const std::string msg =
        HOSTCA_EXPECT_ERROR(ca.authority->sign_in(unknown, kPeer), ErrorKind::kUnauthenticated);
    EXPECT_EQ(msg.find(unknown), std::string::npos) << msg;
  }
  const std::string msg = HOSTCA_EXPECT_ERROR(
      ca.authority->sign_in(SecretToken::generate(SecretKind::kAdminKey, rng).reveal(), kPeer),
      ErrorKind::kResourceExhausted);
  EXPECT_NE(msg.find("too many unknown admin keys"), std::string::npos) << msg;
  // A token is not an admin key, and an unknown session counts the same way.
  HOSTCA_EXPECT_ERROR(ca.authority->sign_in(token, kPeer), ErrorKind::kResourceExhausted);
  HOSTCA_EXPECT_ERROR(
      ca.authority->console_session(
          SecretToken::generate(SecretKind::kConsoleSession, rng).reveal(), nullptr, kPeer),
      ErrorKind::kResourceExhausted);
  EXPECT_EQ(database_state(ca.conninfo), after_token);
  EXPECT_EQ(query_value<std::int64_t>(ca.conninfo, "SELECT count(*) FROM admin_sessions"),
            sessions_before);
  // Another address is not held back, and the real key from this one signs in.
  HOSTCA_EXPECT_ERROR(
      ca.authority->sign_in(SecretToken::generate(SecretKind::kAdminKey, rng).reveal(),
                            "ipv4:192.0.2.99:1"),
      ErrorKind::kUnauthenticated);
  EXPECT_NO_THROW(ca.authority->sign_in(ca.init.admin_key.reveal(), kPeer));
  EXPECT_NE(before, database_state(ca.conninfo));
}

}  // namespace
}  // namespace hostca
