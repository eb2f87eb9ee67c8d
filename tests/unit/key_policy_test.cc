#include <gtest/gtest.h>

#include <string>

#include "../support/crypto_fixtures.h"
#include "../support/expect_error.h"
#include "domain/key_policy.h"

namespace hostca {
namespace {

using testing::ecdsa_key;
using testing::ed25519_key;
using testing::shared_rsa_key;

TEST(KeyPolicy, AcceptsEachSupportedKeyWithItsFamily) {
  const KeyPolicy policy;
  EXPECT_EQ(policy.check(*ecdsa_key("secp256r1")), KeyFamily::kEcdsaP256);
  EXPECT_EQ(policy.check(*ecdsa_key("secp384r1")), KeyFamily::kEcdsaP384);
  EXPECT_EQ(policy.check(*ed25519_key()), KeyFamily::kEd25519);
  EXPECT_EQ(policy.check(shared_rsa_key(2048)), KeyFamily::kRsa);
  EXPECT_EQ(policy.check(shared_rsa_key(3072)), KeyFamily::kRsa);
}

TEST(KeyPolicy, RefusesRsa1024AsTooWeak) {
  const std::string msg =
      HOSTCA_EXPECT_ERROR(KeyPolicy().check(shared_rsa_key(1024)), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("1024"), std::string::npos) << msg;
  EXPECT_NE(msg.find("too weak"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at least 2048"), std::string::npos) << msg;
}

TEST(KeyPolicy, RefusesRsaAboveTheMaximum) {
  KeyPolicy policy;
  policy.max_rsa_bits = 2048;
  const std::string msg =
      HOSTCA_EXPECT_ERROR(policy.check(shared_rsa_key(3072)), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("3072"), std::string::npos) << msg;
  EXPECT_NE(msg.find("at most 2048"), std::string::npos) << msg;
}

TEST(KeyPolicy, RefusesOtherCurvesNamingTheCurve) {
  for (const char* curve : {"secp256k1", "brainpool256r1", "secp521r1"}) {
    const std::string msg =
        HOSTCA_EXPECT_ERROR(KeyPolicy().check(*ecdsa_key(curve)), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find(curve), std::string::npos) << msg;
    EXPECT_NE(msg.find("ECDSA P-256"), std::string::npos) << "lists what is accepted: " << msg;
  }
}

TEST(KeyPolicy, RefusesEachDisabledFamilyAndStopsListingIt) {
  struct Case {
    bool KeyPolicy::*flag;
    std::unique_ptr<Botan::Private_Key> key;
    const char* listed_as;
  };
  Case cases[] = {
      {&KeyPolicy::allow_ecdsa_p256, ecdsa_key("secp256r1"), "ECDSA P-256"},
      {&KeyPolicy::allow_ecdsa_p384, ecdsa_key("secp384r1"), "ECDSA P-384"},
      {&KeyPolicy::allow_ed25519, ed25519_key(), "Ed25519"},
      {&KeyPolicy::allow_rsa, nullptr, "RSA"},
  };
  for (auto& c : cases) {
    KeyPolicy policy;
    policy.*c.flag = false;
    policy.validate();
    const Botan::Private_Key& key = c.key ? *c.key : shared_rsa_key(2048);
    const std::string msg = HOSTCA_EXPECT_ERROR(policy.check(key), ErrorKind::kInvalidArgument);
    EXPECT_NE(msg.find("accepted keys"), std::string::npos) << msg;
    EXPECT_EQ(policy.accepted().find(c.listed_as), std::string::npos) << policy.accepted();
    EXPECT_NE(KeyPolicy().accepted().find(c.listed_as), std::string::npos);
  }
}

TEST(KeyPolicy, ValidateAcceptsTheDefaults) { EXPECT_NO_THROW(KeyPolicy().validate()); }

TEST(KeyPolicy, ValidateRefusesAMinimumRsaSizeBelow2048) {
  KeyPolicy policy;
  policy.min_rsa_bits = 2047;
  const std::string msg = HOSTCA_EXPECT_ERROR(policy.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("min_rsa_bits"), std::string::npos) << msg;
}

TEST(KeyPolicy, ValidateRefusesAMaximumBelowTheMinimum) {
  KeyPolicy policy;
  policy.min_rsa_bits = 4096;
  policy.max_rsa_bits = 3072;
  const std::string msg = HOSTCA_EXPECT_ERROR(policy.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("max_rsa_bits"), std::string::npos) << msg;
}

TEST(KeyPolicy, ValidateRefusesAPolicyThatAllowsNothing) {
  KeyPolicy policy;
  policy.allow_ecdsa_p256 = policy.allow_ecdsa_p384 = policy.allow_ed25519 = policy.allow_rsa =
      false;
  const std::string msg = HOSTCA_EXPECT_ERROR(policy.validate(), ErrorKind::kInvalidArgument);
  EXPECT_NE(msg.find("at least one key type"), std::string::npos) << msg;
}

}  // namespace
}  // namespace hostca
