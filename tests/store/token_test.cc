// Authorization tokens against the real database: creation with defaults
// and limits, deletion, and listing.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include <nlohmann/json.hpp>

#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::query_value;
using testing::TestCa;

bool listed(const std::vector<TokenView>& rows, const std::string& token_id) {
  return std::any_of(rows.begin(), rows.end(),
                     [&](const TokenView& r) { return r.token.token_id == token_id; });
}

TEST(CreateToken, DefaultsToOneUseFor24HoursAndIsAudited) {
  TestCa ca;
  ca.clock.advance(std::chrono::microseconds(123456));  // sub-second times survive the round trip
  NewAuthorizationToken request;
  request.name = "rack 4";
  request.reason = "new backup clients";
  const CreatedToken token = ca.authority->create_authorization_token(ca.admin(), request);
  EXPECT_EQ(token.token.kind(), SecretKind::kAuthorizationToken);
  EXPECT_EQ(token.expires_at, ca.clock.now() + std::chrono::hours(24));
  const auto rows = ca.authority->list_tokens(false);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, TokenState::kUsable);
  const store::TokenRow& row = rows[0].token;
  EXPECT_EQ(row.token_id, token.token_id);
  EXPECT_EQ(row.kind, store::TokenKind::kAuthorization);
  EXPECT_EQ(row.max_uses, 1);
  EXPECT_EQ(row.uses, 0);
  EXPECT_EQ(row.name, "rack 4");
  EXPECT_EQ(row.reason, "new backup clients");
  EXPECT_EQ(row.created_at, ca.clock.now());
  EXPECT_EQ(row.expires_at, token.expires_at);
  EXPECT_FALSE(row.deleted_at.has_value());
  EXPECT_EQ(row.created_by, ca.admin().id);
  EXPECT_EQ(row.token_hash, token.token.hash());
  const auto audit = ca.authority->list_audit(0, 100);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit.back().action, "token.create");
  EXPECT_EQ(audit.back().actor, ca.admin().id);
  EXPECT_EQ(audit.back().subject, token.token_id);
  const auto details = nlohmann::json::parse(audit.back().details_json);
  EXPECT_EQ(details.at("max_uses"), 1);
  EXPECT_EQ(details.at("expires_at"), format_rfc3339(token.expires_at));
}

TEST(CreateToken, TakesTheGivenUsesAndValidity) {
  TestCa ca;
  const CreatedToken token = ca.new_token(7, std::chrono::hours(2));
  EXPECT_EQ(token.expires_at, ca.clock.now() + std::chrono::hours(2));
  EXPECT_EQ(query_value<int>(ca.conninfo, "SELECT max_uses FROM tokens WHERE token_id = $1::uuid",
                             token.token_id),
            7);
}

TEST(CreateToken, RefusesRequestsOutsideTheLimitsAndWritesNothing) {
  TestCa ca;
  const auto before = database_state(ca.conninfo);
  const TokenDefaults limits;
  auto refused = [&](NewAuthorizationToken r) {
    return HOSTCA_EXPECT_ERROR(ca.authority->create_authorization_token(ca.admin(), r),
                               ErrorKind::kInvalidArgument);
  };
  NewAuthorizationToken r;
  r.name = "t";
  r.max_uses = limits.max_uses_limit + 1;
  std::string msg = refused(r);
  EXPECT_NE(msg.find("above the limit"), std::string::npos) << msg;
  r.max_uses = 1;
  r.valid_for = Duration::zero();
  msg = refused(r);
  EXPECT_NE(msg.find("must be positive"), std::string::npos) << msg;
  r.valid_for = -std::chrono::hours(1);
  refused(r);
  r.valid_for = limits.max_valid_for + std::chrono::seconds(1);
  msg = refused(r);
  EXPECT_NE(msg.find("above the limit"), std::string::npos) << msg;
  r.valid_for.reset();
  r.name = "line\nbreak";
  refused(r);
  r.name = std::string(201, 'n');
  refused(r);
  r.name = "t";
  r.reason = std::string(1001, 'r');
  refused(r);
  EXPECT_EQ(database_state(ca.conninfo), before);
  // The limits themselves are accepted.
  r.reason.clear();
  r.max_uses = limits.max_uses_limit;
  r.valid_for = limits.max_valid_for;
  EXPECT_NO_THROW(ca.authority->create_authorization_token(ca.admin(), r));
}

