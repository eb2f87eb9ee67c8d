#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include <botan/hash.h>
#include <botan/hex.h>
#include <botan/pem.h>
#include <botan/pkcs8.h>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "domain/ca_key.h"

namespace hostca {
namespace {

using testing::shared_ca_key;

constexpr std::int64_t kNowSeconds = 1772366400;  // 2026-03-01T12:00:00Z
const TimePoint kNow = from_unix_micros(kNowSeconds * 1000000 + 999999);
const std::string kPassphrase = "twelve chars";  // exactly kMinPassphraseLength

std::int64_t unix_seconds(const Botan::X509_Time& t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.to_std_timepoint().time_since_epoch())
      .count();
}

bool contains(const std::vector<std::uint8_t>& haystack, const std::vector<std::uint8_t>& needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

std::string sha256_hex(const std::vector<std::uint8_t>& data) {
  auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(data);
  return Botan::hex_encode(sha->final(), false);
}

TEST(CaKeyAlgorithm, ParsesTheFiveNamesAndPrintsThemBack) {
  const std::vector<std::pair<std::string, CaKeyAlgorithm>> names = {
      {"ecdsa-p256", CaKeyAlgorithm::kEcdsaP256}, {"ecdsa-p384", CaKeyAlgorithm::kEcdsaP384},
      {"ed25519", CaKeyAlgorithm::kEd25519},      {"rsa-3072", CaKeyAlgorithm::kRsa3072},
      {"rsa-4096", CaKeyAlgorithm::kRsa4096},
  };
  for (const auto& [name, algorithm] : names) {
    EXPECT_EQ(parse_ca_key_algorithm(name), algorithm) << name;
    EXPECT_EQ(to_string(algorithm), name);
  }
}

TEST(CaKeyAlgorithm, RefusesOtherNamesListingTheAcceptedOnes) {
  for (const char* bad : {"", "ecdsa-p521", "rsa-2048", "RSA-3072", "ed448", "ecdsa"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(parse_ca_key_algorithm(bad), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("ecdsa-p256, ecdsa-p384, ed25519, rsa-3072 or rsa-4096"), std::string::npos)
        << msg;
  }
}

TEST(CaKey, GeneratedKeysHaveTheChosenAlgorithm) {
  EXPECT_EQ(shared_ca_key(CaKeyAlgorithm::kEcdsaP256)->algo_name(), "ECDSA");
  EXPECT_EQ(shared_ca_key(CaKeyAlgorithm::kEcdsaP256)->key_length(), 256u);
  EXPECT_EQ(shared_ca_key(CaKeyAlgorithm::kEcdsaP384)->key_length(), 384u);
  EXPECT_EQ(shared_ca_key(CaKeyAlgorithm::kEd25519)->algo_name(), "Ed25519");
  EXPECT_EQ(shared_ca_key(CaKeyAlgorithm::kRsa3072)->algo_name(), "RSA");
  EXPECT_EQ(shared_ca_key(CaKeyAlgorithm::kRsa3072)->key_length(), 3072u);
}

TEST(CaKey, EncryptedKeyIsEncryptedPkcs8PemThatOpensToTheSameKey) {
  for (CaKeyAlgorithm algorithm : {CaKeyAlgorithm::kEcdsaP256, CaKeyAlgorithm::kEd25519}) {
    const auto key = shared_ca_key(algorithm);
    const std::string pem = encrypt_private_key(*key, kPassphrase, testing::rng());
    EXPECT_EQ(pem.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0), 0u) << pem;
    EXPECT_EQ(pem.find("BEGIN PRIVATE KEY"), std::string::npos);
    const auto opened = decrypt_private_key(pem, kPassphrase);
    EXPECT_EQ(opened->algo_name(), key->algo_name());
    EXPECT_EQ(opened->private_key_bits(), key->private_key_bits());
    EXPECT_EQ(opened->subject_public_key(), key->subject_public_key());
  }
}

TEST(CaKey, EncryptionUsesPbes2WithPbkdf2Sha512AndAes256Gcm) {
  const std::string pem =
      encrypt_private_key(*shared_ca_key(CaKeyAlgorithm::kEcdsaP256), kPassphrase, testing::rng());
  std::string label;
  const auto der = Botan::unlock(Botan::PEM_Code::decode(pem, label));
  EXPECT_EQ(label, "ENCRYPTED PRIVATE KEY");
  // DER of the OIDs, written out by hand from their dotted form.
  const std::vector<std::uint8_t> pbes2 = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                           0xf7, 0x0d, 0x01, 0x05, 0x0d};  // 1.2.840.113549.1.5.13
  const std::vector<std::uint8_t> pbkdf2 = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                            0xf7, 0x0d, 0x01, 0x05, 0x0c};  // 1.2.840.113549.1.5.12
  const std::vector<std::uint8_t> hmac_sha512 = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                                 0x86, 0xf7, 0x0d, 0x02, 0x0b};  // ...2.11
  const std::vector<std::uint8_t> aes256_gcm = {
      0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2e};  // 2.16.840.1.101.3.4.1.46
  const std::vector<std::uint8_t> iterations = {0x02, 0x03, 0x03, 0x34, 0x50};  // 210000
  EXPECT_TRUE(contains(der, pbes2));
  EXPECT_TRUE(contains(der, pbkdf2));
  EXPECT_TRUE(contains(der, hmac_sha512));
  EXPECT_TRUE(contains(der, aes256_gcm));
  EXPECT_TRUE(contains(der, iterations));
}

