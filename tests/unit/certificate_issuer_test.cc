#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <botan/certstor.h>
#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pubkey.h>
#include <botan/x509_ca.h>
#include <botan/x509_ext.h>
#include <botan/x509path.h>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "domain/ca_key.h"
#include "domain/certificate_issuer.h"

namespace hostca {
namespace {

using testing::csr_der;
using testing::ecdsa_key;
using testing::ed25519_key;
using testing::shared_rsa_key;

// 2026-03-01T12:00:00Z and a quarter of a second, to see the rounding.
constexpr std::int64_t kNowSeconds = 1772366400;
const TimePoint kNow = from_unix_micros(kNowSeconds * 1000000 + 250000);
const std::string kHostId = "0f1e2d3c-4b5a-4697-8877-665544332211";

const Botan::OID kKeyUsage("2.5.29.15");
const Botan::OID kBasicConstraints("2.5.29.19");
const Botan::OID kCrlDistributionPoints("2.5.29.31");
const Botan::OID kServerAuth("1.3.6.1.5.5.7.3.1");
const Botan::OID kClientAuth("1.3.6.1.5.5.7.3.2");

std::int64_t unix_seconds(const Botan::X509_Time& t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.to_std_timepoint().time_since_epoch())
      .count();
}

std::chrono::system_clock::time_point system_time(TimePoint t) {
  return std::chrono::system_clock::time_point(t.time_since_epoch());
}

std::shared_ptr<const Signer> make_signer(CaKeyAlgorithm algorithm,
                                          const CaCertificateOptions& options = {},
                                          TimePoint ca_now = kNow) {
  const auto key = testing::shared_ca_key(algorithm);
  return std::make_shared<SoftwareSigner>(
      key, make_ca_certificate(*key, options, ca_now, testing::rng()), testing::rng());
}

CertificateRequest request_for(const Botan::Private_Key& key) {
  return CertificateRequest::parse(csr_der(key, "ignored.example"), KeyPolicy());
}

class IssuedHostCertificate : public ::testing::TestWithParam<CaKeyAlgorithm> {
 protected:
  void SetUp() override {
    signer_ = make_signer(GetParam());
    profile_.crl_base_url = "http://crl.test.example:8080/crl";
    issuer_ = std::make_unique<CertificateIssuer>(profile_, signer_, testing::rng());
  }

  IssuedCertificate issue(const Botan::Private_Key& host_key, TimePoint now = kNow,
                          std::vector<std::string> aliases = {"alias-1.example", "alias-2"}) {
    std::vector<HostName> parsed;
    for (const auto& a : aliases) parsed.push_back(HostName::parse(a));
    return issuer_->issue_host_certificate(kHostId, HostName::parse("host-1.example"), parsed,
                                           request_for(host_key), 5, now);
  }

  const Botan::X509_Certificate& ca() const { return signer_->ca_certificate(); }

  CertificateProfile profile_;
  std::shared_ptr<const Signer> signer_;
  std::unique_ptr<CertificateIssuer> issuer_;
};

TEST_P(IssuedHostCertificate, SubjectIsOnlyTheHostIdAsCommonName) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  EXPECT_EQ(cert.subject_info("X520.CommonName"), std::vector<std::string>{kHostId});
  // What the CSR asked for (CN ignored.example) is not in the certificate.
  EXPECT_EQ(cert.subject_dn().get_attributes().size(), 1u);
  EXPECT_EQ(cert.subject_dn(), [] {
    Botan::X509_DN dn;
    dn.add_attribute("X520.CommonName", kHostId);
    return dn;
  }());
  EXPECT_EQ(cert.issuer_dn(), ca().subject_dn());
}

TEST_P(IssuedHostCertificate, SubjectAltNameHoldsHostNameAliasesAndHostIdUrn) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  const auto& san = cert.subject_alt_name();
  EXPECT_EQ(san.get_attribute("DNS"),
            (std::vector<std::string>{"host-1.example", "alias-1.example", "alias-2"}));
  EXPECT_EQ(san.get_attribute("URI"), std::vector<std::string>{"urn:uuid:" + kHostId});
  EXPECT_EQ(san.get_attributes().size(), 4u);
}

