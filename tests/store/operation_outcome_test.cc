// What the authority tells the server's metrics after each commit (the
// outcome of an operation, the elapsed time of a CRL publication), and the
// count of certificates about to expire that the metrics read.
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::enrollment;
using testing::TestCa;

RenewalRequest renewal_with(const IssuedCertificate& current) {
  RenewalRequest r;
  r.client_certificate_pem = current.pem();
  const auto key = testing::ecdsa_key("secp256r1");
  r.csr = testing::csr_der(*key);
  return r;
}

TEST(OperationOutcome, EveryCommittedOperationReportsWhatItDidAndRefusalsNothing) {
  TestCa ca;
  std::vector<OperationOutcome> seen;
  std::vector<PublishedCrl> published;
  ca.authority->on_committed([&](const OperationOutcome& o) { seen.push_back(o); });
  ca.authority->on_crl_published([&](const PublishedCrl& p) { published.push_back(p); });

  const CreatedToken token = ca.new_token();
  const Enrollment e = ca.authority->enroll(enrollment("web.example", token.token.reveal()));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].issued, store::CertificateKind::kEnroll);
  EXPECT_EQ(seen[0].revoked, 0u);
  EXPECT_TRUE(seen[0].token_used);

  // The token is used up: a refusal reports nothing.
  HOSTCA_EXPECT_ERROR(ca.authority->enroll(enrollment("other.example", token.token.reveal())),
                      ErrorKind::kResourceExhausted);
  EXPECT_EQ(seen.size(), 1u);

  const Renewal r = ca.authority->renew(renewal_with(e.certificate));
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].issued, store::CertificateKind::kRenew);
  EXPECT_FALSE(seen[1].token_used);

  // The reissue revokes the enrolment and the renewal certificates.
  const CreatedToken reissue_token = ca.new_reissue_token(e.host_id);
  ca.authority->reissue(ca.reissue_request(e.host_id, reissue_token.token.reveal()));
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].issued, store::CertificateKind::kReissue);
  EXPECT_EQ(seen[2].revoked, 2u);
  EXPECT_TRUE(seen[2].token_used);
  ASSERT_EQ(published.size(), 1u);

  RevocationRequest revoke;
  revoke.host_id = e.host_id;
  ca.authority->revoke(ca.admin(), revoke);
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_FALSE(seen[3].issued.has_value());
  EXPECT_EQ(seen[3].revoked, 1u);
  EXPECT_FALSE(seen[3].token_used);
  ASSERT_EQ(published.size(), 2u);
  for (const auto& p : published) EXPECT_GT(p.elapsed.count(), 0);
  (void)r;
}

TEST(CertificatesExpiring, CountsUnrevokedHostCertificatesUpToTheirNotAfter) {
  TestCa ca;
  const TestCa::Host a = ca.enrol("a.example");
  const TestCa::Host b = ca.enrol("b.example");
  const Duration left = a.certificate.not_after - ca.clock.now();
  ASSERT_EQ(b.certificate.not_after, a.certificate.not_after);
  EXPECT_EQ(ca.authority->certificates_expiring_within(left - std::chrono::seconds(1)), 0);
  EXPECT_EQ(ca.authority->certificates_expiring_within(left), 2);
  // The server's own TLS certificate is not a host certificate: never counted.
  ASSERT_FALSE(ca.server_certificate_serial().empty());
  EXPECT_EQ(ca.authority->certificates_expiring_within(std::chrono::hours(24 * 365 * 100)), 2);

  RevocationRequest revoke;
  revoke.serial_hex = b.serial_hex;
  ca.authority->revoke(ca.admin(), revoke);
  EXPECT_EQ(ca.authority->certificates_expiring_within(left), 1);

  // Expired exactly now: no longer "expiring".
  ca.clock.set(a.certificate.not_after);
  EXPECT_EQ(ca.authority->certificates_expiring_within(left), 0);
  ca.clock.set(a.certificate.not_after - std::chrono::seconds(1));
  EXPECT_EQ(ca.authority->certificates_expiring_within(std::chrono::seconds(1)), 1);
}

}  // namespace
}  // namespace hostca