TEST(CaKey, TwoEncryptionsOfOneKeyDiffer) {
  const auto key = shared_ca_key(CaKeyAlgorithm::kEd25519);
  EXPECT_NE(encrypt_private_key(*key, kPassphrase, testing::rng()),
            encrypt_private_key(*key, kPassphrase, testing::rng()));
}

TEST(CaKey, WrongPassphraseIsAFailedPreconditionThatDoesNotRepeatIt) {
  const std::string pem =
      encrypt_private_key(*shared_ca_key(CaKeyAlgorithm::kEcdsaP256), kPassphrase, testing::rng());
  const std::string wrong = "twelve chars!";
  const std::string msg =
      HOSTCA_EXPECT_ERROR(decrypt_private_key(pem, wrong), ErrorKind::kFailedPrecondition);
  EXPECT_NE(msg.find("passphrase"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(wrong), std::string::npos) << msg;
}

TEST(CaKey, GarbageInsteadOfAnEncryptedKeyIsAFailedPrecondition) {
  HOSTCA_EXPECT_ERROR(decrypt_private_key("not a key", kPassphrase),
                      ErrorKind::kFailedPrecondition);
}

TEST(CaKey, PassphraseShorterThanTheMinimumIsRefused) {
  const auto key = shared_ca_key(CaKeyAlgorithm::kEd25519);
  const std::string short_one(kMinPassphraseLength - 1, 'p');
  const std::string msg = HOSTCA_EXPECT_ERROR(encrypt_private_key(*key, short_one, testing::rng()),
                                              ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("at least " + std::to_string(kMinPassphraseLength)), std::string::npos) << msg;
  HOSTCA_EXPECT_ERROR(encrypt_private_key(*key, "", testing::rng()), ErrorKind::kInvalidArgument);
  EXPECT_NO_THROW(
      encrypt_private_key(*key, std::string(kMinPassphraseLength, 'p'), testing::rng()));
}

TEST(CaKey, FingerprintsAreSha256OfTheDerCertificateAndOfItsSpki) {
  const auto key = shared_ca_key(CaKeyAlgorithm::kEcdsaP256);
  const auto cert = make_ca_certificate(*key, {}, kNow, testing::rng());
  EXPECT_EQ(certificate_fingerprint(cert), sha256_hex(cert.BER_encode()));
  // The key's own SubjectPublicKeyInfo, not read back from the certificate.
  EXPECT_EQ(spki_fingerprint(cert), sha256_hex(key->subject_public_key()));
  EXPECT_EQ(certificate_fingerprint(cert).size(), 64u);
  EXPECT_NE(certificate_fingerprint(cert), spki_fingerprint(cert));
  // A new certificate for the same key keeps the SPKI fingerprint.
  const auto again = make_ca_certificate(*key, {}, kNow + std::chrono::hours(1), testing::rng());
  EXPECT_NE(certificate_fingerprint(again), certificate_fingerprint(cert));
  EXPECT_EQ(spki_fingerprint(again), spki_fingerprint(cert));
}

class CaCertificate : public ::testing::TestWithParam<CaKeyAlgorithm> {};

TEST_P(CaCertificate, IsACaWithPathLenZeroAndOnlyCertAndCrlSigning) {
  const auto key = shared_ca_key(GetParam());
  const auto cert = make_ca_certificate(*key, {}, kNow, testing::rng());
  EXPECT_TRUE(cert.is_CA_cert());
  EXPECT_EQ(cert.path_limit(), 0u);
  EXPECT_EQ(cert.constraints(), Botan::Key_Constraints(Botan::KEY_CERT_SIGN | Botan::CRL_SIGN));
  const auto raw = cert.v3_extensions().extensions_raw();
  const Botan::OID basic_constraints("2.5.29.19");
  const Botan::OID key_usage("2.5.29.15");
  ASSERT_EQ(raw.count(basic_constraints), 1u);
  // SEQUENCE { BOOLEAN TRUE, INTEGER 0 }: pathLen 0 is written out.
  EXPECT_EQ(raw.at(basic_constraints).first,
            (std::vector<std::uint8_t>{0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00}));
  EXPECT_TRUE(raw.at(basic_constraints).second) << "basicConstraints is critical";
  ASSERT_EQ(raw.count(key_usage), 1u);
  EXPECT_TRUE(raw.at(key_usage).second) << "keyUsage is critical";
  EXPECT_FALSE(cert.subject_key_id().empty());
}

TEST_P(CaCertificate, IsSelfSignedWithItsOwnKey) {
  const auto key = shared_ca_key(GetParam());
  const auto cert = make_ca_certificate(*key, {}, kNow, testing::rng());
  EXPECT_TRUE(cert.is_self_signed());
  EXPECT_EQ(cert.subject_public_key_info(), key->subject_public_key());
  EXPECT_TRUE(cert.check_signature(*cert.load_subject_public_key()));
}

TEST_P(CaCertificate, NamesAndValidityComeFromTheOptions) {
  CaCertificateOptions options;
  options.common_name = "Fleet CA";
  options.organization = "Example Org";
  options.validity = std::chrono::hours(24 * 100);
  const auto cert = make_ca_certificate(*shared_ca_key(GetParam()), options, kNow, testing::rng());
  EXPECT_EQ(cert.subject_info("X520.CommonName"), std::vector<std::string>{"Fleet CA"});
  EXPECT_EQ(cert.subject_info("X520.Organization"), std::vector<std::string>{"Example Org"});
  EXPECT_EQ(unix_seconds(cert.not_before()), kNowSeconds - 5 * 60);
  EXPECT_EQ(unix_seconds(cert.not_after()), kNowSeconds + 100 * 24 * 3600);
}

std::string ca_key_name(const ::testing::TestParamInfo<CaKeyAlgorithm>& param) {
  std::string name = to_string(param.param);
  name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
  return name;
}

INSTANTIATE_TEST_SUITE_P(CaKeys, CaCertificate,
                         ::testing::Values(CaKeyAlgorithm::kEcdsaP256, CaKeyAlgorithm::kEcdsaP384,
                                           CaKeyAlgorithm::kEd25519, CaKeyAlgorithm::kRsa3072),
                         ca_key_name);

}  // namespace
}  // namespace hostca