TEST_P(IssuedHostCertificate, KeyUsageIsCriticalDigitalSignatureOnlyForNonRsaKeys) {
  std::vector<std::unique_ptr<Botan::Private_Key>> keys;
  keys.push_back(ecdsa_key("secp256r1"));
  keys.push_back(ecdsa_key("secp384r1"));
  keys.push_back(ed25519_key());
  for (const auto& key : keys) {
    const auto cert = issue(*key).certificate();
    EXPECT_EQ(cert.constraints(), Botan::DIGITAL_SIGNATURE) << key->algo_name();
    EXPECT_TRUE(cert.v3_extensions().critical_extension_set(kKeyUsage));
  }
}

TEST_P(IssuedHostCertificate, KeyUsageAddsKeyEnciphermentForRsaKeys) {
  const auto cert = issue(shared_rsa_key(2048)).certificate();
  EXPECT_EQ(cert.constraints(),
            Botan::Key_Constraints(Botan::DIGITAL_SIGNATURE | Botan::KEY_ENCIPHERMENT));
  EXPECT_TRUE(cert.v3_extensions().critical_extension_set(kKeyUsage));
}

TEST_P(IssuedHostCertificate, ExtendedKeyUsageIsServerAndClientAuth) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  EXPECT_EQ(cert.extended_key_usage(), (std::vector<Botan::OID>{kServerAuth, kClientAuth}));
}

TEST_P(IssuedHostCertificate, BasicConstraintsSayNotACa) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  EXPECT_TRUE(cert.v3_extensions().extension_set(kBasicConstraints));
  EXPECT_FALSE(cert.is_CA_cert());
  EXPECT_FALSE(cert.allowed_usage(Botan::Usage_Type::CERTIFICATE_AUTHORITY));
}

TEST_P(IssuedHostCertificate, SubjectKeyIdIsSha1OfTheHostKeyAndAuthorityKeyIdIsTheCas) {
  const auto host_key = ecdsa_key("secp256r1");
  const auto cert = issue(*host_key).certificate();
  auto sha1 = Botan::HashFunction::create_or_throw("SHA-1");
  sha1->update(host_key->public_key_bits());
  const auto expected = sha1->final_stdvec();
  EXPECT_EQ(cert.subject_key_id(), expected);
  ASSERT_FALSE(ca().subject_key_id().empty());
  EXPECT_EQ(cert.authority_key_id(), ca().subject_key_id());
}

TEST_P(IssuedHostCertificate, CrlDistributionPointIsTheUrlOfTheHostsShard) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  const std::string url = "http://crl.test.example:8080/crl/5.crl";
  ASSERT_EQ(profile_.crl_url(5, 1), url);
  const auto* cdp = cert.v3_extensions()
                        .get_extension_object_as<Botan::Cert_Extension::CRL_Distribution_Points>();
  ASSERT_NE(cdp, nullptr);
  ASSERT_EQ(cdp->distribution_points().size(), 1u);
  EXPECT_EQ(cdp->distribution_points()[0].point().get_attribute("URI"),
            std::vector<std::string>{url});
  // The raw extension: SEQUENCE { SEQUENCE { [0] { [0] { [6] url } } } }, not critical.
  const auto raw = cert.v3_extensions().extensions_raw();
  ASSERT_EQ(raw.count(kCrlDistributionPoints), 1u);
  const auto& [der, critical] = raw.at(kCrlDistributionPoints);
  EXPECT_FALSE(critical);
  std::vector<std::uint8_t> expected = {
      0x30, 0, 0x30, 0, 0xa0, 0, 0xa0, 0, 0x86, static_cast<std::uint8_t>(url.size())};
  expected.insert(expected.end(), url.begin(), url.end());
  for (std::size_t i = 0; i < 4; ++i) {
    expected[2 * i + 1] = static_cast<std::uint8_t>(expected.size() - 2 * (i + 1));
  }
  EXPECT_EQ(der, expected) << Botan::hex_encode(der);
}

TEST_P(IssuedHostCertificate, ValidityIsBackdatedAndLastsTheProfileValidityInWholeSeconds) {
  const IssuedCertificate issued = issue(*ecdsa_key("secp256r1"));
  const std::int64_t backdate = 5 * 60;
  const std::int64_t validity = 365 * 24 * 3600;
  EXPECT_EQ(unix_seconds(issued.certificate().not_before()), kNowSeconds - backdate);
  EXPECT_EQ(unix_seconds(issued.certificate().not_after()), kNowSeconds + validity);
  EXPECT_EQ(issued.not_before, from_unix_micros((kNowSeconds - backdate) * 1000000));
  EXPECT_EQ(issued.not_after, from_unix_micros((kNowSeconds + validity) * 1000000));
}

