// ListAuditEvents' filters against the real database: by action, actor,
// subject and time, in sequence order, page after page; bad filters are
// refused and read nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using namespace std::chrono_literals;
using testing::TestCa;

std::vector<std::string> subjects_of(const std::vector<store::AuditRow>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.subject);
  return out;
}

TEST(AuditFilter, ByActionActorSubjectAndTimePageAfterPageInOrder) {
  TestCa ca;
  const CreatedAdminKey second = ca.authority->create_admin_key(ca.admin(), "second admin");
  const Actor other{"admin:" + second.key_id};
  const TimePoint t0 = ca.clock.now();
  std::vector<std::string> mine, theirs;
  for (int i = 0; i < 5; ++i) {
    ca.clock.advance(1h);
    NewAuthorizationToken t;
    t.name = "t" + std::to_string(i);
    mine.push_back(ca.authority->create_authorization_token(ca.admin(), t).token_id);
    theirs.push_back(ca.authority->create_authorization_token(other, t).token_id);
  }
  store::AuditFilter f;
  f.action = "token.create";
  f.actor = other.id;
  EXPECT_EQ(subjects_of(ca.authority->list_audit(f)), theirs);
  f.actor = ca.admin().id;
  EXPECT_EQ(subjects_of(ca.authority->list_audit(f)), mine);
  // Page by page: each page starts after the last one's last event.
  f.limit = 2;
  std::vector<std::string> paged;
  for (int page = 0; page < 5; ++page) {
    const auto rows = ca.authority->list_audit(f);
    if (rows.empty()) break;
    for (const auto& r : rows) paged.push_back(r.subject);
    f.after_sequence = rows.back().sequence;
  }
  EXPECT_EQ(paged, mine);
  // One subject; and a window of time: hours 2 and 3 after t0, both admins.
  store::AuditFilter one;
  one.subject = theirs[3];
  const auto rows = ca.authority->list_audit(one);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].actor, other.id);
  store::AuditFilter window;
  window.action = "token.create";
  window.since = t0 + 2h;
  window.until = t0 + 4h;
  EXPECT_EQ(subjects_of(ca.authority->list_audit(window)),
            (std::vector<std::string>{mine[1], theirs[1], mine[2], theirs[2]}));
  // Nothing matches: an empty page, not an error.
  store::AuditFilter none;
  none.action = "no.such.action";
  EXPECT_TRUE(ca.authority->list_audit(none).empty());
}

TEST(AuditFilter, BadFiltersAreRefusedNamingTheField) {
  TestCa ca;
  store::AuditFilter f;
  f.since = ca.clock.now();
  f.until = ca.clock.now();
  std::string msg = HOSTCA_EXPECT_ERROR(ca.authority->list_audit(f), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("until must be after since"), std::string::npos) << msg;
  store::AuditFilter g;
  g.subject = "a\nb";
  msg = HOSTCA_EXPECT_ERROR(ca.authority->list_audit(g), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("subject"), std::string::npos) << msg;
  store::AuditFilter h;
  h.actor = std::string(201, 'a');
  msg = HOSTCA_EXPECT_ERROR(ca.authority->list_audit(h), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("actor"), std::string::npos) << msg;
  store::AuditFilter big;
  big.limit = 1001;
  HOSTCA_EXPECT_ERROR(ca.authority->list_audit(big), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace hostca
