// A SoftHSM2 token of its own for a test: a token folder and configuration
// under a temporary folder, SOFTHSM2_CONF pointed at it for this process,
// one token initialised with a user PIN. Removed at the end.
// SoftHSM2 reads SOFTHSM2_CONF when the module is initialised, which
// hostca does when the first key of a module is opened and undoes when
// the last is released: hold no token key across tests.
#pragma once

#include <filesystem>
#include <string>

#include "pki/pkcs11_key.h"

namespace hostca::testing {

inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

class SoftHsmToken {
 public:
  explicit SoftHsmToken(std::string token_label = "hostca", std::string pin = "8765-user-pin");
  ~SoftHsmToken();
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;

  // Options naming this token and `key_label`, with the token's PIN.
  Pkcs11KeyOptions key(const std::string& key_label) const;
  const std::string& pin() const { return pin_; }
  const std::string& label() const { return label_; }

 private:
  std::filesystem::path folder_;
  std::string label_;
  std::string pin_;
};

}  // namespace hostca::testing
