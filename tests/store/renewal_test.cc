// Renewal against the real database: the client certificate alone names the
// host; only this CA's, unexpired, unrevoked (in the database, now) and
// newest certificate of the host renews; the old one stays valid.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "support/crypto_fixtures.h"
#include "support/expect_error.h"
#include "support/test_ca.h"

namespace hostca {
namespace {

using testing::database_state;
using testing::TestCa;

RenewalRequest renewal_with(const IssuedCertificate& current) {
  RenewalRequest r;
  r.client_certificate_pem = current.pem();
  const auto key = testing::ecdsa_key("secp256r1");
  r.csr = testing::csr_der(*key);
  return r;
}

TEST(Renewal, KeepsTheHostIdAndLeavesTheOldCertificateValid) {
  TestCa ca;
  const auto host = ca.enrol("renew.example");
  const Renewal r = ca.authority->renew(renewal_with(host.certificate));
  EXPECT_EQ(r.host_id, host.host_id);
  EXPECT_NE(r.certificate.serial_hex, host.serial_hex);
  const auto details = ca.authority->get_host(host.host_id);
  ASSERT_EQ(details.certificates.size(), 2u);
  for (const auto& c : details.certificates) {
    EXPECT_EQ(c.state, CertificateState::kValid) << c.certificate.serial_hex;
  }
}

TEST(Renewal, OnlyTheNewestCertificateOfTheHostRenews) {
  TestCa ca;
  const auto host = ca.enrol("newest.example");
  ca.clock.advance(std::chrono::seconds(1));
  const Renewal first = ca.authority->renew(renewal_with(host.certificate));
  // Revoking the newest must cut the host off, even though the older
  // certificate has not expired.
  RevocationRequest revoke;
  revoke.serial_hex = first.certificate.serial_hex;
  revoke.reason_code = 1;
  ca.authority->revoke(ca.admin(), revoke);
  const auto before = database_state(ca.conninfo);
  const std::string msg = HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(host.certificate)),
                                              ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("newest"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(Renewal, ExpiresExactlyAtNotAfterAndRenewsOneSecondBefore) {
  TestCa ca;
  const auto host = ca.enrol("expiry.example");
  ca.clock.set(host.certificate.not_after);
  const auto before = database_state(ca.conninfo);
  const std::string msg = HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(host.certificate)),
                                              ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("expired"), std::string::npos) << msg;
  EXPECT_NE(msg.find("reissue"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
  ca.clock.set(host.certificate.not_after - std::chrono::seconds(1));
  EXPECT_NO_THROW(ca.authority->renew(renewal_with(host.certificate)));
}

TEST(Renewal, RevocationInTheDatabaseStopsRenewalAtOnce) {
  TestCa ca;
  const auto host = ca.enrol("revoked.example");
  // Straight in the database, no CRL published: renewal must still see it.
  {
    pqxx::connection conn(ca.conninfo);
    pqxx::work w(conn);
    w.exec_params(
        "UPDATE certificates SET revoked_at = now(), revocation_reason = 1 WHERE serial_hex = $1",
        host.serial_hex);
    w.commit();
  }
  const std::string msg = HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(host.certificate)),
                                              ErrorKind::kPermissionDenied);
  EXPECT_NE(msg.find("revoked"), std::string::npos) << msg;
}

TEST(Renewal, NoCertificateOrOneOfAnotherCaIsUnauthenticated) {
  TestCa ca;
  const auto host = ca.enrol("impostor.example");
  const auto before = database_state(ca.conninfo);

  RenewalRequest none = renewal_with(host.certificate);
  none.client_certificate_pem.clear();
  HOSTCA_EXPECT_ERROR(ca.authority->renew(none), ErrorKind::kUnauthenticated);

  // Another CA with the same name issues a certificate naming the same host.
  std::shared_ptr<const Botan::Private_Key> other_key = testing::ecdsa_key("secp256r1");
  const auto other_ca = make_ca_certificate(*other_key, {}, ca.clock.now(), testing::rng());
  ASSERT_EQ(other_ca.subject_dn(), ca.issuer().signer().ca_certificate().subject_dn());
  const CertificateIssuer impostor(
      CertificateProfile{}, std::make_shared<SoftwareSigner>(other_key, other_ca, testing::rng()),
      testing::rng());
  const auto host_key = testing::ecdsa_key("secp256r1");
  const IssuedCertificate forged = impostor.issue_host_certificate(
      host.host_id, HostName::parse(host.hostname), {},
      CertificateRequest::parse(testing::csr_der(*host_key), KeyPolicy{}), host.crl_shard,
      ca.clock.now());
  const std::string msg =
      HOSTCA_EXPECT_ERROR(ca.authority->renew(renewal_with(forged)), ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("not issued by this CA"), std::string::npos) << msg;
  EXPECT_EQ(database_state(ca.conninfo), before);
}

TEST(CertificateFailureReport, MarksAKnownHostAndRefusesWhatIsNotAFingerprint) {
  TestCa ca;
  const auto host = ca.enrol("pinned.example");
  CertificateFailureReport report;
  report.host_id = host.host_id;
  report.pinned_spki_sha256 = std::string(64, 'a');
  report.presented_spki_sha256 = std::string(64, 'b');
  report.server = "ca.example:8443";
  report.peer = "ipv4:127.0.0.1:1";
  EXPECT_TRUE(ca.authority->record_certificate_failure(report));
  EXPECT_TRUE(ca.authority->get_host(host.host_id).host.host.certificate_failure_at);

  const auto before = database_state(ca.conninfo);
  for (const std::string& bad :
       std::vector<std::string>{"<script>", std::string(64, 'A'), std::string(63, 'a')}) {
    CertificateFailureReport r = report;
    r.presented_spki_sha256 = bad;
    HOSTCA_EXPECT_ERROR(ca.authority->record_certificate_failure(r), ErrorKind::kInvalidArgument);
  }
  EXPECT_EQ(database_state(ca.conninfo), before);
  // The host's next renewal clears the mark.
  ca.authority->renew(renewal_with(host.certificate));
  EXPECT_FALSE(ca.authority->get_host(host.host_id).host.host.certificate_failure_at);
}

}  // namespace
}  // namespace hostca
