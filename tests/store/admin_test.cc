// Admin credentials against the real database: refused calls are audited
// once each, keys authenticate as their key ID, and no secret value is
// ever stored, only its SHA-256.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include <botan/system_rng.h>

#include "service/admin_credential.h"
#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::query_value;
using testing::TestCa;

TEST(AuthenticateAdmin, TheInitAdminKeyAuthenticatesAsItsKeyId) {
  TestCa ca;
  const Actor actor = ca.authority->authenticate_admin(
      hostca::service::admin_credential("Bearer " + ca.init.admin_key.reveal()),
      "ipv4:127.0.0.1:5000", "ListTokens");
  EXPECT_EQ(actor.id, "admin:" + ca.init.admin_key_id);
}

TEST(AuthenticateAdmin, TheBearerSchemeNameIsCaseInsensitive) {
  TestCa ca;
  for (const std::string scheme : {"bearer ", "BEARER "}) {
    const Actor actor = ca.authority->authenticate_admin(
        hostca::service::admin_credential(scheme + ca.init.admin_key.reveal()),
        "ipv4:127.0.0.1:5000", "ListTokens");
    EXPECT_EQ(actor.id, "admin:" + ca.init.admin_key_id) << scheme;
  }
}

// Refusals change nothing when they happen; they are audited together:
// one row per address per window, with the count.
TEST(AuthenticateAdmin, RefusalsAreUnauthenticatedAndAuditedAsOneRowPerAddressAndWindow) {
  TestCa ca;
  Botan::System_RNG rng;
  const std::string unknown_key = SecretToken::generate(SecretKind::kAdminKey, rng).reveal();
  const std::string auth_token = ca.new_token(1).token.reveal();
  struct Case {
    std::string header;
    std::string says;
    std::string secret;  // must appear nowhere: message or database
  };
  const std::vector<Case> cases = {
      {"", "authorization: Bearer <admin key>", ""},
      {"Basic " + ca.init.admin_key.reveal(), "must read 'Bearer <admin key>'",
       ca.init.admin_key.reveal()},
      {"Bearer ", "no admin key was given", ""},
      {"Bearer hca_admin_tooshort", "malformed admin key", "hca_admin_tooshort"},
      {"Bearer " + unknown_key, "unknown admin key", unknown_key},
      {"Bearer " + auth_token, "authorization token, not a", auth_token},
  };
  const auto before = database_state(ca.conninfo);
  const std::int64_t last =
      query_value<std::int64_t>(ca.conninfo, "SELECT max(sequence) FROM audit_log");
  for (const Case& c : cases) {
    const std::string msg = HOSTCA_EXPECT_ERROR(
        ca.authority->authenticate_admin(hostca::service::admin_credential(c.header),
                                         "ipv4:10.1.2.3:4567", "DeleteToken"),
        ErrorKind::kUnauthenticated);
    EXPECT_NE(msg.find(c.says), std::string::npos) << c.says << " / " << msg;
    EXPECT_EQ(database_state(ca.conninfo), before) << c.says;
    if (!c.secret.empty()) {
      const std::string body = c.secret.substr(c.secret.find('_', 4) + 1);
      EXPECT_EQ(msg.find(body), std::string::npos) << msg;
    }
  }
  // Another port of the same address is the same caller.
  HOSTCA_EXPECT_ERROR(ca.authority->authenticate_admin(hostca::service::admin_credential(""),
                                                       "ipv4:10.1.2.3:9999", "ListHosts"),
                      ErrorKind::kUnauthenticated);
  // One second before the window closes nothing is written; at its end, one row.
  const Duration window = ca.authority->config().refusal_audit.window;
  ca.clock.advance(window - std::chrono::seconds(1));
  EXPECT_EQ(ca.authority->flush_refusals(false), 0u);
  EXPECT_EQ(database_state(ca.conninfo), before);
  ca.clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(ca.authority->flush_refusals(false), 1u);
  const auto rows = ca.authority->list_audit(static_cast<std::uint64_t>(last), 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].action, "admin.refused");
  EXPECT_EQ(rows[0].outcome, "refused");
  EXPECT_EQ(rows[0].actor, "peer:ipv4:10.1.2.3");
  EXPECT_EQ(rows[0].at, ca.clock.now() - window);
  const auto details = nlohmann::json::parse(rows[0].details_json);
  EXPECT_EQ(details["count"].get<int>(), static_cast<int>(cases.size()) + 1);
  EXPECT_GE(details["reasons"].size(), 2u);  // each call and refusal, counted
  for (const Case& c : cases) {
    if (c.secret.empty()) continue;
    const std::string body = c.secret.substr(c.secret.find('_', 4) + 1);
    EXPECT_EQ(rows[0].details_json.find(body), std::string::npos) << rows[0].details_json;
  }
}

