// OpenSSL signs and checks what Botan signs and checks, in the same
// encodings, and says "not checked" rather than "invalid" for what it was
// not asked to handle (so that Botan decides).
#include <gtest/gtest.h>

#include <botan/pubkey.h>
#include <botan/x509_key.h>

#include "../support/crypto_fixtures.h"
#include "pki/openssl_signatures.h"

namespace hostca {
namespace {

// The encoded point of an EC public key: the subjectPublicKey bits.
std::vector<std::uint8_t> point_of(const Botan::Public_Key& key) { return key.public_key_bits(); }

std::vector<std::uint8_t> botan_signature(const Botan::Private_Key& key, const std::string& hash,
                                          const std::vector<std::uint8_t>& data) {
  Botan::PK_Signer signer(key, testing::rng(), "EMSA1(" + hash + ")", Botan::DER_SEQUENCE);
  return signer.sign_message(data, testing::rng());
}

struct Curve {
  const char* name;
  const char* hash;
};

class EcdsaCheck : public ::testing::TestWithParam<Curve> {};

TEST_P(EcdsaCheck, ValidForBotansSignatureInvalidForOtherDataOrKey) {
  const auto key = testing::ecdsa_key(GetParam().name);
  const auto other = testing::ecdsa_key(GetParam().name);
  const std::vector<std::uint8_t> data = {'t', 'b', 's', 1, 2, 3};
  const auto signature = botan_signature(*key, GetParam().hash, data);
  EXPECT_EQ(
      check_ecdsa_signature(GetParam().name, point_of(*key), GetParam().hash, data, signature),
      SignatureCheck::kValid);
  auto changed = data;
  changed.back() ^= 1;
  EXPECT_EQ(
      check_ecdsa_signature(GetParam().name, point_of(*key), GetParam().hash, changed, signature),
      SignatureCheck::kInvalid);
  EXPECT_EQ(
      check_ecdsa_signature(GetParam().name, point_of(*other), GetParam().hash, data, signature),
      SignatureCheck::kInvalid);
  auto broken = signature;
  broken[broken.size() / 2] ^= 0x40;
  EXPECT_EQ(check_ecdsa_signature(GetParam().name, point_of(*key), GetParam().hash, data, broken),
            SignatureCheck::kInvalid);
}

TEST_P(EcdsaCheck, OpenSslSignaturesVerifyWithBotan) {
  const auto key = testing::ecdsa_key(GetParam().name);
  const auto signing = OpenSslSigningKey::from(*key, GetParam().hash);
  ASSERT_NE(signing, nullptr);
  const std::vector<std::uint8_t> data = {'c', 'r', 'l'};
  Botan::PK_Verifier verifier(*key, "EMSA1(" + std::string(GetParam().hash) + ")",
                              Botan::DER_SEQUENCE);
  EXPECT_TRUE(verifier.verify_message(data, signing->sign(data)));
  EXPECT_FALSE(verifier.verify_message(std::vector<std::uint8_t>{'x'}, signing->sign(data)));
}

INSTANTIATE_TEST_SUITE_P(Curves, EcdsaCheck,
                         ::testing::Values(Curve{"secp256r1", "SHA-256"},
                                           Curve{"secp384r1", "SHA-384"}),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(EcdsaCheck, LeavesOtherCurvesHashesAndBadPointsToBotan) {
  const auto key = testing::ecdsa_key("secp256r1");
  const std::vector<std::uint8_t> data = {1};
  const auto signature = botan_signature(*key, "SHA-256", data);
  EXPECT_EQ(check_ecdsa_signature("secp521r1", point_of(*key), "SHA-256", data, signature),
            SignatureCheck::kNotChecked);
  EXPECT_EQ(check_ecdsa_signature("secp256r1", point_of(*key), "SHA-1", data, signature),
            SignatureCheck::kNotChecked);
  auto off_curve = point_of(*key);
  off_curve.back() ^= 1;
  EXPECT_EQ(check_ecdsa_signature("secp256r1", off_curve, "SHA-256", data, signature),
            SignatureCheck::kNotChecked);
  EXPECT_EQ(check_ecdsa_signature("secp256r1", {}, "SHA-256", data, signature),
            SignatureCheck::kNotChecked);
}

TEST(OpenSslSigningKey, OnlyForEcdsaAndRsaWithAKnownHash) {
  EXPECT_EQ(OpenSslSigningKey::from(*testing::ed25519_key(), "Pure"), nullptr);
  EXPECT_EQ(OpenSslSigningKey::from(*testing::ecdsa_key("secp256r1"), "SHA-1"), nullptr);
  EXPECT_NE(OpenSslSigningKey::from(testing::shared_rsa_key(3072), "SHA-256"), nullptr);
}

}  // namespace
}  // namespace hostca
