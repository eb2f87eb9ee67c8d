#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include <botan/base64.h>
#include <botan/hash.h>
#include <botan/system_rng.h>

#include "../support/expect_error.h"
#include "domain/secret_token.h"

namespace hostca {
namespace {

// An RNG that repeats one byte pattern, to check the encoding against
// values worked out by hand.
class PatternRng final : public Botan::RandomNumberGenerator {
 public:
  explicit PatternRng(std::uint8_t (*byte_at)(std::size_t)) : byte_at_(byte_at) {}
  void randomize(std::uint8_t output[], std::size_t length) override {
    for (std::size_t i = 0; i < length; ++i) output[i] = byte_at_(i);
  }
  bool accepts_input() const override { return false; }
  void add_entropy(const std::uint8_t[], std::size_t) override {}
  std::string name() const override { return "pattern"; }
  void clear() override {}
  bool is_seeded() const override { return true; }

 private:
  std::uint8_t (*byte_at_)(std::size_t);
};

constexpr SecretKind kAllKinds[] = {SecretKind::kAuthorizationToken, SecretKind::kReissueToken,
                                    SecretKind::kAdminKey};

bool is_base64url(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
  });
}

// Decodes unpadded base64url with Botan's standard base64.
Botan::secure_vector<std::uint8_t> decode_base64url(std::string s) {
  std::replace(s.begin(), s.end(), '-', '+');
  std::replace(s.begin(), s.end(), '_', '/');
  while (s.size() % 4 != 0) s.push_back('=');
  return Botan::base64_decode(s);
}

TEST(SecretToken, PrefixesSayWhatTheSecretIs) {
  EXPECT_STREQ(secret_prefix(SecretKind::kAuthorizationToken), "hca_auth_");
  EXPECT_STREQ(secret_prefix(SecretKind::kReissueToken), "hca_reissue_");
  EXPECT_STREQ(secret_prefix(SecretKind::kAdminKey), "hca_admin_");
}

TEST(SecretToken, GeneratedValueIsPrefixPlus43Base64UrlCharactersOf256Bits) {
  Botan::System_RNG rng;
  for (SecretKind kind : kAllKinds) {
    const SecretToken token = SecretToken::generate(kind, rng);
    const std::string prefix = secret_prefix(kind);
    const std::string& value = token.reveal();
    ASSERT_EQ(value.rfind(prefix, 0), 0u) << value.substr(0, prefix.size());
    const std::string body = value.substr(prefix.size());
    EXPECT_EQ(body.size(), 43u);
    EXPECT_TRUE(is_base64url(body));
    EXPECT_EQ(decode_base64url(body).size(), 32u);
    EXPECT_EQ(token.kind(), kind);
  }
}

