// The CRL as bytes: what CrlBuilder encodes (RFC 5280 5.1), read back with
// Botan's own X509_CRL and, where Botan hides a detail, from the raw DER.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <botan/ber_dec.h>
#include <botan/hex.h>
#include <botan/x509_crl.h>
#include <botan/x509_ext.h>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "domain/ca_key.h"
#include "domain/certificate_issuer.h"
#include "domain/crl_builder.h"

namespace hostca {
namespace {

using testing::csr_der;
using testing::ecdsa_key;

// 2026-03-01T12:00:00Z and a quarter of a second, to see the rounding.
constexpr std::int64_t kNowSeconds = 1772366400;
const TimePoint kNow = from_unix_micros(kNowSeconds * 1000000 + 250000);
const std::string kUrl = "http://crl.test.example:8080/crl/3.crl";

const Botan::OID kIssuingDistributionPoint("2.5.29.28");
const Botan::OID kReasonCode("2.5.29.21");
const Botan::OID kCrlNumber("2.5.29.20");
const Botan::OID kAuthorityKeyId("2.5.29.35");

std::int64_t unix_seconds(const Botan::X509_Time& t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.to_std_timepoint().time_since_epoch())
      .count();
}

TimePoint at_seconds(std::int64_t s) { return from_unix_micros(s * 1000000); }

std::shared_ptr<const Signer> make_signer(CaKeyAlgorithm algorithm) {
  const auto key = testing::shared_ca_key(algorithm);
  return std::make_shared<SoftwareSigner>(key, make_ca_certificate(*key, {}, kNow, testing::rng()),
                                          testing::rng());
}

std::string serial_of(const Botan::CRL_Entry& entry) {
  return Botan::hex_encode(entry.serial_number(), false);
}

// The fields of the TBSCertList after nextUpdate: what follows the times.
struct TbsTail {
  std::size_t version = 0;
  bool has_revoked_certificates = false;
  // Serial (hex) -> whether the entry has a crlEntryExtensions field.
  std::map<std::string, bool> entry_has_extensions;
  bool has_extensions = false;
  bool ends_there = false;
};

TbsTail read_tbs(const Botan::X509_CRL& crl) {
  // signed_body() holds the contents of the TBSCertList SEQUENCE.
  Botan::BER_Decoder tbs(crl.signed_body());
  TbsTail tail;
  Botan::AlgorithmIdentifier algorithm;
  Botan::X509_DN issuer;
  Botan::X509_Time this_update;
  Botan::X509_Time next_update;
  tbs.decode(tail.version).decode(algorithm).decode(issuer).decode(this_update).decode(next_update);
  Botan::BER_Object next = tbs.get_next_object();
  if (next.is_a(Botan::SEQUENCE, Botan::CONSTRUCTED)) {
    tail.has_revoked_certificates = true;
    Botan::BER_Decoder list(next);
    while (list.more_items()) {
      Botan::BER_Decoder entry = list.start_cons(Botan::SEQUENCE);
      Botan::BigInt serial;
      Botan::X509_Time revoked_at;
      entry.decode(serial).decode(revoked_at);
      tail.entry_has_extensions[Botan::hex_encode(Botan::BigInt::encode(serial), false)] =
          entry.more_items();
      entry.discard_remaining().end_cons();
    }
    next = tbs.get_next_object();
  }
  if (next.is_a(0, Botan::ASN1_Tag(Botan::CONTEXT_SPECIFIC | Botan::CONSTRUCTED))) {
    tail.has_extensions = true;
    next = tbs.get_next_object();
  }
  tail.ends_there = !next.is_set() && !tbs.more_items();
  return tail;
}

// IssuingDistributionPoint ::= SEQUENCE { [0] { [0] { [6] url } }, [1] TRUE }.
std::vector<std::uint8_t> expected_idp(const std::string& url) {
  const auto n = static_cast<std::uint8_t>(url.size());
  std::vector<std::uint8_t> der = {
      0x30, static_cast<std::uint8_t>(n + 9), 0xa0, static_cast<std::uint8_t>(n + 4),
      0xa0, static_cast<std::uint8_t>(n + 2), 0x86, n};
  der.insert(der.end(), url.begin(), url.end());
  der.insert(der.end(), {0x81, 0x01, 0xff});
  return der;
}

class CrlBuilderTest : public ::testing::TestWithParam<CaKeyAlgorithm> {
 protected:
  void SetUp() override {
    signer_ = make_signer(GetParam());
    builder_ = std::make_unique<CrlBuilder>(signer_);
  }

  const Botan::X509_Certificate& ca() const { return signer_->ca_certificate(); }

  CrlContents contents(std::vector<CrlEntry> entries = {}) const {
    CrlContents c;
    c.crl_number = 42;
    c.this_update = kNow;
    c.next_update = kNow + std::chrono::hours(24);
    c.distribution_point_url = kUrl;
    c.entries = std::move(entries);
    return c;
  }

  Botan::X509_CRL build(const CrlContents& c) const {
    const Bytes der = builder_->build(c);
    return Botan::X509_CRL(std::vector<std::uint8_t>(der.begin(), der.end()));
  }