// A flood of refused admin calls from many addresses costs memory bounded by
// the tally and rows bounded per window, never a row per call.
TEST(AuthenticateAdmin, AMillionRefusalsWriteAtMostOneRowPerAddressPerWindow) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  for (int i = 0; i < 20000; ++i) {
    HOSTCA_EXPECT_ERROR(
        ca.authority->authenticate_admin(
            hostca::service::admin_credential("Bearer nope"),
            "ipv4:10.9.0." + std::to_string(i % 4) + ":" + std::to_string(1000 + i), "ListTokens"),
        ErrorKind::kUnauthenticated);
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
  ca.clock.advance(ca.authority->config().refusal_audit.window);
  EXPECT_EQ(ca.authority->flush_refusals(false), 4u);
  EXPECT_EQ(database_state(ca.conninfo).audit_log, before.audit_log + 4);
}

TEST(AdminKeys, ACreatedKeyWorksIsAuditedAndStoredAsItsHash) {
  TestCa ca;
  const CreatedAdminKey key = ca.authority->create_admin_key(ca.admin(), "ops team");
  EXPECT_EQ(key.key.reveal().rfind("hca_admin_", 0), 0u);
  const Actor actor = ca.authority->authenticate_admin(
      hostca::service::admin_credential("Bearer " + key.key.reveal()), "unix:", "ListHosts");
  EXPECT_EQ(actor.id, "admin:" + key.key_id);
  EXPECT_EQ(query_value<std::string>(ca.conninfo,
                                     "SELECT key_id::text || ' ' || name || ' ' || created_by"
                                     " FROM admin_keys WHERE key_hash = sha256(convert_to($1, "
                                     "'UTF8'))",
                                     key.key.reveal()),
            key.key_id + " ops team " + ca.admin().id);
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM audit_log WHERE action = 'admin_key.create'"
                             " AND subject = $1 AND actor = $2 AND outcome = 'ok'",
                             key.key_id, ca.admin().id),
            1);
  // The first key keeps working.
  EXPECT_EQ(ca.authority
                ->authenticate_admin(
                    hostca::service::admin_credential("Bearer " + ca.init.admin_key.reveal()),
                    "unix:", "ListHosts")
                .id,
            ca.admin().id);
}

TEST(AdminKeys, NeedANameWithoutControlCharacters) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  std::string msg = HOSTCA_EXPECT_ERROR(ca.authority->create_admin_key(ca.admin(), ""),
                                        ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("name"), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(ca.authority->create_admin_key(ca.admin(), "ops\nteam"),
                      ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(ca.authority->create_admin_key(ca.admin(), std::string(201, 'n')),
                      ErrorKind::kInvalidArgument);
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(Secrets, NoTokenOrKeyValueIsStoredAnywhereOnlyItsSha256) {
  TestCa ca;
  std::vector<CreatedToken> tokens;
  for (int i = 0; i < 3; ++i) tokens.push_back(ca.new_token(2));
  const CreatedAdminKey key = ca.authority->create_admin_key(ca.admin(), "second");
  ca.authority->enroll(testing::enrollment("h.example", tokens[0].token.reveal()));
  ca.authority->delete_token(ca.admin(), tokens[1].token_id);
  // Refused calls that carry a value.
  EXPECT_THROW(
      ca.authority->authenticate_admin(
          hostca::service::admin_credential("Bearer " + tokens[2].token.reveal()), "p", "c"),
      Error);
  EXPECT_THROW(ca.authority->authenticate_admin(
                   hostca::service::admin_credential("Basic " + key.key.reveal()), "p", "c"),
               Error);

  std::vector<std::string> secrets = {key.key.reveal(), ca.init.admin_key.reveal()};
  for (const auto& t : tokens) secrets.push_back(t.token.reveal());
  for (const std::string& secret : secrets) {
    const std::string body = secret.substr(secret.size() - 43);
    for (const char* table : {"tokens", "admin_keys", "audit_log", "hosts", "certificates", "ca"}) {
      EXPECT_EQ(query_value<int>(ca.conninfo,
                                 std::string("SELECT count(*) FROM ") + table +
                                     " x WHERE strpos(row_to_json(x)::text, $1) > 0",
                                 body),
                0)
          << table << " holds a secret";
    }
  }
  // What is stored is the SHA-256 of the whole value, computed here by PostgreSQL.
  for (const auto& t : tokens) {
    EXPECT_EQ(
        query_value<std::string>(
            ca.conninfo,
            "SELECT token_id::text FROM tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
            t.token.reveal()),
        t.token_id);
  }
  for (const auto& [value, id] : {std::pair{key.key.reveal(), key.key_id},
                                  std::pair{ca.init.admin_key.reveal(), ca.init.admin_key_id}}) {
    EXPECT_EQ(query_value<std::string>(ca.conninfo,
                                       "SELECT key_id::text FROM admin_keys WHERE key_hash ="
                                       " sha256(convert_to($1, 'UTF8'))",
                                       value),
              id);
  }
}

}  // namespace
}  // namespace hostca
