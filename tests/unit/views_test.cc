// The states the domain computes for what it shows (ring 1), to the second.
#include <gtest/gtest.h>

#include "domain/views.h"

namespace hostca {
namespace {

using std::chrono::seconds;

const TimePoint kNow = from_unix_micros(1772366400LL * 1000000);

store::CertificateRow certificate(TimePoint not_after, std::optional<TimePoint> revoked = {}) {
  store::CertificateRow c;
  c.not_before = not_after - std::chrono::hours(24);
  c.not_after = not_after;
  c.revoked_at = revoked;
  if (revoked) c.revocation_reason = 4;
  return c;
}

TEST(CertificateState, ValidUntilItsNotAfterThenExpired) {
  EXPECT_EQ(certificate_state(certificate(kNow + seconds(1)), kNow), CertificateState::kValid);
  EXPECT_EQ(certificate_state(certificate(kNow), kNow), CertificateState::kExpired);
  EXPECT_EQ(certificate_state(certificate(kNow - seconds(1)), kNow), CertificateState::kExpired);
}

TEST(CertificateState, RevokedWhateverItsDates) {
  EXPECT_EQ(certificate_state(certificate(kNow + seconds(100), kNow), kNow),
            CertificateState::kRevoked);
  EXPECT_EQ(certificate_state(certificate(kNow - seconds(100), kNow), kNow),
            CertificateState::kRevoked);
  EXPECT_STREQ(to_string(CertificateState::kRevoked), "revoked");
  EXPECT_STREQ(to_string(CertificateState::kExpired), "expired");
  EXPECT_STREQ(to_string(CertificateState::kValid), "valid");
}

TEST(TokenState, DeletedBeforeExpiredBeforeUsedUp) {
  store::TokenRow t;
  t.max_uses = 2;
  t.uses = 1;
  t.expires_at = kNow + seconds(1);
  EXPECT_EQ(token_state(t, kNow), TokenState::kUsable);
  EXPECT_EQ(token_state(t, kNow + seconds(1)), TokenState::kExpired);
  t.uses = 2;
  EXPECT_EQ(token_state(t, kNow), TokenState::kUsedUp);
  EXPECT_EQ(token_state(t, kNow + seconds(1)), TokenState::kExpired);
  t.deleted_at = kNow - seconds(5);
  EXPECT_EQ(token_state(t, kNow + seconds(1)), TokenState::kDeleted);
  EXPECT_EQ(view_of(t, kNow).state, TokenState::kDeleted);
}

TEST(HostView, CarriesTheNewestCertificatesState) {
  store::HostSummaryRow row;
  row.host.host_id = "h";
  row.newest_certificate = certificate(kNow);
  row.has_valid_certificate = false;
  const HostView view = view_of(row, kNow);
  ASSERT_TRUE(view.newest_certificate.has_value());
  EXPECT_EQ(view.newest_certificate->state, CertificateState::kExpired);
  EXPECT_FALSE(view.has_valid_certificate);
}

}  // namespace
}  // namespace hostca
