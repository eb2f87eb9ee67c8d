// The certificates of a planned rollover (ring 1): the next CA keeps the
// current CA's subject; newWithOld certifies the next key with the current
// one and oldWithNew the other way round, each self-issued, CA, with the
// right key identifiers and a validity within the current CA certificate's.
#include <gtest/gtest.h>

#include <botan/certstor.h>
#include <botan/x509path.h>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "domain/ca_key.h"
#include "domain/ca_link.h"
#include "domain/certificate_issuer.h"
#include "pki/ca_link_check.h"

namespace hostca {
namespace {

using std::chrono::hours;

const TimePoint kNow = from_unix_micros(1772366400LL * 1000000);  // 2026-03-01T12:00:00Z

TimePoint time_of(const Botan::X509_Time& t) {
  return TimePoint(std::chrono::duration_cast<Duration>(t.to_std_timepoint().time_since_epoch()));
}

struct Rollover {
  explicit Rollover(CaKeyAlgorithm old_algorithm = CaKeyAlgorithm::kEcdsaP256,
                    CaKeyAlgorithm next_algorithm = CaKeyAlgorithm::kEcdsaP256) {
    std::shared_ptr<const Botan::Private_Key> old_key = generate_key(old_algorithm, testing::rng());
    CaCertificateOptions options;
    options.validity = hours(24 * 365 * 2);
    current = std::make_shared<SoftwareSigner>(
        old_key, make_ca_certificate(*old_key, options, kNow - hours(24 * 365), testing::rng()),
        testing::rng());
    next_key = generate_key(next_algorithm, testing::rng());
    next = std::make_shared<SoftwareSigner>(
        next_key,
        make_next_ca_certificate(current->ca_certificate(), *next_key, hours(24 * 365 * 10), kNow,
                                 testing::rng()),
        testing::rng());
    links = std::make_unique<LinkCertificates>(
        make_link_certificates(*current, *next, kNow, testing::rng()));
  }
  const Botan::X509_Certificate& old_ca() const { return current->ca_certificate(); }
  const Botan::X509_Certificate& new_ca() const { return next->ca_certificate(); }