TEST_P(IssuedHostCertificate, ValidityFollowsTheProfile) {
  profile_.validity = std::chrono::hours(48);
  profile_.backdate = Duration::zero();
  issuer_ = std::make_unique<CertificateIssuer>(profile_, signer_, testing::rng());
  const IssuedCertificate issued = issue(*ecdsa_key("secp256r1"));
  EXPECT_EQ(unix_seconds(issued.certificate().not_before()), kNowSeconds);
  EXPECT_EQ(unix_seconds(issued.certificate().not_after()), kNowSeconds + 48 * 3600);
}

TEST_P(IssuedHostCertificate, NotAfterIsClampedToTheCasNotAfter) {
  CaCertificateOptions short_ca;
  short_ca.validity = std::chrono::hours(24 * 30);
  signer_ = make_signer(GetParam(), short_ca);
  issuer_ = std::make_unique<CertificateIssuer>(profile_, signer_, testing::rng());
  const std::int64_t ca_end = unix_seconds(ca().not_after());
  ASSERT_EQ(ca_end, kNowSeconds + 30 * 24 * 3600);
  const IssuedCertificate issued = issue(*ecdsa_key("secp256r1"));
  EXPECT_EQ(unix_seconds(issued.certificate().not_after()), ca_end);
  EXPECT_EQ(issued.not_after, from_unix_micros(ca_end * 1000000));
}

TEST_P(IssuedHostCertificate, IssuesOneSecondBeforeTheCaExpiresAndRefusesWhenItHas) {
  CaCertificateOptions short_ca;
  short_ca.validity = std::chrono::hours(24);
  signer_ = make_signer(GetParam(), short_ca);
  issuer_ = std::make_unique<CertificateIssuer>(profile_, signer_, testing::rng());
  const TimePoint ca_end = from_unix_micros(unix_seconds(ca().not_after()) * 1000000);
  const auto key = ecdsa_key("secp256r1");
  const IssuedCertificate last = issue(*key, ca_end - std::chrono::seconds(1));
  EXPECT_EQ(last.not_after, ca_end);
  const std::string msg = HOSTCA_EXPECT_ERROR(issue(*key, ca_end), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("CA certificate has expired"), std::string::npos) << msg;
}

TEST_P(IssuedHostCertificate, VerifiesAgainstTheCaCertificateForServerAndClientAuth) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  EXPECT_TRUE(cert.check_signature(*ca().load_subject_public_key()));
  Botan::Certificate_Store_In_Memory trusted(ca());
  const Botan::Path_Validation_Restrictions restrictions;
  for (auto [usage, name] : {std::pair{Botan::Usage_Type::TLS_SERVER_AUTH, "alias-1.example"},
                             std::pair{Botan::Usage_Type::TLS_CLIENT_AUTH, ""}}) {
    const auto result =
        Botan::x509_path_validate(cert, restrictions, trusted, name, usage, system_time(kNow));
    EXPECT_TRUE(result.successful_validation()) << result.result_string();
  }
  // And not for a name it does not hold, nor before its notBefore.
  EXPECT_FALSE(Botan::x509_path_validate(cert, restrictions, trusted, "other.example",
                                         Botan::Usage_Type::TLS_SERVER_AUTH, system_time(kNow))
                   .successful_validation());
  EXPECT_FALSE(Botan::x509_path_validate(cert, restrictions, trusted, "",
                                         Botan::Usage_Type::UNSPECIFIED,
                                         system_time(kNow - std::chrono::minutes(6)))
                   .successful_validation());
}

TEST_P(IssuedHostCertificate, DoesNotVerifyAgainstAnotherCa) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  const auto other_key = generate_key(CaKeyAlgorithm::kEcdsaP256, testing::rng());
  const auto other = make_ca_certificate(*other_key, {}, kNow, testing::rng());
  EXPECT_FALSE(cert.check_signature(*other.load_subject_public_key()));
}

TEST_P(IssuedHostCertificate, CertifiesTheKeyOfTheRequest) {
  const auto key = ed25519_key();
  const auto cert = issue(*key).certificate();
  EXPECT_EQ(cert.subject_public_key_info(), key->subject_public_key());
}

