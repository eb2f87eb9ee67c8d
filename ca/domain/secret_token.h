// Bearer secrets: authorization tokens, reissue tokens and admin keys. A
// value is 256 random bits in base64url behind a prefix that says what it is
// (hca_auth_, hca_reissue_, hca_admin_). Only its SHA-256 is ever stored;
// lookups go by that hash. A SecretToken never prints its value.
#pragma once

#include <string>

#include <botan/rng.h>

#include "common/bytes.h"

namespace hostca {

// kConsoleSession: the admin console's session cookie (docs/console.md).
enum class SecretKind { kAuthorizationToken, kReissueToken, kAdminKey, kConsoleSession };

const char* secret_prefix(SecretKind kind);
const char* describe(SecretKind kind);
// "an authorization token", "a reissue token", "an admin key".
std::string with_article(SecretKind kind);

class SecretToken {
 public:
  static SecretToken generate(SecretKind kind, Botan::RandomNumberGenerator& rng);
  // Checks the prefix and the shape; throws Error(kUnauthenticated) with a
  // message that never repeats the value.
  static SecretToken parse(const std::string& text, SecretKind expected);

  SecretKind kind() const { return kind_; }
  // The value, to be shown once to whoever asked for it.
  const std::string& reveal() const { return value_; }
  Bytes hash() const { return sha256(value_); }

 private:
  SecretToken(SecretKind kind, std::string value) : kind_(kind), value_(std::move(value)) {}
  SecretKind kind_;
  std::string value_;
};

}  // namespace hostca