  std::shared_ptr<SoftwareSigner> current;
  std::shared_ptr<const Botan::Private_Key> next_key;
  std::shared_ptr<SoftwareSigner> next;
  std::unique_ptr<LinkCertificates> links;
};

void expect_ca_extensions(const Botan::X509_Certificate& cert) {
  EXPECT_TRUE(cert.is_CA_cert());
  EXPECT_EQ(cert.path_limit(), 0u);
  EXPECT_TRUE(cert.constraints() & Botan::KEY_CERT_SIGN);
  EXPECT_TRUE(cert.constraints() & Botan::CRL_SIGN);
}

TEST(NextCa, KeepsTheCurrentSubjectIsSelfSignedAndAValidCa) {
  const Rollover r;
  EXPECT_EQ(r.new_ca().subject_dn(), r.old_ca().subject_dn());
  EXPECT_EQ(r.new_ca().issuer_dn(), r.new_ca().subject_dn());
  EXPECT_TRUE(r.new_ca().check_signature(*r.new_ca().load_subject_public_key()));
  EXPECT_FALSE(r.new_ca().check_signature(*r.old_ca().load_subject_public_key()));
  EXPECT_EQ(r.new_ca().subject_public_key_info(), r.next_key->subject_public_key());
  EXPECT_EQ(r.new_ca().authority_key_id(), r.new_ca().subject_key_id());
  EXPECT_NE(r.new_ca().subject_key_id(), r.old_ca().subject_key_id());
  expect_ca_extensions(r.new_ca());
  EXPECT_EQ(time_of(r.new_ca().not_after()), kNow + hours(24 * 365 * 10));
  EXPECT_LE(time_of(r.new_ca().not_before()), kNow);
}

TEST(LinkCertificates, NewWithOldCertifiesTheNextKeyWithTheCurrentOne) {
  const Rollover r;
  const auto& link = r.links->new_with_old;
  EXPECT_EQ(link.subject_public_key_info(), r.new_ca().subject_public_key_info());
  EXPECT_TRUE(link.check_signature(*r.old_ca().load_subject_public_key()));
  EXPECT_FALSE(link.check_signature(*r.new_ca().load_subject_public_key()));
  EXPECT_EQ(link.subject_key_id(), r.new_ca().subject_key_id());
  EXPECT_EQ(link.authority_key_id(), r.old_ca().subject_key_id());
  EXPECT_EQ(link.subject_dn(), r.old_ca().subject_dn());  // self-issued
  EXPECT_EQ(link.issuer_dn(), r.old_ca().subject_dn());
  expect_ca_extensions(link);
  // Within the current CA certificate's validity.
  EXPECT_GE(time_of(link.not_before()), time_of(r.old_ca().not_before()));
  EXPECT_EQ(time_of(link.not_after()), time_of(r.old_ca().not_after()));
}

TEST(LinkCertificates, OldWithNewCertifiesTheCurrentKeyWithTheNextOne) {
  const Rollover r;
  const auto& link = r.links->old_with_new;
  EXPECT_EQ(link.subject_public_key_info(), r.old_ca().subject_public_key_info());
  EXPECT_TRUE(link.check_signature(*r.new_ca().load_subject_public_key()));
  EXPECT_EQ(link.subject_key_id(), r.old_ca().subject_key_id());
  EXPECT_EQ(link.authority_key_id(), r.new_ca().subject_key_id());
  expect_ca_extensions(link);
  EXPECT_EQ(time_of(link.not_after()), time_of(r.old_ca().not_after()));
}

TEST(LinkCertificates, ANextCaShorterThanTheCurrentOneBoundsNewWithOld) {
  Rollover r;
  r.next = std::make_shared<SoftwareSigner>(
      r.next_key,
      make_next_ca_certificate(r.old_ca(), *r.next_key, hours(24 * 30), kNow, testing::rng()),
      testing::rng());
  const auto links = make_link_certificates(*r.current, *r.next, kNow, testing::rng());
  EXPECT_EQ(time_of(links.new_with_old.not_after()), kNow + hours(24 * 30));
}

TEST(LinkCertificates, WorkAcrossKeyAlgorithms) {
  for (const auto& [from, to] : {std::pair{CaKeyAlgorithm::kEcdsaP256, CaKeyAlgorithm::kEcdsaP384},
                                 std::pair{CaKeyAlgorithm::kEd25519, CaKeyAlgorithm::kEcdsaP256},
                                 std::pair{CaKeyAlgorithm::kEcdsaP384, CaKeyAlgorithm::kEd25519}}) {
    const Rollover r(from, to);
    EXPECT_TRUE(r.links->new_with_old.check_signature(*r.old_ca().load_subject_public_key()));
    EXPECT_TRUE(r.links->old_with_new.check_signature(*r.new_ca().load_subject_public_key()));
  }
}

TEST(LinkCertificates, AHostCertificateOfTheNextCaChainsToTheCurrentOneThroughNewWithOld) {
  const Rollover r;
  const CertificateIssuer issuer(CertificateProfile{}, r.next, testing::rng());
  const auto key = testing::ecdsa_key("secp256r1");
  const auto der = testing::csr_der(*key);
  const auto host = issuer
                        .issue_host_certificate(
                            "0f1e2d3c-4b5a-4697-8877-665544332211", HostName::parse("web.example"),
                            {}, CertificateRequest::parse(der, KeyPolicy{}), 0, kNow)
                        .certificate();
  // A relying party that trusts only the current CA.
  Botan::Certificate_Store_In_Memory trusted(r.old_ca());
  const auto result =
      Botan::x509_path_validate(std::vector<Botan::X509_Certificate>{host, r.links->new_with_old},
                                Botan::Path_Validation_Restrictions(), trusted, "web.example",
                                Botan::Usage_Type::TLS_CLIENT_AUTH,
                                std::chrono::system_clock::time_point(kNow.time_since_epoch()));
  EXPECT_TRUE(result.successful_validation()) << result.result_string();
}

TEST(LinkCertificates, AnExpiredCurrentCaCannotSignALink) {
  const Rollover r;
  const TimePoint later = time_of(r.old_ca().not_after()) + std::chrono::seconds(1);
  const std::string msg =
      HOSTCA_EXPECT_ERROR(make_link_certificates(*r.current, *r.next, later, testing::rng()),
                          ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("--emergency"), std::string::npos) << msg;
  // One second before the end it still can.
  EXPECT_NO_THROW(
      make_link_certificates(*r.current, *r.next, later - std::chrono::seconds(2), testing::rng()));
}

TEST(NextCa, RefusesTheCurrentKeyAndANonPositiveValidity) {
  const Rollover r;
  HOSTCA_EXPECT_ERROR(
      make_next_ca_certificate(r.old_ca(), *r.next_key, Duration::zero(), kNow, testing::rng()),
      ErrorKind::kInvalidArgument);
  std::shared_ptr<const Botan::Private_Key> same =
      generate_key(CaKeyAlgorithm::kEcdsaP256, testing::rng());
  const auto own = make_ca_certificate(*same, CaCertificateOptions{}, kNow, testing::rng());
  HOSTCA_EXPECT_ERROR(make_next_ca_certificate(own, *same, hours(24), kNow, testing::rng()),
                      ErrorKind::kInvalidArgument);
}

std::chrono::system_clock::time_point at(TimePoint t) {
  return std::chrono::system_clock::time_point(t.time_since_epoch());
}

TEST(LinkCheck, AcceptsNewWithOldSignedByAPinnedKeyForTheAnnouncedKey) {
  const Rollover r;
  EXPECT_EQ(link_refusal({r.old_ca()}, r.new_ca(), r.links->new_with_old, at(kNow)), "");
  // Any pinned key may have signed it: the order of the pins does not matter.
  const Rollover other;
  EXPECT_EQ(link_refusal({other.old_ca(), r.old_ca()}, r.new_ca(), r.links->new_with_old, at(kNow)),
            "");
}

TEST(LinkCheck, RefusesALinkSignedByAKeyThatIsNotPinned) {
  const Rollover r;
  const Rollover stranger;
  const std::string why =
      link_refusal({stranger.old_ca()}, r.new_ca(), r.links->new_with_old, at(kNow));
  EXPECT_NE(why.find("not signed by a CA key this host pins"), std::string::npos) << why;
  // Nor does a key vouch for itself: the next CA's own certificate is no link.
  EXPECT_NE(link_refusal({stranger.old_ca()}, r.new_ca(), r.new_ca(), at(kNow)), "");
}

TEST(LinkCheck, RefusesALinkForAnotherKey) {
  const Rollover r;
  const Rollover other;
  const std::string why =
      link_refusal({r.old_ca()}, other.new_ca(), r.links->new_with_old, at(kNow));
  EXPECT_NE(why.find("not the announced"), std::string::npos) << why;
  // oldWithNew certifies the old key: no link to the new one.
  EXPECT_NE(link_refusal({r.old_ca()}, r.new_ca(), r.links->old_with_new, at(kNow)), "");
}

TEST(LinkCheck, RefusesALinkOutsideItsValidityToTheSecond) {
  const Rollover r;
  const auto& link = r.links->new_with_old;
  const auto end = link.not_after().to_std_timepoint();
  EXPECT_EQ(link_refusal({r.old_ca()}, r.new_ca(), link, end - std::chrono::seconds(1)), "");
  EXPECT_NE(link_refusal({r.old_ca()}, r.new_ca(), link, end).find("outside its validity"),
            std::string::npos);
  const auto start = link.not_before().to_std_timepoint();
  EXPECT_NE(link_refusal({r.old_ca()}, r.new_ca(), link, start - std::chrono::seconds(1)), "");
}

}  // namespace
}  // namespace hostca