TEST(SecretToken, EncodesTheRandomBytesAsBase64Url) {
  // Worked out with Python's base64.urlsafe_b64encode, padding removed.
  PatternRng counting([](std::size_t i) { return static_cast<std::uint8_t>(i); });
  EXPECT_EQ(SecretToken::generate(SecretKind::kAuthorizationToken, counting).reveal(),
            "hca_auth_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
  PatternRng ones([](std::size_t) { return std::uint8_t{0xff}; });
  EXPECT_EQ(SecretToken::generate(SecretKind::kAdminKey, ones).reveal(),
            "hca_admin_" + std::string(42, '_') + "8");
}

TEST(SecretToken, TwoGeneratedValuesDiffer) {
  Botan::System_RNG rng;
  const SecretToken a = SecretToken::generate(SecretKind::kAuthorizationToken, rng);
  const SecretToken b = SecretToken::generate(SecretKind::kAuthorizationToken, rng);
  EXPECT_NE(a.reveal(), b.reveal());
  EXPECT_NE(a.hash(), b.hash());
}

TEST(SecretToken, ParseAcceptsWhatGenerateMade) {
  Botan::System_RNG rng;
  for (SecretKind kind : kAllKinds) {
    const SecretToken made = SecretToken::generate(kind, rng);
    const SecretToken parsed = SecretToken::parse(made.reveal(), kind);
    EXPECT_EQ(parsed.reveal(), made.reveal());
    EXPECT_EQ(parsed.kind(), kind);
    EXPECT_EQ(parsed.hash(), made.hash());
  }
}

TEST(SecretToken, HashIsSha256OfTheWholeValue) {
  Botan::System_RNG rng;
  const SecretToken token = SecretToken::generate(SecretKind::kReissueToken, rng);
  auto sha = Botan::HashFunction::create_or_throw("SHA-256");
  sha->update(token.reveal());
  const auto expected = sha->final();
  EXPECT_EQ(token.hash(), Bytes(expected.begin(), expected.end()));
  EXPECT_EQ(token.hash().size(), 32u);
}

TEST(SecretToken, ParseRefusesAnEmptyValue) {
  const std::string msg = HOSTCA_EXPECT_ERROR(
      SecretToken::parse("", SecretKind::kAuthorizationToken), ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("no authorization token"), std::string::npos) << msg;
}

TEST(SecretToken, ParseRefusesAWrongPrefixSayingWhichPrefixIsExpected) {
  const std::string value = "ghp_" + std::string(43, 'Q');
  const std::string msg = HOSTCA_EXPECT_ERROR(
      SecretToken::parse(value, SecretKind::kAuthorizationToken), ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("hca_auth_"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(value), std::string::npos) << msg;
  EXPECT_EQ(msg.find(std::string(43, 'Q')), std::string::npos) << msg;
}

TEST(SecretToken, ParseOfAnotherKindSaysWhichKindItIs) {
  Botan::System_RNG rng;
  const SecretToken reissue = SecretToken::generate(SecretKind::kReissueToken, rng);
  std::string msg =
      HOSTCA_EXPECT_ERROR(SecretToken::parse(reissue.reveal(), SecretKind::kAuthorizationToken),
                          ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("reissue token"), std::string::npos) << msg;
  EXPECT_NE(msg.find("authorization token"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(reissue.reveal().substr(12)), std::string::npos) << msg;

  const SecretToken auth = SecretToken::generate(SecretKind::kAuthorizationToken, rng);
  msg = HOSTCA_EXPECT_ERROR(SecretToken::parse(auth.reveal(), SecretKind::kAdminKey),
                            ErrorKind::kUnauthenticated);
  EXPECT_NE(msg.find("authorization token, not a"), std::string::npos) << msg;
  EXPECT_EQ(msg.find(auth.reveal().substr(9)), std::string::npos) << msg;
}

TEST(SecretToken, ParseRefusesAWrongLength) {
  Botan::System_RNG rng;
  const std::string good = SecretToken::generate(SecretKind::kAdminKey, rng).reveal();
  for (const std::string& bad :
       {good.substr(0, good.size() - 1), good + "A", std::string("hca_admin_"),
        std::string("hca_admin_") + std::string(86, 'A')}) {
    const std::string msg = HOSTCA_EXPECT_ERROR(SecretToken::parse(bad, SecretKind::kAdminKey),
                                                ErrorKind::kUnauthenticated);
    EXPECT_NE(msg.find("malformed admin key"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(good.substr(10, 20)), std::string::npos) << msg;
  }
}

TEST(SecretToken, ParseRefusesCharactersOutsideBase64Url) {
  Botan::System_RNG rng;
  const std::string good = SecretToken::generate(SecretKind::kAuthorizationToken, rng).reveal();
  for (char c : {'+', '/', '=', ' ', '.', '\n', '\0', '\xc3'}) {
    std::string bad = good;
    bad[20] = c;
    const std::string msg = HOSTCA_EXPECT_ERROR(
        SecretToken::parse(bad, SecretKind::kAuthorizationToken), ErrorKind::kUnauthenticated);
    EXPECT_NE(msg.find("malformed authorization token"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(good.substr(21)), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace hostca