TEST_P(IssuedHostCertificate, SignsWithTheHashThatFitsTheCaKey) {
  const auto cert = issue(*ecdsa_key("secp256r1")).certificate();
  const std::map<CaKeyAlgorithm, std::string> expected = {
      {CaKeyAlgorithm::kEcdsaP256, "SHA-256"},
      {CaKeyAlgorithm::kEcdsaP384, "SHA-384"},
      {CaKeyAlgorithm::kEd25519, "SHA-512"},  // Botan names Ed25519's internal hash
      {CaKeyAlgorithm::kRsa3072, "SHA-256"},
  };
  EXPECT_EQ(cert.hash_used_for_signature(), expected.at(GetParam()));
}

TEST_P(IssuedHostCertificate, SerialsArePositiveAtLeast64BitsAndDistinct) {
  const auto key = ecdsa_key("secp256r1");
  const CertificateRequest request = request_for(*key);
  std::set<std::vector<std::uint8_t>> seen;
  for (int i = 0; i < 300; ++i) {
    const IssuedCertificate issued = issuer_->issue_host_certificate(
        kHostId, HostName::parse("h.example"), {}, request, 0, kNow);
    const std::vector<std::uint8_t> serial = issued.certificate().serial_number();
    ASSERT_FALSE(serial.empty());
    const Botan::BigInt value(serial.data(), serial.size());
    EXPECT_GE(value.bits(), 64u);
    EXPECT_LE(serial.size(), 20u);  // RFC 5280 4.1.2.2
    // Botan returns the magnitude; the DER INTEGER is positive when its top bit is 0.
    EXPECT_EQ(serial[0] & 0x80, 0);
    EXPECT_NE(serial[0], 0);
    EXPECT_EQ(issued.serial_hex, Botan::hex_encode(serial, false));
    seen.insert(serial);
  }
  EXPECT_EQ(seen.size(), 300u);
}

std::string ca_key_name(const ::testing::TestParamInfo<CaKeyAlgorithm>& param) {
  std::string name = to_string(param.param);
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  return name;
}

// The signer encodes the TBSCertificate itself when OpenSSL signs (ECDSA,
// RSA): the bytes must be exactly those Botan's X509_CA encodes, and the
// signature must verify with Botan.
TEST_P(IssuedHostCertificate, TbsIsBotansEncodingAndTheSignatureVerifiesWithBotan) {
  const IssuedCertificate issued = issue(*ecdsa_key("secp256r1"));
  const Botan::X509_Certificate& cert = issued.certificate();
  // Botan's own encoding of the same body, signed by Botan.
  CertificateBody body;
  body.serial = Botan::BigInt::decode(cert.serial_number());
  body.subject_spki = cert.subject_public_key_info();
  body.not_before = cert.not_before();
  body.not_after = cert.not_after();
  body.subject = cert.subject_dn();
  body.extensions = cert.v3_extensions();
  const auto key = testing::shared_ca_key(GetParam());
  Botan::AlgorithmIdentifier algorithm;
  std::unique_ptr<Botan::PK_Signer> botan_signer(
      Botan::choose_sig_format(*key, testing::rng(), signature_hash_for(*key), algorithm));
  const Botan::X509_Certificate botan_made = Botan::X509_CA::make_cert(
      botan_signer.get(), testing::rng(), body.serial, algorithm, body.subject_spki,
      body.not_before, body.not_after, ca().subject_dn(), body.subject, body.extensions);
  EXPECT_EQ(Botan::hex_encode(tbs_certificate(body, algorithm, ca().subject_dn())),
            Botan::hex_encode(botan_made.tbs_data()));
  EXPECT_EQ(Botan::hex_encode(cert.tbs_data()), Botan::hex_encode(botan_made.tbs_data()));
  EXPECT_TRUE(cert.check_signature(*ca().subject_public_key()));
  // And a CRL-style object signed through sign_tbs verifies too.
  const Botan::X509_Certificate again(signer_->sign_tbs(cert.tbs_data()));
  EXPECT_TRUE(again.check_signature(*ca().subject_public_key()));
}

