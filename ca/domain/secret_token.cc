#include "domain/secret_token.h"

#include <cstring>

#include "common/error.h"

namespace hostca {

namespace {
constexpr std::size_t kRandomBytes = 32;
constexpr std::size_t kEncodedLength = 43;  // base64url of 32 bytes, unpadded
const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(const Botan::secure_vector<std::uint8_t>& in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : in) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}
}  // namespace

std::string with_article(SecretKind kind) {
  const std::string what = describe(kind);
  return (std::string("aeiou").find(what[0]) != std::string::npos ? "an " : "a ") + what;
}

const char* secret_prefix(SecretKind kind) {
  switch (kind) {
    case SecretKind::kAuthorizationToken:
      return "hca_auth_";
    case SecretKind::kReissueToken:
      return "hca_reissue_";
    case SecretKind::kAdminKey:
      return "hca_admin_";
    case SecretKind::kConsoleSession:
      return "hca_session_";
  }
  return "";
}

const char* describe(SecretKind kind) {
  switch (kind) {
    case SecretKind::kAuthorizationToken:
      return "authorization token";
    case SecretKind::kReissueToken:
      return "reissue token";
    case SecretKind::kAdminKey:
      return "admin key";
    case SecretKind::kConsoleSession:
      return "console session";
  }
  return "secret";
}

SecretToken SecretToken::generate(SecretKind kind, Botan::RandomNumberGenerator& rng) {
  return SecretToken(kind, secret_prefix(kind) + base64url(rng.random_vec(kRandomBytes)));
}

SecretToken SecretToken::parse(const std::string& text, SecretKind expected) {
  const std::string what = describe(expected);
  if (text.empty()) throw unauthenticated("no " + what + " was given");
  const std::string prefix = secret_prefix(expected);
  if (text.compare(0, prefix.size(), prefix) != 0) {
    for (SecretKind other : {SecretKind::kAuthorizationToken, SecretKind::kReissueToken,
                             SecretKind::kAdminKey, SecretKind::kConsoleSession}) {
      const std::string p = secret_prefix(other);
      if (other != expected && text.compare(0, p.size(), p) == 0) {
        throw unauthenticated(std::string("that is ") + with_article(other) + ", not " +
                              with_article(expected));
      }
    }
    throw unauthenticated("not " + with_article(expected) + " of hostca: it should start with " +
                          prefix);
  }
  const std::string body = text.substr(prefix.size());
  if (body.size() != kEncodedLength || body.find_first_not_of(kAlphabet) != std::string::npos) {
    throw unauthenticated("malformed " + what + ": check that it was copied whole");
  }
  return SecretToken(expected, text);
}

}  // namespace hostca