  std::shared_ptr<const Signer> signer_;
  std::unique_ptr<CrlBuilder> builder_;
};

TEST_P(CrlBuilderTest, IsAV2CrlOfTheCaWithNumberTimesAndAuthorityKeyId) {
  const Botan::X509_CRL crl = build(contents());
  EXPECT_EQ(read_tbs(crl).version, 1u);  // v2
  EXPECT_EQ(crl.issuer_dn(), ca().subject_dn());
  EXPECT_EQ(crl.crl_number(), 42u);
  ASSERT_FALSE(ca().subject_key_id().empty());
  EXPECT_EQ(crl.authority_key_id(), ca().subject_key_id());
  // X.509 times carry whole seconds: the quarter second is dropped.
  EXPECT_EQ(unix_seconds(crl.this_update()), kNowSeconds);
  EXPECT_EQ(unix_seconds(crl.next_update()), kNowSeconds + 24 * 3600);
  EXPECT_EQ(crl.signature_algorithm(), signer_->signature_algorithm());
  // The number and the key identifier are not critical (RFC 5280 5.2.1, 5.2.3).
  EXPECT_TRUE(crl.extensions().extension_set(kCrlNumber));
  EXPECT_FALSE(crl.extensions().critical_extension_set(kCrlNumber));
  EXPECT_TRUE(crl.extensions().extension_set(kAuthorityKeyId));
  EXPECT_FALSE(crl.extensions().critical_extension_set(kAuthorityKeyId));
}

TEST_P(CrlBuilderTest, SignatureVerifiesWithTheCaKeyOnly) {
  const Botan::X509_CRL crl =
      build(contents({{"0a1b2c3d4e5f", kNow, RevocationReason::kSuperseded}}));
  EXPECT_TRUE(crl.check_signature(*ca().load_subject_public_key()));
  const auto other = ecdsa_key("secp256r1");
  EXPECT_FALSE(crl.check_signature(*other));
}

TEST_P(CrlBuilderTest, IssuingDistributionPointIsCriticalAndNamesTheShardUrlForUserCertsOnly) {
  const Botan::X509_CRL crl = build(contents());
  const auto raw = crl.extensions().extensions_raw();
  ASSERT_EQ(raw.count(kIssuingDistributionPoint), 1u);
  const auto& [der, critical] = raw.at(kIssuingDistributionPoint);
  EXPECT_TRUE(critical);
  EXPECT_EQ(der, expected_idp(kUrl)) << Botan::hex_encode(der);
  EXPECT_TRUE(crl.extensions().critical_extension_set(kIssuingDistributionPoint));
}

TEST_P(CrlBuilderTest, UnpartitionedCrlHasNoIssuingDistributionPoint) {
  CrlContents c = contents();
  c.distribution_point_url.clear();
  const Botan::X509_CRL crl = build(c);
  EXPECT_FALSE(crl.extensions().extension_set(kIssuingDistributionPoint));
  EXPECT_TRUE(crl.check_signature(*ca().load_subject_public_key()));
}

TEST_P(CrlBuilderTest, CaScopeCrlSaysCaCertificatesOnlyWithoutADistributionPoint) {
  CrlContents c = contents();
  c.distribution_point_url.clear();
  c.only_ca_certificates = true;
  const Botan::X509_CRL crl = build(c);
  const auto raw = crl.extensions().extensions_raw();
  ASSERT_EQ(raw.count(kIssuingDistributionPoint), 1u);
  const auto& [der, critical] = raw.at(kIssuingDistributionPoint);
  EXPECT_TRUE(critical);
  // SEQUENCE { onlyContainsCACerts [2] TRUE }
  EXPECT_EQ(der, (std::vector<std::uint8_t>{0x30, 0x03, 0x82, 0x01, 0xff}))
      << Botan::hex_encode(der);
  EXPECT_TRUE(crl.check_signature(*ca().load_subject_public_key()));
}

TEST_P(CrlBuilderTest, EntriesCarrySerialRevocationDateAndReasonExceptUnspecified) {
  const TimePoint revoked_1 = at_seconds(kNowSeconds - 3600) + std::chrono::milliseconds(900);
  const TimePoint revoked_2 = at_seconds(kNowSeconds - 60);
  const TimePoint revoked_3 = at_seconds(kNowSeconds - 1);
  // The second serial has its top bit set: DER needs a leading zero byte.
  const Botan::X509_CRL crl = build(contents({
      {"1f2e3d4c5b6a79880102030405060708", revoked_1, RevocationReason::kKeyCompromise},
      {"80aa", revoked_2, RevocationReason::kSuperseded},
      {"0123456789abcdef", revoked_3, RevocationReason::kUnspecified},
  }));
  const auto& revoked = crl.get_revoked();
  ASSERT_EQ(revoked.size(), 3u);
  std::map<std::string, const Botan::CRL_Entry*> by_serial;
  for (const auto& e : revoked) by_serial[serial_of(e)] = &e;
  ASSERT_EQ(by_serial.size(), 3u);

  const auto& first = *by_serial.at("1f2e3d4c5b6a79880102030405060708");
  EXPECT_EQ(unix_seconds(first.expire_time()), kNowSeconds - 3600);
  EXPECT_EQ(first.reason_code(), Botan::KEY_COMPROMISE);
  auto raw = first.extensions().extensions_raw();
  ASSERT_EQ(raw.count(kReasonCode), 1u);
  EXPECT_EQ(raw.at(kReasonCode).first, (std::vector<std::uint8_t>{0x0a, 0x01, 0x01}));
  EXPECT_FALSE(raw.at(kReasonCode).second);  // not critical

  const auto& second = *by_serial.at("80aa");
  EXPECT_EQ(unix_seconds(second.expire_time()), kNowSeconds - 60);
  EXPECT_EQ(second.reason_code(), Botan::SUPERSEDED);
  raw = second.extensions().extensions_raw();
  ASSERT_EQ(raw.count(kReasonCode), 1u);
  EXPECT_EQ(raw.at(kReasonCode).first, (std::vector<std::uint8_t>{0x0a, 0x01, 0x04}));

  // Unspecified is said by leaving the reason code out (RFC 5280 5.3.1).
  const auto& third = *by_serial.at("0123456789abcdef");
  EXPECT_EQ(unix_seconds(third.expire_time()), kNowSeconds - 1);
  EXPECT_EQ(third.extensions().extensions_raw().count(kReasonCode), 0u);
  EXPECT_EQ(third.extensions().extensions_raw().size(), 0u);

  // In the DER: no crlEntryExtensions field at all for the unspecified one.
  const TbsTail tail = read_tbs(crl);
  EXPECT_TRUE(tail.has_revoked_certificates);
  EXPECT_EQ(tail.entry_has_extensions,
            (std::map<std::string, bool>{{"1f2e3d4c5b6a79880102030405060708", true},
                                         {"80aa", true},
                                         {"0123456789abcdef", false}}));
  EXPECT_TRUE(crl.check_signature(*ca().load_subject_public_key()));
}

TEST_P(CrlBuilderTest, ListsIssuedCertificatesSoRelyingPartiesFindThem) {
  CertificateProfile profile;
  const CertificateIssuer issuer(profile, signer_, testing::rng());
  const auto issue = [&] {
    return issuer
        .issue_host_certificate(
            "0f1e2d3c-4b5a-4697-8877-665544332211", HostName::parse("host-1.example"), {},
            CertificateRequest::parse(csr_der(*ecdsa_key("secp256r1")), KeyPolicy()), 3, kNow)
        .certificate();
  };
  const auto revoked = issue();
  const auto kept = issue();
  const Botan::X509_CRL crl = build(contents({{Botan::hex_encode(revoked.serial_number(), false),
                                               kNow, RevocationReason::kKeyCompromise}}));
  EXPECT_TRUE(crl.is_revoked(revoked));
  EXPECT_FALSE(crl.is_revoked(kept));
}

TEST_P(CrlBuilderTest, EmptyCrlOmitsRevokedCertificates) {
  const Botan::X509_CRL crl = build(contents());
  EXPECT_TRUE(crl.get_revoked().empty());
  const TbsTail tail = read_tbs(crl);
  // RFC 5280 5.1.2.6: when there are no revoked certificates, the list is absent.
  EXPECT_FALSE(tail.has_revoked_certificates);
  EXPECT_TRUE(tail.has_extensions);
  EXPECT_TRUE(tail.ends_there);
  EXPECT_TRUE(crl.check_signature(*ca().load_subject_public_key()));
}

TEST_P(CrlBuilderTest, NextUpdateNotAfterThisUpdateIsRefused) {
  CrlContents c = contents();
  c.next_update = c.this_update;
  std::string msg = HOSTCA_EXPECT_ERROR(builder_->build(c), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("nextUpdate"), std::string::npos) << msg;
  c.next_update = c.this_update - std::chrono::seconds(1);
  HOSTCA_EXPECT_ERROR(builder_->build(c), ErrorKind::kInvalidArgument);
  c.next_update = c.this_update + std::chrono::seconds(1);
  EXPECT_NO_THROW(builder_->build(c));
}

TEST_P(CrlBuilderTest, SerialThatIsNotHexIsRefused) {
  HOSTCA_EXPECT_ERROR(builder_->build(contents({{"xyz", kNow, RevocationReason::kSuperseded}})),
                      ErrorKind::kInvalidArgument);
}

std::string ca_key_name(const ::testing::TestParamInfo<CaKeyAlgorithm>& param) {
  std::string name = to_string(param.param);
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  return name;
}

INSTANTIATE_TEST_SUITE_P(CaKeys, CrlBuilderTest,
                         ::testing::Values(CaKeyAlgorithm::kEcdsaP256, CaKeyAlgorithm::kEd25519,
                                           CaKeyAlgorithm::kRsa3072),
                         ca_key_name);

TEST(CrlBuilder, RefusesToBeBuiltWithoutASigner) {
  HOSTCA_EXPECT_ERROR(CrlBuilder(nullptr), ErrorKind::kInternal);
}

}  // namespace
}  // namespace hostca