INSTANTIATE_TEST_SUITE_P(CaKeys, IssuedHostCertificate,
                         ::testing::Values(CaKeyAlgorithm::kEcdsaP256, CaKeyAlgorithm::kEcdsaP384,
                                           CaKeyAlgorithm::kEd25519, CaKeyAlgorithm::kRsa3072),
                         ca_key_name);

TEST(CertificateIssuer, RefusesAnInvalidProfileOrNoSigner) {
  CertificateProfile bad;
  bad.validity = std::chrono::seconds(5);
  HOSTCA_EXPECT_ERROR(
      CertificateIssuer(bad, make_signer(CaKeyAlgorithm::kEcdsaP256), testing::rng()),
      ErrorKind::kInvalidArgument);
  HOSTCA_EXPECT_ERROR(CertificateIssuer(CertificateProfile{}, nullptr, testing::rng()),
                      ErrorKind::kInternal);
}

TEST(SoftwareSigner, RefusesAKeyThatDoesNotBelongToTheCertificate) {
  const auto key = testing::shared_ca_key(CaKeyAlgorithm::kEcdsaP256);
  const auto cert = make_ca_certificate(*key, {}, kNow, testing::rng());
  std::shared_ptr<const Botan::Private_Key> other =
      generate_key(CaKeyAlgorithm::kEcdsaP256, testing::rng());
  const std::string msg = HOSTCA_EXPECT_ERROR(SoftwareSigner(other, cert, testing::rng()),
                                              ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("does not match"), std::string::npos) << msg;
}

TEST(ServerCertificate, NamesDnsNamesAndIpAddressesForServerAuthOnly) {
  const CertificateIssuer issuer(CertificateProfile{}, make_signer(CaKeyAlgorithm::kEcdsaP256),
                                 testing::rng());
  const auto key = ecdsa_key("secp256r1");
  const auto cert =
      issuer.issue_server_certificate({"CA.Example", "127.0.0.1"}, *key, kNow).certificate();
  EXPECT_EQ(cert.subject_alt_name().get_attribute("DNS"), std::vector<std::string>{"ca.example"});
  EXPECT_EQ(cert.subject_alt_name().get_attribute("IP"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(cert.extended_key_usage(), std::vector<Botan::OID>{kServerAuth});
  EXPECT_FALSE(cert.is_CA_cert());
  EXPECT_TRUE(cert.check_signature(*issuer.signer().ca_certificate().load_subject_public_key()));
}

TEST(ServerCertificate, CarriesTheServerMarkerThatNoHostCertificateCarries) {
  const CertificateIssuer issuer(CertificateProfile{}, make_signer(CaKeyAlgorithm::kEcdsaP256),
                                 testing::rng());
  const auto key = ecdsa_key("secp256r1");
  const auto server = issuer.issue_server_certificate({"ca.example"}, *key, kNow).certificate();
  EXPECT_TRUE(is_server_certificate(server));
  EXPECT_EQ(server.subject_info("X520.Organization"),
            std::vector<std::string>{kServerCertificateMarker});
  // A host certificate never does, whatever its request's subject says: a
  // CSR whose subject claims O=hostca server for a host named like the server.
  const auto host_key = ecdsa_key("secp256r1");
  const auto csr = testing::make_request(*host_key, "ca.example", kServerCertificateMarker);
  ASSERT_EQ(csr.subject_dn().get_first_attribute("X520.Organization"), "hostca server");
  const auto der = csr.BER_encode();
  const CertificateRequest request =
      CertificateRequest::parse(Bytes(der.begin(), der.end()), KeyPolicy{});
  const auto host =
      issuer.issue_host_certificate(kHostId, HostName::parse("ca.example"), {}, request, 0, kNow)
          .certificate();
  EXPECT_FALSE(is_server_certificate(host));
  EXPECT_TRUE(host.subject_info("X520.Organization").empty());
}

TEST(ServerCertificate, RefusesNoNamesAndBadNames) {
  const CertificateIssuer issuer(CertificateProfile{}, make_signer(CaKeyAlgorithm::kEcdsaP256),
                                 testing::rng());
  const auto key = ecdsa_key("secp256r1");
  HOSTCA_EXPECT_ERROR(issuer.issue_server_certificate({}, *key, kNow), ErrorKind::kInvalidArgument);
  const std::string msg = HOSTCA_EXPECT_ERROR(
      issuer.issue_server_certificate({"bad_name"}, *key, kNow), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("server name"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hostca