TEST(DeleteToken, MarksItDeletedOnceAndIsAudited) {
  TestCa ca;
  const CreatedToken token = ca.new_token(1);
  ca.clock.advance(std::chrono::minutes(3));
  ca.authority->delete_token(ca.admin(), token.token_id);
  const auto rows = ca.authority->list_tokens(true);
  ASSERT_EQ(rows.size(), 1u);
  ASSERT_TRUE(rows[0].token.deleted_at.has_value());
  EXPECT_EQ(*rows[0].token.deleted_at, ca.clock.now());
  EXPECT_EQ(rows[0].state, TokenState::kDeleted);
  EXPECT_EQ(query_value<int>(ca.conninfo,
                             "SELECT count(*) FROM audit_log WHERE action = 'token.delete'"
                             " AND subject = $1 AND actor = $2",
                             token.token_id, ca.admin().id),
            1);
}

TEST(DeleteToken, TwiceIsFailedPreconditionAndChangesNothing) {
  TestCa ca;
  const CreatedToken token = ca.new_token(1);
  ca.authority->delete_token(ca.admin(), token.token_id);
  const auto before = database_state(ca.conninfo);
  ca.clock.advance(std::chrono::minutes(1));
  const std::string msg = HOSTCA_EXPECT_ERROR(
      ca.authority->delete_token(ca.admin(), token.token_id), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("already deleted"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(DeleteToken, UnknownIdIsNotFoundAndNonUuidIsInvalidArgument) {
  TestCa ca;
  ca.new_token(1);
  const auto before = database_state(ca.conninfo);
  std::string msg = HOSTCA_EXPECT_ERROR(
      ca.authority->delete_token(ca.admin(), "0f1e2d3c-4b5a-4697-8877-665544332211"),
      ErrorKind::kNotFound);
  EXPECT_NE(msg.find("token list"), std::string::npos) << msg;
  for (const char* bad :
       {"", "not-a-uuid", "0f1e2d3c4b5a469788776655443322110000", "' OR 1=1 --"}) {
    msg = HOSTCA_EXPECT_ERROR(ca.authority->delete_token(ca.admin(), bad),
                              ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("token ID"), std::string::npos) << msg;
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(DeleteToken, AcceptsAnUppercaseId) {
  TestCa ca;
  const CreatedToken token = ca.new_token(1);
  std::string upper = token.token_id;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ca.authority->delete_token(ca.admin(), upper);
  EXPECT_FALSE(listed(ca.authority->list_tokens(false), token.token_id));
}

TEST(ListTokens, HidesDeletedTokensUnlessAsked) {
  TestCa ca;
  const CreatedToken kept = ca.new_token(1);
  const CreatedToken gone = ca.new_token(1);
  ca.authority->delete_token(ca.admin(), gone.token_id);
  const auto visible = ca.authority->list_tokens(false);
  EXPECT_EQ(visible.size(), 1u);
  EXPECT_TRUE(listed(visible, kept.token_id));
  EXPECT_FALSE(listed(visible, gone.token_id));
  const auto all = ca.authority->list_tokens(true);
  EXPECT_EQ(all.size(), 2u);
  EXPECT_TRUE(listed(all, gone.token_id));
}

TEST(ListTokens, ShowsUsesAsTheyAreCounted) {
  TestCa ca;
  const CreatedToken token = ca.new_token(3);
  ca.authority->enroll(testing::enrollment("a.example", token.token.reveal()));
  ca.authority->enroll(testing::enrollment("b.example", token.token.reveal()));
  const auto rows = ca.authority->list_tokens(false);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].token.uses, 2);
  EXPECT_EQ(rows[0].state, TokenState::kUsable);
}

}  // namespace
}  // namespace hostca
