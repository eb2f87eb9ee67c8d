// Which public keys hostca certifies: plain data loaded from configuration,
// checked once at start, applied to every CSR.
#pragma once

#include <cstddef>
#include <string>

#include <botan/pk_keys.h>

namespace hostca {

enum class KeyFamily { kEcdsaP256, kEcdsaP384, kEd25519, kRsa };

struct KeyPolicy {
  bool allow_ecdsa_p256 = true;
  bool allow_ecdsa_p384 = true;
  bool allow_ed25519 = true;
  bool allow_rsa = true;
  std::size_t min_rsa_bits = 2048;
  std::size_t max_rsa_bits = 8192;

  // Throws Error(kInvalidArgument) naming the bad setting.
  void validate() const;
  // The key's family if the policy allows it; otherwise throws
  // Error(kInvalidArgument) saying which keys are accepted.
  KeyFamily check(const Botan::Public_Key& key) const;
  std::string accepted() const;
};

}  // namespace hostca
