#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "common/uuid.h"
#include "domain/authority.h"
#include "domain/certificate_profile.h"

namespace hostca {
namespace {

TEST(CertificateProfile, DefaultsAndBoundariesAreValid) {
  EXPECT_NO_THROW(CertificateProfile().validate());
  CertificateProfile p;
  p.validity = std::chrono::seconds(10);
  p.backdate = Duration::zero();
  EXPECT_NO_THROW(p.validate());
  p.validity = std::chrono::hours(24 * 825);
  p.backdate = std::chrono::hours(24);
  p.crl_base_url = "https://ca.example/crl";
  EXPECT_NO_THROW(p.validate());
}

TEST(CertificateProfile, RefusesValidityOutsideTenSecondsTo825Days) {
  CertificateProfile p;
  p.validity = std::chrono::seconds(9);
  std::string msg = HOSTCA_EXPECT_ERROR(p.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("validity"), std::string::npos) << msg;
  p.validity = std::chrono::hours(24 * 825) + std::chrono::seconds(1);
  msg = HOSTCA_EXPECT_ERROR(p.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("825 days"), std::string::npos) << msg;
}

TEST(CertificateProfile, RefusesBackdateOutsideZeroTo24Hours) {
  CertificateProfile p;
  p.backdate = -std::chrono::seconds(1);
  std::string msg = HOSTCA_EXPECT_ERROR(p.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("backdate"), std::string::npos) << msg;
  p.backdate = std::chrono::hours(24) + std::chrono::seconds(1);
  msg = HOSTCA_EXPECT_ERROR(p.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("backdate"), std::string::npos) << msg;
}

TEST(CertificateProfile, RefusesACrlBaseUrlThatIsNotHttpOrEndsWithASlash) {
  for (const char* bad :
       {"", "ftp://ca.example/crl", "ca.example/crl", "HTTP//x", "http://ca.example/crl/"}) {
    CertificateProfile p;
    p.crl_base_url = bad;
    const std::string msg = HOSTCA_EXPECT_ERROR(p.validate(), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("crl base URL"), std::string::npos) << bad << ": " << msg;
  }
}

// A distribution point no relying party can reach is never written into a
// certificate: "any" addresses, no host, a query or white space.
TEST(CertificateProfile, RefusesACrlBaseUrlNamingNoReachableHost) {
  for (const char* bad :
       {"http://0.0.0.0:8080/crl", "http://[::]:8080/crl", "http://:8080/crl", "http:///crl",
        "http://ca.example/crl?x=1", "http://ca.example/c rl", "https://0.0.0.0/crl"}) {
    CertificateProfile p;
    p.crl_base_url = bad;
    const std::string msg = HOSTCA_EXPECT_ERROR(p.validate(), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("crl base URL"), std::string::npos) << bad << ": " << msg;
  }
  for (const char* good : {"http://127.0.0.1:8080/crl", "https://ca.example.com/crl",
                           "http://[2001:db8::1]:8080/crl", "http://ca"}) {
    CertificateProfile p;
    p.crl_base_url = good;
    EXPECT_NO_THROW(p.validate()) << good;
  }
}

TEST(CertificateProfile, CrlUrlAppendsTheShardNumber) {
  CertificateProfile p;
  p.crl_base_url = "http://ca.example:8080/crl";
  EXPECT_EQ(p.crl_url(0, 1), "http://ca.example:8080/crl/0.crl");
  EXPECT_EQ(p.crl_url(15, 1), "http://ca.example:8080/crl/15.crl");
  EXPECT_EQ(p.crl_url(-1, 1), "http://ca.example:8080/crl/ca.crl");
}

// A later CA key's CRLs live under their own folder: the URLs of the first
// key (in every certificate issued before any rollover) never change.
TEST(CertificateProfile, CrlUrlOfALaterCaKeyNamesItsGeneration) {
  CertificateProfile p;
  p.crl_base_url = "http://ca.example:8080/crl";
  EXPECT_EQ(p.crl_url(3, 2), "http://ca.example:8080/crl/g2/3.crl");
  EXPECT_EQ(p.crl_url(-1, 2), "http://ca.example:8080/crl/g2/ca.crl");
  EXPECT_NE(p.crl_url(3, 2), p.crl_url(3, 3));
}

TEST(CrlShard, StaysInRangeAndIsStableForEachHost) {
  for (int shards : {1, 2, 7, 16, 4096}) {
    for (int i = 0; i < 300; ++i) {
      const std::string id = new_uuid(testing::rng());
      const int shard = crl_shard_of(id, shards);
      EXPECT_GE(shard, 0);
      EXPECT_LT(shard, shards);
      EXPECT_EQ(crl_shard_of(id, shards), shard);
    }
  }
}

TEST(CrlShard, IsTheFirst32BitsOfTheHostIdSoEveryServerAndSqlAgree) {
  // 0x0f1e2d3c = 253635900, worked out by hand.
  const std::string id = "0f1e2d3c-4b5a-4697-8877-665544332211";
  EXPECT_EQ(crl_shard_of(id, 16), 253635900 % 16);
  EXPECT_EQ(crl_shard_of(id, 4096), 253635900 % 4096);
  EXPECT_EQ(crl_shard_of(id, 7), 253635900 % 7);
  EXPECT_EQ(crl_shard_of("FFFFFFFF-0000-4000-8000-000000000000", 4096), 4095);
  // Case does not matter: the same host lands in the same shard.
  EXPECT_EQ(crl_shard_of("0F1E2D3C-4B5A-4697-8877-665544332211", 4096), crl_shard_of(id, 4096));
}

TEST(CrlShard, OneShardOrFewerIsShardZero) {
  EXPECT_EQ(crl_shard_of(new_uuid(testing::rng()), 1), 0);
  EXPECT_EQ(crl_shard_of(new_uuid(testing::rng()), 0), 0);
}

TEST(CrlShard, SpreadsHostsOverEveryShard) {
  std::set<int> used;
  for (int i = 0; i < 1600; ++i) used.insert(crl_shard_of(new_uuid(testing::rng()), 16));
  EXPECT_EQ(used.size(), 16u);
}

store::TokenRow token_expiring_at(TimePoint expires_at) {
  store::TokenRow t;
  t.max_uses = 3;
  t.uses = 0;
  t.created_at = expires_at - std::chrono::hours(24);
  t.expires_at = expires_at;
  return t;
}

const TimePoint kExpiry = from_unix_micros(1772366400LL * 1000000);

TEST(TokenState, UsableOneSecondBeforeExpiryAndExpiredExactlyAtIt) {
  const store::TokenRow t = token_expiring_at(kExpiry);
  EXPECT_EQ(token_state(t, kExpiry - std::chrono::seconds(1)), TokenState::kUsable);
  EXPECT_EQ(token_state(t, kExpiry - std::chrono::microseconds(1)), TokenState::kUsable);
  EXPECT_EQ(token_state(t, kExpiry), TokenState::kExpired);
  EXPECT_EQ(token_state(t, kExpiry + std::chrono::seconds(1)), TokenState::kExpired);
}

TEST(TokenState, UsedUpWhenUsesReachMaxUses) {
  store::TokenRow t = token_expiring_at(kExpiry);
  const TimePoint now = kExpiry - std::chrono::hours(1);
  t.uses = t.max_uses - 1;
  EXPECT_EQ(token_state(t, now), TokenState::kUsable);
  t.uses = t.max_uses;
  EXPECT_EQ(token_state(t, now), TokenState::kUsedUp);
}

TEST(TokenState, DeletedWinsOverExpiredAndUsedUp) {
  store::TokenRow t = token_expiring_at(kExpiry);
  t.deleted_at = kExpiry - std::chrono::hours(2);
  EXPECT_EQ(token_state(t, kExpiry - std::chrono::hours(1)), TokenState::kDeleted);
  t.uses = t.max_uses;
  EXPECT_EQ(token_state(t, kExpiry + std::chrono::hours(1)), TokenState::kDeleted);
}

TEST(TokenState, ExpiredWinsOverUsedUp) {
  store::TokenRow t = token_expiring_at(kExpiry);
  t.uses = t.max_uses;
  EXPECT_EQ(token_state(t, kExpiry), TokenState::kExpired);
}

TEST(TokenState, NamesAreStable) {
  EXPECT_STREQ(to_string(TokenState::kUsable), "usable");
  EXPECT_STREQ(to_string(TokenState::kExpired), "expired");
  EXPECT_STREQ(to_string(TokenState::kUsedUp), "used_up");
  EXPECT_STREQ(to_string(TokenState::kDeleted), "deleted");
}

TEST(TokenDefaults, RefusesNonPositiveDefaultAMaxBelowItAndNoUses) {
  TokenDefaults d;
  EXPECT_NO_THROW(d.validate());
  d.default_valid_for = Duration::zero();
  HOSTCA_EXPECT_ERROR(d.validate(), ErrorKind::kInvalidArgument);
  d = TokenDefaults{};
  d.max_valid_for = d.default_valid_for - std::chrono::seconds(1);
  HOSTCA_EXPECT_ERROR(d.validate(), ErrorKind::kInvalidArgument);
  d = TokenDefaults{};
  d.max_uses_limit = 0;
  HOSTCA_EXPECT_ERROR(d.validate(), ErrorKind::kInvalidArgument);
}

TEST(CheckedLabel, AcceptsUpToTheMaximumAndRefusesLongerOrControlCharacters) {
  EXPECT_EQ(checked_label("web servers, rack 4", "token name", 200), "web servers, rack 4");
  EXPECT_EQ(checked_label(std::string(10, 'x'), "token name", 10), std::string(10, 'x'));
  std::string msg = HOSTCA_EXPECT_ERROR(checked_label(std::string(11, 'x'), "token name", 10),
                                        ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("token name is 11 characters; at most 10"), std::string::npos) << msg;
  for (const char* bad : {"a\nb", "a\tb", "\x1b[2J", "a\x7f"}) {
    msg = HOSTCA_EXPECT_ERROR(checked_label(bad, "token reason", 100), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("control characters"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace hostca
